// `trustload verify-blob`: what verifies (every good fixture, both trusted
// root spellings, JSON output, identity and issuer patterns, cosign's GitHub
// workflow flags, sha256:<hex> and standard input, detached signatures, the
// OpenSSF model-signing bundles) and the usage errors that exit 2.
import { execFile } from 'node:child_process';
import { createPrivateKey, sign } from 'node:crypto';
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
  privateKey,
  PRIVATE_ROOT,
  PRIVATE_ROOT_V02,
  publicKey,
  runCases,
  sha256Hex,
  tempDir,
  writeIn,
} from './helpers/fixtures.mjs';
import { CLI, FIXTURES, sharedTestdataMissing } from './helpers/cli.mjs';

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

// cosign's keyless flags beyond identity and issuer: fixtures/workflow's certificate carries all five
// deprecated GitHub workflow extensions (fixtures/workflow/README.md), the main fixtures' lack the name (.4).
{
  const dir = join(FIXTURES, 'workflow');
  const { artifact, bundle } = { artifact: join(dir, 'hello.txt'), bundle: join(dir, 'hello.txt.sigstore.json') };
  const root = join(dir, 'trusted_root.json');
  const workflow = {
    repository: 'acme/plugins',
    ref: 'refs/tags/v1.2.3',
    sha: 'fedcba9876543210fedcba9876543210fedcba98',
    trigger: 'release',
    name: 'Release plugins',
  };
  const flag = (name, value) => [`--certificate-github-workflow-${name}`, value];
  const all = Object.entries(workflow).flatMap(([name, value]) => flag(name, value));
  cases.push({
    name: 'every --certificate-github-workflow-* flag matches its deprecated extension',
    args: keylessArgs(artifact, bundle, { root, extra: [...all, '--json'] }),
    check: (t, r) => {
      t.equal(r.code, 0, r.stderr);
      t.match(JSON.parse(r.stdout).signer.claims, {
        githubWorkflowRepository: workflow.repository,
        githubWorkflowRef: workflow.ref,
        githubWorkflowSha: workflow.sha,
        githubWorkflowTrigger: workflow.trigger,
        githubWorkflowName: workflow.name,
      });
    },
  });
  const wrong = {
    repository: ['acme/plugins-evil', 'https://github.com/acme/plugins'],
    ref: ['refs/heads/main'],
    sha: ['0123456789abcdef0123456789abcdef01234567'],
    trigger: ['push'],
    name: ['Release', 'release plugins'],
  };
  for (const [name, values] of Object.entries(wrong)) {
    for (const value of values) {
      cases.push({
        name: `a wrong --certificate-github-workflow-${name} (${value}) refuses`,
        args: keylessArgs(artifact, bundle, { root, extra: flag(name, value) }),
        check: (t, r) => assertRefused(t, r, 'ERR_TRUSTLOAD_UNTRUSTED_SIGNER', { message: `found githubWorkflow` }),
      });
    }
  }
  cases.push({
    name: '--certificate-github-workflow-name refuses a certificate without that extension',
    args: keylessArgs(fixture('keyless').artifact, fixture('keyless').bundle, { extra: flag('name', 'Release') }),
    check: (t, r) => assertRefused(t, r, 'ERR_TRUSTLOAD_UNTRUSTED_SIGNER', { message: /githubWorkflowName=\(absent\)/ }),
  });
  cases.push({
    name: 'the main fixtures carry the other four extensions (keyless, main branch push)',
    args: keylessArgs(fixture('keyless').artifact, fixture('keyless').bundle, {
      extra: [...flag('repository', 'acme/plugins'), ...flag('ref', 'refs/heads/main'), ...flag('trigger', 'push'), ...flag('sha', '0123456789abcdef0123456789abcdef01234567')],
    }),
    check: (t, r) => assertVerified(t, r, SIGNED_BY_IDENTITY),
  });
  const issuerRegexp = (pattern) => keylessArgs(artifact, bundle, { root, issuer: null, extra: ['--certificate-oidc-issuer-regexp', pattern] });
  cases.push({
    name: 'an anchored --certificate-oidc-issuer-regexp matches the issuer',
    args: issuerRegexp('^https://token\\.actions\\.githubusercontent\\.com$'),
    check: (t, r) => assertVerified(t, r, SIGNED_BY_IDENTITY),
  });
  cases.push({
    name: 'a --certificate-oidc-issuer-regexp matching another issuer refuses',
    args: issuerRegexp('^https://accounts\\.google\\.com$'),
    check: (t, r) => assertRefused(t, r, 'ERR_TRUSTLOAD_UNTRUSTED_SIGNER'),
  });
  cases.push({
    name: 'a --certificate-oidc-issuer-regexp alternation is matched whole (^a|b$ cannot match a prefix)',
    args: issuerRegexp('^https://token|nothing$'),
    check: (t, r) => assertRefused(t, r, 'ERR_TRUSTLOAD_UNTRUSTED_SIGNER'),
  });
}

