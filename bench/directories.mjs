// Signed directories, for bench/run.mjs (`npm run bench`):
//
//   listing  the first load from a signed plugin directory of 1,000 small files
//            (20 folders of 50, signed with "files"): the closed-set check
//            (list names and types, compare with the manifest) that the first
//            load under a signed directory pays, against an unguarded read of
//            one of its files. The load hooks do not consult manifests yet,
//            so the check is timed by calling src/manifest/closed-set.ts
//            directly (bundled from src like the WARM internals).
//   weights  a 2 GiB file of zeros (sparse: nothing is written or read from
//            disk, and SHA-256 costs the same whatever the bytes) signed with
//            "shards" of 64 MiB by scripts/sign-manifest.mjs: verifyDirectory
//            (worker threads, one per core) in a fresh process against
//            single-threaded SHA-256 of the same file with node:crypto in this
//            one (1 MiB reads, as the workers read), alternating; then peak
//            RSS of the verifyDirectory process for 256 MiB and for 2 GiB.
//
// TRUSTLOAD_BENCH_SMALL=1 skips the weights cases (several seconds each).
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { closeSync, mkdirSync, mkdtempSync, openSync, readFileSync, readSync, realpathSync, rmSync, truncateSync, writeFileSync } from 'node:fs';
import { availableParallelism, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import { signDirectory } from '../scripts/sign-manifest.mjs';

const REPO = fileURLToPath(new URL('..', import.meta.url));
const PROBE = join(REPO, 'bench', 'verify-directory-probe.mjs');
const MiB = 1024 * 1024;
const SETTINGS = { files: 1000, folders: 20, listingRounds: 30, weightsRounds: 3, shardSize: 64 * MiB, largeBytes: 2048 * MiB, mediumBytes: 256 * MiB };

export function directoriesBench(internals, { table, median, env }) {
  const dir = realpathSync(mkdtempSync(join(tmpdir(), 'trustload-bench-dirs-')));
  process.on('exit', () => rmSync(dir, { recursive: true, force: true }));
  const privateKey = readFileSync(join(REPO, 'fixtures', 'keys', 'p256.pem'), 'utf8');
  const publicKey = readFileSync(join(REPO, 'fixtures', 'keys', 'p256.pub.pem'));
  mkdirSync(join(dir, 'keys'));
  writeFileSync(join(dir, 'keys', 'p256.pub.pem'), publicKey);
  const policy = {
    version: 1,
    trust: { keys: { release: { path: './keys/p256.pub.pem', sha256: createHash('sha256').update(publicKey).digest('hex') } } },
    signers: { offline: { key: 'release', transparencyLog: false } },
    rules: [{ name: 'models', files: 'models/**', signers: ['offline'] }],
    unmatched: 'allow',
  };
  writeFileSync(join(dir, 'trustload.policy.json'), `${JSON.stringify(policy, null, 2)}\n`);
  listing(internals, dir, privateKey, { table, median });
  if (process.env.TRUSTLOAD_BENCH_SMALL === '1') {
    console.log('\nWEIGHTS: skipped (TRUSTLOAD_BENCH_SMALL=1)');
    return;
  }
  weights(dir, privateKey, { table, median, env: { ...env, TRUSTLOAD_POLICY: join(dir, 'trustload.policy.json') } });
}

function listing(internals, dir, privateKey, { table, median }) {
  const plugin = join(dir, 'models', 'plugin');
  for (let f = 0; f < SETTINGS.folders; f++) mkdirSync(join(plugin, 'lib', `mod${String(f).padStart(2, '0')}`), { recursive: true });
  const names = Array.from({ length: SETTINGS.files }, (_, i) => `lib/mod${String(i % SETTINGS.folders).padStart(2, '0')}/file${String(i).padStart(4, '0')}.js`);
  names.forEach((name, i) => writeFileSync(join(plugin, name), `export const id = ${i};\nexport function run(x) {\n  return x + id;\n}\n`));
  const bundlePath = signDirectory(plugin, privateKey);
  const bundle = JSON.parse(readFileSync(bundlePath, 'utf8'));
  const manifest = internals.parseManifestPayload(Buffer.from(bundle.dsseEnvelope.payload, 'base64'), bundlePath);
  const one = join(plugin, names[0]);
  const list = [];
  const read = [];
  for (let round = 0; round < SETTINGS.listingRounds; round++) {
    let start = performance.now();
    const set = internals.requireClosedSet(plugin, 'manifest.sigstore.json', manifest);
    list.push(performance.now() - start);
    if (set.extra.length + set.missing.length !== 0) throw new Error('the bench plugin directory does not match its manifest');
    start = performance.now();
    readFileSync(one);
    read.push(performance.now() - start);
  }
  const us = (ms) => (ms * 1000).toFixed(1);
  console.log();
  console.log(`LISTING: the closed-set check of the first load from a signed plugin directory (${SETTINGS.files} files in ${SETTINGS.folders} folders, "files" manifest)`);
  console.log('  (called directly from src/manifest/closed-set.ts, the step the guard runs once per signed directory; µs: median of');
  console.log(`   ${SETTINGS.listingRounds} rounds in this process, the first included; the unguarded load: readFileSync of one of its files)`);
  table(
    ['step', 'median µs', 'first round µs', 'per file µs'],
    [
      ['unguarded: read one file', us(median(read)), us(read[0]), '-'],
      [`list ${SETTINGS.files} files and compare with the manifest`, us(median(list)), us(list[0]), (median(list) * 1000 / SETTINGS.files).toFixed(2)],
    ],
  );
  console.log(`  target: under 10 µs per file for the listing`);
}

function weights(dir, privateKey, { table, median, env }) {
  const cores = availableParallelism();
  const make = (name, size) => {
    const model = join(dir, 'models', name);
    mkdirSync(model, { recursive: true });
    writeFileSync(join(model, 'model.bin'), '');
    truncateSync(join(model, 'model.bin'), size);
    writeFileSync(join(model, 'config.json'), '{"architectures":["Bench"]}\n');
    signDirectory(model, privateKey, { shardSize: SETTINGS.shardSize });
    return model;
  };
  const large = make('large', SETTINGS.largeBytes);
  const medium = make('medium', SETTINGS.mediumBytes);
  const file = join(large, 'model.bin');
  const single = [];
  const pooled = [];
  let rssLarge;
  for (let round = 0; round < SETTINGS.weightsRounds; round++) {
    single.push(sha256Ms(file));
    const run = verifyInChild(large, env);
    pooled.push(run);
    rssLarge = Math.max(rssLarge ?? 0, run.maxRssKiB);
  }
  const rssMedium = Math.max(...Array.from({ length: SETTINGS.weightsRounds }, () => verifyInChild(medium, env).maxRssKiB));
  const rate = (ms) => SETTINGS.largeBytes / MiB / (ms / 1000);
  const row = (name, runs, base) => {
    const wall = runs.map((r) => r.ms);
    return [name, median(wall).toFixed(0), Math.min(...wall).toFixed(0), median(runs.map((r) => r.cpuMs)).toFixed(0), rate(median(wall)).toFixed(0), (rate(median(wall)) / base).toFixed(2)];
  };
  const singleRate = rate(median(single.map((r) => r.ms)));
  console.log();
  console.log(`WEIGHTS: a ${SETTINGS.largeBytes / MiB} MiB file (sparse zeros) signed with shards of ${SETTINGS.shardSize / MiB} MiB, ${cores} core(s) available, load average ${loadavg()[0].toFixed(1)}`);
  console.log(`  (${SETTINGS.weightsRounds} rounds alternating; MiB/s from the median wall time; verifyDirectory timed around the call in a fresh process,`);
  console.log('   its manifest verification, closed-set check and worker start-up included; single thread: this process, fs.readSync 1 MiB +');
  console.log('   hash.update; CPU: every thread of the process, so CPU ms over wall ms is the cores actually used)');
  table(
    ['hashing', 'median ms', 'best ms', 'CPU ms', 'MiB/s', 'x single thread'],
    [row('node:crypto SHA-256, one thread', single, singleRate), row('verifyDirectory (worker threads)', pooled, singleRate)],
  );
  console.log(`  target: at least 0.8 x ${cores} core(s) = ${(0.8 * cores).toFixed(1)} x the single-thread rate`);
  console.log(`  peak RSS of the verifyDirectory process (process.resourceUsage().maxRSS, highest of ${SETTINGS.weightsRounds} runs):`);
  console.log(`    ${SETTINGS.mediumBytes / MiB} MiB: ${(rssMedium / 1024).toFixed(0)} MiB; ${SETTINGS.largeBytes / MiB} MiB: ${(rssLarge / 1024).toFixed(0)} MiB`);
}

/** Wall and CPU milliseconds to SHA-256 a whole file in this thread, read 1 MiB at a time. */
function sha256Ms(path) {
  const buffer = Buffer.allocUnsafe(MiB);
  const cpu = process.cpuUsage();
  const start = performance.now();
  const hash = createHash('sha256');
  const fd = openSync(path, 'r');
  try {
    for (let n; (n = readSync(fd, buffer, 0, buffer.length, null)) > 0; ) hash.update(buffer.subarray(0, n));
  } finally {
    closeSync(fd);
  }
  hash.digest();
  const ms = performance.now() - start;
  const { user, system } = process.cpuUsage(cpu);
  return { ms, cpuMs: (user + system) / 1000 };
}

function verifyInChild(model, env) {
  const r = spawnSync(process.execPath, [PROBE, model], { cwd: REPO, env, encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`verifyDirectory ${model} exited with ${r.status}: ${r.stderr}`);
  return JSON.parse(r.stdout);
}
