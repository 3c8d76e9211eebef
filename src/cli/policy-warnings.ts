import { compileGlob, globFolder } from '../policy/globs.js';
import type { Policy } from '../policy/schema.js';

// What Node can load as code from a folder, by the name that decides it, as `trustload policy check` lists them.
const CODE_FILES: Array<[label: string, name: string]> = [
  ['.js', 'x.js'],
  ['.cjs', 'x.cjs'],
  ['.mjs', 'x.mjs'],
  ['.json', 'x.json'],
  ['.node', 'x.node'],
  ['.wasm', 'x.wasm'],
  ['.ts', 'x.ts'],
  ['.mts', 'x.mts'],
  ['.cts', 'x.cts'],
  ['package.json', 'package.json'],
  ['extensionless', 'x'],
];

/**
 * Rules whose globs leave files in their folder that Node can load as code.
 * The guard judges such a module by the folder's rule anyway; `trustload
 * verify` and readVerified go by the glob, and a glob with no folder
 * (`**\/*.md`) protects only what it names. Warnings, not errors.
 */
export function ruleWarnings(policy: Policy): string[] {
  const warnings: string[] = [];
  for (const rule of policy.rules) {
    const globs = typeof rule.files === 'string' ? [rule.files] : rule.files;
    const patterns = globs.map(compileGlob);
    const named = (path: string) => patterns.some((pattern) => pattern.test(path));
    for (const folder of new Set(globs.map(globFolder))) {
      const prefix = folder === '' ? '' : `${folder}/`;
      const left = CODE_FILES.filter(([, name]) => !named(`${prefix}${name}`) || !named(`${prefix}d/${name}`)).map(([label]) => label);
      if (left.length === 0) continue;
      const quoted = globs.filter((glob) => globFolder(glob) === folder).map((glob) => `"${glob}"`).join(', ');
      warnings.push(
        folder === ''
          ? `rule "${rule.name}": ${quoted} names files but no folder: code beside them (${left.join(', ')} files) is not protected by this rule; write "FOLDER/**" for the folder that holds them`
          : `rule "${rule.name}": ${quoted} leaves ${left.join(', ')} files in ${folder}/ unnamed; Node can load them as code, and the guard then judges them by this rule, but trustload verify and readVerified do not; write "${folder}/**" instead`,
      );
    }
  }
  return warnings;
}
