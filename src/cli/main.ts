import { inspect, INSPECT_HELP } from './inspect.js';
import { keygen, KEYGEN_HELP } from './keygen.js';
import { EXIT_USAGE, EXIT_VERIFIED, processIo, reportFailure, UsageError, type Io } from './output.js';
import { policy, POLICY_HELP } from './policy.js';
import { sign, SIGN_HELP } from './sign.js';
import { verify, VERIFY_HELP } from './verify.js';
import { verifyBlob, VERIFY_BLOB_HELP } from './verify-blob.js';

const HELP = `Usage: trustload COMMAND [options]

Commands:
  verify [PATH...]                               check files and signed directories against the policy
  verify-blob FILE_OR_DIGEST --bundle FILE ...   verify one artifact against one bundle
  inspect BUNDLE                                 show what a bundle claims (no verification)
  sign PATH... (--key PEM | --keyless)           sign files and directories
  keygen NAME                                    write a key pair for signing with --key
  policy check | explain PATH | init             validate the policy; say what applies to a path; write a starting one

Run trustload COMMAND --help for a command's options.
Exit codes: 0 verified, 1 refused or not verified, 2 usage or policy error.

${VERIFY_HELP}

${VERIFY_BLOB_HELP}

${INSPECT_HELP}

${POLICY_HELP}

${SIGN_HELP}

${KEYGEN_HELP}`;

const COMMANDS: Record<string, (args: string[], io: Io) => number | Promise<number>> = {
  verify,
  'verify-blob': verifyBlob,
  inspect,
  policy,
  sign,
  keygen,
};

export async function main(argv: string[], io: Io = processIo): Promise<number> {
  const [command, ...args] = argv;
  if (command === undefined || command === '--help' || command === '-h' || command === 'help') {
    io.out(HELP);
    return command === undefined ? EXIT_USAGE : EXIT_VERIFIED;
  }
  const run = COMMANDS[command];
  if (run === undefined) {
    io.err(`trustload: unknown command "${command}"\n\n${HELP}`);
    return EXIT_USAGE;
  }
  const json = args.includes('--json');
  try {
    return await run(args, io);
  } catch (err) {
    // parseArgs reports unknown or malformed options as TypeErrors with an ERR_PARSE_ARGS_* code.
    const parseCode = (err as { code?: unknown }).code;
    if (typeof parseCode === 'string' && parseCode.startsWith('ERR_PARSE_ARGS')) {
      return reportFailure(io, new UsageError(`${(err as Error).message} (see trustload ${command} --help)`), json);
    }
    return reportFailure(io, err, json);
  }
}
