import { ErrorCodes, TrustloadError } from '../errors.js';

// Explanatory text around the block is allowed (RFC 7468, and GnuTLS writes it); a second block is not.
const PUBLIC_KEY_PEM = /-----BEGIN (RSA )?PUBLIC KEY-----\r?\n[A-Za-z0-9+/=\r\n]+-----END \1PUBLIC KEY-----/;

/**
 * The start-up check of a key, which must not load node:crypto: one PEM
 * public key block and nothing else. parsePublicKeyPem decodes it later.
 */
export function checkPublicKeyPem(pem: string, source: string): void {
  if (/PRIVATE KEY/.test(pem)) {
    throw new TrustloadError(ErrorCodes.POLICY, `key ${source} is a private key; trust only ever names public keys`);
  }
  if (!PUBLIC_KEY_PEM.test(pem) || pem.split('-----BEGIN ').length !== 2) {
    throw new TrustloadError(ErrorCodes.POLICY, `key ${source} is not one PEM "PUBLIC KEY" block`);
  }
}
