/**
 * Policy globs (PRODUCT.md): anchored at the policy's folder, case-sensitive,
 * `*` matches within one segment, `**` (a whole segment) matches zero or more
 * segments, and both match names that start with `.` (unlike picomatch,
 * minimatch and path.matchesGlob by default: `plugins/**` must cover
 * `plugins/.hidden/a.js`). Every other character is literal, except the
 * syntax other matchers give a meaning to, which is refused (unsupportedSyntax).
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
  if (glob.endsWith('/') && segments.slice(0, -1).every((s) => s !== '')) {
    return `ends with "/", and a glob matches files: write "${glob}**" to protect everything in that folder`;
  }
  if (segments.some((s) => s === '')) return 'must not contain empty segments';
  if (segments.some((s) => s.includes('**') && s !== '**')) return '"**" must be a whole path segment';
  const unsupported = unsupportedSyntax(glob);
  if (unsupported) return unsupported;
  try {
    // V8 compiles a regular expression on its first use: one that is too large throws only then.
    compileGlob(glob).test('');
  } catch (err) {
    return `cannot be compiled (${(err as Error).message}): write a shorter glob`;
  }
  return undefined;
}

/**
 * Glob syntax that other matchers (shells, minimatch, picomatch) implement and
 * this one does not, with what to write instead. Taken literally it would
 * match nothing a user meant, and a rule that matches nothing protects nothing.
 * Parentheses, "|", "@", "+" and a "!" inside a name stay literal (folder names
 * such as "Program Files (x86)"), except in the extglob forms below.
 */
function unsupportedSyntax(glob: string): string | undefined {
  const braces = /\{([^{}]*)\}/.exec(glob);
  if (braces) {
    const alternatives = braces[1]!.split(',').map((alt) => `${glob.slice(0, braces.index)}${alt}${glob.slice(braces.index + braces[0].length)}`);
    return `uses braces, which are not supported: list one glob per alternative in the rule's "files" (${alternatives.map((a) => JSON.stringify(a)).join(', ')})`;
  }
  if (/[{}]/.test(glob)) return 'uses a brace, which is not supported: list one glob per alternative in the rule\'s "files"';
  if (/[@+!*?]\(/.test(glob)) return 'uses an extglob such as @(a|b), which is not supported: list one glob per alternative in the rule\'s "files"';
  if (/[[\]]/.test(glob)) return 'uses a character class [...], which is not supported: list each name, or use * (any characters within one segment)';
  if (glob.includes('?')) return 'uses "?", which is not supported: use * (any characters within one segment)';
  if (glob.startsWith('!')) return 'starts with "!", and negation is not supported: name the files to protect (rules are checked in order; the first that matches wins)';
  if (glob.includes('\\')) return 'uses a backslash, which is not supported: write paths with "/", and every character but * is literal';
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
