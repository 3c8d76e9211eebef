import { readdirSync } from 'node:fs';
import { ErrorCodes, TrustloadError } from '../errors.js';
import type { ElfIdentity, ElfObject } from './elf.js';

/** What the caller found at a path the linker may open. */
export type Opened =
  | { kind: 'absent' }
  /** Outside the application folder: a system library, out of scope, whose own needs are not followed. */
  | { kind: 'outside'; identity: ElfIdentity | undefined }
  /** Inside it: decided by the caller (verified, or refused by throwing); its own needs are followed. */
  | { kind: 'inside'; object: ElfObject; rule: string | undefined };

/** A library the linker loads: `path` as the linker names it (its folder is $ORIGIN), and the object that needed it. */
export interface LinkedObject {
  path: string;
  object: ElfObject;
  rule: string | undefined;
  loader: LinkedObject | undefined;
}

export interface LinkerHost {
  linker: 'glibc' | 'musl';
  cwd: string;
  /** The running executable's: the linker passes over a library of another class or machine. */
  identity: ElfIdentity;
  /** $ORIGIN of the executable, for LD_LIBRARY_PATH and for a dlopen name. */
  executableDir: string;
  /** LD_LIBRARY_PATH as the linker read it when the process started. */
  libraryPath: string | undefined;
  insideApp(path: string): boolean;
  open(path: string, neededBy: LinkedObject | undefined): Opened;
}

// Bounds on the work: an addon's closure is a handful of libraries; a hardware-capability search
// looks a few folders deep. Past these the answer is a refusal, not a guess.
const MAX_LIBRARIES = 256;
const MAX_SUBFOLDERS = 4096;
const SUBFOLDER_DEPTH = 3;

/**
 * Follows what glibc's dynamic linker does for dlopen(`file`): which file
 * each DT_NEEDED name becomes, through the object's DT_RPATH and its
 * loaders' (unless it has a DT_RUNPATH), LD_LIBRARY_PATH, then its own
 * DT_RUNPATH (never inherited), and ld.so.cache and the default folders,
 * which hold system libraries (musl's order, for Alpine's node, is in
 * searchDirs). Every library found inside the application folder is handed
 * to `host.open`, which decides it; those are followed in turn. A name not
 * found in any folder that can lie inside the application is left to the
 * system folders (or to the linker's own failure).
 */
export function linkerClosure(file: string, host: LinkerHost): void {
  const subfolders = new Map<string, string[]>();
  const seen = new Set<string>();
  const queue = find(file, undefined, host, subfolders);
  for (let next = queue.shift(); next !== undefined; next = queue.shift()) {
    // The same file reached through other loaders may find its own needs elsewhere (inherited RPATHs).
    const key = `${next.path}\0${searchDirs(next, host).join('\0')}`;
    if (seen.has(key)) continue;
    seen.add(key);
    if (seen.size > MAX_LIBRARIES) {
      throw new TrustloadError(ErrorCodes.UNSUPPORTED_LOAD, `links more than ${MAX_LIBRARIES} libraries; trustload does not follow that many`, { path: file });
    }
    for (const name of next.object.needed) queue.push(...find(name, next, host, subfolders));
  }
}

/** The libraries inside the application that the linker may load for `name` needed by `loader`. */
function find(name: string, loader: LinkedObject | undefined, host: LinkerHost, subfolders: Map<string, string[]>): LinkedObject[] {
  const found: LinkedObject[] = [];
  const take = (path: string): 'stop' | 'next' => {
    const absolute = absolutePath(path, host.cwd);
    const opened = host.open(absolute, loader);
    if (opened.kind === 'absent') return 'next';
    const identity = opened.kind === 'inside' ? opened.object : opened.identity;
    // glibc passes over a file of the other ELF class or another machine, and fails on anything else.
    if (identity !== undefined && (identity.bits !== host.identity.bits || identity.machine !== host.identity.machine)) return 'next';
    if (opened.kind === 'inside') found.push({ path: absolute, object: opened.object, rule: opened.rule, loader });
    return 'stop';
  };
  const expanded = substitute(name, loader === undefined ? host.executableDir : origin(loader.path), loader?.path ?? name);
  if (expanded.includes('/')) {
    take(expanded);
    return found;
  }
  for (const dir of searchDirs(loader, host)) {
    // glibc first tries hardware-capability subfolders (glibc-hwcaps/x86-64-v3, tls, x86_64, haswell...),
    // which differ by CPU and glibc version: inside the application any subfolder a few levels deep counts.
    if (host.insideApp(dir)) {
      for (const sub of subfoldersOf(dir, subfolders)) take(`${sub}/${expanded}`);
    }
    if (take(`${dir}/${expanded}`) === 'stop') return found;
  }
  return found;
}

