import { lstatSync, readdirSync, type Dirent, type Stats } from 'node:fs';
import { join } from 'node:path';
import { ErrorCodes, TrustloadError } from '../errors.js';
import { checkNameToSign, isIgnored } from './names.js';

/**
 * The regular files below `root` to sign, by relative POSIX name, as
 * model_signing walks a model: ignored paths are skipped before anything
 * else (their folders not entered), and any other entry that is neither a
 * file nor a folder (a link, a FIFO, a socket, a device) refuses the
 * directory, allow_symlinks being false.
 */
export function listFilesToSign(root: string, ignorePaths: readonly string[]): string[] {
  const files: string[] = [];
  const walk = (folder: string, prefix: string): void => {
    for (const dirent of readFolder(folder)) {
      const name = prefix + dirent.name;
      if (isIgnored(name, ignorePaths)) continue;
      if (dirent.isDirectory()) walk(join(folder, dirent.name), `${name}/`);
      else if (dirent.isFile()) files.push(name);
      else throw notAFile(join(root, name), dirent.isSymbolicLink());
    }
  };
  walk(root, '');
  return files;
}

/**
 * Checks an exact file list (`npm pack`'s, for a package): each name a
 * relative POSIX path to a regular file reached through real folders, no
 * name twice. Names under an ignored path are left out, as model_signing
 * leaves them out of its `files_to_hash`; nothing else in the directory is
 * looked at.
 */
export function checkFilesToSign(root: string, files: readonly string[], ignorePaths: readonly string[]): string[] {
  const seen = new Set<string>();
  const folders = new Set<string>();
  const checked: string[] = [];
  for (const name of files) {
    checkNameToSign(name, 'file to sign');
    if (seen.has(name)) throw new TrustloadError(ErrorCodes.POLICY, `the file ${JSON.stringify(name)} is given twice`, { path: join(root, name) });
    seen.add(name);
    if (isIgnored(name, ignorePaths)) continue;
    const segments = name.split('/');
    // A link on the way would sign a file outside the directory under this name.
    for (let i = 1; i < segments.length; i++) {
      const folder = segments.slice(0, i).join('/');
      if (folders.has(folder)) continue;
      const stat = statOf(join(root, folder));
      if (!stat.isDirectory()) throw notAFile(join(root, folder), stat.isSymbolicLink(), 'folder');
      folders.add(folder);
    }
    const stat = statOf(join(root, name));
    if (!stat.isFile()) throw notAFile(join(root, name), stat.isSymbolicLink());
    checked.push(name);
  }
  return checked;
}

function readFolder(folder: string): Dirent[] {
  try {
    return readdirSync(folder, { withFileTypes: true });
  } catch (err) {
    throw fsError('cannot list a folder to sign', folder, err);
  }
}

function statOf(path: string): Stats {
  try {
    return lstatSync(path);
  } catch (err) {
    throw fsError('cannot examine a file to sign', path, err);
  }
}

function fsError(message: string, path: string, err: unknown): TrustloadError {
  const errno = (err as NodeJS.ErrnoException).code;
  const missing = errno === 'ENOENT' || errno === 'ENOTDIR';
  return new TrustloadError(missing ? ErrorCodes.MISSING_FILE : ErrorCodes.UNSUPPORTED_LOAD, `${message}: ${(err as Error).message}`, { path, cause: err });
}

function notAFile(path: string, link: boolean, kind = 'file'): TrustloadError {
  return new TrustloadError(
    ErrorCodes.UNSUPPORTED_LOAD,
    link
      ? `a symbolic link is in the directory to sign (a manifest signs allow_symlinks: false): replace it with the ${kind} itself, or ignore it`
      : `something that is neither a file nor a folder (a FIFO, a socket, a device) is in the directory to sign: remove it, or ignore it`,
    { path },
  );
}
