import { existsSync, lstatSync, readdirSync, realpathSync } from 'node:fs';
import { join, relative, sep } from 'node:path';
import { ErrorCodes, TrustloadError } from '../errors.js';
import { readArtifactFile } from '../io/read.js';
import { sha256Hex } from '../io/sha256.js';
import type { LockEntry } from './lock-file.js';
import { packageDirOf, packageLabel, packageOf, type NpmPackage } from './package-of.js';

/** What a new lock holds, and how it differs from the previous one. */
export interface LockUpdate {
  entries: Map<string, LockEntry>;
  added: LockEntry[];
  removed: LockEntry[];
  changed: LockEntry[];
}

/**
 * Builds entries, relative to the policy folder, from the real paths of
 * files inside it and their digests, each with its npm package. A file Node
 * loads makes it read the package.json files above it through no hook, and
 * the guard checks those too: they are added with it, hashed now.
 */
export function entriesFrom(files: ReadonlyMap<string, string>, baseDir: string): Map<string, LockEntry> {
  const packages = new Map<string, NpmPackage | undefined>();
  const entries = new Map<string, LockEntry>();
  const add = (rel: string, sha256: string): void => {
    const pkg = packageOf(baseDir, rel, packages);
    entries.set(rel, pkg === undefined ? { path: rel, sha256 } : { path: rel, sha256, package: pkg.name, version: pkg.version });
  };
  for (const [path, digest] of files) {
    const rel = inside(baseDir, path);
    if (rel === undefined) throw new TrustloadError(ErrorCodes.POLICY, `${path} is outside the policy folder ${baseDir}: a lock lists files inside it only`, { path });
    add(rel, digest);
    const segments = rel.split('/');
    for (let n = segments.length - 1; n >= 0; n--) {
      const manifest = [...segments.slice(0, n), 'package.json'].join('/');
      if (!entries.has(manifest) && existsSync(join(baseDir, manifest))) add(manifest, sha256Hex(readArtifactFile(join(baseDir, manifest))));
    }
  }
  return entries;
}

/** The files at `paths` (folders: every regular file below them), by real path, with their digests. */
export function filesAt(paths: readonly string[], baseDir: string): Map<string, string> {
  const found = new Map<string, string>();
  const visit = (path: string): void => {
    const stat = lstatSync(path);
    if (stat.isDirectory()) {
      for (const name of readdirSync(path).sort()) visit(join(path, name));
    } else if (stat.isFile()) {
      found.set(path, sha256Hex(readArtifactFile(path)));
    }
    // A link is not followed: what it leads to is listed where it lies, by its real path, as the guard looks it up.
  };
  for (const given of paths) {
    let real: string;
    try {
      real = realpathSync(given);
    } catch (err) {
      throw new TrustloadError(ErrorCodes.MISSING_FILE, `${given} cannot be added: ${(err as Error).message}`, { path: given, cause: err });
    }
    if (real !== baseDir && inside(baseDir, real) === undefined) {
      throw new TrustloadError(ErrorCodes.POLICY, `${given} is outside the policy folder ${baseDir}: a lock lists files inside it only`, { path: given });
    }
    visit(real);
  }
  return found;
}

/** The difference between two locks. */
export function compare(previous: ReadonlyMap<string, LockEntry>, next: ReadonlyMap<string, LockEntry>): Pick<LockUpdate, 'added' | 'removed' | 'changed'> {
  const added: LockEntry[] = [];
  const changed: LockEntry[] = [];
  for (const [path, entry] of next) {
    const before = previous.get(path);
    if (before === undefined) added.push(entry);
    else if (before.sha256 !== entry.sha256) changed.push(entry);
  }
  const removed = [...previous.values()].filter(({ path }) => !next.has(path));
  return { added, removed, changed };
}

/**
 * Entries grouped for a reader, one line each: "ms 2.1.3 (2 files in
 * node_modules/ms): index.js, package.json" for each package, then the
 * application's own files by path. Every file is named: a count alone hides
 * a file that should not be there.
 */
export function byPackage(entries: readonly LockEntry[]): string[] {
  const packages = new Map<string, { label: string; files: string[] }>();
  const own: string[] = [];
  for (const entry of entries) {
    const dir = entry.package === undefined ? undefined : packageDirOf(entry.path);
    if (dir === undefined) {
      own.push(entry.path);
      continue;
    }
    const group = packages.get(dir) ?? { label: packageLabel({ name: entry.package!, version: entry.version! }), files: [] };
    group.files.push(entry.path.slice(dir.length + 1));
    packages.set(dir, group);
  }
  const lines = [...packages].map(([dir, { label, files }]) => ({
    label,
    line: `${label} (${files.length} file${files.length === 1 ? '' : 's'} in ${dir}): ${files.sort().join(', ')}`,
  }));
  lines.sort((a, b) => (a.label < b.label ? -1 : a.label > b.label ? 1 : a.line < b.line ? -1 : 1));
  return [...lines.map(({ line }) => line), ...own.sort()];
}

function inside(baseDir: string, path: string): string | undefined {
  if (!path.startsWith(baseDir + sep)) return undefined;
  const rel = relative(baseDir, path);
  return sep === '/' ? rel : rel.split(sep).join('/');
}
