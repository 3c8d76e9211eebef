import diagnostics from 'node:diagnostics_channel';
import { realpathSync } from 'node:fs';
import { resolve } from 'node:path';
import { ErrorCodes, TrustloadError } from '../errors.js';
import { processStartBindings, readNativeSpawn, type CheckedSpawn, type NativeSpawn } from '../node-features.js';
import type { AuditTrail } from '../audit/trail.js';
import type { StartJudge } from './judge-start.js';
import { envPairs, type PinnedEnvironment } from './pinned-env.js';

type AnyFunction = (this: unknown, ...args: unknown[]) => unknown;

/**
 * Guards every way JavaScript starts a process, below the options Node
 * builds and below any diagnostics subscriber that could still change them:
 * the native spawn every child_process call (and `new ChildProcess().spawn`)
 * ends in, spawnSync's native spawn, and process.execve. Each start gets the
 * pinned environment and has its early loads judged first. The bindings
 * themselves are refused to code in enforce mode.
 */
export function guardProcessStarts(pinned: PinnedEnvironment, judge: StartJudge, enforce: boolean, audit?: AuditTrail): void {
  const { processPrototype, spawnSync } = processStartBindings();
  lockMethod(processPrototype, 'spawn', (original) =>
    function guardedNativeSpawn(this: unknown, ...args: unknown[]) {
      const { spawn, rebuild } = readNativeSpawn(args);
      const { checked, node } = checkStart(spawn, pinned, judge);
      const result = original.apply(this, rebuild(checked));
      // The native handle holds the pid once the spawn succeeded.
      if (node && audit !== undefined) recordStart(audit, (this as { pid?: unknown }).pid);
      return result;
    },
  );
  lockMethod(spawnSync, 'spawn', (original) =>
    function guardedSpawnSync(this: unknown, ...args: unknown[]) {
      const { spawn, rebuild } = readNativeSpawn(args);
      const { checked, node } = checkStart(spawn, pinned, judge);
      const result = original.apply(this, rebuild(checked)) as { pid?: unknown } | undefined;
      if (node && audit !== undefined) recordStart(audit, result?.pid);
      return result;
    },
  );
  guardExecve(pinned, judge, enforce);
  refuseBindings(enforce, judge);
}

/**
 * The checked start: strings only (read once), the pinned environment, early
 * loads judged and named by the real paths judged, and the working folder they
 * were judged in (its real path) given to the spawn, so that nothing run after
 * the check (a getter Node's native side reaches, a decision subscriber) can
 * move the child elsewhere.
 */
function checkStart(spawn: NativeSpawn, pinned: PinnedEnvironment, judge: StartJudge): { checked: CheckedSpawn; node: boolean } {
  if (typeof spawn.file !== 'string' || !Array.isArray(spawn.args) || (spawn.envPairs !== undefined && !Array.isArray(spawn.envPairs))) {
    throw new TrustloadError(ErrorCodes.UNSUPPORTED_LOAD, 'a process start whose file, arguments or environment are not plain strings cannot be checked');
  }
  const args = spawn.args.map(String);
  // No list at all: the child would inherit this process's current environment.
  const given = spawn.envPairs === undefined ? envPairs(pinned.live) : (spawn.envPairs as unknown[]).map(String);
  const { pairs, callerNodeOptions } = pinned.rewrite(given);
  const cwd = workingFolder(typeof spawn.cwd === 'string' && spawn.cwd !== '' ? resolve(spawn.cwd) : process.cwd());
  const judged = judge.process({ file: spawn.file, args, cwd, env: pairs, callerNodeOptions });
  const env = judged.callerNodeOptions === callerNodeOptions ? pairs : pinned.withCallerNodeOptions(pairs, judged.callerNodeOptions);
  return { checked: { file: spawn.file, args: judged.args, cwd, envPairs: env }, node: judged.node };
}

/**
 * A Node child this process started, in its audit chain: the child's own chain must then exist. A
 * start that cannot be recorded (enforce mode) ends the child, which could not record its loads either.
 */
function recordStart(audit: AuditTrail, pid: unknown): void {
  if (typeof pid !== 'number' || pid <= 0) return;
  try {
    audit.started('child', pid);
  } catch (err) {
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      // Already gone: nothing left to stop.
    }
    throw err;
  }
}

/** A folder by its real path, so that a link on the way changed later does not move the child; as given when it does not exist (the spawn then fails). */
function workingFolder(path: string): string {
  try {
    return realpathSync.native(path);
  } catch {
    return path;
  }
}

function guardExecve(pinned: PinnedEnvironment, judge: StartJudge, enforce: boolean): void {
  const execve = (process as unknown as { execve?: AnyFunction }).execve;
  if (typeof execve !== 'function') return;
  const channel = diagnostics.channel('process.execve');
  (process as unknown as { execve: AnyFunction }).execve = function guardedExecve(this: unknown, file: unknown, args: unknown = [], env: unknown = pinned.live) {
    // Node publishes the final arguments to subscribers, which may change them after this check.
    if (channel.hasSubscribers) refuse(new TrustloadError(ErrorCodes.UNSUPPORTED_LOAD, 'process.execve with a process.execve diagnostics subscriber cannot be checked'), enforce, judge);
    if (typeof env !== 'object' || env === null) throw new TrustloadError(ErrorCodes.UNSUPPORTED_LOAD, 'process.execve needs an environment object');
    const { checked } = checkStart({ file, args, cwd: undefined, envPairs: envPairs(env as Record<string, unknown>) }, pinned, judge);
    // No prototype: nothing inherited is read as a variable, and no getter runs between the check and the exec.
    const pinnedEnv: Record<string, string> = Object.create(null);
    for (const pair of [...checked.envPairs].reverse()) {
      const eq = pair.indexOf('=', 1);
      if (eq !== -1) pinnedEnv[pair.slice(0, eq)] = pair.slice(eq + 1);
    }
    // The new program starts in this process's folder: the one its loads were judged in, whatever a subscriber did since.
    process.chdir(checked.cwd);
    return execve.call(this, checked.file, checked.args, pinnedEnv);
  };
}

/** The raw bindings start processes the wrappers above cannot see coming (their objects are wrapped, but not every use). */
function refuseBindings(enforce: boolean, judge: StartJudge): void {
  const processWithBinding = process as unknown as { binding: (name: string) => unknown };
  const binding = processWithBinding.binding;
  processWithBinding.binding = function guardedBinding(this: unknown, name: unknown) {
    const id = String(name);
    if (id === 'spawn_sync' || id === 'process_wrap') {
      refuse(new TrustloadError(ErrorCodes.UNSUPPORTED_LOAD, `process.binding('${id}') starts processes outside child_process`), enforce, judge);
    }
    return binding.call(this ?? process, id);
  };
}

/** Replaces `target[name]` for good: neither reassigned nor deleted, so the native function stays out of reach. */
function lockMethod(target: Record<string, unknown>, name: string, wrap: (original: AnyFunction) => AnyFunction): void {
  const original = target[name] as AnyFunction;
  Object.defineProperty(target, name, { value: wrap(original), writable: false, configurable: false, enumerable: true });
}

function refuse(error: TrustloadError, enforce: boolean, judge: StartJudge): void {
  if (enforce) {
    judge.announce(error);
    throw error;
  }
  process.stderr.write(`trustload: WARNING: ${error.describe()} (allowed: permissive mode)\n`);
}
