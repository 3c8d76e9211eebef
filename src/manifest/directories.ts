import { existsSync, realpathSync } from 'node:fs';
import { basename, dirname, join, relative, sep } from 'node:path';
import { ErrorCodes, TrustloadError } from '../errors.js';
import { MAX_BUNDLE_BYTES, readFileLimited } from '../io/read.js';
import type { VerifiedSigner } from '../verify/signers.js';
import { requireClosedSet } from './closed-set.js';
import { hashFiles, type OnProgress } from './hash-files.js';
import { isIgnored } from './names.js';
import { DEFAULT_MANIFEST_BUNDLE, type ManifestContent, type ManifestEntry, type VerifiedManifest } from './types.js';

/** What directory checks need from the policy: where manifests are, and the one verification path. */
export interface ManifestPolicy {
  /** The policy's folder: manifests are never looked for above it. */
  baseDir: string;
  rules: readonly { name: string; bundle?: string }[];
  ruleFor(path: string): { name: string; bundle?: string } | undefined;
  verifyManifest(bundle: Buffer, bundlePath: string, rule: string): { content: ManifestContent; signer: VerifiedSigner };
}

/** A file inside a signed directory: the manifest that covers it and its entry there. */
export interface CoveredFile {
  manifest: VerifiedManifest;
  entry: ManifestEntry;
  path: string;
}

/**
 * Signed directories of one policy, each verified once per process: the
 * manifest bundle's signature, then the closed set (a listing compared with
 * the manifest, no hashing). A file inside then costs one hash of the bytes
 * that will be used. Built so that the guard can call it per load.
 */
export class SignedDirectories {
  readonly #checked = new Map<string, VerifiedManifest>();

  constructor(readonly policy: ManifestPolicy) {}

  /** The manifest of `dir` (a real path), verified and its closed set checked; refuses when there is none. */
  open(dir: string): VerifiedManifest {
    const cached = this.#checked.get(dir);
    if (cached !== undefined) return cached;
    const found = this.#bundleIn(dir);
    if (found === undefined) {
      const names = [...new Set(this.policy.rules.map((r) => r.bundle ?? DEFAULT_MANIFEST_BUNDLE))].join(' or ');
      throw new TrustloadError(ErrorCodes.NO_BUNDLE, `no manifest bundle (${names}) that a rule covers in this directory`, { path: dir });
    }
    const bundle = readFileLimited(found.bundlePath, MAX_BUNDLE_BYTES, 'manifest bundle', ErrorCodes.BAD_BUNDLE, ErrorCodes.NO_BUNDLE);
    const { content, signer } = this.policy.verifyManifest(bundle, found.bundlePath, found.rule);
    const manifest: VerifiedManifest = { ...content, dir, bundlePath: found.bundlePath, rule: found.rule, signer };
    requireClosedSet(dir, basename(found.bundlePath), manifest);
    this.#checked.set(dir, manifest);
    return manifest;
  }

  /**
   * The signed directory nearest to `requested` (an absolute path, as the
   * caller named it) and the entry for that name, or undefined when no
   * folder between it and the policy's folder holds a manifest bundle.
   */
  covering(requested: string): CoveredFile | undefined {
    const folder = realpathOrMissing(dirname(requested));
    const path = join(folder, basename(requested));
    for (let dir = folder; isWithin(this.policy.baseDir, dir); dir = dirname(dir)) {
      if (!this.#checked.has(dir) && this.#bundleIn(dir) === undefined) {
        if (dir === this.policy.baseDir) break;
        continue;
      }
      const manifest = this.open(dir);
      return { manifest, entry: entryFor(manifest, relative(dir, path).split(sep).join('/'), path), path };
    }
    return undefined;
  }

  /** Verifies a whole directory: manifest, closed set, then every file's bytes, streamed (in parallel when large). */
  async verifyAll(dir: string, onProgress?: OnProgress): Promise<VerifiedManifest> {
    const manifest = this.open(dir);
    await hashFiles(manifest, onProgress);
    return manifest;
  }

  /** Whether `dir` (a real path) holds a manifest bundle that a rule covers. */
  holdsManifest(dir: string): boolean {
    return this.#checked.has(dir) || this.#bundleIn(dir) !== undefined;
  }

  #bundleIn(dir: string): { bundlePath: string; rule: string } | undefined {
    for (const name of new Set(this.policy.rules.map((r) => r.bundle ?? DEFAULT_MANIFEST_BUNDLE))) {
      const bundlePath = join(dir, name);
      const rule = this.policy.ruleFor(bundlePath);
      if (rule !== undefined && (rule.bundle ?? DEFAULT_MANIFEST_BUNDLE) === name && existsSync(bundlePath)) return { bundlePath, rule: rule.name };
    }
    return undefined;
  }
}

function entryFor(manifest: VerifiedManifest, name: string, path: string): ManifestEntry {
  const entry = manifest.entries.get(name);
  if (entry !== undefined) return entry;
  const why =
    path === manifest.bundlePath ? 'the manifest bundle itself is never a resource'
    : isIgnored(name, manifest.ignorePaths) ? 'it lies under a path the manifest ignores, and ignored files are never loadable'
    : 'it is not listed in the manifest of its signed directory';
  throw new TrustloadError(ErrorCodes.NOT_IN_MANIFEST, `${name} cannot be loaded: ${why}`, { path, rule: manifest.rule });
}

function realpathOrMissing(path: string): string {
  try {
    return realpathSync.native(path);
  } catch (err) {
    throw new TrustloadError(ErrorCodes.MISSING_FILE, `cannot read the folder: ${(err as Error).message}`, { path, cause: err });
  }
}

function isWithin(base: string, dir: string): boolean {
  return dir === base || dir.startsWith(base.endsWith(sep) ? base : `${base}${sep}`);
}
