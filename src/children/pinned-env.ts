import { LEARN_VARIABLE } from '../lock/learner.js';

/** What a child must run under, fixed when the guard started. */
export interface PinnedPolicy {
  policyFile: string;
  policySha256: string;
  mode: 'enforce' | 'permissive';
  /** This process's audit writer id: the parent its children's and workers' chains name. */
  auditParent?: string;
}

const windows = process.platform === 'win32';

/** Names a child never takes from its caller: the pinned values replace every entry of them. */
function isPinnedName(name: string): boolean {
  const key = windows ? name.toUpperCase() : name;
  return key === 'NODE_OPTIONS' || key === 'NODE_COMPILE_CACHE' || key === 'NODE_DISABLE_COMPILE_CACHE' || key.startsWith('TRUSTLOAD_');
}

const nameOf = (pair: string): string => {
  // Windows keeps per-drive working folders in variables named "=C:".
  const eq = pair.indexOf('=', 1);
  return eq === -1 ? pair : pair.slice(0, eq);
};

/**
 * The environment every child and worker gets, whatever the process did to
 * its own: TRUSTLOAD_* as they were at start with the policy's absolute path,
 * digest and mode, the compile cache disabled (no cache stands in for
 * verified source), and the guard's quoted `--import` first in NODE_OPTIONS.
 * Taken from this frozen copy, never from the current process.env.
 */
export class PinnedEnvironment {
  readonly importFlag: string;
  readonly #pairs: readonly string[];
  readonly #values: ReadonlyMap<string, string>;
  #noticed = false;

  /**
   * @param live this process's environment object at start: Node's own, which
   * children inherit and SHARE_ENV workers read, even after code replaces
   * process.env with another object.
   */
  constructor(
    readonly live: NodeJS.ProcessEnv,
    readonly policy: PinnedPolicy,
    registerPath: string,
  ) {
    this.importFlag = `--import "${registerPath.replace(/["\\]/g, '\\$&')}"`;
    const values = new Map<string, string>();
    for (const [name, value] of Object.entries(live)) if (name.startsWith('TRUSTLOAD_') && value !== undefined) values.set(name, value);
    values.set('TRUSTLOAD_POLICY', policy.policyFile);
    values.set('TRUSTLOAD_POLICY_SHA256', policy.policySha256);
    values.set('TRUSTLOAD_MODE', policy.mode);
    values.set('NODE_DISABLE_COMPILE_CACHE', '1');
    if (policy.auditParent !== undefined) values.set('TRUSTLOAD_AUDIT_PARENT', policy.auditParent);
    this.#values = values;
    this.#pairs = Object.freeze([...values].map(([name, value]) => `${name}=${value}`));
  }

  /**
   * What the contract puts in this process's own environment at start, for
   * children started in ways no wrapper sees. A learning run's record file is
   * taken out: children and workers get it from the pinned values, and the
   * application has no use for it but to forge records (src/lock/recheck-loads.ts).
   */
  applyToProcess(): void {
    delete this.live[LEARN_VARIABLE];
    this.live.TRUSTLOAD_POLICY = this.policy.policyFile;
    this.live.TRUSTLOAD_POLICY_SHA256 = this.policy.policySha256;
    if (this.policy.auditParent !== undefined) this.live.TRUSTLOAD_AUDIT_PARENT = this.policy.auditParent;
    this.live.NODE_OPTIONS = this.nodeOptions(this.live.NODE_OPTIONS);
  }

  /** The caller's NODE_OPTIONS with the guard's `--import` first, where Node runs it before any other. */
  nodeOptions(caller: string | undefined): string {
    if (caller === undefined || caller === '') return this.importFlag;
    return caller === this.importFlag || caller.startsWith(`${this.importFlag} `) ? caller : `${this.importFlag} ${caller}`;
  }

  /** Whether NODE_OPTIONS runs the guard's `--import` before anything it names. */
  startsWithGuard(nodeOptions: string | undefined): boolean {
    return nodeOptions !== undefined && this.nodeOptions(nodeOptions) === nodeOptions;
  }

  /**
   * A child's `KEY=value` list with every NODE_OPTIONS, TRUSTLOAD_* and compile
   * cache entry removed and the pinned ones first. `callerNodeOptions` is the
   * NODE_OPTIONS the caller meant (the first: a child takes the first of
   * duplicate names), now behind the guard's `--import`.
   */
  rewrite(pairs: readonly string[]): { pairs: string[]; callerNodeOptions: string | undefined } {
    let callerNodeOptions: string | undefined;
    let overridden = false;
    const kept: string[] = [];
    for (const pair of pairs) {
      const name = nameOf(pair);
      if (!isPinnedName(name)) {
        kept.push(pair);
        continue;
      }
      const value = pair.slice(name.length + 1);
      const key = windows ? name.toUpperCase() : name;
      if (key === 'NODE_OPTIONS') callerNodeOptions ??= value;
      else if (key.startsWith('TRUSTLOAD_') && this.#values.get(key) !== value) overridden = true;
    }
    if (overridden || this.#processEnvChanged()) this.#notice();
    return { pairs: [...this.#pairs, `NODE_OPTIONS=${this.nodeOptions(callerNodeOptions)}`, ...kept], callerNodeOptions };
  }

  /** Pairs from rewrite() with the caller's NODE_OPTIONS replaced (behind the guard's `--import` still). */
  withCallerNodeOptions(pairs: readonly string[], callerNodeOptions: string | undefined): string[] {
    const next = [...pairs];
    next[this.#pairs.length] = `NODE_OPTIONS=${this.nodeOptions(callerNodeOptions)}`;
    return next;
  }

  #processEnvChanged(): boolean {
    const env = this.live;
    return env.TRUSTLOAD_POLICY !== this.policy.policyFile || env.TRUSTLOAD_POLICY_SHA256 !== this.policy.policySha256 || !this.startsWithGuard(env.NODE_OPTIONS);
  }

  // Cleaning the environment is legitimate (tools do it); saying once that it did not reach children avoids surprises.
  #notice(): void {
    if (this.#noticed) return;
    this.#noticed = true;
    process.stderr.write(
      `trustload: this process changed NODE_OPTIONS or TRUSTLOAD_* in its environment; its children and workers still run the pinned policy ${this.policy.policyFile}\n`,
    );
  }
}

/** `KEY=value` pairs of an environment object, as Node builds them for a child. */
export function envPairs(env: Record<string, unknown>): string[] {
  return Object.entries(env)
    .filter(([, value]) => value !== undefined)
    .map(([name, value]) => `${name}=${String(value)}`);
}

/** The first value of `name` in `pairs`, as a child reads it. */
export function firstValue(pairs: readonly string[], name: string): string | undefined {
  const key = windows ? name.toUpperCase() : name;
  for (const pair of pairs) {
    const pairName = nameOf(pair);
    if ((windows ? pairName.toUpperCase() : pairName) === key) return pair.slice(pairName.length + 1);
  }
  return undefined;
}
