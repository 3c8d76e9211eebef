import { createHash } from 'node:crypto';
import { fstatSync, lstatSync, type Stats } from 'node:fs';
import { basename, join, resolve } from 'node:path';
import { ErrorCodes, TrustloadError } from '../errors.js';
import { hashTargets, type HashTarget, type OnProgress } from './hash-files.js';
import { checkFilesToSign, listFilesToSign } from './list-files.js';
import { checkNameToSign, compareNames } from './names.js';
import type { Range } from './shards.js';
import { PREDICATE_V1 } from './types.js';

export interface DescribeOptions {
  method: 'files' | 'shards';
  /** Bytes per shard (method "shards"); model_signing's default when absent. */
  shardSize?: number;
  /** Relative POSIX paths below the directory, recorded in the signed ignore_paths. */
  ignorePaths?: readonly string[];
  /** The manifest bundle's name in the directory: never hashed, recorded in ignore_paths. */
  bundleName: string;
  /** The exact files to sign (relative POSIX), instead of every file below the directory. */
  files?: readonly string[];
  onProgress?: OnProgress;
}

export interface DirectoryStatement {
  /** The in-toto Statement v1 bytes: the DSSE payload to sign (payloadType application/vnd.in-toto+json). */
  statement: Buffer;
  /** Files the manifest lists. */
  files: number;
  /** Bytes hashed. */
  bytes: number;
}

/** model_signing's default shard size: 10^9 bytes (hashing.py, `shard_size: int = 1_000_000_000`). */
export const DEFAULT_SHARD_SIZE = 1_000_000_000;

/** What model_signing ignores (and records) in every directory unless told not to. */
const GIT_PATHS = ['.git', '.gitattributes', '.github', '.gitignore'];

/**
 * The model-signing v1.0 statement for a directory, as model_signing 1.x
 * builds it: every regular file below `dir` (or exactly `options.files`)
 * but the ignored paths, hashed in parallel through the loop verification
 * uses, resources sorted as model_signing sorts them, the subject digest
 * over their digests in that order. Links, FIFOs and sockets are refused
 * (allow_symlinks is false), as is a file that changes while it is hashed.
 */
export async function describeDirectory(dir: string, options: DescribeOptions): Promise<DirectoryStatement> {
  const root = resolve(dir);
  requireDirectory(root);
  const shardSize = shardSizeOf(options);
  const ignorePaths = recordedIgnores(options.bundleName, options.ignorePaths ?? []);
  const names = (options.files === undefined ? listFilesToSign(root, ignorePaths) : checkFilesToSign(root, options.files, ignorePaths)).sort(compareNames);
  const colon = shardSize === undefined ? undefined : names.find((name) => name.includes(':'));
  if (colon !== undefined) {
    // A shard is named PATH:START:END, and verifiers (model_signing's and ours) split that name at every colon.
    throw new TrustloadError(ErrorCodes.UNSUPPORTED_LOAD, 'a file name with a colon cannot be signed with method "shards" (no verifier could read its shard names): rename it, ignore it, or use method "files"', { path: join(root, colon) });
  }

  const digests = new Map<string, { ranges: readonly Range[]; digests: readonly Buffer[] }>();
  const targets = names.map((name): HashTarget => {
    const path = join(root, name);
    let opened: Stats;
    let ranges: readonly Range[];
    return {
      path,
      ranges(stat) {
        opened = stat;
        ranges = shardSize === undefined ? [{ start: 0, end: stat.size }] : shardRanges(stat.size, shardSize);
        return ranges;
      },
      hashed(hashes, fd) {
        requireUnchanged(opened, fstatSync(fd), path);
        digests.set(name, { ranges, digests: hashes });
      },
    };
  });
  const expectedRanges = shardSize === undefined ? targets.length : names.reduce((sum, name) => sum + Math.max(1, Math.ceil(sizeOf(join(root, name)) / shardSize)), 0);
  await hashTargets(targets, { allowSymlinks: false, what: 'a file to sign', ranges: expectedRanges }, options.onProgress);
  // Hashed files are the ones listed; a file added or removed meanwhile would make the manifest describe no moment of the directory.
  if (options.files === undefined) requireSameListing(names, listFilesToSign(root, ignorePaths).sort(compareNames), root);

  const { resources, subject, files, bytes } = resourcesOf(names, digests, shardSize);
  if (resources.length === 0) {
    throw new TrustloadError(ErrorCodes.MISSING_FILE, `nothing to sign: no ${shardSize === undefined ? '' : 'non-empty '}file below the directory but ignored ones (a manifest lists at least one)`, { path: root });
  }
  // Keys in model_signing's order (signing.Payload, manifest._FileSerialization / _ShardSerialization).
  const serialization =
    shardSize === undefined
      ? { method: 'files', hash_type: 'sha256', allow_symlinks: false, ignore_paths: ignorePaths }
      : { method: 'shards', hash_type: 'sha256', shard_size: shardSize, allow_symlinks: false, ignore_paths: ignorePaths };
  const statement = {
    _type: 'https://in-toto.io/Statement/v1',
    subject: [{ name: basename(root), digest: { sha256: subject } }],
    predicateType: PREDICATE_V1,
    predicate: { serialization, resources },
  };
  return { statement: Buffer.from(JSON.stringify(statement)), files, bytes };
}

