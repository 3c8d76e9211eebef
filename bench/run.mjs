// `npm run bench`: what trustload's verification costs, printed as ratios
// against baselines measured in the same run. It asserts nothing about time.
//
//   warm  parse + verify of one bundle in a warmed-up process: trustload's
//         path (parseBundle + verifyBundle) vs @sigstore/verify called directly;
//         process CPU time, which other load on the machine disturbs less than
//         wall time (also shown)
//   cold  fresh processes: `node dist/cli.js verify-blob ...` and an import of
//         dist/index.js vs a bare `node -e 0` (the same Node binary)
//   start the issue's two start-up ratios, side by side against bare node in
//         the same run, with each process's peak RSS: a guarded app whose
//         policy protects nothing it loads, and one that verifies one keyless
//         bundle (the public-good root, read through readVerifiedSync)
//   guard fresh processes of a temp app under `node --import register.mjs`
//         (its policy pins a P-256 key and protects plugins/** and prompts/**)
//         vs the same app under plain node: an empty app (start-up alone), and
//         an app that imports 20 signed plugins and reads 5 signed prompts;
//         wall time and the children's CPU time
//   loads per-load costs timed inside one process (bench/guard-probe.mjs):
//         import() of an unmatched and of a signed file, readVerifiedSync vs
//         readFileSync; guarded vs plain node (and vs no-op module hooks)
//   content guarded content reads (bench/content-probe.mjs): fs.readFileSync and
//         fs.promises.readFile of a signed prompt and readFileSync of a file no
//         rule covers, in plain node, in a guarded process whose policy has no
//         content rule (fs left alone) and in one whose rule says "content": true
//   audit the audit trail's cost per decision (bench/audit.mjs): the loads
//         above in a guarded process whose policy has `audit`, against none
//   lock  locks (src/lock/): start-up of a guarded empty app whose policy
//         names a 5,000-entry lock vs a 1-entry lock vs no lock (issue 12's
//         budget: the 5,000 entries add at most 5 ms), and per-load cost of a
//         locked import vs an unmatched one, timed inside one process
//   listing, weights  signed directories (bench/directories.mjs): the
//         closed-set check of a 1,000-file plugin directory, and a 2 GiB
//         sharded weights file through verifyDirectory's worker threads vs
//         single-threaded SHA-256, with peak RSS (TRUSTLOAD_BENCH_SMALL=1
//         skips the weights)
import { build } from 'esbuild';
import { spawnSync } from 'node:child_process';
import { createHash, createPublicKey } from 'node:crypto';
import { mkdirSync, mkdtempSync, readFileSync, realpathSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { cpus, tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { bundleFromJSON } from '@sigstore/bundle';
import { TrustedRoot } from '@sigstore/protobuf-specs';
import { toSignedEntity, toTrustMaterial, Verifier } from '@sigstore/verify';
import { signFile } from '../scripts/sign-with-key.mjs';
import { dependencyPatchesPlugin } from '../scripts/dependency-patches.mjs';
import { auditBench } from './audit.mjs';
import { directoriesBench } from './directories.mjs';

const SETTINGS = {
  warmupMs: 400, // per case and side, untimed; also sizes the batches
  batchMs: 150, // a batch runs n iterations, n chosen so that it takes about this much CPU time
  batches: 15, // timed batches per case and side, the sides alternating (AB, BA, ...)
  spawns: 10, // timed fresh processes per cold variant, round-robin, after one untimed round
  guardSpawns: 30, // the same for the guard's fresh-process variants
  probeProcesses: 8, // rounds of one process per side timing per-load costs (bench/guard-probe.mjs)
  probeLoads: 300, // imports per timed batch in a probe process (reads: 4x as many)
  probeBatches: 4, // timed batches per measure in a probe process, after one untimed
};

const REPO = fileURLToPath(new URL('..', import.meta.url));
const SUITE = fileURLToPath(new URL('../../shared/testdata/sigstore-conformance/bundle-verify/', import.meta.url));
const PUBLIC_GOOD_ROOT = join(REPO, 'trust', 'sigstore-public-good.trusted_root.json');
const ARTIFACT = join(SUITE, 'a.txt');
const IDENTITY =
  'https://github.com/sigstore-conformance/extremely-dangerous-public-oidc-beacon/.github/workflows/extremely-dangerous-oidc-beacon.yml@refs/heads/main';
const ISSUER = 'https://token.actions.githubusercontent.com';
const REGISTER = join(REPO, 'register.mjs');
const PROBE = join(REPO, 'bench', 'guard-probe.mjs');
const CONTENT_PROBE = join(REPO, 'bench', 'content-probe.mjs');
// The guard benchmarks' children run with this environment: no policy, mode or options inherited from the caller.
const APP_ENV = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('TRUSTLOAD_') && k !== 'NODE_OPTIONS'));

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
startup();
const app = makeGuardApp();
guardProcesses(app);
guardLoads(app);
contentReads(app);
auditBench(app, { table, median, quantile, env: APP_ENV, probe: PROBE, register: REGISTER });
lockBench();
directoriesBench(trustload, { table, median, env: APP_ENV });

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
    plugins: [dependencyPatchesPlugin()],
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

