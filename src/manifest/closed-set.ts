import { lstatSync, readdirSync, realpathSync, statSync } from 'node:fs';
import { join, relative, sep } from 'node:path';
import { ErrorCodes, TrustloadError } from '../errors.js';
import { isIgnored } from './names.js';
import type { ManifestContent } from './types.js';

export type EntryType = 'file' | 'folder' | 'symlink' | 'other';

/** A directory's contents by POSIX relative name, from directory reads alone (no stat, no hashing). */
export type Listing = ReadonlyMap<string, EntryType>;

/** How a directory's contents compare with its manifest. Names are sorted POSIX relative paths. */
export interface ClosedSet {
  /** Present but not listed (and not ignored). */
  extra: string[];
  /** Listed but absent, or present as something that is not a file. */
  missing: string[];
  /** Symbolic links, which `allow_symlinks: false` forbids anywhere below the manifest. */
  symlinks: string[];
  /** Neither file, folder nor link (FIFOs, sockets, devices). */
  other: string[];
  /** Under a recorded ignore path: exempt from the extra-file check, never loadable. */
  ignored: string[];
}

/**
 * Lists everything below `dir` except the manifest bundle itself. Ignored
 * folders are not entered: nothing in them is ever loadable.
 */
function listDirectory(dir: string, bundleName: string, ignorePaths: readonly string[]): Listing {
  const listing = new Map<string, EntryType>();
  const walk = (folder: string, prefix: string): void => {
    for (const dirent of readdirSync(folder, { withFileTypes: true })) {
      const name = prefix + dirent.name;
      if (name === bundleName) continue;
      const type: EntryType = dirent.isFile() ? 'file' : dirent.isDirectory() ? 'folder' : dirent.isSymbolicLink() ? 'symlink' : 'other';
      listing.set(name, type);
      if (type === 'folder' && !isIgnored(name, ignorePaths)) walk(join(folder, dirent.name), `${name}/`);
    }
  };
  try {
    walk(dir, '');
  } catch (err) {
    throw new TrustloadError(ErrorCodes.MISSING_FILE, `cannot list the signed directory: ${(err as Error).message}`, { path: dir, cause: err });
  }
  return listing;
}

/** Compares a listing with the manifest: a pure function of the two. */
function compareClosedSet(manifest: Pick<ManifestContent, 'entries' | 'ignorePaths'>, listing: Listing): ClosedSet {
  const result: ClosedSet = { extra: [], missing: [], symlinks: [], other: [], ignored: [] };
  for (const [name, type] of listing) {
    if (type === 'folder') continue;
    if (isIgnored(name, manifest.ignorePaths)) result.ignored.push(name);
    else if (type === 'symlink') result.symlinks.push(name);
    else if (type === 'other') result.other.push(name);
    else if (!manifest.entries.has(name)) result.extra.push(name);
  }
  for (const name of manifest.entries.keys()) {
    const type = listing.get(name);
    if (type === undefined || type === 'folder') result.missing.push(name);
  }
  for (const list of Object.values(result)) list.sort();
  return result;
}

/**
 * Lists `dir`, compares it with the verified manifest and refuses the
 * directory for anything the manifest does not account for. Returns, for
 * `allow_symlinks: true`, the listed names that are links (each checked to
 * stay inside the directory and lead to a file).
 */
export function requireClosedSet(dir: string, bundleName: string, manifest: ManifestContent): ClosedSet {
  const set = compareClosedSet(manifest, listDirectory(dir, bundleName, manifest.ignorePaths));
  if (manifest.method === 'shards') set.extra = set.extra.filter((name) => !isEmptyFile(join(dir, name)));
  const fail = (code: typeof ErrorCodes.NOT_IN_MANIFEST | typeof ErrorCodes.MISSING_FILE, message: string, names: string[]) => {
    throw new TrustloadError(code, `${message}: ${preview(names)}`, { path: join(dir, names[0]!) });
  };
  if (set.other.length > 0) fail(ErrorCodes.NOT_IN_MANIFEST, 'the signed directory holds something that is neither a file nor a folder', set.other);
  if (set.symlinks.length > 0) {
    if (!manifest.allowSymlinks) fail(ErrorCodes.NOT_IN_MANIFEST, 'the manifest does not allow symbolic links (allow_symlinks: false), and the directory holds one', set.symlinks);
    for (const name of set.symlinks) requireLinkInside(dir, name, manifest);
  }
  if (set.extra.length > 0 && set.missing.length > 0) {
    throw new TrustloadError(
      ErrorCodes.NOT_IN_MANIFEST,
      `files differ from the manifest (renamed?): not listed: ${preview(set.extra)}; listed but missing: ${preview(set.missing)}`,
      { path: join(dir, set.extra[0]!) },
    );
  }
  if (set.extra.length > 0) fail(ErrorCodes.NOT_IN_MANIFEST, extraMessage(set.extra, manifest), set.extra);
  if (set.missing.length > 0) fail(ErrorCodes.MISSING_FILE, 'a file the manifest lists is missing from the signed directory', set.missing);
  return set;
}

function extraMessage(extra: string[], manifest: ManifestContent): string {
  if (extra.some((name) => name.split('/').includes('node_modules'))) {
    return 'a package was added under node_modules/ after the directory was signed (sign the installed tree, or pin the dependency with its own rule outside the signed directory), and it is not in the manifest';
  }
  if (extra.some((name) => name.endsWith('.sigstore.json') || manifest.entries.has(name.replace(/\.sigstore\.json$/, '')))) {
    return 'a file is not in the manifest (below a manifest bundle, sibling bundles do not count)';
  }
  return 'a file is not in the manifest of its signed directory';
}

function requireLinkInside(dir: string, name: string, manifest: ManifestContent): void {
  const path = join(dir, name);
  let target: string;
  try {
    target = realpathSync.native(path);
  } catch (err) {
    throw new TrustloadError(ErrorCodes.MISSING_FILE, `the link ${name} leads nowhere`, { path, cause: err });
  }
  const rel = relative(dir, target);
  if (rel === '' || rel === '..' || rel.startsWith(`..${sep}`) || rel.startsWith(sep)) {
    throw new TrustloadError(ErrorCodes.UNSUPPORTED_LOAD, `the link ${name} leads to ${target}, outside the signed directory`, { path });
  }
  if (!statSync(target).isFile()) {
    throw new TrustloadError(ErrorCodes.UNSUPPORTED_LOAD, `the link ${name} leads to something that is not a file (links to folders are not supported)`, { path });
  }
  if (!manifest.entries.has(name)) {
    throw new TrustloadError(ErrorCodes.NOT_IN_MANIFEST, `a link is not in the manifest of its signed directory: ${name}`, { path });
  }
}

/** `shards` cannot list an empty file, so one is no extra (and, being unlisted, never loadable). */
function isEmptyFile(path: string): boolean {
  try {
    const stat = lstatSync(path);
    return stat.isFile() && stat.size === 0;
  } catch {
    return false; // gone since the listing: still counted as extra, which refuses
  }
}

function preview(names: string[]): string {
  return names.length <= 5 ? names.join(', ') : `${names.slice(0, 5).join(', ')} and ${names.length - 5} more`;
}
