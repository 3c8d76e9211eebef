// Generates the Sigstore test fixtures in fixtures/ (see fixtures/README.md).
//
// Run with the project's pinned Node 24:
//
//   ./node_modules/.bin/node scripts/generate-fixtures.mjs
//
// Why this script exists: trustload verifies Sigstore bundles, so its tests
// need bundles whose every detail we control (who signed, which logs and
// timestamp authorities witnessed it, when). Signing against the public
// Sigstore instance cannot give us that, and tests must never touch the
// network. So this script stands up a private, throw-away Sigstore instance
// (Fulcio CA + CT log, Rekor transparency log, RFC 3161 timestamp authority)
// built from @sigstore/mock, serves it on a real HTTP server bound to
// 127.0.0.1, signs with the real @sigstore/sign client against it, writes the
// instance's trusted root plus the bundles into fixtures/, and finally checks
// every fixture with the real verifier (@sigstore/verify).
//
// The output is committed; tests only ever read it. Each run makes new keys,
// certificates and signatures (the output is not deterministic), overwriting
// the files listed in fixtures/README.md. The script exits non-zero if any
// fixture does not verify (or does not fail) the way the README says.

import crypto from 'node:crypto';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

// @peculiar/x509 (what @sigstore/mock builds certificates with) needs this polyfill loaded first.
import 'reflect-metadata';
import * as x509 from '@peculiar/x509';
import {
  assertBundleLatest,
  BUNDLE_V03_MEDIA_TYPE,
  bundleFromJSON,
  bundleToJSON,
} from '@sigstore/bundle';
import {
  fulcioHandler,
  initializeCA,
  initializeCTLog,
  initializeTLog,
  initializeTSA,
  rekorHandler,
  tsaHandler,
} from '@sigstore/mock';
import {
  HashAlgorithm,
  PublicKeyDetails,
  TrustedRoot,
} from '@sigstore/protobuf-specs';
import {
  DSSEBundleBuilder,
  FulcioSigner,
  MessageSignatureBundleBuilder,
  RekorWitness,
  TSAWitness,
} from '@sigstore/sign';
import {
  toSignedEntity,
  toTrustMaterial,
  VerificationError,
  Verifier,
} from '@sigstore/verify';

const FIXTURES = path.join(
  path.dirname(fileURLToPath(import.meta.url)),
  '..',
  'fixtures'
);

// The artifact every fixture signs. Each bundle directory gets its own copy so
// a test can point at one directory and find both files side by side.
const ARTIFACT_NAME = 'hello.txt';
const ARTIFACT = Buffer.from('hello, trustload\n');

// The identity our keyless fixtures are signed as: what a GitHub Actions
// release workflow gets from the real Fulcio. The look-alike differs only in
// the repository name, so a policy that does prefix or substring matching on
// the identity would wrongly accept it.
export const ISSUER = 'https://token.actions.githubusercontent.com';
export const REPOSITORY = 'acme/plugins';
const LOOKALIKE_REPOSITORY = 'acme/plugins-evil';
export const identityFor = (repository) =>
  `https://github.com/${repository}/.github/workflows/release.yml@refs/heads/main`;

const TRUSTED_ROOT_V01_MEDIA_TYPE =
  'application/vnd.dev.sigstore.trustedroot+json;version=0.1';
const TRUSTED_ROOT_V02_MEDIA_TYPE =
  'application/vnd.dev.sigstore.trustedroot.v0.2+json';
const IN_TOTO_PAYLOAD_TYPE = 'application/vnd.in-toto+json';

// Keys for the "bring your own key" fixtures. `digest` is the hash each key
// signs with (null: Ed25519 hashes internally); `keyDetails` is the Sigstore
// name of that key/algorithm pair.
const KEY_TYPES = {
  p256: {
    generate: ['ec', { namedCurve: 'P-256' }],
    digest: 'sha256',
    keyDetails: 'PKIX_ECDSA_P256_SHA_256',
  },
  p384: {
    generate: ['ec', { namedCurve: 'P-384' }],
    digest: 'sha384',
    keyDetails: 'PKIX_ECDSA_P384_SHA_384',
  },
  ed25519: {
    generate: ['ed25519', {}],
    digest: null,
    keyDetails: 'PKIX_ED25519',
  },
  rsa: {
    generate: ['rsa', { modulusLength: 3072 }],
    digest: 'sha256',
    keyDetails: 'PKIX_RSA_PKCS1V15_3072_SHA256',
  },
};

const HOUR = 60 * 60 * 1000;

// ---------------------------------------------------------------------------
// Small helpers
// ---------------------------------------------------------------------------

const sha256 = (data) => crypto.createHash('sha256').update(data).digest();

// Every time we hand the mock services is rounded down to a whole second.
// The mock TSA writes its clock's milliseconds into the timestamp's genTime
// the DER way, without trailing zeros (.050 s becomes ".05"), and
// @sigstore/core only parses exactly three fraction digits, so about one
// timestamp in ten would fail with "invalid time". (Certificates and Rekor
// keep whole seconds anyway.)
const wholeSecond = (ms) => new Date(Math.floor(ms / 1000) * 1000);

function writeFixtureFile(relativePath, contents) {
  const file = path.join(FIXTURES, relativePath);
  mkdirSync(path.dirname(file), { recursive: true });
  writeFileSync(file, contents);
}

const writeJSON = (relativePath, value) =>
  writeFixtureFile(relativePath, JSON.stringify(value, null, 2) + '\n');

const readFixture = (relativePath) =>
  readFileSync(path.join(FIXTURES, relativePath));

const readJSON = (relativePath) =>
  JSON.parse(readFixture(relativePath).toString('utf8'));

// The mock Fulcio does not check the token's signature (it only decodes the
// claims), so an unsigned JWT ("alg": "none") is enough.
function unsignedJWT(claims) {
  const part = (value) => Buffer.from(JSON.stringify(value)).toString('base64url');
  return `${part({ alg: 'none', typ: 'JWT' })}.${part(claims)}.`;
}

