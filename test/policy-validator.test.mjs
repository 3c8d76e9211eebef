// The validator generated at build time from the zod policy schema
// (scripts/policy-validator.mjs) decides alone for every policy it accepts,
// so it must never disagree with zod: on policies generated from the schema
// itself (every field, optional ones present or not) and on single-field
// mutations of them (a key removed, a value replaced by any JSON value, an
// unknown or "__proto__" key added). It may only answer "no" where zod says
// yes with other data than it was given (what zod strips), which then goes
// to zod. At least 30% of the samples must be valid, or the property says
// little about the success path.
import fc from 'fast-check';
import { build } from 'esbuild';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { isDeepStrictEqual } from 'node:util';
import t from 'tap';
import { generateValidator, loadPolicySchema } from '../scripts/policy-validator.mjs';

const REPO = fileURLToPath(new URL('..', import.meta.url));
const RUNS = Number(process.env.POLICY_VALIDATOR_RUNS ?? 3000);

const { PolicySchema, refinements } = await loadPolicySchema(REPO);
const isValidPolicy = await generatedValidator();

async function generatedValidator() {
  const dir = mkdtempSync(join(tmpdir(), 'trustload-validator-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  await build({
    entryPoints: [join(REPO, 'src', 'policy', 'refinements.ts')],
    outfile: join(dir, 'refinements.mjs'),
    bundle: true,
    format: 'esm',
    platform: 'node',
    logLevel: 'warning',
  });
  writeFileSync(join(dir, 'validator.mjs'), generateValidator(PolicySchema, refinements, './refinements.mjs'));
  return (await import(pathToFileURL(join(dir, 'validator.mjs')).href)).isValidPolicy;
}

// Values for what a z.refine() checks on a string, mostly ones that pass.
const REFINED_STRINGS = {
  isIdentityPattern: fc.constantFrom('^a$', '^https://github\\.com/acme/.*$', '^[a-z]+@example\\.com$', '^(?:x|y)$', 'no-anchors', '^(unclosed$', '^a\\$'),
  isAbsoluteDir: fc.constantFrom('/', '/srv/app', '/tmp/x y', 'relative/dir'),
};

/** An arbitrary of values shaped by a zod/mini schema node, as the generator reads the same nodes. */
function arbitraryOf(node) {
  const def = node._zod.def;
  const checks = (def.checks ?? []).map((c) => c._zod.def);
  const minLength = checks.find((c) => c.check === 'min_length')?.minimum ?? 0;
  switch (def.type) {
    case 'string': {
      const regex = checks.find((c) => c.check === 'string_format');
      if (regex) return fc.stringMatching(regex.pattern);
      const custom = checks.find((c) => c.check === 'custom');
      if (custom) return REFINED_STRINGS[Object.entries(refinements).find(([, fn]) => fn === custom.fn)[0]];
      return fc.string({ minLength, maxLength: 12 });
    }
    case 'boolean':
      return fc.boolean();
    case 'literal':
      return fc.constantFrom(...def.values);
    case 'enum':
      return fc.constantFrom(...Object.values(def.entries));
    case 'optional':
      return arbitraryOf(def.innerType);
    case 'union':
      return fc.oneof(...def.options.map(arbitraryOf));
    case 'array':
      return fc.array(arbitraryOf(def.element), { minLength, maxLength: minLength + 2 });
    case 'object': {
      const shape = Object.fromEntries(Object.entries(def.shape).map(([k, v]) => [k, arbitraryOf(v)]));
      const requiredKeys = Object.keys(def.shape).filter((k) => def.shape[k]._zod.def.type !== 'optional');
      const record = fc.record(shape, { requiredKeys });
      // An object with refinements (a rule: signers or lock) mostly satisfies them, so that whole policies stay valid often enough.
      const refined = checks.filter((c) => c.check === 'custom').map((c) => c.fn);
      if (refined.length === 0) return record;
      return fc.oneof({ weight: 4, arbitrary: record.filter((value) => refined.every((fn) => fn(value))) }, { weight: 1, arbitrary: record });
    }
    case 'record':
      return fc.dictionary(arbitraryOf(def.keyType), arbitraryOf(def.valueType), { maxKeys: 2 });
    default:
      throw new Error(`no arbitrary for ${def.type}: extend this test with the generator`);
  }
}

