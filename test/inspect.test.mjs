// `trustload inspect BUNDLE`: shows what a bundle claims (signer, issuer,
// claims, log entries, times, subjects) and says it verified nothing.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import t from 'tap';
import { errorCode } from './helpers/cli.mjs';
import {
  ARTIFACT,
  assertCleanMessage,
  assertRefused,
  assertUsage,
  fixture,
  IDENTITY,
  ISSUER,
  MODEL_SIGNING,
  readJson,
  runCases,
  sha256Hex,
  tempDir,
  writeIn,
} from './helpers/fixtures.mjs';

const tmp = tempDir();
const HELLO_SHA256 = sha256Hex(readFileSync(ARTIFACT));
const logIndex = (bundle) => readJson(bundle).verificationMaterial.tlogEntries[0].logIndex;
const field = (name, value) => new RegExp(`^\\s+${name}:\\s+${value.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&')}$`, 'm');

const cases = [];
const inspect = (name, args, check) => cases.push({ name, args: ['inspect', ...args], check });

/** A successful inspect: exit 0, nothing on stderr, and the NOT-verified banner first. */
function assertInspected(t, r) {
  t.equal(r.code, 0, `exits 0\n${r.stderr}`);
  t.equal(r.stderr, '', 'nothing on stderr');
  t.match(r.stdout.split('\n')[0], /\(NOT verified: this only shows what the bundle claims\)$/, 'says first that nothing was verified');
}

{
  const { bundle } = fixture('keyless');
  inspect('a keyless message signature: identity, issuer, claims, log index, times, digest', [bundle], (t, r) => {
    assertInspected(t, r);
    t.match(r.stdout, field('content', 'message signature'));
    t.match(r.stdout, field('identity', IDENTITY));
    t.match(r.stdout, field('issuer', ISSUER));
    t.match(r.stdout, field('claim', 'sourceRepositoryURI=https://github.com/acme/plugins'));
    t.match(r.stdout, field('claim', 'sourceRepositoryRef=refs/heads/main'));
    t.match(r.stdout, field('claim', 'buildTrigger=push'));
    t.match(r.stdout, new RegExp(`^\\s+log entry:\\s+index ${logIndex(bundle)}, hashedrekord/0\\.0\\.1, log [0-9a-f]{64}, integrated \\d{4}-\\d\\d-\\d\\dT`, 'm'));
    t.match(r.stdout, /^\s+timestamp:\s+\d{4}-\d\d-\d\dT[\d:.]+Z \(RFC 3161\)$/m, 'the signing time from the TSA');
    t.match(r.stdout, /^\s+certificate:\s+valid \S+ to \S+$/m);
    t.match(r.stdout, field('digest', `SHA2_256:${HELLO_SHA256}`));
    t.notMatch(r.stdout, /subject:/, 'a message signature has no subjects');
  });
  inspect('a keyless bundle as --json', ['--json', bundle], (t, r) => {
    t.equal(r.code, 0, r.stderr);
    const out = JSON.parse(r.stdout);
    t.equal(out.verified, false, 'says it is not verified');
    t.equal(out.bundle, bundle);
    t.match(out.signer.certificate, { identity: IDENTITY, issuer: ISSUER, claims: { sourceRepositoryURI: 'https://github.com/acme/plugins' } });
    t.equal(out.logEntries.length, 1);
    t.equal(out.logEntries[0].logIndex, logIndex(bundle));
    t.equal(out.timestamps.length, 1);
    t.equal(out.messageDigest, `SHA2_256:${HELLO_SHA256}`);
  });
}
{
  const { bundle } = fixture('keyless-dsse');
  inspect('a keyless DSSE bundle: payload type and subjects', [bundle], (t, r) => {
    assertInspected(t, r);
    t.match(r.stdout, field('content', 'DSSE envelope'));
    t.match(r.stdout, field('identity', IDENTITY));
    t.match(r.stdout, field('issuer', ISSUER));
    t.match(r.stdout, field('payload type', 'application/vnd.in-toto+json'));
    t.match(r.stdout, field('subject', `hello.txt sha256:${HELLO_SHA256}`));
    t.match(r.stdout, new RegExp(`^\\s+log entry:\\s+index ${logIndex(bundle)}, intoto/0\\.0\\.2,`, 'm'));
  });
  inspect('a keyless DSSE bundle as --json', ['--json', bundle], (t, r) => {
    t.equal(r.code, 0, r.stderr);
    const out = JSON.parse(r.stdout);
    t.equal(out.verified, false);
    t.equal(out.content, 'DSSE envelope');
    t.same(out.subjects, [{ name: 'hello.txt', digest: { sha256: HELLO_SHA256 } }]);
    t.equal(out.logEntries[0].logIndex, logIndex(bundle));
  });
}
{
  const { bundle } = fixture('key-p256-tlog');
  const hint = readJson(bundle).verificationMaterial.publicKey.hint;
  inspect('a key bundle with a log entry: key hint and log index, no identity', [bundle], (t, r) => {
    assertInspected(t, r);
    t.match(r.stdout, field('key hint', hint));
    t.notMatch(r.stdout, /identity:|issuer:/, 'a key bundle has no identity or issuer');
    t.match(r.stdout, new RegExp(`^\\s+log entry:\\s+index ${logIndex(bundle)}, hashedrekord/0\\.0\\.1,`, 'm'));
  });
  inspect('a key bundle as --json', ['--json', bundle], (t, r) => {
    t.equal(r.code, 0, r.stderr);
    const out = JSON.parse(r.stdout);
    t.same(out.signer, { publicKeyHint: hint });
    t.equal(out.verified, false);
  });
}
inspect('an offline key DSSE bundle: no log entry, subjects', [fixture('key-p384-dsse').bundle], (t, r) => {
  assertInspected(t, r);
  t.match(r.stdout, field('log entry', 'none'));
  t.match(r.stdout, field('subject', `hello.txt sha256:${HELLO_SHA256}`));
});
inspect('the model-signing v1.0.0-sigstore bundle (public good)', [join(MODEL_SIGNING, 'v1.0.0-sigstore', 'model.sig')], (t, r) => {
  assertInspected(t, r);
  t.match(r.stdout, field('identity', 'stefanb@us.ibm.com'));
  t.match(r.stdout, field('issuer', 'https://sigstore.verify.ibm.com/oauth2'));
  t.match(r.stdout, field('subject', 'v1.0.0-sigstore sha256:61d4849d9d90076d6215f4d525f13d6574af8e3f67aef3e6f36fc40a14fdd226'));
});

