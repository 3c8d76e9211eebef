import { readdirSync, realpathSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { globFolder } from '../policy/globs.js';
import type { Policy } from '../policy/schema.js';
import { isWithin } from '../paths/examine.js';

/** Folders never walked below a rule's folder: dependencies and version control (a rule may still name one as its folder). */
const SKIPPED_DIRS = new Set(['node_modules', '.git']);

/**
 * The folders that hold every file the policy's globs can match: each glob's
 * fixed folder (`plugins` for `plugins/**`, `node_modules/x` for
 * `node_modules/x/*.js`), absolute, without those inside another one.
 */
export function ruleFolders(policy: Policy, baseDir: string): string[] {
  const folders = [...new Set(policy.rules.flatMap((rule) => (typeof rule.files === 'string' ? [rule.files] : rule.files).map((glob) => join(baseDir, globFolder(glob)))))];
  // One inside another is walked with it, unless the walk skips the way there (plugins/node_modules/x under plugins).
  return folders
    .filter((dir) => !folders.some((other) => other !== dir && isWithin(other, dir) && !dir.slice(other.length).split('/').some((s) => SKIPPED_DIRS.has(s))))
    .sort();
}

/**
 * A file, or every file below a directory (node_modules and .git below it are
 * not walked); bundles are signatures, not resources, and are skipped. A
 * directory for which `isSigned` holds is yielded whole (by its real path),
 * not walked. A path that cannot be read is yielded as is, for the caller
 * to report.
 */
export function* filesUnder(path: string, isSigned: (dir: string) => boolean = () => false): Generator<string | { directory: string }> {
  let isDirectory: boolean;
  try {
    isDirectory = statSync(path).isDirectory();
  } catch {
    yield path;
    return;
  }
  if (!isDirectory) {
    yield path;
    return;
  }
  const real = realpathSync(path);
  if (isSigned(real)) {
    yield { directory: real };
    return;
  }
  for (const entry of readdirSync(path, { withFileTypes: true }).sort((a, b) => a.name.localeCompare(b.name))) {
    const child = join(path, entry.name);
    if (entry.isDirectory()) {
      if (!SKIPPED_DIRS.has(entry.name)) yield* filesUnder(child, isSigned);
    } else if (!entry.name.endsWith('.sigstore.json')) {
      yield child;
    }
  }
}