/** Every path to a value inside `value`, the root included. */
function paths(value, at = []) {
  const found = [at];
  if (value !== null && typeof value === 'object') for (const key of Object.keys(value)) found.push(...paths(value[key], [...at, key]));
  return found;
}

const mutation = fc.record({
  at: fc.nat(),
  op: fc.constantFrom('delete', 'replace', 'add-key', 'add-proto'),
  value: fc.oneof(fc.jsonValue({ maxDepth: 2 }), fc.constantFrom(undefined, '', 0, -1, 1.5, true, null, [], {}, 'x'.repeat(65))),
  key: fc.oneof(fc.constantFrom('version', 'rules', 'identity', 'path', 'unknown', 'constructor', 'toString'), fc.string({ maxLength: 6 })),
});

function mutate(policy, { at, op, value, key }) {
  const copy = structuredClone(policy);
  const all = paths(copy);
  const path = all[at % all.length];
  if (path.length === 0 && op !== 'add-key' && op !== 'add-proto') return value;
  const parent = path.slice(0, -1).reduce((v, k) => v[k], copy);
  const target = path.reduce((v, k) => v[k], copy);
  if (op === 'delete') {
    if (Array.isArray(parent)) parent.splice(Number(path.at(-1)), 1);
    else delete parent[path.at(-1)];
  } else if (op === 'replace') {
    parent[path.at(-1)] = value;
  } else if (target !== null && typeof target === 'object' && !Array.isArray(target)) {
    // An own "__proto__" key, as JSON.parse makes it.
    if (op === 'add-proto') Object.defineProperty(target, '__proto__', { value, enumerable: true, writable: true, configurable: true });
    else target[key] = value;
  }
  return copy;
}

// Equal as the loader sees them: it copies the policy into objects without a prototype.
function sameData(a, b) {
  const plain = (v) =>
    Array.isArray(v) ? v.map(plain) : v !== null && typeof v === 'object' ? Object.fromEntries(Reflect.ownKeys(v).map((k) => [k, plain(v[k])])) : v;
  return isDeepStrictEqual(plain(a), plain(b));
}

const sample = fc.oneof(
  { weight: 3, arbitrary: arbitraryOf(PolicySchema) },
  { weight: 2, arbitrary: fc.tuple(arbitraryOf(PolicySchema), mutation).map(([policy, m]) => mutate(policy, m)) },
);

t.test('the generated validator and zod never disagree', (t) => {
  let valid = 0;
  let total = 0;
  fc.assert(
    fc.property(sample, (policy) => {
      total++;
      const zod = PolicySchema.safeParse(policy);
      const generated = isValidPolicy(policy);
      if (zod.success) valid++;
      if (generated) return zod.success && sameData(zod.data, policy);
      // "No" is only right where zod says no, or yes with other data (then zod decides).
      return !zod.success || !sameData(zod.data, policy);
    }),
    { numRuns: RUNS },
  );
  const share = valid / total;
  t.comment(`${valid} of ${total} samples valid (${(share * 100).toFixed(1)}%)`);
  t.ok(share >= 0.3, `at least 30% of the samples are valid policies (${(share * 100).toFixed(1)}%)`);
  t.end();
});

t.test('what zod would strip goes to zod', (t) => {
  const policy = { version: 1, signers: {}, rules: [] };
  t.ok(isValidPolicy(policy), 'a minimal policy');
  t.ok(isValidPolicy(Object.assign(Object.create(null), policy)), 'without a prototype, as the loader copies it');
  const proto = { version: 1, signers: {}, rules: [] };
  Object.defineProperty(proto.signers, '__proto__', { value: { key: 'k' }, enumerable: true });
  t.notOk(isValidPolicy(proto), 'a record with an own "__proto__" key');
  t.notOk(isValidPolicy({ ...policy, signers: { [Symbol('s')]: { key: 'k' } } }), 'a record with a symbol key');
  t.notOk(isValidPolicy({ ...policy, rules: [], extra: undefined }), 'an unknown key, even undefined');
  t.ok(isValidPolicy({ ...policy, $schema: './node_modules/trustload/schema/policy.schema.json' }), 'a "$schema" key');
  t.end();
});
