// Locks (issue 12): an application with real dependencies (packages npm
// installed into this project's node_modules from the registry, copied into
// a temp app) is locked by a learning run, then runs under `unmatched: deny`;
// a changed byte, an added file and a new dependency are refused naming the
// package; a lock edited after pinning, or malformed, stops the process.
import { cpSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import t from 'tap';
import { assertClean, assertDidNotStart, assertRefused, makeApp, pool, ROOT, runNode, sha256Hex } from './helpers/app.mjs';
import { CLI } from './helpers/cli.mjs';

// Real packages: debug 4 requires ms 2; escape-html is the dependency added later.
const PACKAGES = ['ms', 'debug', 'escape-html'];
const version = (name) => JSON.parse(readFileSync(join(ROOT, 'node_modules', name, 'package.json'), 'utf8')).version;
const MS = `ms ${version('ms')}`;
const DEBUG = `debug ${version('debug')}`;
const ESCAPE = `escape-html ${version('escape-html')}`;

const APP = `import { createRequire } from 'node:module';
import ms from 'ms';
import debug from 'debug';
const require = createRequire(import.meta.url);
debug('app')('quiet');
console.log('ok', ms(60000));
if (process.env.EXTRA) console.log(require('debug/src/extra.js'));
if (process.env.LATER) console.log((await import('escape-html')).default('<'));
`;

function makeLockedApp(t, files = {}) {
  const app = makeApp(t, { policy: false, files: { 'app.mjs': APP, ...files } });
  for (const name of PACKAGES) cpSync(join(ROOT, 'node_modules', name), app.path(`node_modules/${name}`), { recursive: true });
  return app;
}

/** `trustload lock ...` in the app folder, with a clean environment (no test runner hooks in NODE_OPTIONS). */
const lockCli = (app, args) => runNode(app.dir, [CLI, 'lock', ...args], { guard: false, timeout: 60_000 });

/** The policy that runs the app on its lock alone: everything else is denied. */
function writeLockPolicy(app, lock = { path: './trustload.lock.json', sha256: sha256Hex(app.read('trustload.lock.json')) }, extra = {}) {
  app.write('trustload.policy.json', JSON.stringify({ version: 1, trust: { locks: { app: lock } }, signers: {}, rules: [{ name: 'locked', files: '**', lock: 'app' }], unmatched: 'deny', ...extra }));
}

t.test('a learning run locks the app and its dependencies; then only that runs', async (t) => {
  const app = makeLockedApp(t);
  const learned = await lockCli(app, ['--', process.execPath, 'app.mjs']);
  t.equal(learned.code, 0, `learning run exits 0\n${learned.stderr}`);
  t.match(learned.stderr, /LEARNING/, 'says loudly that it is learning');
  t.match(learned.stdout, /^ok 1m$/m, 'the command ran');
  t.ok(learned.stdout.includes(`added:\n    ${DEBUG} (`) && learned.stdout.includes(`\n    ${MS} (2 files in node_modules/ms): index.js, package.json\n    app.mjs\n`), `summary by package, every file named:\n${learned.stdout}`);
  const lockText = app.read('trustload.lock.json').toString();
  t.match(learned.stdout, new RegExp(`sha256 to pin: ${sha256Hex(lockText)}`), 'prints the digest to pin');
  t.match(learned.stdout, /"lock": "app"/, 'prints the rule to add');
  const lock = JSON.parse(lockText);
  const paths = lock.entries.map((e) => e.path);
  t.same(paths, [...paths].sort(), 'entries sorted by path');
  t.ok(paths.includes('node_modules/ms/package.json'), 'package.json files Node reads are locked too');
  t.same(lock.entries.find((e) => e.path === 'node_modules/ms/index.js'), { path: 'node_modules/ms/index.js', sha256: sha256Hex(app.read('node_modules/ms/index.js')), package: 'ms', version: version('ms') });
  t.notOk(paths.some((p) => p.startsWith('node_modules/escape-html/')), 'what the run did not load is not locked');

  writeLockPolicy(app);
  const ok = await runNode(app.dir, ['app.mjs']);
  assertClean(t, ok);
  t.equal(ok.stdout, 'ok 1m\n');

  const runs = {
    later: await runNode(app.dir, ['app.mjs'], { env: { LATER: '1' } }),
  };
  assertRefused(t, runs.later, 'ERR_TRUSTLOAD_NOT_IN_LOCK', { rule: 'locked' });
  t.ok(runs.later.firstLine.includes(ESCAPE) && runs.later.firstLine.includes('no file of that package'), `a new dependency is named: ${runs.later.firstLine}`);

  app.write('node_modules/debug/src/extra.js', 'module.exports = "planted";\n');
  const extra = await runNode(app.dir, ['app.mjs'], { env: { EXTRA: '1' } });
  assertRefused(t, extra, 'ERR_TRUSTLOAD_NOT_IN_LOCK', { path: app.path('node_modules/debug/src/extra.js'), rule: 'locked' });
  t.ok(extra.firstLine.includes(DEBUG), `a file added to a locked package names it: ${extra.firstLine}`);
  t.notMatch(extra.stdout, /planted/, 'the planted file never ran');

  const original = app.read('node_modules/ms/index.js');
  app.tamper('node_modules/ms/index.js', 'var s = 1000', 'var s = 1001');
  const changed = await runNode(app.dir, ['app.mjs']);
  assertRefused(t, changed, 'ERR_TRUSTLOAD_SIGNATURE', { path: app.path('node_modules/ms/index.js'), rule: 'locked' });
  t.ok(changed.firstLine.includes(MS) && changed.firstLine.includes(`found sha256:${sha256Hex(app.read('node_modules/ms/index.js'))}`), `one changed byte names the package: ${changed.firstLine}`);
  writeFileSync(app.path('node_modules/ms/index.js'), original);

  // A package.json Node reads through no hook is checked too: "type" or "main" changed is refused.
  app.tamper('node_modules/ms/package.json', '"ms"', '"mz"');
  assertRefused(t, await runNode(app.dir, ['app.mjs']), 'ERR_TRUSTLOAD_SIGNATURE', { path: app.path('node_modules/ms/package.json') });
  app.tamper('node_modules/ms/package.json', '"mz"', '"ms"');

  // A lock edited after pinning stops the process at start.
  app.write('trustload.lock.json', lockText.replace(sha256Hex(original), sha256Hex(app.read('node_modules/ms/index.js')).replace(/^./, '0')));
  assertDidNotStart(t, await runNode(app.dir, ['app.mjs']), { mentions: ['trust.locks.app', 'pinned sha256'] });
});

// The record file stays out of the application's process.env (it has no use for it but to forge records), in
// every process of the run, and a child started with a copy of that environment still records its loads.
const SEES_RECORD_FILE = "if (process.env.TRUSTLOAD_LOCK_LEARN !== undefined) console.log('RECORD FILE VISIBLE');\n";

t.test('a learning run records the loads of workers and child processes, and diffs against the previous lock', async (t) => {
  const app = makeLockedApp(t, {
    'main.mjs': `import { Worker } from 'node:worker_threads';
import { execFileSync } from 'node:child_process';
${SEES_RECORD_FILE}await new Promise((resolve, reject) => new Worker(new URL('./worker.mjs', import.meta.url)).on('exit', resolve).on('error', reject));
process.stdout.write(execFileSync(process.execPath, [new URL('./child.mjs', import.meta.url).pathname], { env: { ...process.env } }));
console.log('main done');
`,
    'worker.mjs': `import ms from 'ms';\n${SEES_RECORD_FILE}console.log('worker', ms(1000));\n`,
    'child.mjs': `import escape from 'escape-html';\n${SEES_RECORD_FILE}console.log('child', escape('<'));\n`,
  });
  const learned = await lockCli(app, ['--', process.execPath, 'main.mjs']);
  t.equal(learned.code, 0, learned.stderr);
  t.match(learned.stdout, /worker 1s\nchild &lt;\nmain done/, 'main, worker and child ran');
  t.notMatch(learned.stdout, /RECORD FILE VISIBLE/, 'no process of the run sees the record file in process.env');
  const paths = JSON.parse(app.read('trustload.lock.json')).entries.map((e) => e.path);
  for (const path of ['main.mjs', 'worker.mjs', 'child.mjs', 'node_modules/ms/index.js', 'node_modules/escape-html/index.js']) t.ok(paths.includes(path), `${path} is recorded`);
  t.ok(learned.stdout.includes(`${ESCAPE} (2 files in node_modules/escape-html)`), learned.stdout);

  writeLockPolicy(app);
  const ok = await runNode(app.dir, ['main.mjs']);
  assertClean(t, ok);
  t.match(ok.stdout, /worker 1s\nchild &lt;\nmain done/);

  // The worker no longer loads ms; the child's file changed: the next run says so by package.
  app.write('worker.mjs', "console.log('worker');\n");
  app.write('child.mjs', "import escape from 'escape-html';\nconsole.log('child!', escape('<'));\n");
  const relearned = await lockCli(app, ['--', process.execPath, 'main.mjs']);
  t.equal(relearned.code, 0, relearned.stderr);
  t.ok(relearned.stdout.includes(`removed:\n    ${MS} (2 files in node_modules/ms): index.js, package.json\n  changed:\n    child.mjs\n    worker.mjs\n`), relearned.stdout);
  t.match(relearned.stdout, /update trust\.locks\.app\.sha256 in the policy to [0-9a-f]{64}/, 'the policy pins the old lock: says what to update');
  t.notMatch(relearned.stdout, /add last to the policy/, 'the policy has the rule already');
  writeLockPolicy(app);
  assertClean(t, await runNode(app.dir, ['main.mjs']));
});

// Code that runs during a learning run finds the record file (through process.env, else by looking in the
// temp folder) and appends forged records: a second stage that never loaded, attributed to an innocent
// package; files by a path that is not their real one; bytes that are not the file's. None reaches the lock,
// each is named; a file that exists with the recorded bytes is kept, and the summary names it.
t.test('a learning run re-hashes every record from disk: forged records are dropped and named', async (t) => {
  const stage2 = 'console.log("STAGE2 RAN");\n';
  const app = makeLockedApp(t, {
    'app.mjs': `import forger from 'forger';
import ms from 'ms';
console.log('forger saw', forger, ms(1000));
try { await import('./node_modules/ms/stage2.js'); } catch (e) { console.log('stage2:', e.code); }
`,
    'node_modules/forger/package.json': '{"name":"forger","version":"1.0.0","main":"index.js"}',
    'node_modules/forger/index.js': `const fs = require('node:fs'), path = require('node:path'), os = require('node:os'), crypto = require('node:crypto');
const seen = process.env.TRUSTLOAD_LOCK_LEARN;
let file = seen;
// This file was recorded before it ran: the record file naming it is this run's.
if (!file) for (const name of fs.readdirSync(os.tmpdir())) {
  const candidate = path.join(os.tmpdir(), name, 'loads.jsonl');
  try { if (name.startsWith('trustload-lock-') && fs.readFileSync(candidate, 'utf8').includes(JSON.stringify(__filename))) file = candidate; } catch {}
}
const base = path.resolve(__dirname, '../..');
const sha = (p) => crypto.createHash('sha256').update(fs.readFileSync(p)).digest('hex');
const forge = (p, digest) => file && fs.appendFileSync(file, JSON.stringify([p, digest]) + '\\n');
forge(base + '/node_modules/ms/stage2.js', '${sha256Hex(stage2)}');
forge(base + '/node_modules/ms/license.md', '0'.repeat(64));
forge(base + '/node_modules/ms/alias.js', sha(base + '/node_modules/ms/index.js'));
forge(base + '/node_modules/forger/../ms/index.js', sha(base + '/node_modules/ms/index.js'));
forge(base + '/node_modules/ms', '0'.repeat(64));
forge('/etc/hostname', '0'.repeat(64));
forge(base + '/node_modules/escape-html/index.js', sha(base + '/node_modules/escape-html/index.js'));
module.exports = String(seen);
`,
  });
  symlinkSync('index.js', app.path('node_modules/ms/alias.js'));
  const learned = await lockCli(app, ['--', process.execPath, 'app.mjs']);
  t.equal(learned.code, 0, learned.stderr);
  t.match(learned.stdout, /^forger saw undefined 1s$/m, 'the record file is not in process.env');
  const paths = JSON.parse(app.read('trustload.lock.json')).entries.map((e) => e.path);
  for (const path of ['node_modules/ms/stage2.js', 'node_modules/ms/license.md', 'node_modules/ms/alias.js', 'node_modules/forger/../ms/index.js', 'node_modules/ms']) {
    t.notOk(paths.includes(path), `${path} is not locked`);
    const dropped = `${app.dir}/${path}`;
    t.ok(learned.stderr.includes(`not locked: ${dropped}: `), `stderr names ${dropped}:\n${learned.stderr}`);
    t.match(learned.stdout.split('DROPPED')[1] ?? '', dropped, `the summary names ${dropped}`);
  }
  t.ok(paths.includes('node_modules/ms/index.js') && paths.includes('node_modules/forger/index.js'), 'what loaded is locked');
  t.match(learned.stdout, /outside the policy folder [^\n]*\n    \/etc\/hostname\n/, 'a record outside the folder is named');
  // A file on disk recorded with its bytes cannot be told from a load (code that runs can load it): the review sees it by name.
  t.ok(paths.includes('node_modules/escape-html/index.js'));
  t.ok(learned.stdout.includes(`\n    ${ESCAPE} (2 files in node_modules/escape-html): index.js, package.json\n`), learned.stdout);

  writeLockPolicy(app);
  app.write('node_modules/ms/stage2.js', stage2);
  const later = await runNode(app.dir, ['app.mjs']);
  t.match(later.stderr, new RegExp(`ERR_TRUSTLOAD_NOT_IN_LOCK: ${app.path('node_modules/ms/stage2.js')}`), later.stderr);
  t.notMatch(later.stdout, /STAGE2 RAN/, 'the second stage dropped later never runs');
});

t.test('trustload lock --add; a lock verified by its signature', async (t) => {
  const app = makeLockedApp(t);
  const added = await lockCli(app, ['--add', 'app.mjs', 'node_modules']);
  t.equal(added.code, 0, added.stderr);
  const escaped = (text) => text.replace(/[.()]/g, '\\$&');
  t.match(added.stdout, new RegExp(`added:\n    ${escaped(DEBUG)} \\(\\d+ files in node_modules/debug\\): [^\n]*src/index\\.js[^\n]*\n    ${escaped(ESCAPE)} \\(4 files in node_modules/escape-html\\): LICENSE, Readme\\.md, index\\.js, package\\.json\n    ${escaped(MS)} \\(4 files in node_modules/ms\\): index\\.js, license\\.md, package\\.json, readme\\.md\n    app\\.mjs\n`), added.stdout);
  app.sign('trustload.lock.json');
  // The helper's policy: one key signer, "offline"; the lock names it.
  const policy = JSON.parse(JSON.stringify({
    version: 1,
    trust: { keys: { release: { path: './keys/p256.pub.pem', sha256: sha256Hex(app.read('keys/p256.pub.pem')) } }, locks: { app: { path: './trustload.lock.json', signers: ['offline'] } } },
    signers: { offline: { key: 'release', transparencyLog: false } },
    rules: [{ name: 'locked', files: ['*.mjs', 'node_modules/**'], lock: 'app' }],
    unmatched: 'deny',
  }));
  app.write('trustload.policy.json', JSON.stringify(policy));
  assertClean(t, await runNode(app.dir, ['app.mjs'], { env: { LATER: '1' } }));
  app.write('trustload.lock.json', app.read('trustload.lock.json').toString().replace('"version": 1', '"version":1'));
  assertDidNotStart(t, await runNode(app.dir, ['app.mjs']), { mentions: ['trust.locks.app', 'not signed'] });
  const outside = await lockCli(app, ['--add', '/etc/hostname']);
  t.equal(outside.code, 2, 'a path outside the policy folder is a usage error');
  t.match(outside.stderr, /outside the policy folder/);
});

t.test('every malformed lock stops the process at start', async (t) => {
  const app = makeLockedApp(t);
  const digest = sha256Hex(app.read('app.mjs'));
  const entry = (fields) => ({ path: 'app.mjs', sha256: digest, ...fields });
  const lock = (entries, extra = {}) => JSON.stringify({ version: 1, entries, ...extra });
  const cases = {
    'not JSON': '{"version": 1, "entries": [',
    'not an object': '[]',
    'another version': lock([entry()], { version: 2 }),
    'no entries': JSON.stringify({ version: 1 }),
    'an unknown key': lock([entry()], { extra: true }),
    'an unknown entry key': lock([entry({ sha512: 'x' })]),
    'an empty digest': lock([entry({ sha256: '' })]),
    'a short digest': lock([entry({ sha256: digest.slice(1) })]),
    'an uppercase digest': lock([entry({ sha256: digest.toUpperCase() })]),
    'a prefixed digest': lock([entry({ sha256: `sha256:${digest}` })]),
    'a SHA-512 digest': lock([entry({ sha256: digest + digest })]),
    'no digest': lock([{ path: 'app.mjs' }]),
    'a duplicate path': lock([entry(), entry()]),
    'a path leaving the folder': lock([entry({ path: '../app.mjs' })]),
    'a path inside then out': lock([entry({ path: 'node_modules/../../x.mjs' })]),
    'an absolute path': lock([entry({ path: app.path('app.mjs') })]),
    'a ./ path': lock([entry({ path: './app.mjs' })]),
    'an empty segment': lock([entry({ path: 'node_modules//ms/index.js' })]),
    'an empty path': lock([entry({ path: '' })]),
    'a package without version': lock([entry({ package: 'ms' })]),
  };
  const results = await pool(Object.entries(cases), 4, async ([name, text]) => {
    const dir = makeLockedApp(t);
    dir.write('trustload.lock.json', text);
    writeLockPolicy(dir);
    return { name, result: await runNode(dir.dir, ['app.mjs']) };
  });
  for (const { name, result } of results) t.test(name, async (t) => assertDidNotStart(t, result, { mentions: ['lock'] }));

  // The learning variable alone cannot switch a guard off: learning needs permissive mode, which the policy must allow.
  app.write('trustload.lock.json', lock([entry()]));
  writeLockPolicy(app);
  const learnVariable = await runNode(app.dir, ['app.mjs'], { env: { TRUSTLOAD_LOCK_LEARN: app.path('loads.jsonl') } });
  t.test('TRUSTLOAD_LOCK_LEARN under an enforcing policy', async (t) => assertDidNotStart(t, learnVariable, { mentions: ['permissive mode'] }));

  // A rule takes signers or a lock, and names a lock the policy defines.
  for (const [name, rule] of Object.entries({ both: { name: 'x', files: '**', lock: 'app', signers: ['s'] }, 'an unknown lock': { name: 'x', files: '**', lock: 'nope' } })) {
    app.write('trustload.lock.json', lock([entry()]));
    writeLockPolicy(app, undefined, { rules: [rule], signers: { s: { key: 'k' } }, trust: { keys: { k: { pem: 'x' } }, locks: { app: { path: './trustload.lock.json', sha256: sha256Hex(app.read('trustload.lock.json')) } } } });
    const result = await runNode(app.dir, ['app.mjs']);
    t.test(`a rule with ${name}`, async (t) => assertDidNotStart(t, result, { mentions: ['rules[0]'] }));
  }
});
