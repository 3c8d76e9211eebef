import { realpathSync } from 'node:fs';
import { createRequire, isBuiltin } from 'node:module';
import { basename, delimiter, join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { environment } from '../environment.js';
import { asTrustloadError, ErrorCodes, TrustloadError } from '../errors.js';
import type { Guard } from '../guard/guard.js';
import { readArtifactFile } from '../io/read.js';
import { BUILT_IN_TEST_REPORTERS, NODE_DEFAULT_CONFIG_FILE, NODE_EARLY_LOAD_VARIABLES, NODE_EARLY_LOADS, nodeConfigFiles } from '../node-features.js';
import { JudgedFiles } from './judged-files.js';
import { joinNodeOptions, readNodeFlags, replaceValues, splitNodeOptions, type NodeFlag } from './node-flags.js';
import { firstValue } from './pinned-env.js';

const ANNOUNCE = { announce: true };

/** A process about to start, as the native spawn will start it. */
export interface ProcessStart {
  file: string;
  /** argv, with argv[0] */
  args: readonly string[];
  /** Absolute: the folder the native spawn is told to start it in. */
  cwd: string;
  /** The `KEY=value` list the child gets (pinned). */
  env: readonly string[];
  /** The NODE_OPTIONS the caller gave, which the child runs after the guard's `--import`. */
  callerNodeOptions: string | undefined;
}

/** A module an option names, judged, and the value that names that same file from any folder. */
interface Resolved {
  flag: NodeFlag;
  value: string;
}

/**
 * Judges, before a child or worker starts, the files Node would load in it
 * before the guard (`--require`, loaders, an `--import` ahead of the guard's,
 * test reporters, config and env files) or instead of it (a snapshot, the
 * REPL module): the guard is not there yet to check them, and the child reads
 * them again itself. Every one goes through the policy as a load would
 * (`unmatched: deny` refuses the rest), and in enforce mode a protected one is
 * refused even when it verifies: only the child's own guard can check the
 * bytes the child runs, so it must be `--import`ed after the guard. Options
 * that run code the guard never sees (a debugger, an OpenSSL config, a
 * snapshot being built) and variables that load native code first are
 * refused unless this process itself started with them.
 */
export class StartJudge {
  #nodeRealPath: string | undefined;
  #guardRealPath: string | undefined;
  /** `--name=value` of every option this process itself was started with: the command line it started with is trusted. */
  readonly #startedWith: ReadonlySet<string>;
  /** The files judged for the start being judged (a subscriber may start another one meanwhile). */
  #judged = new JudgedFiles();

  constructor(
    private readonly guard: Guard,
    private readonly registerPath: string,
  ) {
    const started = [...readNodeFlags(process.execArgv), ...readNodeFlags(splitNodeOptions(environment.NODE_OPTIONS ?? '') ?? [])];
    this.#startedWith = new Set(started.map(flagText));
  }

  /**
   * A process start. Returns its arguments and the caller's NODE_OPTIONS with
   * each judged file named by the real path judged, so that the child loads
   * that file whatever its own resolution would pick (export conditions, a
   * package map, a link changed since).
   */
  process(start: ProcessStart): { args: string[]; callerNodeOptions: string | undefined; node: boolean } {
    // Nothing runs between this and the native spawn but the guard's own code.
    const { result, confirm } = this.#judging(() => this.#process(start));
    confirm();
    return result;
  }

  #process(start: ProcessStart): { args: string[]; callerNodeOptions: string | undefined; node: boolean } {
    const callerNodeOptions = this.#nodeOptions(start.callerNodeOptions, start.cwd, false);
    // NODE_OPTIONS and these variables reach any Node the child starts; its arguments only matter to Node.
    this.#replModule(start.env, start.cwd);
    this.#variables(start.env);
    if (!this.#isNode(start.file, start.cwd, start.env)) return { args: [...start.args], callerNodeOptions, node: false };
    const words = start.args.slice(1);
    this.#configFiles(words, start.cwd);
    return { args: [start.args[0]!, ...replaceValues(words, this.#flags(readNodeFlags(words), start.cwd, false))], callerNodeOptions, node: true };
  }

  /**
   * A Worker: its execArgv after the guard's `--import`, and the NODE_OPTIONS
   * of the environment it gets, each judged file named by its real path (a
   * worker resolves these names when it starts, from whatever folder the
   * process is in by then). `confirm` checks the judged files again: call it
   * last, right before the worker is built.
   */
  worker(
    execArgv: readonly string[],
    nodeOptions: string | undefined,
    nodeOptionsBeforeGuard: boolean,
  ): { execArgv: string[]; nodeOptions: string | undefined; confirm: () => void } {
    const { result, confirm } = this.#judging(() => {
      const cwd = process.cwd();
      const options = this.#nodeOptions(nodeOptions, cwd, nodeOptionsBeforeGuard);
      this.#configFiles(execArgv, cwd);
      return { execArgv: replaceValues(execArgv, this.#flags(readNodeFlags(execArgv), cwd, false)), nodeOptions: options };
    });
    return { ...result, confirm };
  }

  /** Runs `judge` recording the files it judges; `confirm` refuses the start when any of them changed since. */
  #judging<T>(judge: () => T): { result: T; confirm: () => void } {
    const outer = this.#judged;
    const judged = new JudgedFiles();
    this.#judged = judged;
    try {
      return { result: judge(), confirm: () => this.#guarded(() => judged.confirm()) };
    } finally {
      this.#judged = outer;
    }
  }

  #guarded(check: () => void): void {
    try {
      check();
    } catch (err) {
      this.#refuse(asTrustloadError(err, ErrorCodes.UNSUPPORTED_LOAD, 'cannot check a file a child would use'));
    }
  }

  /** The config files Node reads for these words, wherever they are named. */
  #configFiles(words: readonly string[], cwd: string): void {
    for (const file of nodeConfigFiles(words)) this.#configFile(resolve(cwd, file), cwd, file === NODE_DEFAULT_CONFIG_FILE);
  }

  /** NODE_OPTIONS as judged, its judged files named absolutely. */
  #nodeOptions(value: string | undefined, cwd: string, importsBeforeGuard: boolean): string | undefined {
    if (value === undefined || value === '') return value;
    // Node cannot read it either (the child would not start), but a disagreement between the two readers
    // must not pass unjudged preloads on: refuse.
    const words = splitNodeOptions(value);
    if (words === undefined) {
      this.#refuse(new TrustloadError(ErrorCodes.UNSUPPORTED_LOAD, `NODE_OPTIONS cannot be read (an unclosed quote or a trailing backslash): ${value}`));
      return value;
    }
    this.#configFiles(words, cwd);
    const resolved = this.#flags(readNodeFlags(words), cwd, importsBeforeGuard);
    return resolved.length === 0 ? value : joinNodeOptions(replaceValues(words, resolved));
  }

  #replModule(env: readonly string[], cwd: string): void {
    const repl = firstValue(env, 'NODE_REPL_EXTERNAL_MODULE');
    if (repl) this.#replacesGuard(resolve(cwd, repl), 'NODE_REPL_EXTERNAL_MODULE');
  }

  #variables(env: readonly string[]): void {
    for (const name of NODE_EARLY_LOAD_VARIABLES) this.#variable(name, firstValue(env, name), 'a child started with');
  }

  /** A variable that loads code before the guard (or changes what a preload names) may only keep the value this process started with. */
  #variable(name: string, value: string | undefined, where: string): void {
    if (value === undefined || value === '' || value === environment[name] || !NODE_EARLY_LOAD_VARIABLES.includes(name)) return;
    this.#refuse(new TrustloadError(ErrorCodes.UNSUPPORTED_LOAD, `${where} ${name}=${value} loads what it names before the guard; only this process's own ${name} is passed on`));
  }

  #flags(flags: readonly NodeFlag[], cwd: string, importsBeforeGuard: boolean): Resolved[] {
    // Building a snapshot runs its entry with no preload at all (and --snapshot-blob then names the output).
    const building = flags.find(({ name }) => NODE_EARLY_LOADS.get(name) === 'unguarded' && name.startsWith('--build-snapshot'));
    if (building !== undefined) {
      this.#unguarded(building);
      return [];
    }
    const resolved: Resolved[] = [];
    const keep = (flag: NodeFlag, real: string | undefined, asUrl: boolean): void => {
      if (real !== undefined) resolved.push({ flag, value: asUrl ? pathToFileURL(real).href : real });
    };
    for (const flag of flags) {
      const { name, value } = flag;
      switch (NODE_EARLY_LOADS.get(name)) {
        case 'require':
          keep(flag, this.#beforeGuard(this.#resolveRequire(value, cwd), name), false);
          break;
        case 'import':
          keep(flag, this.#beforeGuard(this.#resolveImport(value, cwd), name), true);
          break;
        case 'module-path':
          keep(flag, this.#beforeGuard(resolve(cwd, value), name), false);
          break;
        case 'reporter':
          if (!BUILT_IN_TEST_REPORTERS.has(value)) keep(flag, this.#beforeGuard(this.#resolveImport(value, cwd), name), true);
          break;
        case 'import-after-guard':
          if (importsBeforeGuard) keep(flag, this.#beforeGuard(this.#resolveImport(value, cwd), name), true);
          else this.#refusePinnedGuard(value, cwd);
          break;
        case 'replaces-guard':
          this.#replacesGuard(resolve(cwd, value), name);
          break;
        case 'env-file':
        case 'env-file-if-exists':
          this.#envFile(resolve(cwd, value), cwd, name === '--env-file-if-exists');
          break;
        case 'unguarded':
          this.#unguarded(flag);
          break;
      }
    }
    return resolved;
  }

  #unguarded(flag: NodeFlag): void {
    if (this.#startedWith.has(flagText(flag))) return;
    this.#refuse(
      new TrustloadError(
        ErrorCodes.UNSUPPORTED_LOAD,
        `a child started with ${flag.name} runs code the guard never sees (a snapshot or executable being built, a debugger, OpenSSL engines and providers); only options this process started with are passed on`,
      ),
    );
  }

  /**
   * Node reads an env file's variables before NODE_OPTIONS, but never over
   * one the environment has: the pinned ones always are. What it can still add
   * is judged: the REPL module it names, the preloads of its NODE_OPTIONS, the
   * variables that load code first, and the file itself when it sets any of these.
   */
  #envFile(path: string, cwd: string, optional: boolean): void {
    const text = this.#readOptional(path, optional);
    if (text === undefined) return;
    let sensitive = false;
    for (const [name, value] of envFileEntries(text)) {
      if (name === 'NODE_REPL_EXTERNAL_MODULE' && value !== '') this.#replacesGuard(resolve(cwd, value), `NODE_REPL_EXTERNAL_MODULE in ${path}`);
      if (name === 'NODE_OPTIONS') this.#nodeOptions(value, cwd, true);
      // Node sets them after the linker ran, but a Node the child starts inherits them.
      this.#variable(name, value, `a child with ${path} setting`);
      sensitive ||= name === 'NODE_OPTIONS' || name === 'NODE_REPL_EXTERNAL_MODULE' || name.startsWith('NODE_COMPILE_CACHE') || name.startsWith('TRUSTLOAD_');
    }
    if (sensitive) this.#beforeGuard(path, '--env-file');
  }

  /** A Node config file sets options (`nodeOptions` and the namespaces such as `test`), preloads among them, before any `--import` runs. */
  #configFile(path: string, cwd: string, optional: boolean): void {
    const text = this.#readOptional(path, optional);
    if (text === undefined) return;
    this.#beforeGuard(path, '--experimental-config-file');
    let config: unknown;
    try {
      config = JSON.parse(text);
    } catch (err) {
      this.#refuse(asTrustloadError(err, ErrorCodes.UNSUPPORTED_LOAD, `cannot read the Node config file ${path} a child would use`));
      return;
    }
    if (typeof config !== 'object' || config === null) return;
    const flags: NodeFlag[] = [];
    for (const options of Object.values(config)) {
      if (typeof options !== 'object' || options === null) continue;
      for (const [key, value] of Object.entries(options)) {
        for (const item of Array.isArray(value) ? value : [value]) flags.push({ name: `--${key}`, value: String(item) });
      }
    }
    this.#flags(flags, cwd, true);
  }

  /** A file the child reads by this name: recorded as read, so that the child cannot read another. */
  #readOptional(path: string, optional: boolean): string | undefined {
    try {
      const bytes = readArtifactFile(path);
      this.#judged.record(path, realpathSync.native(path), bytes);
      return bytes.toString('utf8');
    } catch (err) {
      if (optional && err instanceof TrustloadError && err.code === ErrorCodes.MISSING_FILE) return undefined;
      this.#refuse(asTrustloadError(err, ErrorCodes.UNSUPPORTED_LOAD, 'cannot read a file a child would use'));
      return undefined;
    }
  }

  /**
   * A file Node runs in the child before the guard's hooks exist: judged as a
   * load, and a protected one refused even when it verifies (the child reads
   * it again, unchecked; permissive mode warns). Returns its real path.
   */
  #beforeGuard(path: string | undefined, via: string): string | undefined {
    if (path === undefined) return undefined;
    const real = this.#realPath(path);
    if (real === undefined) return undefined;
    // Before the decision is announced: a subscriber could swap it then.
    this.#guarded(() => this.#judged.record(real, real));
    const { rule } = this.guard.loadFile(real, [path], ANNOUNCE);
    if (rule !== undefined) {
      const error = new TrustloadError(
        ErrorCodes.UNSUPPORTED_LOAD,
        `a child would run this protected file (${via}) before its guard, reading it again after this check: --import it after the guard instead, where the child verifies the bytes it runs`,
        { path: real, rule },
      );
      this.guard.refuse(error, ANNOUNCE);
    }
    return real;
  }

  /** A file Node runs in the child instead of the guard: the child then runs unguarded, so it is refused (permissive mode warns), verified or not. */
  #replacesGuard(path: string, via: string): void {
    const real = this.#realPath(path);
    if (real === undefined) return;
    const decision = this.guard.loadFile(real, [path], ANNOUNCE);
    if (decision.decision === 'unmatched') {
      this.#refuse(new TrustloadError(ErrorCodes.UNMATCHED, `a child started with ${via} runs it without the guard: a rule must cover it`, { path: real }));
    } else {
      this.guard.refuse(new TrustloadError(ErrorCodes.UNSUPPORTED_LOAD, `a child started with ${via} runs it instead of the guard, and nothing it loads after is checked`, { path: real, rule: decision.rule }), ANNOUNCE);
    }
  }

  /** An `--import` of the guard with a query or fragment: a worker's policy pin, which no child may carry. */
  #refusePinnedGuard(specifier: string, cwd: string): void {
    let url: URL;
    try {
      url = new URL(specifier, pathToFileURL(join(cwd, '/')));
    } catch {
      return; // not a URL: Node cannot load it either
    }
    if (url.protocol !== 'file:' || (url.search === '' && url.hash === '')) return;
    this.#guardRealPath ??= realPathOrUndefined(this.registerPath);
    if (realPathOrUndefined(fileURLToPath(url)) === this.#guardRealPath) {
      this.#refuse(new TrustloadError(ErrorCodes.UNSUPPORTED_LOAD, `a child may not --import the guard with a query (${specifier}): a pinned policy is for the workers the guard starts`));
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

  /** As Node resolves `--import` and loaders: a URL relative to the working folder, or a package name. */
  #resolveImport(specifier: string, cwd: string): string | undefined {
    this.#refusePinnedGuard(specifier, cwd);
    if (specifier.startsWith('data:')) {
      this.guard.loadUrl(specifier, ANNOUNCE);
      return undefined;
    }
    if (/^(?:file:|\/|\.{1,2}(?:\/|$))/.test(specifier)) return fileURLToPath(new URL(specifier, pathToFileURL(join(cwd, '/'))));
    if (/^[A-Za-z]:[\\/]/.test(specifier)) return resolve(cwd, specifier);
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

  /** A refusal's line on stderr (see Guard.announce). */
  announce(error: TrustloadError): void {
    this.guard.announce(error);
  }

  /** Throws in enforce mode; warns in permissive mode. */
  #refuse(error: TrustloadError): void {
    if (this.guard.mode === 'enforce') {
      this.announce(error);
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
function envFileEntries(text: string): Array<[string, string]> {
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

/** An option as one word, to compare with the options this process started with. */
function flagText({ name, value }: NodeFlag): string {
  return `${name}=${value}`;
}
