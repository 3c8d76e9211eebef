import { randomBytes } from 'node:crypto';
import { closeSync, fsyncSync, openSync, renameSync, unlinkSync, writeSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { signingError } from './signing-error.js';

/**
 * The name of the temporary file a bundle is written to before it is
 * renamed into place: beside it (a rename stays in one file system), hidden,
 * random, so two signers never share one. Inside a signed directory it
 * exists only after hashing finished, so no manifest ever lists it.
 */
export function temporaryName(bundlePath: string): string {
  return join(dirname(bundlePath), `.${basename(bundlePath)}.${randomBytes(6).toString('hex')}.tmp`);
}

/**
 * Writes `text` to `bundlePath` all at once: to a new temporary file,
 * fsynced, then renamed over the old bundle (a link there is replaced, not
 * followed). Any failure removes the temporary file and leaves an existing
 * bundle untouched.
 */
export function writeBundle(bundlePath: string, text: string): void {
  const temporary = temporaryName(bundlePath);
  let fd: number | undefined;
  try {
    fd = openSync(temporary, 'wx', 0o644);
    const bytes = Buffer.from(text, 'utf8');
    for (let at = 0; at < bytes.length; ) at += writeSync(fd, bytes, at);
    fsyncSync(fd);
    closeSync(fd);
    fd = undefined;
    renameSync(temporary, bundlePath);
  } catch (err) {
    if (fd !== undefined) closeSync(fd);
    try {
      unlinkSync(temporary);
    } catch {
      // never created, or already renamed: nothing of ours is left behind either way
    }
    throw signingError(`cannot write the bundle ${bundlePath}: ${(err as Error).message}`);
  }
  syncFolder(dirname(bundlePath));
}

/** Makes the rename itself durable. */
function syncFolder(dir: string): void {
  let fd: number | undefined;
  try {
    fd = openSync(dir, 'r');
    fsyncSync(fd);
  } catch {
    // Some file systems refuse fsync on a folder; the bundle is written and renamed either way.
  } finally {
    if (fd !== undefined) closeSync(fd);
  }
}