/**
 * Start-up, the ratios the README and issue 10 quote: fresh processes of
 * an app that prints its own peak RSS at exit (VmHWM), bare
 * and under `--import register.mjs`. "nothing" has a policy with a rule for
 * plugins/** and an app that loads none; "keyless" reads one file signed by
 * a keyless bundle (conformance happy-path-v0.3) through readVerifiedSync,
 * so its start-up includes loading the verifier and one verification
 * against the shipped public-good root; its bare side reads it with fs.
 */
function startup() {
  const dir = realpathSync(mkdtempSync(join(tmpdir(), 'trustload-bench-start-')));
  process.on('exit', () => rmSync(dir, { recursive: true, force: true }));
  mkdirSync(join(dir, 'data'));
  writeFileSync(join(dir, 'data', 'a.txt'), readFileSync(ARTIFACT));
  writeFileSync(join(dir, 'data', 'a.txt.sigstore.json'), readFileSync(CASES[0].bundle));
  const policy = {
    version: 1,
    signers: { beacon: { issuer: ISSUER, identity: IDENTITY } },
    rules: [
      { name: 'plugins', files: 'plugins/**', signers: ['beacon'] },
      { name: 'data', files: 'data/**', signers: ['beacon'] },
    ],
  };
  writeFileSync(join(dir, 'trustload.policy.json'), `${JSON.stringify(policy, null, 2)}\n`);
  const contentRules = policy.rules.map((rule) => (rule.name === 'prompts' ? { ...rule, content: true } : rule));
  writeFileSync(join(dir, 'content.policy.json'), `${JSON.stringify({ ...policy, rules: contentRules }, null, 2)}\n`);
  // VmHWM, the peak of this process image: getrusage's maxRSS would include the spawning bench's own peak
  // (Linux carries it across fork and exec). Where there is no /proc, maxRSS stands in.
  const printRss =
    "process.on('exit', () => { let kb = process.resourceUsage().maxRSS; try { kb = Number(/VmHWM:\\s*(\\d+)/.exec(process.getBuiltinModule('node:fs').readFileSync('/proc/self/status', 'utf8'))[1]); } catch {} console.log(kb); });\n";
  const index = JSON.stringify(pathToFileURL(join(REPO, 'dist', 'index.js')).href);
  writeFileSync(join(dir, 'nothing.mjs'), printRss);
  writeFileSync(join(dir, 'keyless.mjs'), `import { readVerifiedSync } from ${index};\n${printRss}readVerifiedSync('data/a.txt');\n`);
  writeFileSync(join(dir, 'keyless-bare.mjs'), `import { readFileSync } from 'node:fs';\n${printRss}readFileSync('data/a.txt');\n`);
  const variants = [
    { name: 'protects nothing it loads: node app.mjs', args: ['nothing.mjs'] },
    { name: 'protects nothing it loads: guarded', args: ['--import', REGISTER, 'nothing.mjs'], base: 0 },
    { name: 'one keyless bundle: node app.mjs (fs)', args: ['keyless-bare.mjs'] },
    { name: 'one keyless bundle: guarded (readVerifiedSync)', args: ['--import', REGISTER, 'keyless.mjs'], base: 2 },
  ];
  const runs = variants.map(() => []);
  for (let round = -1; round < SETTINGS.guardSpawns; round++) {
    for (let k = 0; k < variants.length; k++) {
      const i = (Math.max(round, 0) + k) % variants.length;
      const run = spawnTimed(variants[i].args, dir);
      if (round >= 0) runs[i].push({ ...run, rssKb: Number(run.stdout.trim()) });
    }
  }
  const wall = runs.map((r) => median(r.map((x) => x.ms)));
  const cpu = runs.map((r) => (r[0].cpuMs === undefined ? undefined : r.reduce((a, x) => a + x.cpuMs, 0) / r.length));
  const rss = runs.map((r) => median(r.map((x) => x.rssKb)) / 1024);
  const vs = (values, i, base) => (base === undefined || values[i] === undefined ? ['', ''] : [(values[i] / values[base]).toFixed(2), `+${(values[i] - values[base]).toFixed(1)}`]);
  const rows = variants.map((v, i) => [
    v.name,
    wall[i].toFixed(1),
    ...vs(wall, i, v.base),
    cpu[i]?.toFixed(1) ?? 'n/a',
    ...vs(cpu, i, v.base),
    rss[i].toFixed(1),
    v.base === undefined ? '' : `+${(rss[i] - rss[v.base]).toFixed(1)}`,
  ]);
  console.log();
  console.log(`START: fresh processes, start-up to exit (${SETTINGS.guardSpawns} spawns each, interleaved; wall: median spawnSync time; CPU: mean user+sys as in GUARD; peak RSS: median of the`);
  console.log('  child\'s own VmHWM at exit; targets (issue 10): protects nothing 1.3x, one keyless bundle 2.2x)');
  table(['process', 'median ms', 'ratio', 'extra ms', 'CPU ms', 'CPU ratio', 'extra CPU ms', 'peak RSS MiB', 'extra MiB'], rows);
}

