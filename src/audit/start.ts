import { resolve } from 'node:path';
import type { PinnedPolicy } from '../children/pinned-env.js';
import { environment } from '../environment.js';
import type { Guard } from '../guard/guard.js';
import { AuditTrail } from './trail.js';

/**
 * The audit trail of this process or worker, recording every decision of
 * `guard`. Its parent is the writer that started it: a worker's from the pin
 * its parent wrote into its `--import` (a worker may share or copy an
 * environment its parent changed), a process's from the pinned environment.
 */
export function startAuditTrail(guard: Guard, path: string, workerPin: PinnedPolicy | undefined): AuditTrail {
  const parent = workerPin === undefined ? environment.TRUSTLOAD_AUDIT_PARENT || undefined : workerPin.auditParent;
  // Asked only in a worker: loading worker_threads costs milliseconds of every start.
  const thread = workerPin === undefined ? undefined : (process.getBuiltinModule('node:worker_threads') as typeof import('node:worker_threads')).threadId;
  const trail = new AuditTrail(resolve(guard.loaded.baseDir, path), guard.mode === 'enforce', parent, thread);
  guard.recordDecisions((decision) => trail.decision(decision));
  return trail;
}
