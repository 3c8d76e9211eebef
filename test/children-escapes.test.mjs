// Issue 7: a guarded process cannot start an unguarded Node, or one guarded by
// another policy, whatever it does to its own environment. Each case is one way
// an attacker tried (with variants): a child or worker started outside the
// wrapped functions, a parent that changed its environment first, a
// NODE_OPTIONS that only mentions the guard, and files Node loads in a child
// before the guard or instead of it. Every child tries to import a tampered
// plugin: a child under the pinned policy refuses it; an unguarded one, or one
// under the other policy (which protects nothing), runs it.
import { readFileSync } from 'node:fs';
import t from 'tap';
import { makeApp, PLUGINS_RULE, pool, REGISTER, runNode, sha256Hex } from './helpers/app.mjs';

// `node parent.mjs HOW` starts one child (or worker, or replaces itself) and
// prints `RESULT {json}`: the child's { code, stdout, stderr }, or { threw } with
// the error code when starting it threw.
const PARENT = `
import { ChildProcess, exec, execSync, fork, spawn, spawnSync } from 'node:child_process';
import diagnostics from 'node:diagnostics_channel';
import { join } from 'node:path';
import { SHARE_ENV, Worker } from 'node:worker_threads';

const [how] = process.argv.slice(2);
const here = import.meta.dirname;
const at = (rel) => join(here, rel);
const node = process.execPath;
const child = at('child.mjs');
const BAD = at('plugins/bad.mjs');
const TAMPERED_CJS = at('plugins/tampered.cjs');
const OTHER = at('other.policy.json');
const OTHER_SHA256 = process.env.OTHER_SHA256;
const REGISTER = process.env.REGISTER_PATH;
const PATH_ONLY = ['PATH=' + process.env.PATH];
const TIMEOUT = 15000;
const stdio = ['ignore', 'pipe', 'pipe'];

const report = (result) => console.log('RESULT ' + JSON.stringify(result));
function collect(cp) {
  return new Promise((resolve) => {
    let stdout = '';
    let stderr = '';
    cp.stdout.setEncoding('utf8').on('data', (d) => (stdout += d));
    cp.stderr.setEncoding('utf8').on('data', (d) => (stderr += d));
    const timer = setTimeout(() => cp.kill('SIGKILL'), TIMEOUT);
    cp.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
}
const fromSync = (r) => ({ code: r.status, stdout: String(r.stdout), stderr: String(r.stderr) });
const viaCallback = (run) =>
  new Promise((resolve) => run((err, stdout, stderr) => resolve({ code: err ? err.code ?? -1 : 0, stdout, stderr })));
function rawChild(options) {
  const cp = new ChildProcess();
  cp.spawn({ file: node, args: [node, child, BAD], stdio, ...options });
  return collect(cp);
}
function runWorker(file, options, WorkerClass = Worker) {
  return new Promise((resolve) => {
    const w = new WorkerClass(file, { workerData: BAD, stdout: true, stderr: true, ...options });
    let stdout = '';
    const errors = [];
    w.stdout.setEncoding('utf8').on('data', (d) => (stdout += d));
    w.stderr.resume();
    w.on('error', (err) => errors.push(err.code ?? String(err.message)));
    w.on('exit', (code) => resolve({ code, stdout, stderr: errors.join(' ') }));
  });
}
function pointAtOtherPolicy() {
  process.env.TRUSTLOAD_POLICY = OTHER;
  process.env.TRUSTLOAD_POLICY_SHA256 = OTHER_SHA256;
}

const cases = {
  // Started outside the wrapped functions.
  'execve with env { PATH }': () => process.execve(node, [node, child, BAD], { PATH: process.env.PATH }),
  'execve with the parent env cleaned': () => {
    delete process.env.NODE_OPTIONS;
    pointAtOtherPolicy();
    process.execve(node, [node, child, BAD]);
  },
  'new ChildProcess().spawn({ envPairs: [PATH] })': () => rawChild({ envPairs: PATH_ONLY }),
  'new ChildProcess().spawn() without envPairs, NODE_OPTIONS deleted': () => {
    delete process.env.NODE_OPTIONS;
    return rawChild({});
  },
  'envPairs with duplicate keys, the first unguarded': () =>
    rawChild({ envPairs: [...PATH_ONLY, 'NODE_OPTIONS=', 'TRUSTLOAD_POLICY=' + OTHER, 'TRUSTLOAD_POLICY_SHA256=' + OTHER_SHA256, 'NODE_OPTIONS=--import "' + REGISTER + '"', 'TRUSTLOAD_POLICY=' + at('trustload.policy.json')] }),
  'a child_process.spawn subscriber empties envPairs': () => {
    diagnostics.tracingChannel('child_process.spawn').subscribe({ start({ options }) { options.envPairs = PATH_ONLY; }, end() {}, asyncStart() {}, asyncEnd() {}, error() {} });
    return collect(spawn(node, [child, BAD], { stdio }));
  },
  "process.binding('spawn_sync')": () => {
    const pipe = { type: 'pipe', readable: true, writable: true };
    const r = process.binding('spawn_sync').spawn({ file: node, args: [node, child, BAD], envPairs: PATH_ONLY, stdio: [{ type: 'ignore' }, pipe, pipe] });
    return { code: r.status, stdout: String(r.output?.[1] ?? ''), stderr: String(r.output?.[2] ?? '') };
  },
  "process.binding('process_wrap')": () => new (process.binding('process_wrap').Process)(),
  // A parent that changes its own environment, then spawns with the inherited one.
  'spawnSync after delete NODE_OPTIONS': () => {
    delete process.env.NODE_OPTIONS;
    return fromSync(spawnSync(node, [child, BAD], { timeout: TIMEOUT }));
  },
  'spawn after delete NODE_OPTIONS': () => {
    delete process.env.NODE_OPTIONS;
    return collect(spawn(node, [child, BAD], { stdio }));
  },
  'exec (shell: true) after delete NODE_OPTIONS': () => {
    delete process.env.NODE_OPTIONS;
    return viaCallback((cb) => exec(JSON.stringify(node) + ' ' + JSON.stringify(child) + ' ' + JSON.stringify(BAD), { timeout: TIMEOUT }, cb));
  },
  'fork after delete NODE_OPTIONS and execArgv: []': () => {
    delete process.env.NODE_OPTIONS;
    return collect(fork(child, [BAD], { execArgv: [], stdio: [...stdio, 'ipc'] }));
  },
  'spawnSync after pointing TRUSTLOAD_POLICY at another policy': () => {
    pointAtOtherPolicy();
    return fromSync(spawnSync(node, [child, BAD], { timeout: TIMEOUT }));
  },
  'execSync (shell) with env: { ...process.env } after pointing at another policy': () => {
    pointAtOtherPolicy();
    try {
      return { code: 0, stdout: execSync(JSON.stringify(node) + ' ' + JSON.stringify(child) + ' ' + JSON.stringify(BAD), { env: { ...process.env }, stdio: 'pipe' }).toString(), stderr: '' };
    } catch (err) {
      return { code: err.status, stdout: String(err.stdout), stderr: String(err.stderr) };
    }
  },
  'worker after pointing at another policy': () => {
    pointAtOtherPolicy();
    return runWorker(at('worker.mjs'), {});
  },
  'worker with SHARE_ENV, pointed at another policy as it starts': () => {
    const w = runWorker(at('worker.mjs'), { env: SHARE_ENV });
    pointAtOtherPolicy();
    return w;
  },
  'the original Worker class, reached through the prototype chain or constructor': () => {
    const Parent = Object.getPrototypeOf(Worker);
    return runWorker(at('worker.mjs'), { execArgv: [], env: {} }, Parent.name === 'Worker' ? Parent : Worker.prototype.constructor);
  },
  'two children after the parent cleaned its environment': async () => {
    delete process.env.NODE_OPTIONS;
    pointAtOtherPolicy();
    const first = fromSync(spawnSync(node, [child, BAD], { timeout: TIMEOUT }));
    const second = fromSync(spawnSync(node, [child, BAD], { timeout: TIMEOUT }));
    return { ...second, stdout: first.stdout + second.stdout };
  },
  // A NODE_OPTIONS that only mentions the guard.
  'NODE_OPTIONS with the guard inside a quoted --title': () =>
    collect(spawn(node, [child, BAD], { env: { PATH: process.env.PATH, NODE_OPTIONS: '--title="x --import "' + REGISTER + '""' }, stdio })),
  'NODE_OPTIONS with the guard inside an escaped quote': () =>
    collect(spawn(node, [child, BAD], { env: { PATH: process.env.PATH, NODE_OPTIONS: '--title="--import \\\\"' + REGISTER + '\\\\""' }, stdio })),
  // Files Node loads in a child before the guard, or instead of it.
  'worker execArgv --require of a tampered plugin': () => runWorker(at('worker.mjs'), { execArgv: ['--require', './plugins/tampered.cjs'] }),
  'worker env NODE_OPTIONS --require of a tampered plugin': () => runWorker(at('worker.mjs'), { env: { NODE_OPTIONS: '--require ./plugins/tampered.cjs' } }),
  'child -r of a tampered plugin': () => collect(spawn(node, ['-r', './plugins/tampered.cjs', child, BAD], { stdio })),
  'fork with execArgv -r of a tampered plugin': () => collect(fork(child, [BAD], { execArgv: ['-r', TAMPERED_CJS], stdio: [...stdio, 'ipc'] })),
  'spawn of node by name through PATH, -r of a tampered plugin': () =>
    collect(spawn('node', ['-r', TAMPERED_CJS, child, BAD], { env: { ...process.env, PATH: join(node, '..') + ':' + process.env.PATH }, stdio })),
  'worker with SHARE_ENV after NODE_OPTIONS became a --require of a tampered plugin': () => {
    process.env.NODE_OPTIONS = '--require ./plugins/tampered.cjs';
    return runWorker(at('worker.mjs'), { env: SHARE_ENV });
  },
  'spawn of node under another name through PATH (a link), -r of a tampered plugin': () =>
    collect(spawn('renamed-runtime', ['-r', TAMPERED_CJS, child, BAD], { env: { ...process.env, PATH: at('bin') + ':' + process.env.PATH }, stdio })),
  'spawn of node through a link with another name, -r of a tampered plugin': () => collect(spawn(at('bin/renamed-runtime'), ['-r', TAMPERED_CJS, child, BAD], { stdio })),
  'NODE_OPTIONS became an --import of a tampered plugin, then spawn': () => {
    process.env.NODE_OPTIONS = '--import ./plugins/tampered-loader.mjs';
    return collect(spawn(node, [child, BAD], { stdio }));
  },
  'child -r of a file no rule covers, under unmatched: deny': () => collect(spawn(node, ['-r', './extra/preload.cjs', child, BAD], { stdio })),
  'child --require= of a tampered plugin after --title': () => collect(spawn(node, ['--title', 'x', '--require=' + TAMPERED_CJS, child, BAD], { stdio })),
  'child NODE_OPTIONS --require of a tampered plugin': () =>
    collect(spawn(node, [child, BAD], { env: { ...process.env, NODE_OPTIONS: '--require "' + TAMPERED_CJS + '"' }, stdio })),
  'child --experimental-loader of a tampered plugin': () => collect(spawn(node, ['--no-warnings', '--experimental-loader', './plugins/tampered-loader.mjs', child, BAD], { stdio })),
  'child REPL with NODE_REPL_EXTERNAL_MODULE naming a tampered plugin': () =>
    collect(spawn(node, ['-i'], { env: { ...process.env, NODE_REPL_EXTERNAL_MODULE: TAMPERED_CJS }, stdio })),
  'child --env-file setting NODE_REPL_EXTERNAL_MODULE': () => collect(spawn(node, ['--env-file=repl.env', '-i'], { stdio })),
  'child --experimental-config-file requiring a tampered plugin': () =>
    collect(spawn(node, ['--no-warnings', '--experimental-config-file=plugins/node.config.json', child, BAD], { stdio })),
  'child --snapshot-blob in a protected folder, unsigned': () => collect(spawn(node, ['--snapshot-blob', 'plugins/app.blob'], { stdio })),
  'child --snapshot-blob outside every rule': () => collect(spawn(node, ['--snapshot-blob', 'app.blob'], { stdio })),
  'child --build-snapshot': () => collect(spawn(node, ['--snapshot-blob', 'out.blob', '--build-snapshot', 'plugins/tampered.cjs'], { stdio })),
  // What still works.
  'child -r of a signed plugin': () => collect(spawn(node, ['-r', './plugins/signed.cjs', child, BAD], { stdio })),
  'child --snapshot-blob of a signed blob': () => collect(spawn(node, ['--snapshot-blob', 'plugins/signed.blob'], { stdio })),
  'a shell script child (not Node) sees the pinned variables': () => {
    delete process.env.NODE_OPTIONS;
    pointAtOtherPolicy();
    return viaCallback((cb) => exec('echo "POLICY=$TRUSTLOAD_POLICY"; echo "OPTIONS=$NODE_OPTIONS"; echo "CACHE=$NODE_DISABLE_COMPILE_CACHE"', cb));
  },
};

try {
  report(await cases[how]());
} catch (err) {
  report({ threw: err.code ?? err.message });
}
`;

