// Per-load costs, timed inside one process. Spawned by bench/run.mjs with the
// bench's temp app as the working directory (its trustload.policy.json pins a
// P-256 key and protects plugins/** and prompts/**):
//
//   node [--import register.mjs] bench/guard-probe.mjs SIDE LOADS BATCHES
//
// SIDE: `bare` (plain node), `noop-hooks` (module.registerHooks with
// pass-through resolve and load hooks: what any hook-based guard costs before
// it does anything) or `guarded` (started with --import register.mjs).
// Prints one JSON line: for each measure, microseconds per load, wall time
// (process.hrtime.bigint) and process CPU time (process.cpuUsage: user + system,
// all threads), per batch.
import { readFileSync } from 'node:fs';
import module from 'node:module';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';

const [side, loadsArg, batchesArg] = process.argv.slice(2);
const LOADS = Number(loadsArg);
const BATCHES = Number(batchesArg);
if (!['bare', 'noop-hooks', 'guarded'].includes(side) || !(LOADS > 0) || !(BATCHES > 0)) {
  console.error('usage: node [--import register.mjs] bench/guard-probe.mjs bare|noop-hooks|guarded LOADS BATCHES');
  process.exit(2);
}
if (side === 'noop-hooks') module.registerHooks({ resolve: (s, c, next) => next(s, c), load: (u, c, next) => next(u, c) });
const api = side === 'guarded' ? await import(new URL('../dist/index.js', import.meta.url).href) : undefined;

const url = (file) => pathToFileURL(join(process.cwd(), file)).href;
const plugins = Array.from({ length: 20 }, (_, i) => url(`plugins/p${String(i).padStart(2, '0')}.mjs`));
const unmatched = url('unmatched.mjs');
// linked -> plugins: a workspace-style folder link, so every path on the way is walked and judged.
const linkedPlugin = url('linked/p00.mjs');
const out = { side, first: {}, batches: {} };

// Cold: the process's first protected load (a guarded process loads the verifier, and with it the
// Sigstore code, here), then the first load of each other plugin (distinct digests: no cache hit).
out.first.signedImport = await timedAsync(1, () => import(plugins[0]));
out.first.otherSignedImports = await timedAsync(plugins.length - 1, (i) => import(plugins[i + 1]));

// Steady state: every load a fresh module (a query string makes a new URL, so resolve and load run
// again), the measures rotating their order from batch to batch. Batch -1 warms up, untimed.
const measures = [
  ['unmatchedImport', LOADS, (b, i) => import(`${unmatched}?b=${b}&i=${i}`)],
  ['signedImport', LOADS, (b, i) => import(`${plugins[0]}?b=${b}&i=${i}`)],
  ['linkedSignedImport', LOADS, (b, i) => import(`${linkedPlugin}?b=${b}&i=${i}`)],
  ...(api === undefined
    ? []
    : [
        ['readVerifiedUnmatched', LOADS * 4, () => api.readVerifiedSync('unmatched.txt')],
        ['readFileUnmatched', LOADS * 4, () => readFileSync('unmatched.txt')],
        ['readVerifiedSigned', LOADS * 4, () => api.readVerifiedSync('prompts/q0.md')],
        ['readFileSigned', LOADS * 4, () => readFileSync('prompts/q0.md')],
      ]),
];
for (const [name] of measures) out.batches[name] = [];
for (let b = -1; b < BATCHES; b++) {
  for (let k = 0; k < measures.length; k++) {
    const [name, n, fn] = measures[(Math.max(b, 0) + k) % measures.length];
    const isAsync = name.endsWith('Import');
    const count = b < 0 ? Math.ceil(n / 5) : n;
    const t = isAsync ? await timedAsync(count, (i) => fn(b, i)) : timedSync(count, fn);
    if (b >= 0) out.batches[name].push(t);
  }
}
if (api !== undefined) out.stats = api.stats(); // checked by run.mjs: the signed loads were verified
console.log(JSON.stringify(out));

async function timedAsync(n, fn) {
  const cpu = process.cpuUsage();
  const start = process.hrtime.bigint();
  for (let i = 0; i < n; i++) await fn(i);
  return perLoad(start, cpu, n);
}

function timedSync(n, fn) {
  const cpu = process.cpuUsage();
  const start = process.hrtime.bigint();
  for (let i = 0; i < n; i++) fn(i);
  return perLoad(start, cpu, n);
}

function perLoad(start, cpu, n) {
  const wall = Number(process.hrtime.bigint() - start) / 1e3 / n;
  const { user, system } = process.cpuUsage(cpu);
  return { wall, cpu: (user + system) / n };
}
