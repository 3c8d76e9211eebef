import { constants, type Stats } from 'node:fs';
import { ErrorCodes, TrustloadError, type ErrorCode } from '../errors.js';
import { ownFs, ownOpenSync } from './own-fs.js';

/** Largest bundle we read. Real bundles are kilobytes; a model manifest of 100k files stays well below. */
export const MAX_BUNDLE_BYTES = 16 * 1024 * 1024;

/** Artifacts are code and content read whole into memory; anything larger is not something to load. */
export const MAX_ARTIFACT_BYTES = 1024 * 1024 * 1024;

/**
 * Reads an artifact (the file being checked, or returned by readVerified)
 * through one descriptor: a missing file is ERR_TRUSTLOAD_MISSING_FILE, and
 * a FIFO, device or folder is refused instead of blocking or misreading.
 */
export function readArtifactFile(path: string): Buffer {
  return readFileLimited(path, MAX_ARTIFACT_BYTES, 'file', ErrorCodes.UNSUPPORTED_LOAD, ErrorCodes.MISSING_FILE);
}

/**
 * Reads a whole file through one descriptor (a missing file is `missingCode`), refusing it before reading when
 * it is larger than `limit` (so a huge file never fills memory), and
 * refusing a file that grows while being read.
 */
export function readFileLimited(path: string, limit: number, what: string, code: ErrorCode, missingCode: ErrorCode = code): Buffer {
  let fd: number;
  try {
    // O_NONBLOCK: opening a FIFO must not wait for a writer; fstat below refuses it.
    fd = ownOpenSync(path, OPEN_FLAGS);
  } catch (err) {
    throw openError(err, path, what, code, missingCode);
  }
  try {
    const buffer = bufferFor(ownFs.fstatSync(fd), path, limit, what, code);
    let length = 0;
    for (;;) {
      const n = ownFs.readSync(fd, buffer, length, buffer.length - length, null);
      if (n === 0) break;
      length += n;
      if (length === buffer.length) throw new TrustloadError(code, `${what} ${path} grew while being read`);
    }
    return buffer.subarray(0, length);
  } catch (err) {
    throw readError(err, path, what, code);
  } finally {
    ownFs.closeSync(fd);
  }
}

export const OPEN_FLAGS = constants.O_RDONLY | constants.O_NONBLOCK;

export function openError(err: unknown, path: string, what: string, code: ErrorCode, missingCode: ErrorCode): TrustloadError {
  const errno = (err as NodeJS.ErrnoException).code;
  const missing = errno === 'ENOENT' || errno === 'ENOTDIR';
  return new TrustloadError(
    missing ? missingCode : code,
    missing ? `${what} ${path} does not exist` : `cannot open ${what} ${path}: ${(err as Error).message}`,
    { cause: err },
  );
}

/** Refuses what is not a regular file, or larger than `limit`, before reading; one byte more than the size shows growth. */
export function bufferFor(stat: Stats, path: string, limit: number, what: string, code: ErrorCode): Buffer {
  if (!stat.isFile()) throw new TrustloadError(code, `${what} ${path} is not a regular file`);
  if (stat.size > limit) {
    throw new TrustloadError(code, `${what} ${path} is ${stat.size} bytes; the limit is ${limit}`);
  }
  // Never from Buffer's shared pool: other code can reach that memory (Buffer.allocUnsafe(1).buffer)
  // and rewrite verified bytes before Node compiles them.
  return Buffer.allocUnsafeSlow(Math.min(stat.size, limit) + 1);
}

export function readError(err: unknown, path: string, what: string, code: ErrorCode): TrustloadError {
  if (err instanceof TrustloadError) return err;
  return new TrustloadError(code, `cannot read ${what} ${path}: ${(err as Error).message}`, { cause: err });
}
