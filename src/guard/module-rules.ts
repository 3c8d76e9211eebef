import { join, sep } from 'node:path';
import { ErrorCodes, TrustloadError } from '../errors.js';
import { globFolder } from '../policy/globs.js';
import { Rules, type Rule } from './rules.js';

/**
 * Which rule judges a file Node loads as module code. A glob names files, but
 * Node picks the file itself (`helper` before `helper.js`, a folder's `main`,
 * an `exports` target, a `.json` or `.node`): so inside a rule's folder (the
 * fixed directory part of its glob, `plugins` for `plugins/**\/*.js`) every
 * module is judged by that rule, whatever its name. The glob still decides
 * first; a glob with no folder (`**\/*.md`) protects only what it names.
 */
export class ModuleRules {
  readonly #rules: Rules;
  readonly #folders: Rules;
  /** The rule each folder-wide stand-in was made from. */
  readonly #original = new Map<Rule, Rule>();
  /** Each named folder as an absolute prefix (with its trailing separator), with its rule, in policy order. */
  readonly #prefixes: Array<[prefix: string, rule: Rule]> = [];
  /** Each rule's folders as absolute paths ('' is the policy folder), deepest first. */
  readonly #tops = new Map<Rule, string[]>();
  readonly #baseDir: string;

  constructor(rules: Rules, policyRules: readonly Rule[], baseDir: string) {
    this.#rules = rules;
    this.#baseDir = baseDir;
    const standIns: Rule[] = [];
    for (const rule of policyRules) {
      const folders = [...new Set((typeof rule.files === 'string' ? [rule.files] : rule.files).map(globFolder))];
      this.#tops.set(rule, folders.map((f) => join(baseDir, f)).sort((a, b) => b.length - a.length));
      const named = folders.filter((f) => f !== '');
      if (named.length === 0) continue;
      for (const f of named) this.#prefixes.push([join(baseDir, f) + sep, rule]);
      const standIn = { ...rule, files: named.map((f) => `${f}/**`) };
      this.#original.set(standIn, rule);
      standIns.push(standIn);
    }
    this.#folders = new Rules(standIns, baseDir);
  }

  /** The rule for a module at `path` (absolute): the first whose glob matches, else the first whose folder holds it. */
  ruleFor(path: string): Rule | undefined {
    return this.#rules.ruleFor(path) ?? this.#folderRuleFor(path);
  }

  /**
   * The rule protecting a module load, judged on its real path and every path
   * it was requested by, as Rules.classify does for globs (whose refusals
   * stand): a link whose requested path lies in one rule's folder and whose
   * real path does not lie in that rule is refused.
   */
  classify(realPath: string, requestedPaths: Iterable<string>): Rule | undefined {
    const globRule = this.#rules.classify(realPath, requestedPaths);
    const realRule = globRule ?? this.#folderRuleFor(realPath);
    for (const requested of requestedPaths) {
      if (requested === realPath) continue;
      const requestedRule = this.#rules.ruleForRequested(requested) ?? this.#fromFolder(this.#folders.ruleForRequested(requested));
      if (requestedRule === undefined || requestedRule === realRule) continue;
      throw new TrustloadError(
        ErrorCodes.UNSUPPORTED_LOAD,
        realRule === undefined
          ? `${requested} is in the folder of rule "${requestedRule.name}" but leads to ${realPath}, outside that rule`
          : `${requested} (in the folder of rule "${requestedRule.name}") leads to ${realPath}, which rule "${realRule.name}" protects`,
        { path: requested, rule: requestedRule.name },
      );
    }
    return realRule;
  }

  /** The top of `rule`'s folder that holds `path`: the deepest of its folders that does, else the policy folder. */
  folderTop(rule: Rule, path: string): string {
    return this.#tops.get(rule)?.find((top) => path.startsWith(top + sep)) ?? this.#baseDir;
  }

  /** A prefix test, not a glob: this runs on every load, most of them no rule's. */
  #folderRuleFor(path: string): Rule | undefined {
    for (const [prefix, rule] of this.#prefixes) if (path.startsWith(prefix)) return rule;
    return undefined;
  }

  #fromFolder(standIn: Rule | undefined): Rule | undefined {
    return standIn === undefined ? undefined : this.#original.get(standIn);
  }
}