// An identity token shaped like the one GitHub Actions issues. The mock Fulcio
// copies the `sub` claim verbatim into the certificate's URI SAN and the `iss`
// claim into the issuer extensions (OIDs 1.3.6.1.4.1.57264.1.1 and .8). The
// real Fulcio builds the SAN from `job_workflow_ref` instead, so we put the
// full workflow URL in `sub` to get the certificate the real one would issue.
// The other claims become the usual GitHub extensions (source repository,
// ref, digest, ...), which keeps the certificate realistic.
export function githubActionsToken(repository) {
  const workflowRef = `${repository}/.github/workflows/release.yml@refs/heads/main`;
  return unsignedJWT({
    iss: ISSUER,
    sub: identityFor(repository),
    aud: 'sigstore',
    repository,
    repository_owner: repository.split('/')[0],
    ref: 'refs/heads/main',
    sha: '0123456789abcdef0123456789abcdef01234567',
    event_name: 'push',
    workflow_ref: workflowRef,
    job_workflow_ref: workflowRef,
    runner_environment: 'github-hosted',
  });
}

// An in-toto Statement v1 naming hello.txt (by its SHA-256) as its subject.
function inTotoStatement() {
  return Buffer.from(
    JSON.stringify({
      _type: 'https://in-toto.io/Statement/v1',
      subject: [
        { name: ARTIFACT_NAME, digest: { sha256: sha256(ARTIFACT).toString('hex') } },
      ],
      predicateType: 'https://trustload.test/fixture-predicate/v1',
      predicate: { purpose: 'trustload test fixture' },
    })
  );
}

// DSSE pre-authentication encoding: the bytes a DSSE signature actually
// covers. Written out here (rather than imported) so the self-check below is
// independent of the library that produced the signature.
function preAuthEncoding(payloadType, payload) {
  const prefix = `DSSEv1 ${Buffer.byteLength(payloadType)} ${payloadType} ${payload.length} `;
  return Buffer.concat([Buffer.from(prefix), payload]);
}

// Turns the subject of an X.509 certificate into the trusted root's
// DistinguishedName ({organization, commonName}).
function distinguishedName(der) {
  const fields = Object.fromEntries(
    new crypto.X509Certificate(der).subject.split('\n').map((line) => line.split('='))
  );
  return { organization: fields.O, commonName: fields.CN };
}

// ---------------------------------------------------------------------------
// A private Sigstore instance
// ---------------------------------------------------------------------------

// Starts the four mock services of one Sigstore instance behind one HTTP
// server on 127.0.0.1 (each service answers on its usual API path, so one
// origin serves them all) and returns the instance's trusted root.
//
// `name` only labels the instance: the trusted root lists its services under
// https://<service>.<name>.trustload.test. Those names are never contacted
// (".test" is reserved and never resolves); they just keep the committed
// trusted roots free of random port numbers. Rekor's checkpoint signature
// carries the log's host name and the verifier matches it against the tlog's
// baseUrl, so the mock log is told its public name, not its 127.0.0.1 URL.
export async function startInstance(name) {
  const publicURL = (service) => `https://${service}.${name}.trustload.test`;

  // Every service gets its own P-256 key, as in a real deployment.
  const newKey = () => crypto.generateKeyPairSync('ec', { namedCurve: 'P-256' });

  // The mock services read the Date object they were given as their clock
  // every time they need "now", so changing that object's time later moves
  // their clock. The certificate clock drives Fulcio and its CT log (the
  // certificate's notBefore, valid for 10 minutes, and the SCT time); the
  // witness clock drives Rekor's integratedTime and the TSA's signing time.
  // Two clocks let us produce a signature witnessed after its certificate
  // expired (the keyless-expired fixture).
  const certClock = new Date();
  const witnessClock = new Date();

  const ctlog = await initializeCTLog(newKey(), certClock);
  const ca = await initializeCA(newKey(), ctlog, certClock);
  const tlog = await initializeTLog(publicURL('rekor'), newKey(), witnessClock);
  const tsa = await initializeTSA(newKey(), witnessClock);

  const routes = new Map(
    [fulcioHandler(ca), rekorHandler(tlog), tsaHandler(tsa)].map((h) => [h.path, h.fn])
  );
  const server = http.createServer(async (req, res) => {
    const handle = routes.get(req.url);
    if (req.method !== 'POST' || !handle) {
      res.writeHead(404).end();
      return;
    }
    const chunks = [];
    for await (const chunk of req) chunks.push(chunk);
    const { statusCode, response, contentType } = await handle(
      Buffer.concat(chunks).toString('utf8')
    );
    res.writeHead(statusCode, { 'Content-Type': contentType ?? 'text/plain' });
    res.end(response);
  });
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));

  // Every trusted root entry gets a validFor.start (verifiers only accept
  // material inside its validity window); one hour before the instance
  // existed comfortably precedes every certificate and timestamp it makes.
  const validFor = { start: wholeSecond(Date.now() - HOUR).toISOString() };
  const base64 = (bytes) => Buffer.from(bytes).toString('base64');
  const logInstance = (service, spki) => ({
    baseUrl: publicURL(service),
    hashAlgorithm: 'SHA2_256',
    publicKey: {
      rawBytes: base64(spki),
      keyDetails: 'PKIX_ECDSA_P256_SHA_256',
      validFor,
    },
    logId: { keyId: base64(sha256(spki)) },
  });
  const certAuthority = (service, chain) => ({
    subject: distinguishedName(chain.at(-1)),
    uri: publicURL(service),
    certChain: { certificates: chain.map((der) => ({ rawBytes: base64(der) })) },
    validFor,
  });
  const trustedRoot = {
    mediaType: TRUSTED_ROOT_V01_MEDIA_TYPE,
    tlogs: [logInstance('rekor', tlog.publicKey)],
    // Fulcio signs leaf certificates directly with its self-signed root.
    certificateAuthorities: [certAuthority('fulcio', [ca.rootCertificate])],
    ctlogs: [logInstance('ctfe', ctlog.publicKey)],
    // The TSA signs with an intermediate ("tsa signing") certificate issued
    // by its root (the mock uses one key pair for both); verifiers expect the
    // chain leaf-first.
    timestampAuthorities: [
      certAuthority('tsa', [tsa.intCertificate, tsa.rootCertificate]),
    ],
  };

  return {
    url: `http://127.0.0.1:${server.address().port}`,
    trustedRoot,
    // Sets both clocks; `witnessTime` defaults to `certTime`.
    setClocks(certTime, witnessTime = certTime) {
      certClock.setTime(certTime.getTime());
      witnessClock.setTime(witnessTime.getTime());
    },
    close() {
      // @sigstore/sign's HTTP client keeps connections alive; drop them so
      // the server (and this script) can exit.
      server.closeAllConnections();
      return new Promise((resolve) => server.close(resolve));
    },
  };
}

// ---------------------------------------------------------------------------
// Signing
// ---------------------------------------------------------------------------

