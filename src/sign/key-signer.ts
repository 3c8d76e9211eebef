import { createHash, createPublicKey, sign, type KeyObject } from 'node:crypto';
import type { Signer } from '@sigstore/sign';

/**
 * The digest a key signs with, as trustload's verifier (and cosign) expect
 * it: P-384 with SHA-384, Ed25519 over the message itself (null), the rest
 * with SHA-256.
 */
export function signingDigest(key: KeyObject): 'sha256' | 'sha384' | null {
  if (key.asymmetricKeyType === 'ed25519') return null;
  return key.asymmetricKeyDetails?.namedCurve === 'secp384r1' ? 'sha384' : 'sha256';
}

/** A @sigstore/sign Signer over a private key, naming its public key by cosign's hint (base64 SHA-256 of the SPKI). */
export function keySigner(key: KeyObject): Signer {
  const publicKey = createPublicKey(key);
  const hint = createHash('sha256').update(publicKey.export({ type: 'spki', format: 'der' })).digest('base64');
  const pem = publicKey.export({ type: 'spki', format: 'pem' }).toString();
  const digest = signingDigest(key);
  return {
    sign: async (data) => ({ signature: sign(digest, data, key), key: { $case: 'publicKey', publicKey: pem, hint } }),
  };
}
