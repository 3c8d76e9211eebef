import * as fs from 'node:fs';
import type { FileHandle } from 'node:fs/promises';

/**
 * The fs functions trustload opens, reads and examines files with, taken
 * when trustload starts, before application code runs. fs is one writable
 * object shared with the application: code that replaces fs.lstatSync or
 * fs.realpathSync.native would otherwise tell the guard where a path leads,
 * and a content rule's wrappers (src/hooks/content-reads.ts) must not judge
 * the guard's own reads as the application's.
 */
export const ownFs = Object.freeze({
  openSync: fs.openSync,
  readFileSync: fs.readFileSync,
  readSync: fs.readSync,
  fstatSync: fs.fstatSync,
  closeSync: fs.closeSync,
  statSync: fs.statSync,
  lstatSync: fs.lstatSync,
  readlinkSync: fs.readlinkSync,
  /** realpath(3): a third of the JS version's cost, same answer. */
  realpathSync: fs.realpathSync.native,
});

let keptOpen: ((path: string, flags: number) => Promise<FileHandle>) | undefined;

/**
 * fs.promises.open, kept when a content rule wraps fs: reading fs.promises
 * loads node:fs/promises and a dozen other modules, which start-up need not.
 */
export function keepOwnOpen(): void {
  keptOpen ??= fs.promises.open;
}

export function ownOpenSync(path: string, flags: number): number {
  return ownFs.openSync(path, flags);
}

export function ownReadFileSync(path: string | number): Buffer {
  return ownFs.readFileSync(path);
}

export function ownOpen(path: string, flags: number): Promise<FileHandle> {
  return (keptOpen ?? fs.promises.open)(path, flags);
}
