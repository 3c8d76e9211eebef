import { copyFileSync, lstatSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, posix, resolve } from 'node:path';
import { asTrustloadError, ErrorCodes, TrustloadError } from '../errors.js';
import { readPackedManifest, type PackedManifest } from './package-json.js';

/**
 * The files `npm pack` would publish from `dir`: sorted relative POSIX
 * paths, decided by npm's own npm-packlist. (A manifest bundle already in
 * `dir` is listed like any other file: the signer leaves it out.)
 */
export async function packageFiles(dir: string): Promise<string[]> {
  const root = resolve(dir);
  return list(root, readPackedManifest(root));
}

/**
 * Whether a file named `name` (relative to `dir`), were it there, would be
 * published by `npm pack`. The signer asks before the manifest bundle exists,
 * so the answer comes from npm-packlist itself run over a skeleton of the
 * package: the real package.json (normalized against the real folder), an
 * empty file at `name`, the folders above it, and the .npmignore and
 * .gitignore of each of those folders. These are all that can decide one
 * path: packlist's rules for `name` come from package.json ("files" globs
 * expanded against the folder, "main", "bin"...), the ignore files of the
 * folders it walks down through, and whether those folders are real
 * folders. Nothing is written into `dir`, and nothing the size of the
 * package is copied.
 */
export async function wouldPublish(dir: string, name: string): Promise<boolean> {
  const root = resolve(dir);
  const segments = relativeSegments(name);
  const manifest = readPackedManifest(root);
  const skeleton = mkdtempSync(join(tmpdir(), 'trustload-pack-'));
  try {
    copyFileSync(join(root, 'package.json'), join(skeleton, 'package.json'));
    for (let depth = 0; depth < segments.length; depth++) {
      const folder = segments.slice(0, depth);
      if (depth > 0) {
        // packlist never walks into a link or a file: nothing below one is published.
        const kind = kindOf(join(root, ...folder));
        if (kind !== 'folder' && kind !== 'missing') return false;
        mkdirSync(join(skeleton, ...folder));
      }
      for (const ignoreFile of ['.npmignore', '.gitignore']) {
        const kind = kindOf(join(root, ...folder, ignoreFile));
        if (kind === 'file') copyFileSync(join(root, ...folder, ignoreFile), join(skeleton, ...folder, ignoreFile));
        else if (kind !== 'missing') return false; // packlist fails on a folder where it expects an ignore file
      }
    }
    if (!['missing', 'file'].includes(kindOf(join(root, ...segments)))) return false;
    writeFileSync(join(skeleton, ...segments), '', { flag: 'wx' });
    return (await list(skeleton, manifest)).includes(segments.join('/'));
  } finally {
    rmSync(skeleton, { recursive: true, force: true });
  }
}

async function list(root: string, manifest: PackedManifest): Promise<string[]> {
  // Loaded on use: npm-packlist and glob are large, and only signing needs them.
  const { default: packlist } = await import('npm-packlist');
  // The smallest tree packlist reads where npm passes an Arborist node:
  // the root package with no workspaces and no dependency edges (the
  // manifest reader refuses bundleDependencies, the only reason to follow them).
  const tree = { path: root, package: manifest, isProjectRoot: true, edgesOut: new Map(), workspaces: null };
  try {
    const files = await packlist(tree, { path: root });
    return [...files].map((file) => file.replaceAll('\\', '/')).sort();
  } catch (err) {
    throw asTrustloadError(err, ErrorCodes.UNSUPPORTED_LOAD, `cannot list the files npm would publish from ${root}`);
  }
}

function kindOf(path: string): 'missing' | 'file' | 'folder' | 'other' {
  try {
    const stat = lstatSync(path);
    return stat.isFile() ? 'file' : stat.isDirectory() ? 'folder' : 'other';
  } catch (err) {
    const errno = (err as NodeJS.ErrnoException).code;
    if (errno === 'ENOENT' || errno === 'ENOTDIR') return 'missing';
    throw asTrustloadError(err, ErrorCodes.UNSUPPORTED_LOAD, `cannot read ${path}`);
  }
}

/** `name` as path segments inside the package: relative, POSIX, and never above or at its root. */
function relativeSegments(name: string): string[] {
  const segments = name.split('/');
  if (name === '' || posix.isAbsolute(name) || name.includes('\\') || segments.some((s) => s === '' || s === '.' || s === '..')) {
    throw new TrustloadError(ErrorCodes.UNSUPPORTED_LOAD, `"${name}" is not a relative path inside the package (POSIX, no "." or ".." segments)`);
  }
  return segments;
}
