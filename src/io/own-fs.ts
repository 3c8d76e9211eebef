import * as fs from 'node:fs';
import type { FileHandle } from 'node:fs/promises';

/**
 * The fs functions trustload opens and reads files with. When a rule says
 * `"content": true`, src/hooks/content-reads.ts replaces these on the fs
 * module for the application; the guard's own reads (bundles, the bytes it
 * verifies, package.json files) must never be judged as the application's,
 * so it keeps the functions it found (keepOwnFs) before replacing them.
 */
const kept: { openSync?: typeof fs.openSync; readFileSync?: typeof fs.readFileSync; open?: (path: string, flags: number) => Promise<FileHandle> } = {};

export function keepOwnFs(): void {
  kept.openSync ??= fs.openSync;
  kept.readFileSync ??= fs.readFileSync;
  kept.open ??= fs.promises.open;
}

export function ownOpenSync(path: string, flags: number): number {
  return (kept.openSync ?? fs.openSync)(path, flags);
}

export function ownReadFileSync(path: string | number): Buffer {
  return (kept.readFileSync ?? fs.readFileSync)(path);
}

export function ownOpen(path: string, flags: number): Promise<FileHandle> {
  // fs.promises is read only here: start-up need not load node:fs/promises.
  return (kept.open ?? fs.promises.open)(path, flags);
}
