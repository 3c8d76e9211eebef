import { existsSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { globFolder } from './globs.js';
import type { Policy } from './schema.js';

/**
 * Rules that protect nothing for a reason one `stat` can see, with what to
 * write instead: a fixed folder (`plugins` for `plugins/**`) that does not
 * exist, most often a typo (`plugin/**`); or a glob without `*` that names
 * a folder (`plugins`), which matches that folder's own path and no file in
 * it. No walk: this runs at every guarded start-up.
 */
export function ruleFolderWarnings(policy: Policy, baseDir: string): string[] {
  const warnings: string[] = [];
  for (const rule of policy.rules) {
    const globs = typeof rule.files === 'string' ? [rule.files] : rule.files;
    for (const folder of new Set(globs.map(globFolder))) {
      if (folder !== '' && !existsSync(join(baseDir, folder))) {
        warnings.push(`rule "${rule.name}": folder ${folder}/ does not exist in ${baseDir}, so the rule protects nothing there (a typo? trustload policy check counts what each rule protects)`);
      }
    }
    for (const glob of globs) {
      if (namesFolder(glob, baseDir)) warnings.push(folderGlobProblem(rule.name, glob));
    }
  }
  return warnings;
}

/** A glob with no wildcard that names an existing folder. */
export function namesFolder(glob: string, baseDir: string): boolean {
  if (glob.includes('*')) return false;
  try {
    return statSync(join(baseDir, glob)).isDirectory();
  } catch {
    return false; // only a warning is at stake: what the rule protects is decided at each load
  }
}

export function folderGlobProblem(ruleName: string, glob: string): string {
  const folder = glob.replace(/\/+$/, '');
  return `rule "${ruleName}": "${glob}" names a folder, and a glob matches files: it protects nothing in ${folder}/; write "${folder}/**" to protect everything in it`;
}
