import { resolve } from 'node:path';
import { asTrustloadError, ErrorCodes, TrustloadError, withContext } from '../errors.js';
import type { Guard } from '../guard/guard.js';
import { loadNativeModule } from '../guard/load-verifier.js';
import type { LinkedObject, Opened } from '../native/native.js';
import { ownFs } from '../io/own-fs.js';
import { isWithin } from '../paths/examine.js';

// Libraries the linker loads are module code: judged by their rule's whole folder, as the module hooks judge files.
const ANNOUNCE = { announce: true, asModule: true };

/**
 * Native addons are opened by the dynamic linker, which reads the file and
 * every library it links itself: trustload can only check them just before
 * process.dlopen runs. A file replaced in that window would load unverified;
 * the resolve hook checks the addon too, and SECURITY.md says so.
 */
export function guardAddons(guard: Guard): void {
  const dlopen = process.dlopen as (...args: unknown[]) => void;
  process.dlopen = function guardedDlopen(this: unknown, target: unknown, filename: unknown, ...rest: unknown[]) {
    // One string, made once: an object whose toString changes must not name one file to the check and another to the linker.
    const file = String(filename);
    checkNativeLoad(guard, file);
    return dlopen.call(this, target, file, ...rest);
  } as typeof process.dlopen;
}

/**
 * Checks what dlopen(`file`) would load: the file the linker finds for that
 * name and the libraries it links, as far as they lie inside the policy
 * folder. Each of those goes through guard.loadFile; a library that no rule
 * covers, below an addon or library that one does, is refused with the rule
 * it needs: a signed addon is only as safe as the libraries it runs.
 */
export function checkNativeLoad(guard: Guard, file: string): void {
  if (process.platform !== 'linux') {
    checkFileOnly(guard, file);
    return;
  }
  const native = loadNativeModule();
  // Errors the guard already announced and counted, passed on untouched by the catch at the end.
  const refusedByGuard = new WeakSet<object>();
  const decided = <T>(decide: () => T): T => {
    try {
      return decide();
    } catch (err) {
      refusedByGuard.add(err as object);
      throw err;
    }
  };
  const baseDir = guard.loaded.baseDir;
  const insideApp = (path: string): boolean => isWithin(baseDir, path) || isWithin(baseDir, realPath(path) ?? path);

  const open = (path: string, neededBy: LinkedObject | undefined): Opened => {
    const real = realPath(path);
    if (real === undefined) return { kind: 'absent' };
    if (!isWithin(baseDir, path) && !isWithin(baseDir, real)) {
      try {
        return { kind: 'outside', identity: native.withElfFile(real, native.elfIdentity) };
      } catch {
        return { kind: 'absent' }; // unreadable here: the linker may pass over it too, so the search goes on
      }
    }
    const decision = decided(() => guard.loadFile(real, [path], ANNOUNCE));
    const required = ruleAbove(neededBy);
    if (decision.rule === undefined && required !== undefined) {
      const message = `${neededBy!.path} (rule "${required}") links this library, but no rule covers it: sign it and protect it with rule "${required}"`;
      decided(() => guard.refuse(new TrustloadError(ErrorCodes.UNMATCHED, message, { path: real, rule: required }), ANNOUNCE));
    }
    try {
      // The bytes that were verified are the bytes read for their needs; a file no rule covers is read in place.
      const object = decision.bytes !== undefined ? native.readElfObject(native.bufferSource(decision.bytes), real) : native.withElfFile(real, (source) => native.readElfObject(source, real));
      return { kind: 'inside', object, rule: decision.rule };
    } catch (err) {
      const error = withContext(asTrustloadError(err, ErrorCodes.UNSUPPORTED_LOAD, 'cannot read the library'), { path: real, rule: decision.rule ?? required });
      decided(() => guard.refuse(error, ANNOUNCE));
      return { kind: 'outside', identity: undefined }; // permissive mode: loaded anyway, its needs unknown
    }
  };

  try {
    native.linkerClosure(file, { cwd: process.cwd(), ...native.runningProcess(), insideApp, open });
  } catch (err) {
    if (refusedByGuard.has(err as object)) throw err;
    guard.refuse(withContext(asTrustloadError(err, ErrorCodes.UNSUPPORTED_LOAD, 'cannot work out the libraries it loads'), { path: file }), ANNOUNCE);
  }
}

/**
 * Only Linux's dynamic linker is modelled; elsewhere (macOS's dyld reads
 * Mach-O load commands) the file itself is checked, not what it links.
 */
function checkFileOnly(guard: Guard, file: string): void {
  const real = realPath(file);
  if (real !== undefined) guard.loadFile(real, [resolve(file)], ANNOUNCE);
}

/** The rule of the nearest addon or library above, which a library it links must live up to. */
function ruleAbove(object: LinkedObject | undefined): string | undefined {
  for (let l = object; l !== undefined; l = l.loader) if (l.rule !== undefined) return l.rule;
  return undefined;
}

/** The real path, or undefined when nothing is there (the linker finds nothing either); any other error refuses. */
function realPath(path: string): string | undefined {
  try {
    return ownFs.realpathSync(path);
  } catch (err) {
    const errno = (err as NodeJS.ErrnoException).code;
    if (errno === 'ENOENT' || errno === 'ENOTDIR') return undefined;
    throw new TrustloadError(ErrorCodes.UNSUPPORTED_LOAD, `cannot examine a library the linker would look for: ${(err as Error).message}`, { path, cause: err });
  }
}


