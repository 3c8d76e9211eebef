import { readFileSync } from 'node:fs';
import { closest } from '../policy/closest-name.js';
import { audit, AUDIT_HELP } from './audit.js';
import { inspect, INSPECT_HELP } from './inspect.js';
import { keygen, KEYGEN_HELP } from './keygen.js';
import { lock, LOCK_HELP } from './lock.js';
import { EXIT_USAGE, EXIT_VERIFIED, processIo, reportFailure, UsageError, type Io } from './output.js';
import { policy, POLICY_HELP } from './policy.js';
import { sign, SIGN_HELP } from './sign.js';
import { tools, TOOLS_HELP } from './tools.js';
import { verify, VERIFY_HELP } from './verify.js';
import { verifyBlob, VERIFY_BLOB_HELP } from './verify-blob.js';

const OVERVIEW = `Usage: trustload COMMAND [options]
       trustload --version

Commands:
  verify [PATH...]                               check files and signed directories against the policy
  verify-blob FILE_OR_DIGEST --bundle FILE ...   verify one artifact against one bundle
  inspect BUNDLE                                 show what a bundle claims (no verification)
  sign PATH... (--key PEM | --keyless)           sign files and directories
  keygen NAME                                    write a key pair for signing with --key
  policy check | explain PATH | init             validate the policy; say what applies to a path; write a starting one
  tools pin SERVER TOOLS_JSON                    write the baseline of an MCP server's tool descriptors
  audit verify FILE [--key PEM] | seal FILE --key PEM   check an audit trail's chains; seal and sign its segment
  lock -- COMMAND... | --add PATH...             record what a run loads (or given files) in a lock

Run trustload COMMAND --help for a command's options.
Exit codes: 0 verified, 1 refused or not verified, 2 usage or policy error.`;

const HELP = `${OVERVIEW}

${VERIFY_HELP}

${VERIFY_BLOB_HELP}

${INSPECT_HELP}

${POLICY_HELP}

${SIGN_HELP}

${KEYGEN_HELP}

${TOOLS_HELP}

${AUDIT_HELP}

${LOCK_HELP}`;

const COMMANDS: Record<string, { run: (args: string[], io: Io) => number | Promise<number>; help: string }> = {
  verify: { run: verify, help: VERIFY_HELP },
  'verify-blob': { run: verifyBlob, help: VERIFY_BLOB_HELP },
  inspect: { run: inspect, help: INSPECT_HELP },
  policy: { run: policy, help: POLICY_HELP },
  sign: { run: sign, help: SIGN_HELP },
  keygen: { run: keygen, help: KEYGEN_HELP },
  tools: { run: tools, help: TOOLS_HELP },
  audit: { run: audit, help: AUDIT_HELP },
  lock: { run: lock, help: LOCK_HELP },
};

export async function main(argv: string[], io: Io = processIo): Promise<number> {
  const [command, ...args] = argv;
  if (command === undefined || command === '--help' || command === '-h' || command === 'help') {
    io.out(HELP);
    return command === undefined ? EXIT_USAGE : EXIT_VERIFIED;
  }
  if (command === '--version') {
    io.out(version());
    return EXIT_VERIFIED;
  }
  const entry = Object.hasOwn(COMMANDS, command) ? COMMANDS[command] : undefined;
  if (entry === undefined) {
    const meant = closest(command, [...Object.keys(COMMANDS), '--version', '--help']);
    io.err(`trustload: unknown command "${command}"${meant ? `: did you mean "${meant}"?` : ''}\n\n${OVERVIEW}`);
    return EXIT_USAGE;
  }
  const json = args.includes('--json');
  try {
    return await entry.run(args, io);
  } catch (err) {
    // parseArgs reports unknown or malformed options as TypeErrors with an ERR_PARSE_ARGS_* code: its text
    // speaks of its own API, so trustload says it in its words, with the command's usage.
    const parseCode = (err as { code?: unknown }).code;
    const usage = err instanceof UsageError ? err : typeof parseCode === 'string' && parseCode.startsWith('ERR_PARSE_ARGS') ? argsError(command, err as Error, entry.help) : undefined;
    if (usage === undefined) return reportFailure(io, err, json);
    io.err(`trustload: ${usage.message}\n\n${usageOf(entry.help)}\nRun trustload ${command} --help for details.`);
    return EXIT_USAGE;
  }
}

/** The package's version, from the package.json installed beside dist/: what is actually running. */
function version(): string {
  const pkg = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as { version: string };
  return pkg.version;
}

function argsError(command: string, err: Error & { code?: string }, help: string): UsageError {
  const quoted = /'([^']*)'/.exec(err.message)?.[1] ?? '';
  const option = quoted.split(' ')[0]!;
  switch (err.code) {
    case 'ERR_PARSE_ARGS_UNKNOWN_OPTION': {
      const meant = closest(option, [...new Set(help.match(/--[a-z][a-z0-9-]*/g) ?? [])]);
      return new UsageError(`${command}: unknown option ${option}${meant ? `: did you mean ${meant}?` : ''}`);
    }
    case 'ERR_PARSE_ARGS_INVALID_OPTION_VALUE':
      return new UsageError(/argument missing/.test(err.message) ? `${command}: ${option} needs a value` : `${command}: ${option} takes no value`);
    case 'ERR_PARSE_ARGS_UNEXPECTED_POSITIONAL':
      return new UsageError(`${command}: unexpected argument ${JSON.stringify(quoted)}`);
    default:
      return new UsageError(`${command}: ${err.message}`);
  }
}

/** A command's help up to its first blank line: the usage lines. */
function usageOf(help: string): string {
  return help.split('\n\n')[0]!;
}
