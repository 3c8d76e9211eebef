import { isAbsolute, join, relative, resolve, sep } from 'node:path';
import { ErrorCodes, TrustloadError } from '../errors.js';
import type { Step } from '../paths/load-steps.js';
import { DEFAULT_MANIFEST_BUNDLE } from '../manifest/types.js';
import { compileGlob, globFolder } from '../policy/globs.js';
import type { Policy } from '../policy/schema.js';

export type Rule = Policy['rules'][number];

interface CompiledRule {
  rule: Rule;
  patterns: RegExp[];
}

/**
 * The policy's rules, compiled once, answering "which rule protects this
 * path?". Content read by path is judged by the globs alone. A module is
 * judged by its rule's whole folder (the fixed directory part of a glob,
 * `plugins` for `plugins/**\/*.js`): Node picks the file itself (`helper`
 * before `helper.js`, a folder's `main`, an `exports` target, a `.json` or
 * `.node`), so inside that folder every module is the rule's, whatever its
 * name. Globs decide first, then folders, each in policy order; a glob with
 * no folder (`**\/*.md`) protects only what it names.
 */
export class Rules {
  readonly #rules: CompiledRule[];
  readonly #baseDir: string;
  /** Each named folder as an absolute path, with its rule, in policy order. */
  readonly #folders: Array<{ dir: string; rule: Rule }>;
  /** Where a manifest bundle that a rule names can lie: each rule's folder, or the whole policy folder. */
  readonly #manifestScopes: string[];

  constructor(rules: readonly Rule[], baseDir: string) {
    this.#baseDir = baseDir;
    this.#rules = rules.map((rule) => ({ rule, patterns: globsOf(rule).map(compileGlob) }));
    this.#folders = rules.flatMap((rule) =>
      [...new Set(globsOf(rule).map(globFolder))].filter((folder) => folder !== '').map((folder) => ({ dir: join(baseDir, folder), rule })),
    );
    // A lock rule signs nothing: no manifest bundle is looked for in its folders.
    const signed = rules.filter((rule) => rule.lock === undefined);
    const bundleNames = [...new Set(signed.map((rule) => rule.bundle ?? DEFAULT_MANIFEST_BUNDLE))];
    // A glob with no folder (`**\/manifest.sigstore.json`) can name a manifest bundle anywhere: then every folder is in scope.
    const anywhere = signed.some((rule) => globsOf(rule).some((glob) => globFolder(glob) === '' && namesFileLike(glob, bundleNames)));
    const scopes = anywhere ? [baseDir] : [...new Set(this.#folders.filter(({ rule }) => rule.lock === undefined).map(({ dir }) => dir))];
    this.#manifestScopes = scopes.map((dir) => (dir.endsWith(sep) ? dir : dir + sep));
  }

  /**
   * Whether `path` (absolute, real) may lie below a manifest bundle that a
   * rule names, so that a load no rule matches must still look for one (the
   * closed set). A prefix test: it runs on every unmatched load.
   */
  inManifestScope(path: string): boolean {
    for (const prefix of this.#manifestScopes) if (path.startsWith(prefix)) return true;
    return false;
  }

  /** The first rule whose globs match `path`, which must be absolute; none outside the policy folder. */
  ruleFor(path: string): Rule | undefined {
    return this.match(path)?.rule;
  }

  /** The rule for a module at `path` (absolute): the first whose glob matches, else the first whose folder holds it. */
  moduleRuleFor(path: string): Rule | undefined {
    return this.ruleFor(path) ?? this.#folderRuleFor(path);
  }

  /** The rule and the glob of it that matched, for `trustload policy explain`. */
  match(path: string): { rule: Rule; glob: string } | undefined {
    const rel = relative(this.#baseDir, path);
    if (rel === '' || !isInside(rel)) return undefined;
    const posix = sep === '/' ? rel : rel.split(sep).join('/');
    for (const { rule, patterns } of this.#rules) {
      const i = patterns.findIndex((p) => p.test(posix));
      if (i !== -1) return { rule, glob: globsOf(rule)[i]! };
    }
    return undefined;
  }

  /** The top of `rule`'s folder that holds `path`: the deepest of its folders that does, else the policy folder. */
  folderTop(rule: Rule, path: string): string {
    let top = this.#baseDir;
    const lexical = resolve(path);
    for (const { dir, rule: owner } of this.#folders) {
      if (owner === rule && lexical.startsWith(dir + sep) && dir.length > top.length) top = dir;
    }
    return top;
  }

  /**
   * The rule protecting a load, judged on every path it passed through (see
   * loadSteps: each ends at the real path). Steps no rule matches are
   * neutral; once a step matches a rule, every later step must match that
   * same rule: a link that leads out of its rule's folder, or into another
   * rule's, is refused rather than guessed at.
   */
  classify(realPath: string, loads: Iterable<readonly Step[]>, asModule: boolean): Rule | undefined {
    const ruleOf = (step: Step): Rule | undefined =>
      step.folder ? this.#folderRuleFor(step.path) : asModule ? this.moduleRuleFor(step.path) : this.ruleFor(step.path);
    for (const steps of loads) {
      let from: { step: Step; rule: Rule } | undefined;
      for (const step of steps) {
        const rule = ruleOf(step);
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
    return asModule ? this.moduleRuleFor(realPath) : this.ruleFor(realPath);
  }

  /**
   * A prefix test, not a glob: it runs on every module load, most of them no
   * rule's. Judged lexically, as globs are: `plugins/../lib/x` is not in `plugins`.
   */
  #folderRuleFor(path: string): Rule | undefined {
    const lexical = DOT_SEGMENT.test(path) ? resolve(path) : path;
    for (const { dir, rule } of this.#folders) if (lexical === dir || lexical.startsWith(dir + sep)) return rule;
    return undefined;
  }
}

// A `.` or `..` segment (not a name that starts with a dot, as under node_modules/.pnpm).
const DOT_SEGMENT = /(?:^|\/)\.{1,2}(?:\/|$)/;

/** Whether a path relative to the policy folder stays inside it: `..x` (a name starting with two dots) does. */
function isInside(rel: string): boolean {
  return rel !== '..' && !rel.startsWith(`..${sep}`) && !isAbsolute(rel);
}

/** Whether a glob's last segment can match one of `names` (a sound over-approximation of "can match DIR/name"). */
function namesFileLike(glob: string, names: readonly string[]): boolean {
  const last = glob.split('/').at(-1)!;
  return last === '**' || names.some((name) => compileGlob(last).test(name));
}

function globsOf(rule: Rule): readonly string[] {
  return typeof rule.files === 'string' ? [rule.files] : rule.files;
}
