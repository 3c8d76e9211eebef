import { availableParallelism } from 'node:os';
import type * as WorkerThreads from 'node:worker_threads';
import { asTrustloadError, ErrorCodes, TrustloadError, type ErrorCode } from '../errors.js';
import type { HashJob } from './hash-ranges.js';

/** What a hashing worker posts: bytes hashed since its last message, then a batch's digests (hex, in job order) or its failure. */
export type FromWorker =
  | { progress: number; digests?: string[] }
  | { error: { code?: ErrorCode; message: string; path?: string } };

const CODES = new Set<string>(Object.values(ErrorCodes));

/**
 * One worker thread per available core, each running dist/hash-worker.js.
 * Threads share the process's descriptors: the caller opens and checks each
 * file once, and workers read those very descriptors. The first failure of
 * any worker (an error it reports, an exception, an exit) terminates every
 * worker and rejects every batch still running, so nothing waits on a worker
 * that will never answer.
 */
export class HashPool {
  readonly size: number;
  readonly #workers: WorkerThreads.Worker[] = [];
  readonly #pending = new Map<WorkerThreads.Worker, { resolve: (digests: Buffer[]) => void; reject: (err: TrustloadError) => void }>();
  #failure: TrustloadError | undefined;

  constructor(wanted: number, onProgress: (bytes: number) => void) {
    this.size = Math.max(1, Math.min(wanted, availableParallelism()));
    try {
      for (let i = 0; i < this.size; i++) this.#start(onProgress);
    } catch (err) {
      // Those already started are stopped; every batch then fails with this.
      this.#fail(asTrustloadError(err, ErrorCodes.UNSUPPORTED_LOAD, 'cannot start a hashing worker'));
    }
  }

  #start(onProgress: (bytes: number) => void): void {
    // Asked for now, not imported: worker_threads costs milliseconds to load, and a guarded process hands
    // out its guarded Worker (which starts each worker under the pinned policy) through getBuiltinModule.
    const { Worker } = process.getBuiltinModule('node:worker_threads') as typeof WorkerThreads;
    // None of this process's own options: hashing needs none, and each preload would run again in every worker.
    const worker = new Worker(new URL('./hash-worker.js', import.meta.url), { execArgv: [] });
    worker.on('message', (message: FromWorker) => {
      if ('error' in message) {
        const { code, message: reason, path } = message.error;
        this.#fail(new TrustloadError(code !== undefined && CODES.has(code) ? code : ErrorCodes.UNSUPPORTED_LOAD, reason, { path }));
        return;
      }
      onProgress(message.progress);
      if (message.digests === undefined) return;
      const pending = this.#pending.get(worker);
      this.#pending.delete(worker);
      pending?.resolve(message.digests.map((hex) => Buffer.from(hex, 'hex')));
    });
    worker.on('error', (err) => this.#fail(workerFailure(`a hashing worker failed: ${err.message}`, err)));
    worker.on('exit', (code) => this.#fail(workerFailure(`a hashing worker stopped (exit code ${code})`)));
    this.#workers.push(worker);
  }

  /** Hashes a batch on worker `index`, which must be idle. */
  hash(index: number, jobs: readonly HashJob[]): Promise<Buffer[]> {
    if (this.#failure !== undefined) return Promise.reject(this.#failure);
    const worker = this.#workers[index]!;
    return new Promise((resolve, reject) => {
      this.#pending.set(worker, { resolve, reject });
      // Only the ranges: a message is a copy of everything it holds.
      worker.postMessage(jobs.map(({ fd, start, end, path }): HashJob => ({ fd, start, end, path })));
    });
  }

  /** Stops every worker; resolves once none can read a descriptor any more. */
  async close(): Promise<void> {
    this.#failure ??= workerFailure('the hashing pool was closed');
    this.#rejectPending();
    await Promise.all(this.#workers.map((w) => w.terminate()));
  }

  #fail(error: TrustloadError): void {
    if (this.#failure !== undefined) return;
    this.#failure = error;
    this.#rejectPending();
    for (const worker of this.#workers) void worker.terminate();
  }

  #rejectPending(): void {
    for (const { reject } of this.#pending.values()) reject(this.#failure!);
    this.#pending.clear();
  }
}

function workerFailure(message: string, cause?: Error): TrustloadError {
  // An error the guard raised inside the worker (its entry refused) keeps its code.
  const code = (cause as { code?: unknown } | undefined)?.code;
  return new TrustloadError(typeof code === 'string' && CODES.has(code) ? (code as ErrorCode) : ErrorCodes.UNSUPPORTED_LOAD, message, { cause });
}
