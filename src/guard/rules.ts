import { isAbsolute, relative, sep } from 'node:path';
import { ErrorCodes, TrustloadError } from '../errors.js';
import { compileGlob } from '../policy/globs.js';
import type { Step } from '../paths/load-steps.js';
import type { Policy } from '../policy/schema.js';

export type Rule = Policy['rules'][number];

/** Where a glob's files live: its fixed prefix, and whether they may also sit in folders below it. */
interface RuleFolder {
  rule: Rule;
  prefix: string;
  deep: boolean;
}

interface CompiledRule {
  rule: Rule;
  patterns: RegExp[];
}

/** The policy's rules, compiled once, answering "which rule protects this path?". */
export class Rules {
  readonly #rules: CompiledRule[];
  readonly #baseDir: string;
  readonly #folders: RuleFolder[];

  constructor(rules: readonly Rule[], baseDir: string) {
    this.#baseDir = baseDir;
    this.#rules = rules.map((rule) => ({
      rule,
      patterns: globsOf(rule).map(compileGlob),
    }));
    this.#folders = rules.flatMap((rule) => globsOf(rule).flatMap((glob) => globFolder(rule, glob)));
  }

  /** The first rule whose globs match `path`, which must be absolute; none outside the policy folder. */
  ruleFor(path: string): Rule | undefined {
    return this.match(path)?.rule;
  }

  /** The rule and the glob of it that matched, for `trustload policy explain`. */
  match(path: string): { rule: Rule; glob: string } | undefined {
    return this.#matchRelative(relative(this.#baseDir, path));
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
   * The rule protecting a load, judged on every path it passed through (see
   * loadSteps: each ends at the real path). Steps no rule matches are
   * neutral; once a step matches a rule, every later step must match that
   * same rule: a link that leads out of its rule's folder, or into another
   * rule's, is refused rather than guessed at.
   */
  classify(realPath: string, loads: Iterable<readonly Step[]>): Rule | undefined {
    for (const steps of loads) {
      let from: { step: Step; rule: Rule } | undefined;
      for (const step of steps) {
        const rule = step.folder ? this.#ruleForFolder(step.path) : this.ruleFor(step.path);
        if (from !== undefined && rule !== from.rule) {
          throw new TrustloadError(
            ErrorCodes.UNSUPPORTED_LOAD,
            rule === undefined
              ? `${from.step.path} is protected by rule "${from.rule.name}" but leads to ${step.path}, outside that rule`
              : `${from.step.path} (rule "${from.rule.name}") leads to ${step.path}, which rule "${rule.name}" protects`,
            { path: from.step.path, rule: from.rule.name },
          );
        }
        from ??= rule === undefined ? undefined : { step, rule };
      }
    }
    return this.ruleFor(realPath);
  }

  /** The first rule whose folder (the fixed part of a glob, before its first `*`) holds files that may sit in `dir`. */
  #ruleForFolder(dir: string): Rule | undefined {
    const rel = relative(this.#baseDir, dir);
    if (!isInside(rel)) return undefined;
    const posix = sep === '/' ? rel : rel.split(sep).join('/');
    return this.#folders.find(({ prefix, deep }) => posix === prefix || (deep && (prefix === '' || posix.startsWith(`${prefix}/`))))?.rule;
  }
}

/** Whether a path relative to the policy folder stays inside it: `..x` (a name starting with two dots) does. */
function isInside(rel: string): boolean {
  return rel !== '..' && !rel.startsWith(`..${sep}`) && !isAbsolute(rel);
}

function globsOf(rule: Rule): readonly string[] {
  return typeof rule.files === 'string' ? [rule.files] : rule.files;
}

/** None for a glob without a wildcard: it names one file, no folder. */
function globFolder(rule: Rule, glob: string): RuleFolder[] {
  const segments = glob.replace(/^\.\//, '').split('/');
  const wild = segments.findIndex((segment) => segment.includes('*'));
  if (wild === -1) return [];
  return [{ rule, prefix: segments.slice(0, wild).join('/'), deep: wild < segments.length - 1 || segments[wild] === '**' }];
}