const CHILD = `
import { pathToFileURL } from 'node:url';
try {
  await import(pathToFileURL(process.argv[2]).href);
  console.log('CHILD_LOADED');
} catch (err) {
  console.log('CHILD_REFUSED ' + err.code);
  process.exitCode = 3;
}
`;
const WORKER = `
import { workerData } from 'node:worker_threads';
import { pathToFileURL } from 'node:url';
await import(pathToFileURL(workerData).href);
console.log('WORKER_LOADED');
`;
// Builds a snapshot whose main function prints; started from it, Node runs no preloads (no guard).
const SNAPSHOT = "require('v8').startupSnapshot.setDeserializeMainFunction(() => console.log('SNAPSHOT:SIGNED'));\n";

const app = makeApp(t, {
  files: {
    'parent.mjs': PARENT,
    'child.mjs': CHILD,
    'worker.mjs': WORKER,
    'plugins/bad.mjs': "console.log('BAD:SIGNED');\n",
    'plugins/tampered.cjs': "console.log('TAMPERED:SIGNED');\n",
    'plugins/signed.cjs': "console.log('PRELOAD:OK');\n",
    'plugins/tampered-loader.mjs': "console.log('TAMPERED:SIGNED');\nexport async function resolve(s, c, next) { return next(s, c); }\n",
    'plugins/node.config.json': JSON.stringify({ nodeOptions: { require: ['./plugins/tampered.cjs'] } }),
    'repl.env': 'NODE_REPL_EXTERNAL_MODULE="./plugins/tampered.cjs"\n',
    'snapshot.cjs': SNAPSHOT,
    // A policy that protects nothing: no child may switch to it.
    'other.policy.json': JSON.stringify({ version: 1, signers: {}, rules: [], unmatched: 'allow' }),
  },
  sign: ['plugins/bad.mjs', 'plugins/tampered.cjs', 'plugins/signed.cjs', 'plugins/tampered-loader.mjs'],
});
app.tamper('plugins/bad.mjs');
app.tamper('plugins/tampered.cjs');
app.symlink(process.execPath, 'bin/renamed-runtime');
app.tamper('plugins/tampered-loader.mjs');
const OTHER_SHA256 = sha256Hex(readFileSync(app.path('other.policy.json')));