// `-`: the artifact from standard input, through a real pipe.
function pipeInto(args, input) {
  return () =>
    new Promise((resolve) => {
      const child = execFile(process.execPath, [CLI, ...args], { encoding: 'utf8' }, (error, stdout, stderr) => {
        resolve({ code: error ? (typeof error.code === 'number' ? error.code : -1) : 0, stdout, stderr });
      });
      child.stdin.on('error', () => {}); // a refusal may close the pipe before everything is written
      child.stdin.end(input);
    });
}
{
  const { bundle } = fixture('keyless');
  cases.push({
    name: '- reads the artifact from standard input (keyless)',
    run: pipeInto(keylessArgs('-', bundle), readFileSync(ARTIFACT)),
    check: (t, r) => {
      assertVerified(t, r, SIGNED_BY_IDENTITY);
      t.match(r.stdout, 'verified standard input');
    },
  });
  cases.push({
    name: '- with other bytes on standard input refuses',
    run: pipeInto(keylessArgs('-', bundle), Buffer.from('hello, trustload?\n')),
    check: (t, r) => assertRefused(t, r, 'ERR_TRUSTLOAD_SIGNATURE'),
  });
  cases.push({
    name: '- with a key bundle (key-p256)',
    run: pipeInto(keyArgs('-', fixture('key-p256').bundle, publicKey('p256')), readFileSync(ARTIFACT)),
    check: (t, r) => assertVerified(t, r, /signed by key/),
  });
}

