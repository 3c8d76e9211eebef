import { realpathSync } from 'node:fs';
import { createRequire, isBuiltin } from 'node:module';
import { basename, delimiter, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { asTrustloadError, ErrorCodes, TrustloadError } from '../errors.js';
import type { Guard } from '../guard/guard.js';
import { readArtifactFile } from '../io/read.js';
import { readNodeFlags, splitNodeOptions, type NodeFlag } from './node-flags.js';
import { firstValue } from './pinned-env.js';

const ANNOUNCE = { announce: true };

/** A process about to start, as the native spawn will start it. */
export interface ProcessStart {
  file: string;
  /** argv, with argv[0] */
  args: readonly string[];
  cwd: string;
  /** The `KEY=value` list the child gets (pinned). */
  env: readonly string[];
  /** The NODE_OPTIONS the caller gave, which the child runs after the guard's `--import`. */
  callerNodeOptions: string | undefined;
}

/**
 * Judges, before a child or worker starts, the files Node would load in it
 * before the guard (`--require`, loaders, an `--import` ahead of the guard's,
 * config and env files) or instead of it (a snapshot, the REPL module): the
 * guard is not there yet to check them. Every one goes through the policy as a
 * load would (a protected file must verify; `unmatched: deny` refuses the
 * rest); a file that replaces the guard must be covered by a rule and verify.
 */
export class StartJudge {
  #nodeRealPath: string | undefined;

  constructor(private readonly guard: Guard) {}

  process(start: ProcessStart): void {
    this.#nodeOptions(start.callerNodeOptions, start.cwd, false);
    this.#replModule(start.env, start.cwd);
    // NODE_OPTIONS and NODE_REPL_EXTERNAL_MODULE reach any Node the child starts; its arguments only matter to Node.
    if (this.#isNode(start.file, start.cwd, start.env)) this.#flags(readNodeFlags(start.args.slice(1)), start.cwd, false);
  }

  /** A Worker: its execArgv after the guard's `--import`, and the NODE_OPTIONS of the environment it gets. */
  worker(execArgv: readonly string[], nodeOptions: string | undefined, nodeOptionsBeforeGuard: boolean): void {
    const cwd = process.cwd();
    this.#nodeOptions(nodeOptions, cwd, nodeOptionsBeforeGuard);
    this.#flags(readNodeFlags(execArgv), cwd, false);
  }

  #nodeOptions(value: string | undefined, cwd: string, importsBeforeGuard: boolean): void {
    if (value === undefined || value === '') return;
    // A NODE_OPTIONS Node cannot read stops the child from starting: nothing in it runs.
    const words = splitNodeOptions(value);
    if (words !== undefined) this.#flags(readNodeFlags(words), cwd, importsBeforeGuard);
  }

  #replModule(env: readonly string[], cwd: string): void {
    const repl = firstValue(env, 'NODE_REPL_EXTERNAL_MODULE');
    if (repl) this.#replacesGuard(resolve(cwd, repl), 'NODE_REPL_EXTERNAL_MODULE');
  }

  #flags(flags: readonly NodeFlag[], cwd: string, importsBeforeGuard: boolean): void {
    // Building a snapshot runs its entry with no preload at all (and --snapshot-blob then names the output).
    const building = flags.find(({ name }) => name === '--build-snapshot' || name === '--build-snapshot-config');
    if (building !== undefined) {
      this.#refuse(new TrustloadError(ErrorCodes.UNSUPPORTED_LOAD, `a child started with ${building.name} runs its entry without the guard`));
      return;
    }
    for (const { name, value } of flags) {
      switch (name) {
        case '--require':
          this.#beforeGuard(this.#resolveRequire(value, cwd));
          break;
        case '--experimental-loader':
          this.#beforeGuard(this.#resolveImport(value, cwd));
          break;
        case '--import':
          if (importsBeforeGuard) this.#beforeGuard(this.#resolveImport(value, cwd));
          break;
        case '--snapshot-blob':
          this.#replacesGuard(resolve(cwd, value), '--snapshot-blob');
          break;
        case '--env-file':
        case '--env-file-if-exists':
          this.#envFile(resolve(cwd, value), cwd, name === '--env-file-if-exists');
          break;
        case '--experimental-config-file':
          this.#configFile(resolve(cwd, value), cwd, false);
          break;
        case '--experimental-default-config-file':
          this.#configFile(join(cwd, 'node.config.json'), cwd, true);
          break;
      }
    }
  }

  /**
   * Node reads an env file's variables before NODE_OPTIONS, but never over
   * one the environment has: the pinned ones always are. What it can still add
   * is judged: the REPL module it names, the preloads of its NODE_OPTIONS, and
   * the file itself when it sets any of these.
   */
  #envFile(path: string, cwd: string, optional: boolean): void {
    const text = this.#readOptional(path, optional);
    if (text === undefined) return;
    let sensitive = false;
    for (const [name, value] of envFileEntries(text)) {
      if (name === 'NODE_REPL_EXTERNAL_MODULE' && value !== '') this.#replacesGuard(resolve(cwd, value), `NODE_REPL_EXTERNAL_MODULE in ${path}`);
      if (name === 'NODE_OPTIONS') this.#nodeOptions(value, cwd, true);
      sensitive ||= name === 'NODE_OPTIONS' || name === 'NODE_REPL_EXTERNAL_MODULE' || name.startsWith('NODE_COMPILE_CACHE') || name.startsWith('TRUSTLOAD_');
    }
    if (sensitive) this.#beforeGuard(path);
  }

  /** A Node config file sets options, preloads among them, before any `--import` runs. */
  #configFile(path: string, cwd: string, optional: boolean): void {
    const text = this.#readOptional(path, optional);
    if (text === undefined) return;
    this.#beforeGuard(path);
    let options: unknown;
    try {
      options = (JSON.parse(text) as { nodeOptions?: unknown }).nodeOptions;
    } catch (err) {
      this.#refuse(asTrustloadError(err, ErrorCodes.UNSUPPORTED_LOAD, `cannot read the Node config file ${path} a child would use`));
      return;
    }
    if (typeof options !== 'object' || options === null) return;
    const flags: NodeFlag[] = [];
    for (const [key, value] of Object.entries(options)) {
      for (const item of Array.isArray(value) ? value : [value]) flags.push({ name: `--${key}`, value: String(item) });
    }
    this.#flags(flags, cwd, true);
  }

  #readOptional(path: string, optional: boolean): string | undefined {
    try {
      return readArtifactFile(path).toString('utf8');
    } catch (err) {
      if (optional && err instanceof TrustloadError && err.code === ErrorCodes.MISSING_FILE) return undefined;
      this.#refuse(asTrustloadError(err, ErrorCodes.UNSUPPORTED_LOAD, 'cannot read a file a child would use'));
      return undefined;
    }
  }

  /** A file Node runs in the child before the guard's hooks exist: judged as a load. */
  #beforeGuard(path: string | undefined): void {
    if (path === undefined) return;
    const real = this.#realPath(path);
    if (real !== undefined) this.guard.loadFile(real, [path], ANNOUNCE);
  }

  /** A file Node runs in the child instead of the guard: only a verified one may. */
  #replacesGuard(path: string, via: string): void {
    const real = this.#realPath(path);
    if (real === undefined) return;
    if (this.guard.loadFile(real, [path], ANNOUNCE).decision === 'unmatched') {
      this.#refuse(new TrustloadError(ErrorCodes.UNMATCHED, `a child started with ${via} runs it without the guard: a rule must cover it`, { path: real }));
    }
  }

  #resolveRequire(specifier: string, cwd: string): string | undefined {
    if (isBuiltin(specifier)) return undefined;
    try {
      // Node resolves --require from the working folder, as a require() from a file there.
      return createRequire(join(cwd, '[preload]')).resolve(specifier);
    } catch (err) {
      this.#refuse(asTrustloadError(err, ErrorCodes.MISSING_FILE, `cannot resolve ${specifier}, which a child would load before the guard`));
      return undefined;
    }
  }

  #resolveImport(specifier: string, cwd: string): string | undefined {
    if (specifier.startsWith('data:')) {
      this.guard.loadUrl(specifier, ANNOUNCE);
      return undefined;
    }
    if (specifier.startsWith('file:')) return fileURLToPath(specifier);
    if (/^(?:\/|\.{1,2}(?:\/|$))/.test(specifier) || /^[A-Za-z]:[\\/]/.test(specifier)) return resolve(cwd, specifier);
    // A package name: resolved as require() would, close enough to the import conditions to find the file.
    return this.#resolveRequire(specifier, cwd);
  }

  #realPath(path: string): string | undefined {
    try {
      return realpathSync.native(path);
    } catch (err) {
      this.#refuse(new TrustloadError(ErrorCodes.MISSING_FILE, `a child would load ${path}, which cannot be opened`, { path, cause: err }));
      return undefined;
    }
  }

  /**
   * The node binary itself (by its real path, a bare name looked up in the
   * child's PATH as the spawn will), or one named like it: only those read
   * Node options from their arguments.
   */
  #isNode(file: string, cwd: string, env: readonly string[]): boolean {
    if (/^node(?:js)?(?:[-_.]?\d+(?:\.\d+)*)?(?:\.exe)?$/i.test(basename(file))) return true;
    this.#nodeRealPath ??= realPathOrUndefined(process.execPath);
    const candidates = /[\\/]/.test(file) ? [resolve(cwd, file)] : (firstValue(env, 'PATH') ?? '').split(delimiter).map((dir) => resolve(cwd, dir, file));
    for (const candidate of candidates) {
      // The first file found is the one the spawn runs.
      const real = realPathOrUndefined(candidate);
      if (real !== undefined) return real === this.#nodeRealPath;
    }
    return false;
  }

  /** Throws in enforce mode; warns in permissive mode. */
  #refuse(error: TrustloadError): void {
    if (this.guard.mode === 'enforce') {
      process.stderr.write(`trustload: ${error.describe()}\n`);
      throw error;
    }
    process.stderr.write(`trustload: WARNING: ${error.describe()} (started anyway: permissive mode)\n`);
  }
}

/**
 * The variables an env file sets, read as Node's parser reads them
 * (`[export ]NAME=value`, quoted values, `#` comments) and leaning to more
 * names, not fewer: a name in a quoted multi-line value is taken as set too.
 */
export function envFileEntries(text: string): Array<[string, string]> {
  const entries: Array<[string, string]> = [];
  for (const match of text.matchAll(/^[ \t]*(?:export[ \t]+)?([\w.-]+)[ \t]*=[ \t]*(.*)$/gm)) {
    const raw = match[2]!;
    const quote = raw[0];
    let value: string;
    if (quote === '"' || quote === "'" || quote === '`') {
      const end = raw.indexOf(quote, 1);
      value = end === -1 ? raw.slice(1) : raw.slice(1, end);
    } else {
      value = raw.split('#')[0]!.trim();
    }
    entries.push([match[1]!, value]);
  }
  return entries;
}

function realPathOrUndefined(path: string): string | undefined {
  try {
    return realpathSync.native(path);
  } catch {
    return undefined; // no such file: it starts nothing
  }
}
