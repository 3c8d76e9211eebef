import module from 'node:module';

/**
 * Everything trustload knows about Node.js versions lives here; nothing else
 * compares version numbers.
 *
 * `module.registerHooks` (synchronous, in-thread hooks that see require, import
 * and the main entry) exists from 22.15 / 23.5, but require(esm) under those
 * hooks is broken up to 22.22.2, and 24.x needs 24.15 for the fixes trustload
 * relies on. Hence the supported lines: ^22.22.3 || ^24.15.0 || >=26.0.0.
 */
export const SUPPORTED_NODE_RANGE = '^22.22.3 || ^24.15.0 || >=26.0.0';

export function isSupportedNode(version: string = process.versions.node): boolean {
  const [major = 0, minor = 0, patch = 0] = version.split('.').map(Number);
  if (major === 22) return minor > 22 || (minor === 22 && patch >= 3);
  if (major === 24) return minor >= 15;
  return major >= 26;
}

export const hasRegisterHooks = typeof module.registerHooks === 'function';

/**
 * From Node 24, CommonJS imported from ESM with its source given by a load
 * hook runs through `Module.prototype.load`, like `require`. Node 22 runs it
 * in its ESM translator instead, outside any load lockdown can follow; given
 * no source, it calls `module.load` (which then asks the hooks again).
 */
export const commonJsImportsLoadThroughModule = Number(process.versions.node.split('.')[0]) >= 24;

/** From Node 24 `require.resolve` runs the resolve hooks; Node 22's calls Module._resolveFilename alone. */
export const requireResolveRunsHooks = Number(process.versions.node.split('.')[0]) >= 24;

/** Node 22's `--experimental-config-file` takes a separate value (`--experimental-config-file x.json`); from 24 only `=x.json`. */
const configFileTakesSeparateValue = Number(process.versions.node.split('.')[0]) < 24;

/**
 * Node options (long names, as `node --help` of 24.x lists them) that take a
 * value, so that `--title -r` is read as a title (Node refuses a value that
 * starts with `-` unless written `\-`, so nothing is hidden that way). V8's
 * options (`--stack-trace-limit`) refuse a separate value: listing one is
 * only stricter. An option missing here is read as a flag: the word after it is then taken as
 * possibly its value and the arguments after it are still searched (see
 * src/children/node-flags.ts).
 */
export const NODE_OPTIONS_WITH_VALUE: ReadonlySet<string> = new Set(
  (
    'allow-fs-read allow-fs-write build-snapshot-config conditions cpu-prof-dir cpu-prof-interval cpu-prof-name ' +
    'diagnostic-dir disable-proto disable-warning dns-result-order env-file env-file-if-exists eval ' +
    'experimental-loader experimental-package-map experimental-sea-config ' +
    'experimental-test-tag-filter heap-prof-dir heap-prof-interval heap-prof-name heapsnapshot-near-heap-limit ' +
    'heapsnapshot-signal icu-data-dir import input-type inspect-port inspect-publish-uid localstorage-file ' +
    'max-http-header-size max-old-space-size-percentage network-family-autoselection-attempt-timeout openssl-config ' +
    'redirect-warnings report-dir report-directory report-filename report-signal require run secure-heap secure-heap-min snapshot-blob stack-trace-limit ' +
    'experimental-test-isolation test-concurrency test-coverage-branches test-coverage-exclude test-coverage-functions test-coverage-include ' +
    'test-coverage-lines test-global-setup test-name-pattern test-random-seed test-reporter test-reporter-destination ' +
    'test-rerun-failures test-isolation test-shard test-skip-pattern test-timeout title tls-cipher-list tls-keylog ' +
    'trace-event-categories trace-event-file-pattern trace-require-module unhandled-rejections use-largepages ' +
    'v8-pool-size watch-kill-signal watch-path experimental-default-type' +
    (configFileTakesSeparateValue ? ' experimental-config-file' : '')
  )
    .split(' ')
    .map((name) => `--${name}`),
);

/**
 * Flags that take the next word as their value only when it does not start
 * with `-` (Node's `--print <arg>` alias): `-p -r x` preloads x.
 */
export const NODE_OPTIONS_WITH_OPTIONAL_VALUE: ReadonlySet<string> = new Set(['--print']);

/**
 * What Node does, before the guard's `--import` runs or instead of it, with
 * what an option names (every option of `node --help` 24.x that names code to
 * load or run, or lets code in from outside):
 * - `require`, `import`, `module-path`: a module it loads first (`import`: as a
 *   URL or package specifier, `module-path`: as a path); `--import` runs after
 *   the guard's, except where put before it;
 * - `reporter`: a test reporter, a built-in name or a module;
 * - `replaces-guard`: a startup snapshot, whose code runs with no preload;
 * - `env-file`, `env-file-if-exists`: files of variables read first (config
 *   files: see nodeConfigFiles);
 * - `unguarded`: runs code without the guard (building a snapshot or a single
 *   executable blob), or lets a debugger or OpenSSL (its config can load
 *   engines and providers: native code) run code the guard never sees.
 */
export type EarlyLoad =
  | 'require'
  | 'import'
  | 'module-path'
  | 'import-after-guard'
  | 'reporter'
  | 'replaces-guard'
  | 'env-file'
  | 'env-file-if-exists'
  | 'unguarded';

export const NODE_EARLY_LOADS: ReadonlyMap<string, EarlyLoad> = new Map([
  ['--require', 'require'],
  ['--experimental-loader', 'import'],
  ['--test-global-setup', 'module-path'],
  ['--import', 'import-after-guard'],
  ['--test-reporter', 'reporter'],
  ['--snapshot-blob', 'replaces-guard'],
  ['--env-file', 'env-file'],
  ['--env-file-if-exists', 'env-file-if-exists'],
  ['--build-snapshot', 'unguarded'],
  ['--build-snapshot-config', 'unguarded'],
  ['--experimental-sea-config', 'unguarded'],
  ['--inspect', 'unguarded'],
  ['--inspect-brk', 'unguarded'],
  ['--inspect-wait', 'unguarded'],
  ['--openssl-config', 'unguarded'],
  ['--openssl-shared-config', 'unguarded'],
]);