/**
 * A temp app: trustload.policy.json (the key pinned by digest, rules for
 * plugins/** and prompts/**, unmatched files allowed), 20 small ESM plugins
 * and 5 prompts each signed by fixtures/keys/p256.pem (sibling key bundles, no
 * log entry), an empty app.mjs and unmatched files outside the rules, and the
 * plugin app twice: guarded (prompts through readVerifiedSync) and bare (fs).
 */
function makeGuardApp() {
  const dir = realpathSync(mkdtempSync(join(tmpdir(), 'trustload-bench-app-')));
  process.on('exit', () => rmSync(dir, { recursive: true, force: true }));
  for (const sub of ['keys', 'plugins', 'prompts']) mkdirSync(join(dir, sub));
  const publicKey = readFileSync(join(REPO, 'fixtures', 'keys', 'p256.pub.pem'));
  const privateKey = readFileSync(join(REPO, 'fixtures', 'keys', 'p256.pem'), 'utf8');
  writeFileSync(join(dir, 'keys', 'p256.pub.pem'), publicKey);
  const policy = {
    version: 1,
    trust: { keys: { release: { path: './keys/p256.pub.pem', sha256: createHash('sha256').update(publicKey).digest('hex') } } },
    signers: { offline: { key: 'release', transparencyLog: false } },
    rules: [
      { name: 'plugins', files: 'plugins/**', signers: ['offline'] },
      { name: 'prompts', files: 'prompts/**', signers: ['offline'] },
    ],
    unmatched: 'allow',
  };
  writeFileSync(join(dir, 'trustload.policy.json'), `${JSON.stringify(policy, null, 2)}\n`);
  const contentRules = policy.rules.map((rule) => (rule.name === 'prompts' ? { ...rule, content: true } : rule));
  writeFileSync(join(dir, 'content.policy.json'), `${JSON.stringify({ ...policy, rules: contentRules }, null, 2)}\n`);
  const plugins = Array.from({ length: 20 }, (_, i) => `plugins/p${String(i).padStart(2, '0')}.mjs`);
  const prompts = Array.from({ length: 5 }, (_, i) => `prompts/q${i}.md`);
  plugins.forEach((file, i) => writeFileSync(join(dir, file), `export const name = 'plugin ${i}';\nexport function run(x) {\n  return x + ${i};\n}\n`));
  prompts.forEach((file, i) => writeFileSync(join(dir, file), `# Prompt ${i}\n\nYou are tool-using agent number ${i}. Answer briefly.\n`));
  for (const file of [...plugins, ...prompts]) signFile(join(dir, file), privateKey);
  symlinkSync('plugins', join(dir, 'linked'), 'dir');
  writeFileSync(join(dir, 'app.mjs'), '');
  writeFileSync(join(dir, 'unmatched.mjs'), 'export default 1;\n');
  writeFileSync(join(dir, 'unmatched.txt'), 'not protected by any rule\n');
  const body = (read) =>
    `let n = 0;\nfor (const p of ${JSON.stringify(plugins)}) n += (await import('./' + p)).run(1);\n` +
    `for (const p of ${JSON.stringify(prompts)}) n += ${read}(p).length;\n`;
  const index = JSON.stringify(pathToFileURL(join(REPO, 'dist', 'index.js')).href);
  writeFileSync(join(dir, 'plugin-app.mjs'), `import { readVerifiedSync, stats } from ${index};\n${body('readVerifiedSync')}console.log(n, stats().verified);\n`);
  writeFileSync(join(dir, 'plugin-app-bare.mjs'), `import { readFileSync } from 'node:fs';\n${body('readFileSync')}console.log(n, ${plugins.length + prompts.length});\n`);
  return { dir, files: plugins.length + prompts.length };
}

