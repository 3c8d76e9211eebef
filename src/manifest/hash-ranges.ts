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

/**
 * SHA-256 of each job's range, in job order. Memory is two chunk buffers
 * whatever the sizes; the read of the next chunk overlaps hashing the
 * current one. This is the one hash loop of directory verification, shaped
 * so that a pool of worker threads (which share the process's descriptors)
 * can take the jobs instead.
 */
export async function hashRanges(jobs: readonly HashJob[]): Promise<Buffer[]> {
  const buffers = [Buffer.allocUnsafeSlow(CHUNK), Buffer.allocUnsafeSlow(CHUNK)];
  const digests: Buffer[] = [];
  for (const job of jobs) {
    const hash = createHash('sha256');
    let position = job.start;
    let turn = 0;
    let pending = job.end > position ? readChunk(job, buffers[0]!, position) : undefined;
    while (pending !== undefined) {
      const [buffer, n] = await pending;
      position += n;
      turn ^= 1;
      pending = job.end > position ? readChunk(job, buffers[turn]!, position) : undefined;
      hash.update(buffer.subarray(0, n));
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