// Builds the witnesses (the services that vouch for a signature) to attach.
// Message signatures are always logged as Rekor "hashedrekord" entries; for
// DSSE envelopes we ask for "intoto" entries because the mock Rekor's "dsse"
// entries do not verify.
function witnessesFor(instance, { tlog, tsa }) {
  const witnesses = [];
  if (tlog) {
    witnesses.push(new RekorWitness({ rekorBaseURL: instance.url, entryType: 'intoto' }));
  }
  if (tsa) witnesses.push(new TSAWitness({ tsaBaseURL: instance.url }));
  return witnesses;
}

// @sigstore/sign packages message signatures as v0.2 bundles (certificate
// in an `x509CertificateChain` holding just the leaf). v0.3 is the current
// format and carries that same leaf in a single `certificate` field, so we
// move it there and relabel the bundle.
function toV03(bundle) {
  const material = bundle.verificationMaterial;
  if (material.content.$case === 'x509CertificateChain') {
    const [leaf] = material.content.x509CertificateChain.certificates;
    material.content = { $case: 'certificate', certificate: leaf };
  }
  bundle.mediaType = BUNDLE_V03_MEDIA_TYPE;
  return bundle;
}

// Signs the artifact (a message signature) or an in-toto statement about it
// (a DSSE envelope) with `signer`, attaching the requested witnesses.
async function createBundle(instance, signer, { dsse = false, tlog, tsa }) {
  const witnesses = instance ? witnessesFor(instance, { tlog, tsa }) : [];
  if (dsse) {
    // certificateChain: false asks for a v0.3 bundle.
    return new DSSEBundleBuilder({ signer, witnesses, certificateChain: false }).create({
      data: inTotoStatement(),
      type: IN_TOTO_PAYLOAD_TYPE,
    });
  }
  const bundle = await new MessageSignatureBundleBuilder({ signer, witnesses }).create({
    data: ARTIFACT,
  });
  return toV03(bundle);
}

// Keyless signing: Fulcio certifies a fresh ephemeral P-256 key for the
// identity in `token`. `witnessDelay` moves the Rekor/TSA clocks that far
// past the certificate's issuance.
async function signKeyless(instance, token, { dsse, tlog = true, tsa = true, witnessDelay = 0 }) {
  const now = wholeSecond(Date.now());
  instance.setClocks(now, new Date(now.getTime() + witnessDelay));
  const signer = new FulcioSigner({
    fulcioBaseURL: instance.url,
    identityProvider: { getToken: async () => token },
  });
  return createBundle(instance, signer, { dsse, tlog, tsa });
}

// The "hint" that names a public key in a bundle. Verifiers look keys up by
// it but never trust it; we use base64(SHA-256(SPKI DER)).
const keyHint = (publicKey) =>
  sha256(publicKey.export({ type: 'spki', format: 'der' })).toString('base64');

// A @sigstore/sign Signer backed by one of our long-lived keys.
function keySigner(key) {
  return {
    sign: async (data) => ({
      signature: crypto.sign(key.digest, data, key.privateKey),
      key: {
        $case: 'publicKey',
        publicKey: key.publicKey.export({ type: 'spki', format: 'pem' }),
        hint: keyHint(key.publicKey),
      },
    }),
  };
}

// Key signing, optionally witnessed by `instance`'s Rekor.
async function signWithKey(key, { dsse, instance, tlog = false }) {
  instance?.setClocks(wholeSecond(Date.now()));
  const bundle = await createBundle(instance, keySigner(key), { dsse, tlog, tsa: false });
  // @sigstore/sign always records a SHA-256 message digest. A P-384 key signs
  // with SHA-384, and verifiers hash the artifact with the algorithm named in
  // the bundle, so the digest has to say SHA-384.
  if (!dsse && key.digest === 'sha384') {
    bundle.content.messageSignature.messageDigest = {
      algorithm: HashAlgorithm.SHA2_384,
      digest: crypto.createHash('sha384').update(ARTIFACT).digest(),
    };
  }
  return bundle;
}

// ---------------------------------------------------------------------------
// A private certificate authority (the `ca` signer)
// ---------------------------------------------------------------------------

// What model_signing's `certificate` method writes: a v0.3 bundle whose
// verification material is the leaf and its chain (no Sigstore services, no
// log entry, no timestamp), signed with the leaf's key. The certificates are
// made with @peculiar/x509 (what @sigstore/mock builds its CA with).
x509.cryptoProvider.set(crypto.webcrypto);
const CA_ALGORITHM = { name: 'ECDSA', namedCurve: 'P-256', hash: 'SHA-256' };
// Every CA certificate is valid from 2020 on, so that a leaf can have expired inside its issuer's validity.
const CA_NOT_BEFORE = new Date('2020-01-01T00:00:00Z');
const CA_NOT_AFTER = new Date('2046-01-01T00:00:00Z');
// @peculiar/x509 encodes a name in the order written; openssl (RFC 4514) prints it last RDN first.
const LEAF_SUBJECT = 'O=Acme, OU=ML, CN=model-release';
const LEAF_SUBJECT_RFC4514 = 'CN=model-release,OU=ML,O=Acme';
const LEAF_URI = 'https://models.acme.test/signers/release';
const LEAF_EMAIL = 'release@acme.test';
let caSerial = 0x1000;

const newCaKeys = () => crypto.webcrypto.subtle.generateKey(CA_ALGORITHM, true, ['sign', 'verify']);

async function keyIdentifiers(keys, issuerKeys) {
  return [
    await x509.SubjectKeyIdentifierExtension.create(keys.publicKey),
    await x509.AuthorityKeyIdentifierExtension.create(issuerKeys.publicKey),
  ];
}

async function rootCertificate(name, keys) {
  return x509.X509CertificateGenerator.createSelfSigned({
    serialNumber: (caSerial++).toString(16),
    name,
    notBefore: CA_NOT_BEFORE,
    notAfter: CA_NOT_AFTER,
    keys,
    signingAlgorithm: CA_ALGORITHM,
    extensions: [
      new x509.BasicConstraintsExtension(true, undefined, true),
      new x509.KeyUsagesExtension(x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.cRLSign, true),
      await x509.SubjectKeyIdentifierExtension.create(keys.publicKey),
    ],
  });
}