const BAD = app.path('plugins/bad.mjs');

/** The child loaded the tampered plugin, or anything tampered ran: the way through is open. */
function ranTampered(out) {
  return /BAD:|TAMPERED:|CHILD_LOADED|WORKER_LOADED|SNAPSHOT:/.test(out);
}

// What each case must show. `guarded`: the child ran under the pinned policy and refused the
// tampered plugin. `refused: CODE`: starting it threw CODE in the parent, and nothing tampered ran.
const EXPECT = {
  'execve with env { PATH }': 'execve',
  'execve with the parent env cleaned': 'execve',
  'new ChildProcess().spawn({ envPairs: [PATH] })': 'guarded',
  'new ChildProcess().spawn() without envPairs, NODE_OPTIONS deleted': 'guarded',
  'envPairs with duplicate keys, the first unguarded': 'guarded',
  'a child_process.spawn subscriber empties envPairs': 'guarded',
  "process.binding('spawn_sync')": { refused: 'ERR_TRUSTLOAD_UNSUPPORTED_LOAD' },
  "process.binding('process_wrap')": { refused: 'ERR_TRUSTLOAD_UNSUPPORTED_LOAD' },
  'spawnSync after delete NODE_OPTIONS': 'guarded',
  'spawn after delete NODE_OPTIONS': 'guarded',
  'exec (shell: true) after delete NODE_OPTIONS': 'guarded',
  'fork after delete NODE_OPTIONS and execArgv: []': 'guarded',
  'spawnSync after pointing TRUSTLOAD_POLICY at another policy': 'guarded',
  'execSync (shell) with env: { ...process.env } after pointing at another policy': 'guarded',
  'worker after pointing at another policy': 'worker',
  // SHARE_ENV is refused in enforce mode (see children-bypasses.test.mjs); permissive mode below.
  'worker with SHARE_ENV, pointed at another policy as it starts': { refused: 'ERR_TRUSTLOAD_UNSUPPORTED_LOAD' },
  'the original Worker class, reached through the prototype chain or constructor': 'worker',
  'two children after the parent cleaned its environment': 'notice',
  'NODE_OPTIONS with the guard inside a quoted --title': 'guarded',
  'NODE_OPTIONS with the guard inside an escaped quote': 'guarded',
  'worker execArgv --require of a tampered plugin': { refused: 'ERR_TRUSTLOAD_SIGNATURE' },
  'worker env NODE_OPTIONS --require of a tampered plugin': { refused: 'ERR_TRUSTLOAD_SIGNATURE' },
  'child -r of a tampered plugin': { refused: 'ERR_TRUSTLOAD_SIGNATURE' },
  'child --require= of a tampered plugin after --title': { refused: 'ERR_TRUSTLOAD_SIGNATURE' },
  'fork with execArgv -r of a tampered plugin': { refused: 'ERR_TRUSTLOAD_SIGNATURE' },
  'spawn of node by name through PATH, -r of a tampered plugin': { refused: 'ERR_TRUSTLOAD_SIGNATURE' },
  'worker with SHARE_ENV after NODE_OPTIONS became a --require of a tampered plugin': { refused: 'ERR_TRUSTLOAD_UNSUPPORTED_LOAD' },
  'NODE_OPTIONS became an --import of a tampered plugin, then spawn': 'refusedInChild',
  'spawn of node under another name through PATH (a link), -r of a tampered plugin': { refused: 'ERR_TRUSTLOAD_SIGNATURE' },
  'spawn of node through a link with another name, -r of a tampered plugin': { refused: 'ERR_TRUSTLOAD_SIGNATURE' },
  'child NODE_OPTIONS --require of a tampered plugin': { refused: 'ERR_TRUSTLOAD_SIGNATURE' },
  'child --experimental-loader of a tampered plugin': { refused: 'ERR_TRUSTLOAD_SIGNATURE' },
  'child REPL with NODE_REPL_EXTERNAL_MODULE naming a tampered plugin': { refused: 'ERR_TRUSTLOAD_SIGNATURE' },
  'child --env-file setting NODE_REPL_EXTERNAL_MODULE': { refused: 'ERR_TRUSTLOAD_SIGNATURE' },
  'child --experimental-config-file requiring a tampered plugin': { refused: 'ERR_TRUSTLOAD_NO_BUNDLE' },
  'child --snapshot-blob in a protected folder, unsigned': { refused: 'ERR_TRUSTLOAD_NO_BUNDLE' },
  'child --snapshot-blob outside every rule': { refused: 'ERR_TRUSTLOAD_UNMATCHED' },
  'child --build-snapshot': { refused: 'ERR_TRUSTLOAD_UNSUPPORTED_LOAD' },
  // A protected preload is refused even when it verifies: the child would read it again, unchecked.
  'child -r of a signed plugin': { refused: 'ERR_TRUSTLOAD_UNSUPPORTED_LOAD' },
  // The child would run without the guard: refused in enforce mode, verified or not.
  'child --snapshot-blob of a signed blob': { refused: 'ERR_TRUSTLOAD_UNSUPPORTED_LOAD' },
  'a shell script child (not Node) sees the pinned variables': 'shell',
};

