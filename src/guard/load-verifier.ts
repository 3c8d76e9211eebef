import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import { ErrorCodes, TrustloadError } from '../errors.js';
import { readFileLimited } from '../io/read.js';
import type * as NativeModule from '../native/native.js';
import type * as VerifierModule from './verifier.js';

// Replaced at build time (scripts/build.mjs) by the SHA-256 of register.mjs and every file in dist/ but the ones
// holding this text, by name ("files"), and the names of dist/verifier.js, dist/native.js and the chunks they import ("lazy").
const OWN_FILES: string = '__TRUSTLOAD_OWN_FILES__';

// Taken before application code can replace it. node:crypto hashes the 300 kB of Sigstore code in
// well under a millisecond, and the verifier loads it next anyway.
const getBuiltinModule = process.getBuiltinModule;
// Made at start-up too: createRequire misreads its argument once Object.prototype is polluted.
const requireOwn = createRequire(import.meta.url);

// Parsed at start-up, before application code runs (and could replace JSON.parse or URL).
const { byPath: OWN_BY_PATH, lazyByUrl: INTERNAL_DIGESTS } = ownFiles();

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
  return file === undefined ? undefined : readOwnFile(file, ErrorCodes.POLICY);
}

/** Whether `url` is one of the files internalSource would hand over now. */
export function isInternalUrl(url: string): boolean {
  return loadingInternals && INTERNAL_DIGESTS.has(url);
}

/**
 * trustload's own shipped file at `path` (a real path), for a load no rule
 * covers under `unmatched: deny`: the bytes its build-time digest vouches
 * for, which are the ones to hand Node. Undefined for every other path, a
 * file planted next to them included. This is how the API, and workers
 * (which load register.mjs again, and for hashing dist/hash-worker.js,
 * under their own guard), run in a process that denies unmatched loads.
 */
export function ownFileSource(path: string): Buffer | undefined {
  const file = OWN_BY_PATH.get(path);
  return file === undefined ? undefined : readOwnFile(file, ErrorCodes.UNMATCHED);
}

function readOwnFile({ path, sha256: expected }: OwnFile, code: typeof ErrorCodes.POLICY | typeof ErrorCodes.UNMATCHED): Buffer {
  const bytes = readFileLimited(path, 16 * 1024 * 1024, "trustload's own file", code);
  const { createHash } = getBuiltinModule('node:crypto') as typeof import('node:crypto');
  const found = createHash('sha256').update(bytes).digest('hex');
  if (found !== expected) {
    throw new TrustloadError(code, `trustload's own file ${path} has been modified since it was built`, {
      path,
      expected: `sha256:${expected}`,
      found: `sha256:${found}`,
    });
  }
  return bytes;
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

interface OwnFile {
  path: string;
  sha256: string;
}

function ownFiles(): { byPath: Map<string, OwnFile>; lazyByUrl: Map<string, OwnFile> } {
  // Unbuilt sources carry the placeholder: then no file is trustload's own, and every load is judged.
  const { files = {}, lazy = [] }: { files?: Record<string, string>; lazy?: string[] } = OWN_FILES.startsWith('{') ? JSON.parse(OWN_FILES) : {};
  const byName = new Map(
    Object.entries(files).map(([name, sha256]) => {
      const url = new URL(`./${name}`, import.meta.url);
      return [name, { url: url.href, path: fileURLToPath(url), sha256 }];
    }),
  );
  return {
    byPath: new Map([...byName.values()].map((file) => [file.path, file])),
    lazyByUrl: new Map(lazy.map((name) => [byName.get(name)!.url, byName.get(name)!])),
  };
}
