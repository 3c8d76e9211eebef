// Plugin hosts that start the guard from code: register() with a policy
// object removes the policy file it writes for children (at exit and on
// SIGINT, SIGTERM, SIGHUP, without taking a signal the host handles),
// register({ quiet: true }) prints no refusal line while the decision event
// still fires, and readVerified reads without blocking the event loop.
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import t from 'tap';
import { cleanEnv, INDEX, makeApp, policyObject, runNode } from './helpers/app.mjs';

const ENV_COMMAND = existsSync('/usr/bin/env') ? '/usr/bin/env' : '/bin/env';

// A host that registers a policy object, says where its policy file is, then runs `body`.
const host = (body) => `
import { existsSync } from 'node:fs';
import { register } from ${JSON.stringify(INDEX)};
const policy = ${JSON.stringify(policyObject())};
register({ policy, baseDir: process.cwd() });
const file = process.env.TRUSTLOAD_POLICY;
console.log('READY ' + JSON.stringify({ file, exists: existsSync(file) }));
${body}
`;

/**
 * Starts `node host.mjs` (no --import: the host registers) with its own
 * TMPDIR, so that whatever register() leaves behind is visible; `signal` is
 * sent once the host printed READY. Resolves with the exit, the output, and
 * what is left in TMPDIR.
 */
function runHost(t, app, { signal, env = {}, timeout = 20_000 } = {}) {
  const tmp = mkdtempSync(join(tmpdir(), 'trustload-hosttmp-'));
  t.teardown(() => rmSync(tmp, { recursive: true, force: true }));
  return new Promise((resolve) => {
    const assignments = Object.entries(cleanEnv({ TMPDIR: tmp, ...env })).map(([k, v]) => `${k}=${v}`);
    const child = spawn(ENV_COMMAND, ['-i', ...assignments, process.execPath, 'host.mjs'], { cwd: app.dir });
    let stdout = '';
    let stderr = '';
    let sent = false;
    let timedOut = false;
    child.stdout.setEncoding('utf8').on('data', (d) => {
      stdout += d;
      if (signal !== undefined && !sent && stdout.includes('READY ')) {
        sent = true;
        child.kill(signal);
      }
    });
    child.stderr.setEncoding('utf8').on('data', (d) => (stderr += d));
    const timer = setTimeout(() => {
      timedOut = true;
      child.kill('SIGKILL');
    }, timeout);
    child.on('close', (code, signalName) => {
      clearTimeout(timer);
      const line = stdout.split('\n').find((l) => l.startsWith('READY '));
      resolve({ code, signal: signalName, stdout, stderr, timedOut, ready: line && JSON.parse(line.slice(6)), left: readdirSync(tmp) });
    });
  });
}

function assertRemoved(t, r) {
  t.ok(r.ready?.exists, `the policy file existed while the host ran (${r.ready?.file})\n${r.stderr}`);
  t.ok(r.ready?.file.includes('trustload-'), 'under TMPDIR');
  t.same(r.left, [], 'nothing is left in TMPDIR');
}

t.test('register({ policy: object }) removes its policy file at normal exit', async (t) => {
  const app = makeApp(t, { policy: false, files: { 'host.mjs': host('') } });
  const r = await runHost(t, app);
  t.equal(r.code, 0, r.stderr);
  t.equal(r.stderr, '');
  assertRemoved(t, r);
});

t.test('... and after process.exit(3), keeping the exit code', async (t) => {
  const app = makeApp(t, { policy: false, files: { 'host.mjs': host('process.exit(3);') } });
  const r = await runHost(t, app);
  t.equal(r.code, 3);
  assertRemoved(t, r);
});

for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP']) {
  t.test(`${signal} with no listener in the host: the file is removed and the process still ends by ${signal}`, async (t) => {
    const app = makeApp(t, { policy: false, files: { 'host.mjs': host('setInterval(() => {}, 1000);') } });
    const r = await runHost(t, app, { signal });
    t.notOk(r.timedOut, 'the signal ended the process');
    t.equal(r.signal, signal, `killed by ${signal}, as without trustload`);
    t.equal(r.code, null);
    assertRemoved(t, r);
  });
}

t.test('a SIGTERM the host handles is the host’s: the file stays until the host exits', async (t) => {
  const body = `
process.on('SIGTERM', () => {
  console.log('HOST_HANDLED ' + existsSync(file));
  setTimeout(() => { console.log('STILL_RUNNING ' + existsSync(file)); process.exit(0); }, 200);
});
setInterval(() => {}, 1000);
`;
  const app = makeApp(t, { policy: false, files: { 'host.mjs': host(body) } });
  const r = await runHost(t, app, { signal: 'SIGTERM' });
  t.notOk(r.timedOut);
  t.equal(r.code, 0, 'the host decided the exit code');
  t.match(r.stdout, 'HOST_HANDLED true', "the host's listener ran, with the file still there");
  t.match(r.stdout, 'STILL_RUNNING true', 'the signal was not turned into an exit behind the host');
  assertRemoved(t, r);
});

