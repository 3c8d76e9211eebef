import { describeIssue } from './issues.js';
import { PolicySchema, type Policy } from './schema.js';

/**
 * The zod side of policy validation, loaded (src/guard/load-verifier.ts)
 * only when the validator generated from the schema did not accept a policy:
 * zod either accepts it after all (what it strips or converts, the generated
 * code leaves to it) or says which field is wrong and why.
 */
export function explainPolicy(input: unknown): { policy: Policy } | { problem: string } {
  const parsed = PolicySchema.safeParse(input);
  return parsed.success ? { policy: parsed.data } : { problem: describeIssue(parsed.error.issues, input, PolicySchema) };
}
