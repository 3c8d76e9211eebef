// The `ca` signer: bundles from a private certificate authority (model_signing's
// `certificate` method), through `trustload verify-blob --ca` for every chain
// the validator must accept or refuse, and in guarded processes for the
// policy's `trust.cas` and `ca` signers (a verified read, a plugin signed with
// model_signing's own certificates, the refusals, the policy errors).
import { createHash, createPrivateKey, sign, X509Certificate } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import t from 'tap';
import { assertClean, assertDidNotStart, assertRefused as assertNodeRefused, INDEX, makeApp, runNode } from './helpers/app.mjs';
import { FIXTURES, runCli, sharedTestdataMissing } from './helpers/cli.mjs';
import {
  assertRefused,
  assertUsage,
  assertVerified,
  fixture,
  keylessArgs,
  MODEL_SIGNING,
  readJson,
  runCases,
  sha256Hex,
  tempDir,
  writeIn,
} from './helpers/fixtures.mjs';

const SUBJECT = 'CN=model-release,OU=ML,O=Acme';
const URI = 'https://models.acme.test/signers/release';
const EMAIL = 'release@acme.test';
const CORP = join(FIXTURES, 'ca', 'corp-root.pem');
const CORP_WITH_INTERMEDIATE = join(FIXTURES, 'ca', 'corp-root-and-intermediate.pem');
const OTHER = join(FIXTURES, 'ca', 'other-root.pem');
const CERTIFICATE = 'ERR_TRUSTLOAD_CERTIFICATE';
const UNTRUSTED = 'ERR_TRUSTLOAD_UNTRUSTED_SIGNER';
const MS_KEYS = join(MODEL_SIGNING, 'keys', 'certificate');
const noTestdata = sharedTestdataMissing();

/** verify-blob arguments for a CA signer; offline (no log entry) unless `tlog`. */
function caArgs(dir, { ca = CORP, subject = SUBJECT, identity, identityRegexp, tlog = false, extra = [] } = {}) {
  const { artifact, bundle } = fixture(dir);
  const args = ['verify-blob', artifact, '--bundle', bundle, '--ca', ca, ...extra];
  if (subject !== null) args.push('--certificate-subject', subject);
  if (identity !== undefined) args.push('--certificate-identity', identity);
  if (identityRegexp !== undefined) args.push('--certificate-identity-regexp', identityRegexp);
  if (!tlog) args.push('--insecure-ignore-tlog');
  return args;
}

const verified = (t, r) => assertVerified(t, r, new RegExp(`signed by ${SUBJECT} \\(CA `));
const refused = (code, message) => (t, r) => assertRefused(t, r, code, { message });

const work = tempDir();
// A CA bundle carrying the log entry of the keyless fixture: no signer root can vouch for it.
const withForeignEntry = (() => {
  const bundle = readJson(fixture('ca-signed').bundle);
  bundle.verificationMaterial.tlogEntries = readJson(fixture('keyless').bundle).verificationMaterial.tlogEntries;
  return writeIn(work, 'ca-with-tlog.sigstore.json', bundle);
})();
// A chain padded with copies of its intermediate: parsing and checking it is bounded.
const padded = (() => {
  const bundle = readJson(fixture('ca-signed').bundle);
  const [leaf, intermediate] = bundle.verificationMaterial.x509CertificateChain.certificates;
  bundle.verificationMaterial.x509CertificateChain.certificates = [leaf, ...Array(10).fill(intermediate)];
  return writeIn(work, 'ca-padded.sigstore.json', bundle);
})();

/**
 * A v0.3 bundle over `bytes` as model_signing's certificate method writes it,
 * signed by model_signing's own P-384 test key with `chain` (file names under
 * keys/certificate, leaf first).
 */
function modelSigningBundle(bytes, chain, mediaType = 'application/vnd.dev.sigstore.bundle.v0.3+json') {
  const key = createPrivateKey(readFileSync(join(MS_KEYS, 'signing-key.pem')));
  return {
    mediaType,
    verificationMaterial: {
      x509CertificateChain: {
        certificates: chain.map((name) => ({ rawBytes: new X509Certificate(readFileSync(join(MS_KEYS, name))).raw.toString('base64') })),
      },
      tlogEntries: [],
    },
    messageSignature: {
      messageDigest: { algorithm: 'SHA2_384', digest: createHash('sha384').update(bytes).digest('base64') },
      signature: sign('sha384', bytes, key).toString('base64'),
    },
  };
}

