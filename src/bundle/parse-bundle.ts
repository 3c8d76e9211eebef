import { X509Certificate as DerCertificate } from 'node:crypto';
import { assertBundleV02, bundleFromJSON, ValidationError, type Bundle } from '@sigstore/bundle';
import { Bundle as BundleMessage } from '@sigstore/protobuf-specs';
import { X509Certificate } from '@sigstore/core';
import { ErrorCodes, TrustloadError } from '../errors.js';
import { isPlainObject, parseJson } from '../io/json.js';

/** The bundle versions trustload reads. @sigstore/bundle alone accepts any `version=N.N`. */
const BUNDLE_MEDIA_TYPES = new Set([
  'application/vnd.dev.sigstore.bundle+json;version=0.1',
  'application/vnd.dev.sigstore.bundle+json;version=0.2',
  'application/vnd.dev.sigstore.bundle+json;version=0.3',
  'application/vnd.dev.sigstore.bundle.v0.3+json',
]);

const LEGACY_COSIGN_FIELDS = ['base64Signature', 'rekorBundle', 'cert'];

/**
 * Turns bundle bytes into a checked Bundle, refusing with a precise reason
 * everything that is not a standard v0.1-v0.3 bundle.
 */
export function parseBundle(bytes: Uint8Array, source: string): Bundle {
  const json = parseJson(Buffer.from(bytes).toString('utf8'), `bundle ${source}`);
  if (!isPlainObject(json)) throw bad(`bundle ${source} is not a JSON object`);
  if (json.mediaType === undefined && LEGACY_COSIGN_FIELDS.some((field) => field in json)) {
    throw bad(
      `bundle ${source} is in cosign's legacy format (base64Signature/cert/rekorBundle), which carries no verifiable media type; ` +
        're-sign with `cosign sign-blob --new-bundle-format --bundle FILE.sigstore.json` (cosign 2.4+) or `trustload sign FILE`',
    );
  }
  if (typeof json.mediaType !== 'string' || !BUNDLE_MEDIA_TYPES.has(json.mediaType)) {
    throw bad(`bundle ${source} has media type ${JSON.stringify(json.mediaType)}; supported are bundle v0.1, v0.2 and v0.3`);
  }
  rejectMalformedBase64(json, source);
  let bundle: Bundle;
  try {
    bundle = isV03WithChain(json) ? v03WithChain(json) : bundleFromJSON(json);
  } catch (err) {
    if (err instanceof ValidationError) {
      const fields = err.fields ?? [];
      // A v0.2+ entry without an inclusion proof is a transparency-log failure, not a parse failure.
      const code = fields.length > 0 && fields.every((f) => f.startsWith('verificationMaterial.tlogEntries'))
        ? ErrorCodes.TLOG
        : ErrorCodes.BAD_BUNDLE;
      throw new TrustloadError(code, `bundle ${source} is invalid: missing or empty ${fields.join(', ')}`, { cause: err });
    }
    throw bad(`bundle ${source} cannot be decoded: ${(err as Error).message}`, err);
  }
  rejectExcessEvidence(bundle, source);
  rejectUnparsableCertificates(bundle, source);
  rejectNonDerCertificates(bundle, source);
  rejectMalformedLogNumbers(bundle, source);
  rejectProofCheckpointMismatch(bundle, source);
  return bundle;
}

// Every bytes field of a bundle, by its JSON path ("[]" marks a list).
const BYTES_FIELDS = [
  'messageSignature.signature',
  'messageSignature.messageDigest.digest',
  'dsseEnvelope.payload',
  'dsseEnvelope.signatures[].sig',
  'verificationMaterial.certificate.rawBytes',
  'verificationMaterial.x509CertificateChain.certificates[].rawBytes',
  'verificationMaterial.tlogEntries[].logId.keyId',
  'verificationMaterial.tlogEntries[].canonicalizedBody',
  'verificationMaterial.tlogEntries[].inclusionPromise.signedEntryTimestamp',
  'verificationMaterial.tlogEntries[].inclusionProof.rootHash',
  'verificationMaterial.tlogEntries[].inclusionProof.hashes[]',
  'verificationMaterial.timestampVerificationData.rfc3161Timestamps[].signedTimestamp',
].map((path) => path.split('.'));