/** The folders searched for a name without a slash needed by `loader` (undefined: by the executable, dlopen). */
function searchDirs(loader: LinkedObject | undefined, host: LinkerHost): string[] {
  const dirs: string[] = [];
  if (host.linker === 'musl') {
    // musl: LD_LIBRARY_PATH first, then the search path of each loader up the chain, RUNPATH or RPATH alike.
    if (host.libraryPath !== undefined) dirs.push(...splitPath(host.libraryPath, /[:\n]/, host.executableDir, host.cwd, 'LD_LIBRARY_PATH', false));
    for (let l = loader; l !== undefined; l = l.loader) {
      const own = l.object.runpath ?? l.object.rpath;
      if (own !== undefined) dirs.push(...splitPath(own, /[:\n]/, origin(l.path), host.cwd, l.path, false));
    }
    return dirs;
  }
  // The executable's own RPATH is a system concern: it is not read.
  if (loader !== undefined && loader.object.runpath === undefined) dirs.push(...inheritedDirs(loader, host.cwd));
  if (host.libraryPath !== undefined && host.libraryPath !== '') {
    dirs.push(...splitPath(host.libraryPath, /[:;]/, host.executableDir, host.cwd, 'LD_LIBRARY_PATH'));
  }
  if (loader?.object.runpath !== undefined) dirs.push(...splitPath(loader.object.runpath, /:/, origin(loader.path), host.cwd, loader.path));
  return dirs;
}

/** DT_RPATH folders of `object` and of the objects that loaded it, nearest first; an object with DT_RUNPATH has its DT_RPATH ignored. */
function inheritedDirs(object: LinkedObject | undefined, cwd: string): string[] {
  const dirs: string[] = [];
  for (let l = object; l !== undefined; l = l.loader) {
    if (l.object.runpath === undefined && l.object.rpath !== undefined) dirs.push(...splitPath(l.object.rpath, /:/, origin(l.path), cwd, l.path));
  }
  return dirs;
}

/**
 * A search path's folders as the linker reads them: an empty entry is the working folder to glibc
 * (musl skips it), trailing slashes go. Relative folders are relative to the working folder when
 * the linker searches: now.
 */
function splitPath(list: string, separators: RegExp, originDir: string, cwd: string, where: string, emptyIsCwd = true): string[] {
  const entries = list.split(separators);
  return (emptyIsCwd ? entries : entries.filter((entry) => entry !== '')).map((entry) => {
    const dir = absolutePath(substitute(entry === '' ? '.' : entry, originDir, where), cwd);
    return dir.replace(/(?<=.)\/+$/, '');
  });
}

/** Made absolute by prefixing, as glibc does: never normalised, so `link/..` stays the kernel's to resolve. */
function absolutePath(path: string, cwd: string): string {
  return path.startsWith('/') ? path : `${cwd}/${path}`;
}

/** $ORIGIN and ${ORIGIN}; $LIB and $PLATFORM depend on the system's glibc build, so they are refused. */
function substitute(text: string, originDir: string, where: string): string {
  return text.replace(/\$(?:\{(\w+)\}|(\w+))/g, (match, braced: string | undefined, bare: string | undefined) => {
    const name = braced ?? bare!;
    if (name === 'ORIGIN') return originDir;
    if (name === 'LIB' || name === 'PLATFORM') {
      throw new TrustloadError(ErrorCodes.UNSUPPORTED_LOAD, `its library search path uses ${match}, which trustload cannot resolve ("${text}")`, { path: where });
    }
    return match;
  });
}

/** $ORIGIN: the folder of the (absolute) path the object was opened by, as named: links not followed. */
function origin(path: string): string {
  const slash = path.lastIndexOf('/');
  return slash === 0 ? '/' : path.slice(0, slash);
}

function subfoldersOf(dir: string, cache: Map<string, string[]>): string[] {
  let found = cache.get(dir);
  if (found !== undefined) return found;
  found = [];
  const walk = (folder: string, depth: number): void => {
    let entries;
    try {
      entries = readdirSync(folder, { withFileTypes: true });
    } catch (err) {
      // Not a folder the linker could search either; anything else (EMFILE...) is no answer, and refuses.
      if (['ENOENT', 'ENOTDIR', 'EACCES', 'ELOOP'].includes((err as NodeJS.ErrnoException).code ?? '')) return;
      throw err;
    }
    for (const entry of entries) {
      if (!entry.isDirectory() && !entry.isSymbolicLink()) continue;
      const sub = `${folder}/${entry.name}`;
      found.push(sub);
      if (found.length > MAX_SUBFOLDERS) {
        throw new TrustloadError(ErrorCodes.UNSUPPORTED_LOAD, `library folder ${dir} has more than ${MAX_SUBFOLDERS} subfolders, where the linker may look for a library`, { path: dir });
      }
      if (depth + 1 < SUBFOLDER_DEPTH) walk(sub, depth + 1);
    }
  };
  walk(dir, 0);
  cache.set(dir, found);
  return found;
}
