import { parseArgs } from 'node:util';
import { optionProblem, type SignOptions } from '../sign/options.js';
import { EXIT_VERIFIED, UsageError, type Io } from './output.js';
import { progressLine } from './progress.js';

export const SIGN_HELP = `Usage: trustload sign PATH... (--key PEM | --keyless) [options]

Signs each PATH. A file gets FILE.sigstore.json beside it (a message
signature); a directory gets its manifest bundle inside it (default
manifest.sigstore.json, OpenSSF model-signing v1.0: a DSSE statement listing
every file's digest). Everything is hashed and signed before anything is
written; the bundle replaces an older one in one rename.

With a key:
  --key PEM                  PEM private key: ECDSA P-256/P-384, Ed25519 or RSA.
                             An encrypted key's passphrase comes from
                             TRUSTLOAD_KEY_PASSWORD, else is asked on the terminal.
                               trustload sign plugins/foo --key release.key.pem
  --tlog-upload              also record the signature in Rekor (default: no log
                             entry; the policy's key signer then needs
                             "transparencyLog": false)
                               trustload sign prompt.md --key release.key.pem --tlog-upload

Keyless (a Fulcio certificate for your OIDC identity, logged in Rekor):
  --keyless                  the token comes from --identity-token-file, else
                             SIGSTORE_ID_TOKEN, else GitHub Actions (a job with
                             "permissions: id-token: write")
                               trustload sign plugins/foo --keyless
  --identity-token-file FILE read the OIDC token from FILE
                               trustload sign dist/tool.js --keyless --identity-token-file token.jwt
  --fulcio-url URL           Fulcio (default https://fulcio.sigstore.dev)
  --rekor-url URL            Rekor (default https://rekor.sigstore.dev; also for --tlog-upload)
  --tsa-url URL              also get an RFC 3161 timestamp from this authority
                               trustload sign m/ --keyless --fulcio-url https://fulcio.corp --rekor-url https://rekor.corp
  --timeout SECONDS          each request's limit (default 60)
                               trustload sign plugins/foo --keyless --timeout 20

Directories:
  --bundle NAME              the manifest bundle's name (default manifest.sigstore.json)
                               trustload sign models/llama --key k.pem --bundle model.sig
  --method files|shards      one digest per file (default), or per shard
  --shard-size BYTES         with --method shards (default 1000000000)
                               trustload sign models/llama --key k.pem --method shards --shard-size 104857600
  --ignore PATH              leave PATH (relative to the directory) out; recorded
                             in the signed manifest. Repeatable. .git, .github,
                             .gitattributes and .gitignore are always left out.
                               trustload sign models/llama --key k.pem --ignore cache --ignore logs
  --package                  sign exactly the files \`npm pack\` would publish
                               trustload sign . --key k.pem --package

Checking:
  --policy FILE              after writing, verify the bundle against FILE as a
                             guarded process would, and fail if it would refuse
                               trustload sign plugins/foo --keyless --policy trustload.policy.json

Exit codes: 0 signed (and verified, with --policy), 1 signing failed or the
policy refuses what was signed, 2 usage or policy error.`;

const OPTIONS = {
  key: { type: 'string' },
  keyless: { type: 'boolean' },
  'identity-token-file': { type: 'string' },
  'fulcio-url': { type: 'string' },
  'rekor-url': { type: 'string' },
  'tsa-url': { type: 'string' },
  'tlog-upload': { type: 'boolean' },
  timeout: { type: 'string' },
  bundle: { type: 'string' },
  method: { type: 'string' },
  'shard-size': { type: 'string' },
  ignore: { type: 'string', multiple: true },
  package: { type: 'boolean' },
  policy: { type: 'string' },
  help: { type: 'boolean' },
} as const;

export async function sign(args: string[], io: Io): Promise<number> {
  const { values, positionals } = parseArgs({ args, options: OPTIONS, allowPositionals: true, strict: true });
  if (values.help) {
    io.out(SIGN_HELP);
    return EXIT_VERIFIED;
  }
  if (positionals.length === 0) throw new UsageError('sign needs at least one PATH (see trustload sign --help)');
  const options: SignOptions = {
    ...defined('key', values.key),
    ...defined('keyless', values.keyless),
    ...defined('identityTokenFile', values['identity-token-file']),
    ...defined('fulcioUrl', values['fulcio-url']),
    ...defined('rekorUrl', values['rekor-url']),
    ...defined('tsaUrl', values['tsa-url']),
    ...defined('tlogUpload', values['tlog-upload']),
    ...defined('timeout', number(values.timeout)),
    ...defined('bundle', values.bundle),
    ...defined('method', values.method as SignOptions['method']),
    ...defined('shardSize', number(values['shard-size'])),
    ...defined('ignore', values.ignore),
    ...defined('package', values.package),
    ...defined('policy', values.policy),
    onWarning: (line) => io.err(line),
  };
  const problem = optionProblem(options);
  if (problem !== undefined) throw new UsageError(`${problem} (see trustload sign --help)`);
  const { signAll } = await import('../sign/sign.js');
  await signAll(positionals, options, {
    progress: (path) => progressLine(process.stderr, path, 'signing'),
    signed(result) {
      const listed = result.kind === 'directory' ? ` (${result.files} file(s))` : '';
      io.out(`signed     ${result.path}${listed} -> ${result.bundle}`);
      if (result.policy?.decision === 'verified') {
        io.out(`verified   ${result.path} (rule "${result.policy.rule}", signer "${result.policy.signer.signer}")`);
      } else if (result.policy !== undefined) {
        io.err(`trustload: WARNING: no rule of ${options.policy} protects ${result.path}: a guarded process loads it without checking any signature`);
      }
    },
  });
  return EXIT_VERIFIED;
}

function defined<K extends string, V>(key: K, value: V | undefined): { [P in K]?: V } {
  return (value === undefined ? {} : { [key]: value }) as { [P in K]?: V };
}

function number(value: string | undefined): number | undefined {
  if (value === undefined) return undefined;
  return /^\d+(\.\d+)?$/.test(value) ? Number(value) : Number.NaN;
}
