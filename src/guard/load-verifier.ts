import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import { ErrorCodes, TrustloadError } from '../errors.js';
import { readFileLimited } from '../io/read.js';
import type * as NativeModule from '../native/native.js';
import type * as VerifierModule from './verifier.js';

// Replaced at build time (scripts/build.mjs) by the SHA-256 of dist/verifier.js, dist/native.js and each chunk they import.
const INTERNAL_FILES: string = '__TRUSTLOAD_INTERNAL_FILES__';

// Taken before application code can replace it. node:crypto hashes the 300 kB of Sigstore code in
// well under a millisecond, and the verifier loads it next anyway.
const getBuiltinModule = process.getBuiltinModule;
// Made at start-up too: createRequire misreads its argument once Object.prototype is polluted.
const requireOwn = createRequire(import.meta.url);

// Parsed at start-up, before application code runs (and could replace JSON.parse or URL).
const INTERNAL_DIGESTS = internalDigests();

let loadingInternals = false;

/**
 * While trustload loads its own verifier, the module hooks let exactly its
 * own files through: this returns the bytes to hand Node for such a file
 * (read once here and matched against the digest taken at build time), and
 * undefined for every other load, which the hooks then judge as usual.
 * Application code can run in that window (a global the verifier's code
 * calls may have been patched), so nothing else may slip through it.
 */
export function internalSource(url: string): Buffer | undefined {
  if (!loadingInternals) return undefined;
  const file = INTERNAL_DIGESTS.get(url);
  if (file === undefined) return undefined;
  const { path, sha256: expected } = file;
  const bytes = readFileLimited(path, 16 * 1024 * 1024, "trustload's own file", ErrorCodes.POLICY);
  const { createHash } = getBuiltinModule('node:crypto') as typeof import('node:crypto');
  const found = createHash('sha256').update(bytes).digest('hex');
  if (found !== expected) {
    throw new TrustloadError(ErrorCodes.POLICY, `trustload's own file ${path} has been modified`, {
      path,
      expected: `sha256:${expected}`,
      found: `sha256:${found}`,
    });
  }
  return bytes;
}

/** Whether `url` is one of the files internalSource would hand over now. */
export function isInternalUrl(url: string): boolean {
  return loadingInternals && INTERNAL_DIGESTS.has(url);
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
  if (loadingInternals) {
    // Application code running while trustload loads its own code asked for a protected file: there is no verifier yet.
    throw new TrustloadError(ErrorCodes.UNSUPPORTED_LOAD, 'a protected file was loaded while trustload was loading its own code');
  }
  loadingInternals = true;
  try {
    // dist/*.js sit next to the bundled file this code ends up in.
    return requireOwn(file);
  } finally {
    loadingInternals = false;
  }
}

function internalDigests(): Map<string, { path: string; sha256: string }> {
  // Unbuilt sources carry the placeholder: then no file is trustload's own, and every load is judged.
  const byName: Record<string, string> = INTERNAL_FILES.startsWith('{') ? JSON.parse(INTERNAL_FILES) : {};
  return new Map(
    Object.entries(byName).map(([name, sha256]) => {
      const url = new URL(`./${name}`, import.meta.url);
      return [url.href, { path: fileURLToPath(url), sha256 }];
    }),
  );
}
