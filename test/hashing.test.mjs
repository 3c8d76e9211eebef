// Hashing large signed directories in worker threads (verifyDirectory and
// `trustload verify DIR`): the same digests as one thread, sharded, with
// memory that does not grow with the file, clean failures, a progress line
// only on a terminal, and workers that run under the guard of a process that
// denies unmatched loads.
import { spawn, spawnSync } from 'node:child_process';
import { createHash, randomFillSync } from 'node:crypto';
import { appendFileSync, closeSync, cpSync, mkdirSync, openSync, readFileSync, readSync, truncateSync, writeFileSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import t from 'tap';
import { keyManifestBundle, signDirectory } from '../scripts/sign-manifest.mjs';
import { INDEX, makeApp, PRIVATE_KEY_PEM, ROOT, runNode } from './helpers/app.mjs';
import { CLI, runCli } from './helpers/cli.mjs';

const MiB = 1024 * 1024;
// Directories at least this large are hashed by the worker pool (src/manifest/hash-files.ts).
const POOL_MIN_BYTES = 64 * MiB;

/** An app whose rule "models" covers models/** (signed by the offline key), under the given `unmatched`. */
function modelsApp(t, { unmatched = 'allow', rules = [] } = {}) {
  return makeApp(t, { rules: [...rules, { name: 'models', files: 'models/**', signers: ['offline'] }], unmatched });
}

/** Writes `size` pseudo-random bytes (a different stream per call) without holding them all in memory. */
function writeRandom(path, size) {
  const fd = openSync(path, 'w');
  const chunk = Buffer.allocUnsafe(8 * MiB);
  try {
    for (let left = size; left > 0; left -= chunk.length) writeSync(fd, randomFillSync(chunk), 0, Math.min(left, chunk.length));
  } finally {
    closeSync(fd);
  }
}

/**
 * A model of pseudo-random bytes, large enough for the worker pool: a file
 * whose size is no multiple of the shard size, an empty file, 300 small files
 * in nested folders. Signed by scripts/sign-manifest.mjs (a second,
 * single-threaded implementation of the format).
 */
function randomModel(app, rel, method = 'shards') {
  const dir = app.path(rel);
  mkdirSync(join(dir, 'small', 'deeper'), { recursive: true });
  writeRandom(join(dir, 'big.bin'), POOL_MIN_BYTES + 8 * MiB + 12345);
  writeFileSync(join(dir, 'empty.bin'), '');
  for (let i = 0; i < 300; i++) writeRandom(join(dir, 'small', i % 2 ? 'deeper' : '', `${i}.txt`), 1 + ((i * 37) % 4096));
  signDirectory(dir, PRIVATE_KEY_PEM, { shardSize: method === 'shards' ? 4 * MiB : undefined });
  return dir;
}

/**
 * A model of zeros (sparse: nothing is written or read from disk), signed with
 * `shards` from the digests of zero-filled shards computed here: each file of
 * `sizes` (name to size) is cut as model_signing cuts it.
 */
function zeroModel(app, rel, sizes, shardSize) {
  const dir = app.path(rel);
  mkdirSync(dir, { recursive: true });
  const digestOf = new Map();
  const zeroDigest = (length) => {
    if (!digestOf.has(length)) digestOf.set(length, createHash('sha256').update(Buffer.alloc(length)).digest('hex'));
    return digestOf.get(length);
  };
  const resources = [];
  for (const [name, size] of Object.entries(sizes).sort(([a], [b]) => (a < b ? -1 : 1))) {
    writeFileSync(join(dir, name), '');
    truncateSync(join(dir, name), size);
    for (let start = 0; start < size; start += shardSize) {
      const end = Math.min(start + shardSize, size);
      resources.push({ name: `${name}:${start}:${end}`, algorithm: `sha256-sharded-${shardSize}`, digest: zeroDigest(end - start) });
    }
  }
  const subject = createHash('sha256').update(Buffer.concat(resources.map((r) => Buffer.from(r.digest, 'hex')))).digest('hex');
  const statement = {
    _type: 'https://in-toto.io/Statement/v1',
    subject: [{ name: rel, digest: { sha256: subject } }],
    predicateType: 'https://model_signing/signature/v1.0',
    predicate: {
      serialization: { method: 'shards', hash_type: 'sha256', shard_size: shardSize, allow_symlinks: false, ignore_paths: ['manifest.sigstore.json'] },
      resources,
    },
  };
  writeFileSync(join(dir, 'manifest.sigstore.json'), JSON.stringify(keyManifestBundle(statement, PRIVATE_KEY_PEM)));
  return dir;
}

/**
 * Calls verifyDirectory(process.env.DIR) and prints { value | error, workers }:
 * how many worker threads the call started (counted through a subclass of
 * Worker, which the pool asks process.getBuiltinModule for). AFTER_FIRST_WORKER
 * names a step the probe takes right after the first worker is constructed
 * (then the caller has opened the first files, and no worker has read yet).
 */
const PROBE = `
import workerThreads from 'node:worker_threads';
import { rmSync, symlinkSync, truncateSync } from 'node:fs';
import { execFileSync } from 'node:child_process';
const { verifyDirectory, TrustloadError } = await import(process.env.TRUSTLOAD_INDEX);
const steps = {
  truncate: () => truncateSync(process.env.TARGET, 1024 * 1024),
  fifo: () => { rmSync(process.env.TARGET); execFileSync('mkfifo', [process.env.TARGET]); },
  delete: () => rmSync(process.env.TARGET),
  link: () => { rmSync(process.env.TARGET); symlinkSync('a.bin', process.env.TARGET); },
};
let workers = 0;
let stepRan = false;
const Original = workerThreads.Worker;
workerThreads.Worker = class extends Original {
  constructor(...args) {
    super(...args);
    if (workers++ === 0 && process.env.AFTER_FIRST_WORKER) setImmediate(() => { steps[process.env.AFTER_FIRST_WORKER](); stepRan = true; });
  }
};
const out = {};
try {
  const d = await verifyDirectory(process.env.DIR);
  out.value = { files: d.files.length, method: d.method, shards: d.files.reduce((n, f) => n + (f.shards?.length ?? 1), 0) };
} catch (err) {
  out.error = { code: err.code, message: err.message, path: err.path, rule: err.rule, isTrustloadError: err instanceof TrustloadError };
}
// Whether the change landed while the call was still running (on a loaded machine it may come too late).
out.stepBeforeEnd = stepRan;
out.workers = workers;
process.stdout.write(JSON.stringify(out));
`;

async function probe(t, app, env, { guard = false, index = INDEX, register } = {}) {
  app.write('probe.mjs', PROBE);
  const args = register === undefined ? ['probe.mjs'] : ['--import', register, 'probe.mjs'];
  const r = await runNode(app.dir, args, { guard, timeout: 90_000, env: { TRUSTLOAD_INDEX: index, ...env } });
  t.notOk(r.timedOut, 'finished in time (no hang)');
  t.equal(r.code, 0, `the probe ran\n${r.stderr}`);
  return { ...JSON.parse(r.stdout || '{}'), stderr: r.stderr };
}

t.test('parallel hashing gives the single-threaded digests: shards, a partial last shard, an empty file, many small files', async (t) => {
  const app = modelsApp(t);
  randomModel(app, 'models/sharded');
  randomModel(app, 'models/whole', 'files');
  const [sharded, whole, cli] = await Promise.all([
    probe(t, app, { DIR: 'models/sharded' }),
    probe(t, app, { DIR: 'models/whole' }),
    runCli(['verify', app.path('models/sharded'), '--policy', app.policyPath, '--json'], { cwd: app.dir }),
  ]);
  // 301 files: big.bin (19 shards of 4 MiB, the last partial), 300 small files; empty.bin has no shard.
  t.same(sharded.value, { files: 301, method: 'shards', shards: 19 + 300 }, `verified\n${JSON.stringify(sharded.error)}`);
  t.ok(sharded.workers >= 1, `by worker threads (${sharded.workers})`);
  t.same(whole.value, { files: 302, method: 'files', shards: 302 }, `"files": each file one job, big.bin streamed whole\n${JSON.stringify(whole.error)}`);
  t.ok(whole.workers >= 1, `by worker threads (${whole.workers})`);
  t.equal(cli.code, 0, `trustload verify DIR verifies it\n${cli.stderr}`);
  t.equal(JSON.parse(cli.stdout).files[0].directory.files.length, 301);
  t.equal(cli.stderr, '', 'no progress line when stderr is not a terminal');
});

t.test('a changed byte in the third shard is refused, naming that shard', async (t) => {
  const app = modelsApp(t);
  const dir = randomModel(app, 'models/sharded');
  const fd = openSync(join(dir, 'big.bin'), 'r+');
  const at = 2 * 4 * MiB + 777;
  const byte = Buffer.alloc(1);
  readSync(fd, byte, 0, 1, at);
  byte[0] ^= 0x40;
  writeSync(fd, byte, 0, 1, at);
  closeSync(fd);
  const [api, cli] = await Promise.all([
    probe(t, app, { DIR: 'models/sharded' }),
    runCli(['verify', dir, '--policy', app.policyPath], { cwd: app.dir }),
  ]);
  t.ok(api.workers >= 1, 'by worker threads');
  t.match(api.error, { code: 'ERR_TRUSTLOAD_SIGNATURE', isTrustloadError: true, path: join(dir, 'big.bin'), rule: 'models' });
  t.match(api.error.message, `(bytes ${8 * MiB} to ${12 * MiB})`, 'the message names the third shard');
  t.equal(cli.code, 1);
  t.match(cli.stderr, new RegExp(`^refused    ${dir}/big.bin: ERR_TRUSTLOAD_SIGNATURE: .*\\(bytes ${8 * MiB} to ${12 * MiB}\\)`));
});

t.test('a worker failure is a clean TrustloadError, and nothing hangs', async (t) => {
  const app = modelsApp(t);
  // 1 MiB shards of a 256 MiB file, then z.bin: the caller opens z.bin only once most of a.bin's shards are handed out.
  const sizes = { 'a.bin': 256 * MiB, 'z.bin': 3 * MiB };
  // Each change must land while the call runs: a run where it came after the end is inconclusive and runs again
  // (on a fresh copy), up to three times; a run where it landed and the call still passed fails the test.
  const during = async (name, step, target) => {
    for (let attempt = 0; ; attempt++) {
      const dir = `models/${name}${attempt}`;
      zeroModel(app, dir, sizes, MiB);
      const result = await probe(t, app, { DIR: dir, AFTER_FIRST_WORKER: step, TARGET: app.path(`${dir}/${target}`) });
      if (result.stepBeforeEnd || attempt === 2) return { ...result, dir };
    }
  };
  const [shrinks, fifo, deleted, linked] = await Promise.all([
    during('shrinks', 'truncate', 'a.bin'),
    during('fifo', 'fifo', 'z.bin'),
    during('deleted', 'delete', 'z.bin'),
    during('linked', 'link', 'z.bin'),
  ]);
  for (const r of [shrinks, fifo, deleted, linked]) t.ok(r.stepBeforeEnd, `the change landed while ${r.dir} was being verified`);
  t.match(shrinks.error, { code: 'ERR_TRUSTLOAD_SIGNATURE', message: 'the file shrank while it was being hashed', path: app.path(`${shrinks.dir}/a.bin`), rule: 'models', isTrustloadError: true }, 'a file truncated under a worker');
  t.match(fifo.error, { code: 'ERR_TRUSTLOAD_UNSUPPORTED_LOAD', message: 'not a regular file', path: app.path(`${fifo.dir}/z.bin`), rule: 'models', isTrustloadError: true }, 'a file replaced by a FIFO while workers hash (opened non-blocking: no read waits on it)');
  t.match(deleted.error, { code: 'ERR_TRUSTLOAD_MISSING_FILE', message: /cannot open a file the manifest lists/, path: app.path(`${deleted.dir}/z.bin`), rule: 'models', isTrustloadError: true }, 'a file deleted while workers hash');
  t.match(linked.error, { code: 'ERR_TRUSTLOAD_UNSUPPORTED_LOAD', message: /cannot open a file the manifest lists/, path: app.path(`${linked.dir}/z.bin`), isTrustloadError: true }, 'a file replaced by a link while workers hash (allow_symlinks: false): not followed');
});

t.test('memory does not grow with the file: a 256 MiB verify against a 16 MiB one', async (t) => {
  const app = modelsApp(t);
  zeroModel(app, 'models/small', { 'w.bin': 16 * MiB }, MiB);
  zeroModel(app, 'models/large', { 'w.bin': 256 * MiB }, 64 * MiB);
  const rss = async (rel) => {
    const out = app.path(`${rel}.rss`);
    const r = await runNode(app.dir, ['--import', new URL('./helpers/rss-probe.mjs', import.meta.url).href, CLI, 'verify', app.path(rel)], { guard: false, env: { TRUSTLOAD_TEST_RSS_FILE: out } });
    t.equal(r.code, 0, `${rel} verifies\n${r.stderr}`);
    return Number(readFileSync(out, 'utf8')) * 1024;
  };
  const small = await rss('models/small');
  const large = await rss('models/large');
  t.comment(`peak RSS: ${(small / MiB).toFixed(0)} MiB for 16 MiB (one thread), ${(large / MiB).toFixed(0)} MiB for 256 MiB in 64 MiB shards (worker threads)`);
  // Worker threads cost their own heaps, not the file's size: a shard held in memory would add 64 MiB, the file 256 MiB.
  t.ok(large < small + 48 * MiB, `${(large / MiB).toFixed(0)} MiB is within 48 MiB of ${(small / MiB).toFixed(0)} MiB`);
});

t.test('under unmatched: deny, the API and its hashing workers load from trustload\'s own verified files', async (t) => {
  const app = modelsApp(t, { unmatched: 'deny', rules: [{ name: 'app', files: '*.mjs', signers: ['offline'] }] });
  zeroModel(app, 'models/big', { 'w.bin': POOL_MIN_BYTES + MiB, 'x.bin': 5 }, 4 * MiB);
  app.write('probe.mjs', PROBE);
  app.sign('probe.mjs');
  const good = await probe(t, app, { DIR: 'models/big' }, { guard: true });
  t.same(good.value, { files: 2, method: 'shards', shards: 18 }, `verified in a guarded process\n${good.stderr}`);
  t.ok(good.workers >= 1, 'by worker threads, each running the guard');
  t.equal(good.stderr, '');

  // A worker the application starts with the default execArgv loads register.mjs again, under its own guard.
  app.write('worker-app.mjs', `
import { Worker } from 'node:worker_threads';
const w = new Worker(new URL('./worker.mjs', import.meta.url));
w.on('message', (m) => console.log('worker said', m));
w.on('error', (e) => { console.log('worker failed', e.code); process.exitCode = 3; });
`);
  app.write('worker.mjs', `import { parentPort } from 'node:worker_threads'; parentPort.postMessage('hello');`);
  app.sign('worker-app.mjs');
  app.sign('worker.mjs');
  const worker = await runNode(app.dir, ['worker-app.mjs']);
  t.equal(worker.code, 0, `an application worker runs under deny\n${worker.stderr}`);
  t.equal(worker.stdout, 'worker said hello\n');
});

t.test('a modified or planted file in trustload\'s dist/ gets nothing under deny', async (t) => {
  const app = modelsApp(t, { unmatched: 'deny', rules: [{ name: 'app', files: '*.mjs', signers: ['offline'] }] });
  zeroModel(app, 'models/big', { 'w.bin': POOL_MIN_BYTES + MiB }, 4 * MiB);
  // A copy of the package, whose hashing worker's entry is then changed.
  const pkg = app.path('pkg');
  for (const name of ['package.json', 'register.mjs', 'dist', 'trust']) cpSync(join(ROOT, name), join(pkg, name), { recursive: true });
  appendFileSync(join(pkg, 'dist', 'hash-worker.js'), '\n// changed\n');
  writeFileSync(join(pkg, 'dist', 'planted.js'), 'console.log("planted ran");\n');
  app.write('planted.mjs', `try { await import(${JSON.stringify(join(pkg, 'dist', 'planted.js'))}); } catch (err) { console.log(err.code); }`);
  app.sign('planted.mjs');
  app.write('probe.mjs', PROBE);
  app.sign('probe.mjs');
  const index = join(pkg, 'dist', 'index.js');
  const changed = await probe(t, app, { DIR: 'models/big' }, { index, register: join(pkg, 'register.mjs') });
  t.match(changed.error, { code: 'ERR_TRUSTLOAD_UNMATCHED', isTrustloadError: true }, `the changed worker entry is refused, and the call fails cleanly\n${changed.stderr}`);
  t.match(changed.error.message, /hash-worker\.js has been modified since it was built/);
  const planted = await runNode(app.dir, ['--import', join(pkg, 'register.mjs'), 'planted.mjs'], { guard: false });
  t.equal(planted.stdout, 'ERR_TRUSTLOAD_UNMATCHED\n', 'a file planted in dist/ is judged as any unmatched file');
});

/** Runs `trustload verify` under a pseudo-terminal (script(1)), so that stderr is a TTY. */
function underTerminal(args, cwd) {
  return new Promise((resolve) => {
    const command = [process.execPath, CLI, ...args].map((a) => `'${a.replaceAll("'", "'\\''")}'`).join(' ');
    const child = spawn('script', ['-qec', command, '/dev/null'], { cwd, stdio: ['pipe', 'pipe', 'pipe'] });
    let output = '';
    child.stdout.on('data', (d) => (output += d));
    child.on('close', (code) => resolve({ code, output }));
    child.stdin.end();
  });
}

t.test('a progress line on a terminal for large directories, none with --json or without a terminal', { skip: spawnSync('script', ['--version']).error && 'script(1) is not installed' }, async (t) => {
  const app = modelsApp(t);
  const dir = zeroModel(app, 'models/long', { 'w.bin': 512 * MiB }, 16 * MiB);
  const tty = await underTerminal(['verify', dir, '--policy', app.policyPath], app.dir);
  t.equal(tty.code, 0, tty.output);
  t.match(tty.output, /\rverifying \d+% \(\d+ of 512 MiB, \d+ MiB\/s\) \//, 'the progress line, redrawn in place');
  t.match(tty.output, /\r\x1b\[K(\r\n)?verified   /, 'erased before the result');
  const json = await underTerminal(['verify', dir, '--policy', app.policyPath, '--json'], app.dir);
  t.equal(json.code, 0);
  t.notMatch(json.output, /verifying|\r(?!\n)/, 'quiet with --json');
  const piped = await runCli(['verify', dir, '--policy', app.policyPath], { cwd: app.dir });
  t.equal(piped.code, 0);
  t.equal(piped.stderr, '', 'quiet when stderr is not a terminal');
});
