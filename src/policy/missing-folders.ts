import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { globFolder } from './globs.js';
import type { Policy } from './schema.js';

/**
 * Rules whose fixed folder (`plugins` for `plugins/**`) does not exist: most
 * often a typo (`plugin/**`), and such a rule protects nothing. One check
 * per folder, no walk: this runs at every guarded start-up.
 */
export function missingRuleFolders(policy: Policy, baseDir: string): string[] {
  const warnings: string[] = [];
  for (const rule of policy.rules) {
    const globs = typeof rule.files === 'string' ? [rule.files] : rule.files;
    for (const folder of new Set(globs.map(globFolder))) {
      if (folder !== '' && !existsSync(join(baseDir, folder))) {
        warnings.push(`rule "${rule.name}": folder ${folder}/ does not exist in ${baseDir}, so the rule protects nothing there (a typo? trustload policy check counts what each rule protects)`);
      }
    }
  }
  return warnings;
}
