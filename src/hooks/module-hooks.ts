import module from 'node:module';
import { isAbsolute, resolve as resolvePath } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { environment } from '../environment.js';
import { internalSource, isInternalUrl, serveInternalsThroughHooks } from '../guard/load-verifier.js';
import type { Guard } from '../guard/guard.js';
import { commonJsImportsLoadThroughModule, requireResolveRunsHooks } from '../node-features.js';
import { realPathOf } from '../paths/examine.js';
import { mainEntryPath, requestedPath } from '../paths/requested-path.js';
import { guardFindPackageJSON, PackageScopes } from './package-scope.js';
import { textImports } from './text-imports.js';

const ANNOUNCE = { announce: true };
// Module loads are judged by a rule's whole folder, not only by what its glob names.
const MODULE = { announce: true, asModule: true };

/**
 * Hooks every import and require with module.registerHooks (synchronous and
 * in-thread; the deprecated module.register re-reads CommonJS sources after
 * any check). The resolve hook records the path each file was requested by;
 * the load hook reads a protected file once, verifies those bytes and hands
 * Node those same bytes, so a file swapped after the check never runs.
 */
export function installModuleHooks(guard: Guard, onBuiltin: (url: string) => void): void {
  const routeCommonJsImports = guard.loaded.policy.lockdown === true && !commonJsImportsLoadThroughModule;
  const requestedByUrl = new Map<string, Set<string>>();
  // Node resolves to real paths unless told to keep links: only then is a URL's path not the file's own.
  const linkedUrls = preservesSymlinks();
  // The main entry as typed on the command line; a worker's argv names no such file, hence the check below.
  let mainRequested = process.argv[1] ? resolvePath(process.argv[1]) : undefined;
  const scopes = new PackageScopes(guard, ANNOUNCE);
  const textModule = textImports(guard);
  guardFindPackageJSON(scopes);

  /** What the resolve hook checks for every file Node resolved: the paths it was requested by, its package scope, an addon. */
  const judgeResolved = (specifier: string, context: { parentURL?: string | undefined; conditions?: readonly string[] }, url: string): void => {
    if (!url.startsWith('file:') || isInternalUrl(url)) return;
    const named = guard.examine(() => {
      const urlPath = fileURLToPath(url);
      const real = linkedUrls ? realPathOf(urlPath) : urlPath;
      let requested = requestedPath(specifier, context, real, guard.loaded.baseDir);
      if (context.parentURL === undefined && mainRequested !== undefined) {
        requested = mainEntryPath(mainRequested, real) ?? requested;
        mainRequested = undefined;
      }
      return { real, requested };
    }, ANNOUNCE);
    if (named === undefined) return; // permissive mode warned: Node loads what it resolved
    const { real, requested } = named;
    // Checked here too, not only on load: a module already in Node's caches is never loaded again,
    // and a link to it from another rule's folder must not be a way to reach it.
    const rule = requested === undefined ? guard.rules.moduleRuleFor(real) : guard.checkPaths(real, [requested], ANNOUNCE);
    if (requested !== undefined) {
      const seen = requestedByUrl.get(url) ?? new Set<string>();
      requestedByUrl.set(url, seen.add(requested));
    }
    // Node has just read the package.json files that decide how this module runs, through no hook:
    // those in its rule's folder must verify for its rule (SECURITY.md says what remains).
    if (rule !== undefined) scopes.check(real, requestedByUrl.get(url) ?? [], rule);
    // Native addons never reach the load hook: check them here (process.dlopen is wrapped too).
    if (real.endsWith('.node')) guard.loadFile(real, requestedByUrl.get(url) ?? [], MODULE);
  };
  // Node 22's require.resolve runs no resolve hook (see node-features): Module._resolveFilename is judged instead.
  if (!requireResolveRunsHooks) judgeRequireResolve(judgeResolved);

  serveInternalsThroughHooks();
  module.registerHooks({
    resolve(specifier, context, nextResolve) {
      const result = nextResolve(specifier, context);
      if (result.url.startsWith('node:')) onBuiltin(result.url);
      judgeResolved(specifier, context, result.url);
      return result;
    },
    load(url, context, nextLoad) {
      if (url.startsWith('node:')) return nextLoad(url, context);
      // trustload's own verifier files, while it loads them: checked against their build-time digests.
      const internal = internalSource(url);
      if (internal !== undefined) return { format: 'module', source: internal, shortCircuit: true };
      if (!url.startsWith('file:')) {
        guard.loadUrl(url, ANNOUNCE);
        return nextLoad(url, context);
      }
      // fileURLToPath, never URL.pathname: %-escapes and ?query must map to the file that is read.
      const urlPath = fileURLToPath(url);
      const real = linkedUrls ? guard.examine(() => realPathOf(urlPath), ANNOUNCE) : urlPath;
      if (real === undefined) return nextLoad(url, context); // permissive mode warned
      const { bytes, rule } = guard.loadFile(real, [...(requestedByUrl.get(url) ?? []), urlPath], MODULE);
      if (bytes === undefined) return nextLoad(url, context);
      const text = textModule?.(rule, real, bytes);
      if (text !== undefined) return { format: 'module', source: text, shortCircuit: true };
      const format = context.format ?? nextLoad(url, context).format;
      // Under lockdown on Node 22 (see node-features), CommonJS imported from ESM is left to module.load,
      // which lockdown follows and which comes back here for the same verified bytes.
      if (routeCommonJsImports && format === 'commonjs' && context.conditions?.includes('import')) return { format, source: undefined, shortCircuit: true };
      return { format, source: bytes, shortCircuit: true };
    },
  });
}

function preservesSymlinks(): boolean {
  const flags = `${process.execArgv.join(' ')} ${environment.NODE_OPTIONS ?? ''}`;
  return /--preserve-symlinks/.test(flags) || environment.NODE_PRESERVE_SYMLINKS === '1';
}

type ResolveFilename = (request: string, parent: { filename?: string | null } | undefined, isMain: boolean, options?: unknown) => string;

/**
 * Wraps Module._resolveFilename (what require.resolve calls) so that a file it
 * resolves is judged as the resolve hook judges it: Node reads the
 * package.json files on the way, and keeps what it read.
 */
function judgeRequireResolve(judge: (specifier: string, context: { parentURL?: string; conditions: readonly string[] }, url: string) => void): void {
  const Module = module as unknown as { _resolveFilename: ResolveFilename };
  const resolveFilename = Module._resolveFilename;
  Module._resolveFilename = function judgedResolveFilename(this: unknown, request, parent, isMain, options) {
    const filename = resolveFilename.call(this, request, parent, isMain, options);
    if (isAbsolute(filename)) {
      const parentURL = typeof parent?.filename === 'string' ? pathToFileURL(parent.filename).href : undefined;
      judge(request, { parentURL, conditions: ['require'] }, pathToFileURL(filename).href);
    }
    return filename;
  };
}
