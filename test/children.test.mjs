// Children and workers run the same pinned policy as their guarded parent:
// fork, spawn, exec (and friends) of `node child.mjs` from another working
// directory, with an emptied env or execArgv, still load the signed plugin
// and refuse the tampered one; a Worker with execArgv: [] or env: {} too; an
// eval Worker is refused in enforce mode.
import t from 'tap';
import { assertRefusalLine, makeApp, pool, runNode } from './helpers/app.mjs';

// The parent: `node parent.mjs HOW PLUGIN` starts one child or worker that
// loads PLUGIN (an absolute path) and prints `RESULT {json}` with what it saw.
const PARENT = `
import { exec, execFile, execFileSync, fork, spawn, spawnSync } from 'node:child_process';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Worker } from 'node:worker_threads';

const [how, plugin] = process.argv.slice(2);
const child = join(import.meta.dirname, 'child.mjs');
const worker = join(import.meta.dirname, 'worker.mjs');
const elsewhere = tmpdir();
const node = process.execPath;
const TIMEOUT = 15000;

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
const viaCallback = (run) =>
  new Promise((resolve) => run((err, stdout, stderr) => resolve({ code: err ? err.code ?? -1 : 0, stdout, stderr })));
const fromSync = (r) => ({ code: r.status, stdout: String(r.stdout), stderr: String(r.stderr) });

function runWorker(options) {
  return new Promise((resolve) => {
    let w;
    try {
      w = new Worker(worker, { workerData: plugin, stdout: true, stderr: true, ...options });
    } catch (err) {
      resolve({ threw: err.code ?? err.message });
      return;
    }
    let stdout = '';
    const messages = [];
    const errors = [];
    w.stdout.setEncoding('utf8').on('data', (d) => (stdout += d));
    w.stderr.resume();
    w.on('message', (m) => messages.push(m));
    w.on('error', (err) => errors.push({ code: err.code, message: String(err.message).split('\\n')[0] }));
    const timer = setTimeout(() => w.terminate(), TIMEOUT);
    w.on('exit', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, messages, errors });
    });
  });
}

const stdio = ['ignore', 'pipe', 'pipe'];
const cases = {
  'fork': () => collect(fork(child, [plugin], { cwd: elsewhere, stdio: [...stdio, 'ipc'] })),
  'fork with execArgv: []': () => collect(fork(child, [plugin], { cwd: elsewhere, execArgv: [], stdio: [...stdio, 'ipc'] })),
  'fork with env: {}': () => collect(fork(child, [plugin], { cwd: elsewhere, env: {}, stdio: [...stdio, 'ipc'] })),
  'spawn': () => collect(spawn(node, [child, plugin], { cwd: elsewhere, stdio })),
  'spawn with env: {}': () => collect(spawn(node, [child, plugin], { cwd: elsewhere, env: {}, stdio })),
  'spawn with env: { PATH }': () => collect(spawn(node, [child, plugin], { cwd: elsewhere, env: { PATH: process.env.PATH }, stdio })),
  'spawn with env naming no policy and no NODE_OPTIONS': () =>
    collect(spawn(node, [child, plugin], { cwd: elsewhere, env: { ...process.env, NODE_OPTIONS: '', TRUSTLOAD_POLICY: '', TRUSTLOAD_POLICY_SHA256: '' }, stdio })),
  'spawn with env naming another policy': () =>
    collect(spawn(node, [child, plugin], { cwd: elsewhere, env: { PATH: process.env.PATH, TRUSTLOAD_POLICY: join(import.meta.dirname, 'other.policy.json') }, stdio })),
  'exec': () => viaCallback((cb) => exec(JSON.stringify(node) + ' ' + JSON.stringify(child) + ' ' + JSON.stringify(plugin), { cwd: elsewhere, timeout: TIMEOUT }, cb)),
  'exec with env: { PATH }': () =>
    viaCallback((cb) => exec(JSON.stringify(node) + ' ' + JSON.stringify(child) + ' ' + JSON.stringify(plugin), { cwd: elsewhere, env: { PATH: process.env.PATH }, timeout: TIMEOUT }, cb)),
  'execFile with env: {}': () => viaCallback((cb) => execFile(node, [child, plugin], { cwd: elsewhere, env: {}, timeout: TIMEOUT }, cb)),
  'spawnSync with env: {}': async () => fromSync(spawnSync(node, [child, plugin], { cwd: elsewhere, env: {}, timeout: TIMEOUT })),
  'execFileSync with env: {}': async () => {
    try {
      return { code: 0, stdout: execFileSync(node, [child, plugin], { cwd: elsewhere, env: {}, timeout: TIMEOUT, stdio: 'pipe' }).toString(), stderr: '' };
    } catch (err) {
      return { code: err.status, stdout: String(err.stdout), stderr: String(err.stderr) };
    }
  },
  'spawn through require() in CommonJS': () => {
    const cp = createRequire(import.meta.url)('child_process');
    return collect(cp.spawn(node, [child, plugin], { cwd: elsewhere, env: {}, stdio }));
  },
  'worker': () => runWorker({}),
  'worker with execArgv: []': () => runWorker({ execArgv: [] }),
  'worker with env: {}': () => runWorker({ env: {} }),
  'worker with execArgv: [] and env: {}': () => runWorker({ execArgv: [], env: {} }),
  'eval worker': () => runWorker({ eval: true }),
};
report(await cases[how]());
`;

