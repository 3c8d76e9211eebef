import { ErrorCodes, TrustloadError } from '../errors.js';

/** The parts of Node's CommonJS loader (node:module's default export) that lockdown guards. */
export interface CommonJsLoader {
  new (id?: string): object;
  prototype: {
    load(this: object, filename: string): void;
    _compile(this: object, content: string, filename: string, format?: string): unknown;
  };
  _cache: Record<string, unknown>;
  wrap: unknown;
  wrapper: readonly string[];
}

/**
 * Where a protected file's Module object is: put in the cache but not loaded
 * yet, being loaded by Node's own `load` (through the hooks, which verify it),
 * verified, or failed.
 */
interface ModuleRecord {
  path: string;
  state: 'pending' | 'loading' | 'verified' | 'failed';
  compiled: boolean;
}

// Taken before application code runs: these decide whether a cache write is allowed.
const { defineProperty, getOwnPropertyDescriptor, hasOwn } = Object;
const isPrototypeOf = Function.prototype.call.bind(Object.prototype.isPrototypeOf) as (proto: object, value: unknown) => boolean;
const weakGet = Function.prototype.call.bind(WeakMap.prototype.get) as (map: WeakMap<object, ModuleRecord>, key: object) => ModuleRecord | undefined;
const weakSet = Function.prototype.call.bind(WeakMap.prototype.set) as (map: WeakMap<object, ModuleRecord>, key: object, value: ModuleRecord) => void;

/**
 * Guards what a protected path can yield through `require`: the Module
 * object Node created for it and loaded through the hooks, and nothing else.
 * Returns the replacements lockdown freezes in place: `Module.prototype.load`
 * and `_compile` that track protected modules, and a `Module._cache` that
 * refuses any entry for a protected path other than a fresh Module, whose
 * `exports` and `loaded` then change only while Node's own load runs it.
 * Node writes `Module._cache[filename] = module` before `module.load(filename)`
 * (from require and from import of CommonJS alike), so that is the order
 * allowed. Entries of files no rule covers are left alone.
 */
export function guardCommonJsLoads(Module: CommonJsLoader, isProtected: (path: string) => boolean) {
  const records = new WeakMap<object, ModuleRecord>();
  const protectedPaths = new Map<string, boolean>();
  const protects = (path: unknown): path is string => {
    if (typeof path !== 'string') return false;
    let known = protectedPaths.get(path);
    if (known === undefined) protectedPaths.set(path, (known = isProtected(path)));
    return known;
  };
  const originalLoad = Module.prototype.load;
  const originalCompile = Module.prototype._compile;
  const wrap = Module.wrap;
  const wrapper = Module.wrapper;
  const wrapperText = [wrapper[0]!, wrapper[1]!];

  /** Makes a fresh Module the only kind of object a protected path's cache entry may be. */
  const adopt = (m: unknown, path: string): ModuleRecord => {
    if (typeof m !== 'object' || m === null || !isPrototypeOf(Module.prototype, m)) {
      throw refusal(path, 'require.cache can hold only the Module Node creates for a protected file');
    }
    const existing = weakGet(records, m);
    if (existing !== undefined) {
      if (existing.path !== path) throw refusal(path, `this Module belongs to ${existing.path}`);
      return existing;
    }
    const fresh = m as { loaded?: unknown };
    if (fresh.loaded !== false || hasOwn(m, 'load') || hasOwn(m, '_compile')) {
      throw refusal(path, 'require.cache can hold only a fresh, unloaded Module for a protected file');
    }
    const record: ModuleRecord = { path, state: 'pending', compiled: false };
    const whileLoading = (what: string) => {
      if (record.state !== 'loading') throw refusal(path, `${what} of a protected module can change only while the guard loads it`);
    };
    let exports: unknown = {}; // whatever was assigned before is dropped: only the module's own code fills it
    let loaded = false;
    defineProperty(m, 'exports', {
      get: () => {
        if (record.state === 'loading' || record.state === 'verified') return exports;
        throw refusal(path, 'this protected module is in require.cache but was never loaded through the guard');
      },
      set: (value: unknown) => {
        whileLoading('module.exports');
        exports = value;
      },
      enumerable: true,
      configurable: false,
    });
    defineProperty(m, 'loaded', {
      get: () => loaded,
      set: (value: boolean) => {
        whileLoading('module.loaded');
        loaded = value;
      },
      enumerable: true,
      configurable: false,
    });
    // Own properties shadow the prototype's: pin the guarded ones on the instance.
    defineProperty(m, 'load', { value: load, writable: false, configurable: false });
    defineProperty(m, '_compile', { value: compile, writable: false, configurable: false });
    weakSet(records, m, record);
    return record;
  };

  function load(this: object, filename: string): void {
    if (!protects(filename)) return originalLoad.call(this, filename);
    const record = adopt(this, filename);
    if (record.state !== 'pending') throw refusal(filename, 'a protected module is loaded once');
    record.state = 'loading';
    try {
      originalLoad.call(this, filename);
      record.state = 'verified';
    } finally {
      if (record.state === 'loading') record.state = 'failed';
    }
  }

  function compile(this: object, content: string, filename: string, format?: string): unknown {
    if (protects(filename)) {
      const record = weakGet(records, this);
      if (record === undefined || record.state !== 'loading' || record.path !== filename || record.compiled) {
        throw refusal(filename, 'Module.prototype._compile compiles a protected file only once, while the guard loads it');
      }
      record.compiled = true;
      // Node wraps CommonJS source with Module.wrap / Module.wrapper once either was assigned; neither can be locked.
      if (Module.wrap !== wrap || Module.wrapper !== wrapper || !wrapperText.every((text, i) => isDataValue(wrapper, i, text))) {
        throw refusal(filename, 'Module.wrap or Module.wrapper was changed');
      }
    }
    return originalCompile.call(this, content, filename, format);
  }

  const cache = new Proxy(Module._cache, {
    set(target, key, value) {
      if (protects(key)) {
        const current = hasOwn(target, key) ? target[key] : undefined;
        if (current !== value) {
          const state = current === undefined ? undefined : weakGet(records, current as object)?.state;
          if (state === 'loading' || state === 'verified') throw refusal(key, "a loaded protected module's require.cache entry cannot be replaced");
          adopt(value, key);
        }
      }
      target[key as string] = value;
      return true;
    },
    defineProperty(target, key, descriptor) {
      if (protects(key)) throw refusal(key, 'require.cache entries of protected files are written only by the loader');
      return Reflect.defineProperty(target, key, descriptor);
    },
    setPrototypeOf() {
      throw refusal(undefined, 'require.cache cannot be given a prototype');
    },
    preventExtensions() {
      throw refusal(undefined, 'require.cache cannot be frozen');
    },
  });

  return { load, compile, cache };
}

function isDataValue(target: object, key: number, value: string): boolean {
  const descriptor = getOwnPropertyDescriptor(target, key);
  return descriptor !== undefined && hasOwn(descriptor, 'value') && descriptor.value === value;
}

function refusal(path: string | undefined, problem: string): TrustloadError {
  return new TrustloadError(ErrorCodes.UNSUPPORTED_LOAD, `${problem} ("lockdown": true)`, path === undefined ? {} : { path });
}
