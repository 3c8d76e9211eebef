import { ErrorCodes, TrustloadError } from '../errors.js';

/**
 * Checks a path the manifest names (a resource or an ignore path): POSIX,
 * relative, no empty, `.` or `..` segment, no NUL. The manifest decides which
 * files belong to a directory, so a name that could leave it or alias another
 * spelling of the same file is refused, not normalised.
 */
export function checkManifestPath(name: string, what: string): string {
  const problem =
    name === '' ? 'is empty'
    : name.startsWith('/') ? 'is absolute'
    : name.includes('\0') ? 'contains a NUL byte'
    : name.split('/').some((s) => s === '..') ? 'contains ".."'
    : name.split('/').some((s) => s === '' || s === '.') ? 'is not a normal relative path (empty or "." segment)'
    : undefined;
  if (problem !== undefined) throw new TrustloadError(ErrorCodes.BAD_BUNDLE, `the manifest's ${what} ${JSON.stringify(name)} ${problem}`);
  return name;
}

/** model_signing's rule: an ignore path covers itself and, for a folder, everything below it (whole segments). */
export function isIgnored(name: string, ignorePaths: readonly string[]): boolean {
  return ignorePaths.some((p) => name === p || name.startsWith(`${p}/`));
}
