import { closeSync, constants, realpathSync } from 'node:fs';
import { ownOpenSync, ownReadFileSync } from '../io/own-fs.js';
import { ErrorCodes, TrustloadError } from '../errors.js';

interface Judged {
  /** The name the child opens. */
  opened: string;
  real: string;
  bytes: Buffer;
}

/**
 * The files judged for one start, as they were when judged. Judging announces
 * decisions, and a subscriber (or a getter reached on the way) can then swap
 * a judged file for a link or another file before the child opens it by the
 * same name: every one is checked again as the last step before the start,
 * by its real path and its bytes. Not by fs.Stats: building one assigns its
 * fields, which a setter or getter on Object.prototype can fake or break.
 */
export class JudgedFiles {
  readonly #files: Judged[] = [];

  /** `opened`, whose real path is `real`, as it is now (or as just read: `bytes`). */
  record(opened: string, real: string, bytes: Buffer = contentOf(real, opened)): void {
    this.#files.push({ opened, real, bytes });
  }

  /** Throws when any recorded file is no longer the one judged: reached through another link, other bytes, or gone. */
  confirm(): void {
    for (const file of this.#files) {
      if (realPathOf(file.opened) !== file.real || !contentOf(file.real, file.opened).equals(file.bytes)) {
        throw new TrustloadError(ErrorCodes.UNSUPPORTED_LOAD, 'a file a child would load changed after it was judged, before the child started', { path: file.opened });
      }
    }
  }
}

/** The bytes of a regular file reached by its real path: O_NOFOLLOW refuses a link put there, O_NONBLOCK a FIFO's wait. */
function contentOf(real: string, opened: string): Buffer {
  let fd: number;
  try {
    fd = ownOpenSync(real, constants.O_RDONLY | constants.O_NOFOLLOW | constants.O_NONBLOCK);
  } catch (err) {
    throw new TrustloadError(ErrorCodes.MISSING_FILE, `a child would load ${opened}, which cannot be opened`, { path: opened, cause: err });
  }
  try {
    return ownReadFileSync(fd);
  } catch (err) {
    throw new TrustloadError(ErrorCodes.UNSUPPORTED_LOAD, `a child would load ${opened}, which cannot be read`, { path: opened, cause: err });
  } finally {
    closeSync(fd);
  }
}

function realPathOf(path: string): string | undefined {
  try {
    return realpathSync.native(path);
  } catch {
    return undefined; // gone: not the file judged
  }
}