function guardProcesses(app) {
  const variants = [
    { name: 'empty app: node app.mjs', args: ['app.mjs'] },
    { name: 'empty app: node --import register.mjs app.mjs', args: ['--import', REGISTER, 'app.mjs'], base: 0 },
    { name: 'plugin app: node plugin-app-bare.mjs', args: ['plugin-app-bare.mjs'] },
    { name: 'plugin app: node --import register.mjs plugin-app.mjs', args: ['--import', REGISTER, 'plugin-app.mjs'], base: 2 },
  ];
  const runs = variants.map(() => []);
  let printed; // both plugin apps print the same sum and the file count (the guarded one: its verified count)
  for (let round = -1; round < SETTINGS.guardSpawns; round++) {
    for (let k = 0; k < variants.length; k++) {
      const i = (Math.max(round, 0) + k) % variants.length;
      const run = spawnTimed(variants[i].args, app.dir);
      if (i >= 2 && run.stdout !== (printed ??= run.stdout)) throw new Error(`the plugin apps disagree: ${printed} vs ${run.stdout}`);
      if (round >= 0) runs[i].push(run);
    }
  }
  const wall = runs.map((r) => median(r.map((x) => x.ms)));
  const cpu = runs.map((r) => (r[0].cpuMs === undefined ? undefined : r.reduce((a, x) => a + x.cpuMs, 0) / r.length));
  const rows = variants.map((v, i) => {
    const ms = runs[i].map((x) => x.ms);
    const vs = (values) =>
      v.base === undefined || values[i] === undefined ? ['', ''] : [(values[i] / values[v.base]).toFixed(2), `+${(values[i] - values[v.base]).toFixed(1)}`];
    return [v.name, wall[i].toFixed(1), `${Math.min(...ms).toFixed(1)}-${Math.max(...ms).toFixed(1)}`, ...vs(wall), cpu[i]?.toFixed(1) ?? 'n/a', ...vs(cpu)];
  });
  console.log();
  console.log(`GUARD: fresh processes in a temp app (policy: a pinned P-256 key, rules for plugins/** and prompts/**; ${SETTINGS.guardSpawns} spawns each, interleaved)`);
  console.log('  (empty app: app.mjs is empty and outside the rules; plugin app: imports 20 signed plugins/*.mjs and reads 5 signed prompts/*.md,');
  console.log('   guarded through readVerifiedSync, bare through fs.readFileSync; wall: median spawnSync time; CPU: mean user+sys of the child,');
  console.log('   from this process\'s cutime+cstime in /proc/self/stat, 10 ms ticks so about ±1 ms; ratio, extra: against the unguarded row above)');
  table(['process', 'median ms', 'min-max ms', 'ratio', 'extra ms', 'CPU ms', 'CPU ratio', 'extra CPU ms'], rows);
  const perFile = (values, startup) => ((values[3] - values[2] - (startup ? values[1] - values[0] : 0)) / app.files).toFixed(2);
  const cpuKnown = cpu[0] !== undefined;
  console.log(`  per protected file, (guarded - unguarded plugin app) / ${app.files}: ${perFile(wall, false)} ms wall${cpuKnown ? `, ${perFile(cpu, false)} ms CPU` : ''}`);
  console.log(`  the same less the empty app's start-up extra: ${perFile(wall, true)} ms wall${cpuKnown ? `, ${perFile(cpu, true)} ms CPU` : ''} (the first protected load also loads the verifier: see LOADS)`);
}