// Standard or URL-safe alphabet, padding optional but never wrong; line breaks are
// ignored, as Go's decoder (and so cosign) ignores them.
const BASE64 = /^(?:[A-Za-z0-9+/_-]{4})*(?:[A-Za-z0-9+/_-]{2}(?:==)?|[A-Za-z0-9+/_-]{3}=?)?$/;

/**
 * The protobuf decoder silently skips characters that are not base64, so a
 * corrupted signature would surface later as some unrelated mismatch; and it
 * hands anything else to Buffer.from, which takes `{"length": 1e9}` as an
 * array of a billion bytes to allocate. Refuse both here, naming the field.
 * (null is protojson's "absent".)
 */
function rejectMalformedBase64(json: Record<string, unknown>, source: string): void {
  const visit = (value: unknown, path: string[], at: string): void => {
    if (path.length === 0) {
      if (value === null) return;
      if (typeof value !== 'string') throw bad(`bundle ${source}: ${at} is not a base64 string`);
      if (!BASE64.test(value.replace(/\r?\n/g, ''))) throw bad(`bundle ${source}: ${at} is not valid base64`);
      return;
    }
    const [head, ...rest] = path as [string, ...string[]];
    const isList = head.endsWith('[]');
    const key = isList ? head.slice(0, -2) : head;
    if (!isPlainObject(value) || !Object.hasOwn(value, key)) return;
    const child = value[key];
    const name = at ? `${at}.${key}` : key;
    if (!isList) return visit(child, rest, name);
    if (Array.isArray(child)) child.forEach((item, i) => visit(item, rest, `${name}[${i}]`));
  };
  for (const path of BYTES_FIELDS) visit(json, path, '');
}

export const V03_MEDIA_TYPES = new Set(['application/vnd.dev.sigstore.bundle+json;version=0.3', 'application/vnd.dev.sigstore.bundle.v0.3+json']);

/** More than any signer produces (one log entry, timestamp or intermediate; two while logs migrate). */
const MAX_EVIDENCE = 8;

/**
 * The library verifies every log entry and timestamp before it looks for
 * duplicates, and one RFC 3161 timestamp costs milliseconds: a bundle of the
 * same valid timestamp repeated thousands of times kept a load busy for
 * minutes (and every chain certificate is parsed). Refuse such a bundle
 * before verifying anything.
 */
function rejectExcessEvidence(bundle: Bundle, source: string): void {
  const material = bundle.verificationMaterial;
  const chain = material.content.$case === 'x509CertificateChain' ? material.content.x509CertificateChain.certificates.length : 0;
  const counts: [string, number][] = [
    ['certificates', chain],
    ['log entries', material.tlogEntries.length],
    ['RFC 3161 timestamps', material.timestampVerificationData?.rfc3161Timestamps.length ?? 0],
  ];
  for (const [what, count] of counts) {
    if (count > MAX_EVIDENCE) throw bad(`bundle ${source} carries ${count} ${what}; at most ${MAX_EVIDENCE} are read`);
  }
}

/**
 * @sigstore/core's ASN.1 reader checks neither the outer tag nor minimal
 * lengths nor what follows the certificate, and nothing signs those bytes, so
 * a certificate could be re-encoded at will and still verify. Require each to
 * be exactly one DER certificate, as OpenSSL reads and writes it.
 */
function rejectNonDerCertificates(bundle: Bundle, source: string): void {
  const content = bundle.verificationMaterial.content;
  const certificates =
    content.$case === 'certificate' ? [content.certificate] : content.$case === 'x509CertificateChain' ? content.x509CertificateChain.certificates : [];
  certificates.forEach(({ rawBytes }, i) => {
    let reencoded: Buffer | undefined;
    try {
      reencoded = new DerCertificate(rawBytes).raw;
    } catch {
      // refused below
    }
    if (reencoded === undefined || !reencoded.equals(rawBytes)) throw bad(`bundle ${source}: certificate ${i} is not one DER-encoded certificate`);
  });
}

/**
 * model_signing's `certificate` method writes v0.3 bundles that carry a leaf
 * and its chain, which @sigstore/bundle's v0.3 check refuses outright. Such a
 * bundle is held to the v0.2 rules (the same but for the chain); the verifier
 * then accepts the chain only for ca signers (src/verify/verify-bundle.ts).
 */
