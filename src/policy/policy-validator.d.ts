// The module scripts/build.mjs generates from schema.ts (scripts/policy-validator.mjs).

/** True only for a policy the schema accepts unchanged; false sends it to zod (explain-policy.ts). */
export function isValidPolicy(value: unknown): boolean;
