// Node's compile cache accepts an entry whose header matches the source's
// length and CRC32, and V8 only compares the length: with the cache on, a
// verified plugin's bytes are handed to Node and other bytecode runs in their
// place. A guarded process never uses a compile cache.
import { readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { crc32 } from 'node:zlib';
import t from 'tap';
import { assertClean, assertDidNotStart, makeApp, runNode } from './helpers/app.mjs';

// Same length, so the planted entry's size field matches the signed file.
const SIGNED = "console.log('SIGNED_RAN');\n";
const PLANTED = "console.log('EVIL___RAN');\n";

/** Every cache entry file below `dir`. */
function entries(dir) {
  const found = [];
  const walk = (d) => {
    for (const name of readdirSync(d)) {
      const path = join(d, name);
      if (statSync(path).isDirectory()) walk(path);
      else found.push(path);
    }
  };
  walk(dir);
  return found;
}

/**
 * An attacker who can write the cache folder (the shared temp folder by
 * default) plants an entry for the signed plugin's path: compiled from other
 * source of the same length, its header's source CRC32 (bytes 12-15) patched
 * to the signed file's.
 */
async function plantEntry(t, app, cacheDir) {
  app.write('plugins/p.cjs', PLANTED);
  const plant = await runNode(app.dir, ['main.cjs'], { guard: false, env: { CACHE_DIR: cacheDir } });
  t.match(plant.stdout, /EVIL___RAN/, 'the entry was written by an unguarded run');
  app.write('plugins/p.cjs', SIGNED);
  app.sign('plugins/p.cjs');
  const entry = entries(cacheDir).find((file) => readFileSync(file).readUInt32LE(4) === SIGNED.length);
  t.ok(entry, 'a cache entry for the plugin exists');
  const bytes = readFileSync(entry);
  bytes.writeUInt32LE(crc32(Buffer.from(SIGNED)), 12);
  writeFileSync(entry, bytes);
}

t.test('a planted compile-cache entry never runs in place of a verified plugin', async (t) => {
  const app = makeApp(t, {
    files: {
      'main.cjs': [
        "const status = require('node:module').enableCompileCache(process.env.CACHE_DIR);",
        "console.log('status', status.status);",
        "require('./plugins/p.cjs');",
      ].join('\n'),
    },
  });
  const cacheDir = app.path('cache');
  await plantEntry(t, app, cacheDir);
  const run = await runNode(app.dir, ['main.cjs'], { env: { CACHE_DIR: cacheDir } });
  assertClean(t, run);
  t.notMatch(run.stdout, /EVIL___RAN/, 'the planted bytecode did not run');
  t.match(run.stdout, /SIGNED_RAN/, 'the verified source ran');
  t.match(run.stdout, /status 3/, 'enableCompileCache answered DISABLED');
});

t.test('enableCompileCache is disabled however it is reached', async (t) => {
  const app = makeApp(t, {
    files: {
      'main.mjs': [
        "import module, { enableCompileCache, getCompileCacheDir, constants } from 'node:module';",
        "const results = [enableCompileCache(process.env.CACHE_DIR), module.enableCompileCache(), process.getBuiltinModule('module').enableCompileCache(process.env.CACHE_DIR)];",
        'console.log(JSON.stringify(results.map((r) => r.status === constants.compileCacheStatus.DISABLED)));',
        'console.log(String(getCompileCacheDir()));',
        "console.log('child', process.env.NODE_DISABLE_COMPILE_CACHE, process.env.NODE_COMPILE_CACHE);",
      ].join('\n'),
    },
  });
  const run = await runNode(app.dir, ['main.mjs'], { env: { CACHE_DIR: app.path('cache') } });
  assertClean(t, run);
  t.match(run.stdout, /\[true,true,true\]/, 'every spelling answers DISABLED');
  t.match(run.stdout, /^undefined$/m, 'no cache folder is active');
  t.match(run.stdout, /child 1 undefined/, 'children inherit NODE_DISABLE_COMPILE_CACHE=1');
});

t.test('a process started with NODE_COMPILE_CACHE does not start in enforce mode', async (t) => {
  const app = makeApp(t, { files: { 'main.cjs': "console.log('APP_RAN');\n" } });
  const run = await runNode(app.dir, ['main.cjs'], { env: { NODE_COMPILE_CACHE: app.path('cache') } });
  assertDidNotStart(t, run, { mentions: ['NODE_COMPILE_CACHE', 'compile cache'] });
});

t.test('in permissive mode NODE_COMPILE_CACHE is a warning, and each protected load warns again', async (t) => {
  const app = makeApp(t, { files: { 'plugins/p.cjs': SIGNED, 'main.cjs': "require('./plugins/p.cjs');\n" }, sign: ['plugins/p.cjs'] });
  const run = await runNode(app.dir, ['main.cjs'], { env: { NODE_COMPILE_CACHE: app.path('cache'), TRUSTLOAD_MODE: 'permissive' } });
  t.equal(run.code, 0);
  t.match(run.stderr, /WARNING: .*compile cache/, 'warns about the cache at start');
  t.match(run.stderr, /ERR_TRUSTLOAD_UNSUPPORTED_LOAD: .*plugins\/p\.cjs.*compile cache/, 'warns on the protected load');
  t.match(run.stdout, /SIGNED_RAN/);
});
