import type { VerifiedSigner } from '../verify/signers.js';

/** The manifest bundle's name in a directory when the rule names none (PRODUCT.md). */
export const DEFAULT_MANIFEST_BUNDLE = 'manifest.sigstore.json';

export const PREDICATE_V1 = 'https://model_signing/signature/v1.0';
export const PREDICATE_V01 = 'https://model_signing/Digests/v0.1';

/** One byte range of a file and the SHA-256 of exactly those bytes (end exclusive). */
export interface Shard {
  start: number;
  end: number;
  sha256: Buffer;
}

/**
 * What the manifest says about one file, by its POSIX path relative to the
 * directory. A `files` entry is one digest of the whole file; a `shards`
 * entry lists the ranges model_signing cut, so its size is the last end.
 */
export type ManifestEntry =
  | { kind: 'file'; name: string; sha256: Buffer }
  | { kind: 'shards'; name: string; shards: Shard[]; size: number };

/** A manifest as its signed predicate states it (parsed, checked for shape, not yet verified). */
export interface ManifestContent {
  predicateType: string;
  /** The statement's subject name: informative only, never bound to the directory's name. */
  modelName: string;
  method: 'files' | 'shards';
  shardSize?: number;
  allowSymlinks: boolean;
  /** Path prefixes exempt from the extra-file check, as recorded inside the signed predicate. */
  ignorePaths: string[];
  entries: ReadonlyMap<string, ManifestEntry>;
  /** sha256 over the raw resource digests in listed order: what the signature's subject must name. */
  subjectDigest: Buffer;
  /** One resource named `.`: a single-file model whose file is the one the subject names. */
  singleFile: boolean;
}

/** A manifest whose signature verified for one of its rule's signers. */
export interface VerifiedManifest extends ManifestContent {
  dir: string;
  bundlePath: string;
  /** The manifest bundle's bytes, as verified: what another rule's signers are checked against. */
  bundle: Buffer;
  rule: string;
  signer: VerifiedSigner;
}
