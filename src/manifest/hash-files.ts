import { closeSync, fstatSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { ErrorCodes, TrustloadError } from '../errors.js';
import { openFile } from './open-file.js';
import { HashPool } from './hash-pool.js';
import { hashBuffers, hashRanges, type HashJob } from './hash-ranges.js';
import { rangesFor, requireDigests } from './shards.js';
import type { ManifestEntry, VerifiedManifest } from './types.js';

/** Progress of a directory's hashing: bytes hashed so far, of `total` (the listed files' sizes when hashing began). */
export type OnProgress = (done: number, total: number) => void;

// Below this, starting worker threads (tens of milliseconds each, and in a guarded
// process each registers the guard) costs more than hashing in this thread.
const POOL_MIN_BYTES = 64 * 1024 * 1024;
// A batch is what one worker hashes per message: several small files, or one large range.
const BATCH_JOBS = 8;
const BATCH_BYTES = 8 * 1024 * 1024;

/**
 * Hashes the files of a verified manifest's `entries` and compares each
 * with its entry: in worker threads (one per core) for large directories, in this
 * thread for small ones, through the same hash loop. Each file is opened
 * once here (refusing links that appeared since the listing, and anything
 * that is not a regular file) and its ranges read from that descriptor.
 */
export async function hashFiles(manifest: VerifiedManifest, entries: readonly ManifestEntry[], onProgress: OnProgress = () => {}): Promise<void> {
  const total = entries.reduce((sum, entry) => sum + sizeHint(join(manifest.dir, entry.name)), 0);
  let done = 0;
  const progress = (bytes: number): void => {
    done += bytes;
    onProgress(done, total);
  };
  const ranges = entries.reduce((sum, entry) => sum + (entry.kind === 'shards' ? entry.shards.length : 1), 0);
  const pool = total >= POOL_MIN_BYTES ? new HashPool(ranges, progress) : undefined;
  const jobs = new JobQueue(manifest, entries, pool?.size ?? 1);
  try {
    if (pool === undefined) {
      const buffers = hashBuffers();
      for (let batch = jobs.next(); batch !== undefined; batch = jobs.next()) jobs.done(batch, await hashRanges(batch, buffers, progress));
    } else {
      await Promise.all(
        Array.from({ length: pool.size }, async (_, worker) => {
          for (let batch = jobs.next(); batch !== undefined; batch = jobs.next()) jobs.done(batch, await pool.hash(worker, batch));
        }),
      );
    }
  } catch (err) {
    throw err instanceof TrustloadError && err.rule === undefined
      ? new TrustloadError(err.code, err.message, { path: err.path, rule: manifest.rule, expected: err.expected, found: err.found, cause: err.cause })
      : err;
  } finally {
    // Descriptors are closed only once no worker can read them any more.
    await pool?.close();
    jobs.closeAll();
  }
}

interface OpenFile {
  entry: ManifestEntry;
  path: string;
  fd: number;
  digests: Buffer[];
  remaining: number;
}

type QueuedJob = HashJob & { file: OpenFile; index: number };

/**
 * The ranges still to hash, in manifest order. Files are opened as their
 * ranges are needed, and checked and closed as soon as their last range is
 * hashed, so few are open whatever the directory's size: at most a batch per
 * hashing thread in flight, and one more being filled. With that limit,
 * `next` finds nothing only when every range has been handed out (files
 * whose ranges are all in flight number fewer than the limit).
 */
class JobQueue {
  readonly #manifest: VerifiedManifest;
  readonly #entries: readonly ManifestEntry[];
  readonly #openLimit: number;
  #nextEntry = 0;
  // Ranges of open files not handed out yet, from #head on (a file may have many thousand shards: no shift()).
  #queue: QueuedJob[] = [];
  #head = 0;
  readonly #open = new Set<OpenFile>();

  constructor(manifest: VerifiedManifest, entries: readonly ManifestEntry[], threads: number) {
    this.#manifest = manifest;
    this.#entries = entries;
    this.#openLimit = BATCH_JOBS * (threads + 1);
  }

  next(): QueuedJob[] | undefined {
    while (this.#queue.length - this.#head < BATCH_JOBS && this.#open.size < this.#openLimit && this.#nextEntry < this.#entries.length) {
      this.#openNext();
    }
    const batch: QueuedJob[] = [];
    let bytes = 0;
    while (this.#head < this.#queue.length && batch.length < BATCH_JOBS && bytes < BATCH_BYTES) {
      const job = this.#queue[this.#head++]!;
      batch.push(job);
      bytes += job.end - job.start;
    }
    if (this.#head === this.#queue.length) {
      this.#queue = [];
      this.#head = 0;
    }
    return batch.length > 0 ? batch : undefined;
  }

  done(batch: readonly QueuedJob[], digests: readonly Buffer[]): void {
    batch.forEach((job, i) => {
      job.file.digests[job.index] = digests[i]!;
      if (--job.file.remaining === 0) this.#finish(job.file);
    });
  }

  closeAll(): void {
    for (const file of this.#open) closeSync(file.fd);
    this.#open.clear();
  }

  #openNext(): void {
    const entry = this.#entries[this.#nextEntry++]!;
    const path = join(this.#manifest.dir, entry.name);
    const fd = openFile(path, this.#manifest.allowSymlinks);
    const file: OpenFile = { entry, path, fd, digests: [], remaining: 0 };
    this.#open.add(file);
    const stat = fstatSync(fd);
    if (!stat.isFile()) throw new TrustloadError(ErrorCodes.UNSUPPORTED_LOAD, 'a file the manifest lists is not a regular file', { path });
    const ranges = rangesFor(entry, stat.size, path);
    file.remaining = ranges.length;
    ranges.forEach(({ start, end }, index) => this.#queue.push({ fd, start, end, path, file, index }));
    if (ranges.length === 0) this.#finish(file);
  }

  #finish(file: OpenFile): void {
    requireDigests(file.entry, file.digests, file.path);
    this.#open.delete(file);
    closeSync(file.fd);
  }
}

/** A file's size, only to choose between threads and to scale progress: the descriptor opened later is what is checked. */
function sizeHint(path: string): number {
  try {
    return statSync(path).size;
  } catch {
    return 0; // opening it refuses the directory with the reason
  }
}
