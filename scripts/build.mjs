// Bundles src/ into dist/ with esbuild. Everything, dependencies included,
// goes into a few ESM files so that a guarded process loads little from disk
// at start-up; types come from tsc (npm run build runs both).
import { build } from 'esbuild';
import { createHash } from 'node:crypto';
import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import { basename } from 'node:path';

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

const { metafile } = await build({
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
  metafile: true,
});
embedInternalDigests(metafile);

/**
 * The guard's hooks stand aside only for its own verifier files while it
 * loads them (src/guard/load-verifier.ts), recognised by name and SHA-256:
 * the digests of dist/verifier.js, dist/native.js and every chunk they import are written into
 * the files that hold the placeholder, which must not be among them.
 */
function embedInternalDigests({ outputs }) {
  const PLACEHOLDER = '"__TRUSTLOAD_INTERNAL_FILES__"';
  const internal = new Set();
  const visit = (file) => {
    if (internal.has(file)) return;
    internal.add(file);
    for (const { path, kind } of outputs[file].imports) if (kind === 'import-statement' && outputs[path]) visit(path);
  };
  visit('dist/verifier.js');
  visit('dist/native.js');
  const digests = {};
  for (const file of internal) digests[basename(file)] = createHash('sha256').update(readFileSync(file)).digest('hex');
  const holders = Object.keys(outputs).filter((file) => file.endsWith('.js') && readFileSync(file, 'utf8').includes(PLACEHOLDER));
  if (holders.length === 0 || holders.some((file) => internal.has(file))) {
    throw new Error(`build: the internal-digest placeholder is in ${holders.join(', ') || 'no file'}; it must be outside ${[...internal].join(', ')}`);
  }
  for (const file of holders) writeFileSync(file, readFileSync(file, 'utf8').replaceAll(PLACEHOLDER, JSON.stringify(JSON.stringify(digests))));
}
