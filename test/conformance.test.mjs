// The sigstore-conformance bundle-verify suite, run through `trustload
// verify-blob` as its cli_protocol.md runs `verify-bundle`: every case once
// with the artifact's path and once with its sha256:<hex> digest.
import { createHash } from 'node:crypto';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import t from 'tap';
import { errorCode, pool, runCli, SHARED_TESTDATA, sharedTestdataMissing } from './helpers/cli.mjs';

const SUITE = join(SHARED_TESTDATA, 'sigstore-conformance', 'bundle-verify');
const DEFAULT_IDENTITY =
  'https://github.com/sigstore-conformance/extremely-dangerous-public-oidc-beacon/.github/workflows/extremely-dangerous-oidc-beacon.yml@refs/heads/main';
const DEFAULT_ISSUER = 'https://token.actions.githubusercontent.com';

// Why each failing case must fail, read from its README: the code that names that reason.
const TLOG = 'ERR_TRUSTLOAD_TLOG';
const CERTIFICATE = 'ERR_TRUSTLOAD_CERTIFICATE';
const SIGNATURE = 'ERR_TRUSTLOAD_SIGNATURE';
const TIMESTAMP = 'ERR_TRUSTLOAD_TIMESTAMP';
const BAD_BUNDLE = 'ERR_TRUSTLOAD_BAD_BUNDLE';
const EXPECTED_FAILURE = {
  'bundle-empty-certificate-chain_fail': BAD_BUNDLE,
  'bundle-from-wrong-instance_fail': CERTIFICATE,
  'bundle-invalid-base64-signature_fail': BAD_BUNDLE,
  'bundle-malformed-json_fail': BAD_BUNDLE,
  'bundle-negative-log-index_fail': TLOG,
  'bundle-unknown-version_fail': BAD_BUNDLE,
  'bundle-with-root-cert_fail': CERTIFICATE,
  'checkpoint-bad-keyhint_fail': TLOG,
  'checkpoint-wrong-roothash_fail': TLOG,
  'dsse-invalid-sig_fail': SIGNATURE,
  'dsse-mismatch-envelope_fail': TLOG,
  'dsse-mismatch-sig_fail': TLOG,
  'inclusion-proof-corrupted-hash_fail': TLOG,
  'incorrect-public-key_fail': TLOG,
  'integrated-time-in-future_fail': CERTIFICATE,
  'intoto-expired-certificate_fail': CERTIFICATE,
  'intoto-log-entry-mismatch_fail': TLOG,
  'intoto-missing-inclusion-proof_fail': TLOG,
  'intoto-set-outside-signing-cert-validity_fail': CERTIFICATE,
  'intoto-tsa-timestamp-outside-cert-validity_fail': CERTIFICATE,
  'invalid-checkpoint-signature_fail': TLOG,
  'invalid-ct-key_fail': CERTIFICATE,
  'invalid-inclusion-proof_fail': TLOG,
  'managed-key-no-key_fail': 'ERR_TRUSTLOAD_UNTRUSTED_SIGNER',
  // Its key.pub is not a decodable key: a trust-material error (exit 2), not a verdict on the bundle.
  'managed-key-wrong-key_fail': 'ERR_TRUSTLOAD_POLICY',
  'message-digest-mismatch_fail': SIGNATURE,
  'rekor2-checkpoint-missing-log-signature_fail': TLOG,
  'rekor2-checkpoint-missing-origin_fail': TLOG,
  'rekor2-checkpoint-missing-root-hash_fail': TLOG,
  'rekor2-checkpoint-missing-size_fail': TLOG,
  'rekor2-checkpoint-no-matching-signature_fail': TLOG,
  'rekor2-dsse-invalid-sig_fail': SIGNATURE,
  'rekor2-dsse-mismatch-envelope_fail': TLOG,
  'rekor2-dsse-mismatch-sig_fail': TLOG,
  'rekor2-no-inclusion-proof_fail': TLOG,
  'rekor2-no-timestamp_fail': TIMESTAMP,
  'rekor2-timestamp-outside-trust-root-tsa-validity_fail': TIMESTAMP,
  'rekor2-timestamp-outside-tsa-cert-validity_fail': TIMESTAMP,
  'rekor2-timestamp-payload-mismatch_fail': TIMESTAMP,
  'rekor2-timestamp-untrusted-tsa-with-embedded-cert_fail': TIMESTAMP,
  'rekor2-timestamp-untrusted-tsa-without-embedded-cert_fail': TIMESTAMP,
  'rekor2-timestamp-with-incorrect-time_fail': CERTIFICATE,
  'set-invalid-signature_fail': TLOG,
  'signature-mismatch_fail': SIGNATURE,
  'trust-root-tlog-missing-validity-start_fail': 'ERR_TRUSTLOAD_POLICY',
  'wrong-hashedrekord-artifact_fail': TLOG,
  'wrong-hashedrekord-cert-and-sig_fail': TLOG,
  'wrong-hashedrekord-entry_fail': TLOG,
  'wrong-material_fail': SIGNATURE,
};

const skip = sharedTestdataMissing();
if (skip) t.plan(0, skip);
else await runSuite();

async function runSuite() {
  const optional = (dir, name) => (existsSync(join(dir, name)) ? join(dir, name) : undefined);
  const cases = readdirSync(SUITE, { withFileTypes: true })
    .filter((entry) => entry.isDirectory())
    .map(({ name }) => {
      const dir = join(SUITE, name);
      const artifact = optional(dir, 'artifact') ?? join(SUITE, 'a.txt');
      const key = optional(dir, 'key.pub');
      const root = optional(dir, 'trusted_root.json');
      const args = ['verify-blob', '--bundle', join(dir, 'bundle.sigstore.json')];
      if (key) args.push('--key', key);
      else {
        args.push('--certificate-identity', optional(dir, 'identity') ? readFileSync(join(dir, 'identity'), 'utf8').trim() : DEFAULT_IDENTITY);
        args.push('--certificate-oidc-issuer', optional(dir, 'issuer') ? readFileSync(join(dir, 'issuer'), 'utf8').trim() : DEFAULT_ISSUER);
      }
      if (root) args.push('--trusted-root', root);
      const digest = `sha256:${createHash('sha256').update(readFileSync(artifact)).digest('hex')}`;
      return { name, args, artifact, digest, shouldFail: name.endsWith('_fail') };
    });

  t.ok(cases.length >= 70, `found ${cases.length} conformance cases`);
  t.same(
    cases.filter((c) => c.shouldFail && !(c.name in EXPECTED_FAILURE)).map((c) => c.name),
    [],
    'every failing case has its expected reason listed',
  );

  const runs = cases.flatMap((c) => [
    { ...c, input: 'path', target: c.artifact },
    { ...c, input: 'digest', target: c.digest },
  ]);
  const results = await pool(runs, 4, (run) => runCli([...run.args, run.target]));

  runs.forEach((run, i) => {
    const { code, stderr } = results[i];
    t.test(`${run.name} (${run.input})`, async (t) => {
      if (!run.shouldFail) {
        t.equal(code, 0, `verifies\n${stderr}`);
        return;
      }
      t.not(code, 0, 'is refused');
      t.equal(errorCode(stderr), EXPECTED_FAILURE[run.name], `for the reason its README names: ${stderr.split('\n')[0]}`);
    });
  });
}
