// Bundles src/ into dist/ with esbuild. Everything, dependencies included,
// goes into a few ESM files so that a guarded process loads little from disk
// at start-up; types come from tsc (npm run build runs both).
import { build } from 'esbuild';
import { rmSync } from 'node:fs';

rmSync(new URL('../dist', import.meta.url), { recursive: true, force: true });

await build({
  // verifier.js is loaded lazily (src/guard/load-verifier.ts), on the first protected load.
  entryPoints: { index: 'src/index.ts', cli: 'src/cli/bin.ts', register: 'src/register-entry.ts', verifier: 'src/guard/verifier.ts' },
  outdir: 'dist',
  bundle: true,
  splitting: true,
  format: 'esm',
  platform: 'node',
  target: 'node22',
  // Chunks stay next to the entries: src/trust/public-good.ts finds trust/ relative to its own file.
  chunkNames: '[name]-[hash]',
  // The bundled CommonJS dependencies call require() for node builtins.
  banner: { js: "import { createRequire as __trustloadRequire } from 'node:module'; const require = __trustloadRequire(import.meta.url);" },
  // Errors print as TrustloadError, not a minifier-style _TrustloadError.
  keepNames: true,
  logLevel: 'warning',
});