t.test('a host listener added after register() and later removed: trustload handles the next signal again', async (t) => {
  const body = `
const onTerm = () => { console.log('HOST_ONCE'); process.removeListener('SIGTERM', onTerm); process.kill(process.pid, 'SIGTERM'); };
process.on('SIGTERM', onTerm);
setInterval(() => {}, 1000);
`;
  const app = makeApp(t, { policy: false, files: { 'host.mjs': host(body) } });
  const r = await runHost(t, app, { signal: 'SIGTERM' });
  t.notOk(r.timedOut, 'the re-raised signal ended the process');
  t.match(r.stdout, 'HOST_ONCE');
  t.equal(r.signal, 'SIGTERM');
  assertRemoved(t, r);
});

// signal-exit (and code like it) re-raises a signal only when it is the signal's sole listener:
// a listener of trustload's own that stayed would make both wait for the other, forever.
t.test('a signal-exit style listener (re-raises only when alone) still ends the process by the signal', async (t) => {
  const body = `
const polite = () => {
  if (process.listeners('SIGINT').length !== 1) { console.log('NOT_ALONE'); return; }
  process.removeListener('SIGINT', polite);
  console.log('POLITE_RERAISE');
  process.kill(process.pid, 'SIGINT');
};
process.on('SIGINT', polite);
setInterval(() => {}, 1000);
`;
  const app = makeApp(t, { policy: false, files: { 'host.mjs': host(body) } });
  const r = await runHost(t, app, { signal: 'SIGINT', timeout: 10_000 });
  t.notOk(r.timedOut, 'not swallowed');
  t.notMatch(r.stdout, 'NOT_ALONE');
  t.match(r.stdout, 'POLITE_RERAISE');
  t.equal(r.signal, 'SIGINT');
  assertRemoved(t, r);
});

t.test('SIGKILL cannot be caught: the file is left (documented in SECURITY.md)', async (t) => {
  const app = makeApp(t, { policy: false, files: { 'host.mjs': host('setInterval(() => {}, 1000);') } });
  const r = await runHost(t, app, { signal: 'SIGKILL' });
  t.equal(r.signal, 'SIGKILL');
  t.equal(r.left.length, 1, 'one folder left behind');
});

t.test('a register() that fails after writing the file removes it', async (t) => {
  const body = '';
  const source = host(body).replace(
    'register({ policy, baseDir: process.cwd() });',
    "try { register({ policy: { ...policy, allowPermissive: false }, baseDir: process.cwd() }); } catch (err) { console.log('FAILED ' + err.code); process.exit(0); }",
  );
  const app = makeApp(t, { policy: false, files: { 'host.mjs': source } });
  const r = await runHost(t, app, { env: { TRUSTLOAD_MODE: 'permissive' } });
  t.match(r.stdout, 'FAILED ERR_TRUSTLOAD_POLICY');
  t.same(r.left, [], 'nothing is left in TMPDIR');
});

t.test('registering the same policy object twice keeps one file, and removes it', async (t) => {
  const body = `
register({ policy, baseDir: process.cwd() });
const { readdirSync } = await import('node:fs');
console.log('FOLDERS ' + readdirSync(process.env.TMPDIR).length + ' ' + existsSync(file));
`;
  const app = makeApp(t, { policy: false, files: { 'host.mjs': host(body) } });
  const r = await runHost(t, app);
  t.equal(r.code, 0, r.stderr);
  t.match(r.stdout, 'FOLDERS 1 true', 'the second call wrote nothing that stays; the first file is still in use');
  assertRemoved(t, r);
});

// --- quiet ---------------------------------------------------------------------------------------

const QUIET_HOST = (options) => `
import diagnostics from 'node:diagnostics_channel';
import { register } from ${JSON.stringify(INDEX)};
const events = [];
diagnostics.subscribe('trustload:decision', (event) => events.push(event.decision + ' ' + (event.code ?? '')));
register({ policy: './trustload.policy.json'${options} });
try {
  await import('./plugins/p.mjs');
  console.log('LOADED');
} catch (err) {
  console.log('CAUGHT ' + err.code);
}
console.log('EVENTS ' + JSON.stringify(events));
`;

