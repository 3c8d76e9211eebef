import { resolve } from 'node:path';
import { ErrorCodes, TrustloadError } from '../errors.js';
import type { LoadedPolicy } from '../policy/load-policy.js';
import type { Rules } from '../guard/rules.js';

/**
 * Every `tools` baseline must be a file some rule protects: an unsigned
 * baseline would vouch for whatever it says. Checked at start by path (its
 * bytes and signer are checked on every verifyToolDescriptors call).
 */
export function checkToolBaselines(loaded: LoadedPolicy, rules: Rules): void {
  for (const [server, { baseline }] of Object.entries(loaded.policy.tools ?? {})) {
    const path = resolve(loaded.baseDir, baseline);
    if (rules.ruleFor(path) === undefined) {
      throw new TrustloadError(ErrorCodes.POLICY, `${loaded.file ?? 'policy object'}: tools.${server}.baseline: no rule protects ${path}: add a rule whose "files" match it and whose signers sign it`);
    }
  }
}
