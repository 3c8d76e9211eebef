import module from 'node:module';
import { ErrorCodes, TrustloadError } from '../errors.js';
import { guardCommonJsLoads, type CommonJsLoader } from './commonjs-loads.js';

/**
 * Opt-in `"lockdown": true`: once the guard is registered, nothing else may
 * register module hooks or change the CommonJS loader's functions and caches,
 * any of which could make a protected path yield code or exports the guard
 * never verified. This breaks tools that patch the loader (require hooks of
 * APMs and transpilers, mocking libraries, tsx, ts-node).
 */
export function lockDownLoader(isProtected: (path: string) => boolean): void {
  const mod = module as unknown as CommonJsLoader & Record<string, unknown> & { _extensions: Record<string, unknown> };
  for (const name of ['registerHooks', 'register']) {
    Object.defineProperty(mod, name, { value: locked(`module.${name}`), writable: false, configurable: false });
  }
  const extensions = mod._extensions;
  for (const ext of Object.keys(extensions)) freezeProperty(extensions, ext, `Module._extensions['${ext}']`);
  Object.preventExtensions(extensions);

  const guarded = guardCommonJsLoads(mod, isProtected);
  freezeProperty(mod.prototype, '_compile', 'Module.prototype._compile', guarded.compile);
  freezeProperty(mod.prototype, 'load', 'Module.prototype.load', guarded.load);
  freezeProperty(mod.prototype, 'require', 'Module.prototype.require');
  freezeProperty(mod, '_cache', 'Module._cache', guarded.cache);
  // Node reads these through the Module object on every require: replacing one reroutes resolution or loading.
  for (const name of ['_extensions', '_load', '_resolveFilename', '_findPath', '_nodeModulePaths', '_resolveLookupPaths', '_pathCache']) {
    freezeProperty(mod, name, `Module.${name}`);
  }
  module.syncBuiltinESMExports();
}

function locked(what: string): () => never {
  return () => {
    throw new TrustloadError(ErrorCodes.UNSUPPORTED_LOAD, `${what} is locked by the trustload policy ("lockdown": true)`);
  };
}

/** Keeps `value` (default: the current one) readable; any assignment throws, even in sloppy-mode code. */
function freezeProperty(target: object, key: string, what: string, value: unknown = (target as Record<string, unknown>)[key]): void {
  Object.defineProperty(target, key, { get: () => value, set: locked(what), configurable: false });
}
