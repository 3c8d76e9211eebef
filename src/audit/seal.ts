import { closeSync, constants, existsSync, fstatSync, openSync, renameSync, writeSync } from 'node:fs';
import { createPublicKey, randomBytes } from 'node:crypto';
import { basename, dirname, join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { ErrorCodes, TrustloadError } from '../errors.js';
import { buildBundle } from '../sign/build-bundle.js';
import { fromSigningLibrary } from '../sign/service-errors.js';
import { prepareSigning } from '../sign/signer.js';
import { signingError } from '../sign/signing-error.js';
import { writeBundle } from '../sign/write-bundle.js';
import { checkHistory } from './check-history.js';
import { segmentName } from './check-seals.js';
import { headPath, sha256Of, type HeadRecord } from './head.js';
import { readHistory, readTrailFile } from './history.js';
import { operatorSigner } from './operator-key.js';
import type { SealRecord } from './record.js';

/**
 * How long a writer may still be inside its open-write-close of the renamed
 * file: every writer opens the trail by name for each line, so after the
 * rename only a line already under way can land in the sealed segment.
 */
const SETTLE_MS = 200;

/** A key signature contacts no service: the timeout only completes the options. */
const TIMEOUT_MS = 60_000;

export interface SealResult {
  segment: string;
  bundle: string;
  seal: SealRecord;
  head: string;
  /** The SHA-256 of the head file: what the operator keeps to catch a rollback of everything. */
  headDigest: string;
}

/**
 * Closes the live segment of the trail at `path`, with the operator's
 * private key (which a guarded process never holds). It first checks the
 * sealed history against the key (links, signatures, head), and refuses to
 * extend one that is not intact: a head signed over a history cut short would
 * vouch for the cut. Then it renames the live file to `PATH.NNNNNN` (the next
 * number), signs its exact bytes as `trustload sign` signs a file, appends to
 * the new live file a seal line naming it (trail id, number, length and
 * digest; signed with that segment at the next seal), and signs a new head.
 */
export async function sealTrail(path: string, options: { key: string; onWarning?: (line: string) => void }): Promise<SealResult> {
  const signing = await prepareSigning({ key: options.key, timeoutMs: TIMEOUT_MS, ...(options.onWarning === undefined ? {} : { onWarning: options.onWarning }) });
  const sign = async (bytes: Buffer): Promise<string> => {
    try {
      return await buildBundle({ kind: 'message', bytes }, signing.signer, signing.witnesses, signing.messageDigest);
    } catch (err) {
      throw fromSigningLibrary(err, signing.services, TIMEOUT_MS, signing.secrets);
    }
  };
  const history = readHistory(path);
  const { findings } = checkHistory(path, history, operatorSigner(options.key, createPublicKey(signing.key!)));
  if (findings.length > 0) throw signingError(`cannot seal ${path}: its sealed history is not intact: ${findings[0]!.message} (trustload audit verify ${path} --key PUB.pem lists every finding)`);
  const number = history.segments.length;
  const trail = history.segments.at(-1)!.seal?.trail ?? randomBytes(16).toString('hex');
  const segment = join(dirname(path), segmentName(path, number));
  if (existsSync(segment)) throw signingError(`${segment} already exists: the trail's segments do not match its seal lines (run trustload audit verify)`);
  renameSync(path, segment);
  await sleep(SETTLE_MS);
  // These bytes are the ones digested, linked and signed: nothing reads the segment again.
  const bytes = readTrailFile(segment, true);
  const seal: SealRecord = { trail, number, segment: basename(segment), sha256: sha256Of(bytes), bytes: bytes.length };
  const head: HeadRecord = { trail, segments: number, segment: seal.segment, sha256: seal.sha256, bytes: seal.bytes, time: new Date().toISOString() };
  const headText = `${JSON.stringify(head)}\n`;
  let signed: [string, string];
  try {
    signed = [await sign(bytes), await sign(Buffer.from(headText, 'utf8'))];
  } catch (err) {
    const reason = err instanceof TrustloadError ? err.message : (err as Error).message;
    throw signingError(`${segment} was renamed but not sealed: ${reason} (it is now outside the trail; audit verify reports it)`);
  }
  appendSealLine(path, seal);
  const bundle = `${segment}.sigstore.json`;
  writeBundle(bundle, signed[0]);
  writeBundle(headPath(path), headText);
  writeBundle(`${headPath(path)}.sigstore.json`, signed[1]);
  return { segment, bundle, seal, head: headPath(path), headDigest: sha256Of(Buffer.from(headText, 'utf8')) };
}

/** One O_APPEND write, as a writer's, to a regular file: writers may have started the new live file already. */
function appendSealLine(path: string, seal: SealRecord): void {
  const fd = openSync(path, constants.O_WRONLY | constants.O_APPEND | constants.O_CREAT | constants.O_NOFOLLOW | constants.O_NONBLOCK, 0o600);
  try {
    if (!fstatSync(fd).isFile()) throw new TrustloadError(ErrorCodes.UNSUPPORTED_LOAD, `cannot write the seal line: the audit trail ${path} is not a regular file`);
    writeSync(fd, `${JSON.stringify({ seal, time: new Date().toISOString() })}\n`);
  } finally {
    closeSync(fd);
  }
}