const cases = [
  // Accepted chains.
  { name: 'a leaf with its intermediate verifies by subject', args: caArgs('ca-signed'), check: verified },
  { name: 'a DSSE envelope verifies by subject', args: caArgs('ca-signed-dsse'), check: verified },
  { name: 'the URI SAN alone identifies the signer', args: caArgs('ca-signed', { subject: null, identity: URI }), check: verified },
  { name: 'the email SAN alone identifies the signer', args: caArgs('ca-signed', { subject: null, identity: EMAIL }), check: verified },
  {
    name: 'subject and an identity pattern together',
    args: caArgs('ca-signed', { identityRegexp: '^https://models\\.acme\\.test/signers/[a-z]+$' }),
    check: verified,
  },
  { name: 'the pinned root carried in the chain adds nothing and is accepted', args: caArgs('ca-with-root'), check: verified },
  { name: 'a leaf alone chains through an intermediate pinned in the CA file', args: caArgs('ca-leaf-only', { ca: CORP_WITH_INTERMEDIATE }), check: verified },
  { name: "the other CA's leaf verifies under the other CA", args: caArgs('ca-other', { ca: OTHER }), check: verified },

  // Refused chains, each with its own reason.
  {
    name: 'a leaf from another CA with the same names',
    args: caArgs('ca-other'),
    check: refused(CERTIFICATE, /does not chain to CA .*expected a certificate issued under CN=Acme Test Root CA,O=Acme/),
  },
  { name: 'a leaf alone, its intermediate nowhere', args: caArgs('ca-leaf-only'), check: refused(CERTIFICATE, /does not chain to CA/) },
  {
    name: 'an expired leaf (no timestamp: checked now)',
    args: caArgs('ca-expired'),
    check: refused(CERTIFICATE, /is not valid at .*valid from 2021-01-01T00:00:00\.000Z to 2022-01-01T00:00:00\.000Z/),
  },
  {
    name: 'a leaf without code signing',
    args: caArgs('ca-no-codesigning'),
    check: refused(CERTIFICATE, /is not for code signing \(expected extended key usage codeSigning .*found extended key usage 1\.3\.6\.1\.5\.5\.7\.3\.1\)/),
  },
  {
    name: "another CA's root in the chain",
    args: caArgs('ca-with-other-root'),
    check: refused(CERTIFICATE, /includes a root certificate \(CN=Acme Test Root CA,O=Acme\) that is not the pinned root/),
  },
  {
    name: 'the pinned root re-issued (same name and key, other bytes) in the chain',
    args: caArgs('ca-with-reissued-root'),
    check: refused(CERTIFICATE, /includes a root certificate .* that is not the pinned root/),
  },
  { name: 'an issuer that is not a CA', args: caArgs('ca-issuer-not-ca'), check: refused(CERTIFICATE, /Not A CA,O=Acme, which issued .* is not a CA certificate/) },
  { name: 'a path longer than an intermediate allows', args: caArgs('ca-path-too-long'), check: refused(CERTIFICATE, /path length constraint/) },

  // The leaf is genuine, but not the signer the rule names.
  {
    name: 'a subject that lacks one RDN',
    args: caArgs('ca-signed', { subject: 'CN=model-release,O=Acme' }),
    check: refused(UNTRUSTED, /expected subject CN=model-release,O=Acme; found subject CN=model-release,OU=ML,O=Acme/),
  },
  {
    name: 'a subject with one RDN more',
    args: caArgs('ca-signed', { subject: `${SUBJECT},C=US` }),
    check: refused(UNTRUSTED, /found subject CN=model-release,OU=ML,O=Acme\)/),
  },
  { name: 'a subject written in openssl\'s other order', args: caArgs('ca-signed', { subject: 'O=Acme,OU=ML,CN=model-release' }), check: refused(UNTRUSTED, /expected subject O=Acme/) },
  {
    name: 'a right subject but another identity',
    args: caArgs('ca-signed', { identity: 'https://models.acme.test/signers/release-evil' }),
    check: refused(UNTRUSTED, /expected identity https:\/\/models\.acme\.test\/signers\/release-evil; found identity https:\/\/models\.acme\.test\/signers\/release release@acme\.test/),
  },

  // Logs and timestamps: required by default, and only the signer's roots may vouch for them.
  { name: 'a log entry is required unless the signer says transparencyLog false', args: caArgs('ca-signed', { tlog: true }), check: refused('ERR_TRUSTLOAD_TLOG', /no transparency log entry, and signer "command-line" requires one: .*"transparencyLog": false.*--insecure-ignore-tlog/) },
  {
    name: 'a log entry that no named root verifies refuses the bundle',
    args: ['verify-blob', fixture('ca-signed').artifact, '--bundle', withForeignEntry, '--ca', CORP, '--certificate-subject', SUBJECT, '--insecure-ignore-tlog'],
    check: refused('ERR_TRUSTLOAD_TLOG'),
  },

  {
    name: 'a chain longer than any signer makes',
    args: ['verify-blob', fixture('ca-signed').artifact, '--bundle', padded, '--ca', CORP, '--certificate-subject', SUBJECT, '--insecure-ignore-tlog'],
    check: refused('ERR_TRUSTLOAD_BAD_BUNDLE', /carries 11 certificates; at most 8 are read/),
  },

  // Keyless signers never take a chain that carries a root or a v0.3 chain.
  { name: 'a keyless signer refuses a chain with a root', args: keylessArgs(fixture('ca-with-root').artifact, fixture('ca-with-root').bundle), check: refused(CERTIFICATE, /includes a root \(self-signed\)/) },
  { name: 'a keyless signer refuses a v0.3 chain', args: keylessArgs(fixture('ca-signed').artifact, fixture('ca-signed').bundle), check: refused('ERR_TRUSTLOAD_BAD_BUNDLE', /v0\.3 bundle carries one certificate/) },

  // Trust material and usage.
  { name: 'a CA file without a root', args: caArgs('ca-signed', { ca: join(MS_KEYS, 'int-ca-cert.pem') }), skip: noTestdata, check: (t, r) => assertRefused(t, r, 'ERR_TRUSTLOAD_POLICY', { exit: 2, message: /holds 0 root/ }) },
  { name: 'a CA file that is a key', args: caArgs('ca-signed', { ca: join(FIXTURES, 'keys', 'p256.pem') }), check: (t, r) => assertRefused(t, r, 'ERR_TRUSTLOAD_POLICY', { exit: 2, message: /private key/ }) },
  { name: '--ca needs a subject or an identity', args: caArgs('ca-signed', { subject: null }), check: (t, r) => assertUsage(t, r, /--ca needs --certificate-subject/) },
  { name: '--certificate-subject needs --ca', args: [...keylessArgs(fixture('keyless').artifact, fixture('keyless').bundle), '--certificate-subject', SUBJECT], check: (t, r) => assertUsage(t, r, /applies to --ca only/) },
];

