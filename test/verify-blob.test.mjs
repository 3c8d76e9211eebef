// `trustload verify-blob`: what verifies (every good fixture, both trusted
// root spellings, JSON output, identity patterns, sha256:<hex> input, the
// OpenSSF model-signing bundles) and the usage errors that exit 2.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import t from 'tap';
import {
  ARTIFACT,
  assertRefused,
  assertUsage,
  assertVerified,
  fixture,
  IDENTITY,
  ISSUER,
  keyArgs,
  keylessArgs,
  MODEL_SIGNING,
  PRIVATE_ROOT,
  PRIVATE_ROOT_V02,
  publicKey,
  runCases,
  sha256Hex,
} from './helpers/fixtures.mjs';
import { sharedTestdataMissing } from './helpers/cli.mjs';

const DIGEST = `sha256:${sha256Hex(readFileSync(ARTIFACT))}`;
const ROOTS = { 'v0.1 media type': PRIVATE_ROOT, 'v0.2 media type': PRIVATE_ROOT_V02 };
const SIGNED_BY_IDENTITY = new RegExp(`signed by ${IDENTITY.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&')} \\(issuer ${ISSUER.replace(/[./]/g, '\\$&')}\\)`);

const cases = [];

// Keyless: message signature and DSSE, against both spellings of the private trusted root.
for (const dir of ['keyless', 'keyless-dsse']) {
  const { artifact, bundle } = fixture(dir);
  for (const [spelling, root] of Object.entries(ROOTS)) {
    cases.push({
      name: `${dir} verifies against the private root (${spelling})`,
      args: keylessArgs(artifact, bundle, { root }),
      check: (t, r) => assertVerified(t, r, SIGNED_BY_IDENTITY),
    });
  }
}

// Key signatures, offline: every key type, with --insecure-ignore-tlog.
for (const [dir, key] of [
  ['key-p256', 'p256'],
  ['key-p384', 'p384'],
  ['key-ed25519', 'ed25519'],
  ['key-rsa', 'rsa'],
  ['key-p384-dsse', 'p384'],
]) {
  const { artifact, bundle } = fixture(dir);
  cases.push({
    name: `${dir} verifies with keys/${key}.pub.pem and --insecure-ignore-tlog`,
    args: keyArgs(artifact, bundle, publicKey(key)),
    check: (t, r) => assertVerified(t, r, new RegExp(`signed by key .*${key}\\.pub\\.pem`)),
  });
}

{
  const { artifact, bundle } = fixture('key-p256-tlog');
  cases.push({
    name: 'key-p256-tlog verifies its log entry against the private root, without --insecure-ignore-tlog',
    args: keyArgs(artifact, bundle, publicKey('p256'), { ignoreTlog: false, root: PRIVATE_ROOT }),
    check: (t, r) => assertVerified(t, r, /signed by key .*p256\.pub\.pem/),
  });
  cases.push({
    name: 'key-p256-tlog is refused without the root that trusts its log (public good by default)',
    args: keyArgs(artifact, bundle, publicKey('p256'), { ignoreTlog: false }),
    check: (t, r) => assertRefused(t, r, 'ERR_TRUSTLOAD_TLOG'),
  });
}

// --json: parses, says verified, names the signer.
{
  const { artifact, bundle } = fixture('keyless');
  cases.push({
    name: '--json (keyless) parses and names identity, issuer and claims',
    args: keylessArgs(artifact, bundle, { extra: ['--json'] }),
    check: (t, r) => {
      t.equal(r.code, 0, r.stderr);
      t.equal(r.stderr, '');
      const out = JSON.parse(r.stdout);
      t.equal(out.verified, true);
      t.equal(out.artifact, artifact);
      t.match(out.signer, { kind: 'keyless', identity: IDENTITY, issuer: ISSUER });
      t.equal(out.signer.claims.sourceRepositoryURI, 'https://github.com/acme/plugins', 'carries the Fulcio claims');
    },
  });
}
{
  const { artifact, bundle } = fixture('keyless-dsse');
  cases.push({
    name: '--json (keyless DSSE) parses and names the signer',
    args: keylessArgs(artifact, bundle, { extra: ['--json'] }),
    check: (t, r) => {
      t.equal(r.code, 0, r.stderr);
      t.match(JSON.parse(r.stdout), { verified: true, signer: { kind: 'keyless', identity: IDENTITY, issuer: ISSUER } });
    },
  });
}
{
  const { artifact, bundle } = fixture('key-rsa');
  cases.push({
    name: '--json (key) parses and says a key signed',
    args: keyArgs(artifact, bundle, publicKey('rsa'), { extra: ['--json'] }),
    check: (t, r) => {
      t.equal(r.code, 0, r.stderr);
      const out = JSON.parse(r.stdout);
      t.equal(out.verified, true);
      t.equal(out.signer.kind, 'key');
      t.type(out.signer.key, 'string', 'names the key');
      t.notOk('identity' in out.signer, 'a key signer has no identity');
    },
  });
}

