// Issue 7, second review: ways a guarded parent still started a child or
// worker that ran an unverified file before its guard, or under another
// policy. Each case is a red-team reproducer (or a variant of it) run as a real
// guarded parent starting a real child or worker. Tampered or unsigned files
// print TAMPERED:, harmless unprotected ones HARMLESS:.
import { spawnSync } from 'node:child_process';
import { mkdirSync, readFileSync } from 'node:fs';
import { pathToFileURL } from 'node:url';
import t from 'tap';
import { makeApp, pool, REGISTER, runNode, sha256Hex } from './helpers/app.mjs';

// `node parent.mjs HOW` starts one child or worker and prints `RESULT {json}`: the child's
// { code, stdout, stderr }, or { threw } with the error code when starting it threw.
const PARENT = `
import { fork, spawn, spawnSync } from 'node:child_process';
import diagnostics from 'node:diagnostics_channel';
import { rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { SHARE_ENV, Worker } from 'node:worker_threads';

const [how] = process.argv.slice(2);
const here = import.meta.dirname;
const at = (rel) => join(here, rel);
const node = process.execPath;
const child = at('child.mjs');
const BAD = at('plugins/bad.mjs');
const TIMEOUT = 15000;
const stdio = ['ignore', 'pipe', 'pipe'];
const OTHER_PIN = process.env.OTHER_PIN_URL;

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
function runWorker(options) {
  return new Promise((resolve) => {
    const w = new Worker(at('worker.cjs'), { stdout: true, stderr: true, ...options });
    let stdout = '';
    const errors = [];
    w.stdout.setEncoding('utf8').on('data', (d) => (stdout += d));
    w.stderr.resume();
    w.on('error', (err) => errors.push(err.code ?? String(err.message)));
    w.on('exit', (code) => resolve({ code, stdout, stderr: errors.join(' ') }));
  });
}
// Moves the working folder into plugins/ (where x.cjs is tampered) the first time it runs.
let moved = false;
function moveIntoPlugins() {
  if (moved) return;
  moved = true;
  process.chdir(at('plugins'));
}
function moveOnDecisionAboutX() {
  diagnostics.subscribe('trustload:decision', (d) => {
    if (d.path === at('x.cjs')) moveIntoPlugins();
  });
}
// Once the guard has judged \`judged\`, turns \`swapped\` into a link to the tampered plugin.
function swapOnDecision(judged, swapped = judged) {
  diagnostics.subscribe('trustload:decision', (d) => {
    if (d.path !== at(judged) || swapped === undefined) return;
    rmSync(at(swapped));
    symlinkSync(at('plugins/tampered.cjs'), at(swapped));
    swapped = undefined;
  });
}
function realEnvWithPreload() {
  const real = process.env;
  const pinned = real.NODE_OPTIONS;
  return { real, pinned, tampered: pinned + ' --require ./plugins/tampered.cjs' };
}

const cases = {
  'a child --import of the guard pinned to another policy': () => collect(spawn(node, ['--import', OTHER_PIN, child, BAD], { stdio })),
  'a child --import= of the guard pinned to another policy, through fork': () =>
    collect(fork(child, [BAD], { execArgv: ['--import=' + OTHER_PIN], stdio: [...stdio, 'ipc'] })),
  'a worker --import of the guard pinned to another policy': () => runWorker({ execArgv: ['--import', OTHER_PIN] }),
  'a SHARE_ENV worker, NODE_OPTIONS changed by an Object.prototype.argv getter': () => {
    const { real, pinned, tampered } = realEnvWithPreload();
    Object.defineProperty(Object.prototype, 'argv', { configurable: true, get() { delete Object.prototype.argv; real.NODE_OPTIONS = tampered; return undefined; } });
    const w = runWorker({ env: SHARE_ENV });
    real.NODE_OPTIONS = pinned;
    return w;
  },
  'a SHARE_ENV worker, process.env replaced by a plain object': () => {
    const { real, pinned, tampered } = realEnvWithPreload();
    real.NODE_OPTIONS = tampered;
    process.env = { ...real, NODE_OPTIONS: pinned };
    return runWorker({ env: SHARE_ENV });
  },
  'spawnSync, an Object.prototype.uid getter moves the working folder': () => {
    Object.defineProperty(Object.prototype, 'uid', { configurable: true, get() { if (new Error().stack.includes('guardedSpawnSync')) moveIntoPlugins(); return undefined; } });
    return fromSync(spawnSync(node, ['-r', './x.cjs', child, BAD], { timeout: TIMEOUT }));
  },
  'spawnSync, an Object.prototype getter on a stdio field moves the working folder': () => {
    // spawnSync's native side reads \`input\` of each pipe it is given, after the guard's check.
    Object.defineProperty(Object.prototype, 'input', { configurable: true, get() { if (new Error().stack.includes('guardedSpawnSync')) moveIntoPlugins(); return undefined; } });
    const r = spawnSync(node, ['-r', './x.cjs', child, BAD], { timeout: TIMEOUT });
    delete Object.prototype.input;
    return fromSync(r);
  },
  'spawn, a decision subscriber moves the working folder': () => {
    moveOnDecisionAboutX();
    return collect(spawn(node, ['-r', './x.cjs', child, BAD], { stdio }));
  },
  'fork with execArgv -r, a decision subscriber moves the working folder': () => {
    moveOnDecisionAboutX();
    return collect(fork(child, [BAD], { execArgv: ['-r', './x.cjs'], stdio: [...stdio, 'ipc'] }));
  },
  'spawnSync with a relative cwd, a decision subscriber moves the working folder': () => {
    moveOnDecisionAboutX();
    return fromSync(spawnSync(node, ['-r', './x.cjs', child, BAD], { cwd: '.', timeout: TIMEOUT }));
  },
  'a worker -r, the working folder moved right after new Worker': () => {
    const w = runWorker({ execArgv: ['-r', './x.cjs'] });
    moveIntoPlugins();
    return w;
  },
  'a worker NODE_OPTIONS -r, the working folder moved right after new Worker': () => {
    const w = runWorker({ env: { ...process.env, NODE_OPTIONS: '-r ./x.cjs' } });
    moveIntoPlugins();
    return w;
  },
  // cpkg exports ./lib/evil.cjs under the "evil" condition, and lib/ links into plugins/.
  'child -r of a package, resolved by the child under other export conditions': () => collect(spawn(node, ['--conditions=evil', '-r', 'cpkg', child, BAD], { stdio })),
  'child -p -r of a tampered plugin': () => collect(spawn(node, ['-p', '-r', './plugins/tampered.cjs'], { stdio })),
  'child --print -r of a tampered plugin': () => collect(spawn(node, ['--print', '-r', './plugins/tampered.cjs'], { stdio })),
  'child --test-reporter of an unsigned plugin': () => collect(spawn(node, ['--test', '--test-reporter=./plugins/rep.mjs', 'a.test.mjs'], { stdio })),
  'child --test-reporter (two words) of an unsigned plugin': () => collect(spawn(node, ['--test', '--test-reporter', './plugins/rep.mjs', 'a.test.mjs'], { stdio })),
  'child --test-global-setup of an unsigned plugin': () => collect(spawn(node, ['--test', '--test-global-setup=./plugins/setup.mjs', 'a.test.mjs'], { stdio })),
  'child NODE_OPTIONS --test-reporter of an unsigned plugin': () =>
    collect(spawn(node, ['--test', 'a.test.mjs'], { env: { ...process.env, NODE_OPTIONS: '--test-reporter=./plugins/rep.mjs' }, stdio })),
  'child config file whose test namespace names an unsigned reporter': () =>
    collect(spawn(node, ['--no-warnings', '--experimental-config-file=test-reporter.config.json', '--test', 'a.test.mjs'], { stdio })),
  'child --test with a built-in reporter': () => collect(spawn(node, ['--test', '--test-reporter=dot', 'a.test.mjs'], { stdio })),
  'child --inspect': () => collect(spawn(node, ['--inspect=127.0.0.1:0', child, BAD], { stdio })),
  'child NODE_OPTIONS --inspect-brk': () => collect(spawn(node, [child, BAD], { env: { ...process.env, NODE_OPTIONS: '--inspect-brk=127.0.0.1:0' }, stdio })),
  'child --openssl-config': () => collect(spawn(node, ['--openssl-config=' + at('openssl.cnf'), child, BAD], { stdio })),
  'child --experimental-sea-config': () => collect(spawn(node, ['--experimental-sea-config', at('sea.json')], { stdio })),
  'child env LD_PRELOAD': () => collect(spawn(node, [child, BAD], { env: { ...process.env, LD_PRELOAD: at('plugins/lib.so') }, stdio })),
  'child --env-file setting LD_PRELOAD, which a Node it starts would inherit': () => collect(spawn(node, ['--env-file=preload.env', child, BAD], { stdio })),
  'child env OPENSSL_CONF': () => collect(spawn(node, [child, BAD], { env: { ...process.env, OPENSSL_CONF: at('openssl.cnf') }, stdio })),
  // The parent runs with NODE_PATH=lib, where it finds y.js; the child's NODE_PATH names plugins/.
  'child env NODE_PATH': () => collect(spawn(node, ['-r', 'y', child, BAD], { env: { ...process.env, NODE_PATH: at('plugins') }, stdio })),
  'child -r of a signed plugin, overwritten right after the spawn': () => {
    const started = collect(spawn(node, ['-r', './plugins/signed.cjs', child, BAD], { stdio }));
    writeFileSync(at('plugins/signed.cjs'), "console.log('TAMPERED:after the spawn');\\n");
    return started;
  },
  'child --import of a signed plugin, overwritten right after the spawn': () => {
    const started = collect(spawn(node, ['--import', './plugins/signed-import.mjs', child, BAD], { stdio }));
    writeFileSync(at('plugins/signed-import.mjs'), "console.log('TAMPERED:after the spawn');\\n");
    return started;
  },
  'child --import of a signed plugin': () => collect(spawn(node, ['--import', './plugins/signed-ok.cjs', child, BAD], { stdio })),
  'child --snapshot-blob of a signed blob': () => collect(spawn(node, ['--snapshot-blob', 'plugins/signed.blob'], { stdio })),
  'spawnSync -r of an unprotected file, a decision subscriber swaps it for a link to a tampered plugin': () => {
    swapOnDecision('lib/swap-spawn.cjs');
    return fromSync(spawnSync(node, ['-r', './lib/swap-spawn.cjs', child, BAD], { timeout: TIMEOUT }));
  },
  'a worker -r of an unprotected file, a decision subscriber swaps it for a link to a tampered plugin': () => {
    swapOnDecision('lib/swap-worker.cjs');
    return runWorker({ execArgv: ['-r', './lib/swap-worker.cjs'] });
  },
  'child config file, a decision subscriber rewrites it in place to preload a tampered plugin': () => {
    diagnostics.subscribe('trustload:decision', (d) => {
      if (d.path === at('x.cjs')) writeFileSync(at('lib/swap.config.json'), JSON.stringify({ nodeOptions: { require: './plugins/tampered.cjs' } }));
    });
    return collect(spawn(node, ['--no-warnings', '--experimental-config-file=lib/swap.config.json', '-r', './x.cjs', child, BAD], { stdio }));
  },
  // Without =, Node 24+ reads node.config.json, then -r; Node 22 reads a config file named "-r" (which is missing).
  'child --experimental-config-file without a value, then -r of a tampered plugin': () =>
    collect(spawn(node, ['--no-warnings', '--experimental-config-file', '-r', './plugins/tampered.cjs', child, BAD], { stdio })),
  // Node reads a config file named anywhere on the command line, even among the script's arguments.
  'child config file named after the script, preloading a tampered plugin': () =>
    collect(spawn(node, ['--no-warnings', child, BAD, '--', '--experimental-config-file=preload.config.json'], { stdio })),
  'child --report-dir with a separate value, then -r of a tampered plugin': () => collect(spawn(node, ['--report-dir', 'lib', '-r', './plugins/tampered.cjs', child, BAD], { stdio })),
  'child --test-isolation with a separate value, then -r of a tampered plugin': () =>
    collect(spawn(node, ['--test-isolation', 'none', '-r', './plugins/tampered.cjs', child, BAD], { stdio })),
};

try {
  report(await cases[how]());
} catch (err) {
  report({ threw: err.code ?? err.message });
}
`;

