import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import { ErrorCodes, TrustloadError } from '../errors.js';
import { readFileLimited } from '../io/read.js';
import type * as NativeModule from '../native/native.js';
import type * as PolicyExplainerModule from '../policy/explain-policy.js';
import type * as VerifierModule from './verifier.js';

// Replaced at build time (scripts/build.mjs) by the SHA-256 of register.mjs and every file in dist/ but the ones
// holding this text, by name ("files"), and the names of dist/verifier.js, dist/native.js, dist/policy-explain.js and the chunks
// they import ("lazy").
const OWN_FILES: string = '__TRUSTLOAD_OWN_FILES__';

// Taken before application code can replace it. node:crypto hashes the 300 kB of Sigstore code in
// well under a millisecond, and the verifier loads it next anyway.
const getBuiltinModule = process.getBuiltinModule;
// Made at start-up too: createRequire misreads its argument once Object.prototype is polluted.
const requireOwn = createRequire(import.meta.url);

// Parsed at start-up, before application code runs (and could replace JSON.parse or URL).
const { byPath: OWN_BY_PATH, lazyByUrl: INTERNAL_DIGESTS } = ownFiles();

let loadingInternals = false;
/** Internal files whose verified bytes the hooks handed Node during the current load. */
const served = new Set<string>();
/** Whether module hooks run in this thread (they serve internal files); without them (the API alone) nothing does. */
let hooksServe = false;
/** Each internal entry's exports, once loaded from its verified bytes. */
const loaded = new Map<string, unknown>();
// Node's CommonJS cache, as it was before application code ran (lockdown keeps it in place).
const moduleCache = (getBuiltinModule('node:module') as unknown as { _cache: Record<string, unknown> })._cache;

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
  const bytes = readOwnFile(file, ErrorCodes.POLICY);
  served.add(url);
  return bytes;
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

/** Called by the module hooks when installed: from then on every internal load must come through them. */
export function serveInternalsThroughHooks(): void {
  hooksServe = true;
}

/**
 * Loads the verifier (and with it the Sigstore libraries) synchronously, on
 * the first protected load: module hooks are synchronous, so this is a
 * require() of the bundled ESM file, not an import().
 */
export function loadVerifierModule(): typeof VerifierModule {
  return loadInternal('./verifier.js') as typeof VerifierModule;
}

/** Loads zod and the policy schema, for a policy the generated validator did not accept (src/policy/load-policy.ts). */
export function loadPolicyExplainer(): typeof PolicyExplainerModule {
  return loadInternal('./policy-explain.js') as typeof PolicyExplainerModule;
}

/** Loads the ELF reader and linker model, on the first native load. */
export function loadNativeModule(): typeof NativeModule {
  return loadInternal('./native.js') as typeof NativeModule;
}

/**
 * Loads one of trustload's own entries once per process, from its verified
 * bytes only: Node's module caches are emptied of trustload's files first (a
 * planted `require.cache` entry would otherwise stand in for the verifier),
 * and the load must have gone through the hooks, which hand Node the bytes
 * matched against the build-time digest; anything that answered for it
 * instead (a cache, a patched loader) refuses.
 */
function loadInternal(file: string): unknown {
  const url = new URL(file, import.meta.url).href;
  if (loaded.has(url)) return loaded.get(url);
  if (loadingInternals) {
    // Application code running while trustload loads its own code asked for a protected file: there is no verifier yet.
    throw new TrustloadError(ErrorCodes.UNSUPPORTED_LOAD, 'a protected file was loaded while trustload was loading its own code');
  }
  for (const { path } of INTERNAL_DIGESTS.values()) delete moduleCache[path];
  loadingInternals = true;
  served.clear();
  try {
    // dist/*.js sit next to the bundled file this code ends up in.
    const exports = requireOwn(file);
    if (hooksServe && !served.has(url)) {
      throw new TrustloadError(ErrorCodes.POLICY, `trustload's own ${fileURLToPath(url)} was not loaded from its verified bytes: something answered for it (a module cache entry or a patched loader)`);
    }
    loaded.set(url, exports);
    return exports;
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
