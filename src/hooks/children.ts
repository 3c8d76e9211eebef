import module from 'node:module';
import type * as WorkerThreads from 'node:worker_threads';
import { ErrorCodes, TrustloadError } from '../errors.js';

/** What every Node child and worker needs to run under the same pinned policy. */
export interface ChildGuard {
  policyFile: string;
  policySha256: string;
  /** Absolute path of register.mjs. */
  registerPath: string;
  enforce: boolean;
}

/**
 * Sets this process's environment so that children inherit the guard, and
 * wraps child_process and Worker so that an explicit `env` or `execArgv`
 * cannot leave it out. The two builtins cost milliseconds to load, so they are
 * wrapped when the application first asks for one, before it gets it: the
 * returned function is called by the resolve hook for every builtin resolved,
 * and process.getBuiltinModule is wrapped to call it too.
 */
export function guardChildren(guard: ChildGuard): (builtinUrl: string) => void {
  Object.assign(process.env, guardedEnv(process.env, guard));
  const wrapped = new Set<string>();
  const wrapOnFirstUse = (id: string): void => {
    const name = id.startsWith('node:') ? id.slice(5) : id;
    if (wrapped.has(name) || (name !== 'child_process' && name !== 'worker_threads')) return;
    wrapped.add(name);
    if (name === 'child_process') wrapChildProcess(guard, process.getBuiltinModule('node:child_process') as unknown as Record<string, AnyFunction>);
    else wrapWorker(guard, process.getBuiltinModule('node:worker_threads') as typeof WorkerThreads);
    // ESM named imports of builtins are copies: refresh them so `import { spawn }` sees the wrappers.
    module.syncBuiltinESMExports();
  };
  const getBuiltinModule = process.getBuiltinModule;
  process.getBuiltinModule = function guardedGetBuiltinModule(id: string) {
    wrapOnFirstUse(id);
    return getBuiltinModule.call(process, id);
  } as typeof process.getBuiltinModule;
  return wrapOnFirstUse;
}

function guardedEnv(env: NodeJS.ProcessEnv, guard: ChildGuard): NodeJS.ProcessEnv {
  return {
    ...env,
    TRUSTLOAD_POLICY: guard.policyFile,
    TRUSTLOAD_POLICY_SHA256: guard.policySha256,
    NODE_OPTIONS: withImport(env.NODE_OPTIONS ?? '', guard.registerPath),
  };
}

/** NODE_OPTIONS with a quoted absolute `--import` of register.mjs, added once. */
function withImport(nodeOptions: string, registerPath: string): string {
  const flag = `--import "${registerPath.replace(/["\\]/g, '\\$&')}"`;
  return nodeOptions.includes(flag) ? nodeOptions : `${flag} ${nodeOptions}`.trim();
}

type AnyFunction = (...args: unknown[]) => unknown;

function wrapChildProcess(guard: ChildGuard, cp: Record<string, AnyFunction>): void {
  for (const name of ['spawn', 'spawnSync', 'exec', 'execSync', 'execFile', 'execFileSync', 'fork'] as const) {
    const original = cp[name]!;
    cp[name] = function guardedChildProcess(this: unknown, ...args: unknown[]) {
      // The options object is the first plain object after the command; only an explicit env needs fixing.
      const at = args.findIndex((arg, i) => i > 0 && isOptions(arg));
      if (at !== -1) {
        const options = args[at] as { env?: NodeJS.ProcessEnv };
        if (options.env !== undefined) args[at] = { ...options, env: guardedEnv(options.env, guard) };
      }
      return original.apply(this, args);
    };
  }
}

function wrapWorker(guard: ChildGuard, workerThreads: typeof WorkerThreads): void {
  const Original = workerThreads.Worker;
  class Worker extends Original {
    constructor(filename: string | URL, options: WorkerThreads.WorkerOptions = {}) {
      if (options.eval) {
        // Code given as a string has no file to verify: the worker would run unguarded.
        const error = new TrustloadError(ErrorCodes.UNSUPPORTED_LOAD, 'a Worker with eval: true runs code that cannot be verified');
        if (guard.enforce) throw error;
        process.stderr.write(`trustload: WARNING: ${error.describe()} (started anyway: permissive mode)\n`);
      }
      const execArgv = options.execArgv ?? process.execArgv;
      const env = options.env === undefined || typeof options.env === 'symbol' ? options.env : guardedEnv(options.env as NodeJS.ProcessEnv, guard);
      super(filename, { ...options, env, execArgv: withImportArg(execArgv, guard.registerPath) });
    }
  }
  (workerThreads as { Worker: typeof Original }).Worker = Worker;
}

/** Worker threads do not read NODE_OPTIONS: the `--import` must be in their execArgv. */
function withImportArg(execArgv: readonly string[], registerPath: string): string[] {
  const present = execArgv.some((arg, i) => arg === `--import=${registerPath}` || (arg === '--import' && execArgv[i + 1] === registerPath));
  return present ? [...execArgv] : ['--import', registerPath, ...execArgv];
}

function isOptions(value: unknown): boolean {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