// `ca: false` makes a certificate that claims no CA powers (it must not be able to issue).
async function intermediateCertificate(name, keys, issuer, { pathLength, ca = true } = {}) {
  return x509.X509CertificateGenerator.create({
    serialNumber: (caSerial++).toString(16),
    subject: name,
    issuer: issuer.cert.subject,
    notBefore: CA_NOT_BEFORE,
    notAfter: CA_NOT_AFTER,
    publicKey: keys.publicKey,
    signingKey: issuer.keys.privateKey,
    signingAlgorithm: CA_ALGORITHM,
    extensions: [
      new x509.BasicConstraintsExtension(ca, pathLength, true),
      new x509.KeyUsagesExtension(ca ? x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.cRLSign : x509.KeyUsageFlags.digitalSignature, true),
      ...(await keyIdentifiers(keys, issuer.keys)),
    ],
  });
}

async function leafCertificate(keys, issuer, { usage = x509.ExtendedKeyUsage.codeSigning, notBefore, notAfter } = {}) {
  const now = wholeSecond(Date.now());
  return x509.X509CertificateGenerator.create({
    serialNumber: (caSerial++).toString(16),
    subject: LEAF_SUBJECT,
    issuer: issuer.cert.subject,
    notBefore: notBefore ?? new Date(now.getTime() - HOUR),
    notAfter: notAfter ?? CA_NOT_AFTER,
    publicKey: keys.publicKey,
    signingKey: issuer.keys.privateKey,
    signingAlgorithm: CA_ALGORITHM,
    extensions: [
      new x509.BasicConstraintsExtension(false, undefined, true),
      new x509.KeyUsagesExtension(x509.KeyUsageFlags.digitalSignature, true),
      new x509.ExtendedKeyUsageExtension([usage]),
      new x509.SubjectAlternativeNameExtension([
        { type: 'url', value: LEAF_URI },
        { type: 'email', value: LEAF_EMAIL },
      ]),
      ...(await keyIdentifiers(keys, issuer.keys)),
    ],
  });
}

// One CA certificate with its key pair, as the helpers above take an issuer.
const authority = async (make, keys) => ({ keys, cert: await make(keys) });

// Signs the artifact (or the in-toto statement about it) with the leaf's key and
// packages it the way model_signing does.
async function caBundle(leafKeys, chain, { dsse = false } = {}) {
  const privateKey = crypto.KeyObject.from(leafKeys.privateKey);
  const verificationMaterial = {
    x509CertificateChain: { certificates: chain.map((cert) => ({ rawBytes: Buffer.from(cert.rawData).toString('base64') })) },
    tlogEntries: [],
  };
  if (dsse) {
    const payload = inTotoStatement();
    const signature = crypto.sign('sha256', preAuthEncoding(IN_TOTO_PAYLOAD_TYPE, payload), privateKey);
    return {
      mediaType: BUNDLE_V03_MEDIA_TYPE,
      verificationMaterial,
      dsseEnvelope: { payload: payload.toString('base64'), payloadType: IN_TOTO_PAYLOAD_TYPE, signatures: [{ sig: signature.toString('base64'), keyid: '' }] },
    };
  }
  return {
    mediaType: BUNDLE_V03_MEDIA_TYPE,
    verificationMaterial,
    messageSignature: {
      messageDigest: { algorithm: 'SHA2_256', digest: sha256(ARTIFACT).toString('base64') },
      signature: crypto.sign('sha256', ARTIFACT, privateKey).toString('base64'),
    },
  };
}

// What every CA fixture's self-check needs: the chain, as written, and who should accept it.
const caFixtures = [];

function writeCaFixture(dir, bundleJSON, row) {
  writeFixtureFile(`${dir}/${ARTIFACT_NAME}`, ARTIFACT);
  writeJSON(`${dir}/${ARTIFACT_NAME}.sigstore.json`, bundleJSON);
  bundleFixtures.push({ dir, signer: `${LEAF_SUBJECT_RFC4514} (${LEAF_URI}, ${LEAF_EMAIL})`, tlog: null, tsa: false, ca: true, ...row });
  caFixtures.push({ dir, ...row });
}

