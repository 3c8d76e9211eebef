import module from 'node:module';
import type * as Fs from 'node:fs';
import { readlinkSync, realpathSync } from 'node:fs';
import { join, resolve, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import { asTrustloadError, ErrorCodes, TrustloadError, withContext } from '../errors.js';
import type { Guard } from '../guard/guard.js';
import { keepOwnFs } from '../io/own-fs.js';
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

  /** The target of a read by path, a descriptor or a FileHandle; undefined when no content rule protects it (fs decides). */
  targetOf(file: unknown): Target | undefined {
    if (typeof file === 'number') return this.#descriptorTarget(file);
    if (isFileHandle(file)) return this.#descriptorTarget(file.fd);
    return this.pathTarget(file);
  }

  /** A path as fs takes it (string, Buffer, file: URL): judged by the name asked and the real path, as readVerified judges it. */
  pathTarget(file: unknown): Target | undefined {
    const requested = requestedPath(file);
    if (requested === undefined) return undefined;
    let real: string | undefined;
    try {
      // The argument itself: a Buffer's bytes, not their decoding, name the file fs would open.
      real = realpathSync.native(file as Fs.PathLike);
    } catch {
      // Nothing there for fs to read, unless the name is protected: then the guard says why (a missing file is refused).
      return this.#target(requested, requested, requested);
    }
    return this.#target(requested, real, requested) ?? this.#target(requested, real, real) ?? this.#throughLink(requested, real);
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
      named = readlinkSync(`${DESCRIPTOR_PATHS}${fd}`);
    } catch {
      return undefined; // not an open descriptor: fs says so
    }
    // A pipe, a socket ("pipe:[123]") is no file a rule names.
    return named.startsWith('/') ? this.#target(named, named, named) : undefined;
  }

  /** The verified bytes of a protected file, read once here (through the guard, as readVerifiedSync reads). */
  readSync(target: Target, file: unknown, options: Options, readFile: AnyFunction): Buffer | string {
    if (!this.#readsOnly(target, options)) return readFile(file, options) as Buffer | string;
    // A descriptor's bytes are the ones its reader gets: those are verified.
    const bytes = isPathArgument(file) ? undefined : (readFile(file) as Buffer);
    const decision = this.guard.loadFile(target.real, [target.requested], bytes === undefined ? ANNOUNCE : { ...ANNOUNCE, bytes });
    return decision.bytes === undefined ? (readFile(file, options) as Buffer | string) : encoded(decision.bytes, options);
  }

  /** readSync without blocking the event loop on the file (its bundle, kilobytes, is read synchronously while verifying). */
  async read(target: Target, file: unknown, options: Options, readFile: (file: unknown, options?: Options) => Promise<Buffer | string>): Promise<Buffer | string> {
    if (!this.#readsOnly(target, options)) return readFile(file, options);
    let bytes: Buffer;
    try {
      bytes = isPathArgument(file) ? await readArtifactFileAsync(target.real) : ((await readFile(file)) as Buffer);
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
 * too. trustload's own reads keep the functions found here (keepOwnFs).
 */
function wrapFs(reads: ContentReads, fs: typeof Fs): void {
  keepOwnFs();
  const promises = fs.promises as unknown as Record<string, AnyFunction>;
  const sync = fs as unknown as Record<string, AnyFunction>;
  const { readFileSync, readFile, openSync, open, createReadStream, openAsBlob } = sync as Record<string, AnyFunction>;
  const promisesReadFile = promises.readFile!;
  const promisesOpen = promises.open!;
  const readFileAsync = (file: unknown, options?: Options): Promise<Buffer | string> =>
    new Promise((done, fail) => readFile!(file, options ?? {}, (err: unknown, data: Buffer | string) => (err ? fail(err) : done(data))));

  sync.readFileSync = function guardedReadFileSync(this: unknown, file: unknown, options?: unknown) {
    const target = reads.targetOf(file);
    if (target === undefined) return readFileSync!.call(this, file, options);
    return reads.readSync(target, file, options as Options, (f: unknown, o?: unknown) => readFileSync!.call(this, f, o));
  } as AnyFunction;

  sync.readFile = function guardedReadFile(this: unknown, file: unknown, options?: unknown, callback?: unknown) {
    const done = typeof options === 'function' ? options : callback;
    const target = typeof done === 'function' ? reads.targetOf(file) : undefined;
    // eslint-disable-next-line prefer-rest-params
    if (target === undefined) return readFile!.apply(this, arguments as unknown as unknown[]);
    const given = (typeof options === 'function' ? undefined : options) as Options;
    reads.read(target, file, given, readFileAsync).then(
      (data) => process.nextTick(done as AnyFunction, null, data),
      (err: unknown) => process.nextTick(done as AnyFunction, err),
    );
    return undefined;
  } as AnyFunction;

  promises.readFile = function guardedPromisesReadFile(this: unknown, file: unknown, options?: unknown) {
    const target = reads.targetOf(file);
    if (target === undefined) return promisesReadFile.call(this, file, options);
    return reads.read(target, file, options as Options, (f, o) => promisesReadFile.call(this, f, o) as Promise<Buffer | string>);
  } as AnyFunction;

  // Opens: refused (enforce) or warned about (permissive) when they name a protected file; sync forms throw,
  // callback forms call back with the refusal, promise forms reject.
  const refused = (file: unknown, how: string): TrustloadError | undefined => {
    const target = reads.pathTarget(file);
    if (target === undefined) return undefined;
    try {
      reads.refuseOpen(target, how);
      return undefined;
    } catch (err) {
      return err as TrustloadError;
    }
  };
  sync.openSync = function guardedOpenSync(this: unknown, file: unknown, ...rest: unknown[]) {
    const error = refused(file, 'fs.openSync');
    if (error !== undefined) throw error;
    return openSync!.call(this, file, ...rest);
  } as AnyFunction;
  sync.open = function guardedOpen(this: unknown, file: unknown, ...rest: unknown[]) {
    const error = refused(file, 'fs.open');
    const done = rest.at(-1);
    if (error === undefined) return open!.call(this, file, ...rest);
    if (typeof done !== 'function') throw error;
    process.nextTick(done as AnyFunction, error);
    return undefined;
  } as AnyFunction;
  promises.open = function guardedPromisesOpen(this: unknown, file: unknown, ...rest: unknown[]) {
    const error = refused(file, 'fs.promises.open');
    return error === undefined ? promisesOpen.call(this, file, ...rest) : Promise.reject(error);
  } as AnyFunction;
  sync.createReadStream = function guardedCreateReadStream(this: unknown, file: unknown, ...rest: unknown[]) {
    const error = refused(file, 'fs.createReadStream');
    if (error !== undefined) throw error;
    return createReadStream!.call(this, file, ...rest);
  } as AnyFunction;
  if (typeof openAsBlob === 'function') {
    sync.openAsBlob = function guardedOpenAsBlob(this: unknown, file: unknown, ...rest: unknown[]) {
      const error = refused(file, 'fs.openAsBlob');
      return error === undefined ? openAsBlob.call(this, file, ...rest) : Promise.reject(error);
    } as AnyFunction;
  }
  module.syncBuiltinESMExports();
}

/** The absolute path fs would open for a path argument (string, Buffer, file: URL); undefined for anything else. */
function requestedPath(file: unknown): string | undefined {
  try {
    if (typeof file === 'string') return resolve(file);
    if (file instanceof Uint8Array) return resolve(Buffer.from(file.buffer, file.byteOffset, file.byteLength).toString('utf8'));
    if (isUrlLike(file)) return fileURLToPath(file.href);
  } catch {
    // fs refuses it too (a URL that is not file:, a path with a NUL byte)
  }
  return undefined;
}

function isPathArgument(file: unknown): boolean {
  return typeof file !== 'number' && !isFileHandle(file);
}

/** As fs tells a URL from other objects: an href and a protocol, no auth or path. */
function isUrlLike(value: unknown): value is { href: string } {
  if (value instanceof URL) return true;
  const v = value as { href?: unknown; protocol?: unknown; auth?: unknown; path?: unknown } | null;
  return typeof v === 'object' && v !== null && typeof v.href === 'string' && v.protocol !== undefined && v.auth === undefined && v.path === undefined;
}

function isFileHandle(value: unknown): value is { fd: number } {
  return typeof value === 'object' && value !== null && value.constructor?.name === 'FileHandle' && typeof (value as { fd?: unknown }).fd === 'number';
}

function encoded(bytes: Buffer, options: Options): Buffer | string {
  const encoding = typeof options === 'string' ? options : options?.encoding;
  return encoding === undefined || encoding === null || encoding === 'buffer' ? bytes : bytes.toString(encoding);
}
