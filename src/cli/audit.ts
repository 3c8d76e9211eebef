import { dirname, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { checkChains } from '../audit/check-chains.js';
import { checkHistory } from '../audit/check-history.js';
import { readHistory } from '../audit/history.js';
import { operatorSigner } from '../audit/operator-key.js';
import { ErrorCodes } from '../errors.js';
import { readFileLimited } from '../io/read.js';
import { parsePublicKeyPem } from '../trust/keys.js';
import { EXIT_REFUSED, EXIT_VERIFIED, UsageError, type Io } from './output.js';

export const AUDIT_HELP = `Usage: trustload audit verify FILE [--key PEM [--expect-segments N]] [--json]
       trustload audit seal FILE --key PEM

verify   checks every writer's chain in the audit trail FILE and the sealed
         segments before it, and names the first record altered, removed or
         reordered. With --key (the public key), each sealed segment and the
         signed head FILE.head.json must be signed by it and agree: a cut or
         rewritten sealed history is caught too. It prints the head's digest;
         --expect-segments N also requires exactly N sealed segments. An older
         head restored with its segments shows only by either. Lines after the
         last seal are chained but not signed: nothing proves that their tail
         was not cut.
seal     (the operator, with the private key) checks the sealed history as
         verify --key does and refuses one not intact, then closes the live
         segment: renames FILE to FILE.NNNNNN, signs it as trustload sign does,
         starts the next segment with a seal line holding its number and
         digest, and signs a new head. Keep the head digest it prints outside
         FILE's folder.

Exit codes: 0 intact (verify) or sealed (seal), 1 a problem found, 2 usage error.`;

const MAX_SHOWN = 20;

export async function audit(args: string[], io: Io): Promise<number> {
  const [action, ...rest] = args;
  const { values, positionals } = parseArgs({
    args: rest,
    options: { key: { type: 'string' }, 'expect-segments': { type: 'string' }, json: { type: 'boolean' }, help: { type: 'boolean' } },
    allowPositionals: true,
    strict: true,
  });
  if (values.help || action === '--help' || action === '-h') {
    io.out(AUDIT_HELP);
    return EXIT_VERIFIED;
  }
  if (positionals.length !== 1) throw new UsageError('audit verify|seal takes exactly one FILE (see trustload audit --help)');
  const file = resolve(positionals[0]!);
  const expect = values['expect-segments'];
  if (expect !== undefined && (action !== 'verify' || values.key === undefined || !/^\d{1,9}$/.test(expect))) {
    throw new UsageError('--expect-segments N (a whole number) applies to audit verify with --key: only the signed head says how many segments were sealed');
  }
  if (action === 'verify') return verifyTrail(file, values.key, expect === undefined ? undefined : Number(expect), values.json === true, io);
  if (action === 'seal') {
    if (values.key === undefined) throw new UsageError('audit seal needs --key PEM (the private key that signs the sealed segment)');
    // Loaded only here: signing pulls in @sigstore/sign.
    const { sealTrail } = await import('../audit/seal.js');
    const result = await sealTrail(file, { key: values.key, onWarning: (line) => io.err(line) });
    const fresh = result.seal.number === 1 ? `, the first of a new trail ${result.seal.trail}` : '';
    io.out(`trustload: sealed ${result.segment} (segment ${result.seal.number}${fresh}; ${result.seal.bytes} bytes, sha256 ${result.seal.sha256}), signed in ${result.bundle}; ${file} continues from it`);
    io.out(`trustload: head ${result.head} sha256 ${result.headDigest}: keep it outside ${dirname(file)} to catch a rollback`);
    return EXIT_VERIFIED;
  }
  throw new UsageError(`audit ${action ?? ''}: the actions are verify and seal (see trustload audit --help)`);
}

function verifyTrail(file: string, key: string | undefined, expectSegments: number | undefined, json: boolean, io: Io): number {
  const history = readHistory(file);
  const signer = key === undefined ? undefined : operatorSigner(key, parsePublicKeyPem(readFileLimited(key, 1024 * 1024, 'public key', ErrorCodes.POLICY).toString('utf8'), key));
  const { findings, head } = checkHistory(file, history, signer);
  const { segments } = history;
  const sealed = segments.length - 1;
  if (expectSegments !== undefined && sealed !== expectSegments) {
    findings.push({ line: undefined, message: `the trail has ${sealed} sealed segment(s); --expect-segments says ${expectSegments}: ${sealed < expectSegments ? 'sealed history removed or rolled back' : 'sealed by someone else since'}` });
  }
  findings.push(...checkChains(segments));
  const tail = segments.at(-1)!.lines.length;
  const writers = new Set(segments.flatMap((segment) => segment.lines.map((line) => line.record?.writer).filter((id) => id !== undefined))).size;
  if (json) {
    io.out(JSON.stringify({ verified: findings.length === 0, file, sealedSegments: sealed, signed: key !== undefined, head: head ?? null, writers, unsealedLines: tail, findings: findings.map((f) => f.message) }, null, 2));
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
    const proof = key === undefined ? 'not checked against a key (give --key to check the seals\' signatures and the head)' : `each signed by ${key}${head === undefined ? '' : `, head sha256 ${head} (compare it with the one the last seal printed)`}`;
    io.out(`trustload: audit trail ${file} intact: ${writers} writer(s), ${sealed} sealed segment(s) ${proof}; ${tail} line(s) after the last seal, chained but unsealed (a cut tail cannot be proven absent)`);
  }
  return EXIT_VERIFIED;
}
