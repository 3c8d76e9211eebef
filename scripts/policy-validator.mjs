// Generates, from the zod policy schema (src/policy/schema.ts), a plain
// validator for the success path: a valid policy is accepted without loading
// zod, which then runs only to explain a failure (src/policy/explain-policy.ts).
//
// The generated isValidPolicy(value) is true only where zod's safeParse
// succeeds AND returns the same data: anything zod would transform or strip
// (a "__proto__" key, a symbol or non-enumerable key in a record, an object
// with a foreign prototype) is answered false and left to zod. The schema may
// use only the node types and checks implemented here: anything else stops
// the build, so the two cannot silently drift (test/policy-validator.test.mjs
// compares them on generated policies).

/**
 * @param schema the zod/mini schema object
 * @param refinements the module of named predicates the schema's z.refine() calls use
 * @param refinementsImport the module specifier the generated code imports them from
 * @returns the source of an ES module exporting isValidPolicy(value): boolean
 */
export function generateValidator(schema, refinements, refinementsImport) {
  const refinementNames = new Map(Object.entries(refinements).map(([name, fn]) => [fn, name]));
  const functions = new Map(); // schema node -> generated function name
  const bodies = [];
  const regexes = [];

  const unsupported = (what) => {
    throw new Error(`policy validator: the schema uses ${what}, which scripts/policy-validator.mjs does not generate: implement it there (and in its test) or leave it out`);
  };
  const literal = (value) => {
    if (!['string', 'number', 'boolean'].includes(typeof value) && value !== null) unsupported(`a literal ${String(value)}`);
    return JSON.stringify(value);
  };

  const checks = (def, kind) =>
    (def.checks ?? []).map(({ _zod: { def: check } }) => {
      switch (check.check) {
        case 'min_length':
          return `v.length >= ${check.minimum}`;
        case 'max_length':
          return `v.length <= ${check.maximum}`;
        case 'string_format': {
          if (check.format !== 'regex' || kind !== 'string') unsupported(`the string format ${check.format}`);
          if (/[gy]/.test(check.pattern.flags)) unsupported('a global or sticky regex');
          regexes.push(`new RegExp(${JSON.stringify(check.pattern.source)}, ${JSON.stringify(check.pattern.flags)})`);
          return `re${regexes.length - 1}.test(v)`;
        }
        case 'custom': {
          const name = refinementNames.get(check.fn);
          if (name === undefined) unsupported('a z.refine() whose function is not exported by src/policy/refinements.ts');
          return `r.${name}(v)`;
        }
        default:
          return unsupported(`the check ${check.check}`);
      }
    });

  // The name of the function validating `node`, generating it on first use.
  const fn = (node) => {
    if (functions.has(node)) return functions.get(node);
    const name = `v${functions.size}`;
    functions.set(node, name);
    const def = node._zod.def;
    const lines = [];
    const require = (condition) => lines.push(`if (!(${condition})) return false;`);
    switch (def.type) {
      case 'string':
      case 'boolean':
        require(`typeof v === '${def.type}'`);
        break;
      case 'literal':
        require(def.values.map((value) => `v === ${literal(value)}`).join(' || '));
        break;
      case 'enum':
        require(Object.values(def.entries).map((value) => `v === ${literal(value)}`).join(' || '));
        break;
      case 'optional':
        lines.push('if (v === undefined) return true;');
        require(`${fn(def.innerType)}(v)`);
        break;
      case 'union':
        require(def.options.map((option) => `${fn(option)}(v)`).join(' || '));
        break;
      case 'array':
        require('Array.isArray(v)');
        lines.push(`for (let i = 0; i < v.length; i++) if (!${fn(def.element)}(v[i])) return false;`);
        break;
      case 'object': {
        // Strict objects only: a stripping or passthrough object's output is not its input.
        if (def.catchall?._zod.def.type !== 'never') unsupported('an object that is not z.strictObject');
        const keys = Object.keys(def.shape);
        require("typeof v === 'object' && v !== null && !Array.isArray(v)");
        // Every enumerable key, inherited ones included, as zod's strict mode looks at them.
        lines.push(`for (const k in v) if (!(${keys.map((k) => `k === ${literal(k)}`).join(' || ') || 'false'})) return false;`);
        for (const key of keys) require(`${fn(def.shape[key])}(v[${literal(key)}])`);
        break;
      }
      case 'record':
        if (def.keyType._zod.def.type === 'enum' && !def.partial) unsupported('a z.record() with enum keys (use z.partialRecord)');
        require('isPlainRecord(v)');
        lines.push(
          'for (const k of Reflect.ownKeys(v)) {',
          `  if (typeof k !== 'string' || k === '__proto__' || !Object.prototype.propertyIsEnumerable.call(v, k)) return false;`,
          `  if (!${fn(def.keyType)}(k) || !${fn(def.valueType)}(v[k])) return false;`,
          '}',
        );
        break;
      default:
        unsupported(`the type ${def.type}`);
    }
    for (const check of checks(def, def.type)) require(check);
    bodies.push(`function ${name}(v) {\n  ${lines.join('\n  ')}\n  return true;\n}`);
    return name;
  };

  const root = fn(schema);
  return [
    '// Generated at build time by scripts/policy-validator.mjs from src/policy/schema.ts: do not edit.',
    `import * as r from ${JSON.stringify(refinementsImport)};`,
    ...regexes.map((source, i) => `const re${i} = ${source};`),
    // What zod's isPlainObject accepts, narrowed to the prototypes a policy has (JSON's, or none).
    'function isPlainRecord(v) {',
    "  if (typeof v !== 'object' || v === null || Array.isArray(v)) return false;",
    '  const proto = Object.getPrototypeOf(v);',
    "  return proto === null || (proto === Object.prototype && !Object.hasOwn(v, 'constructor'));",
    '}',
    ...bodies,
    `export function isValidPolicy(v) {\n  return ${root}(v);\n}`,
    '',
  ].join('\n');
}

