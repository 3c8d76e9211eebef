import module from 'node:module';
import { dirname, resolve as resolvePath } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { isMainThread } from 'node:worker_threads';
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
  let mainRequested = isMainThread && process.argv[1] ? resolvePath(process.argv[1]) : undefined;

  module.registerHooks({
    resolve(specifier, context, nextResolve) {
      const result = nextResolve(specifier, context);
      if (isLoadingInternals() || !result.url.startsWith('file:')) return result;
      let requested = requestedPath(specifier, context);
      if (context.parentURL === undefined && mainRequested !== undefined) {
        requested = mainRequested; // the main entry, as typed on the command line
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
      const { bytes } = guard.loadFile(fileURLToPath(url), requestedByUrl.get(url) ?? [], ANNOUNCE);
      if (bytes === undefined) return nextLoad(url, context);
      const format = context.format ?? nextLoad(url, context).format;
      return { format, source: bytes, shortCircuit: true };
    },
  });
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
