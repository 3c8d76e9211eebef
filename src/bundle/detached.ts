import { BUNDLE_V03_MEDIA_TYPE, type Bundle } from '@sigstore/bundle';
import type { KeyObject } from 'node:crypto';
import { ErrorCodes, TrustloadError } from '../errors.js';
import { hashBytes, type Artifact } from '../verify/artifact.js';
import { parseBundle } from './parse-bundle.js';

const BASE64 = /^[A-Za-z0-9+/]+={0,2}$/;

/**
 * cosign's detached form (`--signature FILE`, base64, and a public key) as
 * the bundle it stands for: a message signature with no log entry and no
 * timestamp, so that it is checked by the one verification path like any
 * bundle. The message digest written into it is the artifact's own; what
 * binds the signature to the artifact is the signature check over the
 * artifact's bytes (or digest), done by the verifier with the given key.
 */
export function detachedSignatureBundle(signatureText: string, source: string, key: KeyObject, artifact: Artifact): Bundle {
  const signature = signatureText.trim();
  if (!BASE64.test(signature) || signature.length % 4 !== 0) {
    throw new TrustloadError(ErrorCodes.BAD_BUNDLE, `signature ${source} is not base64 (cosign sign-blob --output-signature writes the signature base64-encoded)`);
  }
  const algorithm = messageDigestAlgorithm(key);
  const digest = 'bytes' in artifact ? hashBytes(algorithm.node, artifact.bytes) : algorithm.node === 'sha256' ? artifact.sha256 : undefined;
  if (digest === undefined) {
    throw new TrustloadError(ErrorCodes.SIGNATURE, `a ${key.asymmetricKeyDetails?.namedCurve ?? ''} key signs a ${algorithm.node} digest; pass the file, not its sha256`);
  }
  const json = {
    mediaType: BUNDLE_V03_MEDIA_TYPE,
    verificationMaterial: { publicKey: { hint: '' }, tlogEntries: [], timestampVerificationData: { rfc3161Timestamps: [] } },
    messageSignature: { messageDigest: { algorithm: algorithm.sigstore, digest: digest.toString('base64') }, signature },
  };
  return parseBundle(Buffer.from(JSON.stringify(json)), source);
}

/** The digest a key signs a message with when nothing says otherwise: the one its curve calls for (Sigstore's default). */
function messageDigestAlgorithm(key: KeyObject): { node: string; sigstore: string } {
  const curve = key.asymmetricKeyDetails?.namedCurve;
  if (curve === 'secp384r1') return { node: 'sha384', sigstore: 'SHA2_384' };
  if (curve === 'secp521r1') return { node: 'sha512', sigstore: 'SHA2_512' };
  return { node: 'sha256', sigstore: 'SHA2_256' };
}