async function generateCaFixtures() {
  const corp = await authority((keys) => rootCertificate('O=Acme, CN=Acme Test Root CA', keys), await newCaKeys());
  const corpInt = await authority((keys) => intermediateCertificate('O=Acme, CN=Acme Test Intermediate CA', keys, corp, { pathLength: 0 }), await newCaKeys());
  const other = await authority((keys) => rootCertificate('O=Acme, CN=Acme Test Root CA', keys), await newCaKeys());
  const otherInt = await authority((keys) => intermediateCertificate('O=Acme, CN=Acme Test Intermediate CA', keys, other), await newCaKeys());
  // The corp root again, same name and key, another serial: not the pinned bytes.
  const reissued = await rootCertificate('O=Acme, CN=Acme Test Root CA', corp.keys);
  const notCa = await authority((keys) => intermediateCertificate('O=Acme, CN=Acme Test Not A CA', keys, corp, { ca: false }), await newCaKeys());
  // Below corpInt, whose path length constraint (0) allows no intermediate under it.
  const tooDeep = await authority((keys) => intermediateCertificate('O=Acme, CN=Acme Test Sub-Intermediate CA', keys, corpInt), await newCaKeys());

  const pem = (...certs) => certs.map((cert) => cert.toString('pem')).join('\n') + '\n';
  writeFixtureFile('ca/corp-root.pem', pem(corp.cert));
  writeFixtureFile('ca/corp-root-and-intermediate.pem', pem(corp.cert, corpInt.cert));
  writeFixtureFile('ca/other-root.pem', pem(other.cert));

  const leafKeys = await newCaKeys();
  const leaf = await leafCertificate(leafKeys, corpInt);
  const good = 'ca/corp-root.pem';
  writeCaFixture('ca-signed', await caBundle(leafKeys, [leaf, corpInt.cert]), {
    what: 'Message signature by a leaf of the corp CA, chain [leaf, intermediate], v0.3 bundle with an x509CertificateChain as model_signing writes it',
    verifiedBy: good,
    chain: ['leaf', 'corp intermediate'],
    accepted: true,
  });
  writeCaFixture('ca-signed-dsse', await caBundle(leafKeys, [leaf, corpInt.cert], { dsse: true }), {
    what: `DSSE envelope (${IN_TOTO_PAYLOAD_TYPE}) by the same leaf, chain [leaf, intermediate]`,
    verifiedBy: good,
    chain: ['leaf', 'corp intermediate'],
    accepted: true,
  });
  writeCaFixture('ca-leaf-only', await caBundle(leafKeys, [leaf]), {
    what: 'The same leaf alone: its intermediate must come from the pinned CA file',
    verifiedBy: 'ca/corp-root-and-intermediate.pem (not ca/corp-root.pem alone)',
    chain: ['leaf'],
    accepted: true,
  });
  writeCaFixture('ca-with-root', await caBundle(leafKeys, [leaf, corpInt.cert, corp.cert]), {
    what: 'The same leaf, chain [leaf, intermediate, corp root]: the root is byte-identical to ca/corp-root.pem',
    verifiedBy: good,
    chain: ['leaf', 'corp intermediate', 'corp root'],
    accepted: true,
  });
  writeCaFixture('ca-with-other-root', await caBundle(leafKeys, [leaf, corpInt.cert, other.cert]), {
    what: "The same leaf, chain [leaf, intermediate, the OTHER CA's root]",
    verifiedBy: 'none (a root that is not the pinned one)',
    chain: ['leaf', 'corp intermediate', 'other root'],
    accepted: false,
  });
  writeCaFixture('ca-with-reissued-root', await caBundle(leafKeys, [leaf, corpInt.cert, reissued]), {
    what: 'The same leaf, chain [leaf, intermediate, a re-issue of the corp root with the same name and key but another serial]',
    verifiedBy: 'none (the root is not byte-identical to the pinned one)',
    chain: ['leaf', 'corp intermediate', 'reissued root'],
    accepted: false,
  });

  const otherKeys = await newCaKeys();
  writeCaFixture('ca-other', await caBundle(otherKeys, [await leafCertificate(otherKeys, otherInt), otherInt.cert]), {
    what: 'A leaf with the same subject and SANs from the OTHER CA (same names, other keys), chain [leaf, its intermediate]',
    verifiedBy: 'ca/other-root.pem (must fail against ca/corp-root.pem)',
    chain: ['leaf', 'other intermediate'],
    accepted: false,
  });
  const expiredKeys = await newCaKeys();
  const expired = await leafCertificate(expiredKeys, corpInt, {
    notBefore: new Date('2021-01-01T00:00:00Z'),
    notAfter: new Date('2022-01-01T00:00:00Z'),
  });
  writeCaFixture('ca-expired', await caBundle(expiredKeys, [expired, corpInt.cert]), {
    what: 'A corp leaf valid only during 2021, chain [leaf, intermediate]; no timestamp, so it is checked now',
    verifiedBy: 'none (expired)',
    chain: ['leaf', 'corp intermediate'],
    accepted: false,
  });
  const tlsKeys = await newCaKeys();
  writeCaFixture('ca-no-codesigning', await caBundle(tlsKeys, [await leafCertificate(tlsKeys, corpInt, { usage: x509.ExtendedKeyUsage.serverAuth }), corpInt.cert]), {
    what: 'A corp leaf whose extended key usage is serverAuth only, chain [leaf, intermediate]',
    verifiedBy: 'none (not for code signing)',
    chain: ['leaf', 'corp intermediate'],
    accepted: false,
  });
  const underNotCaKeys = await newCaKeys();
  writeCaFixture('ca-issuer-not-ca', await caBundle(underNotCaKeys, [await leafCertificate(underNotCaKeys, notCa), notCa.cert]), {
    what: 'A leaf issued by a certificate of the corp root that is not a CA (CA:FALSE), chain [leaf, that certificate]',
    verifiedBy: 'none (its issuer may not issue)',
    chain: ['leaf', 'not-a-CA'],
    accepted: false,
  });
  const deepKeys = await newCaKeys();
  writeCaFixture('ca-path-too-long', await caBundle(deepKeys, [await leafCertificate(deepKeys, tooDeep), tooDeep.cert, corpInt.cert]), {
    what: 'A leaf under a sub-intermediate of the corp intermediate, whose path length constraint is 0; chain [leaf, sub-intermediate, intermediate]',
    verifiedBy: 'none (path length)',
    chain: ['leaf', 'sub-intermediate', 'corp intermediate'],
    accepted: false,
  });
}

// ---------------------------------------------------------------------------
// Writing fixtures
// ---------------------------------------------------------------------------

// One row per bundle fixture: drives both fixtures/README.md and the
// structural part of the self-check (tlog entry kind and TSA timestamp
// presence must match what the README claims).
const bundleFixtures = [];

function writeBundleFixture(dir, bundle, row) {
  writeFixtureFile(`${dir}/${ARTIFACT_NAME}`, ARTIFACT);
  writeJSON(`${dir}/${ARTIFACT_NAME}.sigstore.json`, bundleToJSON(bundle));
  bundleFixtures.push({ dir, ...row });
}

function writeTrustedRoots(dir, trustedRoot) {
  writeJSON(`${dir}/trusted_root.json`, trustedRoot);
  writeJSON(`${dir}/trusted_root.v0.2.json`, {
    ...trustedRoot,
    mediaType: TRUSTED_ROOT_V02_MEDIA_TYPE,
  });
}

function generateKeys() {
  const keys = {};
  for (const [alg, { generate, ...rest }] of Object.entries(KEY_TYPES)) {
    const { privateKey, publicKey } = crypto.generateKeyPairSync(...generate);
    writeFixtureFile(`keys/${alg}.pem`, privateKey.export({ type: 'pkcs8', format: 'pem' }));
    writeFixtureFile(`keys/${alg}.pub.pem`, publicKey.export({ type: 'spki', format: 'pem' }));
    keys[alg] = { privateKey, publicKey, ...rest };
  }
  return keys;
}

