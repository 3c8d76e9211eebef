import { appendFileSync } from 'node:fs';
import { ErrorCodes, TrustloadError } from '../errors.js';

/** The variable a learning run (trustload lock) sets: the file every guarded process of the run appends its loads to. */
export const LEARN_VARIABLE = 'TRUSTLOAD_LOCK_LEARN';

// Taken before application code runs.
const getBuiltinModule = process.getBuiltinModule;

/**
 * A learning run's recorder: each file a guarded process loads that no
 * signer rule covers, with the digest of the bytes handed to Node, appended
 * as one JSON line `[path, sha256]` to the run's file. The process, its
 * children and its workers all inherit the variable through the pinned
 * environment and append to the same file (one small O_APPEND write a
 * record); `trustload lock` checks each record against the disk when the
 * command ends (recheck-loads.ts).
 */
export class Learner {
  readonly #hash: (bytes: Buffer) => string;

  constructor(readonly file: string) {
    const { createHash } = getBuiltinModule('node:crypto') as typeof import('node:crypto');
    this.#hash = (bytes) => createHash('sha256').update(bytes).digest('hex');
  }

  record(realPath: string, bytes: Buffer): string {
    const digest = this.#hash(bytes);
    try {
      appendFileSync(this.file, `${JSON.stringify([realPath, digest])}\n`);
    } catch (err) {
      throw new TrustloadError(ErrorCodes.POLICY, `learning run: cannot record ${realPath} in ${this.file}: ${(err as Error).message}`, { path: realPath, cause: err });
    }
    return digest;
  }
}

/**
 * The record file of the learning run this process belongs to, if any.
 * Learning never refuses, so it runs only in permissive mode, which the
 * policy must allow: the variable alone cannot switch a guard off.
 */
export function learningFile(env: Readonly<Partial<Record<string, string>>>, mode: 'enforce' | 'permissive'): string | undefined {
  const file = env[LEARN_VARIABLE];
  if (file === undefined || file === '') return undefined;
  if (mode !== 'permissive') {
    throw new TrustloadError(ErrorCodes.POLICY, `${LEARN_VARIABLE} is set, but a learning run needs permissive mode: start it with trustload lock -- COMMAND`);
  }
  return file;
}

/** Said on every guarded process of a learning run: nothing is refused while it lasts. */
export function announceLearning(file: string): void {
  process.stderr.write(`trustload: LEARNING: nothing is refused; every load no signer rule covers is recorded for the lock (${file})\n`);
}
