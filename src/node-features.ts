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
 * Node options (long names, as `node --help` of 24.x lists them) that take a
 * value, so that `--title -r` is read as a title. An option missing here is
 * read as a flag: the word after it is then taken as possibly its value and the
 * arguments after it are still searched (see src/children/node-flags.ts).
 */
export const NODE_OPTIONS_WITH_VALUE: ReadonlySet<string> = new Set(
  (
    'allow-fs-read allow-fs-write build-snapshot-config conditions cpu-prof-dir cpu-prof-interval cpu-prof-name ' +
    'diagnostic-dir disable-proto disable-warning dns-result-order env-file env-file-if-exists eval ' +
    'experimental-config-file experimental-loader experimental-package-map experimental-sea-config ' +
    'experimental-test-tag-filter heap-prof-dir heap-prof-interval heap-prof-name heapsnapshot-near-heap-limit ' +
    'heapsnapshot-signal icu-data-dir import input-type inspect-port inspect-publish-uid localstorage-file ' +
    'max-http-header-size max-old-space-size-percentage network-family-autoselection-attempt-timeout openssl-config ' +
    'print redirect-warnings report-filename report-signal require run secure-heap secure-heap-min snapshot-blob ' +
    'test-concurrency test-coverage-branches test-coverage-exclude test-coverage-functions test-coverage-include ' +
    'test-coverage-lines test-global-setup test-name-pattern test-random-seed test-reporter test-reporter-destination ' +
    'test-rerun-failures test-shard test-skip-pattern test-timeout title tls-cipher-list tls-keylog ' +
    'trace-event-categories trace-event-file-pattern trace-require-module unhandled-rejections use-largepages ' +
    'v8-pool-size watch-kill-signal watch-path'
  )
    .split(' ')
    .map((name) => `--${name}`),
);

/** Flags NODE_OPTIONS does not accept (so process.allowedNodeEnvironmentFlags does not list them) that take no value. */
export const NODE_FLAGS_ONLY_ON_COMMAND_LINE: ReadonlySet<string> = new Set(
  ['build-snapshot', 'check', 'experimental-default-config-file', 'expose-internals', 'help', 'interactive', 'test', 'v8-options', 'version', 'watch'].map((name) => `--${name}`),
);

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
  const quiet = process.noDeprecation;
  process.noDeprecation = true;
  try {
    const processWrap = binding.call(process, 'process_wrap') as { Process: { prototype: Record<string, unknown> } };
    return { processPrototype: processWrap.Process.prototype, spawnSync: binding.call(process, 'spawn_sync') };
  } finally {
    process.noDeprecation = quiet;
  }
}

/** What a native spawn was asked to start. */
export interface NativeSpawn {
  file: unknown;
  args: unknown;
  cwd: unknown;
  envPairs: unknown;
}

/**
 * The native spawn under child_process takes one options object in some Node
 * versions and (file, args, cwd, envPairs, stdio, flags, uid, gid) in others
 * (24.21): read either, and build the same call back with checked values.
 */
export function readNativeSpawn(args: readonly unknown[]): { spawn: NativeSpawn; rebuild: (checked: { file: string; args: string[]; envPairs: string[] }) => unknown[] } {
  const first = args[0];
  if (typeof first === 'object' && first !== null) {
    const options = { ...(first as Record<string, unknown>) };
    return {
      spawn: { file: options.file, args: options.args, cwd: options.cwd, envPairs: options.envPairs },
      rebuild: (checked) => [{ ...options, ...checked }, ...args.slice(1)],
    };
  }
  const [file, spawnArgs, cwd, envPairs, ...rest] = args;
  return {
    spawn: { file, args: spawnArgs, cwd, envPairs },
    rebuild: (checked) => [checked.file, checked.args, cwd, checked.envPairs, ...rest],
  };
}
