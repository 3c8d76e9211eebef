import { createRequire } from 'node:module';
import type * as NativeModule from '../native/native.js';
import type * as VerifierModule from './verifier.js';

let loadingInternals = false;

/** True while trustload loads its own lazy modules, so the module hooks let those files through. */
export function isLoadingInternals(): boolean {
  return loadingInternals;
}

/**
 * Loads the verifier (and with it the Sigstore libraries) synchronously, on
 * the first protected load: module hooks are synchronous, so this is a
 * require() of the bundled ESM file, not an import().
 */
export function loadVerifierModule(): typeof VerifierModule {
  return loadInternal('./verifier.js') as typeof VerifierModule;
}

/** Loads the ELF reader and linker model, on the first native load. */
export function loadNativeModule(): typeof NativeModule {
  return loadInternal('./native.js') as typeof NativeModule;
}

function loadInternal(file: string): unknown {
  loadingInternals = true;
  try {
    // dist/*.js sit next to the bundled file this code ends up in.
    return createRequire(import.meta.url)(file);
  } finally {
    loadingInternals = false;
  }
}
