import { createHash } from 'node:crypto';
import type { KeyObject } from 'node:crypto';
import { resolve } from 'node:path';
import { ErrorCodes, TrustloadError } from '../errors.js';
import { MAX_BUNDLE_BYTES, readFileLimited } from '../io/read.js';
import type { PolicyTrust } from '../policy/schema.js';
import { checkTrustedRootJson } from './check-trusted-root.js';
import { parsePublicKeyPem } from './keys.js';

/**
 * The trust a policy names, read once at start-up and pinned: every file's
 * SHA-256 must equal the one the policy states, so the policy's own digest
 * covers everything it trusts. Roots are checked but not yet decoded: that
 * waits for the first protected load, with the rest of the Sigstore code.
 */
export interface TrustFiles {
  roots: ReadonlyMap<string, { source: string; bytes: Buffer }>;
  keys: ReadonlyMap<string, KeyObject>;
}

export function readTrustFiles(trust: PolicyTrust | undefined, baseDir: string): TrustFiles {
  const roots = new Map<string, { source: string; bytes: Buffer }>();
  for (const [name, ref] of Object.entries(trust?.roots ?? {})) {
    const source = resolve(baseDir, ref.path);
    const bytes = readPinned(source, ref.sha256, `trust.roots.${name}`, MAX_BUNDLE_BYTES);
    checkTrustedRootJson(bytes, source);
    roots.set(name, { source, bytes });
  }
  const keys = new Map<string, KeyObject>();
  for (const [name, ref] of Object.entries(trust?.keys ?? {})) {
    if ('pem' in ref) {
      keys.set(name, parsePublicKeyPem(ref.pem, `trust.keys.${name}`));
    } else {
      const source = resolve(baseDir, ref.path);
      keys.set(name, parsePublicKeyPem(readPinned(source, ref.sha256, `trust.keys.${name}`, 1024 * 1024).toString('utf8'), source));
    }
  }
  return { roots, keys };
}

function readPinned(path: string, sha256: string, field: string, limit: number): Buffer {
  const bytes = readFileLimited(path, limit, `${field} file`, ErrorCodes.POLICY);
  const digest = createHash('sha256').update(bytes).digest('hex');
  if (digest !== sha256) {
    throw new TrustloadError(ErrorCodes.POLICY, `${field}: ${path} does not match its pinned sha256 (run trustload policy check to print digests)`, {
      expected: `sha256:${sha256}`,
      found: `sha256:${digest}`,
    });
  }
  return bytes;
}

export function sha256File(path: string): string {
  return createHash('sha256').update(readFileLimited(path, MAX_BUNDLE_BYTES, 'file', ErrorCodes.POLICY)).digest('hex');
}
