import { createHash } from 'node:crypto';
import { basename } from 'node:path';
import type { SignerSpec } from '../verify/signers.js';
import type { Finding } from './check-chains.js';
import type { Segment } from './history.js';
import { unsignedReason } from './operator-key.js';

/** The name of sealed segment `number` of the trail whose live file is `file`. */
export const segmentName = (file: string, number: number): string => `${basename(file)}.${String(number).padStart(6, '0')}`;

/**
 * Checks the links between segments (oldest first, the live file last): the
 * first has no seal line; every later one has exactly one, naming the one
 * before it by number, name, length and digest, all with one trail id. With
 * `signer` (the operator's public key), each sealed segment must also carry
 * a bundle (`SEGMENT.sigstore.json`) signed by it over its exact bytes, seal
 * line included: only then is a rewritten history caught, since without the
 * key anyone who can write the files can recompute digests. How many
 * segments there are is the head's to say (check-head.ts).
 */
export function checkSeals(file: string, segments: readonly Segment[], signer: SignerSpec | undefined): Finding[] {
  const findings: Finding[] = [];
  const trail = segments[1]?.seal?.trail;
  for (const [index, segment] of segments.entries()) {
    const seals = segment.lines.filter((line) => line.record?.seal !== undefined);
    if (seals.length > 1) findings.push({ line: seals[1], message: `${segment.path}:${seals[1]!.number}: a second seal line in one segment` });
    if (index === 0) continue;
    const previous = segments[index - 1]!;
    const seal = segment.seal!;
    const at = `${segment.path}:${seals[0]!.number}`;
    if (typeof seal.trail !== 'string') findings.push({ line: seals[0], message: `the seal in ${at} names no trail: not written by audit seal` });
    else if (seal.trail !== trail) findings.push({ line: seals[0], message: `the seal in ${at} names trail ${seal.trail}; the trail's first seal names ${String(trail)}: a segment of another trail` });
    if (seal.number !== index || seal.segment !== segmentName(file, index)) {
      findings.push({ line: seals[0], message: `the seal in ${at} names segment #${String(seal.number)} (${seal.segment}); in its place is ${segmentName(file, index)}: segments removed, renumbered or moved` });
    }
    const digest = createHash('sha256').update(previous.bytes).digest('hex');
    if (seal.sha256 !== digest || seal.bytes !== previous.bytes.length) {
      findings.push({ line: seals[0], message: `sealed segment ${previous.path} changed after it was sealed: the seal in ${at} says ${seal.bytes} bytes, sha256 ${seal.sha256}; it has ${previous.bytes.length} bytes, sha256 ${digest}` });
    }
  }
  if (signer === undefined) return findings;
  for (const segment of segments.slice(0, -1)) {
    const reason = unsignedReason(segment.path, segment.bytes, signer);
    if (reason !== undefined) findings.push({ line: segment.lines[0], message: `sealed segment ${segment.path} is not signed by ${signer.name} as it is now (${reason}): rewritten or cut after it was sealed` });
  }
  return findings;
}