const results = [];
t.before(async () => {
  // The blobs are built unguarded, before any case runs.
  for (const blob of ['plugins/app.blob', 'app.blob', 'plugins/signed.blob']) {
    const r = await runNode(app.dir, ['--snapshot-blob', blob, '--build-snapshot', 'snapshot.cjs'], { guard: false });
    if (r.code !== 0) throw new Error(`building ${blob} failed: ${r.stderr}`);
  }
  app.sign('plugins/signed.blob');
  const env = { OTHER_SHA256, REGISTER_PATH: REGISTER };
  results.push(...(await pool(Object.keys(EXPECT), 4, (how) => runNode(app.dir, ['parent.mjs', how], { env, timeout: 40_000 }))));
});

// Under unmatched: deny, a file no rule covers may not run before the guard either.
const denyApp = makeApp(t, {
  files: { 'parent.mjs': PARENT, 'child.mjs': CHILD, 'extra/preload.cjs': "console.log('TAMPERED:UNLISTED');\n", 'plugins/bad.mjs': "console.log('BAD:SIGNED');\n" },
  rules: [PLUGINS_RULE, { name: 'app', files: ['parent.mjs', 'child.mjs'], signers: ['offline'] }],
  unmatched: 'deny',
  sign: ['parent.mjs', 'child.mjs', 'plugins/bad.mjs'],
});
denyApp.tamper('plugins/bad.mjs');
t.test('child -r of a file no rule covers, under unmatched: deny', async (t) => {
  const r = await runNode(denyApp.dir, ['parent.mjs', 'child -r of a file no rule covers, under unmatched: deny'], { env: { OTHER_SHA256, REGISTER_PATH: REGISTER } });
  t.equal(r.code, 0, `the parent exits 0\n${r.stderr}`);
  t.match(r.stdout, /^RESULT \{"threw":"ERR_TRUSTLOAD_UNMATCHED"\}$/m, `starting the child threw ERR_TRUSTLOAD_UNMATCHED:\n${r.stdout}`);
  t.match(r.stderr, new RegExp(`^trustload: ERR_TRUSTLOAD_UNMATCHED: ${denyApp.path('extra/preload.cjs')}: `, 'm'), 'naming the file');
  t.notOk(ranTampered(r.stdout), 'it never ran');
});