function isV03WithChain(json: Record<string, unknown>): boolean {
  const material = json.verificationMaterial;
  return V03_MEDIA_TYPES.has(json.mediaType as string) && isPlainObject(material) && Object.hasOwn(material, 'x509CertificateChain');
}

function v03WithChain(json: Record<string, unknown>): Bundle {
  const bundle = BundleMessage.fromJSON(json);
  assertBundleV02(bundle);
  return bundle as Bundle;
}

/** Every certificate must at least decode; whether it may stand where it is, the verifier decides. */
function rejectUnparsableCertificates(bundle: Bundle, source: string): void {
  const content = bundle.verificationMaterial.content;
  if (content.$case !== 'x509CertificateChain') return;
  content.x509CertificateChain.certificates.forEach((raw, i) => {
    try {
      X509Certificate.parse(Buffer.from(raw.rawBytes));
    } catch (err) {
      throw bad(`bundle ${source}: certificate ${i} cannot be parsed: ${(err as Error).message}`, err);
    }
  });
}

/**
 * The library reads a log's numbers with Number() and BigInt(), which take
 * " 12", "1e3" and "0x10"; protojson (and so cosign and sigstore-go) takes
 * decimal digits only. Refuse the rest, so that no bundle means one number
 * here and nothing, or another, to them.
 */
function rejectMalformedLogNumbers(bundle: Bundle, source: string): void {
  bundle.verificationMaterial.tlogEntries.forEach((entry, i) => {
    const numbers: [string, string | undefined][] = [
      ['log index', entry.logIndex],
      ['integrated time', entry.integratedTime],
      ["inclusion proof's log index", entry.inclusionProof?.logIndex],
      ["inclusion proof's tree size", entry.inclusionProof?.treeSize],
    ];
    for (const [name, value] of numbers) {
      if (value !== undefined && !/^\d+$/.test(value)) {
        throw new TrustloadError(ErrorCodes.TLOG, `bundle ${source}: log entry ${i}: ${name} ${JSON.stringify(value)} is not a non-negative integer`);
      }
    }
  });
}

// A signed note's signature block, as Go's note package (so Rekor, cosign and sigstore-go) reads it:
// "— name base64" lines, each ending in a newline. The library skips lines it cannot read and
// decodes base64 leniently, so without this anything could sit beside a valid signature.
const NOTE_SIGNATURES = /^(?:\u2014 \S+ (?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?\n)+$/;

/**
 * @sigstore/verify checks the Merkle path against the root hash in the signed
 * checkpoint and never reads the proof's own rootHash and treeSize, so a proof
 * whose fields contradict its checkpoint would pass. Refuse it, as Rekor's
 * verifier (and so cosign and sigstore-go) does. A checkpoint that cannot be
 * read is left to the verifier, which refuses it.
 */
function rejectProofCheckpointMismatch(bundle: Bundle, source: string): void {
  bundle.verificationMaterial.tlogEntries.forEach((entry, i) => {
    const proof = entry.inclusionProof;
    const envelope = proof?.checkpoint?.envelope;
    if (proof === undefined || typeof envelope !== 'string') return;
    const separator = envelope.indexOf('\n\n');
    if (separator < 0) return;
    if (!NOTE_SIGNATURES.test(envelope.slice(separator + 2))) {
      throw new TrustloadError(ErrorCodes.TLOG, `bundle ${source}: log entry ${i}: the checkpoint's signature lines are malformed`);
    }
    const [, size, rootHash] = envelope.slice(0, separator).split('\n');
    if (size === undefined || rootHash === undefined || !/^\d+$/.test(size)) return;
    const fail = (what: string): never => {
      throw new TrustloadError(ErrorCodes.TLOG, `bundle ${source}: log entry ${i}: the inclusion proof's ${what} differs from its signed checkpoint's`);
    };
    if (BigInt(proof.treeSize) !== BigInt(size)) fail('tree size');
    if (!Buffer.from(rootHash, 'base64').equals(Buffer.from(proof.rootHash))) fail('root hash');
  });
}

function bad(message: string, cause?: unknown): TrustloadError {
  return new TrustloadError(ErrorCodes.BAD_BUNDLE, message, { cause });
}