// cosign's detached form: --signature FILE (base64, as cosign writes it) with --key, offline.
{
  const dir = tempDir();
  const bytes = readFileSync(ARTIFACT);
  const detached = (key) => {
    const privateKeyObject = createPrivateKey(readFileSync(privateKey(key)));
    const digest = key === 'ed25519' ? null : key === 'p384' ? 'sha384' : 'sha256';
    return writeIn(dir, `${key}.sig`, `${sign(digest, bytes, privateKeyObject).toString('base64')}\n`);
  };
  const detachedArgs = (target, signature, key, extra = ['--insecure-ignore-tlog']) => ['verify-blob', target, '--signature', signature, '--key', publicKey(key), ...extra];
  for (const key of ['p256', 'p384', 'ed25519', 'rsa']) {
    cases.push({
      name: `--signature (detached, ${key}) verifies with --key and --insecure-ignore-tlog`,
      args: detachedArgs(ARTIFACT, detached(key), key),
      check: (t, r) => assertVerified(t, r, new RegExp(`signed by key .*${key}\\.pub\\.pem`)),
    });
  }
  const p256 = detached('p256');
  cases.push({
    name: '--signature verifies a sha256:<hex> digest (ECDSA P-256)',
    args: detachedArgs(DIGEST, p256, 'p256'),
    check: (t, r) => assertVerified(t, r),
  });
  cases.push({
    name: '--signature over other bytes refuses',
    args: detachedArgs(writeIn(dir, 'tampered.txt', Buffer.concat([bytes, Buffer.from('!')])), p256, 'p256'),
    check: (t, r) => assertRefused(t, r, 'ERR_TRUSTLOAD_SIGNATURE'),
  });
  cases.push({
    name: '--signature with another key refuses',
    args: detachedArgs(ARTIFACT, p256, 'rsa'),
    check: (t, r) => assertRefused(t, r, 'ERR_TRUSTLOAD_SIGNATURE'),
  });
  cases.push({
    name: '--signature that is not base64 refuses as a bad bundle',
    args: detachedArgs(ARTIFACT, writeIn(dir, 'raw.sig', sign('sha256', bytes, createPrivateKey(readFileSync(privateKey('p256'))))), 'p256'),
    check: (t, r) => assertRefused(t, r, 'ERR_TRUSTLOAD_BAD_BUNDLE', { message: /not base64/ }),
  });
  cases.push({
    name: '--signature that does not exist refuses as no bundle',
    args: detachedArgs(ARTIFACT, join(dir, 'absent.sig'), 'p256'),
    check: (t, r) => assertRefused(t, r, 'ERR_TRUSTLOAD_NO_BUNDLE'),
  });
  const usage = (name, args, message) => cases.push({ name: `usage: ${name}`, args, check: (t, r) => assertUsage(t, r, message) });
  usage('--signature without --insecure-ignore-tlog says why', detachedArgs(ARTIFACT, p256, 'p256', []), /--insecure-ignore-tlog: a detached signature carries no transparency log entry/);
  usage('--signature with --certificate is refused with how to make a bundle', ['verify-blob', ARTIFACT, '--signature', p256, '--certificate', publicKey('p256'), '--certificate-identity', IDENTITY, '--certificate-oidc-issuer', ISSUER], /no proof of when it was made.*cosign sign-blob --bundle/);
  usage('--signature with an identity and no --key is refused the same way', ['verify-blob', ARTIFACT, '--signature', p256, '--certificate-identity', IDENTITY, '--certificate-oidc-issuer', ISSUER], /--signature needs --key: .*no proof of when it was made/);
  usage('--signature with --bundle', [...detachedArgs(ARTIFACT, p256, 'p256'), '--bundle', fixture('key-p256').bundle], /either --bundle or --signature/);
  usage('--signature with --trusted-root', [...detachedArgs(ARTIFACT, p256, 'p256'), '--trusted-root', PRIVATE_ROOT], /no --trusted-root/);
}

// Usage errors of the new keyless flags.
{
  const { artifact, bundle } = fixture('keyless');
  const usage = (name, args, message) => cases.push({ name: `usage: ${name}`, args, check: (t, r) => assertUsage(t, r, message) });
  usage('--certificate-oidc-issuer-regexp without ^ and $ says why', keylessArgs(artifact, bundle, { issuer: null, extra: ['--certificate-oidc-issuer-regexp', 'githubusercontent'] }), /--certificate-oidc-issuer-regexp must start with \^ and end with \$: the pattern must match the whole value/);
  usage('--certificate-identity-regexp without ^ and $ says why', keylessArgs(artifact, bundle, { identity: null, extra: ['--certificate-identity-regexp', 'acme/plugins'] }), /must match the whole value/);
  usage('both --certificate-oidc-issuer and its regexp', keylessArgs(artifact, bundle, { extra: ['--certificate-oidc-issuer-regexp', '^x$'] }), /exactly one of --certificate-oidc-issuer/);
  usage('a workflow flag with --key', keyArgs(artifact, fixture('key-p256').bundle, publicKey('p256'), { extra: ['--certificate-github-workflow-repository', 'acme/plugins'] }), /keyless signatures only/);
  usage('an issuer regexp with --key', keyArgs(artifact, fixture('key-p256').bundle, publicKey('p256'), { extra: ['--certificate-oidc-issuer-regexp', '^x$'] }), /keyless signatures only/);
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
    for (const flag of ['--bundle', '--certificate-identity', '--certificate-identity-regexp', '--certificate-oidc-issuer', '--certificate-oidc-issuer-regexp', '--certificate-github-workflow-repository', '--signature', '--key', '--trusted-root', '--insecure-ignore-tlog', '--json']) {
      t.match(r.stdout, flag);
    }
  },
});

await runCases(t, cases);
