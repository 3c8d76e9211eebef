import type { KeyObject } from 'node:crypto';
import type { TrustMaterial } from '@sigstore/verify';
import type { Mismatch } from '../errors.js';
import type { TrustedCa } from './ca-chain.js';
import type { AnyClaimName, CertificateIdentity } from './claims.js';

/**
 * A policy signer, resolved: its trust material is built and its pattern
 * compiled. Signers that name the same roots share one TrustMaterial object,
 * which is how the verifier knows it only has to check a bundle once for them.
 */
export type SignerSpec = KeylessSignerSpec | KeySignerSpec | CaSignerSpec;

/** A value matched exactly, or by an anchored pattern (compileIdentityPattern). */
export type Matcher = { exact: string } | { pattern: RegExp };

interface SignerBase {
  name: string;
  /** Names of the trusted roots whose authorities (CAs, logs, TSAs) this signer accepts. */
  roots: string[];
  material: TrustMaterial;
}

export interface KeylessSignerSpec extends SignerBase {
  kind: 'keyless';
  /** A pattern only from the command line (cosign's --certificate-oidc-issuer-regexp); a policy names its issuer exactly. */
  issuer: Matcher;
  identity: Matcher;
  claims: Partial<Record<AnyClaimName, string>>;
}

export interface KeySignerSpec extends SignerBase {
  kind: 'key';
  keyName: string;
  key: KeyObject;
  transparencyLog: boolean;
}

/** A private CA's signer: `roots` only name the logs and timestamp authorities that may prove signing time. */
export interface CaSignerSpec extends SignerBase {
  kind: 'ca';
  caName: string;
  ca: TrustedCa;
  subject: Matcher | undefined;
  identity: Matcher | undefined;
  transparencyLog: boolean;
}

/** Who signed, once the signature, chain, logs and timestamps all verified. */
export interface VerifiedSigner {
  /** The policy signer that accepted the bundle. */
  signer: string;
  kind: 'keyless' | 'key' | 'ca';
  identity?: string;
  issuer?: string;
  claims?: Partial<Record<AnyClaimName, string>>;
  key?: string;
  /** For a CA signer: the CA's name, the leaf's subject (RFC 4514) and every URI or email SAN. */
  ca?: string;
  subject?: string;
  identities?: string[];
  /** For a chain checked at the current time (no log entry or timestamp): when it stops being valid (ms). */
  validUntil?: number;
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
  const body = pattern.slice(1, -1);
  // The body must be a whole expression by itself: `^a)|(.*$` would otherwise close the
  // wrapping group and leave `(.*)` outside the anchors, matching every identity.
  new RegExp(body);
  return new RegExp(`^(?:${body})$`);
}

export function describeExpectedIdentity(signer: KeylessSignerSpec): string {
  const claims = Object.entries(signer.claims).map(([k, v]) => ` ${k}=${v}`).join('');
  return `${matcherText(signer.identity)} from ${matcherText(signer.issuer)}${claims}`;
}

/** Compares a verified certificate with one keyless signer: everything exact, the pattern anchored. */
export function matchKeyless(signer: KeylessSignerSpec, found: CertificateIdentity): Mismatch | undefined {
  const describe = `${found.identity ?? '(no identity)'} from ${found.issuer ?? '(no issuer)'}`;
  if (found.issuer === undefined || !matches(signer.issuer, found.issuer)) return { expected: describeExpectedIdentity(signer), found: describe };
  if (found.identity === undefined || !matches(signer.identity, found.identity)) return { expected: describeExpectedIdentity(signer), found: describe };
  for (const [claim, value] of Object.entries(signer.claims) as [AnyClaimName, string][]) {
    const actual = Object.hasOwn(found.claims, claim) ? found.claims[claim] : undefined;
    if (actual !== value) {
      return { expected: `${claim}=${value}`, found: `${claim}=${actual ?? '(absent)'}` };
    }
  }
  return undefined;
}

/** What a CA signer's certificate says about its holder. */
export interface CaIdentity {
  subject: string;
  identities: string[];
}

export function describeExpectedCaIdentity(signer: CaSignerSpec): string {
  const parts = [`CA ${signer.caName}`];
  if (signer.subject) parts.push(`subject ${matcherText(signer.subject)}`);
  if (signer.identity) parts.push(`identity ${matcherText(signer.identity)}`);
  return parts.join(', ');
}

export function describeCaIdentity(found: CaIdentity): string {
  return `subject ${found.subject}, identity ${found.identities.join(' ') || '(none)'}`;
}

/** Compares a validated leaf with one CA signer: the subject whole, and one SAN that matches. */
export function matchCa(signer: CaSignerSpec, found: CaIdentity): Mismatch | undefined {
  if (signer.subject && !matches(signer.subject, found.subject)) {
    return { expected: `subject ${matcherText(signer.subject)}`, found: `subject ${found.subject}` };
  }
  if (signer.identity && !found.identities.some((identity) => matches(signer.identity!, identity))) {
    return { expected: `identity ${matcherText(signer.identity)}`, found: `identity ${found.identities.join(' ') || '(none)'}` };
  }
  return undefined;
}

function matches(matcher: Matcher, value: string): boolean {
  return 'exact' in matcher ? value === matcher.exact : matcher.pattern.test(value);
}

function matcherText(matcher: Matcher): string {
  return 'exact' in matcher ? matcher.exact : matcher.pattern.source;
}
