import { constants, publicDecrypt, type KeyObject } from 'node:crypto';
import { p256, p384 } from '@noble/curves/nist.js';
import { ErrorCodes, TrustloadError } from '../errors.js';

// DER DigestInfo prefix for SHA-256 in an RSA PKCS#1 v1.5 signature (RFC 8017, section 9.2).
const SHA256_DIGEST_INFO = Buffer.from('3031300d060960864801650304020105000420', 'hex');

/**
 * Verifies a signature over a SHA-256 digest when only the digest is known
 * (the command line's `sha256:<hex>` input). node:crypto can only verify over
 * a message it hashes itself, so ECDSA goes through @noble/curves with
 * prehashing off. Ed25519 signs the message itself and cannot be checked from
 * a digest at all.
 */
export function verifyPrehashed(key: KeyObject, digest: Buffer, signature: Buffer): boolean {
  switch (key.asymmetricKeyType) {
    case 'ec': {
      const curve = key.asymmetricKeyDetails?.namedCurve === 'secp384r1' ? p384 : p256;
      const jwk = key.export({ format: 'jwk' });
      const point = Buffer.concat([Buffer.from([4]), Buffer.from(jwk.x!, 'base64url'), Buffer.from(jwk.y!, 'base64url')]);
      try {
        // Sigstore signers do not normalise S, so high-S signatures are valid here.
        return curve.verify(signature, digest, point, { prehash: false, lowS: false, format: 'der' });
      } catch {
        return false; // a malformed DER signature is a signature that does not verify
      }
    }
    case 'rsa': {
      let decoded: Buffer;
      try {
        decoded = publicDecrypt({ key, padding: constants.RSA_PKCS1_PADDING }, signature);
      } catch {
        return false;
      }
      return decoded.equals(Buffer.concat([SHA256_DIGEST_INFO, digest]));
    }
    default:
      throw new TrustloadError(
        ErrorCodes.SIGNATURE,
        `a ${key.asymmetricKeyType} signature cannot be verified from a digest; pass the file itself`,
      );
  }
}
