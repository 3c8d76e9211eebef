import { realpathSync } from 'node:fs';
import { resolve } from 'node:path';
import { ErrorCodes, TrustloadError } from '../errors.js';
import type { Guard } from '../guard/guard.js';

/**
 * Native addons are opened by the dynamic linker, which reads the file
 * itself: trustload can only verify the file just before process.dlopen
 * opens it. A file replaced in that window would load unverified; the
 * resolve hook checks it too, and SECURITY.md says so.
 */
export function guardAddons(guard: Guard): void {
  const dlopen = process.dlopen;
  process.dlopen = function guardedDlopen(this: unknown, target: { exports: unknown }, filename: string, ...rest: unknown[]) {
    let real: string;
    try {
      real = realpathSync.native(filename);
    } catch (err) {
      throw new TrustloadError(ErrorCodes.MISSING_FILE, `cannot open native addon: ${(err as Error).message}`, { path: filename, cause: err });
    }
    guard.loadFile(real, [resolve(filename)], { announce: true, asModule: true });
    return (dlopen as (...args: unknown[]) => void).call(this, target, filename, ...rest);
  } as typeof process.dlopen;
}