function guardLoads(app) {
  const sides = [
    { name: 'bare', args: [PROBE, 'bare'] },
    { name: 'noop-hooks', args: [PROBE, 'noop-hooks'] },
    { name: 'guarded', args: ['--import', REGISTER, PROBE, 'guarded'] },
  ];
  // A round runs one probe process per side, back to back (the order rotating), so that the sides
  // of a round share the machine's load of the moment; differences are taken within rounds.
  const rounds = [];
  for (let round = 0; round < SETTINGS.probeProcesses; round++) {
    const results = {};
    for (let k = 0; k < sides.length; k++) {
      const side = sides[(round + k) % sides.length];
      const run = spawnTimed([...side.args, String(SETTINGS.probeLoads), String(SETTINGS.probeBatches)], app.dir);
      results[side.name] = JSON.parse(run.stdout);
    }
    const { stats } = results.guarded;
    if (!(stats.verified >= 20 && stats.cacheHits > 0 && stats.refused === 0)) {
      throw new Error(`the guarded probe did not verify its signed loads: ${JSON.stringify(stats)}`);
    }
    rounds.push(results);
  }
  // A measure in one process: the median over its batches (first loads: the one sample).
  const inProcess = (result, what, kind, name) => median((kind === 'first' ? [result.first[name]] : result.batches[name]).map((x) => x[what]));
  const row = (label, kind, name, baseline = { side: 'bare', name }) => {
    const per = (side, what, n = name) => rounds.map((r) => inProcess(r[side], what, kind, n));
    const across = (side, n = name) => (rounds[0][side][kind][n] === undefined ? '-' : median(per(side, 'wall', n)).toFixed(1));
    const extra = (what) => per('guarded', what).map((g, i) => g - per(baseline.side, what, baseline.name)[i]);
    const signed = (x) => `${x >= 0 ? '+' : ''}${x.toFixed(1)}`;
    const wall = extra('wall');
    return [
      label,
      across(baseline.side, baseline.name),
      baseline.side === 'bare' ? across('noop-hooks') : '-',
      across('guarded'),
      signed(median(wall)),
      `${signed(quantile(wall, 0.25))}..${signed(quantile(wall, 0.75))}`,
      signed(median(extra('cpu'))),
    ];
  };
  const rows = [
    row('import() unmatched file, fresh URL', 'batches', 'unmatchedImport'),
    row('import() signed plugin, fresh URL (cache hit)', 'batches', 'signedImport'),
    row('the same through a linked folder (linked -> plugins)', 'batches', 'linkedSignedImport'),
    row('first import() of a signed plugin in the process', 'first', 'signedImport'),
    row('then first import() of 19 other signed plugins, per file', 'first', 'otherSignedImports'),
    row('readVerifiedSync unmatched file (vs readFileSync)', 'batches', 'readVerifiedUnmatched', { side: 'guarded', name: 'readFileUnmatched' }),
    row('readVerifiedSync signed prompt, cache hit (vs readFileSync)', 'batches', 'readVerifiedSigned', { side: 'guarded', name: 'readFileSigned' }),
  ];
  console.log();
  console.log(`LOADS: µs per load, timed inside one process with process.hrtime.bigint around a batch of loads (bench/guard-probe.mjs)`);
  console.log(`  (${SETTINGS.probeProcesses} rounds of one process per side; a process times ${SETTINGS.probeBatches} batches of ${SETTINGS.probeLoads} imports or ${SETTINGS.probeLoads * 4} reads per measure, after one untimed;`);
  console.log('   µs: median over rounds of each process\'s median batch (first loads: one per process); extra: median over rounds of guarded - unguarded,');
  console.log('   IQR its middle half, CPU: the same on process CPU time; unguarded: plain node, for readVerifiedSync readFileSync in the same guarded');
  console.log('   process; no-op hooks: node with pass-through module.registerHooks resolve and load hooks, the floor of any hook-based guard)');
  table(['load', 'unguarded µs', 'no-op hooks µs', 'guarded µs', 'extra µs', 'extra IQR', 'extra CPU µs'], rows);
}

