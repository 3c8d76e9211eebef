import { createHash } from 'node:crypto';
import { ErrorCodes, TrustloadError } from '../errors.js';
import { readFileLimited } from '../io/read.js';
import type { SignerSpec } from '../verify/signers.js';
import type { Finding } from './check-chains.js';
import { segmentName } from './check-seals.js';
import type { Segment } from './history.js';
import { unsignedReason } from './operator-key.js';

/**
 * What `audit seal` signs beside the trail after each seal: the trail's id,
 * how many segments it has sealed and the newest one's digest. The seal line
 * in the live file says the same but is not signed (the guarded process can
 * rewrite it); the head is, so removing the newest segments shows.
 */
export interface HeadRecord {
  trail: string;
  segments: number;
  segment: string;
  sha256: string;
  bytes: number;
  time: string;
}

const MAX_HEAD_BYTES = 64 * 1024;

export const headPath = (file: string): string => `${file}.head.json`;

export const sha256Of = (bytes: Buffer): string => createHash('sha256').update(bytes).digest('hex');

/**
 * Checks the signed head of the trail at `file` against its segments (oldest
 * first, the live file last): it must be signed by `signer` and name the
 * trail's id, its number of sealed segments and the newest one's length and
 * digest. A trail with sealed segments must have one. Returns the head's
 * digest too, which the operator compares with the one `audit seal` printed:
 * an older head, restored with the segments it names, is consistent in itself.
 */
export function checkHead(file: string, segments: readonly Segment[], signer: SignerSpec): { findings: Finding[]; digest: string | undefined } {
  const path = headPath(file);
  const sealed = segments.length - 1;
  const fail = (message: string, digest?: string): { findings: Finding[]; digest: string | undefined } => ({ findings: [{ line: undefined, message }], digest });
  let bytes: Buffer;
  try {
    bytes = readFileLimited(path, MAX_HEAD_BYTES, 'audit head', ErrorCodes.BAD_BUNDLE, ErrorCodes.MISSING_FILE);
  } catch (err) {
    const missing = err instanceof TrustloadError && err.code === ErrorCodes.MISSING_FILE;
    if (missing && sealed === 0) return { findings: [], digest: undefined };
    return fail(missing ? `the trail has ${sealed} sealed segment(s) but no signed head ${path}: removed (every seal writes one)` : (err as Error).message);
  }
  const digest = sha256Of(bytes);
  const reason = unsignedReason(path, bytes, signer);
  if (reason !== undefined) return fail(`the head ${path} is not signed by ${signer.name} as it is now (${reason}): rewritten`, digest);
  let head: Partial<HeadRecord>;
  try {
    head = JSON.parse(bytes.toString('utf8')) as Partial<HeadRecord>;
  } catch {
    return fail(`the head ${path} is signed but is not JSON`, digest);
  }
  if (head.segments !== sealed) {
    return fail(`the signed head ${path} says ${String(head.segments)} sealed segment(s); the trail links ${sealed}: sealed segments removed`, digest);
  }
  const newest = segments[sealed - 1]!;
  const trail = segments.at(-1)!.seal!.trail;
  if (head.trail !== trail || head.segment !== segmentName(file, sealed) || head.sha256 !== sha256Of(newest.bytes) || head.bytes !== newest.bytes.length) {
    return fail(`the signed head ${path} names ${String(head.segment)} of trail ${String(head.trail)} (sha256 ${String(head.sha256)}); the trail ends with ${newest.path} of trail ${trail} (sha256 ${sha256Of(newest.bytes)}): replaced`, digest);
  }
  return { findings: [], digest };
}
