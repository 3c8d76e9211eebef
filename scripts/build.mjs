// Bundles src/ into dist/ with esbuild. Everything, dependencies included,
// goes into a few ESM files so that a guarded process loads little from disk
// at start-up; types come from tsc (npm run build runs both).
import { build } from 'esbuild';
import { createHash } from 'node:crypto';
import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { basename, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { dependencyPatchesPlugin } from './dependency-patches.mjs';
import { loadPolicySchema, policyValidatorPlugin } from './policy-validator.mjs';

const REPO = fileURLToPath(new URL('..', import.meta.url));
rmSync(new URL('../dist', import.meta.url), { recursive: true, force: true });

// The policy schema, once: the validator the guard runs on the success path, and the JSON Schema
// that ships for editors (package.json exports it); zod itself stays out of start-up.
const policySchema = await loadPolicySchema(REPO);
mkdirSync(join(REPO, 'schema'), { recursive: true });
writeFileSync(join(REPO, 'schema', 'policy.schema.json'), `${JSON.stringify(policyJsonSchema(policySchema), null, 2)}\n`);

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
  // load, and on the first native load; policy-explain.js (zod) for a policy the generated validator did not
  // accept. hash-worker.js is the entry of the threads that hash large
  // signed directories (src/manifest/hash-pool.ts).
  entryPoints: {
    index: 'src/index.ts',
    cli: 'src/cli/bin.ts',
    register: 'src/register-entry.ts',
    verifier: 'src/guard/verifier.ts',
    native: 'src/native/native.ts',
    'policy-explain': 'src/policy/explain-policy.ts',
    'hash-worker': 'src/manifest/hash-worker.ts',
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
  plugins: [builtinsViaRequire, await policyValidatorPlugin(REPO, policySchema), dependencyPatchesPlugin()],
  minify: true,
  keepNames: true,
  logLevel: 'warning',
  metafile: true,
});
embedOwnDigests(metafile);

/**
 * trustload recognises its own files by name and SHA-256
 * (src/guard/load-verifier.ts): while it loads its verifier, the hooks let
 * exactly dist/verifier.js, dist/native.js and the chunks they import
 * through; under `unmatched: deny`, register.mjs and any file of dist/ load
 * when their bytes match. The digests are written into the files that hold
 * the placeholder, which are therefore not among them: dist/register.js must
 * load those before the hooks exist.
 */
function embedOwnDigests({ outputs }) {
  const PLACEHOLDER = '"__TRUSTLOAD_OWN_FILES__"';
  const files = Object.keys(outputs).filter((file) => file.endsWith('.js'));
  const holders = files.filter((file) => readFileSync(file, 'utf8').includes(PLACEHOLDER));
  // A file and every chunk it imports, statically.
  const closure = (entries) => {
    const found = new Set();
    const visit = (file) => {
      if (found.has(file)) return;
      found.add(file);
      for (const { path, kind } of outputs[file].imports) if (kind === 'import-statement' && outputs[path]) visit(path);
    };
    entries.forEach(visit);
    return found;
  };
  const lazy = closure(['dist/verifier.js', 'dist/native.js', 'dist/policy-explain.js']);
  const beforeHooks = closure(['dist/register.js']);
  if (holders.length === 0 || holders.some((file) => lazy.has(file) || !beforeHooks.has(file))) {
    throw new Error(`build: the own-files placeholder is in ${holders.join(', ') || 'no file'}; it must be in what dist/register.js imports, outside ${[...lazy].join(', ')}`);
  }
  const sha256 = (file) => createHash('sha256').update(readFileSync(file)).digest('hex');
  // register.mjs too: a worker inherits the `--import` of it that started this process, and loads it again under its own guard.
  const digests = { '../register.mjs': sha256('register.mjs') };
  for (const file of files) if (!holders.includes(file)) digests[basename(file)] = sha256(file);
  const own = JSON.stringify({ files: digests, lazy: [...lazy].map((file) => basename(file)) });
  for (const file of holders) writeFileSync(file, readFileSync(file, 'utf8').replaceAll(PLACEHOLDER, JSON.stringify(own)));
}

/**
 * The policy's JSON Schema, for editors: what a policy's "$schema" names.
 * Refinements (one of identity or identityPattern, valid patterns) are code,
 * not JSON Schema: trustload checks them when it loads the policy.
 */
function policyJsonSchema({ PolicySchema, toJSONSchema }) {
  const { version } = JSON.parse(readFileSync(join(REPO, 'package.json'), 'utf8'));
  return {
    ...toJSONSchema(PolicySchema, { io: 'input', unrepresentable: 'throw' }),
    $id: `https://unpkg.com/trustload@${version}/schema/policy.schema.json`,
    title: 'trustload policy',
  };
}
