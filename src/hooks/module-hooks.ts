import { realpathSync, statSync } from 'node:fs';
import module from 'node:module';
import { basename, dirname, join, relative, resolve as resolvePath, sep } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { isLoadingInternals } from '../guard/load-verifier.js';
import type { Guard } from '../guard/guard.js';

const ANNOUNCE = { announce: true };

/**
 * Hooks every import and require with module.registerHooks (synchronous and
 * in-thread; the deprecated module.register re-reads CommonJS sources after
 * any check). The resolve hook records the path each file was requested by;
 * the load hook reads a protected file once, verifies those bytes and hands
 * Node those same bytes, so a file swapped after the check never runs.
 */
export function installModuleHooks(guard: Guard): void {
  const requestedByUrl = new Map<string, Set<string>>();
  // The main entry as typed on the command line; a worker's argv names no such file, hence the check below.
  let mainRequested = process.argv[1] ? resolvePath(process.argv[1]) : undefined;

  module.registerHooks({
    resolve(specifier, context, nextResolve) {
      const result = nextResolve(specifier, context);
      if (isLoadingInternals() || !result.url.startsWith('file:')) return result;
      let requested = requestedPath(specifier, context) ?? packageRequestedPath(specifier, context, fileURLToPath(result.url), guard.loaded.baseDir);
      if (context.parentURL === undefined && mainRequested !== undefined) {
        if (sameFile(mainRequested, result.url)) requested = mainRequested;
        mainRequested = undefined;
      }
      if (requested !== undefined) {
        const seen = requestedByUrl.get(result.url) ?? new Set<string>();
        requestedByUrl.set(result.url, seen.add(requested));
      }
      // Native addons never reach the load hook: check them here (process.dlopen is wrapped too).
      if (fileURLToPath(result.url).endsWith('.node')) guard.loadFile(fileURLToPath(result.url), requestedByUrl.get(result.url) ?? [], ANNOUNCE);
      return result;
    },
    load(url, context, nextLoad) {
      if (isLoadingInternals() || url.startsWith('node:')) return nextLoad(url, context);
      if (!url.startsWith('file:')) {
        guard.loadUrl(url, ANNOUNCE);
        return nextLoad(url, context);
      }
      // fileURLToPath, never URL.pathname: %-escapes and ?query must map to the file that is read.
      // The URL is not trusted to be real (--preserve-symlinks, or another hook, may hand over a link).
      const urlPath = fileURLToPath(url);
      const { bytes } = guard.loadFile(realPath(urlPath), [...(requestedByUrl.get(url) ?? []), urlPath], ANNOUNCE);
      if (bytes === undefined) return nextLoad(url, context);
      const format = context.format ?? nextLoad(url, context).format;
      return { format, source: bytes, shortCircuit: true };
    },
  });
}

/** The real path, or the path itself when it does not resolve (reading it then fails with its own error). */
function realPath(path: string): string {
  try {
    return realpathSync.native(path);
  } catch {
    return path;
  }
}

function sameFile(path: string, url: string): boolean {
  try {
    return realpathSync.native(path) === fileURLToPath(url);
  } catch {
    return false;
  }
}

/** The path a specifier names before symlinks are followed; undefined for bare package names. */
function requestedPath(specifier: string, context: { parentURL?: string | undefined; conditions?: readonly string[] }): string | undefined {
  try {
    if (specifier.startsWith('file:')) return fileURLToPath(specifier);
    const relative = specifier.startsWith('./') || specifier.startsWith('../') || specifier === '.' || specifier === '..';
    if (!relative && !specifier.startsWith('/')) return undefined;
    const parent = context.parentURL?.startsWith('file:') ? dirname(fileURLToPath(context.parentURL)) : process.cwd();
    // require() takes a specifier as a path; import takes it as a URL (so %74 means "t").
    return context.conditions?.includes('require')
      ? resolvePath(parent, specifier)
      : fileURLToPath(new URL(specifier, pathToFileURL(`${parent}/`)));
  } catch {
    return undefined; // not a path we can name: the real path alone decides
  }
}

/**
 * For a bare package name: the path through the node_modules folder Node
 * found the package in, before its links are followed, so that a package
 * linked into a protected folder (plugins/x/node_modules/dep -> /elsewhere)
 * is judged like any other symlink. Only folders inside the policy folder
 * are looked at: no rule covers anything outside it.
 */
function packageRequestedPath(
  specifier: string,
  context: { parentURL?: string | undefined },
  resolved: string,
  baseDir: string,
): string | undefined {
  if (specifier.startsWith('#') || specifier.includes(':') || !context.parentURL?.startsWith('file:')) return undefined;
  const parts = specifier.split('/');
  const name = specifier.startsWith('@') ? parts.slice(0, 2).join('/') : parts[0]!;
  try {
    for (let dir = dirname(fileURLToPath(context.parentURL)), up = ''; isInside(dir, baseDir) && up !== dir; up = dir, dir = dirname(dir)) {
      if (basename(dir) === 'node_modules') continue;
      const candidate = join(dir, 'node_modules', name);
      if (!statSync(candidate, { throwIfNoEntry: false })?.isDirectory()) continue;
      const real = realpathSync.native(candidate);
      // A file of the package: the same file under the folder it was found in. A file outside the
      // package's real folder was reached through a link inside it: it is judged by that folder.
      return resolved.startsWith(`${real}${sep}`) ? join(candidate, resolved.slice(real.length + 1)) : candidate;
    }
  } catch {
    // not a path we can name: the real path alone decides
  }
  return undefined;
}

function isInside(dir: string, baseDir: string): boolean {
  const rel = relative(baseDir, dir);
  return rel === '' || (rel !== '..' && !rel.startsWith(`..${sep}`) && !rel.startsWith(sep) && !/^[A-Za-z]:/.test(rel));
}
