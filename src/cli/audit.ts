import { readdirSync } from 'node:fs';
import { basename, dirname, join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { checkChains, type Finding } from '../audit/check-chains.js';
import { checkSeals } from '../audit/check-seals.js';
import { readHistory } from '../audit/history.js';
import { EXIT_REFUSED, EXIT_VERIFIED, UsageError, type Io } from './output.js';

export const AUDIT_HELP = `Usage: trustload audit verify FILE [--key PEM] [--json]
       trustload audit seal FILE --key PEM

verify   checks every writer's chain in the audit trail FILE and the sealed
         segments before it, and names the first record altered, removed or
         reordered. With --key (the public key), each sealed segment must be
         signed by it: a cut or rewritten sealed history is caught too. Lines
         after the last seal are chained but not signed: nothing proves that
         their tail was not cut.
seal     (the operator, with the private key) closes the live segment: renames
         FILE to FILE.NNNNNN, signs it as trustload sign does, and starts the
         next segment with a seal line holding its digest.

Exit codes: 0 intact (verify) or sealed (seal), 1 a problem found, 2 usage error.`;

const MAX_SHOWN = 20;

export async function audit(args: string[], io: Io): Promise<number> {
  const [action, ...rest] = args;
  const { values, positionals } = parseArgs({
    args: rest,
    options: { key: { type: 'string' }, json: { type: 'boolean' }, help: { type: 'boolean' } },
    allowPositionals: true,
    strict: true,
  });
  if (values.help || action === '--help' || action === '-h') {
    io.out(AUDIT_HELP);
    return EXIT_VERIFIED;
  }
  if (positionals.length !== 1) throw new UsageError('audit verify|seal takes exactly one FILE (see trustload audit --help)');
  const file = resolve(positionals[0]!);
  if (action === 'verify') return verifyTrail(file, values.key, values.json === true, io);
  if (action === 'seal') {
    if (values.key === undefined) throw new UsageError('audit seal needs --key PEM (the private key that signs the sealed segment)');
    // Loaded only here: signing pulls in @sigstore/sign.
    const { sealTrail } = await import('../audit/seal.js');
    const result = await sealTrail(file, { key: values.key, onWarning: (line) => io.err(line) });
    io.out(`trustload: sealed ${result.segment} (${result.seal.bytes} bytes, sha256 ${result.seal.sha256}), signed in ${result.bundle}; ${file} continues from it`);
    return EXIT_VERIFIED;
  }
  throw new UsageError(`audit ${action ?? ''}: the actions are verify and seal (see trustload audit --help)`);
}

function verifyTrail(file: string, key: string | undefined, json: boolean, io: Io): number {
  const { segments, missing } = readHistory(file);
  const findings: Finding[] = [];
  if (missing !== undefined) findings.push({ line: undefined, message: `sealed segment ${missing.name}, named by the seal in ${missing.from}, is missing: removed` });
  findings.push(...unlinkedSegments(file, segments.map((segment) => segment.path)));
  findings.push(...checkSeals(segments, key));
  findings.push(...checkChains(segments));
  const sealed = segments.length - 1;
  const tail = segments.at(-1)!.lines.length;
  const writers = new Set(segments.flatMap((segment) => segment.lines.map((line) => line.record?.writer).filter((id) => id !== undefined))).size;
  if (json) {
    io.out(JSON.stringify({ verified: findings.length === 0, file, sealedSegments: sealed, signed: key !== undefined, writers, unsealedLines: tail, findings: findings.map((f) => f.message) }, null, 2));
  }
  if (findings.length > 0) {
    if (!json) {
      io.err(`trustload: audit trail ${file} is not intact: ${findings[0]!.message}`);
      for (const finding of findings.slice(1, MAX_SHOWN)) io.err(`  also: ${finding.message}`);
      if (findings.length > MAX_SHOWN) io.err(`  and ${findings.length - MAX_SHOWN} more`);
    }
    return EXIT_REFUSED;
  }
  if (!json) {
    const proof = key === undefined ? 'not checked against a key (give --key to check the seals\' signatures)' : `each signed by ${key}`;
    io.out(`trustload: audit trail ${file} intact: ${writers} writer(s), ${sealed} sealed segment(s) ${proof}; ${tail} line(s) after the last seal, chained but unsealed (a cut tail cannot be proven absent)`);
  }
  return EXIT_VERIFIED;
}

/** Sealed segments in the trail's folder that no seal line links: a seal line removed to drop the history before it. */
function unlinkedSegments(file: string, linked: readonly string[]): Finding[] {
  const name = basename(file);
  const pattern = new RegExp(`^${name.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}\\.\\d{6}$`);
  return readdirSync(dirname(file))
    .filter((entry) => pattern.test(entry) && !linked.includes(join(dirname(file), entry)))
    .map((entry) => ({ line: undefined, message: `sealed segment ${join(dirname(file), entry)} is not linked from the trail: its seal line was removed` }));
}
