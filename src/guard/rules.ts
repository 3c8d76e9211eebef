import { realpathSync } from 'node:fs';
import { isAbsolute, relative, sep } from 'node:path';
import { ErrorCodes, TrustloadError } from '../errors.js';
import { compileGlob } from '../policy/globs.js';
import type { Policy } from '../policy/schema.js';

export type Rule = Policy['rules'][number];

interface CompiledRule {
  rule: Rule;
  patterns: RegExp[];
}

/** The policy's rules, compiled once, answering "which rule protects this path?". */
export class Rules {
  readonly #rules: CompiledRule[];
  readonly #baseDir: string;

  constructor(rules: readonly Rule[], baseDir: string) {
    this.#baseDir = baseDir;
    this.#rules = rules.map((rule) => ({
      rule,
      patterns: (typeof rule.files === 'string' ? [rule.files] : rule.files).map(compileGlob),
    }));
  }

  /** The first rule whose globs match `path`, which must be absolute; none outside the policy folder. */
  ruleFor(path: string): Rule | undefined {
    return this.match(path)?.rule;
  }

  /** The rule and the glob of it that matched, for `trustload policy explain`. */
  match(path: string): { rule: Rule; glob: string } | undefined {
    return this.#matchRelative(relative(this.#baseDir, path));
  }

  /**
   * The rule for a path as it was requested, symlinks not followed. When the
   * policy folder itself was reached through a link (/srv/app -> /data/app),
   * the requested path is not lexically inside the real folder: find the
   * ancestor that resolves to it and match what follows, as named.
   */
  ruleForRequested(path: string): Rule | undefined {
    const rel = relative(this.#baseDir, path);
    if (isInside(rel)) return this.#matchRelative(rel)?.rule;
    const parts = path.split(sep);
    for (let i = parts.length - 1; i > 1; i--) {
      if (this.#realpath(parts.slice(0, i).join(sep)) === this.#baseDir) return this.#matchRelative(parts.slice(i).join(sep))?.rule;
    }
    return undefined;
  }

  #realpath(path: string): string | undefined {
    try {
      return realpathSync.native(path);
    } catch {
      return undefined; // a folder that does not resolve is no alias of the policy folder
    }
  }

  #matchRelative(rel: string): { rule: Rule; glob: string } | undefined {
    if (rel === '' || !isInside(rel)) return undefined;
    const posix = sep === '/' ? rel : rel.split(sep).join('/');
    for (const { rule, patterns } of this.#rules) {
      const i = patterns.findIndex((p) => p.test(posix));
      if (i !== -1) return { rule, glob: typeof rule.files === 'string' ? rule.files : rule.files[i]! };
    }
    return undefined;
  }

  /**
   * The rule protecting a load, judged on its real path and on every path it
   * was requested by (before symlinks were followed). A file is protected when
   * either matches; a symlink that leads out of its rule's folder, or into
   * another rule's, is refused rather than guessed at.
   */
  classify(realPath: string, requestedPaths: Iterable<string>): Rule | undefined {
    const realRule = this.ruleFor(realPath);
    for (const requested of requestedPaths) {
      if (requested === realPath) continue;
      const requestedRule = this.ruleForRequested(requested);
      if (requestedRule === undefined || requestedRule === realRule) continue;
      throw new TrustloadError(
        ErrorCodes.UNSUPPORTED_LOAD,
        realRule === undefined
          ? `${requested} is protected by rule "${requestedRule.name}" but is a link to ${realPath}, outside that rule`
          : `${requested} (rule "${requestedRule.name}") is a link to ${realPath}, which rule "${realRule.name}" protects`,
        { path: requested, rule: requestedRule.name },
      );
    }
    return realRule;
  }
}

/** Whether a path relative to the policy folder stays inside it: `..x` (a name starting with two dots) does. */
function isInside(rel: string): boolean {
  return rel !== '..' && !rel.startsWith(`..${sep}`) && !isAbsolute(rel);
}