async function generate() {
  writeFixtureFile(`artifacts/${ARTIFACT_NAME}`, ARTIFACT);
  const keys = generateKeys();

  const priv = await startInstance('private');
  const other = await startInstance('other');
  try {
    // "other" only exists to show that one instance's CA cannot vouch for a
    // signature under another instance's trusted root; only its root is
    // written (as fixtures/other/trusted_root.json, no v0.2 copy needed).
    writeTrustedRoots('private', priv.trustedRoot);
    writeJSON('other/trusted_root.json', other.trustedRoot);

    const identity = identityFor(REPOSITORY);
    const lookalike = identityFor(LOOKALIKE_REPOSITORY);
    const token = githubActionsToken(REPOSITORY);
    const keyless = { signer: `${identity} (issuer ${ISSUER})` };

    writeBundleFixture('keyless', await signKeyless(priv, token, {}), {
      ...keyless,
      what: 'Keyless message signature',
      tlog: 'hashedrekord',
      tsa: true,
      verifiedBy: 'private',
    });
    writeBundleFixture('keyless-dsse', await signKeyless(priv, token, { dsse: true }), {
      ...keyless,
      what: `Keyless DSSE envelope (${IN_TOTO_PAYLOAD_TYPE}), in-toto Statement v1 with subject ${ARTIFACT_NAME}`,
      tlog: 'intoto',
      tsa: true,
      verifiedBy: 'private',
    });
    writeBundleFixture('keyless-other', await signKeyless(other, token, {}), {
      ...keyless,
      what: 'Keyless message signature from the OTHER instance (its Fulcio, Rekor, TSA)',
      tlog: 'hashedrekord',
      tsa: true,
      verifiedBy: 'other (must fail against private)',
    });
    writeBundleFixture(
      'keyless-email',
      await signKeyless(priv, githubActionsToken(LOOKALIKE_REPOSITORY), {}),
      {
        signer: `${lookalike} (issuer ${ISSUER})`,
        what: `Keyless message signature by a look-alike identity (repository ${LOOKALIKE_REPOSITORY}); despite the directory name the SAN is a URI, as the mock Fulcio issues only URI SANs`,
        tlog: 'hashedrekord',
        tsa: true,
        verifiedBy: 'private (but the identity must not match a policy for acme/plugins)',
      }
    );
    writeBundleFixture(
      'keyless-expired',
      await signKeyless(priv, token, { witnessDelay: HOUR }),
      {
        ...keyless,
        what: 'Keyless message signature whose Rekor integratedTime and TSA time are both 1 hour after issuance, i.e. 50 minutes after the 10-minute certificate expired',
        tlog: 'hashedrekord',
        tsa: true,
        verifiedBy: 'none (must fail against private: certificate not valid at any timestamp)',
      }
    );
    writeBundleFixture('keyless-notlog', await signKeyless(priv, token, { tlog: false }), {
      ...keyless,
      what: 'Keyless message signature with a TSA timestamp and no transparency log entry',
      tlog: null,
      tsa: true,
      verifiedBy: 'private, only if tlog entries are not required',
    });

    for (const alg of Object.keys(KEY_TYPES)) {
      const key = keys[alg];
      writeBundleFixture(`key-${alg}`, await signWithKey(key, {}), {
        signer: `keys/${alg}.pub.pem (${key.keyDetails})`,
        what: `Key message signature (${key.digest ?? 'pure Ed25519'}${
          key.digest === 'sha384' ? ', messageDigest SHA2_384' : ''
        }), offline: no tlog entry, no timestamp`,
        tlog: null,
        tsa: false,
        verifiedBy: `keys/${alg}.pub.pem alone${
          alg === 'ed25519' ? ' (@sigstore/verify 4.x cannot verify it, see notes)' : ''
        }`,
      });
    }
    writeBundleFixture(
      'key-p256-tlog',
      await signWithKey(keys.p256, { instance: priv, tlog: true }),
      {
        signer: `keys/p256.pub.pem (${keys.p256.keyDetails})`,
        what: 'Key message signature logged in the private Rekor',
        tlog: 'hashedrekord',
        tsa: false,
        verifiedBy: 'keys/p256.pub.pem + private (for the tlog entry)',
      }
    );
    writeBundleFixture('key-p384-dsse', await signWithKey(keys.p384, { dsse: true }), {
      signer: `keys/p384.pub.pem (${keys.p384.keyDetails})`,
      what: `DSSE envelope (${IN_TOTO_PAYLOAD_TYPE}), in-toto Statement v1 with subject ${ARTIFACT_NAME}, ECDSA P-384 with SHA-384 over the PAE; no tlog, no timestamp`,
      tlog: null,
      tsa: false,
      verifiedBy: 'keys/p384.pub.pem alone (@sigstore/verify 4.x rejects it, see notes)',
    });
  } finally {
    await Promise.all([priv.close(), other.close()]);
  }
  await generateCaFixtures();

  writeFixtureFile('README.md', readme());
}

// ---------------------------------------------------------------------------
// fixtures/README.md
// ---------------------------------------------------------------------------

function readme() {
  const rows = bundleFixtures.map(
    (f) =>
      `| \`${f.dir}/${ARTIFACT_NAME}.sigstore.json\` | ${f.what} | ${f.signer} | ${
        f.tlog ? `Rekor \`${f.tlog}\`` : 'none'
      } | ${f.tsa ? 'yes' : 'no'} | ${f.verifiedBy} |`
  );
  return `# Test fixtures

Generated by \`scripts/generate-fixtures.mjs\`; do not edit by hand. To
regenerate (new keys, certificates and signatures every run), use the
project's Node 24:

\`\`\`sh
./node_modules/.bin/node scripts/generate-fixtures.mjs
# or: npx node scripts/generate-fixtures.mjs
\`\`\`

The generator starts two private Sigstore instances (\`@sigstore/mock\`
Fulcio + CT log, Rekor, RFC 3161 TSA) on 127.0.0.1, signs with
\`@sigstore/sign\`, writes everything here, then checks every fixture with
\`@sigstore/verify\` and exits non-zero if one does not behave as this table
says.

## Trust material, keys, artifact

| Path | What |
| --- | --- |
| \`private/trusted_root.json\` | Trusted root of the private instance (\`${TRUSTED_ROOT_V01_MEDIA_TYPE}\`): 1 Fulcio CA, 1 CT log, 1 Rekor log, 1 TSA (intermediate + root) |
| \`private/trusted_root.v0.2.json\` | Same content, media type \`${TRUSTED_ROOT_V02_MEDIA_TYPE}\` |
| \`other/trusted_root.json\` | Trusted root of a second, independent instance (own keys and certificates for every service) |
| \`keys/{p256,p384,ed25519,rsa}.pem\` | PKCS#8 private keys (RSA is 3072-bit) |
| \`keys/{p256,p384,ed25519,rsa}.pub.pem\` | Their SPKI public keys |
| \`artifacts/${ARTIFACT_NAME}\` | The signed artifact (every bundle directory holds an identical copy) |
| \`ca/corp-root.pem\` | Root certificate of a private CA ("corp", \`CN=Acme Test Root CA,O=Acme\`), for \`trust.cas\` |
| \`ca/corp-root-and-intermediate.pem\` | The same root, then its intermediate (\`CN=Acme Test Intermediate CA,O=Acme\`, path length 0) |
| \`ca/other-root.pem\` | Root of a second private CA with the same names and other keys |

## Bundles

All bundles are v0.3 (\`${BUNDLE_V03_MEDIA_TYPE}\`) over
\`${ARTIFACT_NAME}\` (\`${JSON.stringify(ARTIFACT.toString())}\`), stored as
\`<dir>/${ARTIFACT_NAME}.sigstore.json\` next to \`<dir>/${ARTIFACT_NAME}\`.
Keyless certificates come from the private instance's Fulcio unless stated,
are valid for 10 minutes, and carry a URI SAN plus the issuer extensions.
Key bundles name their key with \`publicKey.hint\` = base64(SHA-256(SPKI DER)).
Rekor entries (\`hashedrekord\` 0.0.1, \`intoto\` 0.0.2) carry both a signed
entry timestamp and an inclusion proof with a signed checkpoint.
\`ca-*\` bundles are shaped as model_signing's \`certificate\` method writes
them: v0.3 with an \`x509CertificateChain\`, no log entry, no timestamp; their
leaves (ECDSA P-256) have the subject \`${LEAF_SUBJECT_RFC4514}\` (RFC 4514), a URI
and an email SAN, and extended key usage codeSigning unless stated.

| Bundle | What | Signer | tlog | TSA | Verifies with |
| --- | --- | --- | --- | --- | --- |
${rows.join('\n')}

## Notes

- Trusted roots name their services \`https://<service>.<instance>.trustload.test\`.
  They existed only while the generator ran (on 127.0.0.1) and are never
  contacted; Rekor's checkpoints are signed under that name.
- Both instances use the mock's fixed names and serial numbers (Fulcio CA
  \`CN=sigstore,O=sigstore.mock\`, leaf serial 0x11182004; TSA
  \`CN=tsa signing,O=sigstore.mock\`). Telling them apart needs the keys, not the names.
- \`key-ed25519\`: signed with pure Ed25519 over the artifact. \`@sigstore/verify\`
  4.x passes the bundle's digest name (sha256) to \`crypto.verify\`, which
  OpenSSL rejects for Ed25519, so it reports a signature failure.
  The generator checks it with \`crypto.verify(null, ...)\`.
- \`key-p384-dsse\`: \`@sigstore/verify\` 4.x verifies DSSE signatures with the
  key's default digest (SHA-256), so it rejects this correct ECDSA-P384-SHA384
  signature. The generator checks it with \`crypto.verify('sha384', PAE, ...)\`.
`;
}

