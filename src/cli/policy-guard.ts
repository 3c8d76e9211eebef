import { loadPolicyFile, policyPathFromEnv, type LoadedPolicy } from '../policy/load-policy.js';
import { Guard } from '../guard/guard.js';
import { resolve } from 'node:path';

/** The policy named by --policy, else the one a guarded process in this folder would use. */
export function loadCliPolicy(policyFlag: string | undefined): LoadedPolicy {
  const path = policyFlag !== undefined ? resolve(policyFlag) : policyPathFromEnv();
  return loadPolicyFile(path, process.env.TRUSTLOAD_POLICY_SHA256 || undefined);
}

/** A guard that decides exactly as the loader would, always in enforce mode: the CLI reports, it never lets through. */
export function cliGuard(policyFlag: string | undefined): Guard {
  const loaded = loadCliPolicy(policyFlag);
  return Guard.forPolicy(loaded, 'enforce');
}