// The child: loads the plugin named on its command line; prints what happened.
const CHILD = `
import { pathToFileURL } from 'node:url';
console.log('CHILD_CWD ' + process.cwd());
try {
  await import(pathToFileURL(process.argv[2]).href);
  console.log('CHILD_LOADED');
} catch (err) {
  console.log('CHILD_REFUSED ' + err.code);
  process.exitCode = 3;
}
`;

// The worker: loads the plugin named by workerData; a refusal is left uncaught (an 'error' event).
const WORKER = `
import { parentPort, workerData } from 'node:worker_threads';
import { pathToFileURL } from 'node:url';
await import(pathToFileURL(workerData).href);
parentPort.postMessage('WORKER_LOADED');
`;

const app = makeApp(t, {
  files: {
    'parent.mjs': PARENT,
    'child.mjs': CHILD,
    'worker.mjs': WORKER,
    'plugins/good.mjs': "console.log('GOOD:SIGNED');\n",
    'plugins/bad.mjs': "console.log('BAD:SIGNED');\n",
    // A policy that protects nothing: a child must never be able to switch to it.
    'other.policy.json': JSON.stringify({ version: 1, signers: {}, rules: [], unmatched: 'allow' }),
  },
  sign: ['plugins/good.mjs', 'plugins/bad.mjs'],
});
app.tamper('plugins/bad.mjs');
const GOOD = app.path('plugins/good.mjs');
const BAD = app.path('plugins/bad.mjs');

const CHILD_WAYS = [
  'fork',
  'fork with execArgv: []',
  'fork with env: {}',
  'spawn',
  'spawn with env: {}',
  'spawn with env: { PATH }',
  'spawn with env naming no policy and no NODE_OPTIONS',
  'spawn with env naming another policy',
  'exec',
  'exec with env: { PATH }',
  'execFile with env: {}',
  'spawnSync with env: {}',
  'execFileSync with env: {}',
  'spawn through require() in CommonJS',
];
const WORKER_WAYS = ['worker', 'worker with execArgv: []', 'worker with env: {}', 'worker with execArgv: [] and env: {}'];

const runs = [
  ...CHILD_WAYS.flatMap((how) => [
    { how, plugin: GOOD, kind: 'child' },
    { how, plugin: BAD, kind: 'child' },
  ]),
  ...WORKER_WAYS.flatMap((how) => [
    { how, plugin: GOOD, kind: 'worker' },
    { how, plugin: BAD, kind: 'worker' },
  ]),
  { how: 'eval worker', plugin: GOOD, kind: 'eval' },
];

