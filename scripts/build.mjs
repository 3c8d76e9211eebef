// Bundles src/ into dist/ with esbuild. Everything, dependencies included,
// goes into a few ESM files so that a guarded process loads little from disk
// at start-up; types come from tsc (npm run build runs both).
import { build } from 'esbuild';
import { rmSync } from 'node:fs';

rmSync(new URL('../dist', import.meta.url), { recursive: true, force: true });

// Node builtins are taken with require(), not `import`: an ESM import of a
// builtin makes Node build an ES module facade over all of its exports (for
// node:fs, about 4 ms of a guarded process's start-up).
const builtinsViaRequire = {
  name: 'builtins-via-require',
  setup(build) {
    build.onResolve({ filter: /^node:/ }, (args) =>
      // The require() inside the stand-in module is the real one: leave it to Node.
      args.kind === 'require-call' ? { path: args.path, external: true } : { path: args.path, namespace: 'node-builtin' },
    );
    build.onLoad({ filter: /.*/, namespace: 'node-builtin' }, (args) => ({
      contents: `module.exports = require(${JSON.stringify(args.path)});`,
      loader: 'js',
    }));
  },
};

await build({
  // verifier.js and native.js are loaded lazily (src/guard/load-verifier.ts): on the first protected
  // load, and on the first native load.
  entryPoints: {
    index: 'src/index.ts',
    cli: 'src/cli/bin.ts',
    register: 'src/register-entry.ts',
    verifier: 'src/guard/verifier.ts',
    native: 'src/native/native.ts',
  },
  outdir: 'dist',
  bundle: true,
  splitting: true,
  format: 'esm',
  platform: 'node',
  target: 'node22',
  // Chunks stay next to the entries: src/trust/public-good.ts finds trust/ relative to its own file.
  chunkNames: '[name]-[hash]',
  // require() for builtins and the bundled CommonJS dependencies, without importing node:module.
  banner: { js: "const require = process.getBuiltinModule('node:module').createRequire(import.meta.url);" },
  plugins: [builtinsViaRequire],
  logLevel: 'warning',
});
