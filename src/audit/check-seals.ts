import { createHash } from 'node:crypto';
import { basename } from 'node:path';
import { parseBundle } from '../bundle/parse-bundle.js';
import { ErrorCodes, TrustloadError } from '../errors.js';
import { MAX_BUNDLE_BYTES, readFileLimited } from '../io/read.js';
import { parsePublicKeyPem } from '../trust/keys.js';
import { resolveSigners } from '../trust/signers.js';
import { verifyBundle } from '../verify/verify-bundle.js';
import type { Finding } from './check-chains.js';
import type { Segment } from './history.js';

/**
 * Checks the links between segments (oldest first, the live file last): the
 * seal line of each names the one before it with its exact length and
 * digest, and no segment holds more than one seal line. With `keyPath`, each
 * sealed segment must also carry a bundle (`SEGMENT.sigstore.json`, as
 * `trustload sign` writes it) signed by that key over its exact bytes: only
 * then is a rewritten history or a cut sealed segment caught, since without
 * the key anyone who can write the files can recompute digests.
 */
export function checkSeals(segments: readonly Segment[], keyPath: string | undefined): Finding[] {
  const findings: Finding[] = [];
  for (const [index, segment] of segments.entries()) {
    const seals = segment.lines.filter((line) => line.record?.seal !== undefined);
    if (seals.length > 1) findings.push({ line: seals[1], message: `${segment.path}:${seals[1]!.number}: a second seal line in one segment` });
    if (index === 0) continue;
    const previous = segments[index - 1]!;
    const seal = segment.seal!;
    const digest = createHash('sha256').update(previous.bytes).digest('hex');
    if (basename(seal.segment) !== basename(previous.path) || seal.sha256 !== digest || seal.bytes !== previous.bytes.length) {
      findings.push({ line: seals[0], message: `sealed segment ${previous.path} changed after it was sealed: the seal in ${segment.path}:${seals[0]!.number} says ${seal.bytes} bytes, sha256 ${seal.sha256}; it has ${previous.bytes.length} bytes, sha256 ${digest}` });
    }
  }
  if (keyPath === undefined) return findings;
  const key = parsePublicKeyPem(readFileLimited(keyPath, 1024 * 1024, 'public key', ErrorCodes.POLICY).toString('utf8'), keyPath);
  const signer = resolveSigners({ [keyPath]: { key: keyPath, transparencyLog: false } }, { roots: new Map(), keys: new Map([[keyPath, key]]), cas: new Map() }).get(keyPath)!;
  for (const segment of segments.slice(0, -1)) {
    const bundlePath = `${segment.path}.sigstore.json`;
    try {
      const bundle = parseBundle(readFileLimited(bundlePath, MAX_BUNDLE_BYTES, 'bundle', ErrorCodes.BAD_BUNDLE, ErrorCodes.NO_BUNDLE), bundlePath);
      verifyBundle(bundle, { bytes: segment.bytes }, [signer]);
    } catch (err) {
      const reason = err instanceof TrustloadError ? `${err.code}: ${err.message}` : (err as Error).message;
      findings.push({ line: segment.lines[0], message: `sealed segment ${segment.path} is not signed by ${keyPath} as it is now (${reason}): rewritten or cut after it was sealed` });
    }
  }
  return findings;
}
