import type { Stats } from 'node:fs';
import { isAbsolute, relative, sep } from 'node:path';
import { ErrorCodes, TrustloadError } from '../errors.js';
import { ownFs, ownReadFileSync } from '../io/own-fs.js';

/**
 * The file system calls of path reasoning, through trustload's own copies of
 * the fs functions (the application's fs may lie about links). A name that is not there is an
 * answer; any other error (ELOOP, ENAMETOOLONG, EACCES, EMFILE...) means the
 * path cannot be reasoned about, and the load it was deciding is refused.
 */
export function entryAt(path: string, followLinks: boolean): Stats | undefined {
  try {
    return (followLinks ? ownFs.statSync : ownFs.lstatSync)(path, { throwIfNoEntry: false });
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOTDIR') return undefined;
    throw cannotExamine(path, err);
  }
}

/** lstat of a name that must exist (it is on the way to a file Node resolved). */
export function linkStat(path: string): Stats {
  try {
    return ownFs.lstatSync(path);
  } catch (err) {
    throw cannotExamine(path, err);
  }
}

export function linkTarget(path: string): string {
  try {
    return ownFs.readlinkSync(path);
  } catch (err) {
    throw cannotExamine(path, err);
  }
}

export function realPathOf(path: string): string {
  try {
    return ownFs.realpathSync(path);
  } catch (err) {
    throw cannotExamine(path, err);
  }
}

export function readText(path: string): string {
  try {
    return ownReadFileSync(path).toString('utf8');
  } catch (err) {
    throw cannotExamine(path, err);
  }
}

function cannotExamine(path: string, err: unknown): TrustloadError {
  return new TrustloadError(ErrorCodes.UNSUPPORTED_LOAD, `cannot examine this path: ${err instanceof Error ? err.message : String(err)}`, { path, cause: err });
}

/** Whether `path` is `dir` or below it (`..x`, a name starting with two dots, is below). */
export function isWithin(dir: string, path: string): boolean {
  const rel = relative(dir, path);
  return rel === '' || (rel !== '..' && !rel.startsWith(`..${sep}`) && !isAbsolute(rel));
}
