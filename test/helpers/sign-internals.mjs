// Builds test/helpers/sign-internals.ts, with the hashing worker's entry
// beside it (the pool starts ./hash-worker.js from the bundled file), into a
// temporary folder, and imports it.
import { build } from 'esbuild';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const REPO = fileURLToPath(new URL('../../', import.meta.url));

export async function loadSignInternals() {
  const dir = mkdtempSync(join(tmpdir(), 'trustload-sign-internals-'));
  process.on('exit', () => rmSync(dir, { recursive: true, force: true }));
  writeFileSync(join(dir, 'package.json'), '{ "type": "module" }\n');
  await build({
    entryPoints: { internals: join(REPO, 'test', 'helpers', 'sign-internals.ts'), 'hash-worker': join(REPO, 'src', 'manifest', 'hash-worker.ts') },
    outdir: dir,
    bundle: true,
    splitting: true,
    format: 'esm',
    platform: 'node',
    target: 'node22',
    chunkNames: '[name]-[hash]',
    banner: { js: "const require = process.getBuiltinModule('node:module').createRequire(import.meta.url);" },
    logLevel: 'warning',
  });
  return import(pathToFileURL(join(dir, 'internals.js')).href);
}
