import type { KeyObject } from 'node:crypto';
import type { TrustedRoot } from '@sigstore/protobuf-specs';
import { toTrustMaterial, type TrustMaterial } from '@sigstore/verify';
import { asTrustloadError, ErrorCodes, TrustloadError } from '../errors.js';
import type { NamedTrustedRoot } from './trusted-root.js';

/**
 * Builds @sigstore/verify's trust material from the roots a signer names,
 * and, for a key signer, its one key. The key is returned for every lookup:
 * the bundle's key hint is optional, unauthenticated and never consulted.
 */
export function buildTrustMaterial(roots: readonly NamedTrustedRoot[], key?: KeyObject): TrustMaterial {
  const merged = {
    mediaType: '',
    certificateAuthorities: roots.flatMap((r) => r.root.certificateAuthorities),
    tlogs: roots.flatMap((r) => r.root.tlogs),
    ctlogs: roots.flatMap((r) => r.root.ctlogs),
    timestampAuthorities: roots.flatMap((r) => r.root.timestampAuthorities),
  } satisfies TrustedRoot;
  const publicKey = () => {
    if (key === undefined) {
      throw new TrustloadError(ErrorCodes.UNTRUSTED_SIGNER, 'the bundle is signed with a key, but this signer is keyless');
    }
    return { publicKey: key, validFor: () => true };
  };
  try {
    return toTrustMaterial(merged, publicKey);
  } catch (err) {
    throw asTrustloadError(err, ErrorCodes.POLICY, `trusted roots ${roots.map((r) => r.name).join(', ')} cannot be used`);
  }
}
