import { createHash } from 'node:crypto';
import { ErrorCodes, TrustloadError } from '../errors.js';
import { isPlainObject, parseJson } from '../io/json.js';
import { checkManifestPath, isIgnored } from './names.js';
import { PREDICATE_V01, PREDICATE_V1, type ManifestContent, type ManifestEntry, type Shard } from './types.js';

const HEX_SHA256 = /^[0-9a-fA-F]{64}$/;
const OFFSET = /^(?:0|[1-9][0-9]*)$/;
const STATEMENT_V1 = 'https://in-toto.io/Statement/v1';

/**
 * Reads the model-signing predicate from the DSSE payload bytes, the very
 * bytes the signature covers. Every shape problem refuses the manifest as a
 * whole: a verifier that skipped a bad resource would accept a directory the
 * signer never described.
 */
export function parseManifestPayload(payload: Buffer, source: string): ManifestContent {
  const statement = parseJson(payload.toString('utf8'), `the manifest payload of ${source}`);
  if (!isPlainObject(statement) || statement._type !== STATEMENT_V1 && statement._type !== 'https://in-toto.io/Statement/v0.1') {
    throw bad(`${source} is not an in-toto statement`);
  }
  if (statement.predicateType === PREDICATE_V01) return parseDigestsV01(statement, source);
  if (statement.predicateType !== PREDICATE_V1) {
    throw bad(`${source} has predicateType ${JSON.stringify(statement.predicateType)}; a manifest is ${PREDICATE_V1}`);
  }
  const subjects = statement.subject;
  if (!Array.isArray(subjects) || subjects.length !== 1 || !isPlainObject(subjects[0]) || !isPlainObject(subjects[0].digest)) {
    throw bad(`${source}: a model-signing v1.0 statement has exactly one subject`);
  }
  const subject = subjects[0];
  const digest = subject.digest as Record<string, unknown>;
  if (typeof digest.sha256 !== 'string' || !HEX_SHA256.test(digest.sha256)) throw bad(`${source}: the subject has no sha256 digest`);
  const modelName = typeof subject.name === 'string' ? subject.name : '';
  const predicate = statement.predicate;
  if (!isPlainObject(predicate) || !isPlainObject(predicate.serialization) || !Array.isArray(predicate.resources)) {
    throw bad(`${source}: the predicate needs "serialization" and "resources"`);
  }
  const serialization = parseSerialization(predicate.serialization, source);
  const { entries, subjectDigest, singleFile } = parseResources(predicate.resources, serialization, modelName, source);
  if (!subjectDigest.equals(Buffer.from(digest.sha256, 'hex'))) {
    throw bad(`${source}: the manifest is inconsistent: its resources hash to sha256:${subjectDigest.toString('hex')}, its subject says sha256:${digest.sha256.toLowerCase()}`);
  }
  return { predicateType: PREDICATE_V1, modelName, ...serialization, entries, subjectDigest, singleFile };
}

interface Serialization {
  method: 'files' | 'shards';
  shardSize?: number;
  allowSymlinks: boolean;
  ignorePaths: string[];
}

function parseSerialization(s: Record<string, unknown>, source: string): Serialization {
  if (s.method !== 'files' && s.method !== 'shards') {
    throw bad(`${source}: unknown serialization method ${JSON.stringify(s.method)} (supported: files, shards)`);
  }
  if (s.hash_type !== 'sha256') {
    throw bad(`${source}: hash_type ${JSON.stringify(s.hash_type)}: only sha256 is supported (re-sign with --hash_type sha256 / hashing "sha256")`);
  }
  if (typeof s.allow_symlinks !== 'boolean') throw bad(`${source}: serialization.allow_symlinks must be true or false`);
  let shardSize: number | undefined;
  if (s.method === 'shards') {
    if (!Number.isSafeInteger(s.shard_size) || (s.shard_size as number) <= 0) throw bad(`${source}: shard_size must be a positive integer`);
    shardSize = s.shard_size as number;
  }
  const ignorePaths: string[] = [];
  if (s.ignore_paths !== undefined) {
    if (!Array.isArray(s.ignore_paths)) throw bad(`${source}: ignore_paths must be a list`);
    for (const p of s.ignore_paths) {
      if (typeof p !== 'string') throw bad(`${source}: ignore_paths holds a non-string`);
      ignorePaths.push(checkManifestPath(p, 'ignore path'));
    }
  }
  return { method: s.method, ...(shardSize !== undefined ? { shardSize } : {}), allowSymlinks: s.allow_symlinks, ignorePaths };
}

