// Generated broken policies: a policy that uses every feature (pinned roots
// and keys, an inline key, keyless signers with a pattern and claims, key
// signers with and without a log, rules with lists of globs), mutated (JSON
// structure and text, type swaps, huge and negative numbers, deep nesting,
// duplicate and "__proto__" keys, hostile PEM, digests, paths, patterns and
// globs), then loaded as the guard loads it: loadPolicyFile, then the guard's
// trust files, then one protected load of each fixture folder (which builds
// the verifier from the policy's trust). Loading must succeed or throw
// ERR_TRUSTLOAD_POLICY, and nothing at any step may throw anything but a
// TrustloadError with a stable code, or hang.
// See test/fuzz/settings.mjs for FUZZ_RUNS / FUZZ_SEED; `npm run fuzz` runs long.
import fc from 'fast-check';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import t from 'tap';
import { BASES, makeFuzzApp } from './fuzz/fuzz-app.mjs';
import { loadInternals } from './fuzz/internals.mjs';
import { applyMutations, structuralMutation, textMutation } from './fuzz/json-mutations.mjs';
import { checkProperty, HANG_MS, runs } from './fuzz/settings.mjs';

const internals = await loadInternals();
const app = makeFuzzApp();
const CODES = new Set(Object.values(internals.ErrorCodes));
const tally = new Map();

const PEM = app.policy.trust.keys.p384.pem;
const pemBody = PEM.split('\n').slice(1, -2).join('\n');

// Values a policy author (or a broken generator) could write where the policy wants a string.
const hostileString = fc.constantFrom(
  '', ' ', '.', '..', '/', '/dev/zero', '/proc/self/mem', '/etc/passwd', '../../../../etc/passwd', './keys/', './keys/p256.pub.pem\u0000',
  '**', '*', '**/**/**', '{a,b}', '[a]', '!x', 'plugins/**/', '/abs/**', '\\', '\u0000', 'é', 'x'.repeat(5000),
  '^', '$', '^$', '^(a+)+$', '^[$', '^\\$', '^(?<n>a)\\k<n>$', '^a|b$', '(?:', '^\\', '^.*$',
  'sigstore-public-good', 'private', 'p256', '__proto__', 'constructor', 'toString',
  '0'.repeat(64), 'A'.repeat(64), 'g'.repeat(64), '0'.repeat(63),
  `-----BEGIN PUBLIC KEY-----\n${pemBody}\n-----END PUBLIC KEY-----\n-----BEGIN PUBLIC KEY-----\n${pemBody}\n-----END PUBLIC KEY-----\n`,
  `-----BEGIN RSA PUBLIC KEY-----\n${pemBody}\n-----END RSA PUBLIC KEY-----\n`,
  `-----BEGIN PUBLIC KEY-----\n${pemBody.replace(/[A-Z]/, '!')}\n-----END PUBLIC KEY-----\n`,
  `-----BEGIN PUBLIC KEY-----\n${pemBody.slice(0, 40)}\n-----END PUBLIC KEY-----\n`,
  `-----BEGIN PUBLIC KEY-----\nAAAA\n-----END PUBLIC KEY-----\n`,
  `-----BEGIN PUBLIC KEY-----\n${'A'.repeat(100_000)}\n-----END PUBLIC KEY-----\n`,
  '-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n',
);

// Byte-level damage to the inline key's base64 body: every DER decoding path of createPublicKey.
const pemEdit = fc.record({ index: fc.nat(), byte: fc.integer({ min: 0, max: 255 }) });

const policyMutation = fc.oneof(
  { weight: 4, arbitrary: structuralMutation },
  { weight: 3, arbitrary: fc.record({ op: fc.constant('string'), at: fc.nat(), value: hostileString }) },
  { weight: 1, arbitrary: fc.record({ op: fc.constant('pem'), edit: pemEdit }) },
);

const policyMutations = fc.record({
  edits: fc.array(policyMutation, { minLength: 1, maxLength: 3 }),
  text: fc.option(textMutation, { freq: 4 }),
});