// --certificate-identity-regexp: anchored patterns match the whole SAN.
{
  const { artifact, bundle } = fixture('keyless');
  const regexpArgs = (pattern) =>
    keylessArgs(artifact, bundle, { identity: null, extra: ['--certificate-identity-regexp', pattern] });
  cases.push({
    name: 'an anchored, escaped --certificate-identity-regexp matches the SAN',
    args: regexpArgs('^https://github\\.com/acme/plugins/\\.github/workflows/release\\.yml@refs/heads/main$'),
    check: (t, r) => assertVerified(t, r, SIGNED_BY_IDENTITY),
  });
  cases.push({
    name: 'an anchored pattern with a wildcard branch matches the SAN',
    args: regexpArgs('^https://github\\.com/acme/plugins/\\.github/workflows/[a-z]+\\.yml@refs/heads/(main|release)$'),
    check: (t, r) => assertVerified(t, r, SIGNED_BY_IDENTITY),
  });
}

// sha256:<hex> in place of the file.
for (const [name, args] of [
  ['key-p256 (ECDSA P-256)', keyArgs(DIGEST, fixture('key-p256').bundle, publicKey('p256'))],
  ['key-rsa (RSA PKCS#1 v1.5)', keyArgs(DIGEST, fixture('key-rsa').bundle, publicKey('rsa'))],
  ['key-p256-tlog (with its log entry)', keyArgs(DIGEST, fixture('key-p256-tlog').bundle, publicKey('p256'), { ignoreTlog: false, root: PRIVATE_ROOT })],
  ['key-p384-dsse (DSSE subject by digest)', keyArgs(DIGEST, fixture('key-p384-dsse').bundle, publicKey('p384'))],
  ['keyless (message signature)', keylessArgs(DIGEST, fixture('keyless').bundle)],
  ['keyless-dsse', keylessArgs(DIGEST, fixture('keyless-dsse').bundle)],
]) {
  cases.push({
    name: `sha256:<hex> input verifies ${name}`,
    args,
    check: (t, r) => {
      assertVerified(t, r);
      t.match(r.stdout, `verified ${DIGEST}`, 'names the digest it verified');
    },
  });
}
cases.push({
  name: 'sha256:<hex> input cannot verify an Ed25519 message signature: a clear ERR_TRUSTLOAD_SIGNATURE',
  args: keyArgs(DIGEST, fixture('key-ed25519').bundle, publicKey('ed25519')),
  check: (t, r) => assertRefused(t, r, 'ERR_TRUSTLOAD_SIGNATURE', { message: /ed25519.*cannot be verified from a digest; pass the file/ }),
});
cases.push({
  name: 'sha256:<hex> input cannot verify a message signed over SHA-384: a clear ERR_TRUSTLOAD_SIGNATURE',
  args: keyArgs(DIGEST, fixture('key-p384').bundle, publicKey('p384')),
  check: (t, r) => assertRefused(t, r, 'ERR_TRUSTLOAD_SIGNATURE', { message: /sha384.*pass the file/ }),
});
cases.push({
  name: 'a wrong sha256:<hex> is refused (key-p256)',
  args: keyArgs(`sha256:${'0'.repeat(64)}`, fixture('key-p256').bundle, publicKey('p256')),
  check: (t, r) => assertRefused(t, r, 'ERR_TRUSTLOAD_SIGNATURE', { message: /digest mismatch/ }),
});

// OpenSSF model-signing v1.0 bundles (DSSE over the manifest), verified by their manifest digest.
const modelSigningSkip = sharedTestdataMissing();
if (modelSigningSkip) cases.push({ name: 'model-signing v1.0 bundles', skip: modelSigningSkip });
else {
  const SIGSTORE_DIGEST = 'sha256:61d4849d9d90076d6215f4d525f13d6574af8e3f67aef3e6f36fc40a14fdd226';
  const KEY_DIGEST = 'sha256:afa48c8674afe334b8a7dea34f7b46ab256e9255edf8da2132792341b667a45b';
  const sigstoreBundle = join(MODEL_SIGNING, 'v1.0.0-sigstore', 'model.sig');
  const keyBundle = join(MODEL_SIGNING, 'v1.0.0-elliptic-key', 'model.sig');
  const modelKey = join(MODEL_SIGNING, 'keys', 'certificate', 'signing-key-pub.pem');
  const ibm = { identity: 'stefanb@us.ibm.com', issuer: 'https://sigstore.verify.ibm.com/oauth2', root: null };
  const wrong = (digest) => `sha256:${digest.slice(7, -1)}${digest.endsWith('0') ? '1' : '0'}`;

  cases.push({
    name: 'model-signing v1.0.0-sigstore verifies against the public-good root (default)',
    args: keylessArgs(SIGSTORE_DIGEST, sigstoreBundle, ibm),
    check: (t, r) => assertVerified(t, r, /signed by stefanb@us\.ibm\.com \(issuer https:\/\/sigstore\.verify\.ibm\.com\/oauth2\)/),
  });
  cases.push({
    name: 'model-signing v1.0.0-sigstore with a wrong digest is refused',
    args: keylessArgs(wrong(SIGSTORE_DIGEST), sigstoreBundle, ibm),
    check: (t, r) => assertRefused(t, r, 'ERR_TRUSTLOAD_SIGNATURE', { message: /does not name this file as a subject/ }),
  });
  cases.push({
    name: 'model-signing v1.0.0-sigstore with another identity is refused',
    args: keylessArgs(SIGSTORE_DIGEST, sigstoreBundle, { ...ibm, identity: 'stefanb@us.ibm.co' }),
    check: (t, r) => assertRefused(t, r, 'ERR_TRUSTLOAD_UNTRUSTED_SIGNER'),
  });
  cases.push({
    name: 'model-signing v1.0.0-elliptic-key (P-384 DSSE, no key hint) verifies with its key and --insecure-ignore-tlog',
    args: keyArgs(KEY_DIGEST, keyBundle, modelKey),
    check: (t, r) => assertVerified(t, r, /signed by key .*signing-key-pub\.pem/),
  });
  cases.push({
    name: 'model-signing v1.0.0-elliptic-key is refused without --insecure-ignore-tlog (it has no log entry)',
    args: keyArgs(KEY_DIGEST, keyBundle, modelKey, { ignoreTlog: false }),
    check: (t, r) => assertRefused(t, r, 'ERR_TRUSTLOAD_TLOG'),
  });
  cases.push({
    name: 'model-signing v1.0.0-elliptic-key with a wrong digest is refused',
    args: keyArgs(wrong(KEY_DIGEST), keyBundle, modelKey),
    check: (t, r) => assertRefused(t, r, 'ERR_TRUSTLOAD_SIGNATURE', { message: /does not name this file as a subject/ }),
  });
  cases.push({
    name: 'model-signing v1.0.0-elliptic-key with another P-384 key is refused',
    args: keyArgs(KEY_DIGEST, keyBundle, publicKey('p384')),
    check: (t, r) => assertRefused(t, r, 'ERR_TRUSTLOAD_SIGNATURE'),
  });
}