/**
 * Guarded content reads: the same reads in plain node, in a guarded process
 * whose policy has no content rule (fs is not wrapped: the reads must cost
 * what plain node's do), and under content.policy.json ("content": true for
 * prompts/**: a prompt read is verified, a read no rule covers pays the
 * wrapper's path check).
 */
function contentReads(app) {
  const sides = [
    { name: 'bare', args: [CONTENT_PROBE] },
    { name: 'noContentRule', args: ['--import', REGISTER, CONTENT_PROBE] },
    { name: 'content', args: ['--import', REGISTER, CONTENT_PROBE], env: { TRUSTLOAD_POLICY: join(app.dir, 'content.policy.json') } },
  ];
  const reads = String(SETTINGS.probeLoads * 4);
  const rounds = [];
  for (let round = 0; round < SETTINGS.probeProcesses; round++) {
    const results = {};
    for (let k = 0; k < sides.length; k++) {
      const side = sides[(round + k) % sides.length];
      results[side.name] = JSON.parse(spawnTimed([...side.args, reads, String(SETTINGS.probeBatches)], app.dir, side.env).stdout);
    }
    if (results.noContentRule.wrapped || !results.content.wrapped) throw new Error('fs was wrapped where no rule says "content": true, or not wrapped where one does');
    rounds.push(results);
  }
  const per = (side, name, what) => rounds.map((r) => median(r[side].batches[name].map((x) => x[what])));
  const signed = (x) => `${x >= 0 ? '+' : ''}${x.toFixed(1)}`;
  const rows = [
    ['fs.readFileSync, a file no rule covers', 'readFileSyncUnmatched'],
    ['fs.readFileSync, a signed prompt', 'readFileSyncPrompt'],
    ['fs.promises.readFile, a signed prompt', 'readFileAsyncPrompt'],
  ].map(([label, name]) => {
    const extra = (side) => per(side, name, 'wall').map((x, i) => x - per('bare', name, 'wall')[i]);
    return [label, median(per('bare', name, 'wall')).toFixed(1), median(per('noContentRule', name, 'wall')).toFixed(1), signed(median(extra('noContentRule'))), median(per('content', name, 'wall')).toFixed(1), signed(median(extra('content'))), signed(median(per('content', name, 'cpu').map((x, i) => x - per('bare', name, 'cpu')[i])))];
  });
  console.log();
  console.log('CONTENT: µs per read, timed inside one process (bench/content-probe.mjs; rounds and batches as in LOADS, reads only)');
  console.log('  (plain: node alone; no content rule: guarded, the policy has rules but none says "content": true, so fs is Node\'s own;');
  console.log('   content: guarded, prompts/** says "content": true, so a prompt read is verified (one read, cache hit on the signer) and a read no');
  console.log('   rule covers pays the wrapper\'s path check; extra: median over rounds of the side minus plain, CPU: the same on process CPU time)');
  table(['read', 'plain µs', 'no content rule µs', 'extra µs', 'content µs', 'extra µs', 'extra CPU µs'], rows);
}

