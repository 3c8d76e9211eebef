import { compileIdentityPattern } from '../verify/signers.js';

/**
 * What the policy schema (schema.ts) checks beyond shapes, as named
 * functions without zod: the schema refers to them, and the validator
 * generated from the schema at build time (scripts/policy-validator.mjs)
 * calls the same functions by name.
 */

export function isIdentityPattern(pattern: string): boolean {
  try {
    compileIdentityPattern(pattern);
    return true;
  } catch {
    return false;
  }
}

export function isAbsoluteDir(dir: string): boolean {
  return dir.startsWith('/');
}

interface Identities {
  identity?: string | undefined;
  identityPattern?: string | undefined;
}
interface Subjects extends Identities {
  subject?: string | undefined;
  subjectPattern?: string | undefined;
}

export function hasExactlyOneIdentity(s: Identities): boolean {
  return (s.identity === undefined) !== (s.identityPattern === undefined);
}

export function hasNotBothSubjects(s: Subjects): boolean {
  return s.subject === undefined || s.subjectPattern === undefined;
}

export function hasNotBothIdentities(s: Identities): boolean {
  return s.identity === undefined || s.identityPattern === undefined;
}

export function namesWhomItTrusts(s: Subjects): boolean {
  return [s.subject, s.subjectPattern, s.identity, s.identityPattern].some((v) => v !== undefined);
}

interface RuleKinds {
  signers?: readonly string[] | undefined;
  lock?: string | undefined;
  bundle?: string | undefined;
}

/** A rule is decided by signatures or by a lock, never both; a manifest bundle's name means signatures. */
export function hasSignersOrLock(r: RuleKinds): boolean {
  return (r.signers === undefined) !== (r.lock === undefined) && (r.bundle === undefined || r.signers !== undefined);
}