// Every option Node knows (NAMES), then \`-r\` of a tampered plugin, and for each option that takes a
// value (VALUED), the same with a value between: starting it either throws (the guard saw the preload)
// or Node does not preload it. Prints \`RAN args\` for each child that preloaded it, \`MISSED args\` for each
// start the guard let through while Node would preload.
const OPTIONS = `
import { spawn } from 'node:child_process';
const names = JSON.parse(process.env.NAMES);
const valued = new Set(JSON.parse(process.env.VALUED));
const preload = ['-r', './plugins/tampered.cjs', '-e', '0'];
const queue = names.flatMap((name) => [[name, ...preload], ...(valued.has(name) ? [[name, 'lib', ...preload]] : [])]);
async function one(args) {
  let cp;
  try {
    cp = spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'ignore'] });
  } catch {
    return;
  }
  if (args[1] === 'lib') console.log('MISSED ' + args.join(' '));
  let out = '';
  cp.stdout.setEncoding('utf8').on('data', (d) => (out += d));
  const timer = setTimeout(() => cp.kill('SIGKILL'), 5000);
  await new Promise((resolve) => cp.on('close', resolve));
  clearTimeout(timer);
  if (out.includes('TAMPERED:')) console.log('RAN ' + args.join(' '));
}
await Promise.all([0, 1, 2, 3].map(async () => { while (queue.length > 0) await one(queue.shift()); }));
console.log('DONE ' + queue.length + ' ' + names.length);
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
const SNAPSHOT = "require('v8').startupSnapshot.setDeserializeMainFunction(() => console.log('SNAPSHOT:SIGNED'));\n";

const app = makeApp(t, {
  files: {
    'parent.mjs': PARENT,
    'options.mjs': OPTIONS,
    'child.mjs': CHILD,
    'worker.cjs': "console.log('WORKER_RAN');\n",
    'x.cjs': "console.log('HARMLESS:x');\n",
    'node_modules/x/index.js': "console.log('HARMLESS:x package');\n",
    'a.test.mjs': "import test from 'node:test';\ntest('passes', () => {});\n",
    'test-reporter.config.json': JSON.stringify({ test: { 'test-reporter': './plugins/rep.mjs' } }),
    'preload.env': 'LD_PRELOAD=./plugins/lib.so\n',
    'node.config.json': '{}\n',
    'preload.config.json': JSON.stringify({ nodeOptions: { require: './plugins/tampered.cjs' } }),
    'lib/swap-spawn.cjs': "console.log('HARMLESS:swap');\n",
    'lib/swap-worker.cjs': "console.log('HARMLESS:swap');\n",
    'lib/swap.config.json': '{}\n',
    'openssl.cnf': 'openssl_conf = openssl_init\n[openssl_init]\n',
    'sea.json': JSON.stringify({ main: 'x.cjs', output: 'sea.blob' }),
    'snapshot.cjs': SNAPSHOT,
    'plugins/bad.mjs': "console.log('BAD:SIGNED');\n",
    'plugins/x.cjs': "console.log('TAMPERED:plugins/x.cjs');\n",
    'plugins/x/index.js': "console.log('TAMPERED:plugins/x package');\n",
    'plugins/tampered.cjs': "console.log('TAMPERED:SIGNED');\n",
    'plugins/signed.cjs': "console.log('PRELOAD:OK');\n",
    'plugins/signed-import.mjs': "console.log('PRELOAD:OK');\n",
    'plugins/signed-ok.cjs': "console.log('PRELOAD:OK');\n",
    'node_modules/cpkg/package.json': JSON.stringify({ name: 'cpkg', exports: { '.': { evil: './lib/evil.cjs', default: './index.cjs' } } }),
    'node_modules/cpkg/index.cjs': "console.log('HARMLESS:x');\n",
    'plugins/cpkg-lib/evil.cjs': "console.log('TAMPERED:an export condition');\n",
    'lib/y.js': "console.log('HARMLESS:y');\n",
    'plugins/y.js': "console.log('TAMPERED:plugins/y.js');\n",
    'plugins/rep.mjs': "console.log('TAMPERED:reporter');\nexport default async function* (source) { for await (const _ of source); }\n",
    'plugins/setup.mjs': "console.log('TAMPERED:global setup');\nexport function globalSetup() {}\n",
    'plugins/lib.so': 'not a library\n',
    // A policy that protects nothing: no child may switch to it.
    'other.policy.json': JSON.stringify({ version: 1, signers: {}, rules: [], unmatched: 'allow' }),
  },
  sign: ['plugins/bad.mjs', 'plugins/tampered.cjs', 'plugins/signed.cjs', 'plugins/signed-import.mjs', 'plugins/signed-ok.cjs'],
});
app.tamper('plugins/bad.mjs');
app.tamper('plugins/tampered.cjs');
app.symlink('../../plugins/cpkg-lib', 'node_modules/cpkg/lib');

const otherPin = (() => {
  const url = pathToFileURL(REGISTER);
  url.searchParams.set('pin', JSON.stringify({ policyFile: app.path('other.policy.json'), policySha256: sha256Hex(readFileSync(app.path('other.policy.json'))), mode: 'enforce' }));
  return url.href;
})();
const ENV = { OTHER_PIN_URL: otherPin, NODE_PATH: app.path('lib') };

/** Anything tampered or unsigned ran, or the child loaded the tampered plugin. */
const ranTampered = (out) => /BAD:|TAMPERED:|CHILD_LOADED|SNAPSHOT:/.test(out);

// `refused: CODE`: starting it threw CODE in the parent (which said why), and nothing tampered ran.
// `harmless`: the child ran the preload the parent judged (x.cjs), under the pinned policy.
// `guarded`: the child started and refused the tampered plugin.
const EXPECT = {
  'a child --import of the guard pinned to another policy': { refused: 'ERR_TRUSTLOAD_UNSUPPORTED_LOAD' },
  'a child --import= of the guard pinned to another policy, through fork': { refused: 'ERR_TRUSTLOAD_UNSUPPORTED_LOAD' },
  'a worker --import of the guard pinned to another policy': { refused: 'ERR_TRUSTLOAD_UNSUPPORTED_LOAD' },
  'a SHARE_ENV worker, NODE_OPTIONS changed by an Object.prototype.argv getter': { refused: 'ERR_TRUSTLOAD_UNSUPPORTED_LOAD' },
  'a SHARE_ENV worker, process.env replaced by a plain object': { refused: 'ERR_TRUSTLOAD_UNSUPPORTED_LOAD' },
  'spawnSync, an Object.prototype.uid getter moves the working folder': 'harmless',
  'spawnSync, an Object.prototype getter on a stdio field moves the working folder': 'harmless',
  'spawn, a decision subscriber moves the working folder': 'harmless',
  'fork with execArgv -r, a decision subscriber moves the working folder': 'harmless',
  'spawnSync with a relative cwd, a decision subscriber moves the working folder': 'harmless',
  'a worker -r, the working folder moved right after new Worker': 'harmlessWorker',
  'a worker NODE_OPTIONS -r, the working folder moved right after new Worker': 'harmlessWorker',
  'child -r of a package, resolved by the child under other export conditions': 'harmless',
  'child -p -r of a tampered plugin': { refused: 'ERR_TRUSTLOAD_SIGNATURE' },
  'child --print -r of a tampered plugin': { refused: 'ERR_TRUSTLOAD_SIGNATURE' },
  'child --test-reporter of an unsigned plugin': { refused: 'ERR_TRUSTLOAD_NO_BUNDLE' },
  'child --test-reporter (two words) of an unsigned plugin': { refused: 'ERR_TRUSTLOAD_NO_BUNDLE' },
  'child --test-global-setup of an unsigned plugin': { refused: 'ERR_TRUSTLOAD_NO_BUNDLE' },
  'child NODE_OPTIONS --test-reporter of an unsigned plugin': { refused: 'ERR_TRUSTLOAD_NO_BUNDLE' },
  'child config file whose test namespace names an unsigned reporter': { refused: 'ERR_TRUSTLOAD_NO_BUNDLE' },
  'child --test with a built-in reporter': 'tests',
  'child --inspect': { refused: 'ERR_TRUSTLOAD_UNSUPPORTED_LOAD' },
  'child NODE_OPTIONS --inspect-brk': { refused: 'ERR_TRUSTLOAD_UNSUPPORTED_LOAD' },
  'child --openssl-config': { refused: 'ERR_TRUSTLOAD_UNSUPPORTED_LOAD' },
  'child --experimental-sea-config': { refused: 'ERR_TRUSTLOAD_UNSUPPORTED_LOAD' },
  'child env LD_PRELOAD': { refused: 'ERR_TRUSTLOAD_UNSUPPORTED_LOAD' },
  'child --env-file setting LD_PRELOAD, which a Node it starts would inherit': { refused: 'ERR_TRUSTLOAD_UNSUPPORTED_LOAD' },
  'child env OPENSSL_CONF': { refused: 'ERR_TRUSTLOAD_UNSUPPORTED_LOAD' },
  'child env NODE_PATH': { refused: 'ERR_TRUSTLOAD_UNSUPPORTED_LOAD' },
  'child -r of a signed plugin, overwritten right after the spawn': { refused: 'ERR_TRUSTLOAD_UNSUPPORTED_LOAD', says: '--import' },
  'child --import of a signed plugin, overwritten right after the spawn': 'refusedInChild',
  'child --import of a signed plugin': 'preload',
  'child --snapshot-blob of a signed blob': { refused: 'ERR_TRUSTLOAD_UNSUPPORTED_LOAD' },
  'spawnSync -r of an unprotected file, a decision subscriber swaps it for a link to a tampered plugin': { refused: 'ERR_TRUSTLOAD_UNSUPPORTED_LOAD', says: 'changed after it was judged' },
  'a worker -r of an unprotected file, a decision subscriber swaps it for a link to a tampered plugin': { refused: 'ERR_TRUSTLOAD_UNSUPPORTED_LOAD', says: 'changed after it was judged' },
  'child config file, a decision subscriber rewrites it in place to preload a tampered plugin': { refused: 'ERR_TRUSTLOAD_UNSUPPORTED_LOAD', says: 'changed after it was judged' },
  'child --experimental-config-file without a value, then -r of a tampered plugin': { refused: 'ERR_TRUSTLOAD_(?:SIGNATURE|MISSING_FILE)' },
  'child config file named after the script, preloading a tampered plugin': { refused: 'ERR_TRUSTLOAD_SIGNATURE' },
  'child --report-dir with a separate value, then -r of a tampered plugin': { refused: 'ERR_TRUSTLOAD_SIGNATURE' },
  'child --test-isolation with a separate value, then -r of a tampered plugin': { refused: 'ERR_TRUSTLOAD_SIGNATURE' },
};

const results = [];
t.before(async () => {
  const r = await runNode(app.dir, ['--snapshot-blob', 'plugins/signed.blob', '--build-snapshot', 'snapshot.cjs'], { guard: false });
  if (r.code !== 0) throw new Error(`building the snapshot failed: ${r.stderr}`);
  app.sign('plugins/signed.blob');
  results.push(...(await pool(Object.keys(EXPECT), 4, (how) => runNode(app.dir, ['parent.mjs', how], { env: ENV, timeout: 40_000 }))));
});

Object.entries(EXPECT).forEach(([how, expect], i) => {
  t.test(how, async (t) => {
    const r = results[i];
    t.notOk(r.timedOut, 'the parent finished in time');
    t.equal(r.code, 0, `the parent exits 0\n${r.stderr}`);
    if (process.env.SHOW) console.error(how, r.stdout, r.stderr);
    const line = r.stdout.split('\n').find((l) => l.startsWith('RESULT '));
    t.ok(line, `the parent reported:\n${r.stdout}\n${r.stderr}`);
    const child = line ? JSON.parse(line.slice('RESULT '.length)) : {};
    const out = `${child.stdout ?? ''}${child.stderr ?? ''}`;
    t.notOk(ranTampered(r.stdout + out), `nothing tampered or unsigned ran:\n${r.stdout}\n${out}`);
    if (typeof expect === 'object') {
      t.match(child.threw, new RegExp(`^${expect.refused}$`), `starting it threw ${expect.refused}: ${JSON.stringify(child)}`);
      t.match(r.stderr, new RegExp(`^trustload: ${expect.refused}: `, 'm'), `the parent said why:\n${r.stderr}`);
      if (expect.says) t.ok(r.stderr.includes(expect.says), `it says ${expect.says}:\n${r.stderr}`);
      return;
    }
    if (expect === 'harmless') {
      t.match(child.stdout, /^HARMLESS:x$/m, `the child preloaded the x.cjs the parent judged:\n${out}`);
      t.match(child.stdout, /CHILD_REFUSED ERR_TRUSTLOAD_SIGNATURE/, 'and ran under the pinned policy');
    }
    if (expect === 'harmlessWorker') {
      t.match(child.stdout, /^HARMLESS:x$/m, `the worker preloaded the x.cjs the parent judged:\n${out}`);
      t.match(child.stdout, /WORKER_RAN/, 'and ran');
    }
    if (expect === 'tests') {
      t.equal(child.code, 0, `the tests ran and passed:\n${out}`);
    }
    if (expect === 'refusedInChild') {
      t.not(child.code, 0, 'the child does not start');
      t.match(child.stderr, /^trustload: ERR_TRUSTLOAD_SIGNATURE: /m, `the child's guard refused the bytes it read:\n${out}`);
    }
    if (expect === 'preload') {
      t.match(child.stdout, /^PRELOAD:OK$/m, `the signed preload ran:\n${out}`);
      t.match(child.stdout, /CHILD_REFUSED ERR_TRUSTLOAD_SIGNATURE/, 'and the child is guarded');
    }
  });
});

