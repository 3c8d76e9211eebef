import type * as Sqlite from 'node:sqlite';
import type { Guard } from '../guard/guard.js';
import { checkNativeLoad } from './addons.js';

type AnyFunction = (...args: unknown[]) => unknown;

// The suffix SQLite adds when the path as given does not load.
const SHARED_LIBRARY_SUFFIX = process.platform === 'darwin' ? 'dylib' : process.platform === 'win32' ? 'dll' : 'so';

/**
 * Builtins other than process.dlopen that load native code from a path go
 * through the same check. node:sqlite costs time to load, so it is wrapped
 * when the application first asks for it, before it gets it: the returned
 * function is called by the resolve hook for every builtin resolved, and
 * process.getBuiltinModule is wrapped to call it too.
 */
export function guardNativeBuiltins(guard: Guard): (builtinUrl: string) => void {
  let wrapped = false;
  const wrapOnFirstUse = (id: string): void => {
    if (wrapped || (id !== 'node:sqlite' && id !== 'sqlite')) return;
    wrapped = true;
    guardSqliteExtensions(guard, process.getBuiltinModule('node:sqlite') as typeof Sqlite);
  };
  const getBuiltinModule = process.getBuiltinModule;
  process.getBuiltinModule = function guardedGetBuiltinModule(id: string) {
    wrapOnFirstUse(id);
    return getBuiltinModule.call(process, id);
  } as typeof process.getBuiltinModule;
  return wrapOnFirstUse;
}

/**
 * DatabaseSync#loadExtension(path) makes SQLite dlopen `path`, and when that
 * fails `path.so` (.dylib, .dll): both are checked. (The SQL function load_extension() stays
 * off: Node only enables the C entry point.) A prototype method, so every
 * database and subclass gets the check.
 */
function guardSqliteExtensions(guard: Guard, sqlite: typeof Sqlite): void {
  const prototype = sqlite.DatabaseSync.prototype as unknown as Record<string, AnyFunction>;
  const loadExtension = prototype.loadExtension!;
  prototype.loadExtension = function guardedLoadExtension(this: unknown, path: unknown, ...rest: unknown[]) {
    const file = String(path);
    checkNativeLoad(guard, file);
    checkNativeLoad(guard, `${file}.${SHARED_LIBRARY_SUFFIX}`);
    return loadExtension.call(this, file, ...rest);
  };
}
