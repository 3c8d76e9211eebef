// Builds test/fuzz/entry.ts into a temporary folder and imports it. The
// shipped root is found at ../trust/ from the bundled file, so the entry is
// written to <tmp>/build/entry.js next to <tmp>/trust (a link to trust/), and
// the lazily loaded verifier chunk to <tmp>/build/verifier.js beside it, in
// a folder whose package.json says ESM (as dist/ is, inside the package);
// and policy-explain.js, which load-policy.ts loads for a policy the
// generated validator (scripts/policy-validator.mjs) does not accept.
import { build } from 'esbuild';
import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { dependencyPatchesPlugin } from '../../scripts/dependency-patches.mjs';
import { policyValidatorPlugin } from '../../scripts/policy-validator.mjs';

const REPO = fileURLToPath(new URL('../../', import.meta.url));

export async function loadInternals() {
  const dir = mkdtempSync(join(tmpdir(), 'trustload-fuzz-'));
  process.on('exit', () => rmSync(dir, { recursive: true, force: true }));
  symlinkSync(join(REPO, 'trust'), join(dir, 'trust'), 'dir');
  mkdirSync(join(dir, 'build'));
  writeFileSync(join(dir, 'build', 'package.json'), '{ "type": "module" }\n');
  await build({
    entryPoints: {
      entry: join(REPO, 'test', 'fuzz', 'entry.ts'),
      verifier: join(REPO, 'src', 'guard', 'verifier.ts'),
      'policy-explain': join(REPO, 'src', 'policy', 'explain-policy.ts'),
    },
    outdir: join(dir, 'build'),
    bundle: true,
    splitting: true,
    format: 'esm',
    platform: 'node',
    target: 'node22',
    chunkNames: '[name]-[hash]',
    banner: { js: "const require = process.getBuiltinModule('node:module').createRequire(import.meta.url);" },
    plugins: [await policyValidatorPlugin(REPO), dependencyPatchesPlugin()],
    logLevel: 'warning',
  });
  return import(pathToFileURL(join(dir, 'build', 'entry.js')).href);
}