t.test('in permissive mode a tampered preload warns and the child starts', async (t) => {
  const r = await runNode(app.dir, ['parent.mjs', 'child -r of a tampered plugin'], { env: { OTHER_SHA256, REGISTER_PATH: REGISTER, TRUSTLOAD_MODE: 'permissive' } });
  t.equal(r.code, 0, `the parent exits 0\n${r.stderr}`);
  t.match(r.stderr, new RegExp(`^trustload: WARNING: ERR_TRUSTLOAD_SIGNATURE: ${app.path('plugins/tampered.cjs')}: `, 'm'), `the parent warned:\n${r.stderr}`);
  t.match(r.stdout, /^RESULT \{"code":0,/m, 'the child started and ran');
});

t.test('in permissive mode a signed snapshot starts, with a warning', async (t) => {
  const r = await runNode(app.dir, ['parent.mjs', 'child --snapshot-blob of a signed blob'], { env: { OTHER_SHA256, REGISTER_PATH: REGISTER, TRUSTLOAD_MODE: 'permissive' } });
  t.match(r.stderr, /^trustload: WARNING: ERR_TRUSTLOAD_UNSUPPORTED_LOAD: .*instead of the guard/m, `the parent warned:\n${r.stderr}`);
  t.match(r.stdout, /SNAPSHOT:SIGNED/, 'the child started from the snapshot');
});

t.test("process.binding of anything but the process starters still works", async (t) => {
  const r = await runNode(app.dir, ['--input-type=module', '-e', "console.log(typeof process.binding('fs').open, typeof process.binding('constants').os)"]);
  t.equal(r.code, 0, r.stderr);
  t.equal(r.stdout, 'function object\n');
});

Object.entries(EXPECT).forEach(([how, expect], i) => {
  t.test(how, async (t) => {
    t.ok(typeof expect === 'string' || typeof expect.refused === 'string', 'the case says what it expects');
    const r = results[i];
    t.notOk(r.timedOut, 'the parent finished in time');
    if (expect === 'execve') {
      // The parent became the child: its output is the child's.
      t.match(r.stdout, /CHILD_REFUSED ERR_TRUSTLOAD_SIGNATURE/, `the replacement process refused the tampered plugin:\n${r.stdout}\n${r.stderr}`);
      t.notOk(ranTampered(r.stdout), 'the tampered plugin never ran');
      return;
    }
    t.equal(r.code, 0, `the parent exits 0\n${r.stderr}`);
    const line = r.stdout.split('\n').find((l) => l.startsWith('RESULT '));
    t.ok(line, `the parent reported:\n${r.stdout}\n${r.stderr}`);
    const child = line ? JSON.parse(line.slice('RESULT '.length)) : {};
    const out = `${child.stdout ?? ''}${child.stderr ?? ''}`;
    if (typeof expect === 'object') {
      t.equal(child.threw, expect.refused, `starting it threw ${expect.refused}: ${JSON.stringify(child)}`);
      t.notOk(ranTampered(r.stdout + out), 'nothing tampered ran');
      if (expect.refused !== 'ERR_TRUSTLOAD_UNSUPPORTED_LOAD' || how.startsWith('child')) {
        t.match(r.stderr, new RegExp(`^trustload: ${expect.refused}: `, 'm'), `the parent said why:\n${r.stderr}`);
      }
      return;
    }
    if (expect === 'refusedInChild') {
      // An --import after the guard's: the child's own guard refuses it before the child's code runs.
      t.not(child.code, 0, 'the child does not start');
      t.match(child.stderr, /^trustload: ERR_TRUSTLOAD_SIGNATURE: /m, `the child's guard refused it:\n${out}`);
      t.notOk(ranTampered(out), 'the tampered plugin never ran');
    }
    if (expect === 'guarded' || expect === 'notice') {
      t.match(child.stdout, /CHILD_REFUSED ERR_TRUSTLOAD_SIGNATURE/, `the child ran under the pinned policy and refused the tampered plugin:\n${out}`);
      t.notOk(ranTampered(out), 'the tampered plugin never ran');
    }
    if (expect === 'notice') {
      t.equal(child.stdout.match(/CHILD_REFUSED/g)?.length, 2, 'both children refused it');
      const notices = r.stderr.split('\n').filter((l) => l.startsWith('trustload: '));
      t.equal(notices.length, 1, `one line on the parent stderr:\n${r.stderr}`);
      t.match(notices[0] ?? '', /pinned policy/, 'saying that children keep the pinned policy');
      t.ok((notices[0] ?? '').includes(app.policyPath), 'naming it');
    }
    if (expect === 'worker') {
      t.match(child.stderr, /ERR_TRUSTLOAD_SIGNATURE/, `the worker refused the tampered plugin: ${JSON.stringify(child)}`);
      t.notOk(ranTampered(child.stdout), 'the tampered plugin never ran');
    }
    if (expect === 'shell') {
      t.match(child.stdout, new RegExp(`^POLICY=${app.policyPath}$`, 'm'), `the pinned policy:\n${child.stdout}`);
      t.ok(child.stdout.split('\n').find((l) => l.startsWith('OPTIONS='))?.startsWith(`OPTIONS=--import "${REGISTER}"`), 'the guard first in NODE_OPTIONS');
      t.match(child.stdout, /^CACHE=1$/m, 'the compile cache disabled');
    }
  });
});
