// Writes a model-signing v1.0 manifest bundle for a directory, signed with a
// PEM private key offline (DSSE in-toto statement, no log entry): what
// `model_signing sign key` writes. Written from the format (see
// README "Signed directories"), independently of src/manifest, so that the
// tests and fixtures check trustload against a second implementation.
//
// As a command: node scripts/sign-manifest.mjs KEY.pem DIR [--shards SIZE] [--bundle NAME] [--ignore PATH]...
import { createHash, createPrivateKey, createPublicKey, sign } from 'node:crypto';
import { closeSync, openSync, readdirSync, readFileSync, readSync, statSync, writeFileSync } from 'node:fs';
import { basename, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';

const sha256 = (bytes) => createHash('sha256').update(bytes).digest();

/** Relative POSIX names of the regular files below `dir`, sorted, minus ignored paths (prefixes by segment). */
function filesBelow(dir, ignore) {
  const out = [];
  const walk = (rel) => {
    for (const entry of readdirSync(join(dir, rel), { withFileTypes: true })) {
      const name = rel ? `${rel}/${entry.name}` : entry.name;
      if (ignore.some((p) => name === p || name.startsWith(`${p}/`))) continue;
      if (entry.isDirectory()) walk(name);
      else out.push(name);
    }
  };
  walk('');
  return out.sort();
}

/** Hex SHA-256 of bytes [start, end) of a file, read in 1 MiB pieces: model weights may be larger than memory. */
function hashRange(path, start, end) {
  const hash = createHash('sha256');
  const buffer = Buffer.allocUnsafe(1024 * 1024);
  const fd = openSync(path, 'r');
  try {
    for (let at = start; at < end; ) {
      const n = readSync(fd, buffer, 0, Math.min(buffer.length, end - at), at);
      if (n === 0) throw new Error(`${path} shrank while it was being signed`);
      hash.update(buffer.subarray(0, n));
      at += n;
    }
  } finally {
    closeSync(fd);
  }
  return hash.digest('hex');
}

function comparePaths(a, b) {
  const x = a.split('/');
  const y = b.split('/');
  for (let i = 0; i < Math.min(x.length, y.length); i++) if (x[i] !== y[i]) return x[i] < y[i] ? -1 : 1;
  return x.length - y.length;
}

/** The in-toto statement model_signing would sign for `dir`. */
export function manifestStatement(dir, { shardSize, bundle = 'manifest.sigstore.json', ignorePaths = [], allowSymlinks = false } = {}) {
  const ignore = [...ignorePaths, bundle];
  const items = [];
  for (const name of filesBelow(dir, ignore)) {
    const size = statSync(join(dir, name)).size;
    if (shardSize === undefined) {
      items.push({ path: name, start: 0, resource: { name, algorithm: 'sha256', digest: hashRange(join(dir, name), 0, size) } });
      continue;
    }
    for (let start = 0; start < size; start += shardSize) {
      const end = Math.min(start + shardSize, size);
      const digest = hashRange(join(dir, name), start, end);
      items.push({ path: name, start, resource: { name: `${name}:${start}:${end}`, algorithm: `sha256-sharded-${shardSize}`, digest } });
    }
  }
  // model_signing orders resources by key: the path by its segments, then the shard's start.
  items.sort((a, b) => comparePaths(a.path, b.path) || a.start - b.start);
  const resources = items.map((item) => item.resource);
  const subject = sha256(Buffer.concat(resources.map((r) => Buffer.from(r.digest, 'hex')))).toString('hex');
  const serialization = shardSize === undefined
    ? { method: 'files', hash_type: 'sha256', allow_symlinks: allowSymlinks }
    : { method: 'shards', hash_type: 'sha256', shard_size: shardSize, allow_symlinks: allowSymlinks };
  // model_signing 1.1+ records what it skipped, its own signature included.
  serialization.ignore_paths = ignore;
  return {
    _type: 'https://in-toto.io/Statement/v1',
    subject: [{ name: basename(dir), digest: { sha256: subject } }],
    predicateType: 'https://model_signing/signature/v1.0',
    predicate: { serialization, resources },
  };
}

const PAYLOAD_TYPE = 'application/vnd.in-toto+json';

/** DSSE pre-authentication encoding: what the signature covers. */
export const preAuthEncoding = (payload) => Buffer.concat([Buffer.from(`DSSEv1 ${PAYLOAD_TYPE.length} ${PAYLOAD_TYPE} ${payload.length} `), payload]);

/** A v0.3 bundle holding a DSSE envelope over `statement`, signed by a PEM private key. */
export function keyManifestBundle(statement, privateKeyPem) {
  const key = createPrivateKey(privateKeyPem);
  const hash = key.asymmetricKeyDetails?.namedCurve === 'secp384r1' ? 'sha384' : 'sha256';
  const payload = Buffer.from(JSON.stringify(statement));
  const sig = sign(key.asymmetricKeyType === 'ed25519' ? null : hash, preAuthEncoding(payload), key);
  const spki = createPublicKey(key).export({ format: 'der', type: 'spki' });
  return {
    mediaType: 'application/vnd.dev.sigstore.bundle.v0.3+json',
    verificationMaterial: { publicKey: { hint: sha256(spki).toString('base64') }, tlogEntries: [] },
    dsseEnvelope: { payload: payload.toString('base64'), payloadType: PAYLOAD_TYPE, signatures: [{ sig: sig.toString('base64'), keyid: '' }] },
  };
}

/** Signs `dir` in place: writes its manifest bundle (default manifest.sigstore.json) and returns its path. */
export function signDirectory(dir, privateKeyPem, options = {}) {
  const path = join(dir, options.bundle ?? 'manifest.sigstore.json');
  writeFileSync(path, `${JSON.stringify(keyManifestBundle(manifestStatement(dir, options), privateKeyPem), null, 2)}\n`);
  return path;
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const { values, positionals } = parseArgs({ options: { shards: { type: 'string' }, bundle: { type: 'string' }, ignore: { type: 'string', multiple: true } }, allowPositionals: true });
  const [keyPath, dir] = positionals;
  if (!keyPath || !dir || !statSync(dir).isDirectory()) {
    console.error('usage: node scripts/sign-manifest.mjs KEY.pem DIR [--shards SIZE] [--bundle NAME] [--ignore PATH]...');
    process.exit(2);
  }
  const shardSize = values.shards === undefined ? undefined : Number(values.shards);
  console.log(signDirectory(dir, readFileSync(keyPath, 'utf8'), { shardSize, bundle: values.bundle, ignorePaths: values.ignore ?? [] }));
}