// Usage errors: exit 2, one line, before anything is verified.
{
  const { artifact, bundle } = fixture('keyless');
  const usage = (name, args, message) => cases.push({ name: `usage: ${name}`, args, check: (t, r) => assertUsage(t, r, message) });
  usage('no --bundle', ['verify-blob', artifact, '--certificate-identity', IDENTITY, '--certificate-oidc-issuer', ISSUER], /--bundle/);
  usage('both --key and an identity', keylessArgs(artifact, bundle, { extra: ['--key', publicKey('p256')] }), /either --key or --certificate-identity/);
  usage('--certificate-identity-regexp without ^ and $', keylessArgs(artifact, bundle, { identity: null, extra: ['--certificate-identity-regexp', 'https://github\\.com/acme/.*'] }), /must start with \^ and end with \$/);
  usage('--certificate-identity-regexp without $', keylessArgs(artifact, bundle, { identity: null, extra: ['--certificate-identity-regexp', '^https://github\\.com/acme/.*'] }), /must start with \^ and end with \$/);
  usage('--certificate-identity-regexp ending in an escaped \\$', keylessArgs(artifact, bundle, { identity: null, extra: ['--certificate-identity-regexp', '^https://github\\.com/acme/.*\\$'] }), /must start with \^ and end with \$/);
  usage('an unknown flag', keylessArgs(artifact, bundle, { extra: ['--frobnicate'] }), /--frobnicate/);
  usage('no artifact', ['verify-blob', '--bundle', bundle, '--certificate-identity', IDENTITY, '--certificate-oidc-issuer', ISSUER], /exactly one FILE_OR_DIGEST/);
  usage('two artifacts', keylessArgs(artifact, bundle, { extra: [artifact] }), /exactly one FILE_OR_DIGEST/);
  usage('no --certificate-oidc-issuer', keylessArgs(artifact, bundle, { issuer: null }), /--certificate-oidc-issuer/);
  usage('no identity', keylessArgs(artifact, bundle, { identity: null }), /--certificate-identity/);
  usage('both --certificate-identity and --certificate-identity-regexp', keylessArgs(artifact, bundle, { extra: ['--certificate-identity-regexp', '^x$'] }), /exactly one of/);
  usage('--insecure-ignore-tlog with a keyless signer', keylessArgs(artifact, bundle, { extra: ['--insecure-ignore-tlog'] }), /--insecure-ignore-tlog/);
}
cases.push({
  name: 'usage: an unknown command exits 2 and names it',
  args: ['verfy-blob', ARTIFACT],
  check: (t, r) => {
    t.equal(r.code, 2);
    t.match(r.stderr.split('\n')[0], /^trustload: unknown command "verfy-blob": did you mean "verify-blob"\?$/);
    t.notMatch(r.stderr, /^\s+at\s/m, 'no stack trace');
  },
});
cases.push({
  name: 'verify-blob --help exits 0 and lists the flags',
  args: ['verify-blob', '--help'],
  check: (t, r) => {
    t.equal(r.code, 0);
    for (const flag of ['--bundle', '--certificate-identity', '--certificate-identity-regexp', '--certificate-oidc-issuer', '--key', '--trusted-root', '--insecure-ignore-tlog', '--json']) {
      t.match(r.stdout, flag);
    }
  },
});

await runCases(t, cases);
