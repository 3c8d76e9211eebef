import { createHash } from 'node:crypto';
import { close, fstatSync, read } from 'node:fs';
import { Readable } from 'node:stream';
import { ErrorCodes, TrustloadError } from '../errors.js';
import { MAX_ARTIFACT_BYTES } from '../io/read.js';
import type { CoveredFile } from './directories.js';
import { openFile } from './open-file.js';
import { rangesFor, requireDigests, type Range } from './shards.js';

/**
 * A stream of a signed directory's file that releases each shard only after
 * its digest matched: the consumer never sees a byte that was not checked.
 * A `files` entry is one shard (the whole file), held in memory up to the
 * artifact cap; larger files must be signed with `shards`.
 */
export function verifiedReadStream({ manifest, entry, path }: CoveredFile): Readable {
  const fd = openFile(path, manifest.allowSymlinks);
  let ranges: Range[];
  try {
    const stat = fstatSync(fd);
    if (!stat.isFile()) throw new TrustloadError(ErrorCodes.UNSUPPORTED_LOAD, 'not a regular file', { path });
    ranges = rangesFor(entry, stat.size, path);
    const largest = Math.max(0, ...ranges.map((r) => r.end - r.start));
    if (largest > MAX_ARTIFACT_BYTES) {
      throw new TrustloadError(
        ErrorCodes.UNSUPPORTED_LOAD,
        entry.kind === 'file'
          ? `the file is ${stat.size} bytes and its manifest signs it whole (method "files"); streaming it verified needs shards: sign the directory with method "shards"`
          : `the manifest's shards are ${largest} bytes, more than the ${MAX_ARTIFACT_BYTES} a verified stream holds in memory`,
        { path, rule: manifest.rule },
      );
    }
  } catch (err) {
    close(fd, () => {});
    throw err;
  }
  let next = 0;
  const digests: Buffer[] = [];
  return new Readable({
    read() {
      const range = ranges[next++];
      if (range === undefined) {
        this.push(null);
        return;
      }
      readRange(fd, range, path).then(
        (bytes) => {
          digests.push(createHash('sha256').update(bytes).digest());
          try {
            // Digests of earlier shards matched already; a mismatch here names this shard.
            requireDigests(
              entry.kind === 'file' ? entry : { ...entry, shards: entry.shards.slice(0, digests.length) },
              digests,
              path,
            );
          } catch (err) {
            this.destroy(err as Error);
            return;
          }
          this.push(bytes);
        },
        (err: Error) => this.destroy(err),
      );
    },
    destroy(err, callback) {
      close(fd, () => callback(err));
    },
  });
}

function readRange(fd: number, { start, end }: Range, path: string): Promise<Buffer> {
  const buffer = Buffer.allocUnsafeSlow(end - start); // not pooled: see io/read.ts
  return new Promise((resolve, reject) => {
    const step = (offset: number): void => {
      if (offset === buffer.length) return resolve(buffer);
      read(fd, buffer, offset, buffer.length - offset, start + offset, (err, n) => {
        if (err) reject(new TrustloadError(ErrorCodes.MISSING_FILE, `cannot read the file: ${err.message}`, { path, cause: err }));
        else if (n === 0) reject(new TrustloadError(ErrorCodes.SIGNATURE, 'the file shrank while it was being read', { path }));
        else step(offset + n);
      });
    };
    step(0);
  });
}