const results = [];
t.before(async () => {
  results.push(...(await pool(runs, 4, (r) => runNode(app.dir, ['parent.mjs', r.how, r.plugin], { timeout: 30_000 }))));
});

/** The RESULT line the parent printed. */
function parentResult(t, r) {
  t.notOk(r.timedOut, 'the parent finished in time');
  t.equal(r.code, 0, `the parent exits 0\n${r.stderr}`);
  const line = r.stdout.split('\n').find((l) => l.startsWith('RESULT '));
  t.ok(line, `the parent reported:\n${r.stdout}`);
  return line ? JSON.parse(line.slice('RESULT '.length)) : {};
}

runs.forEach((run, i) => {
  const good = run.plugin === GOOD;
  const label = run.kind === 'eval' ? 'a Worker with eval: true is refused in enforce mode' : `${run.how}: ${good ? 'a signed plugin loads' : 'a tampered plugin is refused'}`;
  t.test(label, async (t) => {
    const r = results[i];
    const child = parentResult(t, r);
    if (run.kind === 'eval') {
      t.equal(child.threw, 'ERR_TRUSTLOAD_UNSUPPORTED_LOAD', 'the Worker constructor throws ERR_TRUSTLOAD_UNSUPPORTED_LOAD');
      return;
    }
    if (run.kind === 'child') {
      t.match(child.stdout, /^CHILD_CWD \S/m, 'the child ran');
      t.notOk(child.stdout.includes(`CHILD_CWD ${app.dir}\n`), 'in another working directory');
      if (good) {
        t.equal(child.code, 0, `the child exits 0\n${child.stderr}`);
        t.ok(child.stdout.includes('GOOD:SIGNED'), 'the signed plugin ran');
        t.ok(child.stdout.includes('CHILD_LOADED'), 'the child loaded it');
        t.equal(child.stderr, '', 'nothing on the child stderr');
      } else {
        t.not(child.code, 0, 'the child exits non-zero');
        t.ok(child.stdout.includes('CHILD_REFUSED ERR_TRUSTLOAD_SIGNATURE'), `the child was refused:\n${child.stdout}\n${child.stderr}`);
        t.notOk(child.stdout.includes('BAD:'), 'the tampered plugin never ran');
        assertRefusalLine(t, { firstLine: child.stderr.split('\n')[0], stderr: child.stderr }, 'ERR_TRUSTLOAD_SIGNATURE', { path: BAD, rule: 'plugins' });
      }
      return;
    }
    // A worker
    if (good) {
      t.same(child.errors, [], 'no error in the worker');
      t.same(child.messages, ['WORKER_LOADED'], 'the worker loaded the plugin');
      t.ok(child.stdout.includes('GOOD:SIGNED'), 'the signed plugin ran');
    } else {
      t.same(child.messages, [], 'the worker never got past the import');
      t.equal(child.errors[0]?.code, 'ERR_TRUSTLOAD_SIGNATURE', `the worker failed with ERR_TRUSTLOAD_SIGNATURE: ${JSON.stringify(child.errors)}`);
      t.notOk(child.stdout.includes('BAD:'), 'the tampered plugin never ran');
    }
  });
});

t.test('in permissive mode an eval Worker runs (with the parent guarded)', async (t) => {
  const permissive = makeApp(t, {
    files: {
      'main.mjs': `import { Worker } from 'node:worker_threads';
const w = new Worker("require('node:worker_threads').parentPort.postMessage('EVAL_RAN')", { eval: true });
w.on('message', (m) => { console.log(m); w.terminate(); });
w.on('error', (e) => { console.log('EVAL_ERROR ' + e.code); });
`,
    },
  });
  const r = await runNode(permissive.dir, ['main.mjs'], { env: { TRUSTLOAD_MODE: 'permissive' }, timeout: 20_000 });
  t.equal(r.code, 0, `exits 0\n${r.stderr}`);
  t.ok(r.stdout.includes('EVAL_RAN'), 'the eval worker ran');
});
