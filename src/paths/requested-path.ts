import module from 'node:module';
import { dirname, isAbsolute, join, relative, resolve, sep } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { ErrorCodes } from '../errors.js';
import { isPlainObject, parseJson } from '../io/json.js';
import { entryAt, isWithin, readText, realPathOf } from './examine.js';

interface ResolveContext {
  parentURL?: string | undefined;
  conditions?: readonly string[];
}

/**
 * The path a module was requested by, before symlinks were followed: the
 * file Node chose while resolving `specifier`, named through the folders the
 * importer named (a symlink `plugins/x/helper.js -> /elsewhere/evil.js` is
 * `plugins/x/helper.js`, whatever extension or index Node added), or the
 * folder it was found in (ending in the separator) when the file cannot be
 * named through it. Undefined when Node did not look inside the policy
 * folder by name (another URL scheme, a package outside it): the real path
 * alone then decides. Throws when a path on the way cannot be examined.
 */
export function requestedPath(specifier: string, context: ResolveContext, real: string, baseDir: string): string | undefined {
  const isRequire = context.conditions?.includes('require') ?? false;
  const parentDir = context.parentURL?.startsWith('file:') ? importerFolder(context.parentURL) : process.cwd();
  if (specifier.startsWith('file:')) return fileURLToPath(specifier);
  const isPath = specifier.startsWith('./') || specifier.startsWith('../') || specifier === '.' || specifier === '..' || isAbsolute(specifier);
  if (isPath) {
    // require() takes a specifier as a path; import takes it as a URL (so %74 means "t").
    const base = isRequire ? resolve(parentDir, specifier) : fileURLToPath(new URL(specifier, pathToFileURL(`${parentDir}/`)));
    return chosenCandidate(base, real, isRequire) ?? base;
  }
  if (specifier.startsWith('#')) return withinOwnPackage(parentDir, real, baseDir, specifier);
  if (specifier.includes(':')) return undefined;
  // A package: the node_modules folders Node searched, nearest first. Only those inside the
  // policy folder matter: no rule covers anything outside it.
  for (const dir of foldersUpTo(parentDir, baseDir)) {
    if (dir.endsWith(`${sep}node_modules`)) continue;
    // Most folders have no node_modules: one stat rules a level out (resolve runs on every require call).
    if (!entryAt(join(dir, 'node_modules'), true)?.isDirectory()) continue;
    const pkg = join(dir, 'node_modules', packageName(specifier));
    if (isWithin(pkg, real)) return real; // found there, through no link: a real path has none
    const chosen = chosenCandidate(join(dir, 'node_modules', specifier), real, isRequire);
    if (chosen !== undefined) return chosen;
    // A subpath mapped through "exports" names no file: the package folder Node found is what was requested.
    if (entryAt(pkg, true)?.isDirectory()) return through(pkg, real);
  }
  // Not found in a node_modules folder: a package importing itself by name (through "exports").
  return withinOwnPackage(parentDir, real, baseDir, specifier);
}

/**
 * The main entry as typed on the command line (`node plugins/helper`), named
 * the way require() names it, when it is the file being loaded (a worker's
 * entry is not).
 */
export function mainEntryPath(typed: string, real: string): string | undefined {
  const chosen = chosenCandidate(typed, real, true);
  if (chosen === undefined || chosen.endsWith(sep)) return chosen;
  return realPathOf(chosen) === real ? chosen : undefined;
}

/**
 * Which of the paths Node tries for `base` it chose: for require(), the file
 * itself, then with each extension, then the folder (its main or index file);
 * for import, the exact path. A candidate equal to the real path has no link
 * in it, which settles most loads without a system call.
 */
function chosenCandidate(base: string, real: string, isRequire: boolean): string | undefined {
  const files = isRequire ? [base, ...requireExtensions().map((ext) => base + ext)] : [base];
  if (files.includes(real) || real.startsWith(base + sep)) return real;
  let isFolder = false;
  for (const file of files) {
    const entry = entryAt(file, true);
    if (entry !== undefined && !entry.isDirectory()) return file;
    isFolder ||= file === base && entry !== undefined;
  }
  return isFolder ? through(base, real) : undefined;
}

/**
 * The file named through the folder Node found it in (a package, require('./dir')),
 * or, when the real path is not inside that folder's real path (a link inside
 * it leads out), the folder itself.
 */
function through(folder: string, real: string): string {
  const realFolder = realPathOf(folder);
  return isWithin(realFolder, real) ? join(folder, relative(realFolder, real)) : folder + sep;
}

function requireExtensions(): string[] {
  return Object.keys((module as unknown as { _extensions: Record<string, unknown> })._extensions);
}

/** `@scope/name` or `name`: the folder a bare specifier's package lives in. */
function packageName(specifier: string): string {
  const parts = specifier.split('/');
  return parts.slice(0, specifier.startsWith('@') ? 2 : 1).join(sep);
}

/**
 * For `#imports` and self-references, which Node maps through the importer's
 * own package.json: their targets must lie inside that package, so a real
 * path outside the package's real folder was reached through a link in it.
 */
function withinOwnPackage(parentDir: string, real: string, baseDir: string, specifier: string): string | undefined {
  const scope = packageScope(parentDir, baseDir);
  if (scope === undefined) return undefined;
  if (!specifier.startsWith('#') && specifier !== scope.name && !specifier.startsWith(`${scope.name}/`)) return undefined;
  return through(scope.dir, real);
}

/** The folder specifiers are relative to: the importer's own, or, for `--import` preloads, the working folder's URL itself (it ends in "/"). */
function importerFolder(parentURL: string): string {
  const path = fileURLToPath(parentURL);
  return parentURL.endsWith('/') ? path.slice(0, -1) || '/' : dirname(path);
}

/** The package a file belongs to (Node's package scope), inside the policy folder. */
function packageScope(dir: string, baseDir: string): { dir: string; name: string | undefined } | undefined {
  const manifest = packageJsonFor(dir, baseDir);
  if (manifest === undefined) return undefined;
  // parseJson gives objects without a prototype: a package.json with no "name" never reads a polluted one.
  const parsed = parseJson(readText(manifest), `package.json ${manifest}`, ErrorCodes.UNSUPPORTED_LOAD);
  const name = isPlainObject(parsed) ? parsed.name : undefined;
  return { dir: dirname(manifest), name: typeof name === 'string' ? name : undefined };
}

/** The nearest package.json at or above `dir`, inside the policy folder. */
function packageJsonFor(dir: string, baseDir: string): string | undefined {
  for (const folder of foldersUpTo(dir, baseDir)) {
    const manifest = join(folder, 'package.json');
    if (entryAt(manifest, true)?.isFile()) return manifest;
  }
  return undefined;
}

/** `dir` and its ancestors, nearest first, as long as they are inside the policy folder. */
function foldersUpTo(dir: string, baseDir: string): string[] {
  const folders: string[] = [];
  for (let current = dir; isWithin(baseDir, current); current = dirname(current)) {
    folders.push(current);
    if (current === dirname(current)) break;
  }
  return folders;
}
