import module from 'node:module';
import type * as WorkerThreads from 'node:worker_threads';
import type { AuditTrail } from '../audit/trail.js';
import type { Guard } from '../guard/guard.js';
import { StartJudge } from './judge-start.js';
import { PinnedEnvironment } from './pinned-env.js';
import { guardProcessStarts } from './process-starts.js';
import { guardWorkers } from './workers.js';

/**
 * Every Node child and worker runs under the policy pinned now, whatever this
 * process later does to its environment. Process starts are guarded at once
 * (the native spawns cost nothing to reach); worker_threads costs milliseconds
 * to load, so Worker is replaced when the application first asks for the
 * module, before it gets it: the returned function is called for every builtin
 * the application asks for (register.ts: the resolve hook and
 * process.getBuiltinModule).
 */
export function guardChildren(guard: Guard, registerPath: string, audit?: AuditTrail): (builtinUrl: string) => void {
  const policy = { policyFile: guard.loaded.file!, policySha256: guard.loaded.sha256, mode: guard.mode, ...(audit === undefined ? {} : { auditParent: audit.writerId }) };
  const pinned = new PinnedEnvironment(process.env, policy, registerPath);
  pinned.applyToProcess();
  const judge = new StartJudge(guard, registerPath);
  guardProcessStarts(pinned, judge, guard.mode === 'enforce', audit);
  let workersGuarded = false;
  const onBuiltin = (id: string): void => {
    if (workersGuarded || (id !== 'node:worker_threads' && id !== 'worker_threads')) return;
    workersGuarded = true;
    guardWorkers(process.getBuiltinModule('node:worker_threads') as typeof WorkerThreads, pinned, judge, registerPath, audit);
    // ESM named imports of builtins are copies: refresh them so `import { Worker }` sees the replacement.
    module.syncBuiltinESMExports();
  };
  return onBuiltin;
}
