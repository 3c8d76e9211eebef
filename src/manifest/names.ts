import { ErrorCodes, TrustloadError } from '../errors.js';

/**
 * Checks a path the manifest names (a resource or an ignore path): POSIX,
 * relative, no empty, `.` or `..` segment, no NUL. The manifest decides which
 * files belong to a directory, so a name that could leave it or alias another
 * spelling of the same file is refused, not normalised.
 */
export function checkManifestPath(name: string, what: string): string {
  const problem = pathProblem(name);
  if (problem !== undefined) throw new TrustloadError(ErrorCodes.BAD_BUNDLE, `the manifest's ${what} ${JSON.stringify(name)} ${problem}`);
  return name;
}

/** The same check on a name given to be signed (a caller's mistake, not a bad manifest), so that the manifest written passes it. */
export function checkNameToSign(name: string, what: string): string {
  const problem = pathProblem(name);
  if (problem !== undefined) throw new TrustloadError(ErrorCodes.POLICY, `the ${what} ${JSON.stringify(name)} ${problem}: give a relative POSIX path below the directory`);
  return name;
}

function pathProblem(name: string): string | undefined {
  return name === '' ? 'is empty'
    : name.startsWith('/') ? 'is absolute'
    : name.includes('\0') ? 'contains a NUL byte'
    : name.split('/').some((s) => s === '..') ? 'contains ".."'
    : name.split('/').some((s) => s === '' || s === '.') ? 'is not a normal relative path (empty or "." segment)'
    : undefined;
}

/** model_signing's rule: an ignore path covers itself and, for a folder, everything below it (whole segments). */
export function isIgnored(name: string, ignorePaths: readonly string[]): boolean {
  return ignorePaths.some((p) => name === p || name.startsWith(`${p}/`));
}

/**
 * model_signing's resource order: Python compares the paths segment by
 * segment (pathlib), each segment by code point, so `a/b` sorts before
 * `a-b` and `a.txt` (a plain string sort puts it after them).
 */
export function compareNames(a: string, b: string): number {
  const x = a.split('/');
  const y = b.split('/');
  for (let i = 0; i < Math.min(x.length, y.length); i++) {
    const order = compareCodePoints(x[i]!, y[i]!);
    if (order !== 0) return order;
  }
  return x.length - y.length;
}

/** By code point, as Python compares str: JavaScript's `<` compares UTF-16 units, which puts U+10000 and above before U+E000..U+FFFF. */
function compareCodePoints(a: string, b: string): number {
  if (a === b) return 0;
  let i = 0;
  while (i < a.length && i < b.length && a.charCodeAt(i) === b.charCodeAt(i)) i++;
  if (i === a.length || i === b.length) return a.length - b.length;
  return a.codePointAt(i)! - b.codePointAt(i)!;
}
