import { closeSync, fstatSync, statSync, type Stats } from 'node:fs';
import { join } from 'node:path';
import { ErrorCodes, TrustloadError } from '../errors.js';
import { openFile } from './open-file.js';
import { HashPool } from './hash-pool.js';
import { hashBuffers, hashRanges, type HashJob } from './hash-ranges.js';
import { rangesFor, requireDigests, type Range } from './shards.js';
import type { ManifestEntry, VerifiedManifest } from './types.js';

/** Progress of a directory's hashing: bytes hashed so far, of `total` (the listed files' sizes when hashing began). */
export type OnProgress = (done: number, total: number) => void;

/**
 * One file to hash: the ranges to read, decided from the descriptor opened
 * (its fstat), and what to do with their digests, in range order, while
 * that descriptor is still open. Verification compares them with the
 * manifest; signing records them.
 */
export interface HashTarget {
  path: string;
  ranges(stat: Stats): readonly Range[];
  hashed(digests: readonly Buffer[], fd: number): void;
}

/** How targets are opened (whether a link is followed, what a failure calls the file), and how many ranges they hold in all. */
export interface HashOptions {
  allowSymlinks: boolean;
  /** "a file the manifest lists", "a file to sign". */
  what: string;
  /** No more threads are started than there are ranges. */
  ranges: number;
}

// Below this, starting worker threads (tens of milliseconds each, and in a guarded
// process each registers the guard) costs more than hashing in this thread.
const POOL_MIN_BYTES = 64 * 1024 * 1024;
// A batch is what one worker hashes per message: several small files, or one large range.
const BATCH_JOBS = 8;
const BATCH_BYTES = 8 * 1024 * 1024;

/**
 * Hashes the files of a verified manifest's `entries` and compares each
 * with its entry (see hashTargets); a refusal names the manifest's rule.
 */
export async function hashFiles(manifest: VerifiedManifest, entries: readonly ManifestEntry[], onProgress: OnProgress = () => {}): Promise<void> {
  const ranges = entries.reduce((sum, entry) => sum + (entry.kind === 'shards' ? entry.shards.length : 1), 0);
  const targets = entries.map((entry): HashTarget => {
    const path = join(manifest.dir, entry.name);
    return { path, ranges: (stat) => rangesFor(entry, stat.size, path), hashed: (digests) => requireDigests(entry, digests, path) };
  });
  try {
    await hashTargets(targets, { allowSymlinks: manifest.allowSymlinks, what: 'a file the manifest lists', ranges }, onProgress);
  } catch (err) {
    throw err instanceof TrustloadError && err.rule === undefined
      ? new TrustloadError(err.code, err.message, { path: err.path, rule: manifest.rule, expected: err.expected, found: err.found, cause: err.cause })
      : err;
  }
}

/**
 * The one hashing loop of signed directories: in worker threads (one per
 * core) for large sets, in this thread for small ones. Each file is opened
 * once here (refusing links that appeared since the listing, unless
 * allowed, and anything that is not a regular file) and its ranges read
 * from that descriptor.
 */
export async function hashTargets(targets: readonly HashTarget[], options: HashOptions, onProgress: OnProgress = () => {}): Promise<void> {
  const total = targets.reduce((sum, target) => sum + sizeHint(target.path), 0);
  let done = 0;
  const progress = (bytes: number): void => {
    done += bytes;
    onProgress(done, total);
  };
  const pool = total >= POOL_MIN_BYTES ? new HashPool(options.ranges, progress) : undefined;
  const jobs = new JobQueue(targets, options, pool?.size ?? 1);
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
  } finally {
    // Descriptors are closed only once no worker can read them any more.
    await pool?.close();
    jobs.closeAll();
  }
}

interface OpenFile {
  target: HashTarget;
  path: string;
  fd: number;
  digests: Buffer[];
  remaining: number;
}

type QueuedJob = HashJob & { file: OpenFile; index: number };

/**
 * The ranges still to hash, in the targets' order. Files are opened as their
 * ranges are needed, and checked and closed as soon as their last range is
 * hashed, so few are open whatever the directory's size: at most a batch per
 * hashing thread in flight, and one more being filled. With that limit,
 * `next` finds nothing only when every range has been handed out (files
 * whose ranges are all in flight number fewer than the limit).
 */
class JobQueue {
  readonly #targets: readonly HashTarget[];
  readonly #open: HashOptions;
  readonly #openLimit: number;
  #nextTarget = 0;
  // Ranges of open files not handed out yet, from #head on (a file may have many thousand shards: no shift()).
  #queue: QueuedJob[] = [];
  #head = 0;
  readonly #opened = new Set<OpenFile>();

  constructor(targets: readonly HashTarget[], open: HashOptions, threads: number) {
    this.#targets = targets;
    this.#open = open;
    this.#openLimit = BATCH_JOBS * (threads + 1);
  }

  next(): QueuedJob[] | undefined {
    while (this.#queue.length - this.#head < BATCH_JOBS && this.#opened.size < this.#openLimit && this.#nextTarget < this.#targets.length) {
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
    for (const file of this.#opened) closeSync(file.fd);
    this.#opened.clear();
  }

  #openNext(): void {
    const target = this.#targets[this.#nextTarget++]!;
    const { path } = target;
    const fd = openFile(path, this.#open.allowSymlinks, this.#open.what);
    const file: OpenFile = { target, path, fd, digests: [], remaining: 0 };
    this.#opened.add(file);
    const stat = fstatSync(fd);
    if (!stat.isFile()) throw new TrustloadError(ErrorCodes.UNSUPPORTED_LOAD, `${this.#open.what} is not a regular file`, { path });
    const ranges = target.ranges(stat);
    file.remaining = ranges.length;
    ranges.forEach(({ start, end }, index) => this.#queue.push({ fd, start, end, path, file, index }));
    if (ranges.length === 0) this.#finish(file);
  }

  #finish(file: OpenFile): void {
    file.target.hashed(file.digests, file.fd);
    this.#opened.delete(file);
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
