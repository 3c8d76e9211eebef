import { generateKeyPairSync, type KeyObject } from 'node:crypto';
import { closeSync, openSync, unlinkSync, writeSync } from 'node:fs';
import { signingError } from './signing-error.js';

export type KeyAlgorithm = 'p256' | 'p384' | 'ed25519' | 'rsa';
export const KEY_ALGORITHMS: readonly KeyAlgorithm[] = ['p256', 'p384', 'ed25519', 'rsa'];

function generate(algorithm: KeyAlgorithm): { privateKey: KeyObject; publicKey: KeyObject } {
  switch (algorithm) {
    case 'p256':
      return generateKeyPairSync('ec', { namedCurve: 'prime256v1' });
    case 'p384':
      return generateKeyPairSync('ec', { namedCurve: 'secp384r1' });
    case 'ed25519':
      return generateKeyPairSync('ed25519');
    case 'rsa':
      return generateKeyPairSync('rsa', { modulusLength: 3072 });
  }
}

/**
 * Writes NAME.key.pem (PKCS#8, mode 0600, AES-256-CBC encrypted under
 * `passphrase` unless it is empty) and NAME.pub.pem (SPKI). Neither may
 * exist: a key is never overwritten. On failure neither is left behind.
 */
export function writeKeyPair(name: string, algorithm: KeyAlgorithm, passphrase: string): { privatePath: string; publicPath: string } {
  const { privateKey, publicKey } = generate(algorithm);
  const privatePem = privateKey.export(
    passphrase === '' ? { type: 'pkcs8', format: 'pem' } : { type: 'pkcs8', format: 'pem', cipher: 'aes-256-cbc', passphrase },
  ) as string;
  const publicPem = publicKey.export({ type: 'spki', format: 'pem' }) as string;
  const privatePath = `${name}.key.pem`;
  const publicPath = `${name}.pub.pem`;
  const written: string[] = [];
  try {
    for (const [path, text, mode] of [[privatePath, privatePem, 0o600], [publicPath, publicPem, 0o644]] as const) {
      writeNew(path, text, mode);
      written.push(path);
    }
  } catch (err) {
    for (const path of written) unlinkSync(path);
    const code = (err as NodeJS.ErrnoException).code;
    throw signingError(code === 'EEXIST' ? `${(err as NodeJS.ErrnoException).path} exists: keygen never overwrites a key (choose another NAME)` : `cannot write the key pair: ${(err as Error).message}`);
  }
  return { privatePath, publicPath };
}

/** Creates `path` (never an existing file or link: O_EXCL) with `mode` from the start, so the key is never readable by others. */
function writeNew(path: string, text: string, mode: number): void {
  const fd = openSync(path, 'wx', mode);
  try {
    const bytes = Buffer.from(text, 'utf8');
    for (let at = 0; at < bytes.length; ) at += writeSync(fd, bytes, at);
  } finally {
    closeSync(fd);
  }
}