/** The resources in `names`' order (a file's shards in offset order), and the subject digest over their raw digests in that order. */
function resourcesOf(names: readonly string[], hashed: ReadonlyMap<string, { ranges: readonly Range[]; digests: readonly Buffer[] }>, shardSize: number | undefined) {
  const algorithm = shardSize === undefined ? 'sha256' : `sha256-sharded-${shardSize}`;
  const resources: { name: string; algorithm: string; digest: string }[] = [];
  const subject = createHash('sha256');
  let files = 0;
  let bytes = 0;
  for (const name of names) {
    const { ranges, digests } = hashed.get(name)!;
    if (ranges.length > 0) files++;
    ranges.forEach(({ start, end }, i) => {
      resources.push({ name: shardSize === undefined ? name : `${name}:${start}:${end}`, algorithm, digest: digests[i]!.toString('hex') });
      subject.update(digests[i]!);
      bytes += end - start;
    });
  }
  return { resources, subject: subject.digest('hex'), files, bytes };
}

/** model_signing refuses a model path that is a link; a missing path or a file is no directory to sign. */
function requireDirectory(root: string): void {
  let stat: Stats;
  try {
    stat = lstatSync(root);
  } catch (err) {
    const errno = (err as NodeJS.ErrnoException).code;
    throw new TrustloadError(errno === 'ENOENT' || errno === 'ENOTDIR' ? ErrorCodes.MISSING_FILE : ErrorCodes.UNSUPPORTED_LOAD, `cannot sign the directory: ${(err as Error).message}`, { path: root, cause: err });
  }
  if (stat.isSymbolicLink()) throw new TrustloadError(ErrorCodes.UNSUPPORTED_LOAD, 'the directory to sign is a symbolic link (allow_symlinks is false): sign its real path', { path: root });
  if (!stat.isDirectory()) throw new TrustloadError(ErrorCodes.UNSUPPORTED_LOAD, 'not a directory: a single file is signed by its own bundle', { path: root });
}

function shardSizeOf({ method, shardSize }: DescribeOptions): number | undefined {
  if (method === 'files') {
    if (shardSize !== undefined) throw new TrustloadError(ErrorCodes.POLICY, 'a shard size applies to method "shards" only');
    return undefined;
  }
  if (method !== 'shards') throw new TrustloadError(ErrorCodes.POLICY, `unknown method ${JSON.stringify(method)} (files or shards)`);
  if (shardSize === undefined) return DEFAULT_SHARD_SIZE;
  if (!Number.isSafeInteger(shardSize) || shardSize <= 0) throw new TrustloadError(ErrorCodes.POLICY, `the shard size must be a positive whole number of bytes, not ${shardSize}`);
  return shardSize;
}

/**
 * The ignore_paths to record: the bundle (as model_signing's command line
 * records its signature), the caller's, then model_signing's git paths.
 * model_signing keeps them in a set, so its order varies; this one is fixed.
 */
function recordedIgnores(bundleName: string, ignorePaths: readonly string[]): string[] {
  const paths = [bundleName, ...ignorePaths].map((p) => checkNameToSign(p.replace(/\/+$/, ''), 'ignore path'));
  return [...new Set([...paths, ...GIT_PATHS])];
}

/** model_signing's shards of a file: [0, n), [n, 2n), ... the last one short; none for an empty file. */
function shardRanges(size: number, shardSize: number): Range[] {
  const ranges: Range[] = [];
  for (let start = 0; start < size; start += shardSize) ranges.push({ start, end: Math.min(start + shardSize, size) });
  return ranges;
}

/** A file written to while it was hashed would be signed as no version of it ever was. */
function requireUnchanged(opened: Stats, now: Stats, path: string): void {
  if (opened.size === now.size && opened.mtimeMs === now.mtimeMs && opened.ctimeMs === now.ctimeMs) return;
  throw new TrustloadError(ErrorCodes.SIGNATURE, 'the file changed while it was being hashed for signing: sign it again once nothing writes to it', {
    path,
    expected: `${opened.size} bytes`,
    found: `${now.size} bytes`,
  });
}

function requireSameListing(before: readonly string[], after: readonly string[], root: string): void {
  const was = new Set(before);
  const is = new Set(after);
  const added = after.find((name) => !was.has(name));
  if (added !== undefined) throw new TrustloadError(ErrorCodes.NOT_IN_MANIFEST, 'a file appeared in the directory while it was being hashed for signing: sign it again', { path: join(root, added) });
  const removed = before.find((name) => !is.has(name));
  if (removed !== undefined) throw new TrustloadError(ErrorCodes.MISSING_FILE, 'a file disappeared from the directory while it was being hashed for signing', { path: join(root, removed) });
}

/** A size to plan threads with only: the descriptor opened later decides the ranges. */
function sizeOf(path: string): number {
  try {
    return lstatSync(path).size;
  } catch {
    return 0; // opening it refuses the directory with the reason
  }
}
