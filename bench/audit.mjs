// The audit trail's cost per decision (bench/run.mjs AUDIT section): the
// guard-probe's per-load measures in a guarded process whose policy appends
// every decision to an audit file, against the same policy without `audit`.
// Rounds of one process per side, back to back, the order alternating.
import { spawnSync } from 'node:child_process';
import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

const ROUNDS = 8;
const LOADS = 300;
const BATCHES = 4;

export function auditBench(app, { table, median, quantile, env, probe, register }) {
  const policy = JSON.parse(readFileSync(join(app.dir, 'trustload.policy.json'), 'utf8'));
  const audited = join(app.dir, 'trustload.audit.policy.json');
  const log = join(app.dir, 'bench-audit.log');
  writeFileSync(audited, `${JSON.stringify({ ...policy, audit: { path: './bench-audit.log' } }, null, 2)}\n`);
  const sides = [
    { name: 'none', env },
    { name: 'audit', env: { ...env, TRUSTLOAD_POLICY: audited } },
  ];
  const rounds = [];
  for (let round = 0; round < ROUNDS; round++) {
    const results = {};
    for (let k = 0; k < sides.length; k++) {
      const side = sides[(round + k) % sides.length];
      const r = spawnSync(process.execPath, ['--import', register, probe, 'guarded', String(LOADS), String(BATCHES)], { cwd: app.dir, env: side.env, encoding: 'utf8' });
      if (r.status !== 0) throw new Error(`the ${side.name} probe exited with ${r.status}: ${r.stderr}`);
      results[side.name] = JSON.parse(r.stdout);
    }
    rounds.push(results);
  }
  const lines = readFileSync(log, 'utf8').split('\n').length - 1;
  rmSync(log, { force: true });
  const per = (side, name, what) => rounds.map((r) => median(r[side].batches[name].map((x) => x[what])));
  const row = (label, name) => {
    const extra = (what) => per('audit', name, what).map((a, i) => a - per('none', name, what)[i]);
    const signed = (x) => `${x >= 0 ? '+' : ''}${x.toFixed(1)}`;
    const wall = extra('wall');
    return [label, median(per('none', name, 'wall')).toFixed(1), median(per('audit', name, 'wall')).toFixed(1), signed(median(wall)), `${signed(quantile(wall, 0.25))}..${signed(quantile(wall, 0.75))}`, signed(median(extra('cpu')))];
  };
  console.log();
  console.log(`AUDIT: µs per decision with "audit": { "path": ... } against the same policy without it (bench/guard-probe.mjs, guarded side;`);
  console.log(`  ${ROUNDS} rounds of one process per side; each decision is one line: open, one O_APPEND write, close; ${lines} lines written in all)`);
  table(['decision', 'no audit µs', 'audit µs', 'extra µs', 'extra IQR', 'extra CPU µs'], [
    row('import() unmatched file (unmatched)', 'unmatchedImport'),
    row('import() signed plugin, cache hit (verified)', 'signedImport'),
    row('readVerifiedSync signed prompt (verified)', 'readVerifiedSigned'),
    row('readVerifiedSync unmatched file (unmatched)', 'readVerifiedUnmatched'),
  ]);
}
