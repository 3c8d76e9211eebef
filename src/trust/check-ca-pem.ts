import { ErrorCodes, TrustloadError } from '../errors.js';

const CERTIFICATE_BLOCK = /-----BEGIN CERTIFICATE-----\r?\n[A-Za-z0-9+/=\r\n]+-----END CERTIFICATE-----/g;

/**
 * The start-up check of a `trust.cas` file, which must not load node:crypto:
 * PEM "CERTIFICATE" blocks and no other kind. parseCaPem decodes them later.
 */
export function checkCaPem(pem: string, source: string): void {
  if (/PRIVATE KEY/.test(pem)) {
    throw new TrustloadError(ErrorCodes.POLICY, `CA file ${source} holds a private key; trust only ever names certificates`);
  }
  const blocks = pem.match(CERTIFICATE_BLOCK)?.length ?? 0;
  if (blocks === 0 || pem.split('-----BEGIN ').length !== blocks + 1) {
    throw new TrustloadError(ErrorCodes.POLICY, `CA file ${source} is not a list of PEM "CERTIFICATE" blocks`);
  }
}
