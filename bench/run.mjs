// `npm run bench`: what trustload's verification costs, printed as ratios
// against baselines measured in the same run. It asserts nothing about time.
//
//   warm  parse + verify of one bundle in a warmed-up process: trustload's
//         path (parseBundle + verifyBundle) vs @sigstore/verify called directly;
//         process CPU time, which other load on the machine disturbs less than
//         wall time (also shown)
//   cold  fresh processes: `node dist/cli.js verify-blob ...` and an import of
//         dist/index.js vs a bare `node -e 0` (the same Node binary)
import { build } from 'esbuild';
import { spawnSync } from 'node:child_process';
import { createPublicKey } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, symlinkSync } from 'node:fs';
import { cpus, tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { bundleFromJSON } from '@sigstore/bundle';
import { TrustedRoot } from '@sigstore/protobuf-specs';
import { toSignedEntity, toTrustMaterial, Verifier } from '@sigstore/verify';

const SETTINGS = {
  warmupMs: 400, // per case and side, untimed; also sizes the batches
  batchMs: 150, // a batch runs n iterations, n chosen so that it takes about this much CPU time
  batches: 15, // timed batches per case and side, the sides alternating (AB, BA, ...)
  spawns: 10, // timed fresh processes per cold variant, round-robin, after one untimed round
};

const REPO = fileURLToPath(new URL('..', import.meta.url));
const SUITE = fileURLToPath(new URL('../../shared/testdata/sigstore-conformance/bundle-verify/', import.meta.url));
const PUBLIC_GOOD_ROOT = join(REPO, 'trust', 'sigstore-public-good.trusted_root.json');
const ARTIFACT = join(SUITE, 'a.txt');
const IDENTITY =
  'https://github.com/sigstore-conformance/extremely-dangerous-public-oidc-beacon/.github/workflows/extremely-dangerous-oidc-beacon.yml@refs/heads/main';
const ISSUER = 'https://token.actions.githubusercontent.com';

// Conformance bundles over a.txt that both trustload and @sigstore/verify alone accept
// against the public-good root.
const CASES = [
  { name: 'keyless message signature', dir: 'happy-path-v0.3' },
  { name: 'keyless DSSE (in-toto)', dir: 'happy-path-intoto-in-dsse-v3' },
  { name: 'key (P-256, Rekor entry)', dir: 'managed-key-happy-path', key: 'key.pub' },
].map((c) => ({ ...c, bundle: join(SUITE, c.dir, 'bundle.sigstore.json'), key: c.key && join(SUITE, c.dir, c.key) }));

const trustload = await buildEntry();
console.log(`trustload bench: Node ${process.version} (${process.execPath}), ${process.platform} ${process.arch}, ${cpus().length} x ${cpus()[0]?.model}`);
console.log(`settings: ${JSON.stringify(SETTINGS)}\n`);
warm();
cold();

/**
 * Bundles bench/verify-entry.ts as scripts/build.mjs bundles dist/. The shipped
 * root is found at ../trust/ from the bundled file, so it is written to
 * <tmp>/build/entry.js next to <tmp>/trust, a symlink to the repository's trust/
 * (read through the same digest check as in dist/).
 */
async function buildEntry() {
  const dir = mkdtempSync(join(tmpdir(), 'trustload-bench-'));
  process.on('exit', () => rmSync(dir, { recursive: true, force: true }));
  symlinkSync(join(REPO, 'trust'), join(dir, 'trust'), 'dir');
  const outfile = join(dir, 'build', 'entry.js');
  await build({
    entryPoints: [join(REPO, 'bench', 'verify-entry.ts')],
    outfile,
    bundle: true,
    format: 'esm',
    platform: 'node',
    target: 'node22',
    banner: { js: "import { createRequire as __benchRequire } from 'node:module'; const require = __benchRequire(import.meta.url);" },
    logLevel: 'warning',
  });
  return import(pathToFileURL(outfile).href);
}

/** Both sides start from the bundle's bytes: JSON parsing is included on both. Trust material is built once, outside the loop. */
function sides(c) {
  const bytes = readFileSync(c.bundle);
  const artifact = readFileSync(ARTIFACT);
  const pem = c.key && readFileSync(c.key, 'utf8');

  const keys = new Map(c.key ? [['key', trustload.parsePublicKeyPem(pem, c.key)]] : []);
  const policySigner = c.key ? { key: 'key' } : { issuer: ISSUER, identity: IDENTITY };
  const signers = [...trustload.resolveSigners({ bench: policySigner }, { roots: new Map(), keys }).values()];

  const publicKey = c.key && { publicKey: createPublicKey(pem), validFor: () => true };
  const root = TrustedRoot.fromJSON(JSON.parse(readFileSync(PUBLIC_GOOD_ROOT, 'utf8')));
  const verifier = new Verifier(toTrustMaterial(root, publicKey && (() => publicKey))); // default thresholds
  const policy = c.key ? undefined : { subjectAlternativeName: IDENTITY, extensions: { issuer: ISSUER } };

  return {
    trustload: () => trustload.verifyBundle(trustload.parseBundle(bytes, c.bundle), { bytes: artifact }, signers),
    library: () => verifier.verify(toSignedEntity(bundleFromJSON(JSON.parse(bytes.toString('utf8'))), artifact), policy),
  };
}

function warm() {
  const rows = [];
  for (const c of CASES) {
    const { trustload: tl, library: lib } = sides(c);
    // Both must verify (they throw otherwise); then warm up, the library side sizing the batches.
    tl();
    lib();
    runFor(tl, SETTINGS.warmupMs);
    const n = Math.max(1, Math.round(SETTINGS.batchMs / runFor(lib, SETTINGS.warmupMs)));
    const t = [];
    const l = [];
    for (let b = 0; b < SETTINGS.batches; b++) {
      if (b % 2 === 0) {
        t.push(perOp(tl, n));
        l.push(perOp(lib, n));
      } else {
        l.push(perOp(lib, n));
        t.push(perOp(tl, n));
      }
    }
    const ratios = (what) => t.map((x, i) => x[what] / l[i][what]);
    const cpu = ratios('cpu');
    const ratio = median(cpu);
    rows.push([
      c.name,
      n,
      us(median(l.map((x) => x.cpu))),
      us(median(t.map((x) => x.cpu))),
      ratio.toFixed(3),
      `${quantile(cpu, 0.25).toFixed(3)}-${quantile(cpu, 0.75).toFixed(3)}`,
      pct(ratio),
      median(ratios('wall')).toFixed(3),
    ]);
  }
  console.log('WARM: CPU time of one verification, bundle JSON parsing included on both sides');
  console.log('  (µs: median over batches; ratio: median of the per-round trustload/library ratios, IQR its middle half; wall ratio: the same on wall time)');
  table(['bundle', 'n/batch', '@sigstore/verify µs', 'trustload µs', 'ratio', 'ratio IQR', 'overhead', 'wall ratio'], rows);
  console.log();
}

function cold() {
  const cli = join(REPO, 'dist', 'cli.js');
  const verifyBlob = (c) =>
    [cli, 'verify-blob', ARTIFACT, '--bundle', c.bundle, ...(c.key ? ['--key', c.key] : ['--certificate-identity', IDENTITY, '--certificate-oidc-issuer', ISSUER])];
  const variants = [
    { name: 'node -e 0 (baseline)', args: ['-e', '0'] },
    { name: 'import dist/index.js', args: ['--input-type=module', '-e', `import ${JSON.stringify(pathToFileURL(join(REPO, 'dist', 'index.js')).href)};`] },
    ...CASES.map((c) => ({ name: `cli verify-blob: ${c.name}`, args: verifyBlob(c) })),
  ];
  const times = variants.map(() => []);
  for (let round = -1; round < SETTINGS.spawns; round++) {
    // Round-robin, starting one variant later each round; round -1 only warms the file cache.
    for (let k = 0; k < variants.length; k++) {
      const i = (Math.max(round, 0) + k) % variants.length;
      const ms = spawnMs(variants[i].args);
      if (round >= 0) times[i].push(ms);
    }
  }
  const base = median(times[0]);
  const rows = variants.map((v, i) => [v.name, median(times[i]).toFixed(1), `${Math.min(...times[i]).toFixed(1)}-${Math.max(...times[i]).toFixed(1)}`, (median(times[i]) / base).toFixed(2), `+${(median(times[i]) - base).toFixed(1)}`]);
  console.log(`COLD: wall time of a fresh process (spawnSync, ${SETTINGS.spawns} each, interleaved; ratio and extra against the baseline's median)`);
  table(['process', 'median ms', 'min-max ms', 'ratio', 'extra ms'], rows);
}

function spawnMs(args) {
  const start = performance.now();
  const r = spawnSync(process.execPath, args, { cwd: REPO, encoding: 'utf8' });
  const ms = performance.now() - start;
  if (r.status !== 0) throw new Error(`${args.join(' ')} exited with ${r.status}: ${r.stderr}`);
  return ms;
}

/** Runs fn for about ms milliseconds of wall time; returns the CPU milliseconds per call. */
function runFor(fn, ms) {
  const cpu = process.cpuUsage();
  let n = 0;
  for (const start = performance.now(); performance.now() - start < ms; n++) fn();
  const { user, system } = process.cpuUsage(cpu);
  return (user + system) / 1000 / n;
}

/** Mean milliseconds per call over n calls: process CPU time (user + system, all threads) and wall time. */
function perOp(fn, n) {
  const cpu = process.cpuUsage();
  const start = performance.now();
  for (let i = 0; i < n; i++) fn();
  const wall = performance.now() - start;
  const { user, system } = process.cpuUsage(cpu);
  return { cpu: (user + system) / 1000 / n, wall: wall / n };
}

function quantile(values, q) {
  const s = [...values].sort((a, b) => a - b);
  const at = (s.length - 1) * q;
  return s[Math.floor(at)] + (s[Math.ceil(at)] - s[Math.floor(at)]) * (at - Math.floor(at));
}
function median(values) {
  return quantile(values, 0.5);
}
function us(ms) {
  return (ms * 1000).toFixed(1);
}
function pct(ratio) {
  return `${ratio >= 1 ? '+' : ''}${((ratio - 1) * 100).toFixed(1)}%`;
}

function table(header, rows) {
  const all = [header, ...rows].map((r) => r.map(String));
  const widths = header.map((_, i) => Math.max(...all.map((r) => r[i].length)));
  const line = (r) => '  ' + r.map((cell, i) => (i === 0 ? cell.padEnd(widths[i]) : cell.padStart(widths[i]))).join('  ');
  console.log(line(all[0]));
  console.log('  ' + widths.map((w) => '-'.repeat(w)).join('  '));
  for (const r of all.slice(1)) console.log(line(r));
}
