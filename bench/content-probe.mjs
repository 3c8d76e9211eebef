// Per-read costs of guarded content reads, timed inside one process. Spawned
// by bench/run.mjs in the bench's temp app, whose content.policy.json says
// `"content": true` for prompts/** (and trustload.policy.json does not):
//
//   node [--import register.mjs] bench/content-probe.mjs READS BATCHES
//
// Prints one JSON line: for each measure, microseconds per read (wall and
// process CPU time) per batch, and whether fs.readFileSync is still Node's own.
import fs from 'node:fs';

const [readsArg, batchesArg] = process.argv.slice(2);
const READS = Number(readsArg);
const BATCHES = Number(batchesArg);
const measures = [
  ['readFileSyncUnmatched', () => fs.readFileSync('unmatched.txt')],
  ['readFileSyncPrompt', () => fs.readFileSync('prompts/q0.md')],
  ['readFileAsyncPrompt', () => fs.promises.readFile('prompts/q0.md')],
];
const out = { wrapped: fs.readFileSync.name !== 'readFileSync', batches: {} };
for (const [name] of measures) out.batches[name] = [];
for (let b = -1; b < BATCHES; b++) {
  for (let k = 0; k < measures.length; k++) {
    const [name, fn] = measures[(Math.max(b, 0) + k) % measures.length];
    const n = b < 0 ? Math.ceil(READS / 5) : READS;
    const cpu = process.cpuUsage();
    const start = process.hrtime.bigint();
    for (let i = 0; i < n; i++) await fn();
    const wall = Number(process.hrtime.bigint() - start) / 1e3 / n;
    const { user, system } = process.cpuUsage(cpu);
    if (b >= 0) out.batches[name].push({ wall, cpu: (user + system) / n });
  }
}
console.log(JSON.stringify(out));
