// The audit trail, end to end: real guarded processes append their
// decisions to the policy's `audit.path`, and `trustload audit verify` finds
// every record altered, cut, reordered or removed (a child's whole chain,
// through its parent's record of starting it); concurrent writers lose and
// mix nothing; an unwritable trail refuses loads in enforce mode and warns in
// permissive mode; `audit seal` signs segments so that --key also catches a
// cut or rewritten sealed history.
import { execFileSync } from 'node:child_process';
import { chmodSync, closeSync, linkSync, mkdirSync, openSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import t from 'tap';
import { makeApp, PRIVATE_KEY, PUBLIC_KEY, policyObject, runNode, sha256Hex } from './helpers/app.mjs';
import { runCli } from './helpers/cli.mjs';

const AUDIT = { audit: { path: './audit.log' } };

// Starts a guarded child (node child.js) and a worker, then loads the signed plugin: four writers' worth of lines.
const APP = `
const { spawnSync } = require('node:child_process');
const { Worker } = require('node:worker_threads');
const child = spawnSync(process.execPath, [__dirname + '/child.js'], { encoding: 'utf8' });
process.stdout.write(child.stdout);
const worker = new Worker(__dirname + '/worker.js');
worker.on('exit', () => {
  require('./plugins/plugin.js');
  console.log('app done');
});
`;

function auditApp(t, { extra = AUDIT, files = {} } = {}) {
  // A signed plugin whose code checks that its own 'verified' line is already in the trail when Node runs it.
  const plugin = `
let text = '';
try { text = require('node:fs').readFileSync(__dirname + '/../audit.log', 'utf8'); } catch {}
const lines = text.trim().split('\\n').filter(Boolean).map((l) => JSON.parse(l));
const mine = lines.find((l) => l.decision === 'verified' && l.path === __filename);
console.log(mine ? 'plugin saw its verified line' : 'plugin ran before its line was written');
`;
  return makeApp(t, {
    files: {
      'app.js': APP,
      'child.js': "console.log('child ran')",
      'worker.js': "console.log('worker ran')",
      'plugins/plugin.js': plugin,
      ...files,
    },
    sign: ['plugins/plugin.js'],
    extra,
  });
}

const lines = (app) => app.read('audit.log').toString('utf8').trim().split('\n');
const records = (app) => lines(app).map((line) => JSON.parse(line));
const writeLines = (app, list) => writeFileSync(app.path('audit.log'), `${list.join('\n')}\n`);
const verify = (app, ...args) => runCli(['audit', 'verify', app.path('audit.log'), ...args]);

async function runAudited(t, app) {
  const result = await runNode(app.dir, ['app.js']);
  t.equal(result.code, 0, `app exits 0\n${result.stderr}`);
  t.match(result.stdout, /child ran[\s\S]*worker ran[\s\S]*plugin saw its verified line[\s\S]*app done/, 'child, worker and plugin ran; the verified line came first');
  return result;
}

t.test('every decision of a process, its child and its worker is chained, and the trail verifies', async (t) => {
  const app = auditApp(t);
  await runAudited(t, app);
  const all = records(app);
  const writers = new Map();
  for (const record of all) writers.set(record.writer, [...(writers.get(record.writer) ?? []), record]);
  t.equal(writers.size, 3, 'three writers: the app, its child, its worker');
  const [main, ...others] = [...writers.values()];
  t.equal(main[0].event, 'start', 'a writer starts with its start line');
  t.equal(main[0].parent, null, 'the first process has no parent');
  for (const chain of others) t.equal(chain[0].parent, main[0].writer, 'the child and the worker name the app as their parent');
  t.ok(main.some((r) => r.event === 'child') && main.some((r) => r.event === 'worker'), 'the app recorded starting both');
  const verified = all.find((r) => r.decision === 'verified');
  t.equal(verified.rule, 'plugins', 'the verified line names the rule');
  t.match(verified.digest, /^[0-9a-f]{64}$/, 'and the digest');
  for (const chain of writers.values()) chain.forEach((r, i) => t.equal(r.seq, i, 'sequence numbers count up'));
  const ok = await verify(app);
  t.equal(ok.code, 0, `audit verify passes\n${ok.stderr}`);
  t.match(ok.stdout, /intact: 3 writer\(s\)/);
});

t.test('audit verify names the first record altered, cut short, reordered or removed', async (t) => {
  const app = auditApp(t);
  await runAudited(t, app);
  const original = lines(app);
  const mainWriter = JSON.parse(original[0]).writer;
  const mainLines = original.map((line, i) => ({ line, i })).filter(({ line }) => JSON.parse(line).writer === mainWriter);
  // The app's second record: not its last, so its successor's link shows a change.
  const target = mainLines[1].i;

  await t.test('one character of a record changed', async (t) => {
    const altered = [...original];
    altered[target] = altered[target].replace('"unmatched"', '"unmatcheX"');
    t.not(altered[target], original[target], 'the line changed');
    writeLines(app, altered);
    const result = await verify(app);
    t.equal(result.code, 1, 'exits 1');
    t.match(result.stderr, new RegExp(`audit\\.log:${target + 1} \\(record #1 of writer ${mainWriter}\\) was altered`), result.stderr);
  });

  await t.test('the file cut in the middle of a line', async (t) => {
    const text = `${original.join('\n')}\n`;
    writeFileSync(app.path('audit.log'), text.slice(0, text.length - 10));
    const result = await verify(app);
    t.equal(result.code, 1, 'exits 1');
    t.match(result.stderr, new RegExp(`audit\\.log:${original.length} is not an audit record: it was altered or cut short`), result.stderr);
  });

  await t.test('two records of one writer swapped', async (t) => {
    const swapped = [...original];
    const [a, b] = [mainLines[1].i, mainLines[2].i];
    [swapped[a], swapped[b]] = [swapped[b], swapped[a]];
    writeLines(app, swapped);
    const result = await verify(app);
    t.equal(result.code, 1, 'exits 1');
    t.match(result.stderr, /reordered/, result.stderr);
  });

  await t.test('one record removed', async (t) => {
    writeLines(app, original.filter((_, i) => i !== target));
    const result = await verify(app);
    t.equal(result.code, 1, 'exits 1');
    t.match(result.stderr, new RegExp(`records #1\\.\\.#1 of writer ${mainWriter} are missing`), result.stderr);
  });

  await t.test("a child's whole chain removed: its parent's record of starting it remains", async (t) => {
    const childWriter = original.map((l) => JSON.parse(l)).find((r) => r.event === 'start' && r.parent === mainWriter && r.thread === undefined).writer;
    writeLines(app, original.filter((line) => JSON.parse(line).writer !== childWriter));
    const result = await verify(app);
    t.equal(result.code, 1, 'exits 1');
    t.match(result.stderr, new RegExp(`writer ${mainWriter} started child process \\d+, whose chain is missing: removed`), result.stderr);
  });

  await t.test("a worker's whole chain removed", async (t) => {
    const workerWriter = original.map((l) => JSON.parse(l)).find((r) => r.event === 'start' && r.thread !== undefined).writer;
    writeLines(app, original.filter((line) => JSON.parse(line).writer !== workerWriter));
    const result = await verify(app);
    t.equal(result.code, 1, 'exits 1');
    t.match(result.stderr, /started worker thread \d+, whose chain is missing: removed/, result.stderr);
  });

  await t.test("the parent's chain removed, its children's kept", async (t) => {
    writeLines(app, original.filter((line) => JSON.parse(line).writer !== mainWriter));
    const result = await verify(app);
    t.equal(result.code, 1, 'exits 1');
    t.match(result.stderr, new RegExp(`names its parent ${mainWriter}, whose chain is missing: removed`), result.stderr);
  });

  writeLines(app, original);
  t.equal((await verify(app)).code, 0, 'the original trail still verifies');
});

t.test('two processes writing one trail at once lose and mix no line', async (t) => {
  const COUNT = 150;
  const files = { 'many.js': `for (let i = 0; i < ${COUNT}; i++) require('./mods/m' + i + '.js');` };
  for (let i = 0; i < COUNT; i++) files[`mods/m${i}.js`] = `module.exports = ${i};`;
  const app = makeApp(t, { files, extra: AUDIT });
  const results = await Promise.all([1, 2, 3].map(() => runNode(app.dir, ['many.js'])));
  for (const result of results) t.equal(result.code, 0, `writer exits 0\n${result.stderr}`);
  const all = records(app);
  const writers = new Set(all.map((r) => r.writer));
  t.equal(writers.size, 3, 'three writers');
  for (const writer of writers) {
    const decisions = all.filter((r) => r.writer === writer && r.decision === 'unmatched' && r.path.includes('/mods/'));
    t.equal(decisions.length, COUNT, `writer ${writer} has every one of its module loads`);
  }
  const result = await verify(app);
  t.equal(result.code, 0, `the interleaved trail verifies\n${result.stderr}`);
});

t.test('an audit trail that cannot be written', async (t) => {
  await t.test('enforce mode: the load it records is refused', async (t) => {
    const app = auditApp(t);
    mkdirSync(app.path('audit.log'));
    const result = await runNode(app.dir, ['app.js']);
    t.equal(result.code, 1, 'exits 1');
    t.match(result.firstLine, new RegExp(`^trustload: ERR_TRUSTLOAD_UNSUPPORTED_LOAD: ${app.path('app.js')}: cannot append to the audit trail ${app.path('audit.log')}`), result.stderr);
    t.notMatch(result.stdout, /ran/, 'nothing of the app ran');
  });

  await t.test('enforce mode: a verified plugin is refused once the trail stops taking lines', async (t) => {
    const app = auditApp(t, {
      files: {
        'late.js': `
const fs = require('node:fs');
fs.rmSync(__dirname + '/audit.log');
fs.mkdirSync(__dirname + '/audit.log');
try { require('./plugins/plugin.js'); console.log('loaded'); } catch (err) { console.log('refused ' + err.code); }
`,
      },
    });
    const result = await runNode(app.dir, ['late.js']);
    t.match(result.stdout, /^refused ERR_TRUSTLOAD_UNSUPPORTED_LOAD$/m, `the verified plugin is refused\n${result.stdout}${result.stderr}`);
    t.notMatch(result.stdout, /plugin saw/, 'its code never ran');
  });

  await t.test('permissive mode: a warning, and the app runs', async (t) => {
    const app = auditApp(t);
    mkdirSync(app.path('audit.log'));
    const result = await runNode(app.dir, ['app.js'], { env: { TRUSTLOAD_MODE: 'permissive' } });
    t.equal(result.code, 0, `exits 0\n${result.stderr}`);
    t.match(result.stderr, /WARNING: cannot append to the audit trail .*permissive mode/, result.stderr);
    t.match(result.stdout, /app done/);
  });
});

t.test('seal: signed segments; --key catches a changed, cut, unlinked or removed sealed history', async (t) => {
  const app = auditApp(t);
  await runAudited(t, app);
  const key = app.write('signing.key.pem', readFileSync(PRIVATE_KEY));
  chmodSync(key, 0o600);
  const seal = await runCli(['audit', 'seal', app.path('audit.log'), '--key', key]);
  t.equal(seal.code, 0, `seal exits 0\n${seal.stderr}`);
  const segment = app.path('audit.log.000001');
  t.ok(readFileSync(`${segment}.sigstore.json`), 'the sealed segment is signed');
  t.match(records(app)[0], { seal: { segment: 'audit.log.000001' } }, 'the new live file starts with the seal line');
  await runAudited(t, app);
  const ok = await verify(app, '--key', PUBLIC_KEY);
  t.equal(ok.code, 0, `verify --key passes\n${ok.stderr}`);
  t.match(ok.stdout, /1 sealed segment\(s\) each signed by/);
  const sealed = readFileSync(segment);
  const live = readFileSync(app.path('audit.log'));
  const restore = () => {
    rmSync(segment, { force: true });
    writeFileSync(segment, sealed);
    writeFileSync(app.path('audit.log'), live);
  };

  await t.test('a sealed segment rewritten, its seal digest recomputed: the key catches it', async (t) => {
    const forged = Buffer.from(sealed.toString('utf8').replace('"refused"', '"verified"').replace('"unmatched"', '"unmatcheX"'));
    writeFileSync(segment, forged);
    const { createHash } = await import('node:crypto');
    const text = live.toString('utf8').replace(/"sha256":"[0-9a-f]{64}"/, `"sha256":"${createHash('sha256').update(forged).digest('hex')}"`);
    writeFileSync(app.path('audit.log'), text);
    const without = await verify(app);
    const withKey = await verify(app, '--key', PUBLIC_KEY);
    t.equal(withKey.code, 1, 'exits 1 with the key');
    t.match(withKey.stderr, /sealed segment .*audit\.log\.000001 is not signed by .* as it is now/, withKey.stderr);
    t.equal(without.code, 1, 'without the key, the chains still show the change');
    restore();
  });

  await t.test("a sealed segment's tail cut off at a line end", async (t) => {
    const cut = sealed.toString('utf8').trim().split('\n').slice(0, -2).join('\n') + '\n';
    writeFileSync(segment, cut);
    const result = await verify(app, '--key', PUBLIC_KEY);
    t.equal(result.code, 1, 'exits 1');
    t.match(result.stderr, /changed after it was sealed/, result.stderr);
    t.match(result.stderr, /not signed by .* as it is now/, result.stderr);
    restore();
  });

  await t.test('the seal line removed, to start the history afresh', async (t) => {
    writeFileSync(app.path('audit.log'), live.toString('utf8').split('\n').slice(1).join('\n'));
    const result = await verify(app, '--key', PUBLIC_KEY);
    t.equal(result.code, 1, 'exits 1');
    t.match(result.stderr, /audit\.log\.000001 is not linked from the trail: its seal line was removed/, result.stderr);
    restore();
  });

  await t.test('a sealed segment removed', async (t) => {
    renameSync(segment, `${segment}.gone`);
    const result = await verify(app);
    t.equal(result.code, 1, 'exits 1');
    t.match(result.stderr, /sealed segment audit\.log\.000001, named by the seal in .*audit\.log, is missing: removed/, result.stderr);
    renameSync(`${segment}.gone`, segment);
  });

  const again = await verify(app, '--key', PUBLIC_KEY);
  t.equal(again.code, 0, `restored, it verifies again\n${again.stderr}`);
});

t.test('the signed head: a sealed segment cut from the newest end is caught, and seal will not extend the cut', async (t) => {
  const app = makeApp(t, { files: { 'benign.js': "console.log('benign ran')", 'evil.js': "console.log('evil ran')" }, extra: AUDIT });
  const key = app.write('signing.key.pem', readFileSync(PRIVATE_KEY));
  chmodSync(key, 0o600);
  const sealNow = () => runCli(['audit', 'seal', app.path('audit.log'), '--key', key]);
  const headDigest = (result) => /head\b[^\n]*?sha256 ([0-9a-f]{64})/.exec(result.stdout)?.[1];
  t.equal((await runNode(app.dir, ['benign.js'])).code, 0);
  const first = await sealNow();
  t.equal(first.code, 0, `first seal\n${first.stderr}`);
  t.match(first.stdout, /segment 1, the first of a new trail [0-9a-f]{32}/, 'the first seal starts a trail');
  const firstHead = { head: app.read('audit.log.head.json'), bundle: app.read('audit.log.head.json.sigstore.json') };
  t.equal((await runNode(app.dir, ['evil.js'])).code, 0);
  const second = await sealNow();
  t.equal(second.code, 0, `second seal\n${second.stderr}`);
  t.match(app.read('audit.log.000002').toString('utf8'), /"seal":\{"trail":"[0-9a-f]{32}","number":1,"segment":"audit\.log\.000001"/, "segment 2's signed bytes hold its link to segment 1");
  t.equal(headDigest(second), sha256Hex(app.read('audit.log.head.json')), 'seal prints the digest of the head it wrote');
  t.equal((await runNode(app.dir, ['benign.js'])).code, 0);
  const ok = await verify(app, '--key', PUBLIC_KEY, '--expect-segments', '2');
  t.equal(ok.code, 0, `intact\n${ok.stderr}`);
  t.equal(headDigest(ok), headDigest(second), 'verify prints the same head digest');

  const saved = new Map(['audit.log', 'audit.log.000002', 'audit.log.000002.sigstore.json', 'audit.log.head.json', 'audit.log.head.json.sigstore.json', 'audit.log.000001', 'audit.log.000001.sigstore.json'].map((name) => [name, app.read(name)]));
  const restore = () => {
    for (const [name, bytes] of saved) {
      rmSync(app.path(name), { force: true });
      writeFileSync(app.path(name), bytes);
    }
  };
  // The attacker's edit: drop segment 2, and point the live seal line at segment 1 as seal itself would have.
  const cut = () => {
    rmSync(app.path('audit.log.000002'));
    rmSync(app.path('audit.log.000002.sigstore.json'));
    const live = app.read('audit.log').toString('utf8').split('\n');
    const seal = JSON.parse(live[0]).seal;
    const one = app.read('audit.log.000001');
    live[0] = JSON.stringify({ seal: { ...seal, number: 1, segment: 'audit.log.000001', sha256: sha256Hex(one), bytes: one.length }, time: new Date().toISOString() });
    writeFileSync(app.path('audit.log'), live.join('\n'));
    t.notMatch(readFileSync(app.path('audit.log'), 'utf8') + app.read('audit.log.000001').toString('utf8'), /evil\.js/, 'no trace of evil.js remains');
  };

  await t.test('the newest segment removed, the live seal line re-pointed with its trail id and number', async (t) => {
    cut();
    const result = await verify(app, '--key', PUBLIC_KEY);
    t.equal(result.code, 1, `exits 1\n${result.stdout}`);
    t.match(result.stderr, /the signed head .*audit\.log\.head\.json says 2 sealed segment\(s\); the trail links 1: sealed segments removed/, result.stderr);
    const before = app.read('audit.log');
    const refused = await sealNow();
    t.equal(refused.code, 1, 'seal refuses to extend the cut history');
    t.match(refused.stderr, /cannot seal .*: its sealed history is not intact: the signed head .* says 2 sealed segment\(s\)/, refused.stderr);
    t.same(app.read('audit.log'), before, 'and leaves the live file where it was');
    restore();
  });

  await t.test('the head removed too', async (t) => {
    cut();
    rmSync(app.path('audit.log.head.json'));
    rmSync(app.path('audit.log.head.json.sigstore.json'));
    const result = await verify(app, '--key', PUBLIC_KEY);
    t.equal(result.code, 1, 'exits 1');
    t.match(result.stderr, /the trail has 1 sealed segment\(s\) but no signed head .*audit\.log\.head\.json: removed/, result.stderr);
    restore();
  });

  await t.test('the head rewritten to match the cut', async (t) => {
    cut();
    const head = JSON.parse(app.read('audit.log.head.json'));
    const one = app.read('audit.log.000001');
    writeFileSync(app.path('audit.log.head.json'), `${JSON.stringify({ ...head, segments: 1, segment: 'audit.log.000001', sha256: sha256Hex(one), bytes: one.length })}\n`);
    const result = await verify(app, '--key', PUBLIC_KEY);
    t.equal(result.code, 1, 'exits 1');
    t.match(result.stderr, /the head .*audit\.log\.head\.json is not signed by .* as it is now/, result.stderr);
    restore();
  });

  await t.test('rolled back: the cut, with the older head the first seal signed', async (t) => {
    cut();
    writeFileSync(app.path('audit.log.head.json'), firstHead.head);
    writeFileSync(app.path('audit.log.head.json.sigstore.json'), firstHead.bundle);
    const consistent = await verify(app, '--key', PUBLIC_KEY);
    t.equal(consistent.code, 0, 'an older head with its own history is consistent in itself');
    t.not(headDigest(consistent), headDigest(second), 'but its digest is not the one the last seal printed');
    const expected = await verify(app, '--key', PUBLIC_KEY, '--expect-segments', '2');
    t.equal(expected.code, 1, '--expect-segments catches it');
    t.match(expected.stderr, /the trail has 1 sealed segment\(s\); --expect-segments says 2: sealed history removed or rolled back/, expected.stderr);
    restore();
  });

  await t.test('everything sealed erased: segments, head and seal line', async (t) => {
    for (const name of saved.keys()) if (name !== 'audit.log') rmSync(app.path(name));
    writeFileSync(app.path('audit.log'), app.read('audit.log').toString('utf8').split('\n').slice(1).join('\n'));
    const expected = await verify(app, '--key', PUBLIC_KEY, '--expect-segments', '2');
    t.equal(expected.code, 1, '--expect-segments catches it');
    t.match(expected.stderr, /the trail has 0 sealed segment\(s\); --expect-segments says 2/, expected.stderr);
    restore();
  });

  await t.test('--expect-segments without --key is a usage error', async (t) => {
    const result = await verify(app, '--expect-segments', '2');
    t.equal(result.code, 2, result.stderr);
  });

  const again = await verify(app, '--key', PUBLIC_KEY, '--expect-segments', '2');
  t.equal(again.code, 0, `restored, it verifies again\n${again.stderr}`);
});

t.test('an audit path that is not a regular file with one link: the load is refused, not silently unrecorded', async (t) => {
  const files = { 'app.js': "console.log('payload ran')", 'other.txt': '' };
  const refusedHere = (t, result, reason) => {
    t.equal(result.code, 1, `exits 1\n${result.stderr}`);
    t.match(result.firstLine, new RegExp(`^trustload: ERR_TRUSTLOAD_UNSUPPORTED_LOAD: .*app\\.js: cannot append to the audit trail .*audit\\.log: ${reason}`), result.stderr);
    t.notMatch(result.stdout, /payload ran/, 'the app never ran');
  };

  await t.test('a FIFO, held open by a reader that discards', async (t) => {
    const app = makeApp(t, { files, extra: AUDIT });
    execFileSync('mkfifo', [app.path('audit.log')]);
    const fd = openSync(app.path('audit.log'), 'r+');
    t.teardown(() => closeSync(fd));
    refusedHere(t, await runNode(app.dir, ['app.js'], { timeout: 10_000 }), 'it is not a regular file');
  });

  await t.test('a FIFO with no reader: refused at once, not hung', async (t) => {
    const app = makeApp(t, { files, extra: AUDIT });
    execFileSync('mkfifo', [app.path('audit.log')]);
    const result = await runNode(app.dir, ['app.js'], { timeout: 10_000 });
    t.notOk(result.timedOut, 'did not hang');
    refusedHere(t, result, '.*ENXIO');
  });

  await t.test('a second hard link', async (t) => {
    const app = makeApp(t, { files, extra: AUDIT });
    linkSync(app.path('other.txt'), app.path('audit.log'));
    refusedHere(t, await runNode(app.dir, ['app.js']), 'it has 2 hard links');
    t.equal(readFileSync(app.path('other.txt'), 'utf8'), '', 'nothing was written through it');
  });

  await t.test('permissive mode warns and goes on', async (t) => {
    const app = makeApp(t, { files, extra: AUDIT });
    linkSync(app.path('other.txt'), app.path('audit.log'));
    const result = await runNode(app.dir, ['app.js'], { env: { TRUSTLOAD_MODE: 'permissive' } });
    t.equal(result.code, 0, result.stderr);
    t.match(result.stderr, /WARNING: cannot append to the audit trail .*2 hard links/, result.stderr);
  });

  await t.test('seal and verify refuse a FIFO instead of blocking on it', async (t) => {
    const app = makeApp(t, { files, extra: AUDIT });
    execFileSync('mkfifo', [app.path('audit.log')]);
    const fd = openSync(app.path('audit.log'), 'r+');
    t.teardown(() => closeSync(fd));
    const key = app.write('signing.key.pem', readFileSync(PRIVATE_KEY));
    chmodSync(key, 0o600);
    for (const args of [['seal', app.path('audit.log'), '--key', key], ['verify', app.path('audit.log')]]) {
      const result = await runCli(['audit', ...args], { timeout: 10_000 });
      t.equal(result.code, 1, `audit ${args[0]} exits 1\n${result.stderr}`);
      t.match(result.stderr, /the audit trail .*audit\.log is not a regular file/, result.stderr);
    }
  });
});

t.test('the policy field is checked', async (t) => {
  const app = makeApp(t, { files: { 'app.js': '' }, policy: JSON.stringify(policyObject({ extra: { audit: { path: '' } } })) });
  const result = await runNode(app.dir, ['app.js']);
  t.equal(result.code, 1, 'an empty audit path does not start');
  t.match(result.stderr, /audit\.path/, result.stderr);
});
