import module from 'node:module';
import { ErrorCodes, TrustloadError } from '../errors.js';

/**
 * Opt-in `"lockdown": true`: once the guard is registered, nothing else may
 * register module hooks or patch the CommonJS loader, either of which could
 * hand Node code the guard never saw. This breaks tools that patch the loader
 * (require hooks of APMs and transpilers, mocking libraries, tsx, ts-node).
 */
export function lockDownLoader(): void {
  const refuse = (what: string) => () => {
    throw new TrustloadError(ErrorCodes.UNSUPPORTED_LOAD, `${what} is locked by the trustload policy ("lockdown": true)`);
  };
  const mod = module as unknown as Record<string, unknown> & { _extensions: Record<string, unknown>; prototype: object };
  for (const name of ['registerHooks', 'register']) {
    Object.defineProperty(mod, name, { value: refuse(`module.${name}`), writable: false, configurable: false });
  }
  const extensions = mod._extensions;
  for (const ext of Object.keys(extensions)) freezeProperty(extensions, ext, `Module._extensions['${ext}']`);
  Object.preventExtensions(extensions);
  freezeProperty(mod.prototype, '_compile', 'Module.prototype._compile');
  module.syncBuiltinESMExports();
}

/** Keeps the current value readable; any assignment throws, even in sloppy-mode code. */
function freezeProperty(target: object, key: string, what: string): void {
  const value = (target as Record<string, unknown>)[key];
  Object.defineProperty(target, key, {
    get: () => value,
    set: () => {
      throw new TrustloadError(ErrorCodes.UNSUPPORTED_LOAD, `${what} is locked by the trustload policy ("lockdown": true)`);
    },
    configurable: false,
  });
}