function policyEdit(value, m) {
  if (m.op === 'string') {
    const strings = stringPaths(value);
    if (strings.length === 0) return { value };
    const path = strings[m.at % strings.length];
    if (path.length === 0) return { value: m.value };
    path.slice(0, -1).reduce((node, key) => node[key], value)[path[path.length - 1]] = m.value;
    return { value };
  }
  if (m.op === 'pem') {
    const key = value?.trust?.keys?.p384;
    if (typeof key?.pem !== 'string') return { value };
    const der = Buffer.from(pemBody, 'base64');
    der[m.edit.index % der.length] = m.edit.byte;
    const body = der.toString('base64').replace(/(.{64})/g, '$1\n');
    key.pem = `-----BEGIN PUBLIC KEY-----\n${body}\n-----END PUBLIC KEY-----\n`;
    return { value };
  }
  return undefined;
}

function stringPaths(value, prefix = []) {
  if (typeof value === 'string') return [prefix];
  if (value === null || typeof value !== 'object') return [];
  return Object.entries(value).flatMap(([key, item]) => stringPaths(item, [...prefix, Array.isArray(value) ? Number(key) : key]));
}

/** What went wrong at `step`, or undefined when `error` is an allowed refusal there. */
function problemWith(step, error, allowed) {
  if (!(error instanceof internals.TrustloadError) || !CODES.has(error.code)) {
    return `${step} threw something other than a TrustloadError with a stable code: ${error?.stack ?? error}`;
  }
  tally.set(`${step}: ${error.code}`, (tally.get(`${step}: ${error.code}`) ?? 0) + 1);
  if (allowed !== undefined && error.code !== allowed) return `${step} failed with ${error.code}, not ${allowed}: ${error.message}`;
  return undefined;
}

/** Loads the policy at `path` as the guard does; returns a problem, or undefined. */
function loadAsTheGuardDoes(path) {
  let loaded;
  try {
    loaded = internals.loadPolicyFile(path);
  } catch (error) {
    return problemWith('loadPolicyFile', error, internals.ErrorCodes.POLICY);
  }
  let guard;
  try {
    guard = internals.Guard.forPolicy(loaded, loaded.policy.mode ?? 'enforce');
  } catch (error) {
    return problemWith('Guard.forPolicy', error, internals.ErrorCodes.POLICY);
  }
  for (const name of BASES) {
    try {
      guard.loadFile(app.artifact(name), [app.artifact(name)], { announce: false });
      tally.set('loadFile: decided', (tally.get('loadFile: decided') ?? 0) + 1);
    } catch (error) {
      const problem = problemWith('loadFile', error);
      if (problem !== undefined) return `${name}: ${problem}`;
    }
  }
  return undefined;
}

t.test('the fuzz policy loads and verifies every fixture', async (t) => {
  const loaded = internals.loadPolicyFile(app.policyPath);
  const guard = internals.Guard.forPolicy(loaded, 'enforce');
  for (const name of BASES) t.equal(guard.loadFile(app.artifact(name), [app.artifact(name)], { announce: false }).decision, 'verified', name);
});

t.test('mutated policies: loadPolicyFile, Guard.forPolicy, loadFile', async (t) => {
  const path = join(app.dir, 'fuzzed.policy.json');
  // Permissive mode warns on stderr for every refused load: keep the test's output readable.
  const write = process.stderr.write;
  process.stderr.write = () => true;
  t.teardown(() => (process.stderr.write = write));
  const property = fc.property(policyMutations, ({ edits, text }) => {
    const mutated = applyMutations(app.policy, edits, text, policyEdit).text;
    writeFileSync(path, mutated);
    const started = performance.now();
    const problem = loadAsTheGuardDoes(path);
    const ms = performance.now() - started;
    if (ms > HANG_MS) throw new Error(`took ${Math.round(ms)} ms (a hang)\n--- policy:\n${mutated.slice(0, 3000)}`);
    if (problem !== undefined) throw new Error(`${problem}\n--- policy:\n${mutated.slice(0, 3000)}`);
  });
  checkProperty(t, 'policy', property, runs(200));
  t.comment(`outcomes: ${JSON.stringify(Object.fromEntries(tally))}`);
});
