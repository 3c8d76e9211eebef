import { resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { startAuditTrail } from './audit/start.js';
import { guardChildren } from './children/guard-children.js';
import { removeWhenProcessEnds, writeTemporaryPolicy, type TemporaryPolicy } from './children/temporary-policy.js';
import { workerPin } from './children/workers.js';
import { environment } from './environment.js';
import { ErrorCodes, TrustloadError } from './errors.js';
import { Guard, type Mode } from './guard/guard.js';
import { guardAddons } from './hooks/addons.js';
import { disableCompileCache } from './hooks/compile-cache.js';
import { guardContentReads } from './hooks/content-reads.js';
import { lockDownLoader } from './hooks/lockdown.js';
import { installModuleHooks } from './hooks/module-hooks.js';
import { announceLearning, learningFile } from './lock/learner.js';
import { guardNativeBuiltins } from './hooks/native-builtins.js';
import { hasRegisterHooks, isSupportedNode, SUPPORTED_NODE_RANGE } from './node-features.js';
import { loadPolicyFile, loadPolicyObject, policyPathFromEnv, type LoadedPolicy } from './policy/load-policy.js';
import { ruleFolderWarnings } from './policy/rule-folder-warnings.js';
import type { Policy } from './policy/schema.js';
import { watchVerifiedFiles } from './watch/watch-guard.js';

export interface RegisterOptions {
  /** A policy file's path, or a policy object (which then needs `baseDir`). Default: TRUSTLOAD_POLICY, else ./trustload.policy.json. */
  policy?: string | Policy;
  /** For a policy object: the folder its relative paths and globs are anchored at. */
  baseDir?: string;
  /** No line on stderr when the guard refuses a load (the host reports the error it catches); `trustload:decision` still fires. */
  quiet?: boolean;
}

// dist/*.js sits one folder below the package root, where register.mjs is.
const REGISTER_PATH = fileURLToPath(new URL('../register.mjs', import.meta.url));

// The guard whose hooks run in this thread; and, before register() (or without it), the one
// the API built from the environment. Kept apart so that using the API first never makes a
// later register() think the hooks are already in place.
let registered: Guard | undefined;
let apiOnly: Guard | undefined;

/**
 * Starts the guard in this thread: reads and pins the policy and everything it
 * trusts, hooks every import and require, native addon, child process and
 * worker. What `node --import trustload/register` does; plugin hosts may call
 * it from code instead. Throws ERR_TRUSTLOAD_POLICY when anything is wrong.
 */
export function register(options: RegisterOptions = {}): void {
  if (!isSupportedNode() || !hasRegisterHooks) {
    throw new TrustloadError(ErrorCodes.POLICY, `Node.js ${process.versions.node} is not supported: trustload needs ${SUPPORTED_NODE_RANGE}`);
  }
  if (registered !== undefined) {
    // Compared by digest alone: the pin in the environment is this guard's own, and would only say "mismatch".
    const { loaded: asked, temporary } = loadPolicy(options, undefined);
    temporary?.remove(); // the running guard's own copy is the one its children use
    if (registered.loaded.sha256 === asked.sha256) return;
    const running = `${registered.loaded.file} (sha256 ${registered.loaded.sha256})`;
    throw new TrustloadError(
      ErrorCodes.POLICY,
      `a process has one policy, and this one already runs ${running}; register() cannot switch it to ${temporary === undefined ? asked.file : 'the policy object given'}: merge what both allow into one policy`,
      { path: temporary === undefined ? asked.file : undefined, expected: `sha256:${registered.loaded.sha256}`, found: `sha256:${asked.sha256}` },
    );
  }
  const { loaded, temporary } = loadPolicy(options, environment.TRUSTLOAD_POLICY_SHA256 || undefined);
  try {
    start(loaded, Object.hasOwn(options, 'quiet') && options.quiet === true);
  } catch (err) {
    temporary?.remove();
    throw err;
  }
  if (temporary !== undefined) removeWhenProcessEnds(temporary);
}

function start(loaded: LoadedPolicy, quiet: boolean): void {
  const mode = resolveMode(loaded);
  const learnInto = learningFile(environment, mode);
  const guard = Guard.forPolicy(loaded, mode, quiet, learnInto);
  guard.requireForProtectedLoads(disableCompileCache(mode === 'enforce'));
  const audit = loaded.policy.audit === undefined ? undefined : startAuditTrail(guard, loaded.policy.audit.path, workerPin(process.execArgv, REGISTER_PATH));
  const onChildBuiltin = guardChildren(guard, REGISTER_PATH, audit);
  const onNativeBuiltin = guardNativeBuiltins(guard);
  const onContentBuiltin = guardContentReads(guard);
  const onBuiltin = (id: string): void => {
    onChildBuiltin(id);
    onNativeBuiltin(id);
    onContentBuiltin(id);
  };
  // Builtins are wrapped when the application first asks for one, before it gets it: through import or
  // require (the resolve hook) and through process.getBuiltinModule.
  const getBuiltinModule = process.getBuiltinModule;
  process.getBuiltinModule = function guardedGetBuiltinModule(id: string) {
    onBuiltin(id);
    return getBuiltinModule.call(process, id);
  } as typeof process.getBuiltinModule;
  installModuleHooks(guard, onBuiltin);
  // Code given with -e/-p has no file: like a data: URL, the policy's `unmatched` decides.
  if (runsEvalCode(process.execArgv)) guard.loadUrl('[eval] (node -e / -p)', { announce: false });
  guardAddons(guard);
  // Once per process: a worker the guard started runs its parent's policy, which its parent already checked.
  if (workerPin(process.execArgv, REGISTER_PATH) === undefined) {
    for (const warning of ruleFolderWarnings(loaded.policy, loaded.baseDir)) process.stderr.write(`trustload: WARNING: ${warning}\n`);
  }
  if (learnInto !== undefined) announceLearning(learnInto);
  else if (mode === 'permissive') announcePermissive(guard);
  if (loaded.policy.watch === true) watchVerifiedFiles(guard);
  if (loaded.policy.lockdown) lockDownLoader((path) => guard.rules.moduleRuleFor(path) !== undefined);
  registered = guard;
}

/** The guard this thread runs, or one built from the environment's policy (without hooks) for the API. */
export function activeGuard(): Guard {
  if (registered !== undefined) return registered;
  if (apiOnly === undefined) {
    const { loaded } = loadPolicy({}, environment.TRUSTLOAD_POLICY_SHA256 || undefined);
    apiOnly = Guard.forPolicy(loaded, resolveMode(loaded));
  }
  return apiOnly;
}

/** -e, -p, -pe, --eval, --print, --eval=...: the process runs code from its command line. */
function runsEvalCode(execArgv: readonly string[]): boolean {
  return execArgv.some((arg) => /^--(?:eval|print)(?:=|$)/.test(arg) || /^-[A-Za-z]*[ep][A-Za-z]*$/.test(arg));
}

/** The policy to run, and for a policy object the file written for children (see writeTemporaryPolicy). */
function loadPolicy(options: RegisterOptions, pin: string | undefined): { loaded: LoadedPolicy; temporary?: TemporaryPolicy } {
  // Own fields only: an option left out must not be read from a polluted Object.prototype.
  const policyOption = Object.hasOwn(options, 'policy') ? options.policy : undefined;
  const baseDir = Object.hasOwn(options, 'baseDir') ? options.baseDir : undefined;
  if (policyOption === undefined) {
    // A worker the guard started runs the policy its parent pinned, whatever the environment it shares or copied says.
    const worker = workerPin(process.execArgv, REGISTER_PATH);
    return { loaded: worker === undefined ? loadPolicyFile(policyPathFromEnv(environment), pin) : loadPolicyFile(worker.policyFile, worker.policySha256) };
  }
  if (typeof policyOption === 'string') return { loaded: loadPolicyFile(resolve(policyOption), pin) };
  if (baseDir === undefined) {
    throw new TrustloadError(ErrorCodes.POLICY, 'register({ policy }) with a policy object needs baseDir: the folder its paths and globs are anchored at');
  }
  // Children get the object as a pinned file; its baseDir keeps globs anchored where they were.
  const { policy, baseDir: anchor } = loadPolicyObject(policyOption, baseDir);
  const temporary = writeTemporaryPolicy(`${JSON.stringify({ ...policy, baseDir: anchor }, null, 2)}\n`);
  try {
    return { loaded: loadPolicyFile(temporary.file), temporary };
  } catch (err) {
    temporary.remove();
    throw err;
  }
}

/** TRUSTLOAD_MODE=permissive needs the policy's consent; it never makes anything stricter loose by itself. */
function resolveMode(loaded: LoadedPolicy): Mode {
  const requested = workerPin(process.execArgv, REGISTER_PATH)?.mode ?? environment.TRUSTLOAD_MODE;
  if (requested === undefined || requested === '') return loaded.policy.mode ?? 'enforce';
  if (requested === 'enforce') return 'enforce';
  if (requested !== 'permissive') {
    throw new TrustloadError(ErrorCodes.POLICY, `TRUSTLOAD_MODE must be "enforce" or "permissive", not ${JSON.stringify(requested)}`);
  }
  if (loaded.policy.allowPermissive !== true) {
    throw new TrustloadError(ErrorCodes.POLICY, `TRUSTLOAD_MODE=permissive, but policy ${loaded.file} does not say "allowPermissive": true`);
  }
  return 'permissive';
}

function announcePermissive(guard: Guard): void {
  process.stderr.write(`trustload: WARNING: permissive mode: unsigned or tampered files load with a warning (policy ${guard.loaded.file})\n`);
  process.on('exit', () => {
    const files = guard.warnedFiles();
    if (files.length > 0) {
      process.stderr.write(`trustload: WARNING: permissive mode let ${files.length} file(s) load that enforce mode would refuse\n`);
    }
  });
}
