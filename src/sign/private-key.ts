import { createPrivateKey, type KeyObject } from 'node:crypto';
import { statSync } from 'node:fs';
import { ErrorCodes, TrustloadError } from '../errors.js';
import { readFileLimited } from '../io/read.js';
import { keyPassphrase } from './passphrase.js';
import { signingError } from './signing-error.js';

const MAX_KEY_BYTES = 1024 * 1024;
const SUPPORTED_CURVES = new Set(['prime256v1', 'secp384r1']);

/**
 * Reads a PEM private key (ECDSA P-256/P-384, Ed25519, RSA; PKCS#8, SEC1 or
 * PKCS#1, encrypted or not). `passphrase` is the API's; otherwise
 * TRUSTLOAD_KEY_PASSWORD or the terminal give it. Errors name the file and
 * node:crypto's error code, never its message or the key's bytes.
 */
export async function readPrivateKey(path: string, warn: (line: string) => void, passphrase?: string): Promise<KeyObject> {
  const mode = statSync(path, { throwIfNoEntry: false })?.mode ?? 0;
  if ((mode & 0o044) !== 0) {
    warn(`trustload: WARNING: the private key ${path} is readable by other users (mode ${(mode & 0o777).toString(8)}): chmod 600 ${path}`);
  }
  let pem: string;
  try {
    pem = readFileLimited(path, MAX_KEY_BYTES, 'private key', ErrorCodes.SIGNING).toString('utf8');
  } catch (err) {
    throw err instanceof TrustloadError ? signingError(err.message) : err;
  }
  if (pem.includes('-----BEGIN ENCRYPTED SIGSTORE PRIVATE KEY-----') || pem.includes('-----BEGIN ENCRYPTED COSIGN PRIVATE KEY-----')) {
    throw signingError(`${path} is a cosign-format key, which node:crypto cannot read: use a PKCS#8 PEM key (trustload keygen writes one)`);
  }
  if (/-----BEGIN (RSA )?PUBLIC KEY-----/.test(pem) && !pem.includes('PRIVATE KEY-----')) {
    throw signingError(`${path} is a public key: --key takes the private key (NAME.key.pem from trustload keygen)`);
  }
  const encrypted = pem.includes('-----BEGIN ENCRYPTED PRIVATE KEY-----') || /^Proc-Type: 4,ENCRYPTED$/m.test(pem);
  const secret = encrypted ? (passphrase ?? (await keyPassphrase(path))) : undefined;
  let key: KeyObject;
  try {
    key = createPrivateKey({ key: pem, format: 'pem', ...(secret === undefined ? {} : { passphrase: secret }) });
  } catch (err) {
    const code = (err as { code?: unknown }).code;
    if (encrypted && (code === 'ERR_OSSL_BAD_DECRYPT' || code === 'ERR_OSSL_EVP_BAD_DECRYPT')) {
      throw signingError(`cannot decrypt the private key ${path}: wrong passphrase`);
    }
    throw signingError(`${path} is not a PEM private key node:crypto can read (${typeof code === 'string' ? code : 'unknown error'})`);
  }
  const type = key.asymmetricKeyType;
  const curve = key.asymmetricKeyDetails?.namedCurve;
  if (!(type === 'ed25519' || type === 'rsa' || (type === 'ec' && curve !== undefined && SUPPORTED_CURVES.has(curve)))) {
    throw signingError(`the private key ${path} is ${type}${curve ? ` ${curve}` : ''}; supported are ECDSA P-256/P-384, Ed25519 and RSA`);
  }
  return key;
}
