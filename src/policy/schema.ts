import * as z from 'zod/mini';
import { CLAIM_NAMES } from '../verify/claims.js';
import { hasExactlyOneIdentity, hasNotBothIdentities, hasNotBothSubjects, hasSignersOrLock, isAbsoluteDir, isIdentityPattern, namesWhomItTrusts } from './refinements.js';

/**
 * The policy file, version 1 (PRODUCT.md). This schema is the only
 * definition of its shape: the types below are inferred from it.
 * zod/mini rather than full zod: it costs a fifth of the start-up time.
 * A valid policy never loads zod: the build generates a plain validator
 * from this schema (scripts/policy-validator.mjs) and zod runs only to
 * explain a failure; so refinements are named functions (refinements.ts),
 * and the schema uses only what the generator implements (it fails the
 * build otherwise).
 */

const name = z.string().check(z.minLength(1), z.regex(/^[A-Za-z0-9][A-Za-z0-9._-]*$/, 'must be letters, digits, ".", "_" or "-"'));
const sha256Hex = z.string().check(z.regex(/^[0-9a-f]{64}$/, 'must be 64 lowercase hex digits (a SHA-256)'));
const trustedFile = z.strictObject({ path: z.string().check(z.minLength(1)), sha256: sha256Hex });

const rootRef = z.strictObject({ path: z.string().check(z.minLength(1)), sha256: sha256Hex });
const keyRef = z.union([trustedFile, z.strictObject({ pem: z.string().check(z.minLength(1)) })]);

const rootNames = z.array(name).check(z.minLength(1));

// A lock (src/lock/): pinned by digest like every trusted file, or verified by its sibling bundle (a lock signed in CI).
const lockRef = z.union([trustedFile, z.strictObject({ path: z.string().check(z.minLength(1)), signers: z.array(name).check(z.minLength(1)) })]);

const identityPattern = z.string().check(z.refine(isIdentityPattern, 'must be a valid regular expression that starts with ^ and ends with $'));

export const KeylessSignerSchema = z
  .strictObject({
    roots: z.optional(rootNames),
    issuer: z.string().check(z.minLength(1)),
    identity: z.optional(z.string().check(z.minLength(1))),
    identityPattern: z.optional(identityPattern),
    claims: z.optional(z.partialRecord(z.enum(CLAIM_NAMES), z.string())),
  })
  .check(
    z.refine(hasExactlyOneIdentity, {
      message: 'needs exactly one of "identity" or "identityPattern"',
    }),
  );

export const CaSignerSchema = z
  .strictObject({
    ca: name,
    subject: z.optional(z.string().check(z.minLength(1))),
    subjectPattern: z.optional(identityPattern),
    identity: z.optional(z.string().check(z.minLength(1))),
    identityPattern: z.optional(identityPattern),
    roots: z.optional(rootNames),
    transparencyLog: z.optional(z.boolean()),
  })
  .check(
    z.refine(hasNotBothSubjects, { message: 'takes "subject" or "subjectPattern", not both' }),
    z.refine(hasNotBothIdentities, { message: 'takes "identity" or "identityPattern", not both' }),
    z.refine(namesWhomItTrusts, {
      message: 'needs "subject" or "subjectPattern", and/or "identity" or "identityPattern": a CA signer must say whom it trusts',
    }),
  );

export const KeySignerSchema = z.strictObject({
  key: name,
  transparencyLog: z.optional(z.boolean()),
  roots: z.optional(rootNames),
});

const glob = z.string().check(z.minLength(1));

export const RuleSchema = z
  .strictObject({
    name,
    files: z.union([glob, z.array(glob).check(z.minLength(1))]),
    signers: z.optional(z.array(name).check(z.minLength(1))),
    bundle: z.optional(z.string().check(z.minLength(1))),
    lock: z.optional(name),
    // fs.readFile of a matching file returns only verified bytes; other opens are refused (src/hooks/content-reads.ts).
    content: z.optional(z.boolean()),
    // `import x from './a.md'` gives the verified text as the default export.
    import: z.optional(z.enum(['text'])),
  })
  .check(z.refine(hasSignersOrLock, { message: 'needs exactly one of "signers" or "lock" ("bundle" goes with "signers")' }));

export const PolicySchema = z.strictObject({
  // Where an editor finds the policy's JSON Schema (schema/policy.schema.json in the package); ignored here.
  $schema: z.optional(z.string()),
  version: z.literal(1),
  // Where relative paths and globs are anchored when not at the policy file's folder: how a
  // policy given to register() as an object reaches children as a pinned file.
  baseDir: z.optional(z.string().check(z.refine(isAbsoluteDir, 'must be an absolute path'))),
  mode: z.optional(z.enum(['enforce', 'permissive'])),
  allowPermissive: z.optional(z.boolean()),
  lockdown: z.optional(z.boolean()),
  // Watch the folders of verified files and report a later change (src/watch/): detection only.
  watch: z.optional(z.boolean()),
  trust: z.optional(
    z.strictObject({
      roots: z.optional(z.record(name, rootRef)),
      keys: z.optional(z.record(name, keyRef)),
      cas: z.optional(z.record(name, trustedFile)),
      locks: z.optional(z.record(name, lockRef)),
    }),
  ),
  signers: z.record(name, z.union([KeySignerSchema, CaSignerSchema, KeylessSignerSchema])),
  rules: z.array(RuleSchema),
  unmatched: z.optional(z.enum(['allow', 'deny'])),
  // MCP servers by the host's own name for each, with the signed baseline of their tool descriptors.
  tools: z.optional(z.record(name, z.strictObject({ baseline: z.string().check(z.minLength(1)) }))),
  // Every decision appended to this file (a local file system), relative to the policy's folder.
  audit: z.optional(z.strictObject({ path: z.string().check(z.minLength(1)) })),
});

export type Policy = z.infer<typeof PolicySchema>;
export type PolicySigner = Policy['signers'][string];
export type PolicyKeylessSigner = z.infer<typeof KeylessSignerSchema>;
export type PolicyKeySigner = z.infer<typeof KeySignerSchema>;
export type PolicyCaSigner = z.infer<typeof CaSignerSchema>;
export type PolicyTrust = NonNullable<Policy['trust']>;
export type PolicyLock = NonNullable<PolicyTrust['locks']>[string];
