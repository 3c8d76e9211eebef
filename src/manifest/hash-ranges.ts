import { createHash } from 'node:crypto';
import { read } from 'node:fs';
import { ErrorCodes, TrustloadError } from '../errors.js';

/** One range of an open file to hash. The descriptor stays the caller's: it is shared, never closed here. */
export interface HashJob {
  fd: number;
  start: number;
  end: number;
  /** For messages. */
  path: string;
}

const CHUNK = 1024 * 1024;

/** The two read buffers of one hashing thread, allocated once and reused for every job it runs. */
export type HashBuffers = readonly [Buffer, Buffer];

export function hashBuffers(): HashBuffers {
  // Not pooled: see io/read.ts.
  return [Buffer.allocUnsafeSlow(CHUNK), Buffer.allocUnsafeSlow(CHUNK)];
}

/**
 * SHA-256 of each job's range, in job order. Memory is two chunk buffers
 * whatever the sizes; the read of the next chunk overlaps hashing the
 * current one. This is the one hash loop of directory verification: the
 * caller's thread runs it for small directories, each worker of the hashing
 * pool for large ones (workers share the process's descriptors). `onRead` is
 * told every chunk's length, for progress.
 */
export async function hashRanges(jobs: readonly HashJob[], buffers: HashBuffers, onRead: (bytes: number) => void = () => {}): Promise<Buffer[]> {
  const digests: Buffer[] = [];
  for (const job of jobs) {
    const hash = createHash('sha256');
    let position = job.start;
    let turn = 0;
    let pending = job.end > position ? readChunk(job, buffers[0], position) : undefined;
    while (pending !== undefined) {
      const [buffer, n] = await pending;
      position += n;
      turn ^= 1;
      pending = job.end > position ? readChunk(job, buffers[turn]!, position) : undefined;
      hash.update(buffer.subarray(0, n));
      onRead(n);
    }
    digests.push(hash.digest());
  }
  return digests;
}

function readChunk(job: HashJob, buffer: Buffer, position: number): Promise<[Buffer, number]> {
  const length = Math.min(buffer.length, job.end - position);
  return new Promise((resolve, reject) => {
    read(job.fd, buffer, 0, length, position, (err, n) => {
      if (err) reject(new TrustloadError(ErrorCodes.MISSING_FILE, `cannot read ${job.path}: ${err.message}`, { path: job.path, cause: err }));
      else if (n === 0) reject(new TrustloadError(ErrorCodes.SIGNATURE, 'the file shrank while it was being hashed', { path: job.path }));
      else resolve([buffer, n]);
    });
  });
}
