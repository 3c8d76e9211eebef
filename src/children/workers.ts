import { pathToFileURL } from 'node:url';
import type * as WorkerThreads from 'node:worker_threads';
import { ErrorCodes, TrustloadError } from '../errors.js';
import type { StartJudge } from './judge-start.js';
import { envPairs, type PinnedEnvironment, type PinnedPolicy } from './pinned-env.js';

/** The query of the guard's `--import` URL in a worker's execArgv: the policy the worker must run. */
const PIN_PARAMETER = 'pin';

/**
 * Replaces worker_threads.Worker. Every worker gets the guard's `--import`
 * first in its execArgv, carrying the pinned policy in the URL (a worker may
 * share or copy an environment this process changed: SHARE_ENV, or none
 * given); an environment given to it is pinned (a worker reads NODE_OPTIONS
 * from it); what it would load before the guard is judged first. The
 * replacement is a plain function whose prototype is the original's, so that
 * neither `Object.getPrototypeOf(Worker)` nor `.prototype.constructor` leads
 * back to the unguarded class.
 */
export function guardWorkers(workerThreads: typeof WorkerThreads, pinned: PinnedEnvironment, judge: StartJudge, registerPath: string): void {
  const Original = workerThreads.Worker;
  const importArg = pinnedImport(registerPath, pinned.policy);
  function Worker(this: unknown, filename: unknown, options: WorkerThreads.WorkerOptions = {}): WorkerThreads.Worker {
    if (new.target === undefined) throw new TypeError("Class constructor Worker cannot be invoked without 'new'");
    // Read once: a getter must not show the check one value and Node another.
    const given = { ...options };
    if (given.eval) {
      // Code given as a string has no file to verify: the worker would run unguarded.
      const error = new TrustloadError(ErrorCodes.UNSUPPORTED_LOAD, 'a Worker with eval: true runs code that cannot be verified');
      if (pinned.policy.mode === 'enforce') throw error;
      process.stderr.write(`trustload: WARNING: ${error.describe()} (started anyway: permissive mode)\n`);
    }
    if (given.execArgv !== undefined && !Array.isArray(given.execArgv)) throw new TrustloadError(ErrorCodes.UNSUPPORTED_LOAD, 'a Worker execArgv must be an array');
    const execArgv = [...(given.execArgv ?? process.execArgv)].map(String);
    let env: WorkerThreads.WorkerOptions['env'];
    if (typeof given.env === 'symbol') {
      // SHARE_ENV: the worker reads this process's own NODE_OPTIONS, which may no longer start with the guard.
      env = given.env;
      judge.worker(execArgv, process.env.NODE_OPTIONS, !pinned.startsWithGuard(process.env.NODE_OPTIONS));
    } else {
      const { pairs, callerNodeOptions } = pinned.rewrite(envPairs((given.env ?? process.env) as Record<string, unknown>));
      env = Object.fromEntries(pairs.map((pair) => [pair.slice(0, pair.indexOf('=', 1)), pair.slice(pair.indexOf('=', 1) + 1)]).reverse());
      judge.worker(execArgv, callerNodeOptions, false);
    }
    return Reflect.construct(Original, [filename, { ...given, env, execArgv: ['--import', importArg, ...execArgv] }], new.target) as WorkerThreads.Worker;
  }
  Object.setPrototypeOf(Worker, Object.getPrototypeOf(Original));
  Worker.prototype = Original.prototype;
  Object.defineProperty(Original.prototype, 'constructor', { value: Worker, writable: false, configurable: false, enumerable: false });
  (workerThreads as { Worker: unknown }).Worker = Worker;
}

/** `file:///.../register.mjs?pin=...`: the guard's URL with the policy the worker must run. */
function pinnedImport(registerPath: string, policy: PinnedPolicy): string {
  const url = pathToFileURL(registerPath);
  url.searchParams.set(PIN_PARAMETER, JSON.stringify(policy));
  return url.href;
}

/**
 * The pinned policy of this thread, when it is a worker the guard started:
 * read from the guard's `--import` in its own execArgv (never from the
 * environment, which the parent may have changed or shares with it).
 */
export function workerPin(execArgv: readonly string[], registerPath: string): PinnedPolicy | undefined {
  const prefix = `${pathToFileURL(registerPath).href}?${PIN_PARAMETER}=`;
  for (let i = 0; i < execArgv.length; i++) {
    const value = execArgv[i] === '--import' ? execArgv[i + 1] : execArgv[i]!.startsWith('--import=') ? execArgv[i]!.slice('--import='.length) : undefined;
    if (value === undefined || !value.startsWith(prefix)) continue;
    try {
      const pin = JSON.parse(new URL(value).searchParams.get(PIN_PARAMETER) ?? '') as Partial<PinnedPolicy>;
      if (typeof pin.policyFile === 'string' && typeof pin.policySha256 === 'string' && (pin.mode === 'enforce' || pin.mode === 'permissive')) {
        return { policyFile: pin.policyFile, policySha256: pin.policySha256, mode: pin.mode };
      }
    } catch (err) {
      throw new TrustloadError(ErrorCodes.POLICY, `the policy pinned for this worker cannot be read: ${(err as Error).message}`, { cause: err });
    }
    throw new TrustloadError(ErrorCodes.POLICY, 'the policy pinned for this worker is incomplete');
  }
  return undefined;
}
