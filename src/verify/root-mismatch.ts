import type { X509Certificate } from '@sigstore/core';
import type { TrustMaterial } from '@sigstore/verify';
import { ErrorCodes, TrustloadError } from '../errors.js';
import { parseCertificate, type Certificate } from './x509.js';

/**
 * When verification against a signer's trusted roots failed, whether the
 * reason is that no certificate authority of those roots issued the signing
 * certificate (a bundle checked against the wrong root). The library then
 * reports whichever check came first (often "timestamp failed verification"),
 * which hides the mistake; this names the chain and the root instead.
 * Undefined when some authority of the roots did issue it. Failure path only.
 */
export function rootMismatch(leaf: Certificate, material: TrustMaterial, rootNames: readonly string[]): TrustloadError | undefined {
  const authorities = material.certificateAuthorities.flatMap((ca) => ca.certChain).flatMap(decoded);
  if (authorities.some((ca) => issued(ca, leaf))) return undefined;
  const names = [...new Set(authorities.map((ca) => ca.subject))];
  const roots = `trusted root${rootNames.length > 1 ? 's' : ''} ${rootNames.map((name) => `"${name}"`).join(', ')}`;
  // Test and private instances often name their CAs alike: then the names alone would read as a match.
  const sameName = names.includes(leaf.issuer) ? ' (a CA of the same name, but another key: another Sigstore instance)' : '';
  return new TrustloadError(
    ErrorCodes.CERTIFICATE,
    `the signing certificate does not chain to ${roots}: it was issued by "${leaf.issuer}"${sameName}, and the certificate authorities there are ${names.map((n) => `"${n}"`).join(', ') || '(none)'}; verify against the root of the instance that issued it (the signer's "roots" in the policy, --trusted-root on the command line)`,
    { expected: `a certificate issued by a CA of ${roots}`, found: `a certificate issued by "${leaf.issuer}"` },
  );
}

// A failure to decode or check is "not issued by this one": this only chooses the words of a refusal.
function decoded(ca: X509Certificate): Certificate[] {
  try {
    return [parseCertificate(ca.root.toDER())];
  } catch {
    return [];
  }
}

function issued(ca: Certificate, leaf: Certificate): boolean {
  try {
    return leaf.node.checkIssued(ca.node) && leaf.node.verify(ca.node.publicKey);
  } catch {
    return false;
  }
}
