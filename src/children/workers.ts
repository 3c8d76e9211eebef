import { pathToFileURL } from 'node:url';
import type * as WorkerThreads from 'node:worker_threads';
import { ErrorCodes, TrustloadError } from '../errors.js';
import type { AuditTrail } from '../audit/trail.js';
import type { StartJudge } from './judge-start.js';
import { envPairs, type PinnedEnvironment, type PinnedPolicy } from './pinned-env.js';

/** The query of the guard's `--import` URL in a worker's execArgv: the policy the worker must run. */
const PIN_PARAMETER = 'pin';

/** Every option Node's Worker reads: the options object handed to it has these and no prototype. */
const WORKER_OPTIONS = ['argv', 'env', 'eval', 'execArgv', 'name', 'resourceLimits', 'stderr', 'stdin', 'stdout', 'trackUnmanagedFds', 'transferList', 'workerData'] as const;
const RESOURCE_LIMITS = ['maxOldGenerationSizeMb', 'maxYoungGenerationSizeMb', 'codeRangeSizeMb', 'stackSizeMb'] as const;

/**
 * Replaces worker_threads.Worker. Every worker gets the guard's `--import`
 * first in its execArgv, carrying the pinned policy in the URL (a worker may
 * copy an environment this process changed); an environment given to it is
 * pinned (a worker reads NODE_OPTIONS from it); what it would load before the
 * guard is judged first, and named absolutely. `env: SHARE_ENV` is refused in
 * enforce mode: such a worker reads NODE_OPTIONS from this process's live
 * environment when Node starts it, which code (a getter Node reaches on the
 * way) can change after any check. Node gets an options object without a
 * prototype and with every field it reads, so no getter on Object.prototype
 * runs while it builds the worker. The replacement is a plain function whose
 * prototype is the original's, so that neither `Object.getPrototypeOf(Worker)`
 * nor `.prototype.constructor` leads back to the unguarded class.
 */
export function guardWorkers(workerThreads: typeof WorkerThreads, pinned: PinnedEnvironment, judge: StartJudge, registerPath: string, audit?: AuditTrail): void {
  const Original = workerThreads.Worker;
  const importArg = pinnedImport(registerPath, pinned.policy);
  const enforce = pinned.policy.mode === 'enforce';
  const refuse = (error: TrustloadError): void => {
    if (enforce) {
      judge.announce(error);
      throw error;
    }
    process.stderr.write(`trustload: WARNING: ${error.describe()} (started anyway: permissive mode)\n`);
  };
  function Worker(this: unknown, filename: unknown, options: WorkerThreads.WorkerOptions = {}): WorkerThreads.Worker {
    if (new.target === undefined) throw new TypeError("Class constructor Worker cannot be invoked without 'new'");
    // Read once: a getter must not show the check one value and Node another.
    const given = { __proto__: null, ...options } as WorkerThreads.WorkerOptions;
    if (given.eval) {
      // Code given as a string has no file to verify: the worker would run unguarded.
      refuse(new TrustloadError(ErrorCodes.UNSUPPORTED_LOAD, 'a Worker with eval: true runs code that cannot be verified'));
    }
    if (given.execArgv !== undefined && !Array.isArray(given.execArgv)) throw new TrustloadError(ErrorCodes.UNSUPPORTED_LOAD, 'a Worker execArgv must be an array');
    let execArgv = [...(given.execArgv ?? process.execArgv)].map(String);
    let env: WorkerThreads.WorkerOptions['env'];
    let confirm: () => void;
    if (typeof given.env === 'symbol') {
      refuse(new TrustloadError(ErrorCodes.UNSUPPORTED_LOAD, 'a Worker with env: SHARE_ENV reads NODE_OPTIONS from the live environment when it starts, after any check'));
      env = given.env;
      ({ execArgv, confirm } = judge.worker(execArgv, pinned.live.NODE_OPTIONS, !pinned.startsWithGuard(pinned.live.NODE_OPTIONS)));
    } else {
      // No env given: Node copies its own environment, not whatever process.env now is.
      const { pairs, callerNodeOptions } = pinned.rewrite(envPairs((given.env ?? pinned.live) as Record<string, unknown>));
      const judged = judge.worker(execArgv, callerNodeOptions, false);
      execArgv = judged.execArgv;
      confirm = judged.confirm;
      const values: Record<string, string> = Object.create(null);
      for (const pair of pinned.withCallerNodeOptions(pairs, judged.nodeOptions).reverse()) values[pair.slice(0, pair.indexOf('=', 1))] = pair.slice(pair.indexOf('=', 1) + 1);
      env = values;
    }
    const checked: Record<string, unknown> = Object.create(null);
    for (const name of WORKER_OPTIONS) checked[name] = given[name];
    checked.env = env;
    checked.execArgv = ['--import', importArg, ...execArgv];
    if (typeof given.resourceLimits === 'object' && given.resourceLimits !== null) {
      const limits: Record<string, unknown> = Object.create(null);
      for (const name of RESOURCE_LIMITS) limits[name] = given.resourceLimits[name];
      checked.resourceLimits = limits;
    }
    // The last thing before Node starts the worker: the getters above may have swapped a judged file.
    confirm();
    const worker = Reflect.construct(Original, [filename, checked], new.target) as WorkerThreads.Worker;
    if (audit !== undefined) {
      try {
        audit.started('worker', worker.threadId);
      } catch (err) {
        // Not recorded (enforce mode): the worker could not record its own loads either.
        void worker.terminate();
        throw err;
      }
    }
    return worker;
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
 * read from the guard's `--import`, first in its own execArgv where the
 * Worker wrapper (the only way to start one once the guard runs) puts it;
 * never from the environment, which the parent may have changed. A main
 * thread has no pin: a child process's command line is its parent's to
 * write, and its policy comes from the pinned environment.
 */
export function workerPin(execArgv: readonly string[], registerPath: string): PinnedPolicy | undefined {
  const value = execArgv[0] === '--import' ? execArgv[1] : undefined;
  if (value === undefined || !value.startsWith(`${pathToFileURL(registerPath).href}?${PIN_PARAMETER}=`)) return undefined;
  // Asked only now: loading worker_threads costs milliseconds of every start.
  if ((process.getBuiltinModule('node:worker_threads') as typeof WorkerThreads).isMainThread) return undefined;
  try {
    const pin = JSON.parse(new URL(value).searchParams.get(PIN_PARAMETER) ?? '') as Partial<PinnedPolicy>;
    if (typeof pin.policyFile === 'string' && typeof pin.policySha256 === 'string' && (pin.mode === 'enforce' || pin.mode === 'permissive')) {
      return { policyFile: pin.policyFile, policySha256: pin.policySha256, mode: pin.mode, ...(typeof pin.auditParent === 'string' ? { auditParent: pin.auditParent } : {}) };
    }
  } catch (err) {
    throw new TrustloadError(ErrorCodes.POLICY, `the policy pinned for this worker cannot be read: ${(err as Error).message}`, { cause: err });
  }
  throw new TrustloadError(ErrorCodes.POLICY, 'the policy pinned for this worker is incomplete');
}
