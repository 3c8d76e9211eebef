import { lstatSync, readFileSync, realpathSync, statSync } from 'node:fs';
import module from 'node:module';
import { dirname, isAbsolute, join, relative, resolve, sep } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

interface ResolveContext {
  parentURL?: string | undefined;
  conditions?: readonly string[];
}

/**
 * The path a module was requested by, before symlinks were followed: the
 * file Node chose while resolving `specifier`, named through the folders the
 * importer named (a symlink `plugins/x/helper.js -> /elsewhere/evil.js` is
 * `plugins/x/helper.js`, whatever extension or index Node added). Undefined
 * when no such path can be named; the real path alone then decides.
 */
export function requestedPath(specifier: string, context: ResolveContext, real: string, baseDir: string): string | undefined {
  const isRequire = context.conditions?.includes('require') ?? false;
  const parentDir = context.parentURL?.startsWith('file:') ? dirname(fileURLToPath(context.parentURL)) : process.cwd();
  try {
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
      if (!statSync(join(dir, 'node_modules'), { throwIfNoEntry: false })?.isDirectory()) continue;
      const chosen = chosenCandidate(join(dir, 'node_modules', specifier), real, isRequire);
      if (chosen !== undefined) return chosen;
    }
    // Not found in a node_modules folder: a package importing itself by name (through "exports").
    return withinOwnPackage(parentDir, real, baseDir, specifier);
  } catch {
    return undefined; // a path that cannot be examined: the real path alone decides
  }
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
  for (const file of files) {
    const entry = lstatSync(file, { throwIfNoEntry: false });
    if (entry !== undefined && !statSync(file, { throwIfNoEntry: false })?.isDirectory()) return file;
  }
  if (!statSync(base, { throwIfNoEntry: false })?.isDirectory()) return undefined;
  // A folder (a package, or require('./dir')): name the file through the folder as requested.
  const realBase = realpathSync.native(base);
  return real.startsWith(realBase + sep) ? join(base, relative(realBase, real)) : base;
}

function requireExtensions(): string[] {
  return Object.keys((module as unknown as { _extensions: Record<string, unknown> })._extensions);
}

/**
 * For `#imports` and self-references, which Node maps through the importer's
 * own package.json: their targets must lie inside that package, so a real
 * path outside the package's real folder was reached through a link in it.
 * The exact file cannot be named without redoing Node's mapping, so the link
 * is named as the specifier under the package folder: its rule is the
 * package's rule, which is what decides.
 */
function withinOwnPackage(parentDir: string, real: string, baseDir: string, specifier: string): string | undefined {
  const scope = packageScope(parentDir, baseDir);
  if (scope === undefined) return undefined;
  if (!specifier.startsWith('#') && specifier !== scope.name && !specifier.startsWith(`${scope.name}/`)) return undefined;
  const realScope = realpathSync.native(scope.dir);
  return real.startsWith(realScope + sep) ? join(scope.dir, relative(realScope, real)) : join(scope.dir, specifier);
}

/** The package a file belongs to (Node's package scope), inside the policy folder. */
function packageScope(dir: string, baseDir: string): { dir: string; name: string | undefined } | undefined {
  const manifest = packageJsonFor(dir, baseDir);
  if (manifest === undefined) return undefined;
  const name: unknown = JSON.parse(readFileSync(manifest, 'utf8')).name;
  return { dir: dirname(manifest), name: typeof name === 'string' ? name : undefined };
}

/** The nearest package.json at or above `dir`, inside the policy folder. */
export function packageJsonFor(dir: string, baseDir: string): string | undefined {
  for (const folder of foldersUpTo(dir, baseDir)) {
    const manifest = join(folder, 'package.json');
    if (statSync(manifest, { throwIfNoEntry: false })?.isFile()) return manifest;
  }
  return undefined;
}

/** `dir` and its ancestors, nearest first, as long as they are inside the policy folder. */
function foldersUpTo(dir: string, baseDir: string): string[] {
  const folders: string[] = [];
  for (let current = dir; isInside(current, baseDir); current = dirname(current)) {
    folders.push(current);
    if (current === dirname(current)) break;
  }
  return folders;
}

function isInside(dir: string, baseDir: string): boolean {
  const rel = relative(baseDir, dir);
  return rel === '' || (rel !== '..' && !rel.startsWith(`..${sep}`) && !isAbsolute(rel));
}