/**
 * A temp app whose lock rule covers locked/** (app.mjs, outside it, stays
 * unmatched), three policies that differ only in the lock: none, 1 entry,
 * 5,000 entries (realistic paths under node_modules, with package and version).
 */
function lockBench() {
  const dir = realpathSync(mkdtempSync(join(tmpdir(), 'trustload-bench-lock-')));
  process.on('exit', () => rmSync(dir, { recursive: true, force: true }));
  mkdirSync(join(dir, 'locked'));
  const sha = (bytes) => createHash('sha256').update(bytes).digest('hex');
  const locked = 'export default 1;\n';
  writeFileSync(join(dir, 'locked', 'a.mjs'), locked);
  writeFileSync(join(dir, 'unmatched.mjs'), locked);
  writeFileSync(join(dir, 'app.mjs'), '');
  const entry = { path: 'locked/a.mjs', sha256: sha(locked) };
  const filler = Array.from({ length: 4999 }, (_, i) => ({
    path: `node_modules/package-${String(Math.floor(i / 10)).padStart(3, '0')}/lib/file-${i % 10}.js`,
    sha256: sha(String(i)),
    package: `package-${Math.floor(i / 10)}`,
    version: '1.2.3',
  }));
  const lockText = (entries) => `{\n  "version": 1,\n  "entries": [\n    ${entries.map((e) => JSON.stringify(e)).sort().join(',\n    ')}\n  ]\n}\n`;
  const policies = { none: undefined, one: lockText([entry]), many: lockText([entry, ...filler]) };
  for (const [name, text] of Object.entries(policies)) {
    const policy = { version: 1, signers: {}, rules: [], unmatched: 'allow' };
    if (text !== undefined) {
      writeFileSync(join(dir, `${name}.lock.json`), text);
      policy.trust = { locks: { deps: { path: `./${name}.lock.json`, sha256: sha(text) } } };
      policy.rules = [{ name: 'locked', files: 'locked/**', lock: 'deps' }];
    }
    writeFileSync(join(dir, `${name}.policy.json`), JSON.stringify(policy));
  }
  const probe = `const N = Number(process.argv[2]);
const base = new URL('./', import.meta.url).href;
const time = async (file) => { const t = process.hrtime.bigint(); for (let i = 0; i < N; i++) await import(base + file + '?i=' + i + '&r=' + Math.random()); return Number(process.hrtime.bigint() - t) / 1e3 / N; };
await time('locked/a.mjs'); await time('unmatched.mjs');
const out = { locked: [], unmatched: [] };
for (let b = 0; b < 4; b++) { out.locked.push(await time('locked/a.mjs')); out.unmatched.push(await time('unmatched.mjs')); }
console.log(JSON.stringify(out));
`;
  writeFileSync(join(dir, 'probe.mjs'), probe);
  const withPolicy = (name, args) => {
    const env = { ...APP_ENV, TRUSTLOAD_POLICY: join(dir, `${name}.policy.json`) };
    const cpu = childrenCpuMs();
    const start = performance.now();
    const r = spawnSync(process.execPath, ['--import', REGISTER, ...args], { cwd: dir, env, encoding: 'utf8' });
    const ms = performance.now() - start;
    if (r.status !== 0) throw new Error(`lock bench (${name}) exited with ${r.status}: ${r.stderr}`);
    return { ms, cpuMs: cpu === undefined ? undefined : childrenCpuMs() - cpu, stdout: r.stdout };
  };
  const names = Object.keys(policies);
  const runs = Object.fromEntries(names.map((n) => [n, []]));
  for (let round = -1; round < SETTINGS.guardSpawns; round++) {
    for (let k = 0; k < names.length; k++) {
      const name = names[(Math.max(round, 0) + k) % names.length];
      const run = withPolicy(name, ['app.mjs']);
      if (round >= 0) runs[name].push(run);
    }
  }
  const wall = (n) => median(runs[n].map((x) => x.ms));
  const cpu = (n) => (runs[n][0].cpuMs === undefined ? undefined : runs[n].reduce((a, x) => a + x.cpuMs, 0) / runs[n].length);
  const rows = [
    ['policy without a lock', wall('none').toFixed(1), '', cpu('none')?.toFixed(1) ?? 'n/a', ''],
    ['a 1-entry lock (node:crypto loaded, lock read and pinned)', wall('one').toFixed(1), `+${(wall('one') - wall('none')).toFixed(1)}`, cpu('one')?.toFixed(1) ?? 'n/a', cpu('one') === undefined ? '' : `+${(cpu('one') - cpu('none')).toFixed(1)}`],
    ['a 5,000-entry lock (vs the 1-entry lock)', wall('many').toFixed(1), `+${(wall('many') - wall('one')).toFixed(1)}`, cpu('many')?.toFixed(1) ?? 'n/a', cpu('many') === undefined ? '' : `+${(cpu('many') - cpu('one')).toFixed(1)}`],
  ];
  console.log();
  console.log(`LOCK: fresh processes of a guarded empty app, the policy naming no lock, a 1-entry or a 5,000-entry lock (${policies.many.length} bytes) pinned by sha256`);
  console.log(`  (${SETTINGS.guardSpawns} spawns each, interleaved; wall: median; CPU: mean user+sys; budget (issue 12): the 5,000 entries add at most 5 ms)`);
  table(['process', 'median ms', 'extra ms', 'CPU ms', 'extra CPU ms'], rows);
  const probes = Array.from({ length: SETTINGS.probeProcesses }, () => JSON.parse(withPolicy('many', ['probe.mjs', String(SETTINGS.probeLoads)]).stdout));
  const per = (what) => median(probes.map((p) => median(p[what])));
  console.log(`  per load (import() with a fresh URL, µs, median of ${SETTINGS.probeProcesses} processes' median batch of ${SETTINGS.probeLoads}): locked ${per('locked').toFixed(1)}, unmatched ${per('unmatched').toFixed(1)}, extra ${(per('locked') - per('unmatched')).toFixed(1)} (read + SHA-256 + lookup)`);
}

