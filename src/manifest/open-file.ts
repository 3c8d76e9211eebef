import { constants } from 'node:fs';
import { ErrorCodes, TrustloadError } from '../errors.js';
import { ownOpenSync } from '../io/own-fs.js';

/**
 * Opens a listed file; without allow_symlinks a link that appeared since the
 * listing is refused, not followed. Non-blocking, so that a FIFO put in a
 * file's place cannot stall the open or a read (its fstat then refuses it).
 * `what` names the file in a refusal.
 */
export function openFile(path: string, allowSymlinks: boolean, what = 'a file the manifest lists'): number {
  try {
    return ownOpenSync(path, constants.O_RDONLY | constants.O_NONBLOCK | (allowSymlinks ? 0 : constants.O_NOFOLLOW));
  } catch (err) {
    const errno = (err as NodeJS.ErrnoException).code;
    const missing = errno === 'ENOENT' || errno === 'ENOTDIR';
    throw new TrustloadError(missing ? ErrorCodes.MISSING_FILE : ErrorCodes.UNSUPPORTED_LOAD, `cannot open ${what}: ${(err as Error).message}`, { path, cause: err });
  }
}
