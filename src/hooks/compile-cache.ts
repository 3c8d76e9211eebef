import module from 'node:module';
import { ErrorCodes, TrustloadError } from '../errors.js';

const WHY =
  "Node's compile cache can run cached bytecode in place of the verified source (an entry is matched by the source's length and CRC32 only)";

/**
 * A guarded process never uses Node's compile cache. Started with one
 * (NODE_COMPILE_CACHE), it does not start in enforce mode, and only warns in
 * permissive mode; later, `module.enableCompileCache` answers "disabled"
 * however it is reached, and NODE_DISABLE_COMPILE_CACHE=1 makes Node's own
 * implementation (and every child's) refuse too. Returns the check run before
 * each protected load, which refuses while a cache is somehow active.
 */
export function disableCompileCache(enforce: boolean): () => void {
  // Captured before application code can replace it: the per-load check must ask Node itself.
  const cacheDir = module.getCompileCacheDir.bind(module);
  const started = cacheDir();
  if (started !== undefined) {
    const message = `the compile cache is on (${started}, from NODE_COMPILE_CACHE): ${WHY}; unset NODE_COMPILE_CACHE`;
    if (enforce) throw new TrustloadError(ErrorCodes.POLICY, message);
    process.stderr.write(`trustload: WARNING: ${message}\n`);
  }
  delete process.env.NODE_COMPILE_CACHE;
  process.env.NODE_DISABLE_COMPILE_CACHE = '1';
  const disabled = Object.freeze({
    status: module.constants.compileCacheStatus.DISABLED,
    message: 'Disabled by trustload: a guarded process never uses the compile cache',
  });
  Object.defineProperty(module, 'enableCompileCache', { value: () => disabled, writable: false, configurable: false, enumerable: true });
  // `import { enableCompileCache } from 'node:module'` reads a copy: refresh it.
  module.syncBuiltinESMExports();
  return () => {
    const dir = cacheDir();
    if (dir !== undefined) throw new TrustloadError(ErrorCodes.UNSUPPORTED_LOAD, `the compile cache is on (${dir}): ${WHY}`);
  };
}
