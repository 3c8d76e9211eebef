import { parseArgs } from 'node:util';
import { KEY_ALGORITHMS, writeKeyPair, type KeyAlgorithm } from '../sign/keygen.js';
import { askHidden, canAsk } from '../sign/passphrase.js';
import { signingError } from '../sign/signing-error.js';
import { EXIT_VERIFIED, UsageError, type Io } from './output.js';

export const KEYGEN_HELP = `Usage: trustload keygen NAME [--algorithm p256|p384|ed25519|rsa]

Writes a key pair for offline signing: NAME.key.pem (PKCS#8, mode 0600,
encrypted with AES-256-CBC under a passphrase from TRUSTLOAD_KEY_PASSWORD,
else asked twice on the terminal; an empty passphrase writes it unencrypted,
with a warning) and NAME.pub.pem (for the policy's trust.keys). Never
overwrites an existing file.

  --algorithm ALG    p256 (ECDSA P-256, the default), p384, ed25519 or rsa (3072 bits)
                       trustload keygen release
                       TRUSTLOAD_KEY_PASSWORD=... trustload keygen keys/release --algorithm p384

Exit codes: 0 written, 1 failed (a file exists, no passphrase), 2 usage error.`;

export async function keygen(args: string[], io: Io): Promise<number> {
  const { values, positionals } = parseArgs({
    args,
    options: { algorithm: { type: 'string' }, help: { type: 'boolean' } },
    allowPositionals: true,
    strict: true,
  });
  if (values.help) {
    io.out(KEYGEN_HELP);
    return EXIT_VERIFIED;
  }
  if (positionals.length !== 1 || positionals[0] === '') throw new UsageError('keygen takes exactly one NAME (see trustload keygen --help)');
  const algorithm = (values.algorithm ?? 'p256') as KeyAlgorithm;
  if (!KEY_ALGORITHMS.includes(algorithm)) throw new UsageError(`--algorithm is one of ${KEY_ALGORITHMS.join(', ')}`);
  const passphrase = await newPassphrase();
  if (passphrase === '') io.err('trustload: WARNING: empty passphrase: the private key is written unencrypted');
  const { privatePath, publicPath } = writeKeyPair(positionals[0]!, algorithm, passphrase);
  io.out(`private key ${privatePath} (keep it secret; sign with trustload sign PATH --key ${privatePath})`);
  io.out(`public key  ${publicPath} (trust it in the policy: "trust": { "keys": { ... { "path": "${publicPath}", "sha256": ... } } })`);
  return EXIT_VERIFIED;
}

/** TRUSTLOAD_KEY_PASSWORD, else asked twice on the terminal (a typo would lock the key away). */
async function newPassphrase(): Promise<string> {
  const fromEnv = process.env.TRUSTLOAD_KEY_PASSWORD;
  if (fromEnv !== undefined) return fromEnv;
  if (!canAsk()) throw signingError('keygen needs a passphrase: set TRUSTLOAD_KEY_PASSWORD (empty for an unencrypted key), or run on a terminal to be asked');
  const first = await askHidden('Passphrase for the new private key (empty: unencrypted): ');
  const second = await askHidden('The same passphrase again: ');
  if (first !== second) throw signingError('the two passphrases differ: nothing was written');
  return first;
}
