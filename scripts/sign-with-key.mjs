// Writes FILE.sigstore.json: a v0.3 Sigstore bundle with a message signature
// over FILE by a PEM private key, offline (no log entry, no timestamp). The
// shape is what `cosign sign-blob --key --tlog-upload=false --new-bundle-format`
// writes. Used by the tests and by scripts/sign-example.mjs, independently of
// src/sign; `trustload sign` is the user-facing way.
//
// As a command: node scripts/sign-with-key.mjs KEY.pem FILE...
import { createHash, createPrivateKey, createPublicKey, sign } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

export function keyBundle(bytes, privateKeyPem) {
  const key = createPrivateKey(privateKeyPem);
  const curve = key.asymmetricKeyDetails?.namedCurve;
  const hash = curve === 'secp384r1' ? 'sha384' : 'sha256';
  const digest = createHash(hash).update(bytes).digest();
  const signature = sign(key.asymmetricKeyType === 'ed25519' ? null : hash, bytes, key);
  const spki = createPublicKey(key).export({ format: 'der', type: 'spki' });
  return {
    mediaType: 'application/vnd.dev.sigstore.bundle.v0.3+json',
    verificationMaterial: {
      publicKey: { hint: createHash('sha256').update(spki).digest('base64') },
      tlogEntries: [],
    },
    messageSignature: {
      messageDigest: { algorithm: hash === 'sha384' ? 'SHA2_384' : 'SHA2_256', digest: digest.toString('base64') },
      signature: signature.toString('base64'),
    },
  };
}

export function signFile(path, privateKeyPem) {
  const bundle = keyBundle(readFileSync(path), privateKeyPem);
  writeFileSync(`${path}.sigstore.json`, `${JSON.stringify(bundle, null, 2)}\n`);
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const [keyPath, ...files] = process.argv.slice(2);
  if (!keyPath || files.length === 0) {
    console.error('usage: node scripts/sign-with-key.mjs KEY.pem FILE...');
    process.exit(2);
  }
  const pem = readFileSync(keyPath, 'utf8');
  for (const file of files) signFile(file, pem);
}
