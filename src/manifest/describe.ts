import type { VerifiedSigner } from '../verify/signers.js';
import type { ManifestEntry, VerifiedManifest } from './types.js';

/** A signed directory as verifyDirectory returns it: who signed it and every file it lists, by digest. */
export interface VerifiedDirectory {
  dir: string;
  bundle: string;
  rule: string;
  signer: VerifiedSigner;
  model: string;
  method: 'files' | 'shards';
  shardSize?: number;
  ignorePaths: string[];
  files: { name: string; sha256?: string; shards?: { start: number; end: number; sha256: string }[] }[];
}

/** The public, JSON-friendly form of a verified manifest (digests in hex). */
export function describeDirectory(m: VerifiedManifest): VerifiedDirectory {
  const file = (e: ManifestEntry) =>
    e.kind === 'file'
      ? { name: e.name, sha256: e.sha256.toString('hex') }
      : { name: e.name, shards: e.shards.map((s) => ({ start: s.start, end: s.end, sha256: s.sha256.toString('hex') })) };
  return {
    dir: m.dir,
    bundle: m.bundlePath,
    rule: m.rule,
    signer: m.signer,
    model: m.modelName,
    method: m.method,
    ...(m.shardSize !== undefined ? { shardSize: m.shardSize } : {}),
    ignorePaths: m.ignorePaths,
    files: [...m.entries.values()].map(file),
  };
}

