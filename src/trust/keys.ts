import { createPublicKey, type KeyObject } from 'node:crypto';
import { ErrorCodes, TrustloadError } from '../errors.js';
import { ownOptions } from '../io/frozen.js';
import { checkPublicKeyPem } from './check-public-key.js';

const SUPPORTED_CURVES = new Set(['prime256v1', 'secp384r1']);

/** Parses a PEM public key, accepting only the kinds Sigstore signs with: ECDSA P-256/P-384, Ed25519, RSA. */
export function parsePublicKeyPem(pem: string, source: string): KeyObject {
  // Checked first: createPublicKey would quietly derive a public key from a private one.
  checkPublicKeyPem(pem, source);
  let key: KeyObject;
  try {
    key = createPublicKey(ownOptions({ key: pem, format: 'pem' as const }));
  } catch (err) {
    throw new TrustloadError(ErrorCodes.POLICY, `public key ${source} is not a PEM public key: ${(err as Error).message}`, { cause: err });
  }
  const type = key.asymmetricKeyType;
  const curve = key.asymmetricKeyDetails?.namedCurve;
  const supported = type === 'ed25519' || type === 'rsa' || (type === 'ec' && curve !== undefined && SUPPORTED_CURVES.has(curve));
  if (!supported) {
    throw new TrustloadError(ErrorCodes.POLICY, `public key ${source} is ${type}${curve ? ` ${curve}` : ''}; supported are ECDSA P-256/P-384, Ed25519 and RSA`);
  }
  return key;
}
