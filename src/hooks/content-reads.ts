import module from 'node:module';
import type * as Fs from 'node:fs';
import { join, resolve, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import { asTrustloadError, ErrorCodes, TrustloadError, withContext } from '../errors.js';
import type { Guard } from '../guard/guard.js';
import { keepOwnOpen, ownFs } from '../io/own-fs.js';
import { readArtifactFileAsync } from '../io/read-async.js';
import { loadSteps } from '../paths/load-steps.js';
import { globFolder } from '../policy/globs.js';

type AnyFunction = (this: unknown, ...args: unknown[]) => unknown;
type Options = { encoding?: BufferEncoding | 'buffer' | null; flag?: unknown } | BufferEncoding | 'buffer' | null | undefined;

const ANNOUNCE = { announce: true };
const FS_IDS = new Set(['fs', 'node:fs', 'fs/promises', 'node:fs/promises']);
// Flags that only read: anything else (a write, a create, a truncate) is not a read the guard can stand for.
const READ_FLAGS = new Set<unknown>([undefined, 'r', 'rs', 'sr']);
// The kernel names the file behind a descriptor here; elsewhere a read by descriptor cannot be judged.
const DESCRIPTOR_PATHS = process.platform === 'linux' ? '/proc/self/fd/' : undefined;

/** What the wrappers hand to fs in place of the caller's path argument: read from it once (see readOnce). */
type Argument = string | Buffer | number | undefined | null | boolean | symbol | bigint;

/** A read or an open of a file a content rule protects: the path it was asked by, its real path, the rule. */
interface Target {
  requested: string;
  real: string;
  rule: string;
}

/**
 * With a rule that says `"content": true`, fs.readFile, fs.readFileSync and
 * fs.promises.readFile of a file it protects (by the path asked, its real
 * path, or a name on the way between them) read the file once and return
 * those bytes only after the guard verified them (loadFile, as readVerified
 * does), or throw its refusal; every other way fs opens such a file is
 * refused, pointing at readVerified and createVerifiedReadStream. Other
 * files go to fs as they were. fs is wrapped when the application first asks
 * for it (register.ts: the resolve hook and process.getBuiltinModule), and
 * only for a policy with such a rule: other policies pay nothing.
 */
export function guardContentReads(guard: Guard): (builtinId: string) => void {
  if (!guard.loaded.policy.rules.some((rule) => rule.content === true)) return () => {};
  let wrapped = false;
  return (id) => {
    if (wrapped || !FS_IDS.has(id)) return;
    wrapped = true;
    wrapFs(new ContentReads(guard), process.getBuiltinModule('node:fs') as typeof Fs);
  };
}

class ContentReads {
  /** Where a content rule's glob can match: its fixed folder. A prefix test keeps reads of other files within a few µs. */
  readonly #folders: string[];

  constructor(readonly guard: Guard) {
    const { baseDir, policy } = guard.loaded;
    const globs = policy.rules.filter((rule) => rule.content === true).flatMap((rule) => (typeof rule.files === 'string' ? [rule.files] : rule.files));
    this.#folders = [...new Set(globs.map((glob) => join(baseDir, globFolder(glob))))].map((dir) => (dir.endsWith(sep) ? dir : dir + sep));
  }

  /**
   * The target of a read by path or descriptor; undefined when no content
   * rule protects it (fs decides). Throws the guard's refusal (in permissive
   * mode: warns and returns undefined) when it cannot tell which file fs
   * would read: a branch that cannot decide refuses.
   */
  targetOf(file: Argument): Target | undefined {
    return typeof file === 'number' ? this.#descriptorTarget(file) : this.pathTarget(file);
  }

  /** A path as fs takes it (string or Buffer, from readOnce): judged by the name asked and the real path, as readVerified judges it. */
  pathTarget(file: Argument): Target | undefined {
    if (typeof file !== 'string' && !Buffer.isBuffer(file)) return undefined; // fs refuses it
    let requested: string;
    try {
      requested = resolve(typeof file === 'string' ? file : file.toString('utf8'));
    } catch (err) {
      // process.cwd() throws (the working folder was removed, or is longer than PATH_MAX), yet the kernel still opens relative paths.
      return this.#undecidable(String(file), err);
    }
    let real: string;
    try {
      // The argument itself: a Buffer's bytes, not their decoding, name the file fs would open.
      real = ownFs.realpathSync(file);
    } catch (err) {
      const errno = (err as NodeJS.ErrnoException).code;
      // Nothing there for fs to read, unless the name is protected: then the guard says why (a missing file is refused).
      if (errno === 'ENOENT' || errno === 'ENOTDIR') return this.#target(requested, requested, requested);
      // A path fs rejects before any system call (a NUL byte): fs throws the same for the same string.
      if (errno?.startsWith('ERR_INVALID_ARG_') === true) return undefined;
      return this.#undecidable(requested, err);
    }
    return this.#target(requested, real, requested) ?? this.#target(requested, real, real) ?? this.#throughLink(requested, real);
  }

  #undecidable(path: string, err: unknown): undefined {
    const why = err instanceof Error ? err.message : String(err);
    this.guard.refuse(new TrustloadError(ErrorCodes.UNSUPPORTED_LOAD, `cannot tell which file fs would read (a content rule may protect it): ${why}`, { path, cause: err }), ANNOUNCE);
    return undefined; // permissive mode warned
  }

  #target(requested: string, real: string, judged: string): Target | undefined {
    if (!this.#folders.some((folder) => judged.startsWith(folder))) return undefined;
    const rule = this.guard.rules.ruleFor(judged);
    return rule?.content === true ? { requested, real, rule: rule.name } : undefined;
  }

  /** A name on the way through links may be protected (a protected file replaced by a link out): then the guard judges the whole way. */
  #throughLink(requested: string, real: string): Target | undefined {
    if (requested === real) return undefined;
    let steps;
    try {
      steps = loadSteps(requested, real);
    } catch {
      return { requested, real, rule: '(unknown)' }; // the guard cannot reason about the way either, and refuses
    }
    for (const step of steps) {
      const target = this.#target(requested, real, step.path);
      if (target !== undefined) return target;
    }
    return undefined;
  }

  #descriptorTarget(fd: number): Target | undefined {
    if (DESCRIPTOR_PATHS === undefined || !Number.isInteger(fd) || fd < 0) return undefined;
    let named: string;
    try {
      named = ownFs.readlinkSync(`${DESCRIPTOR_PATHS}${fd}`);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined; // not an open descriptor: fs says so
      return this.#undecidable(`${DESCRIPTOR_PATHS}${fd}`, err);
    }
    // A pipe, a socket ("pipe:[123]") is no file a rule names.
    return named.startsWith('/') ? this.#target(named, named, named) : undefined;
  }

  /** The verified bytes of a protected file, read once here (through the guard, as readVerifiedSync reads). */
  readSync(target: Target, file: Argument, options: Options, readFile: AnyFunction): Buffer | string {
    if (!this.#readsOnly(target, options)) return readFile(file, options) as Buffer | string;
    // A descriptor's bytes are the ones its reader gets: those are verified.
    const bytes = typeof file === 'number' ? (readFile(file) as Buffer) : undefined;
    const decision = this.guard.loadFile(target.real, [target.requested], bytes === undefined ? ANNOUNCE : { ...ANNOUNCE, bytes });
    return decision.bytes === undefined ? (readFile(file, options) as Buffer | string) : encoded(decision.bytes, options);
  }

  /** readSync without blocking the event loop on the file (its bundle, kilobytes, is read synchronously while verifying). */
  async read(target: Target, file: Argument, options: Options, readFile: (file: Argument, options?: Options) => Promise<Buffer | string>): Promise<Buffer | string> {
    if (!this.#readsOnly(target, options)) return readFile(file, options);
    let bytes: Buffer;
    try {
      bytes = typeof file === 'number' ? ((await readFile(file)) as Buffer) : await readArtifactFileAsync(target.real);
    } catch (err) {
      this.guard.refuse(withContext(asTrustloadError(err, ErrorCodes.UNSUPPORTED_LOAD, 'cannot read the file'), { path: target.real, rule: target.rule }), ANNOUNCE);
      return readFile(file, options); // permissive mode warned
    }
    const decision = this.guard.loadFile(target.real, [target.requested], { ...ANNOUNCE, bytes });
    return encoded(decision.bytes ?? bytes, options);
  }

  /** Refuses (in permissive mode: warns about) an open of a protected file other than a whole, verified read. */
  refuseOpen(target: Target, how: string): void {
    this.guard.refuse(
      new TrustloadError(
        ErrorCodes.UNSUPPORTED_LOAD,
        `${how} of a file whose rule says "content": true: such a file is read only whole and verified, through fs.readFile or readVerified(path) (trustload's API); stream a large one with createVerifiedReadStream(path)`,
        { path: target.real, rule: target.rule },
      ),
      ANNOUNCE,
    );
  }

  #readsOnly(target: Target, options: Options): boolean {
    const flag = typeof options === 'object' && options !== null ? options.flag : undefined;
    if (READ_FLAGS.has(flag)) return true;
    this.refuseOpen(target, `a read with flag ${JSON.stringify(flag)}`);
    return false;
  }
}

