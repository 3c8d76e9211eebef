/**
 * Policy globs (PRODUCT.md): anchored at the policy's folder, case-sensitive,
 * `*` matches within one segment, `**` (a whole segment) matches zero or more
 * segments, and both match names that start with `.` (unlike picomatch,
 * minimatch and path.matchesGlob by default: `plugins/**` must cover
 * `plugins/.hidden/a.js`). Every other character is literal: no braces, no
 * `?`, no classes.
 */
export function compileGlob(glob: string): RegExp {
  const segments = glob.replace(/^\.\//, '').split('/');
  let source = '';
  segments.forEach((segment, i) => {
    const last = i === segments.length - 1;
    if (segment === '**') {
      source += last ? '.*' : '(?:[^/]*/)*';
    } else {
      source += segment.split('*').map(escapeRegExp).join('[^/]*') + (last ? '' : '/');
    }
  });
  // dotAll: a name may contain a line break or U+2028, which `.` would otherwise not match.
  return new RegExp(`^${source}$`, 's');
}

/** Why a glob cannot be used, or undefined when it can. */
export function globProblem(glob: string): string | undefined {
  if (glob.startsWith('/')) return 'must be relative to the policy folder';
  const segments = glob.replace(/^\.\//, '').split('/');
  if (segments.some((s) => s === '..' || s === '.')) return 'must not contain "." or ".." segments';
  if (segments.some((s) => s === '')) return 'must not contain empty segments';
  if (segments.some((s) => s.includes('**') && s !== '**')) return '"**" must be a whole path segment';
  try {
    // V8 compiles a regular expression on its first use: one that is too large throws only then.
    compileGlob(glob).test('');
  } catch (err) {
    return `cannot be compiled (${(err as Error).message}): write a shorter glob`;
  }
  return undefined;
}

function escapeRegExp(text: string): string {
  return text.replace(/[\\^$.*+?()[\]{}|]/g, '\\$&');
}

/**
 * The folder a glob protects: its leading segments up to the first one with
 * a `*`, without the last (a file name, or a file name pattern). `plugins/**`
 * and `plugins/*.js` give `plugins`; `**` and `*.md` give '' (the policy
 * folder itself).
 */
export function globFolder(glob: string): string {
  const segments = glob.replace(/^\.\//, '').split('/').slice(0, -1);
  const wild = segments.findIndex((s) => s.includes('*'));
  return segments.slice(0, wild === -1 ? segments.length : wild).join('/');
}
