import { createRequire } from 'node:module';
import type * as VerifierModule from './verifier.js';

let loadingInternals = false;

/** True while trustload loads its own verifier, so the module hooks let those files through. */
export function isLoadingInternals(): boolean {
  return loadingInternals;
}

/**
 * Loads the verifier (and with it the Sigstore libraries) synchronously, on
 * the first protected load: module hooks are synchronous, so this is a
 * require() of the bundled ESM file, not an import().
 */
export function loadVerifierModule(): typeof VerifierModule {
  loadingInternals = true;
  try {
    // dist/verifier.js sits next to the bundled file this code ends up in.
    return createRequire(import.meta.url)('./verifier.js') as typeof VerifierModule;
  } finally {
    loadingInternals = false;
  }
}
