import module from 'node:module';
import { dirname, resolve as resolvePath } from 'node:path';
import { fileURLToPath } from 'node:url';
import { isLoadingInternals } from '../guard/load-verifier.js';
import type { Guard } from '../guard/guard.js';
import { realPathOf } from '../paths/examine.js';
import { mainEntryPath, packageJsonFor, requestedPath } from '../paths/requested-path.js';

const ANNOUNCE = { announce: true };

/**
 * Hooks every import and require with module.registerHooks (synchronous and
 * in-thread; the deprecated module.register re-reads CommonJS sources after
 * any check). The resolve hook records the path each file was requested by;
 * the load hook reads a protected file once, verifies those bytes and hands
 * Node those same bytes, so a file swapped after the check never runs.
 */
export function installModuleHooks(guard: Guard, onBuiltin: (url: string) => void): void {
  const requestedByUrl = new Map<string, Set<string>>();
  // Node resolves to real paths unless told to keep links: only then is a URL's path not the file's own.
  const linkedUrls = preservesSymlinks();
  // The main entry as typed on the command line; a worker's argv names no such file, hence the check below.
  let mainRequested = process.argv[1] ? resolvePath(process.argv[1]) : undefined;

  module.registerHooks({
    resolve(specifier, context, nextResolve) {
      const result = nextResolve(specifier, context);
      if (result.url.startsWith('node:')) onBuiltin(result.url);
      if (isLoadingInternals() || !result.url.startsWith('file:')) return result;
      const named = guard.examine(() => {
        const urlPath = fileURLToPath(result.url);
        const real = linkedUrls ? realPathOf(urlPath) : urlPath;
        let requested = requestedPath(specifier, context, real, guard.loaded.baseDir);
        if (context.parentURL === undefined && mainRequested !== undefined) {
          requested = mainEntryPath(mainRequested, real) ?? requested;
          mainRequested = undefined;
        }
        // Node reads a package.json itself (type, exports, imports, main): one in a protected folder
        // decides how protected code runs, so it must be signed too. Checked here, not on Node's own
        // read of it, which no hook sees: SECURITY.md says so.
        const manifest = guard.rules.ruleFor(real) === undefined ? undefined : packageJsonFor(dirname(real), guard.loaded.baseDir);
        return { real, requested, manifest };
      }, ANNOUNCE);
      if (named === undefined) return result; // permissive mode warned: Node loads what it resolved
      const { real, requested, manifest } = named;
      if (requested !== undefined) {
        // Checked here too, not only on load: a module already in Node's caches is never loaded again,
        // and a link to it from another rule's folder must not be a way to reach it.
        guard.checkPaths(real, [requested], ANNOUNCE);
        const seen = requestedByUrl.get(result.url) ?? new Set<string>();
        requestedByUrl.set(result.url, seen.add(requested));
      }
      if (manifest !== undefined && guard.rules.ruleFor(manifest) !== undefined) guard.loadFile(manifest, [manifest], ANNOUNCE);
      // Native addons never reach the load hook: check them here (process.dlopen is wrapped too).
      if (real.endsWith('.node')) guard.loadFile(real, requestedByUrl.get(result.url) ?? [], ANNOUNCE);
      return result;
    },
    load(url, context, nextLoad) {
      if (isLoadingInternals() || url.startsWith('node:')) return nextLoad(url, context);
      if (!url.startsWith('file:')) {
        guard.loadUrl(url, ANNOUNCE);
        return nextLoad(url, context);
      }
      // fileURLToPath, never URL.pathname: %-escapes and ?query must map to the file that is read.
      const urlPath = fileURLToPath(url);
      const real = linkedUrls ? guard.examine(() => realPathOf(urlPath), ANNOUNCE) : urlPath;
      if (real === undefined) return nextLoad(url, context); // permissive mode warned
      const { bytes } = guard.loadFile(real, [...(requestedByUrl.get(url) ?? []), urlPath], ANNOUNCE);
      if (bytes === undefined) return nextLoad(url, context);
      const format = context.format ?? nextLoad(url, context).format;
      return { format, source: bytes, shortCircuit: true };
    },
  });
}

function preservesSymlinks(): boolean {
  const flags = `${process.execArgv.join(' ')} ${process.env.NODE_OPTIONS ?? ''}`;
  return /--preserve-symlinks/.test(flags) || process.env.NODE_PRESERVE_SYMLINKS === '1';
}