// Started directly (not by a guarded parent, so nothing judged its arguments): a pin in a
// process's own command line is not a worker's, and the policy comes from the environment.
t.test('a process whose own command line pins another policy runs the environment policy', async (t) => {
  for (const args of [['--import', otherPin], [`--import=${otherPin}`]]) {
    const r = await runNode(app.dir, [...args, 'child.mjs', app.path('plugins/bad.mjs')]);
    t.match(r.stdout, /CHILD_REFUSED ERR_TRUSTLOAD_SIGNATURE/, `the pinned-by-environment policy refused the tampered plugin (${args[0].slice(0, 9)}):\n${r.stdout}\n${r.stderr}`);
    t.notOk(ranTampered(r.stdout), 'it never ran');
  }
});

t.test('in permissive mode a SHARE_ENV worker is judged by the real environment', async (t) => {
  const r = await runNode(app.dir, ['parent.mjs', 'a SHARE_ENV worker, process.env replaced by a plain object'], { env: { ...ENV, TRUSTLOAD_MODE: 'permissive' } });
  t.equal(r.code, 0, `the parent exits 0\n${r.stderr}`);
  t.match(r.stderr, /^trustload: WARNING: ERR_TRUSTLOAD_UNSUPPORTED_LOAD: .*SHARE_ENV/m, `it warned about SHARE_ENV:\n${r.stderr}`);
  t.match(r.stderr, new RegExp(`^trustload: WARNING: ERR_TRUSTLOAD_SIGNATURE: ${app.path('plugins/tampered.cjs')}: `, 'm'), `and about the tampered preload in the real NODE_OPTIONS:\n${r.stderr}`);
});

