import { resolve, sep } from 'node:path';
import { ErrorCodes, TrustloadError } from '../errors.js';
import { MAX_BUNDLE_BYTES, readFileLimited } from '../io/read.js';
import type { PolicyTrust } from '../policy/schema.js';
import { parseLock, type LockEntry } from './lock-file.js';
import { packageDirOf, packageLabel, packageOf } from './package-of.js';

/** Largest lock read: a 5,000-entry lock is about 700 kB. */
export const MAX_LOCK_BYTES = 64 * 1024 * 1024;

/** Verifies a lock's bytes against its sibling bundle for the signers the policy names for it (the Guard's verifier); throws when they do not. */
export type VerifySignedLock = (bytes: Buffer, bundle: Buffer, bundlePath: string, lock: string) => void;

type Hash = (bytes: Buffer) => string;

// Taken before application code runs; node:crypto itself is loaded only by a policy that names a lock.
const getBuiltinModule = process.getBuiltinModule;

/**
 * The locks a policy names (trust.locks), each read, checked against its
 * pin or its signature, and parsed strictly once at start-up: a lock that
 * fails any of that stops the process there. A load a lock rule covers is
 * then one hash of the bytes the guard read and one Map lookup.
 */
export class Locks {
  readonly #locks: ReadonlyMap<string, ReadonlyMap<string, LockEntry>>;
  readonly #hash: Hash;

  private constructor(
    locks: ReadonlyMap<string, ReadonlyMap<string, LockEntry>>,
    hash: Hash,
    readonly baseDir: string,
  ) {
    this.#locks = locks;
    this.#hash = hash;
  }

  static read(locks: NonNullable<PolicyTrust['locks']>, baseDir: string, verifySigned: VerifySignedLock): Locks {
    const { createHash } = getBuiltinModule('node:crypto') as typeof import('node:crypto');
    const hash: Hash = (bytes) => createHash('sha256').update(bytes).digest('hex');
    const read = new Map<string, ReadonlyMap<string, LockEntry>>();
    for (const [name, ref] of Object.entries(locks)) {
      const field = `trust.locks.${name}`;
      const path = resolve(baseDir, ref.path);
      const bytes = readFileLimited(path, MAX_LOCK_BYTES, `${field}: the lock`, ErrorCodes.POLICY);
      if ('sha256' in ref) {
        const digest = hash(bytes);
        if (digest !== ref.sha256) {
          throw new TrustloadError(ErrorCodes.POLICY, `${field}: ${path} does not match its pinned sha256: the lock changed since it was pinned (trustload lock prints the digest of a lock it writes)`, {
            path,
            expected: `sha256:${ref.sha256}`,
            found: `sha256:${digest}`,
          });
        }
      } else {
        const bundlePath = `${path}.sigstore.json`;
        const bundle = readFileLimited(bundlePath, MAX_BUNDLE_BYTES, `${field}: the lock's bundle`, ErrorCodes.POLICY);
        try {
          verifySigned(bytes, bundle, bundlePath, name);
        } catch (err) {
          const reason = err instanceof TrustloadError ? `${err.code}: ${err.message}` : String(err);
          throw new TrustloadError(ErrorCodes.POLICY, `${field}: ${path} is not signed by a signer trust.locks.${name}.signers names: ${reason}`, { path, cause: err });
        }
      }
      read.set(name, parseLock(bytes.toString('utf8'), path));
    }
    return new Locks(read, hash, baseDir);
  }

  /**
   * Checks the bytes of `realPath` (inside the policy folder: its rule
   * matched) against lock `name`; returns their digest, or throws naming the
   * npm package the file belongs to.
   */
  check(name: string, realPath: string, bytes: Buffer): string {
    const entries = this.#locks.get(name);
    if (entries === undefined) throw new TrustloadError(ErrorCodes.POLICY, `lock "${name}" was not read at start-up`);
    if (!realPath.startsWith(this.baseDir + sep)) {
      throw new TrustloadError(ErrorCodes.NOT_IN_LOCK, `a lock lists files inside the policy folder ${this.baseDir} only`, { path: realPath });
    }
    const rel = sep === '/' ? realPath.slice(this.baseDir.length + 1) : realPath.slice(this.baseDir.length + 1).split(sep).join('/');
    const digest = this.#hash(bytes);
    const entry = entries.get(rel);
    if (entry === undefined) throw this.#notListed(name, entries, rel, digest);
    if (entry.sha256 !== digest) {
      const owner = entry.package === undefined ? '' : ` of package ${packageLabel({ name: entry.package, version: entry.version! })}`;
      throw new TrustloadError(ErrorCodes.SIGNATURE, `this file${owner} changed since lock "${name}" recorded it`, {
        digest,
        expected: `sha256:${entry.sha256}`,
        found: `sha256:${digest}`,
      });
    }
    return digest;
  }

  /** Names the package a file not in the lock belongs to, and whether the lock knows that package at all. */
  #notListed(name: string, entries: ReadonlyMap<string, LockEntry>, rel: string, digest: string): TrustloadError {
    const dir = packageDirOf(rel);
    const review = 'review it, then record it with trustload lock (a learning run, or --add)';
    if (dir === undefined) return new TrustloadError(ErrorCodes.NOT_IN_LOCK, `this file is not in lock "${name}": ${review}`, { digest });
    const pkg = packageOf(this.baseDir, rel);
    const label = pkg === undefined ? `in ${dir}` : `of package ${packageLabel(pkg)}`;
    let listed = 0;
    for (const path of entries.keys()) if (path.startsWith(`${dir}/`)) listed++;
    const known = listed === 0 ? `no file of that package is in lock "${name}" (a dependency added since)` : `lock "${name}" lists ${listed} other file(s) of it, not this one`;
    return new TrustloadError(ErrorCodes.NOT_IN_LOCK, `this file ${label} is not in the lock: ${known}; ${review}`, { digest });
  }
}
