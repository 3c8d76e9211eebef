// Generated hostile bundles: every fixture that verifies, mutated (JSON
// structure and text, base64 bytes of DER certificates, signatures, log
// bodies, proof hashes and timestamps, log numbers, media types, parts
// swapped in from other bundles), checked against its rule's signers.
// Every outcome must be either a verification of the same signed bundle as
// a genuine fixture (evidence may be dropped, never changed), or a
// TrustloadError with a stable code: never another exception, never a hang,
// never an accepted modification.
// Edits that cannot change meaning (whitespace, key order, base64 spelling)
// must still verify. Two paths: parseBundle + verifyBundle in this process
// (so that no exception is hidden by the guard's wrapping), and the public
// readVerifiedSync of dist/index.js under TRUSTLOAD_POLICY.
// See test/fuzz/settings.mjs for FUZZ_RUNS, FUZZ_SEED, FUZZ_SECONDS, FUZZ_TRACE;
// `npm run fuzz` runs long.
import fc from 'fast-check';
import { readFileSync, writeFileSync } from 'node:fs';
import t from 'tap';
import { INDEX } from './helpers/app.mjs';
import { bundleMutations, canonicalBundle, modification, mutateBundle } from './fuzz/bundle-mutations.mjs';
import { ARTIFACT, BASES, DONORS, makeFuzzApp, readBundles, ruleFor } from './fuzz/fuzz-app.mjs';
import { loadInternals } from './fuzz/internals.mjs';
import { checkProperty, HANG_MS, runs } from './fuzz/settings.mjs';

const internals = await loadInternals();
const app = makeFuzzApp();
const bundles = readBundles();
const signers = resolvePolicySigners();
const genuine = genuineBundles();
const tally = new Map();

/** The policy's signers, resolved as the guard resolves them, grouped by the fixture whose rule names them. */
function resolvePolicySigners() {
  const rootPath = app.dir + '/trust/trusted_root.json';
  const roots = new Map([['private', { name: 'private', root: internals.parseTrustedRoot(readFileSync(rootPath), rootPath) }]]);
  const keys = new Map(
    Object.entries(app.policy.trust.keys).map(([name, ref]) => [
      name,
      internals.parsePublicKeyPem('pem' in ref ? ref.pem : readFileSync(`${app.dir}/${ref.path}`, 'utf8'), name),
    ]),
  );
  const all = internals.resolveSigners(app.policy.signers, { roots, keys });
  return Object.fromEntries(BASES.map((name) => [name, ruleFor(app.policy, name).signers.map((signer) => all.get(signer))]));
}

/**
 * For each base, every fixture bundle that verifies unmodified under its
 * rule (canonical form): a mutated bundle that verifies must be one of them,
 * at most with evidence dropped. (Two bundles by one key over one file are
 * both genuine, so a signature swapped between them may verify.)
 */
function genuineBundles() {
  return Object.fromEntries(
    BASES.map((base) => [
      base,
      [base, ...DONORS.filter((donor) => donor !== base)].flatMap((donor) => {
        // As is, or else without its evidence (a key signature needs none).
        const { tlogEntries, timestampVerificationData, ...material } = bundles[donor].verificationMaterial;
        for (const bundle of [bundles[donor], { ...bundles[donor], verificationMaterial: material }]) {
          const text = JSON.stringify(bundle);
          try {
            internals.verifyBundle(internals.parseBundle(Buffer.from(text), donor), { bytes: ARTIFACT }, signers[base]);
            return [canonicalBundle(text, ARTIFACT)];
          } catch {}
        }
        return [];
      }),
    ]),
  );
}

/**
 * Runs one verification and returns what a failing property reports, or
 * undefined when the outcome is allowed.
 */
function judge(name, text, neutral, TrustloadError, run) {
  const started = performance.now();
  let error;
  let result;
  try {
    result = run();
  } catch (err) {
    error = err;
  }
  const ms = performance.now() - started;
  if (ms > HANG_MS) return `took ${Math.round(ms)} ms (a hang)`;
  if (error !== undefined) {
    if (!(error instanceof TrustloadError) || !Object.values(internals.ErrorCodes).includes(error.code)) {
      return `threw something other than a TrustloadError with a stable code: ${error?.stack ?? error}`;
    }
    tally.set(error.code, (tally.get(error.code) ?? 0) + 1);
    if (neutral) return `refused a bundle whose edits keep its meaning: ${error.code}: ${error.message}`;
    return undefined;
  }
  tally.set('verified', (tally.get('verified') ?? 0) + 1);
  let decoded;
  try {
    decoded = canonicalBundle(text, ARTIFACT);
  } catch (err) {
    return `verified a bundle @sigstore/bundle cannot even decode: ${err.message}`;
  }
  if (genuine[name].some((original) => modification(original, decoded) === undefined)) return undefined;
  return `verified a MODIFIED bundle (${modification(genuine[name][0], decoded)}; signer ${JSON.stringify(result)})`;
}

const failWith = (problem, name, text) => {
  if (problem !== undefined) throw new Error(`${name}: ${problem}\n--- bundle (first 2000 characters):\n${text.slice(0, 2000)}`);
};

t.test('every fixture verifies unmodified (the fuzz bases are valid)', async (t) => {
  for (const name of BASES) t.same(genuine[name][0], canonicalBundle(JSON.stringify(bundles[name]), ARTIFACT), `${name} verifies under its rule`);
});

t.test('mutated bundles: parseBundle + verifyBundle', async (t) => {
  tally.clear();
  const property = fc.property(fc.constantFrom(...BASES), bundleMutations(DONORS), (name, mutations) => {
    if (process.env.FUZZ_TRACE) writeFileSync(process.env.FUZZ_TRACE, JSON.stringify([name, mutations]));
    const { text, neutral } = mutateBundle(bundles[name], mutations, bundles);
    if (process.env.FUZZ_TRACE) writeFileSync(process.env.FUZZ_TRACE + '.text', text);
    const problem = judge(name, text, neutral, internals.TrustloadError, () =>
      internals.verifyBundle(internals.parseBundle(Buffer.from(text), `${name}/hello.txt.sigstore.json`), { bytes: ARTIFACT }, signers[name]),
    );
    failWith(problem, name, text);
  });
  checkProperty(t, 'internal', property, runs(1000));
  t.comment(`outcomes: ${JSON.stringify(Object.fromEntries(tally))}`);
});

t.test('mutated bundles: readVerifiedSync under TRUSTLOAD_POLICY', async (t) => {
  tally.clear();
  process.env.TRUSTLOAD_POLICY = app.policyPath;
  delete process.env.TRUSTLOAD_POLICY_SHA256;
  delete process.env.TRUSTLOAD_MODE;
  const api = await import(INDEX);
  const property = fc.property(fc.constantFrom(...BASES), bundleMutations(DONORS), (name, mutations) => {
    const { text, neutral } = mutateBundle(bundles[name], mutations, bundles);
    writeFileSync(`${app.artifact(name)}.sigstore.json`, text);
    const problem = judge(name, text, neutral, api.TrustloadError, () => {
      const bytes = api.readVerifiedSync(app.artifact(name));
      if (!bytes.equals(ARTIFACT)) throw new Error('readVerifiedSync returned other bytes than the file it verified');
      return bytes.length;
    });
    failWith(problem, name, text);
  });
  checkProperty(t, 'readVerifiedSync', property, Math.ceil(runs(1000) / 4));
  t.comment(`outcomes: ${JSON.stringify(Object.fromEntries(tally))}`);
});