/** One fresh process of the guard's benchmarks: wall time, the child's CPU time (Linux), its output. */
function spawnTimed(args, cwd, env = {}) {
  const cpu = childrenCpuMs();
  const start = performance.now();
  const r = spawnSync(process.execPath, args, { cwd, env: { ...APP_ENV, ...env }, encoding: 'utf8' });
  const ms = performance.now() - start;
  const after = childrenCpuMs();
  if (r.status !== 0) throw new Error(`node ${args.join(' ')} exited with ${r.status}: ${r.stderr}`);
  return { ms, cpuMs: cpu === undefined ? undefined : after - cpu, stdout: r.stdout };
}

/**
 * CPU milliseconds (user + system) of this process's waited-for children, from
 * /proc/self/stat (cutime, cstime); undefined where there is no /proc. Node has
 * no getrusage(RUSAGE_CHILDREN), and a child timing itself would miss its exit.
 * The kernel keeps nanoseconds but reports clock ticks (USER_HZ, 100 on Linux),
 * so one spawn's delta is off by up to 10 ms; a mean over many spawns is not.
 */
function childrenCpuMs() {
  let stat;
  try {
    stat = readFileSync('/proc/self/stat', 'utf8');
  } catch {
    return undefined;
  }
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' '); // fields from the 3rd (state) on
  return ((Number(fields[13]) + Number(fields[14])) * 1000) / 100; // cutime, cstime: fields 16 and 17
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
