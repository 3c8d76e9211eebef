import { readdirSync } from 'node:fs';
import { basename, join, posix } from 'node:path';
import { ErrorCodes, TrustloadError } from '../errors.js';
import { isPlainObject, parseJson } from '../io/json.js';
import { readFileLimited } from '../io/read.js';

const MAX_PACKAGE_JSON_BYTES = 16 * 1024 * 1024;

/**
 * The fields of package.json that npm-packlist reads, normalized as npm's
 * own reader (@npmcli/package-json's normalize steps, which Arborist
 * applies to the root package before `npm pack` lists it) would leave them.
 * Only these steps change what packlist sees: `bin` as a string, an array
 * or `directories.bin` becomes a name -> path object, and the
 * bundle-dependencies spellings are merged.
 */
export interface PackedManifest {
  bin?: Record<string, string>;
  browser?: unknown;
  files?: string[];
  main?: unknown;
  patchedDependencies?: unknown;
}

const SIGN_THE_DIRECTORY = 'trustload sign --package does not support it: sign the directory instead (trustload sign DIR, without --package)';

/** Reads `dir/package.json` and refuses what --package cannot sign exactly. */
export function readPackedManifest(dir: string): PackedManifest {
  const path = join(dir, 'package.json');
  const bytes = readFileLimited(path, MAX_PACKAGE_JSON_BYTES, 'package.json', ErrorCodes.UNSUPPORTED_LOAD, ErrorCodes.MISSING_FILE);
  const data = parseJson(bytes.toString('utf8'), path, ErrorCodes.UNSUPPORTED_LOAD);
  const fail = (problem: string): never => {
    throw new TrustloadError(ErrorCodes.UNSUPPORTED_LOAD, `${problem}`, { path });
  };
  if (!isPlainObject(data)) return fail('package.json is not a JSON object');
  // Bundled dependencies are listed by npm from the installed tree (Arborist), which --package does not load.
  if (bundledDependencies(data).length > 0) fail(`package.json has "bundleDependencies": ${SIGN_THE_DIRECTORY}`);
  if (data.workspaces !== undefined && !(Array.isArray(data.workspaces) && data.workspaces.length === 0)) {
    fail(`package.json has "workspaces": ${SIGN_THE_DIRECTORY}`);
  }
  // packlist iterates "files" as given: a string would be read one character at a time.
  const files = data.files;
  if (files !== undefined && !(Array.isArray(files) && files.every((f) => typeof f === 'string'))) {
    fail('package.json "files" must be an array of strings');
  }
  const manifest: PackedManifest = { browser: data.browser, main: data.main, patchedDependencies: data.patchedDependencies };
  if (files !== undefined) manifest.files = files as string[];
  const bin = packageBin(data, dir);
  if (bin !== undefined) manifest.bin = bin;
  return manifest;
}

/** npm's bundleDependencies step: `bundledDependencies` is the old spelling, `true` means every dependency. */
function bundledDependencies(data: Record<string, unknown>): string[] {
  const value = data.bundleDependencies !== undefined ? data.bundleDependencies : data.bundledDependencies;
  if (value === true) return isPlainObject(data.dependencies) ? Object.keys(data.dependencies) : [];
  if (Array.isArray(value)) return value.map(String);
  if (isPlainObject(value)) return Object.keys(value);
  return [];
}

/** npm's bin and binDir steps. */
function packageBin(data: Record<string, unknown>, dir: string): Record<string, string> | undefined {
  const directories = data.directories;
  const binDir = isPlainObject(directories) ? directories.bin : undefined;
  if (binDir && !data.bin && typeof binDir === 'string') {
    const binPath = securePath(binDir);
    return Object.fromEntries(undottedEntries(join(dir, binPath)).map((file) => [basename(file), `${binPath}/${securePath(file)}`]));
  }
  let bin = data.bin;
  if (typeof bin === 'string') bin = typeof data.name === 'string' && data.name !== '' ? { [data.name]: bin } : undefined;
  else if (Array.isArray(bin)) bin = Object.fromEntries(bin.map((target) => [posix.basename(String(target)), target]));
  if (!isPlainObject(bin)) return undefined;
  const clean: Record<string, string> = {};
  for (const [name, target] of Object.entries(bin)) {
    const base = posix.join('/', posix.basename(name.replace(/\\|:/g, '/'))).slice(1);
    if (typeof target !== 'string' || base === '') continue;
    const cleanTarget = posix.join('/', target.replace(/\\/g, '/')).slice(1);
    if (cleanTarget !== '') clean[base] = cleanTarget;
  }
  return Object.keys(clean).length > 0 ? clean : undefined;
}

/** A path from package.json made relative, with no way above the package folder. */
function securePath(ref: string): string {
  return posix.join('.', posix.join('/', ref.replace(/\\|:/g, '/')));
}

/**
 * What glob('**') lists under `dir` (npm expands directories.bin with it):
 * files and folders, none whose name starts with ".", without descending
 * into linked folders.
 */
function undottedEntries(dir: string, prefix = ''): string[] {
  let entries;
  try {
    entries = readdirSync(join(dir, prefix), { withFileTypes: true });
  } catch (err) {
    const errno = (err as NodeJS.ErrnoException).code;
    if (errno === 'ENOENT' || errno === 'ENOTDIR') return [];
    throw new TrustloadError(ErrorCodes.UNSUPPORTED_LOAD, `cannot list the package's bin folder ${dir}: ${(err as Error).message}`, { cause: err });
  }
  return entries
    .filter((entry) => !entry.name.startsWith('.'))
    .flatMap((entry) => {
      const rel = prefix === '' ? entry.name : `${prefix}/${entry.name}`;
      return entry.isDirectory() ? [rel, ...undottedEntries(dir, rel)] : [rel];
    });
}
