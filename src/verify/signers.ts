import type { KeyObject } from 'node:crypto';
import type { TrustMaterial } from '@sigstore/verify';
import type { Mismatch } from '../errors.js';
import type { CertificateIdentity, ClaimName } from './claims.js';

/**
 * A policy signer, resolved: its trust material is built and its pattern
 * compiled. Signers that name the same roots share one TrustMaterial object,
 * which is how the verifier knows it only has to check a bundle once for them.
 */
export type SignerSpec = KeylessSignerSpec | KeySignerSpec;

interface SignerBase {
  name: string;
  /** Names of the trusted roots whose authorities (CAs, logs, TSAs) this signer accepts. */
  roots: string[];
  material: TrustMaterial;
}

export interface KeylessSignerSpec extends SignerBase {
  kind: 'keyless';
  issuer: string;
  identity: { exact: string } | { pattern: RegExp };
  claims: Partial<Record<ClaimName, string>>;
}

export interface KeySignerSpec extends SignerBase {
  kind: 'key';
  keyName: string;
  key: KeyObject;
  transparencyLog: boolean;
}

/** Who signed, once the signature, chain, logs and timestamps all verified. */
export interface VerifiedSigner {
  /** The policy signer that accepted the bundle. */
  signer: string;
  kind: 'keyless' | 'key';
  identity?: string;
  issuer?: string;
  claims?: Partial<Record<ClaimName, string>>;
  key?: string;
  roots: string[];
  /** Whether a verified transparency log entry was required (always, for keyless). */
  logged: boolean;
}

/**
 * Compiles an `identityPattern`. It must be written anchored, and its body is
 * wrapped again as `^(?:body)$` so that an alternation such as `^a|b$` cannot
 * match `a-evil`.
 */
export function compileIdentityPattern(pattern: string): RegExp {
  const backslashesBeforeEnd = /\\*(?=\$$)/.exec(pattern)?.[0].length ?? 0;
  if (!pattern.startsWith('^') || !pattern.endsWith('$') || backslashesBeforeEnd % 2 === 1) {
    throw new SyntaxError('must start with ^ and end with $');
  }
  return new RegExp(`^(?:${pattern.slice(1, -1)})$`);
}

export function describeExpectedIdentity(signer: KeylessSignerSpec): string {
  const identity = 'exact' in signer.identity ? signer.identity.exact : signer.identity.pattern.source;
  const claims = Object.entries(signer.claims).map(([k, v]) => ` ${k}=${v}`).join('');
  return `${identity} from ${signer.issuer}${claims}`;
}

/** Compares a verified certificate with one keyless signer: everything exact, the pattern anchored. */
export function matchKeyless(signer: KeylessSignerSpec, found: CertificateIdentity): Mismatch | undefined {
  const describe = `${found.identity ?? '(no identity)'} from ${found.issuer ?? '(no issuer)'}`;
  if (found.issuer !== signer.issuer) return { expected: describeExpectedIdentity(signer), found: describe };
  const identity = found.identity;
  const identityOk =
    identity !== undefined && ('exact' in signer.identity ? identity === signer.identity.exact : signer.identity.pattern.test(identity));
  if (!identityOk) return { expected: describeExpectedIdentity(signer), found: describe };
  for (const [claim, value] of Object.entries(signer.claims) as [ClaimName, string][]) {
    const actual = Object.hasOwn(found.claims, claim) ? found.claims[claim] : undefined;
    if (actual !== value) {
      return { expected: `${claim}=${value}`, found: `${claim}=${actual ?? '(absent)'}` };
    }
  }
  return undefined;
}
