import { matchCa, matchKeyless, type SignerSpec, type VerifiedSigner } from './signers.js';

/**
 * Remembers who signed, never that something "is fine": entries are keyed by
 * the digests of the bundle and the artifact (not a path or a modification
 * time), hold only the verified signer, and are matched against the signers
 * of the rule at hand on every lookup. Failures are not cached.
 */
export class VerificationCache {
  readonly #entries = new Map<string, VerifiedSigner[]>();
  hits = 0;

  verify(key: string, signers: readonly SignerSpec[], verifyNow: () => VerifiedSigner): VerifiedSigner {
    for (const verified of this.#entries.get(key) ?? []) {
      const accepted = acceptedBy(signers, verified);
      if (accepted) {
        this.hits++;
        return accepted;
      }
    }
    const verified = verifyNow();
    this.#entries.set(key, [...(this.#entries.get(key) ?? []), verified]);
    return verified;
  }
}

function acceptedBy(signers: readonly SignerSpec[], verified: VerifiedSigner): VerifiedSigner | undefined {
  for (const signer of signers) {
    // A chain that verified under roots R holds for any signer that trusts all of R.
    if (!verified.roots.every((root) => signer.roots.includes(root))) continue;
    if (signer.kind === 'key') {
      if (verified.kind === 'key' && verified.key === signer.keyName && (verified.logged || !signer.transparencyLog)) {
        return { ...verified, signer: signer.name };
      }
    } else if (signer.kind === 'keyless') {
      if (verified.kind !== 'keyless') continue;
      const found = { identity: verified.identity, issuer: verified.issuer, claims: verified.claims ?? {} };
      if (matchKeyless(signer, found) === undefined) return { ...verified, signer: signer.name };
    } else if (verified.kind === 'ca' && verified.ca === signer.caName && (verified.logged || !signer.transparencyLog)) {
      // A chain checked at "now" (no proven signing time) stops holding when a certificate in it expires.
      if (verified.validUntil !== undefined && Date.now() > verified.validUntil) continue;
      const found = { subject: verified.subject ?? '', identities: verified.identities ?? [] };
      if (matchCa(signer, found) === undefined) return { ...verified, signer: signer.name };
    }
  }
  return undefined;
}
