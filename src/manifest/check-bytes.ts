import { createHash } from 'node:crypto';
import { rangesFor, requireDigests } from './shards.js';
import type { ManifestEntry } from './types.js';

/** Checks bytes already in memory (the ones a caller will use) against their manifest entry. */
export function checkBytes(entry: ManifestEntry, bytes: Buffer, path: string): void {
  const digests = rangesFor(entry, bytes.length, path).map(({ start, end }) => createHash('sha256').update(bytes.subarray(start, end)).digest());
  requireDigests(entry, digests, path);
}
