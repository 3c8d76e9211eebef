// The entry of a hashing worker thread (dist/hash-worker.js): hashes the
// ranges of descriptors the calling thread opened and checked, one batch at
// a time, with the same two buffers for its whole life.
import { parentPort } from 'node:worker_threads';
import { TrustloadError } from '../errors.js';
import type { FromWorker } from './hash-pool.js';
import { hashBuffers, hashRanges, type HashJob } from './hash-ranges.js';

// Often enough for a progress line, rarely enough that messages cost nothing next to hashing.
const PROGRESS_STEP = 16 * 1024 * 1024;

const buffers = hashBuffers();
let unreported = 0;
const post = (message: FromWorker): void => parentPort!.postMessage(message);

// Imported anywhere but as a worker's entry (the module loads under `unmatched: deny` like any of trustload's files), it does nothing.
parentPort?.on('message', (jobs: HashJob[]) => {
  const onRead = (n: number): void => {
    unreported += n;
    if (unreported < PROGRESS_STEP) return;
    post({ progress: unreported });
    unreported = 0;
  };
  hashRanges(jobs, buffers, onRead).then(
    (digests) => {
      post({ progress: unreported, digests: digests.map((d) => d.toString('hex')) });
      unreported = 0;
    },
    (err: unknown) => {
      const error = err instanceof TrustloadError ? { code: err.code, message: err.message, path: err.path } : { message: String((err as Error)?.message ?? err) };
      post({ error });
    },
  );
});
