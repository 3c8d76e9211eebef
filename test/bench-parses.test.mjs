// `npm run bench` is where every cost figure comes from, and nothing else runs it: a merge once
// left bench/run.mjs unparsable. Each bench file must at least parse.
import { execFileSync } from 'node:child_process';
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import t from 'tap';
import { ROOT } from './helpers/app.mjs';

const BENCH = join(ROOT, 'bench');
for (const name of readdirSync(BENCH).filter((n) => n.endsWith('.mjs'))) {
  t.doesNotThrow(() => execFileSync(process.execPath, ['--check', join(BENCH, name)], { stdio: 'pipe' }), `bench/${name} parses`);
}
