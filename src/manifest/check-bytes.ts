import { createHash } from 'node:crypto';
import { rangesFor, requireDigests } from './shards.js';
import type { ManifestEntry } from './types.js';

/**
 * Checks bytes already in memory (the ones a caller will use) against their
 * manifest entry. `sha256`, the whole content's digest when the caller has
 * it, stands in for the one range that covers everything (a `files` entry,
 * or a file within one shard), so most files cost a single hash.
 */
export function checkBytes(entry: ManifestEntry, bytes: Buffer, path: string, sha256?: Buffer): void {
  const digests = rangesFor(entry, bytes.length, path).map(({ start, end }) =>
    sha256 !== undefined && start === 0 && end === bytes.length ? sha256 : createHash('sha256').update(bytes.subarray(start, end)).digest(),
  );
  requireDigests(entry, digests, path);
}