const CONFIG_FILE_OPTION = '--experimental-config-file';
const DEFAULT_CONFIG_FILE_OPTION = '--experimental-default-config-file';

/**
 * The Node config files (options, preloads among them) a command line names,
 * as written. Node looks for them in every word before it reads any option,
 * the script's arguments and the words after `--` included:
 * `--experimental-config-file=path`, and `--experimental-config-file` alone
 * (from Node 24 it takes no separate value; Node 22's takes the next word) or
 * `--experimental-default-config-file` for
 * node.config.json in the working folder. Node uses the last; all are returned.
 */
export function nodeConfigFiles(words: readonly string[]): string[] {
  const files: string[] = [];
  for (const [i, word] of words.entries()) {
    // Node 22 takes the next word, whatever it is (`--experimental-config-file -r` reads a file named "-r").
    if (word === CONFIG_FILE_OPTION && configFileTakesSeparateValue) files.push(words[i + 1] ?? NODE_DEFAULT_CONFIG_FILE);
    else if (word === CONFIG_FILE_OPTION || word === DEFAULT_CONFIG_FILE_OPTION) files.push(NODE_DEFAULT_CONFIG_FILE);
    else if (word.startsWith(`${CONFIG_FILE_OPTION}=`)) files.push(word.slice(CONFIG_FILE_OPTION.length + 1));
  }
  return files;
}

export const NODE_DEFAULT_CONFIG_FILE = 'node.config.json';

/** The test reporters built into Node, named instead of a module. */
export const BUILT_IN_TEST_REPORTERS: ReadonlySet<string> = new Set(['spec', 'tap', 'dot', 'junit', 'lcov']);

/**
 * Variables that make a Node child load code before the guard (the dynamic
 * linker's preloads and search path, OpenSSL's config and module folders), or
 * change what a preload's name resolves to (NODE_PATH). NODE_REPL_EXTERNAL_MODULE
 * is judged on its own (src/children/judge-start.ts).
 */
export const NODE_EARLY_LOAD_VARIABLES: readonly string[] = ['LD_PRELOAD', 'LD_AUDIT', 'LD_LIBRARY_PATH', 'OPENSSL_CONF', 'OPENSSL_MODULES', 'OPENSSL_ENGINES', 'NODE_PATH'];

/** Node's short options and second names, by their long name. */
export const NODE_OPTION_ALIASES: Readonly<Record<string, string>> = {
  '-r': '--require',
  '-e': '--eval',
  '-p': '--print',
  '-pe': '--print',
  '-C': '--conditions',
  '-i': '--interactive',
  '-c': '--check',
  '-h': '--help',
  '-v': '--version',
  '--loader': '--experimental-loader',
  '--debug-port': '--inspect-port',
};

/** The two objects every process start in this thread goes through: the native spawn of child_process, and spawnSync's. */
export interface ProcessStartBindings {
  processPrototype: Record<string, unknown>;
  spawnSync: Record<string, unknown>;
}

/**
 * process.binding is how JavaScript reaches them (the same objects Node's
 * child_process uses). It warns under --pending-deprecation; this internal use
 * must not print that.
 */
export function processStartBindings(): ProcessStartBindings {
  const binding = (process as unknown as { binding: (name: string) => Record<string, unknown> }).binding;
  // Under --no-deprecation it is already true, and read-only: assigning would throw.
  const before = process.noDeprecation;
  if (before !== true) process.noDeprecation = true;
  try {
    const processWrap = binding.call(process, 'process_wrap') as { Process: { prototype: Record<string, unknown> } };
    return { processPrototype: processWrap.Process.prototype, spawnSync: binding.call(process, 'spawn_sync') };
  } finally {
    if (before !== true) process.noDeprecation = before;
  }
}

/** What a native spawn was asked to start. */
export interface NativeSpawn {
  file: unknown;
  args: unknown;
  cwd: unknown;
  envPairs: unknown;
}

/** A start the guard checked: the native spawn gets exactly these. */
export interface CheckedSpawn {
  file: string;
  args: string[];
  /** Always given: a child otherwise starts in whatever folder this process is in by then. */
  cwd: string;
  envPairs: string[];
}

/**
 * The native spawn under child_process takes one options object in some Node
 * versions and (file, args, cwd, envPairs, stdio, flags, uid, gid) in others
 * (24.21): read either, and build the same call back with checked values. The
 * native side reads optional fields (uid, gid, ...) as it spawns, after the
 * check: the rebuilt object has no prototype, so a getter on Object.prototype
 * cannot run then.
 */
export function readNativeSpawn(args: readonly unknown[]): { spawn: NativeSpawn; rebuild: (checked: CheckedSpawn) => unknown[] } {
  const first = args[0];
  if (typeof first === 'object' && first !== null) {
    const options = { __proto__: null, ...(first as Record<string, unknown>) } as Record<string, unknown>;
    return {
      spawn: { file: options.file, args: options.args, cwd: options.cwd, envPairs: options.envPairs },
      rebuild: (checked) => [{ __proto__: null, ...options, ...checked }, ...args.slice(1)],
    };
  }
  const [file, spawnArgs, cwd, envPairs, ...rest] = args;
  return {
    spawn: { file, args: spawnArgs, cwd, envPairs },
    rebuild: (checked) => [checked.file, checked.args, checked.cwd, checked.envPairs, ...rest],
  };
}