// model_signing's own certificates: a CA:TRUE leaf whose subject equals its issuer's name, which
// a names-only root test would take for a root.
if (!noTestdata) {
  const artifact = writeIn(work, 'model.bin', 'weights\n');
  const bytes = readFileSync(artifact);
  const bundleFor = (name, chain, mediaType) => writeIn(work, name, modelSigningBundle(bytes, chain, mediaType));
  const msArgs = (bundle, subject = 'CN=intermediate-ca') => [
    'verify-blob', artifact, '--bundle', bundle, '--ca', join(MS_KEYS, 'ca-cert.pem'), '--certificate-subject', subject, '--insecure-ignore-tlog',
  ];
  cases.push(
    {
      name: "model_signing's leaf (subject == issuer name, CA:TRUE) with its intermediate verifies",
      args: msArgs(bundleFor('ms-chain.json', ['signing-key-cert.pem', 'int-ca-cert.pem'])),
      check: (t, r) => assertVerified(t, r, /signed by CN=intermediate-ca \(CA /),
    },
    {
      name: "model_signing's chain with its root included verifies",
      args: msArgs(bundleFor('ms-chain-root.json', ['signing-key-cert.pem', 'int-ca-cert.pem', 'ca-cert.pem'])),
      check: (t, r) => assertVerified(t, r),
    },
    {
      name: "model_signing's chain in a v0.2 bundle verifies",
      args: msArgs(bundleFor('ms-chain-v02.json', ['signing-key-cert.pem', 'int-ca-cert.pem'], 'application/vnd.dev.sigstore.bundle+json;version=0.2')),
      check: (t, r) => assertVerified(t, r),
    },
    {
      name: "model_signing's leaf under our corp CA",
      args: ['verify-blob', artifact, '--bundle', join(work, 'ms-chain.json'), '--ca', CORP, '--certificate-subject', 'CN=intermediate-ca', '--insecure-ignore-tlog'],
      check: refused(CERTIFICATE, /does not chain to CA/),
    },
  );
}

t.test('verify-blob --ca', async (t) => runCases(t, cases));

t.test('inspect prints the leaf subject in RFC 4514 form', async (t) => {
  const r = await runCli(['inspect', fixture('ca-with-root').bundle]);
  t.equal(r.code, 0, r.stderr);
  t.match(r.stdout, new RegExp(`\\n  cert subject: ${SUBJECT}\\n`), 'the subject, as openssl -nameopt RFC2253 prints it');
  t.match(r.stdout, /2 more in the chain/, 'and how many certificates follow the leaf');
  const json = JSON.parse((await runCli(['inspect', '--json', fixture('ca-signed').bundle])).stdout);
  t.equal(json.signer.certificate.subject, SUBJECT);
});

// ---------------------------------------------------------------------------
// In a guarded process
// ---------------------------------------------------------------------------

const CA_PEM = readFileSync(CORP);
const MODELS_RULE = { name: 'models', files: 'models/**', signers: ['corp-models'] };

/** An app whose policy trusts ca/corp-root.pem as "corp", with one `ca` signer and the models rule. */
function caApp(t, { signer = { ca: 'corp', subject: SUBJECT, transparencyLog: false }, cas, files = {}, caFile = CA_PEM } = {}) {
  const app = makeApp(t, {
    rules: [MODELS_RULE],
    extra: {
      trust: { cas: cas ?? { corp: { path: './trust/corp.pem', sha256: sha256Hex(caFile) } } },
      signers: { 'corp-models': signer },
    },
    files: { 'trust/corp.pem': caFile, ...files },
  });
  return app;
}

/** models/hello.txt and its bundle, from a CA fixture directory. */
const modelFiles = (dir) => ({
  'models/hello.txt': readFileSync(fixture(dir).artifact),
  'models/hello.txt.sigstore.json': readFileSync(fixture(dir).bundle),
});

const READ_PROBE = `
import * as trustload from ${JSON.stringify(INDEX)};
try {
  console.log('READ ' + JSON.stringify(trustload.readVerifiedSync('models/hello.txt').toString('utf8')));
} catch (err) {
  console.error('trustload: ' + err.describe());
  process.exitCode = 1;
}
`;

t.test('a guarded process reads a file its private CA signed', async (t) => {
  const app = caApp(t, { files: { ...modelFiles('ca-signed'), 'main.mjs': READ_PROBE } });
  const r = await runNode(app.dir, ['main.mjs']);
  assertClean(t, r);
  t.equal(r.stdout, 'READ "hello, trustload\\n"\n', 'the verified bytes');
});

t.test('a guarded process refuses each bad chain with its own reason', async (t) => {
  for (const [dir, code, message] of [
    ['ca-other', CERTIFICATE, /does not chain to CA "corp"/],
    ['ca-expired', CERTIFICATE, /is not valid at/],
    ['ca-no-codesigning', CERTIFICATE, /is not for code signing/],
    ['ca-with-other-root', CERTIFICATE, /not the pinned root of CA "corp"/],
  ]) {
    const app = caApp(t, { files: { ...modelFiles(dir), 'main.mjs': READ_PROBE } });
    const r = await runNode(app.dir, ['main.mjs']);
    assertNodeRefused(t, r, code, { rule: 'models' });
    t.match(r.firstLine, message, `${dir}: ${r.firstLine}`);
  }
});

t.test('a guarded process refuses a subject that differs by one RDN', async (t) => {
  const app = caApp(t, { signer: { ca: 'corp', subject: 'CN=model-release,O=Acme', transparencyLog: false }, files: { ...modelFiles('ca-signed'), 'main.mjs': READ_PROBE } });
  const r = await runNode(app.dir, ['main.mjs']);
  assertNodeRefused(t, r, UNTRUSTED, { rule: 'models' });
  t.match(r.firstLine, /expected subject CN=model-release,O=Acme; found subject CN=model-release,OU=ML,O=Acme/);
});

t.test('a ca signer requires a log entry unless it says transparencyLog false', async (t) => {
  const app = caApp(t, { signer: { ca: 'corp', subject: SUBJECT }, files: { ...modelFiles('ca-signed'), 'main.mjs': READ_PROBE } });
  assertNodeRefused(t, await runNode(app.dir, ['main.mjs']), 'ERR_TRUSTLOAD_TLOG', { rule: 'models' });
});

t.test("a plugin signed with model_signing's certificates loads, root included in its chain", { skip: noTestdata }, async (t) => {
  const plugin = "console.log('plugin ran');\n";
  const caPem = readFileSync(join(MS_KEYS, 'ca-cert.pem'));
  const bundle = (chain) => JSON.stringify(modelSigningBundle(Buffer.from(plugin), chain));
  const signer = { ca: 'corp', subject: 'CN=intermediate-ca', transparencyLog: false };
  const good = caApp(t, {
    caFile: caPem,
    signer,
    files: { 'models/plugin.mjs': plugin, 'models/plugin.mjs.sigstore.json': bundle(['signing-key-cert.pem', 'int-ca-cert.pem', 'ca-cert.pem']) },
  });
  const r = await runNode(good.dir, ['models/plugin.mjs']);
  assertClean(t, r);
  t.equal(r.stdout, 'plugin ran\n');

  const leafOnly = caApp(t, { caFile: caPem, signer, files: { 'models/plugin.mjs': plugin, 'models/plugin.mjs.sigstore.json': bundle(['signing-key-cert.pem']) } });
  const refusedRun = await runNode(leafOnly.dir, ['models/plugin.mjs']);
  assertNodeRefused(t, refusedRun, CERTIFICATE, { rule: 'models' });
  t.equal(refusedRun.stdout, '', 'the plugin never ran');
});

t.test('trust.cas and ca signers are checked at start-up', async (t) => {
  const start = async (options) => runNode(caApp(t, { files: { 'main.mjs': 'console.log("ran")\n' }, ...options }).dir, ['main.mjs']);
  assertDidNotStart(t, await start({ cas: { corp: { path: './trust/corp.pem', sha256: '0'.repeat(64) } } }), { mentions: ['trust.cas.corp', 'pinned sha256'] });
  assertDidNotStart(t, await start({ signer: { ca: 'corp', transparencyLog: false } }), { mentions: ['signers.corp-models', 'needs "subject" or "subjectPattern"'] });
  assertDidNotStart(t, await start({ signer: { ca: 'corp', subject: SUBJECT, subjectPattern: '^CN=x$' } }), { mentions: ['not both'] });
  assertDidNotStart(t, await start({ signer: { ca: 'corp', subjectPattern: 'CN=.*' } }), { mentions: ['signers.corp-models.subjectPattern', 'must be a valid regular expression that starts with ^'] });
  assertDidNotStart(t, await start({ caFile: Buffer.from('not a certificate\n') }), { mentions: ['is not a list of PEM "CERTIFICATE" blocks'] });
  assertDidNotStart(t, await start({ signer: { ca: 'corporate', subject: SUBJECT } }), { mentions: ['signers.corp-models.ca: unknown CA "corporate"'] });
  assertDidNotStart(t, await start({ signer: { ca: 'corp', subject: SUBJECT, issuer: 'https://token.actions.githubusercontent.com' } }), {
    mentions: ['signers.corp-models: unknown key "issuer"'],
  });
});

t.test('policy check prints the digest of a trust.cas file and refuses a CA file without one root', async (t) => {
  const app = caApp(t);
  const r = await runCli(['policy', 'check', '--policy', app.policyPath]);
  t.equal(r.code, 0, r.stderr);
  t.match(r.stdout, new RegExp(`trust\\.cas\\.corp  ${app.path('trust/corp.pem')}\\n    sha256 ${sha256Hex(CA_PEM)}  ok`));
  const explained = await runCli(['policy', 'explain', app.path('models/x.bin'), '--policy', app.policyPath]);
  t.match(explained.stdout, /signer: +"corp-models": CA "corp": subject CN=model-release,OU=ML,O=Acme, no log entry required, roots \(none\)/);

  const twoRoots = Buffer.concat([CA_PEM, readFileSync(OTHER)]);
  const bad = caApp(t, { caFile: twoRoots });
  const checked = await runCli(['policy', 'check', '--policy', bad.policyPath]);
  t.equal(checked.code, 2, 'a policy error');
  t.match(checked.stderr, /holds 2 root \(self-signed\) certificates; it must hold exactly one/);
});