/**
 * The policy schema as the build sees it: src/policy/schema.ts bundled with
 * the refinements it calls and the zod it was built with (toJSONSchema).
 */
export async function loadPolicySchema(repo) {
  const { build } = await import('esbuild');
  const { mkdtempSync, rmSync } = await import('node:fs');
  const { tmpdir } = await import('node:os');
  const { join } = await import('node:path');
  const { pathToFileURL } = await import('node:url');
  const dir = mkdtempSync(join(tmpdir(), 'trustload-policy-schema-'));
  try {
    const outfile = join(dir, 'schema.mjs');
    await build({
      stdin: {
        contents: "export { PolicySchema } from './schema.ts'; export * as refinements from './refinements.ts'; export { toJSONSchema } from 'zod/mini';",
        resolveDir: join(repo, 'src', 'policy'),
        loader: 'ts',
      },
      outfile,
      bundle: true,
      format: 'esm',
      platform: 'node',
      logLevel: 'warning',
    });
    return await import(pathToFileURL(outfile).href);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/**
 * The esbuild plugin that answers src/policy/load-policy.ts's import of
 * ./policy-validator.js with the generated code (its types:
 * src/policy/policy-validator.d.ts). Any bundle of src/ needs it.
 */
export async function policyValidatorPlugin(repo, schema) {
  const { PolicySchema, refinements } = schema ?? (await loadPolicySchema(repo));
  const { join } = await import('node:path');
  const source = generateValidator(PolicySchema, refinements, './refinements.js');
  return {
    name: 'policy-validator',
    setup(build) {
      build.onResolve({ filter: /^\.\/policy-validator\.js$/ }, (args) => ({ path: join(args.resolveDir, 'policy-validator.js'), namespace: 'policy-validator' }));
      build.onLoad({ filter: /.*/, namespace: 'policy-validator' }, () => ({ contents: source, loader: 'js', resolveDir: join(repo, 'src', 'policy') }));
    },
  };
}
