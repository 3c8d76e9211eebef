// A race: another process swaps a signed plugin for unsigned content in a
// tight loop (in-place rewrites and atomic renames) while a guarded process
// loads it again and again. The guard reads a file once and hands Node the
// bytes it verified, so only the signed code may ever run: the unsigned
// marker never appears, and every load that succeeded ran the signed code.
import { existsSync, writeFileSync } from 'node:fs';
import t from 'tap';
import { INDEX, makeApp, runNode } from './helpers/app.mjs';

const LOADS = 200;
const TIME_LIMIT_MS = 15_000;

// Same length, so a torn in-place write mixes the two into text that looks like either.
const SIGNED = "globalThis.__signedRuns = (globalThis.__signedRuns ?? 0) + 1; console.log('SIGNED_RAN');\n";
const UNSIGNED = "globalThis.__signedRuns = (globalThis.__signedRuns ?? 0) + 0; console.log('UNSIGN_RAN');\n";

// The swapper (unguarded): alternates the file between the two contents until told to stop.
const SWAPPER = `
import { existsSync, renameSync, writeFileSync } from 'node:fs';
const [file, stop, ready, signedText, unsignedText, limit] = process.argv.slice(2);
const deadline = Date.now() + Number(limit);
const signed = Buffer.from(signedText);
const unsigned = Buffer.from(unsignedText);
let swaps = 0;
const spin = (ms) => { const end = performance.now() + ms; while (performance.now() < end); };
while (Date.now() < deadline && !existsSync(stop)) {
  // In place (truncate then write: a reader may see an empty or half-written file) ...
  writeFileSync(file, unsigned);
  spin(0.2);
  writeFileSync(file, signed);
  spin(0.5);
  // ... and by atomic rename.
  writeFileSync(file + '.tmp', unsigned);
  renameSync(file + '.tmp', file);
  spin(0.2);
  writeFileSync(file + '.tmp', signed);
  renameSync(file + '.tmp', file);
  spin(0.5);
  swaps += 4;
  if (swaps === 40) writeFileSync(ready, '');
}
writeFileSync(file, signed);
console.log('SWAPS ' + swaps);
`;

// What the guarded process does while the file is being swapped.
const LOADERS = {
  'fresh import() with a ?query': {
    entry: 'main.mjs',
    plugin: 'plugins/p.mjs',
    load: "await import('./plugins/p.mjs?n=' + i);",
  },
  'require() after deleting the require cache': {
    entry: 'main.mjs',
    plugin: 'plugins/p.cjs',
    load: "delete require.cache[pluginPath]; require(pluginPath);",
  },
  'readVerifiedSync (the API returns the bytes it verified)': {
    entry: 'main.mjs',
    plugin: 'plugins/p.mjs',
    load: "const bytes = readVerifiedSync(pluginPath).toString(); if (bytes !== SIGNED) console.log('API_RETURNED_OTHER_BYTES ' + JSON.stringify(bytes)); else globalThis.__signedRuns = (globalThis.__signedRuns ?? 0) + 1;",
  },
};

const mainFor = (loader) => `
import { existsSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { readVerifiedSync } from ${JSON.stringify(INDEX)};
const require = createRequire(import.meta.url);
const pluginPath = join(import.meta.dirname, ${JSON.stringify(loader.plugin)});
const SIGNED = ${JSON.stringify(SIGNED)};
const [stop, ready] = process.argv.slice(2);
const waitUntil = Date.now() + 10000;
while (!existsSync(ready) && Date.now() < waitUntil) await new Promise((r) => setTimeout(r, 5));
const deadline = Date.now() + ${TIME_LIMIT_MS};
let ok = 0;
let refused = 0;
const codes = {};
let i = 0;
// At least LOADS loads, and on until one has met a swapped file and one has met the signed one: a race
// that never raced proves nothing, and on a loaded machine the swapper can win a few hundred in a row.
for (; (i < ${LOADS} || refused === 0 || ok === 0) && Date.now() < deadline; i++) {
  try {
    ${loader.load}
    ok++;
  } catch (err) {
    refused++;
    codes[err.code] = (codes[err.code] ?? 0) + 1;
  }
}
writeFileSync(stop, '');
console.log('RESULT ' + JSON.stringify({ started: existsSync(ready), loads: i, ok, refused, codes, signedRuns: globalThis.__signedRuns ?? 0 }));
`;

for (const [name, loader] of Object.entries(LOADERS)) {
  t.test(`race: ${name}`, async (t) => {
    const app = makeApp(t, {
      files: { 'main.mjs': mainFor(loader), 'swapper.mjs': SWAPPER, [loader.plugin]: SIGNED },
      sign: [loader.plugin],
    });
    const stop = app.path('stop');
    const ready = app.path('ready');
    t.teardown(() => existsSync(stop) || writeFileSync(stop, ''));

    const swapper = runNode(app.dir, ['swapper.mjs', app.path(loader.plugin), stop, ready, SIGNED, UNSIGNED, String(TIME_LIMIT_MS + 10_000)], {
      guard: false,
      timeout: TIME_LIMIT_MS + 20_000,
    });
    const guarded = await runNode(app.dir, [loader.entry, stop, ready], { timeout: TIME_LIMIT_MS + 15_000 });
    if (!existsSync(stop)) writeFileSync(stop, '');
    const swapped = await swapper;

    t.notOk(guarded.timedOut, 'the guarded process finished in time');
    t.equal(guarded.code, 0, `the guarded process exits 0\n${guarded.stderr.slice(0, 2000)}`);
    t.equal(swapped.code, 0, `the swapper exits 0\n${swapped.stderr}`);
    const line = guarded.stdout.split('\n').find((l) => l.startsWith('RESULT '));
    t.ok(line, 'the guarded process reported');
    const result = JSON.parse(line?.slice('RESULT '.length) ?? '{}');
    t.comment(`${JSON.stringify(result)}; ${swapped.stdout.trim()}`);

    t.ok(result.started, 'the swapper was running before the loads began');
    t.notOk(guarded.stdout.includes('UNSIGN_RAN'), 'the unsigned code never ran');
    t.notOk(guarded.stdout.includes('API_RETURNED_OTHER_BYTES'), 'the API never returned bytes other than the signed ones');
    const stray = guarded.stdout.split('\n').filter((l) => l !== '' && l !== 'SIGNED_RAN' && !l.startsWith('RESULT '));
    t.same(stray, [], 'nothing but the signed code printed anything');
    t.ok(result.ok > 0, `some loads were verified (${result.ok} of ${result.loads})`);
    t.equal(result.signedRuns, result.ok, 'every load that succeeded ran the signed code');
    t.ok(result.refused > 0, `the race was real: some loads were refused (${result.refused})`);
    const codes = Object.keys(result.codes ?? {});
    t.ok(codes.every((code) => /^ERR_TRUSTLOAD_/.test(code)), `every refusal is a trustload refusal: ${codes.join(', ')}`);
    for (const l of guarded.stderr.split('\n').filter((l) => l !== '')) {
      if (!/^trustload: ERR_TRUSTLOAD_[A-Z_]+: /.test(l)) {
        t.fail(`unexpected stderr line: ${l}`);
        break;
      }
    }
  });
}