function parseResources(resources: unknown[], serialization: Serialization, modelName: string, source: string) {
  if (resources.length === 0) throw bad(`${source}: the manifest lists no files`);
  const hasher = createHash('sha256');
  const files = new Map<string, { sha256?: Buffer; shards: Shard[] }>();
  const expectedAlgorithm = serialization.method === 'files' ? 'sha256' : `sha256-sharded-${serialization.shardSize}`;
  for (const [i, resource] of resources.entries()) {
    if (!isPlainObject(resource) || typeof resource.name !== 'string' || typeof resource.digest !== 'string') {
      throw bad(`${source}: resource ${i} needs a string name and digest`);
    }
    if (resource.algorithm !== expectedAlgorithm) {
      const blake = typeof resource.algorithm === 'string' && resource.algorithm.startsWith('blake');
      throw bad(`${source}: resource ${JSON.stringify(resource.name)} has algorithm ${JSON.stringify(resource.algorithm)}; ${blake ? 'only sha256 is supported' : `expected ${expectedAlgorithm}`}`);
    }
    if (!HEX_SHA256.test(resource.digest)) throw bad(`${source}: resource ${JSON.stringify(resource.name)} has a digest that is not 64 hex digits`);
    const digest = Buffer.from(resource.digest, 'hex');
    hasher.update(digest);
    if (serialization.method === 'files') {
      const name = resource.name === '.' ? '.' : checkManifestPath(resource.name, 'file name');
      if (files.has(name)) throw bad(`${source}: ${JSON.stringify(name)} is listed twice`);
      files.set(name, { sha256: digest, shards: [] });
    } else {
      const parts = resource.name.split(':');
      if (parts.length !== 3 || !OFFSET.test(parts[1]!) || !OFFSET.test(parts[2]!)) {
        throw bad(`${source}: shard name ${JSON.stringify(resource.name)} is not PATH:START:END`);
      }
      const name = parts[0] === '.' ? '.' : checkManifestPath(parts[0]!, 'file name');
      const start = Number(parts[1]);
      const end = Number(parts[2]);
      if (!Number.isSafeInteger(end) || end <= start) throw bad(`${source}: shard ${JSON.stringify(resource.name)} is not a range`);
      const file = files.get(name) ?? { shards: [] };
      file.shards.push({ start, end, sha256: digest });
      files.set(name, file);
    }
  }
  const singleFile = files.has('.');
  if (singleFile && files.size !== 1) throw bad(`${source}: a resource named "." (a single-file model) must be the only one`);
  const entries = new Map<string, ManifestEntry>();
  for (const [listed, file] of files) {
    // A single-file model's one file is the one its subject names, in the bundle's folder.
    const name = listed === '.' ? singleFileName(modelName, source) : listed;
    if (isIgnored(name, serialization.ignorePaths)) throw bad(`${source}: ${JSON.stringify(name)} is listed but lies under an ignored path`);
    entries.set(name, file.sha256 !== undefined ? { kind: 'file', name, sha256: file.sha256 } : shardEntry(name, file.shards, serialization.shardSize!, source));
  }
  return { entries, subjectDigest: hasher.digest(), singleFile };
}

/** The shards model_signing cuts for one file: from 0, contiguous, each shard_size long but the last. */
function shardEntry(name: string, listed: Shard[], shardSize: number, source: string): ManifestEntry {
  const shards = [...listed].sort((a, b) => a.start - b.start);
  shards.forEach((shard, i) => {
    const start = i === 0 ? 0 : shards[i - 1]!.end;
    const last = i === shards.length - 1;
    const length = shard.end - shard.start;
    if (shard.start !== start || length > shardSize || (!last && length !== shardSize)) {
      throw bad(`${source}: the shards of ${JSON.stringify(name)} are not the ranges model_signing cuts with shard_size ${shardSize} (${shard.start}:${shard.end})`);
    }
  });
  return { kind: 'shards', name, shards, size: shards.at(-1)!.end };
}

function singleFileName(modelName: string, source: string): string {
  if (modelName === '' || modelName === '.' || modelName === '..' || modelName.includes('/') || modelName.includes('\0')) {
    throw bad(`${source}: a single-file model's subject must name its file, not ${JSON.stringify(modelName)}`);
  }
  return modelName;
}

/**
 * The pre-1.0 predicate: one subject per file, no serialization record. Its
 * subjects are the resources; the caller checks the signature against the
 * first one's digest (every subject is signed alike).
 */
function parseDigestsV01(statement: Record<string, unknown>, source: string): ManifestContent {
  const subjects = statement.subject;
  if (!Array.isArray(subjects) || subjects.length === 0) throw bad(`${source}: the manifest lists no files`);
  const entries = new Map<string, ManifestEntry>();
  for (const [i, subject] of subjects.entries()) {
    if (!isPlainObject(subject) || typeof subject.name !== 'string' || !isPlainObject(subject.digest) || typeof subject.digest.sha256 !== 'string' || !HEX_SHA256.test(subject.digest.sha256)) {
      throw bad(`${source}: subject ${i} needs a name and a sha256 digest`);
    }
    const name = checkManifestPath(subject.name, 'file name');
    if (entries.has(name)) throw bad(`${source}: ${JSON.stringify(name)} is listed twice`);
    entries.set(name, { kind: 'file', name, sha256: Buffer.from(subject.digest.sha256, 'hex') });
  }
  const first = entries.values().next().value as Extract<ManifestEntry, { kind: 'file' }>;
  return { predicateType: PREDICATE_V01, modelName: '', method: 'files', allowSymlinks: false, ignorePaths: [], entries, subjectDigest: first.sha256, singleFile: false };
}

function bad(message: string): TrustloadError {
  return new TrustloadError(ErrorCodes.BAD_BUNDLE, message);
}
