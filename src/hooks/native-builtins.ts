import module from 'node:module';
import type * as Crypto from 'node:crypto';
import type * as Sqlite from 'node:sqlite';
import type * as Tls from 'node:tls';
import type { Guard } from '../guard/guard.js';
import { checkNativeLoad } from './addons.js';

type AnyFunction = (...args: unknown[]) => unknown;

// The suffix SQLite and OpenSSL add to a library's name.
const SHARED_LIBRARY_SUFFIX = process.platform === 'darwin' ? 'dylib' : process.platform === 'win32' ? 'dll' : 'so';

// The builtins through which an application reaches a TLS secure context (and its engine options).
const TLS_BUILTINS = new Set(['tls', 'https', 'http2', '_tls_common', '_tls_wrap']);

/**
 * Builtins other than process.dlopen that load native code from a path go
 * through the same check: node:sqlite extensions and OpenSSL engines. They
 * cost time to load, so each is wrapped when the application first asks for
 * it, before it gets it: the returned function is called for every
 * builtin the application asks for (register.ts: the resolve hook and
 * process.getBuiltinModule).
 */
export function guardNativeBuiltins(guard: Guard): (builtinUrl: string) => void {
  const wrapped = new Set<string>();
  const once = (what: string, wrap: () => void): void => {
    if (wrapped.has(what)) return;
    wrapped.add(what);
    wrap();
  };
  const wrapOnFirstUse = (id: string): void => {
    const name = id.startsWith('node:') ? id.slice(5) : id;
    if (name === 'sqlite') once('sqlite', () => guardSqliteExtensions(guard, process.getBuiltinModule('node:sqlite') as typeof Sqlite));
    else if (name === 'crypto') once('crypto', () => guardSetEngine(guard, process.getBuiltinModule('node:crypto') as typeof Crypto));
    else if (TLS_BUILTINS.has(name)) once('tls', () => guardTlsEngines(guard, process.getBuiltinModule('node:tls') as typeof Tls));
  };
  return wrapOnFirstUse;
}

/**
 * DatabaseSync#loadExtension(path) makes SQLite dlopen `path`, and when that
 * fails `path.so` (.dylib, .dll): both are checked. (The SQL function
 * load_extension() stays off: Node only enables the C entry point.) A
 * prototype method, so every database and subclass gets the check.
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

/** crypto.setEngine(id): an id OpenSSL does not know is a shared object it loads. */
function guardSetEngine(guard: Guard, crypto: typeof Crypto): void {
  const setEngine = crypto.setEngine as AnyFunction;
  (crypto as { setEngine: AnyFunction }).setEngine = function guardedSetEngine(this: unknown, id: unknown, ...rest: unknown[]) {
    // Node refuses an id that is not a string before OpenSSL sees it.
    if (typeof id === 'string') checkEngine(guard, id);
    return setEngine.call(this, id, ...rest);
  };
  // ESM named imports of builtins are copies: refresh them so `import { setEngine }` sees the wrapper.
  module.syncBuiltinESMExports();
}

/**
 * The privateKeyEngine and clientCertEngine TLS options reach OpenSSL through
 * two methods of the native SecureContext, which every TLS path in Node
 * calls (tls, https, http2, and their internal callers): wrapped on its
 * prototype, found through a context made once for the purpose.
 */
function guardTlsEngines(guard: Guard, tls: typeof Tls): void {
  const prototype = Object.getPrototypeOf((tls.createSecureContext() as unknown as { context: object }).context) as Record<string, AnyFunction>;
  for (const [method, at] of [['setEngineKey', 1], ['setClientCertEngine', 0]] as const) {
    const original = prototype[method];
    if (typeof original !== 'function') continue; // an OpenSSL built without engines
    prototype[method] = function guardedEngine(this: unknown, ...args: unknown[]) {
      // The native method takes any value as a string: make it one, once.
      const id = String(args[at]);
      args[at] = id;
      checkEngine(guard, id);
      return original.apply(this, args);
    };
  }
}

/**
 * What OpenSSL's dynamic engine loader opens for an id: a path as it is;
 * otherwise `ID.so` in $OPENSSL_ENGINES (or its built-in folder, a system
 * one) and `libID.so` through the linker's search.
 */
function checkEngine(guard: Guard, id: string): void {
  if (id.includes('/')) {
    checkNativeLoad(guard, id);
    return;
  }
  checkNativeLoad(guard, `lib${id}.${SHARED_LIBRARY_SUFFIX}`);
  const folder = process.env.OPENSSL_ENGINES;
  if (folder) checkNativeLoad(guard, `${folder}/${id}.${SHARED_LIBRARY_SUFFIX}`);
}
