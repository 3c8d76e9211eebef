import module from 'node:module';
import { dirname, join, sep } from 'node:path';
import { ErrorCodes, TrustloadError } from '../errors.js';
import type { Guard, LoadOptions } from '../guard/guard.js';
import type { Rule } from '../guard/rules.js';
import { ownFs } from '../io/own-fs.js';

/**
 * Node reads package.json files itself, through no hook ("type", "main",
 * "exports", "imports"), and keeps what it read for the rest of the process.
 * So every package.json between a protected module and the top of its
 * rule's folder must verify for that rule, whatever the rule's glob names;
 * and a package.json that failed once leaves its package refused for good:
 * Node already holds what it read, and putting the signed file back changes
 * nothing Node uses.
 */
export class PackageScopes {
  /** package.json files that failed, with the code of their first refusal. */
  readonly #refused = new Map<string, string>();

  constructor(
    private readonly guard: Guard,
    private readonly options: LoadOptions,
  ) {}

  /** Before the protected module at `real` runs: the package.json files above it and above each path it was requested by. */
  check(real: string, requestedPaths: Iterable<string>, rule: Rule): void {
    const top = this.guard.rules.folderTop(rule, real);
    this.#checkFrom(dirname(real), top, rule, real);
    // A folder or a link Node went through (require('./dir') and its "main"): its package.json chose the file.
    for (const requested of requestedPaths) if (requested !== real) this.#checkFrom(requested, top, rule, real);
  }

  /** A package.json Node has just read for someone (module.findPackageJSON): judged by the rule of the folder it lies in. */
  checkRead(manifest: string): void {
    const rule = this.guard.rules.moduleRuleFor(manifest);
    if (rule !== undefined) this.#checkManifest(manifest, rule, manifest);
  }

  #checkFrom(start: string, top: string, rule: Rule, forPath: string): void {
    for (let dir = start; dir === top || dir.startsWith(top + sep); dir = dirname(dir)) {
      const manifest = join(dir, 'package.json');
      if (this.#exists(manifest, rule, forPath)) this.#checkManifest(manifest, rule, forPath);
      if (dir === top) break;
    }
  }

  #checkManifest(manifest: string, rule: Rule, forPath: string): void {
    const earlier = this.#refused.get(manifest);
    if (earlier !== undefined) {
      const reason = `package.json ${manifest} was refused earlier in this process (${earlier}) and Node keeps what it read: the package stays refused`;
      this.guard.refuse(new TrustloadError(ErrorCodes.UNSUPPORTED_LOAD, reason, { path: forPath, rule: rule.name }), this.options);
      return;
    }
    try {
      const { decision } = this.guard.loadFile(manifest, [manifest], { ...this.options, judgedBy: rule });
      if (decision !== 'verified') this.#refused.set(manifest, 'loaded with a warning');
    } catch (err) {
      this.#refused.set(manifest, err instanceof TrustloadError ? err.code : 'refused');
      throw err;
    }
  }

  /** Whether Node would find a package.json here; a folder that cannot be examined refuses. */
  #exists(manifest: string, rule: Rule, forPath: string): boolean {
    try {
      return ownFs.statSync(manifest, { throwIfNoEntry: false }) !== undefined;
    } catch (err) {
      const error = new TrustloadError(ErrorCodes.UNSUPPORTED_LOAD, `cannot examine ${manifest}: ${(err as Error).message}`, { path: forPath, rule: rule.name, cause: err });
      this.guard.refuse(error, this.options);
      return true; // permissive mode: checking it then warns about it too
    }
  }
}

/**
 * module.findPackageJSON makes Node read and keep a package.json without any
 * hook seeing it: check what it found, so that an unsigned one in a rule's
 * folder is refused there and leaves its package refused. The builtin's ESM
 * exports are synced so that `import { findPackageJSON } from 'node:module'`
 * gets this one too (process.getBuiltinModule returns the same object).
 */
export function guardFindPackageJSON(scopes: PackageScopes): void {
  const find = module.findPackageJSON;
  module.findPackageJSON = function findPackageJSON(specifier: string | URL, base?: string | URL): string | undefined {
    const found = find(specifier, base);
    if (found !== undefined) scopes.checkRead(found);
    return found;
  };
  module.syncBuiltinESMExports();
}