/**
 * Replaces the reading and opening functions of fs and fs/promises (one
 * object: require('fs/promises') is fs.promises), then refreshes the ESM
 * named exports so that `import { readFileSync } from 'node:fs'` gets them
 * too. Each wrapper reads the caller's path argument once (readOnce) and
 * hands fs only what it judged. trustload's own reads use the functions
 * kept before (src/io/own-fs.ts).
 */
function wrapFs(reads: ContentReads, fs: typeof Fs): void {
  keepOwnOpen();
  const promises = fs.promises as unknown as Record<string, AnyFunction>;
  const sync = fs as unknown as Record<string, AnyFunction>;
  const { readFileSync, readFile, openSync, open, createReadStream, openAsBlob } = sync as Record<string, AnyFunction>;
  const promisesReadFile = promises.readFile!;
  const promisesOpen = promises.open!;
  const readFileAsync = (file: Argument, options?: Options): Promise<Buffer | string> =>
    new Promise((done, fail) => readFile!(file, options ?? {}, (err: unknown, data: Buffer | string) => (err ? fail(err) : done(data))));

  sync.readFileSync = function guardedReadFileSync(this: unknown, file: unknown, options?: unknown) {
    const path = readOnce(file);
    const target = reads.targetOf(path);
    if (target === undefined) return readFileSync!.call(this, path, options);
    return reads.readSync(target, path, options as Options, (f: unknown, o?: unknown) => readFileSync!.call(this, f, o));
  } as AnyFunction;

  sync.readFile = function guardedReadFile(this: unknown, file: unknown, ...rest: unknown[]) {
    const [options, callback] = rest;
    const done = typeof options === 'function' ? options : callback;
    const path = readOnce(file);
    let target: Target | undefined;
    try {
      target = typeof done === 'function' ? reads.targetOf(path) : undefined;
    } catch (err) {
      process.nextTick(done as AnyFunction, err);
      return undefined;
    }
    if (target === undefined) return readFile!.call(this, path, ...rest);
    const given = (typeof options === 'function' ? undefined : options) as Options;
    reads.read(target, path, given, readFileAsync).then(
      (data) => process.nextTick(done as AnyFunction, null, data),
      (err: unknown) => process.nextTick(done as AnyFunction, err),
    );
    return undefined;
  } as AnyFunction;

  promises.readFile = async function guardedPromisesReadFile(this: unknown, file: unknown, options?: unknown) {
    // A FileHandle is read by the descriptor judged: its fd is read once too.
    const handle = isFileHandle(file);
    const path = handle ? (file as { fd: Argument }).fd : readOnce(file);
    const read = handle ? readFileAsync : (f: Argument, o?: Options) => promisesReadFile.call(this, f, o) as Promise<Buffer | string>;
    const target = reads.targetOf(path);
    if (target === undefined) return read(path, options as Options);
    return reads.read(target, path, options as Options, read);
  } as AnyFunction;

  // Opens: refused (enforce) or warned about (permissive) when they name a protected file; sync forms throw,
  // callback forms call back with the refusal, promise forms reject.
  const refused = (path: Argument, how: string): TrustloadError | undefined => {
    try {
      const target = reads.pathTarget(path);
      if (target !== undefined) reads.refuseOpen(target, how);
      return undefined;
    } catch (err) {
      return err as TrustloadError;
    }
  };
  sync.openSync = function guardedOpenSync(this: unknown, file: unknown, ...rest: unknown[]) {
    const path = readOnce(file);
    const error = refused(path, 'fs.openSync');
    if (error !== undefined) throw error;
    return openSync!.call(this, path, ...rest);
  } as AnyFunction;
  sync.open = function guardedOpen(this: unknown, file: unknown, ...rest: unknown[]) {
    const path = readOnce(file);
    const error = refused(path, 'fs.open');
    const done = rest.at(-1);
    if (error === undefined) return open!.call(this, path, ...rest);
    if (typeof done !== 'function') throw error;
    process.nextTick(done as AnyFunction, error);
    return undefined;
  } as AnyFunction;
  promises.open = async function guardedPromisesOpen(this: unknown, file: unknown, ...rest: unknown[]) {
    const path = readOnce(file);
    const error = refused(path, 'fs.promises.open');
    if (error !== undefined) throw error;
    return promisesOpen.call(this, path, ...rest);
  } as AnyFunction;
  sync.createReadStream = function guardedCreateReadStream(this: unknown, file: unknown, ...rest: unknown[]) {
    const path = readOnce(file);
    const error = refused(path, 'fs.createReadStream');
    if (error !== undefined) throw error;
    return createReadStream!.call(this, path, ...rest);
  } as AnyFunction;
  if (typeof openAsBlob === 'function') {
    sync.openAsBlob = function guardedOpenAsBlob(this: unknown, file: unknown, ...rest: unknown[]) {
      const path = readOnce(file);
      const error = refused(path, 'fs.openAsBlob');
      return error === undefined ? openAsBlob.call(this, path, ...rest) : Promise.reject(error);
    } as AnyFunction;
  }
  module.syncBuiltinESMExports();
}

/**
 * The caller's path argument as one value no one else can change, so that
 * the check and fs see the same path: a primitive as it is, a copy of a
 * Buffer's (or Uint8Array's) bytes, and anything else converted as fs
 * converts a file: URL, reading it once (a URL subclass or URL-like object
 * could name another file each time it is read). fileURLToPath throws what
 * fs throws for an object that is not a file: URL.
 */
function readOnce(file: unknown): Argument {
  if (typeof file !== 'object' || file === null) return file as Argument;
  // new Uint8Array(view) copies through the view's internal slots, not its (overridable) getters.
  if (file instanceof Uint8Array) return Buffer.from(new Uint8Array(file).buffer);
  return fileURLToPath(file as URL);
}

function isFileHandle(value: unknown): boolean {
  return typeof value === 'object' && value !== null && value.constructor?.name === 'FileHandle';
}

function encoded(bytes: Buffer, options: Options): Buffer | string {
  const encoding = typeof options === 'string' ? options : options?.encoding;
  return encoding === undefined || encoding === null || encoding === 'buffer' ? bytes : bytes.toString(encoding);
}
