import { ErrorCodes, TrustloadError } from '../errors.js';
import type { ManifestEntry } from './types.js';

export interface Range {
  start: number;
  end: number;
}

/** The byte ranges that must be hashed to check an entry against a file of `size` bytes. */
export function rangesFor(entry: ManifestEntry, size: number, path: string): Range[] {
  if (entry.kind === 'file') return [{ start: 0, end: size }];
  // model_signing cuts a file of this size into exactly these shards; anything else, appended bytes included, differs.
  if (size > entry.size) {
    throw new TrustloadError(ErrorCodes.SIGNATURE, `${size - entry.size} byte(s) were appended after the last signed shard`, {
      path,
      expected: `${entry.size} bytes`,
      found: `${size} bytes`,
    });
  }
  if (size < entry.size) {
    throw new TrustloadError(ErrorCodes.SIGNATURE, 'the file is shorter than the shards the manifest signs', {
      path,
      expected: `${entry.size} bytes`,
      found: `${size} bytes`,
    });
  }
  return entry.shards;
}

/** Compares computed digests with the entry's, in range order; the first difference refuses the file. */
export function requireDigests(entry: ManifestEntry, digests: readonly Buffer[], path: string): void {
  const expected = entry.kind === 'file' ? [entry.sha256] : entry.shards.map((s) => s.sha256);
  expected.forEach((want, i) => {
    const got = digests[i];
    if (got !== undefined && got.equals(want)) return;
    const where = entry.kind === 'file' ? '' : ` (bytes ${entry.shards[i]!.start} to ${entry.shards[i]!.end})`;
    throw new TrustloadError(ErrorCodes.SIGNATURE, `the file's content differs from what the manifest signs${where}`, {
      path,
      expected: `sha256:${want.toString('hex')}`,
      found: got === undefined ? 'nothing' : `sha256:${got.toString('hex')}`,
    });
  });
}