// ---------------------------------------------------------------------------
// Self-check: read the fixtures back from disk and verify them
// ---------------------------------------------------------------------------

let failures = 0;

function check(name, fn) {
  try {
    fn();
    console.log(`ok    ${name}`);
  } catch (err) {
    failures++;
    console.error(`FAIL  ${name}: ${err.message}${err.cause ? ` (cause: ${err.cause.message})` : ''}`);
  }
}

function assert(condition, message) {
  if (!condition) throw new Error(message);
}

const readBundle = (dir) => bundleFromJSON(readJSON(`${dir}/${ARTIFACT_NAME}.sigstore.json`));

// Runs the full @sigstore/verify pipeline on one bundle fixture. `root` is
// an instance directory ("private", "other") or a trusted root object; `keys`
// maps hints to trusted public keys, for key bundles.
function sigstoreVerify(dir, root, { keys, ...verifierOptions } = {}) {
  const rootJSON = typeof root === 'string' ? readJSON(`${root}/trusted_root.json`) : root;
  const trust = toTrustMaterial(TrustedRoot.fromJSON(rootJSON), keys);
  const entity = toSignedEntity(readBundle(dir), readFixture(`${dir}/${ARTIFACT_NAME}`));
  return new Verifier(trust, verifierOptions).verify(entity);
}

function expectIdentity(signer, repository) {
  const { subjectAlternativeName, extensions } = signer.identity;
  assert(subjectAlternativeName === identityFor(repository), `unexpected SAN ${subjectAlternativeName}`);
  assert(extensions.issuer === ISSUER, `unexpected issuer ${extensions.issuer}`);
}

// `code`, if given, is the VerificationError code the failure must carry.
function expectRejected(fn, code) {
  try {
    fn();
  } catch (err) {
    assert(err instanceof VerificationError, `unexpected error: ${err.message}`);
    assert(!code || err.code === code, `expected ${code}, got ${err.code}: ${err.message}`);
    return;
  }
  throw new Error('verified, but must be rejected');
}

// Trust material entry for one of our keys, keyed by its hint.
function trustedKey(alg) {
  const publicKey = crypto.createPublicKey(readFixture(`keys/${alg}.pub.pem`));
  return {
    [keyHint(publicKey)]: {
      rawBytes: publicKey.export({ type: 'spki', format: 'der' }),
      keyDetails: PublicKeyDetails[KEY_TYPES[alg].keyDetails],
    },
  };
}

// Checks a DSSE bundle's payload is our in-toto statement about hello.txt
// and returns the envelope.
function expectStatementAboutArtifact(dir) {
  const envelope = readBundle(dir).content.dsseEnvelope;
  assert(envelope.payloadType === IN_TOTO_PAYLOAD_TYPE, 'wrong payloadType');
  const [subject, ...more] = JSON.parse(envelope.payload.toString('utf8')).subject;
  const artifactDigest = sha256(readFixture(`${dir}/${ARTIFACT_NAME}`)).toString('hex');
  assert(more.length === 0 && subject.name === ARTIFACT_NAME, 'unexpected subjects');
  assert(subject.digest.sha256 === artifactDigest, 'subject digest does not match hello.txt');
  return envelope;
}