for (const [label, options, quiet] of [
  ['quiet: true', ', quiet: true', true],
  ['default', '', false],
  ['quiet: false', ', quiet: false', false],
]) {
  t.test(`register({ ${label} }): ${quiet ? 'no stderr line for a refusal' : 'the refusal line on stderr'}, the event fires`, async (t) => {
    const app = makeApp(t, { files: { 'host.mjs': QUIET_HOST(options), 'plugins/p.mjs': "export const who = 'SIGNED';\n" }, sign: ['plugins/p.mjs'] });
    app.tamper('plugins/p.mjs');
    const r = await runNode(app.dir, ['host.mjs'], { guard: false });
    t.equal(r.code, 0, r.stderr);
    t.match(r.stdout, 'CAUGHT ERR_TRUSTLOAD_SIGNATURE', 'the host caught the refusal');
    t.match(r.stdout, /EVENTS .*refused ERR_TRUSTLOAD_SIGNATURE/, 'trustload:decision published it');
    if (quiet) t.equal(r.stderr, '', 'nothing on stderr');
    else t.match(r.stderr, /^trustload: ERR_TRUSTLOAD_SIGNATURE: .*plugins\/p\.mjs/, 'the guard printed its line');
  });
}

for (const quiet of [true, false]) {
  t.test(`register({ quiet: ${quiet} }) and a refused process start (process.binding('spawn_sync'))`, async (t) => {
    const source = `
import { register } from ${JSON.stringify(INDEX)};
register({ policy: './trustload.policy.json', quiet: ${quiet} });
try {
  process.binding('spawn_sync');
  console.log('NOT_REFUSED');
} catch (err) {
  console.log('CAUGHT ' + err.code);
}
`;
    const app = makeApp(t, { files: { 'host.mjs': source } });
    // --no-deprecation: process.binding's own deprecation warning is not the guard's line (and the flag makes
    // process.noDeprecation read-only, which the guard's start must survive).
    const r = await runNode(app.dir, ['--no-deprecation', 'host.mjs'], { guard: false });
    t.match(r.stdout, 'CAUGHT ERR_TRUSTLOAD_UNSUPPORTED_LOAD');
    if (quiet) t.equal(r.stderr, '', 'nothing on stderr');
    else t.match(r.stderr, /^trustload: ERR_TRUSTLOAD_UNSUPPORTED_LOAD: .*spawn_sync/);
  });
}

t.test('a guarded process started with --no-deprecation runs (process.noDeprecation is read-only then)', async (t) => {
  const app = makeApp(t, { files: { 'main.mjs': "console.log('RAN');\n" } });
  const r = await runNode(app.dir, ['--no-deprecation', 'main.mjs']);
  t.equal(r.code, 0, r.stderr);
  t.equal(r.stderr, '');
  t.match(r.stdout, 'RAN');
});

// --- readVerified --------------------------------------------------------------------------------

const BIG = 96 * 1024 * 1024;

t.test('readVerified reads without blocking the event loop: a timer fires during a large read', async (t) => {
  const big = Buffer.alloc(BIG, 'a');
  Buffer.from('SIGNED').copy(big, 0);
  const probe = `
import { readVerified } from ${JSON.stringify(INDEX)};
import { createHash } from 'node:crypto';
let ticks = 0;
const timer = setInterval(() => ticks++, 1);
const read = async (path) => {
  ticks = 0;
  try {
    const bytes = await readVerified(path);
    return { ticks, length: bytes.length, sha256: createHash('sha256').update(bytes).digest('hex') };
  } catch (err) {
    return { ticks, code: err.code };
  }
};
const signed = await read('prompts/big.txt');
const tampered = await read('prompts/bad.txt');
clearInterval(timer);
console.log('RESULT ' + JSON.stringify({ signed, tampered }));
`;
  const app = makeApp(t, {
    rules: [{ name: 'prompts', files: 'prompts/**', signers: ['offline'] }],
    files: { 'probe.mjs': probe, 'prompts/big.txt': big, 'prompts/bad.txt': big },
    sign: ['prompts/big.txt', 'prompts/bad.txt'],
  });
  app.tamper('prompts/bad.txt');
  const r = await runNode(app.dir, ['probe.mjs'], { timeout: 60_000 });
  t.equal(r.code, 0, r.stderr);
  const line = r.stdout.split('\n').find((l) => l.startsWith('RESULT '));
  const { signed, tampered } = JSON.parse(line.slice(7));
  t.equal(signed.length, BIG, 'the whole file');
  t.equal(signed.sha256, (await import('node:crypto')).createHash('sha256').update(big).digest('hex'), 'the verified bytes');
  t.ok(signed.ticks > 0, `the timer fired while readVerified ran (${signed.ticks} times)`);
  t.equal(tampered.code, 'ERR_TRUSTLOAD_SIGNATURE', 'a tampered large file is still refused');
});
