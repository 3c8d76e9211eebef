import { closeSync, constants, fstatSync, readSync } from 'node:fs';
import { ownOpenSync } from '../io/own-fs.js';
import { ErrorCodes, TrustloadError } from '../errors.js';
import type { ElfSource } from './elf.js';

/**
 * Runs `use` on an ELF file read through one descriptor, a few hundred bytes
 * where the reader asks: for files nobody verifies (system libraries, files
 * no rule covers), which may be far larger than what the reader needs.
 */
export function withElfFile<T>(path: string, use: (source: ElfSource) => T): T {
  let fd: number;
  try {
    // O_NONBLOCK: a FIFO planted under a library's name must not hang the process; fstat refuses it.
    fd = ownOpenSync(path, constants.O_RDONLY | constants.O_NONBLOCK);
  } catch (err) {
    throw new TrustloadError(ErrorCodes.UNSUPPORTED_LOAD, `cannot open library ${path}: ${(err as Error).message}`, { path, cause: err });
  }
  try {
    const stat = fstatSync(fd);
    if (!stat.isFile()) throw new TrustloadError(ErrorCodes.UNSUPPORTED_LOAD, `library ${path} is not a regular file`, { path });
    return use({
      size: stat.size,
      read(offset, length) {
        const bytes = Buffer.alloc(length);
        if (readSync(fd, bytes, 0, length, offset) !== length) {
          throw new TrustloadError(ErrorCodes.UNSUPPORTED_LOAD, `library ${path} changed while being read`, { path });
        }
        return bytes;
      },
    });
  } catch (err) {
    if (err instanceof TrustloadError) throw err;
    throw new TrustloadError(ErrorCodes.UNSUPPORTED_LOAD, `cannot read library ${path}: ${(err as Error).message}`, { path, cause: err });
  } finally {
    closeSync(fd);
  }
}
