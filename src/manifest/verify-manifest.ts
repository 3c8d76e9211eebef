import type { Bundle } from '@sigstore/bundle';
import { parseBundle } from '../bundle/parse-bundle.js';
import { ErrorCodes, TrustloadError } from '../errors.js';
import type { SignerSpec, VerifiedSigner } from '../verify/signers.js';
import { verifyBundle } from '../verify/verify-bundle.js';
import { parseManifestPayload } from './predicate.js';
import { PREDICATE_V01, type ManifestContent } from './types.js';

/**
 * Verifies a manifest bundle through the one verification path. The
 * predicate is read from the payload of the same parsed bundle that
 * verifyBundle checks, and the subject digest handed to it is recomputed
 * from that predicate's resources: the signature then vouches for exactly
 * the resource list that is returned.
 */
export function verifyManifestBundle(bundleBytes: Uint8Array, bundlePath: string, signers: readonly SignerSpec[]): { content: ManifestContent; signer: VerifiedSigner } {
  const bundle = parseBundle(bundleBytes, bundlePath);
  const content = parseManifestPayload(dssePayload(bundle, bundlePath), bundlePath);
  try {
    return { content, signer: verifyBundle(bundle, { sha256: content.subjectDigest }, signers) };
  } catch (err) {
    if (content.predicateType === PREDICATE_V01 && err instanceof TrustloadError && err.code === ErrorCodes.SIGNATURE) {
      throw new TrustloadError(
        ErrorCodes.SIGNATURE,
        `${err.message}; model_signing 0.2 signed with keys and certificates over a non-standard DSSE encoding: re-sign the model with model_signing 1.0 or later, or with trustload sign DIR`,
        { expected: err.expected, found: err.found, cause: err },
      );
    }
    throw err;
  }
}

function dssePayload(bundle: Bundle, bundlePath: string): Buffer {
  if (bundle.content.$case !== 'dsseEnvelope') {
    throw new TrustloadError(ErrorCodes.BAD_BUNDLE, `${bundlePath} is a message signature, not a model-signing manifest (a DSSE in-toto statement)`);
  }
  return Buffer.from(bundle.content.dsseEnvelope.payload);
}
