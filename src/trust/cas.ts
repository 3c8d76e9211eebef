import { ErrorCodes, TrustloadError } from '../errors.js';
import type { TrustedCa } from '../verify/ca-chain.js';
import { isSelfSigned, parseCertificate, type Certificate } from '../verify/x509.js';
import { checkCaPem } from './check-ca-pem.js';

const CERTIFICATE_BLOCK = /-----BEGIN CERTIFICATE-----\r?\n([A-Za-z0-9+/=\r\n]+)-----END CERTIFICATE-----/g;

/**
 * Decodes a `trust.cas` file: exactly one root (a self-signed CA certificate)
 * and any number of intermediates, which are only ever used to build a path
 * to that root.
 */
export function parseCaPem(name: string, pem: string, source: string): TrustedCa {
  checkCaPem(pem, source);
  const certificates: Certificate[] = [...pem.matchAll(CERTIFICATE_BLOCK)].map((match, i) => {
    try {
      return parseCertificate(Buffer.from(match[1]!.replace(/\s+/g, ''), 'base64'));
    } catch (err) {
      throw policyError(`certificate ${i} of CA file ${source} cannot be decoded: ${(err as Error).message}`, err);
    }
  });
  const roots = certificates.filter(isSelfSigned);
  if (roots.length !== 1) {
    throw policyError(`CA file ${source} holds ${roots.length} root (self-signed) certificates; it must hold exactly one`);
  }
  const root = roots[0]!;
  if (!root.node.ca) throw policyError(`the root certificate in CA file ${source} (${root.subject}) is not a CA certificate`);
  return { name, root, intermediates: certificates.filter((cert) => cert !== root) };
}

function policyError(message: string, cause?: unknown): TrustloadError {
  return new TrustloadError(ErrorCodes.POLICY, message, { cause });
}