function selfCheck() {
  for (const file of ['private/trusted_root.json', 'private/trusted_root.v0.2.json', 'other/trusted_root.json']) {
    check(`${file} parses and every entry has validFor.start`, () => {
      const root = TrustedRoot.fromJSON(readJSON(file));
      const entries = [
        ...root.tlogs.map((t) => t.publicKey),
        ...root.ctlogs.map((t) => t.publicKey),
        ...root.certificateAuthorities,
        ...root.timestampAuthorities,
      ];
      assert(entries.length === 4, `expected 4 entries, got ${entries.length}`);
      assert(entries.every((e) => e.validFor?.start instanceof Date), 'missing validFor.start');
    });
  }

  // Structure: v0.3, and the witnesses the README claims (and no others).
  for (const f of bundleFixtures.filter((f) => !f.ca)) {
    check(`${f.dir}: v0.3 bundle, tlog ${f.tlog ?? 'none'}, TSA ${f.tsa ? 'yes' : 'no'}`, () => {
      const bundle = readBundle(f.dir);
      assertBundleLatest(bundle);
      const { tlogEntries, timestampVerificationData } = bundle.verificationMaterial;
      const kinds = tlogEntries.map((e) => e.kindVersion.kind);
      assert(String(kinds) === String(f.tlog ? [f.tlog] : []), `tlog entries: [${kinds}]`);
      const tsaCount = timestampVerificationData?.rfc3161Timestamps.length ?? 0;
      assert(tsaCount === (f.tsa ? 1 : 0), `${tsaCount} TSA timestamps`);
    });
  }

  // Keyless: full verification (CA chain, SCT, tlog, timestamps, signature)
  // plus the identity in the certificate.
  check('keyless verifies against private', () =>
    expectIdentity(sigstoreVerify('keyless', 'private'), REPOSITORY));
  check('keyless is rejected by other', () =>
    expectRejected(() => sigstoreVerify('keyless', 'other')));
  check('keyless-dsse verifies against private', () => {
    expectIdentity(sigstoreVerify('keyless-dsse', 'private'), REPOSITORY);
    expectStatementAboutArtifact('keyless-dsse');
  });
  check('keyless-other verifies against other', () =>
    expectIdentity(sigstoreVerify('keyless-other', 'other'), REPOSITORY));
  check('keyless-other is rejected by private', () =>
    expectRejected(() => sigstoreVerify('keyless-other', 'private')));
  // The check above already fails at the (foreign) TSA timestamp. This one
  // keeps all of other's witnesses and swaps in only private's Fulcio CA, so
  // it is the certificate chain alone that must fail.
  check("keyless-other is rejected by other's root with private's CA", () => {
    const hybrid = {
      ...readJSON('other/trusted_root.json'),
      certificateAuthorities: readJSON('private/trusted_root.json').certificateAuthorities,
    };
    expectRejected(() => sigstoreVerify('keyless-other', hybrid), 'CERTIFICATE_ERROR');
  });
  check('keyless-email verifies against private as the look-alike', () =>
    expectIdentity(sigstoreVerify('keyless-email', 'private'), LOOKALIKE_REPOSITORY));
  check('keyless-expired is rejected by private (certificate expired)', () =>
    expectRejected(() => sigstoreVerify('keyless-expired', 'private'), 'CERTIFICATE_ERROR'));
  check('keyless-notlog verifies against private without tlog', () =>
    expectIdentity(sigstoreVerify('keyless-notlog', 'private', { tlogThreshold: 0 }), REPOSITORY));
  check('keyless-notlog is rejected when a tlog entry is required', () =>
    expectRejected(() => sigstoreVerify('keyless-notlog', 'private'), 'TLOG_ERROR'));

  // Key bundles: verified against the public key alone (no tlog, no time).
  const offline = { tlogThreshold: 0, timestampThreshold: 0 };
  for (const alg of ['p256', 'p384', 'rsa']) {
    check(`key-${alg} verifies with keys/${alg}.pub.pem`, () =>
      sigstoreVerify(`key-${alg}`, 'private', { keys: trustedKey(alg), ...offline }));
  }
  check('key-p384 records a SHA2_384 message digest', () =>
    assert(
      readBundle('key-p384').content.messageSignature.messageDigest.algorithm === HashAlgorithm.SHA2_384,
      'digest algorithm is not SHA2_384'
    ));
  check('key-ed25519 verifies with keys/ed25519.pub.pem (node:crypto)', () => {
    const { signature } = readBundle('key-ed25519').content.messageSignature;
    const publicKey = crypto.createPublicKey(readFixture('keys/ed25519.pub.pem'));
    const artifact = readFixture(`key-ed25519/${ARTIFACT_NAME}`);
    assert(crypto.verify(null, artifact, publicKey, signature), 'bad signature');
  });
  check('key-p256-tlog verifies with keys/p256.pub.pem and the private Rekor', () =>
    sigstoreVerify('key-p256-tlog', 'private', { keys: trustedKey('p256') }));
  check('key-p384-dsse verifies with keys/p384.pub.pem, SHA-384 (node:crypto)', () => {
    const envelope = expectStatementAboutArtifact('key-p384-dsse');
    const publicKey = crypto.createPublicKey(readFixture('keys/p384.pub.pem'));
    const pae = preAuthEncoding(envelope.payloadType, envelope.payload);
    assert(crypto.verify('sha384', pae, publicKey, envelope.signatures[0].sig), 'bad signature');
  });
}

// CA bundles: @sigstore/verify cannot check a chain, so node:crypto checks the
// signature with the leaf's key and each certificate's signature with the next one's.
function caSelfCheck() {
  for (const f of caFixtures) {
    check(`${f.dir}: signed by its leaf, chain [${f.chain.join(', ')}]`, () => {
      const json = readJSON(`${f.dir}/${ARTIFACT_NAME}.sigstore.json`);
      const chain = json.verificationMaterial.x509CertificateChain.certificates.map(
        (c) => new crypto.X509Certificate(Buffer.from(c.rawBytes, 'base64'))
      );
      assert(chain.length === f.chain.length, `chain of ${chain.length}`);
      const key = chain[0].publicKey;
      const ok = json.messageSignature
        ? crypto.verify('sha256', ARTIFACT, key, Buffer.from(json.messageSignature.signature, 'base64'))
        : crypto.verify(
            'sha256',
            preAuthEncoding(IN_TOTO_PAYLOAD_TYPE, Buffer.from(json.dsseEnvelope.payload, 'base64')),
            key,
            Buffer.from(json.dsseEnvelope.signatures[0].sig, 'base64')
          );
      assert(ok, 'the signature does not verify with the leaf');
      chain.slice(0, -1).forEach((cert, i) => {
        if (f.chain[i + 1].endsWith('root') && f.chain[i + 1] !== 'corp root') return; // a foreign root issued nothing here
        assert(cert.verify(chain[i + 1].publicKey), `certificate ${i} is not signed by certificate ${i + 1}`);
      });
    });
  }
}

// Importable (scripts/generate-manifest-fixtures.mjs starts its own instance with startInstance).
if (process.argv[1] === fileURLToPath(import.meta.url)) {
  await generate();
  selfCheck();
  caSelfCheck();
  if (failures > 0) {
    console.error(`\n${failures} fixture check(s) FAILED`);
    process.exit(1);
  }
  console.log(`\nwrote ${bundleFixtures.length} bundle fixtures to ${FIXTURES}; all checks passed`);
}