// The option table must never be less strict than Node: every option \`node --help\` lists or NODE_OPTIONS
// accepts, asked of Node itself whether it takes a value (alone, it then "requires an argument").
t.test('no Node option hides a -r after it', async (t) => {
  const help = spawnSync(process.execPath, ['--help'], { encoding: 'utf8' }).stdout;
  const names = [...new Set([...process.allowedNodeEnvironmentFlags, ...help.matchAll(/(?<=^|[\s,])--?[a-zA-Z][\w-]*/gm)].map(String))].filter((name) => !['-r', '--require'].includes(name));
  const empty = app.path('empty');
  mkdirSync(empty);
  const asked = await pool(names, 4, (name) => runNode(empty, [name], { guard: false, timeout: 10_000 }));
  const valued = names.filter((name, i) => asked[i].stderr.includes(`${name} requires an argument`));
  t.ok(valued.includes('--report-dir') && valued.includes('--title'), `Node says which options take a value: ${valued.join(' ')}`);
  const r = await runNode(app.dir, ['options.mjs'], { env: { NAMES: JSON.stringify(names), VALUED: JSON.stringify(valued) }, timeout: 180_000 });
  t.match(r.stdout, /^DONE 0 \d+$/m, `it tried every option:\n${r.stderr}`);
  t.notMatch(r.stdout, /^(RAN|MISSED) /m, `the guard saw every -r Node would preload:\n${r.stdout}`);
});
