// `trustload verify-blob` against broken, tampered, look-alike and hostile
// inputs: each is refused with its own ERR_TRUSTLOAD_* code, the exit code
// the contract gives it (1 refused, 2 usage or trust material), and one
// clean line on stderr. Mutated files are temporary copies of the fixtures.
import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { closeSync, existsSync, ftruncateSync, openSync, readFileSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import t from 'tap';
import { CLI, errorCode, SHARED_TESTDATA, sharedTestdataMissing } from './helpers/cli.mjs';
import {
  ARTIFACT,
  assertCleanMessage,
  assertUsage,
  assertRefused,
  assertVerified,
  EVIL_IDENTITY,
  fixture,
  flipBase64,
  IDENTITY,
  ISSUER,
  keyArgs,
  keylessArgs,
  OTHER_ROOT,
  PRIVATE_ROOT,
  privateKey,
  publicKey,
  readJson,
  runCases,
  sha256Hex,
  tempDir,
  writeIn,
} from './helpers/fixtures.mjs';

const tmp = tempDir();
const keyless = fixture('keyless');
const keylessDsse = fixture('keyless-dsse');
const keyP256 = fixture('key-p256');
const keyP384Dsse = fixture('key-p384-dsse');
const clone = (path) => readJson(path);
const V02 = 'application/vnd.dev.sigstore.bundle+json;version=0.2';

// A file that is not hello.txt, and hello.txt with one bit flipped.
const OTHER_FILE = writeIn(tmp, 'other.txt', 'hello, trustload?\n');
const hello = readFileSync(ARTIFACT);
const flipped = Buffer.from(hello);
flipped[0] ^= 0x20; // "hello" -> "Hello"
const FLIPPED_FILE = writeIn(tmp, 'flipped.txt', flipped);

const cases = [];
const refused = (name, args, code, { skip, ...options } = {}) =>
  cases.push({ name, args, skip, check: (t, r) => assertRefused(t, r, code, options) });
const verified = (name, args, signer) => cases.push({ name, args, check: (t, r) => assertVerified(t, r, signer) });

// ---------------------------------------------------------------- the bundle file itself

refused('malformed JSON', keylessArgs(ARTIFACT, writeIn(tmp, 'malformed.json', '{"mediaType": "application/vnd.dev.sigstore.bundle.v0.3+json",')), 'ERR_TRUSTLOAD_BAD_BUNDLE', {
  message: /not valid JSON/,
});
{
  const whole = readFileSync(keyless.bundle);
  refused('a truncated bundle (its first half)', keylessArgs(ARTIFACT, writeIn(tmp, 'truncated.json', whole.subarray(0, whole.length >> 1))), 'ERR_TRUSTLOAD_BAD_BUNDLE', {
    message: /not valid JSON/,
  });
}
refused('an empty bundle file', keylessArgs(ARTIFACT, writeIn(tmp, 'empty.json', '')), 'ERR_TRUSTLOAD_BAD_BUNDLE');
refused('a bundle that is a JSON array', keylessArgs(ARTIFACT, writeIn(tmp, 'array.json', '[]')), 'ERR_TRUSTLOAD_BAD_BUNDLE', {
  message: /not a JSON object/,
});
{
  const bundle = clone(keyless.bundle);
  bundle.mediaType = 'application/vnd.dev.sigstore.bundle+json;version=9.9';
  refused('an unknown media type (version=9.9)', keylessArgs(ARTIFACT, writeIn(tmp, 'v9.9.json', bundle)), 'ERR_TRUSTLOAD_BAD_BUNDLE', {
    message: /media type "application\/vnd\.dev\.sigstore\.bundle\+json;version=9\.9".*v0\.1, v0\.2 and v0\.3/,
  });
}
{
  // The shape `cosign sign-blob --bundle` wrote before the Sigstore bundle format.
  const cert = Buffer.from(readJson(keyless.bundle).verificationMaterial.certificate.rawBytes, 'base64');
  const legacy = {
    base64Signature: readJson(keyless.bundle).messageSignature.signature,
    cert: Buffer.from(`-----BEGIN CERTIFICATE-----\n${cert.toString('base64')}\n-----END CERTIFICATE-----\n`).toString('base64'),
    rekorBundle: { SignedEntryTimestamp: 'MEUCIQ==', Payload: { body: 'e30=', integratedTime: 1795319498, logIndex: 440007, logID: 'c0a4' } },
  };
  refused('a cosign legacy bundle ({base64Signature, cert, rekorBundle}) says how to re-sign', keylessArgs(ARTIFACT, writeIn(tmp, 'legacy.json', legacy)), 'ERR_TRUSTLOAD_BAD_BUNDLE', {
    message: /legacy format.*re-sign with `cosign sign-blob --new-bundle-format/,
  });
}
{
  // "__proto__" at the top and deep inside: rejected as text, before any object is built from it.
  const text = readFileSync(keyless.bundle, 'utf8');
  const top = text.replace('{', '{"__proto__": {"polluted": true},');
  const nested = text.replace('"messageSignature": {', '"messageSignature": {"__proto__": {"polluted": true},');
  t.not(nested, text, 'the nested injection point exists');
  refused('a "__proto__" key at the top of the bundle', keylessArgs(ARTIFACT, writeIn(tmp, 'proto-top.json', top)), 'ERR_TRUSTLOAD_BAD_BUNDLE', { message: /__proto__/ });
  refused('a "__proto__" key nested in the bundle', keylessArgs(ARTIFACT, writeIn(tmp, 'proto-nested.json', nested)), 'ERR_TRUSTLOAD_BAD_BUNDLE', { message: /__proto__/ });
}
refused('a missing bundle file', keylessArgs(ARTIFACT, join(tmp, 'no-such.sigstore.json')), 'ERR_TRUSTLOAD_NO_BUNDLE', { message: /does not exist/ });
refused('a bundle path that is a directory', keylessArgs(ARTIFACT, tmp), 'ERR_TRUSTLOAD_BAD_BUNDLE', { message: /not a regular file/ });
refused('a missing artifact file', keylessArgs(join(tmp, 'no-such.txt'), keyless.bundle), 'ERR_TRUSTLOAD_MISSING_FILE', { message: /no-such\.txt/ });

// ---------------------------------------------------------------- the content is not what was signed

refused('the bundle of hello.txt against another file', keylessArgs(OTHER_FILE, keyless.bundle), 'ERR_TRUSTLOAD_SIGNATURE', {
  message: /signs different content/,
});
cases.push({
  name: 'one flipped byte in the artifact: keyless message signature',
  args: keylessArgs(FLIPPED_FILE, keyless.bundle),
  check: (t, r) => {
    assertRefused(t, r, 'ERR_TRUSTLOAD_SIGNATURE', { message: /message digest mismatch/ });
    t.match(r.stderr, `sha256:${sha256Hex(flipped)}`, "names the file's digest");
    t.match(r.stderr, `sha256:${sha256Hex(hello)}`, 'names the signed digest');
  },
});
refused('one flipped byte in the artifact: keyless DSSE', keylessArgs(FLIPPED_FILE, keylessDsse.bundle), 'ERR_TRUSTLOAD_SIGNATURE', {
  message: /does not name this file as a subject/,
});
refused('one flipped byte in the artifact: key message signature (p256)', keyArgs(FLIPPED_FILE, keyP256.bundle, publicKey('p256')), 'ERR_TRUSTLOAD_SIGNATURE');
refused('one flipped byte in the artifact: key DSSE (p384)', keyArgs(FLIPPED_FILE, keyP384Dsse.bundle, publicKey('p384')), 'ERR_TRUSTLOAD_SIGNATURE', {
  message: /does not name this file as a subject/,
});
refused('a DSSE statement whose subject is not the file', keylessArgs(OTHER_FILE, keylessDsse.bundle), 'ERR_TRUSTLOAD_SIGNATURE', {
  message: new RegExp(`expected sha256:${sha256Hex(hello)}; found sha256:${sha256Hex(readFileSync(OTHER_FILE))}`),
});
{
  const bundle = clone(keylessDsse.bundle);
  bundle.dsseEnvelope.payloadType = 'application/json';
  refused('a DSSE bundle whose payloadType is changed', keylessArgs(ARTIFACT, writeIn(tmp, 'payload-type.json', bundle)), 'ERR_TRUSTLOAD_BAD_BUNDLE', {
    message: /payloadType "application\/json"/,
  });
}
{
  // The statement rewritten to name other.txt: the subject now matches, the signature cannot.
  const bundle = clone(keylessDsse.bundle);
  const statement = JSON.parse(Buffer.from(bundle.dsseEnvelope.payload, 'base64').toString('utf8'));
  statement.subject[0].digest.sha256 = sha256Hex(readFileSync(OTHER_FILE));
  bundle.dsseEnvelope.payload = Buffer.from(JSON.stringify(statement)).toString('base64');
  refused('a DSSE statement rewritten to name another file', keylessArgs(OTHER_FILE, writeIn(tmp, 'dsse-rewritten.json', bundle)), 'ERR_TRUSTLOAD_SIGNATURE');
}
{
  // The message digest rewritten to the other file's: the digest check passes, the signature cannot.
  const bundle = clone(keyP256.bundle);
  bundle.messageSignature.messageDigest.digest = Buffer.from(sha256Hex(readFileSync(OTHER_FILE)), 'hex').toString('base64');
  refused('a message digest rewritten to name another file', keyArgs(OTHER_FILE, writeIn(tmp, 'digest-rewritten.json', bundle), publicKey('p256')), 'ERR_TRUSTLOAD_SIGNATURE', {
    message: /does not verify with the key/,
  });
}
{
  const bundle = clone(keyless.bundle);
  bundle.messageSignature.signature = flipBase64(bundle.messageSignature.signature, -1);
  refused('one flipped bit in a keyless signature', keylessArgs(ARTIFACT, writeIn(tmp, 'keyless-sig-flipped.json', bundle)), 'ERR_TRUSTLOAD_SIGNATURE');
}

// ---------------------------------------------------------------- the signer is not the one asked for

const exactArgs = (bundle, identity, issuer = ISSUER) => keylessArgs(ARTIFACT, bundle, { identity, issuer });
const patternArgs = (bundle, pattern) => keylessArgs(ARTIFACT, bundle, { identity: null, extra: ['--certificate-identity-regexp', pattern] });
const evil = fixture('keyless-email').bundle;

refused('a wrong identity (another branch)', exactArgs(keyless.bundle, IDENTITY.replace('refs/heads/main', 'refs/heads/dev')), 'ERR_TRUSTLOAD_UNTRUSTED_SIGNER', {
  message: /expected .*refs\/heads\/dev.*; found .*refs\/heads\/main/,
});
refused('a look-alike signer (acme/plugins-evil) against the exact identity of acme/plugins', exactArgs(evil, IDENTITY), 'ERR_TRUSTLOAD_UNTRUSTED_SIGNER', {
  message: new RegExp(`found ${EVIL_IDENTITY.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&')} from`),
});
refused('an exact identity that is only a prefix of the SAN', exactArgs(keyless.bundle, 'https://github.com/acme/plugins'), 'ERR_TRUSTLOAD_UNTRUSTED_SIGNER');
refused('an exact identity that differs only in case', exactArgs(keyless.bundle, IDENTITY.replace('acme', 'ACME')), 'ERR_TRUSTLOAD_UNTRUSTED_SIGNER');
refused('an issuer with a trailing slash', exactArgs(keyless.bundle, IDENTITY, `${ISSUER}/`), 'ERR_TRUSTLOAD_UNTRUSTED_SIGNER', {
  message: /from https:\/\/token\.actions\.githubusercontent\.com\/;/,
});
refused('an issuer that differs only in case', exactArgs(keyless.bundle, IDENTITY, ISSUER.replace('token', 'Token')), 'ERR_TRUSTLOAD_UNTRUSTED_SIGNER');
verified(
  'a pattern with unescaped dots still matches the right SAN',
  patternArgs(keyless.bundle, '^https://github.com/acme/plugins/.github/workflows/release.yml@refs/heads/main$'),
  /signed by https:\/\/github\.com\/acme\/plugins\//,
);
refused('a pattern for a shorter name (acme/plugin) does not match acme/plugins', patternArgs(keyless.bundle, '^https://github\\.com/acme/plugin$'), 'ERR_TRUSTLOAD_UNTRUSTED_SIGNER');
refused('a pattern for a prefix of the SAN does not match it', patternArgs(keyless.bundle, '^https://github\\.com/acme/plugins$'), 'ERR_TRUSTLOAD_UNTRUSTED_SIGNER');
refused(
  'a pattern with a longer suffix does not match',
  patternArgs(keyless.bundle, '^https://github\\.com/acme/plugins/\\.github/workflows/release\\.yml@refs/heads/main-next$'),
  'ERR_TRUSTLOAD_UNTRUSTED_SIGNER',
);
refused(
  'a pattern with a longer prefix does not match',
  patternArgs(keyless.bundle, '^git\\+https://github\\.com/acme/plugins/\\.github/workflows/release\\.yml@refs/heads/main$'),
  'ERR_TRUSTLOAD_UNTRUSTED_SIGNER',
);
{
  // Read naively, ^a|b$ is "starts with a" or "ends with b", and would accept acme/plugins-evil.
  const trap = '^https://github\\.com/acme/plugins|nothing$';
  t.ok(new RegExp(trap).test(EVIL_IDENTITY), 'the naive reading of the alternation trap accepts the evil SAN');
  refused('the alternation trap ^acme/plugins|nothing$ does not accept acme/plugins-evil', patternArgs(evil, trap), 'ERR_TRUSTLOAD_UNTRUSTED_SIGNER');
  refused('the alternation trap ^acme/plugins|nothing$ does not accept acme/plugins either (whole match)', patternArgs(keyless.bundle, trap), 'ERR_TRUSTLOAD_UNTRUSTED_SIGNER');
  const branches = '^https://github\\.com/acme/plugins/.*@refs/heads/main|nothing$';
  refused('an alternation ^acme/plugins/.*@main|nothing$ does not accept acme/plugins-evil', patternArgs(evil, branches), 'ERR_TRUSTLOAD_UNTRUSTED_SIGNER');
  verified('an alternation ^acme/plugins/.*@main|nothing$ accepts acme/plugins', patternArgs(keyless.bundle, branches), /signed by https:\/\/github\.com\/acme\/plugins\//);
  // And ^a|b$ read naively accepts anything ending in b.
  const suffixTrap = '^nothing|plugins-evil/\\.github/workflows/release\\.yml@refs/heads/main$';
  t.ok(new RegExp(suffixTrap).test(EVIL_IDENTITY), 'the naive reading of the suffix trap accepts the evil SAN');
  refused('an alternation branch is matched whole, not as a suffix', patternArgs(evil, suffixTrap), 'ERR_TRUSTLOAD_UNTRUSTED_SIGNER');
  // A body that closes the wrapping group itself: ^(?:...nothing)|(.*)$ would match every identity.
  const escape = '^https://github\\.com/acme/nothing)|(.*$';
  t.ok(new RegExp(`^(?:${escape.slice(1, -1)})$`).test(EVIL_IDENTITY), 'wrapped naively, the unbalanced body escapes the anchors');
  cases.push({
    name: 'an identity pattern whose body is unbalanced is a usage error, never a match',
    args: patternArgs(evil, escape),
    check: (t, r) => assertUsage(t, r, /certificate-identity-regexp/),
  });
}
refused('a keyless bundle checked with --key', keyArgs(ARTIFACT, keyless.bundle, publicKey('p256'), { root: PRIVATE_ROOT }), 'ERR_TRUSTLOAD_UNTRUSTED_SIGNER');
refused('a key bundle checked with an identity', keylessArgs(ARTIFACT, keyP256.bundle), 'ERR_TRUSTLOAD_UNTRUSTED_SIGNER');
refused('a key bundle checked with another key', keyArgs(ARTIFACT, keyP256.bundle, publicKey('rsa')), 'ERR_TRUSTLOAD_SIGNATURE', {
  message: /does not verify with the key/,
});

// ---------------------------------------------------------------- key hints are never trusted

{
  const spki = (name) => Buffer.from(readFileSync(publicKey(name), 'utf8').replace(/-----[^-]+-----|\s/g, ''), 'base64');
  const bundle = clone(keyP256.bundle);
  t.equal(bundle.verificationMaterial.publicKey.hint, createHash('sha256').update(spki('p256')).digest('base64'), 'the fixture hint names p256');
  bundle.verificationMaterial.publicKey.hint = createHash('sha256').update(spki('p384')).digest('base64');
  const lying = writeIn(tmp, 'hint-names-p384.json', bundle);
  verified('a key hint naming another key: still verifies with the right --key', keyArgs(ARTIFACT, lying, publicKey('p256')), /signed by key .*p256\.pub\.pem/);
  refused('a key hint naming the wrong key: still refused with that wrong key', keyArgs(ARTIFACT, lying, publicKey('p384')), 'ERR_TRUSTLOAD_SIGNATURE');
  const noHint = clone(keyP256.bundle);
  delete noHint.verificationMaterial.publicKey.hint;
  verified('a key bundle with no hint verifies with the right --key', keyArgs(ARTIFACT, writeIn(tmp, 'no-hint.json', noHint), publicKey('p256')));
}

// ---------------------------------------------------------------- certificates and the CA

{
  // Found by test/fuzz-bundle.test.mjs: the library's ASN.1 reader ignores the outer tag, minimal
  // lengths and trailing bytes, none of which is signed; each of these verified before.
  const reencodings = {
    'a SET tag instead of SEQUENCE': (der) => Buffer.concat([Buffer.from([0x31]), der.subarray(1)]),
    'a trailing byte': (der) => Buffer.concat([der, Buffer.from([0])]),
    'a non-minimal length': (der) => Buffer.concat([Buffer.from([0x30, 0x83, 0x00]), der.subarray(2)]),
  };
  for (const [name, reencode] of Object.entries(reencodings)) {
    const bundle = clone(keyless.bundle);
    const der = Buffer.from(bundle.verificationMaterial.certificate.rawBytes, 'base64');
    bundle.verificationMaterial.certificate.rawBytes = reencode(der).toString('base64');
    refused(`the signing certificate re-encoded with ${name}`, keylessArgs(ARTIFACT, writeIn(tmp, `der-${name.replaceAll(' ', '-')}.json`, bundle)), 'ERR_TRUSTLOAD_BAD_BUNDLE', {
      message: /certificate 0 is not one DER-encoded certificate/,
    });
  }
}

refused('an expired certificate (log and TSA times after its validity)', keylessArgs(ARTIFACT, fixture('keyless-expired').bundle), 'ERR_TRUSTLOAD_CERTIFICATE', {
  message: /expired/,
});
{
  const other = fixture('keyless-other');
  verified('control: keyless-other verifies against its own (other) root', keylessArgs(other.artifact, other.bundle, { root: OTHER_ROOT }));
  // Its first unverifiable piece is the RFC 3161 timestamp from the other instance's TSA.
  // Both instances name their CA alike: the refusal says the chain does not lead to the root, not "timestamp failed".
  const wrongRoot = /does not chain to trusted root .*same name, but another key/;
  refused('a bundle from an untrusted instance (keyless-other against the private root)', keylessArgs(other.artifact, other.bundle), 'ERR_TRUSTLOAD_CERTIFICATE', { message: wrongRoot });
  refused('a bundle from the private instance against the other root', keylessArgs(ARTIFACT, keyless.bundle, { root: OTHER_ROOT }), 'ERR_TRUSTLOAD_CERTIFICATE', { message: wrongRoot });

  // Mixed: without its TSA timestamp, the other instance's certificate meets the private CA.
  const noTsa = clone(other.bundle);
  noTsa.verificationMaterial.timestampVerificationData = {};
  refused('mixed: keyless-other without its TSA timestamp, against the private root (untrusted CA)', keylessArgs(ARTIFACT, writeIn(tmp, 'other-no-tsa.json', noTsa)), 'ERR_TRUSTLOAD_CERTIFICATE');

  // Mixed root: the private instance's logs and TSA, but the other instance's CA.
  const mixedRoot = readJson(PRIVATE_ROOT);
  mixedRoot.certificateAuthorities = readJson(OTHER_ROOT).certificateAuthorities;
  refused('mixed root: private logs and TSA, other CA, against a private-instance bundle', keylessArgs(ARTIFACT, keyless.bundle, { root: writeIn(tmp, 'mixed-root.json', mixedRoot) }), 'ERR_TRUSTLOAD_CERTIFICATE');

  // Mixed bundle: the private certificate, signature and TSA timestamp, the other instance's log entry.
  const mixedLog = clone(keyless.bundle);
  mixedLog.verificationMaterial.tlogEntries = readJson(other.bundle).verificationMaterial.tlogEntries;
  refused('mixed bundle: a log entry from the other instance\'s Rekor', keylessArgs(ARTIFACT, writeIn(tmp, 'other-tlog.json', mixedLog)), 'ERR_TRUSTLOAD_TLOG');
}
{
  // The same keyless bundle as v0.2 with an x509CertificateChain: the leaf alone verifies, leaf + root is refused.
  const leaf = readJson(keyless.bundle).verificationMaterial.certificate.rawBytes;
  const caRoot = readJson(PRIVATE_ROOT).certificateAuthorities[0].certChain.certificates.at(-1).rawBytes;
  const asChain = (certificates) => {
    const bundle = clone(keyless.bundle);
    bundle.mediaType = V02;
    delete bundle.verificationMaterial.certificate;
    bundle.verificationMaterial.x509CertificateChain = { certificates: certificates.map((rawBytes) => ({ rawBytes })) };
    return bundle;
  };
  verified('control: the keyless bundle as v0.2 with a leaf-only certificate chain verifies', keylessArgs(ARTIFACT, writeIn(tmp, 'chain-leaf.json', asChain([leaf]))));
  refused('a certificate chain that includes the self-signed root', keylessArgs(ARTIFACT, writeIn(tmp, 'chain-root.json', asChain([leaf, caRoot]))), 'ERR_TRUSTLOAD_CERTIFICATE', {
    message: /includes a root/,
  });
  const conformance = join(SHARED_TESTDATA, 'sigstore-conformance', 'bundle-verify', 'bundle-with-root-cert_fail');
  refused(
    'the conformance suite\'s bundle-with-root-cert_fail',
    keylessArgs(join(conformance, 'artifact'), join(conformance, 'bundle.sigstore.json'), {
      identity: 'https://github.com/sigstore-conformance/extremely-dangerous-public-oidc-beacon/.github/workflows/extremely-dangerous-oidc-beacon.yml@refs/heads/main',
      root: null,
    }),
    'ERR_TRUSTLOAD_CERTIFICATE',
    { message: /includes a root/, skip: sharedTestdataMissing() },
  );
}

// ---------------------------------------------------------------- transparency log

refused('a keyless bundle with no log entry', keylessArgs(ARTIFACT, fixture('keyless-notlog').bundle), 'ERR_TRUSTLOAD_TLOG', { message: /no transparency log entry.*sign with the transparency log on/ });
refused('a key bundle with no log entry, without --insecure-ignore-tlog', keyArgs(ARTIFACT, keyP256.bundle, publicKey('p256'), { ignoreTlog: false, root: PRIVATE_ROOT }), 'ERR_TRUSTLOAD_TLOG');
{
  const tamper = (name, edit) => {
    const bundle = clone(keyless.bundle);
    edit(bundle.verificationMaterial.tlogEntries[0]);
    return keylessArgs(ARTIFACT, writeIn(tmp, `${name}.json`, bundle));
  };
  // @sigstore/verify reads the root hash and size from the signed checkpoint only; trustload
  // also refuses a proof whose own fields contradict it (as Rekor's verifier does).
  refused('a flipped bit in the inclusion proof\'s rootHash', tamper('root-hash', (e) => {
    e.inclusionProof.rootHash = flipBase64(e.inclusionProof.rootHash, 5);
  }), 'ERR_TRUSTLOAD_TLOG', { message: /root hash differs from its signed checkpoint/ });
  refused('an inclusion proof whose treeSize differs from its checkpoint', tamper('tree-size', (e) => {
    e.inclusionProof.treeSize = String(BigInt(e.inclusionProof.treeSize) + 1n);
  }), 'ERR_TRUSTLOAD_TLOG', { message: /tree size differs from its signed checkpoint/ });
  refused('a flipped bit in the rootHash and in the checkpoint it is signed in', tamper('root-hash-and-checkpoint', (e) => {
    const old = e.inclusionProof.rootHash;
    e.inclusionProof.rootHash = flipBase64(old, 5);
    e.inclusionProof.checkpoint.envelope = e.inclusionProof.checkpoint.envelope.replace(old, e.inclusionProof.rootHash);
  }), 'ERR_TRUSTLOAD_TLOG');
  refused('an inclusion proof with a forged extra hash', tamper('extra-hash', (e) => {
    e.inclusionProof.hashes = [...(e.inclusionProof.hashes ?? []), flipBase64(e.inclusionProof.rootHash, 0)];
  }), 'ERR_TRUSTLOAD_TLOG');
  refused('a flipped bit in the signed entry timestamp', tamper('set', (e) => {
    e.inclusionPromise.signedEntryTimestamp = flipBase64(e.inclusionPromise.signedEntryTimestamp, -3);
  }), 'ERR_TRUSTLOAD_TLOG');
  refused('a v0.3 log entry with no inclusion proof', tamper('no-proof', (e) => {
    delete e.inclusionProof;
  }), 'ERR_TRUSTLOAD_TLOG');
  // Found by test/fuzz-bundle.test.mjs: the library reads log numbers with Number() and BigInt()
  // (" 12", "1e3", "0x10") and skips unreadable checkpoint signature lines; protojson and Go's note
  // package (cosign, sigstore-go) refuse both. Each of these verified before.
  for (const [field, value] of [['integratedTime', ' 1795319498'], ['integratedTime', '1795319498.0'], ['inclusionProof.logIndex', '0x0'], ['inclusionProof.treeSize', '1e0']]) {
    refused(`a log entry whose ${field} is ${JSON.stringify(value)}`, tamper(`number-${field}-${value.trim()}`, (e) => {
      const [head, tail] = field.split('.');
      if (tail === undefined) e[head] = value;
      else e[head][tail] = value;
    }), 'ERR_TRUSTLOAD_TLOG', { message: /is not a non-negative integer/ });
  }
  // Found while fuzzing: the library verified each of a thousand copies of one valid timestamp
  // (milliseconds each) before noticing they were duplicates; a 16 MiB bundle stalled a load for minutes.
  const repeated = (list) => Array(1000).fill(list[0]);
  refused('a thousand copies of its valid RFC 3161 timestamp', keylessArgs(ARTIFACT, writeIn(tmp, 'many-timestamps.json', (() => {
    const bundle = clone(keyless.bundle);
    const data = bundle.verificationMaterial.timestampVerificationData;
    data.rfc3161Timestamps = repeated(data.rfc3161Timestamps);
    return bundle;
  })())), 'ERR_TRUSTLOAD_BAD_BUNDLE', { message: /carries 1000 RFC 3161 timestamps; at most 8/ });
  refused('a thousand copies of its valid log entry', keylessArgs(ARTIFACT, writeIn(tmp, 'many-entries.json', (() => {
    const bundle = clone(keyless.bundle);
    bundle.verificationMaterial.tlogEntries = repeated(bundle.verificationMaterial.tlogEntries);
    return bundle;
  })())), 'ERR_TRUSTLOAD_BAD_BUNDLE', { message: /carries 1000 log entries; at most 8/ });
  const signatureLines = {
    'a second copy of the note after its signature': (envelope) => envelope + envelope,
    'a comma inside the signature base64': (envelope) => envelope.replace(/(\u2014 \S+ )/, '$1,'),
    'no final newline': (envelope) => envelope.replace(/\n$/, ''),
  };
  for (const [name, edit] of Object.entries(signatureLines)) {
    refused(`a checkpoint with ${name}`, tamper(`note-${name.replaceAll(' ', '-')}`, (e) => {
      e.inclusionProof.checkpoint.envelope = edit(e.inclusionProof.checkpoint.envelope);
    }), 'ERR_TRUSTLOAD_TLOG', { message: /signature lines are malformed/ });
  }
}
{
  const bundle = clone(fixture('key-p256-tlog').bundle);
  const e = bundle.verificationMaterial.tlogEntries[0];
  e.inclusionProof.rootHash = flipBase64(e.inclusionProof.rootHash, 0);
  refused('a key bundle whose inclusion proof is corrupted', keyArgs(ARTIFACT, writeIn(tmp, 'key-root-hash.json', bundle), publicKey('p256'), { ignoreTlog: false, root: PRIVATE_ROOT }), 'ERR_TRUSTLOAD_TLOG');
}

// ---------------------------------------------------------------- trust material (exit 2)

{
  const noStart = readJson(PRIVATE_ROOT);
  delete noStart.tlogs[0].publicKey.validFor.start;
  refused('a trusted root with a tlog missing validFor.start', keylessArgs(ARTIFACT, keyless.bundle, { root: writeIn(tmp, 'root-no-start.json', noStart) }), 'ERR_TRUSTLOAD_POLICY', {
    exit: 2,
    message: /tlogs\[0\] has no validFor\.start/,
  });
  const unknownType = readJson(PRIVATE_ROOT);
  unknownType.mediaType = 'application/vnd.dev.sigstore.trustedroot+json;version=0.9';
  refused('a trusted root with an unknown mediaType', keylessArgs(ARTIFACT, keyless.bundle, { root: writeIn(tmp, 'root-unknown-type.json', unknownType) }), 'ERR_TRUSTLOAD_POLICY', {
    exit: 2,
    message: /mediaType/,
  });
  refused('a trusted root that is not JSON', keylessArgs(ARTIFACT, keyless.bundle, { root: writeIn(tmp, 'root-malformed.json', '{"mediaType":') }), 'ERR_TRUSTLOAD_POLICY', { exit: 2 });
  const protoRoot = readFileSync(PRIVATE_ROOT, 'utf8').replace('{', '{"__proto__": {"polluted": true},');
  refused('a trusted root with a "__proto__" key', keylessArgs(ARTIFACT, keyless.bundle, { root: writeIn(tmp, 'root-proto.json', protoRoot) }), 'ERR_TRUSTLOAD_POLICY', { exit: 2, message: /__proto__/ });
  refused('a missing trusted root file', keylessArgs(ARTIFACT, keyless.bundle, { root: join(tmp, 'no-such-root.json') }), 'ERR_TRUSTLOAD_POLICY', { exit: 2, message: /does not exist/ });
}
refused('a private key given as --key', keyArgs(ARTIFACT, keyP256.bundle, privateKey('p256')), 'ERR_TRUSTLOAD_POLICY', { exit: 2, message: /private key/ });
refused('a --key file that is not a PEM key', keyArgs(ARTIFACT, keyP256.bundle, ARTIFACT), 'ERR_TRUSTLOAD_POLICY', { exit: 2, message: /not (?:a|one) PEM/ });
refused('a missing --key file', keyArgs(ARTIFACT, keyP256.bundle, join(tmp, 'no-such.pem')), 'ERR_TRUSTLOAD_POLICY', { exit: 2 });

// ---------------------------------------------------------------- --json on a refusal

cases.push({
  name: '--json on a refusal prints the error as JSON and still one line on stderr',
  args: keylessArgs(OTHER_FILE, keyless.bundle, { extra: ['--json'] }),
  check: (t, r) => {
    t.equal(r.code, 1);
    t.equal(errorCode(r.stderr), 'ERR_TRUSTLOAD_SIGNATURE');
    assertCleanMessage(t, r.stderr);
    const out = JSON.parse(r.stdout);
    t.equal(out.verified, false);
    t.equal(out.error.code, 'ERR_TRUSTLOAD_SIGNATURE');
    t.match(out.error.expected, /^sha256:[0-9a-f]{64}$/);
  },
});

// ---------------------------------------------------------------- a 64 MiB bundle, in 32 MB of heap

const RSS_PROBE = new URL('./helpers/rss-probe.mjs', import.meta.url).href;
/** Runs the CLI under extra node flags, reporting the process's peak RSS (KiB). */
function runMeasured(name, cliArgs) {
  const rssFile = join(tmp, `${name}.rss`);
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      ['--max-old-space-size=32', '--import', RSS_PROBE, CLI, ...cliArgs],
      { encoding: 'utf8', env: { ...process.env, TRUSTLOAD_TEST_RSS_FILE: rssFile } },
      (error, stdout, stderr) => {
        const code = error ? (typeof error.code === 'number' ? error.code : -1) : 0;
        const maxRSS = existsSync(rssFile) ? Number(readFileSync(rssFile, 'utf8')) : undefined;
        resolve({ code, signal: error?.signal ?? null, stdout, stderr, maxRSS });
      },
    );
  });
}
{
  // A real bundle followed by zeros up to 64 MiB (sparse: costs no disk).
  const HUGE = 64 * 1024 * 1024;
  const huge = join(tmp, 'huge.sigstore.json');
  const fd = openSync(huge, 'w');
  writeSync(fd, readFileSync(keyless.bundle));
  ftruncateSync(fd, HUGE);
  closeSync(fd);
  const small = writeIn(tmp, 'small-bad.json', '{');
  const runs = Promise.all([runMeasured('huge', keylessArgs(ARTIFACT, huge)), runMeasured('small', keylessArgs(ARTIFACT, small))]);
  cases.push({
    name: 'a 64 MiB bundle is refused before it is read, naming the size limit, in 32 MB of heap',
    run: () => runs,
    check: (t, [big, baseline]) => {
      t.equal(big.signal, null, 'not killed');
      t.equal(big.code, 1, `exits 1, not an out-of-memory crash\n${big.stderr.slice(0, 500)}`);
      t.equal(errorCode(big.stderr), 'ERR_TRUSTLOAD_BAD_BUNDLE', `refused as a bad bundle: ${big.stderr.split('\n')[0]}`);
      t.match(big.stderr, new RegExp(`${HUGE} bytes; the limit is \\d+`), 'names the size and the limit');
      assertCleanMessage(t, big.stderr);
      t.equal(baseline.code, 1, 'the baseline (a one-byte bad bundle) is refused too');
      t.type(big.maxRSS, 'number', 'peak memory was measured');
      const grewKiB = big.maxRSS - baseline.maxRSS;
      t.ok(grewKiB < 16 * 1024, `memory stays flat: peak RSS ${big.maxRSS} KiB vs ${baseline.maxRSS} KiB for a one-byte bundle`);
    },
  });
}
{
  // Found by test/fuzz-bundle.test.mjs: a bytes field that is an object reached Buffer.from, which
  // allocates {"length": N} as N bytes: a 40-byte edit cost gigabytes (an out-of-memory crash).
  const LENGTH = 200_000_000;
  const places = {
    'logId.keyId': (b) => (b.verificationMaterial.tlogEntries[0].logId.keyId = { length: LENGTH }),
    'the signature': (b) => (b.messageSignature.signature = { length: LENGTH }),
    'the certificate': (b) => (b.verificationMaterial.certificate.rawBytes = { length: LENGTH }),
    'a proof hash': (b) => (b.verificationMaterial.tlogEntries[0].inclusionProof.hashes = [{ length: LENGTH }]),
  };
  const baseline = runMeasured('array-like-baseline', keylessArgs(ARTIFACT, writeIn(tmp, 'array-like-baseline.json', '{')));
  for (const [place, edit] of Object.entries(places)) {
    const bundle = clone(keyless.bundle);
    edit(bundle);
    const name = `array-like-${place.replaceAll(/\W/g, '-')}`;
    const runs = Promise.all([runMeasured(name, keylessArgs(ARTIFACT, writeIn(tmp, `${name}.json`, bundle))), baseline]);
    cases.push({
      name: `{"length": ${LENGTH}} as ${place} is refused without allocating it`,
      run: () => runs,
      check: (t, [result, small]) => {
        t.equal(result.signal, null, 'not killed');
        t.equal(result.code, 1, `exits 1\n${result.stderr.slice(0, 500)}`);
        t.equal(errorCode(result.stderr), 'ERR_TRUSTLOAD_BAD_BUNDLE', `refused as a bad bundle: ${result.stderr.split('\n')[0]}`);
        t.match(result.stderr, /is not a base64 string/, 'names the field');
        assertCleanMessage(t, result.stderr);
        t.ok(result.maxRSS - small.maxRSS < 16 * 1024, `memory stays flat: peak RSS ${result.maxRSS} KiB vs ${small.maxRSS} KiB`);
      },
    });
  }
}
if (existsSync('/dev/zero')) {
  refused('an endless device as the bundle (/dev/zero) is refused, not read', keylessArgs(ARTIFACT, '/dev/zero'), 'ERR_TRUSTLOAD_BAD_BUNDLE', { message: /not a regular file/ });
}

// Copies, not the fixtures, were mutated.
t.equal(readJson(keyless.bundle).verificationMaterial.tlogEntries.length, 1, 'fixtures untouched');

await runCases(t, cases);
