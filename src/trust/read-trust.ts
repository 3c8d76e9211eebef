import { resolve } from 'node:path';
import { ErrorCodes, TrustloadError } from '../errors.js';
import { MAX_BUNDLE_BYTES, readFileLimited } from '../io/read.js';
import { sha256Hex } from '../io/sha256.js';
import type { PolicyTrust } from '../policy/schema.js';
import { checkTrustedRootJson } from './check-trusted-root.js';
import { checkCaPem } from './check-ca-pem.js';
import { checkPublicKeyPem } from './check-public-key.js';

/**
 * The trust a policy names, read once at start-up and pinned: every file's
 * SHA-256 must equal the one the policy states, so the policy's own digest
 * covers everything it trusts. Roots, keys and CAs are checked but not yet
 * decoded: that waits for the first protected load, with node:crypto and the
 * Sigstore code.
 */
export interface TrustFiles {
  roots: ReadonlyMap<string, TrustFile>;
  keys: ReadonlyMap<string, TrustFile>;
  cas: ReadonlyMap<string, TrustFile>;
}

export interface TrustFile {
  /** The file it came from, or the policy field of an inline key. */
  source: string;
  bytes: Buffer;
}

export function readTrustFiles(trust: PolicyTrust | undefined, baseDir: string): TrustFiles {
  const roots = new Map<string, { source: string; bytes: Buffer }>();
  for (const [name, ref] of Object.entries(trust?.roots ?? {})) {
    const source = resolve(baseDir, ref.path);
    const bytes = readPinned(source, ref.sha256, `trust.roots.${name}`, MAX_BUNDLE_BYTES);
    checkTrustedRootJson(bytes, source);
    roots.set(name, { source, bytes });
  }
  const keys = new Map<string, TrustFile>();
  for (const [name, ref] of Object.entries(trust?.keys ?? {})) {
    const key = 'pem' in ref
      ? { source: `trust.keys.${name}`, bytes: Buffer.from(ref.pem) }
      : { source: resolve(baseDir, ref.path), bytes: readPinned(resolve(baseDir, ref.path), ref.sha256, `trust.keys.${name}`, 1024 * 1024) };
    checkPublicKeyPem(key.bytes.toString('utf8'), key.source);
    keys.set(name, key);
  }
  const cas = new Map<string, TrustFile>();
  for (const [name, ref] of Object.entries(trust?.cas ?? {})) {
    const source = resolve(baseDir, ref.path);
    const bytes = readPinned(source, ref.sha256, `trust.cas.${name}`, 1024 * 1024);
    checkCaPem(bytes.toString('utf8'), source);
    cas.set(name, { source, bytes });
  }
  return { roots, keys, cas };
}

function readPinned(path: string, sha256: string, field: string, limit: number): Buffer {
  // A missing file is said so, not reported as a digest mismatch; the policy is refused all the same.
  const bytes = readFileLimited(path, limit, `${field}: the file`, ErrorCodes.POLICY);
  const digest = sha256Hex(bytes);
  if (digest !== sha256) {
    throw new TrustloadError(ErrorCodes.POLICY, `${field}: ${path} does not match its pinned sha256 (run trustload policy check to print digests)`, {
      expected: `sha256:${sha256}`,
      found: `sha256:${digest}`,
    });
  }
  return bytes;
}