// inspect verifies nothing: bundles that verify-blob refuses still show what they claim.
inspect('an expired-certificate bundle is shown, not judged', [fixture('keyless-expired').bundle], (t, r) => {
  assertInspected(t, r);
  t.match(r.stdout, field('identity', IDENTITY));
});
{
  const tampered = readJson(fixture('keyless').bundle);
  tampered.messageSignature.signature = Buffer.alloc(70, 1).toString('base64');
  inspect('a bundle with a forged signature is shown, and still says NOT verified', [writeIn(tmp, 'forged.json', tampered)], (t, r) => {
    assertInspected(t, r);
  });
}

// Broken bundles: exit 1 with the same codes as verify-blob.
inspect('a malformed bundle', [writeIn(tmp, 'malformed.json', '{"mediaType":')], (t, r) =>
  assertRefused(t, r, 'ERR_TRUSTLOAD_BAD_BUNDLE', { message: /not valid JSON/ }),
);
{
  const whole = readFileSync(fixture('keyless-dsse').bundle);
  inspect('a truncated bundle', [writeIn(tmp, 'truncated.json', whole.subarray(0, whole.length >> 1))], (t, r) =>
    assertRefused(t, r, 'ERR_TRUSTLOAD_BAD_BUNDLE'),
  );
  const unknown = readJson(fixture('keyless').bundle);
  unknown.mediaType = 'application/vnd.dev.sigstore.bundle+json;version=9.9';
  inspect('a bundle with an unknown media type', [writeIn(tmp, 'v9.9.json', unknown)], (t, r) =>
    assertRefused(t, r, 'ERR_TRUSTLOAD_BAD_BUNDLE', { message: /media type/ }),
  );
  inspect('a cosign legacy bundle', [writeIn(tmp, 'legacy.json', { base64Signature: 'MEUCIQ==', cert: 'LS0t', rekorBundle: {} })], (t, r) =>
    assertRefused(t, r, 'ERR_TRUSTLOAD_BAD_BUNDLE', { message: /legacy format.*re-sign/ }),
  );
  const dsse = readJson(fixture('keyless-dsse').bundle);
  dsse.dsseEnvelope.payload = Buffer.from('not a statement').toString('base64');
  inspect('a DSSE bundle whose payload is not an in-toto statement', [writeIn(tmp, 'bad-payload.json', dsse)], (t, r) =>
    assertRefused(t, r, 'ERR_TRUSTLOAD_BAD_BUNDLE'),
  );
}
inspect('a malformed bundle with --json: the error as JSON on stdout', ['--json', writeIn(tmp, 'malformed-json.json', '[1,')], (t, r) => {
  t.equal(r.code, 1);
  t.equal(errorCode(r.stderr), 'ERR_TRUSTLOAD_BAD_BUNDLE');
  assertCleanMessage(t, r.stderr);
  t.match(JSON.parse(r.stdout), { verified: false, error: { code: 'ERR_TRUSTLOAD_BAD_BUNDLE' } });
});
inspect('a missing bundle', [join(tmp, 'no-such.sigstore.json')], (t, r) => assertRefused(t, r, 'ERR_TRUSTLOAD_NO_BUNDLE', { message: /does not exist/ }));

// The command line itself.
inspect('--help', ['--help'], (t, r) => {
  t.equal(r.code, 0);
  t.equal(r.stderr, '');
  t.match(r.stdout, /^Usage: trustload inspect BUNDLE/);
  t.match(r.stdout, /Nothing is\s+verified/);
});
inspect('usage: no bundle', [], (t, r) => assertUsage(t, r, /exactly one BUNDLE/));
inspect('usage: two bundles', [fixture('keyless').bundle, fixture('key-p256').bundle], (t, r) => assertUsage(t, r, /exactly one BUNDLE/));
inspect('usage: an unknown flag', ['--verify', fixture('keyless').bundle], (t, r) => assertUsage(t, r, /--verify/));

await runCases(t, cases);
