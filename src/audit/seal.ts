import { chmodSync, closeSync, constants, existsSync, openSync, readFileSync, renameSync, writeSync } from 'node:fs';
import { createHash } from 'node:crypto';
import { basename, dirname, join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { ErrorCodes, TrustloadError } from '../errors.js';
import { signAll } from '../sign/sign.js';
import type { SignOptions } from '../sign/options.js';
import { readHistory } from './history.js';
import type { SealRecord } from './record.js';

/**
 * How long a writer may still be inside its open-write-close of the renamed
 * file: every writer opens the trail by name for each line, so after the
 * rename only a line already under way can land in the sealed segment.
 */
const SETTLE_MS = 200;

export interface SealResult {
  segment: string;
  bundle: string;
  seal: SealRecord;
}

/**
 * Closes the live segment of the trail at `path`: renames it to
 * `PATH.NNNNNN` (the next number), signs it as `trustload sign` signs a file,
 * and appends to the new live file a seal line naming it with its length
 * and digest, so the next segment carries the sealed one's digest. Run by the
 * operator (it needs the private key, which a guarded process never holds).
 */
export async function sealTrail(path: string, sign: SignOptions): Promise<SealResult> {
  const { segments } = readHistory(path);
  const number = segments.length;
  const segment = join(dirname(path), `${basename(path)}.${String(number).padStart(6, '0')}`);
  if (existsSync(segment)) throw new TrustloadError(ErrorCodes.SIGNING, `${segment} already exists: the trail's segments do not match its seal lines (run trustload audit verify)`);
  renameSync(path, segment);
  await sleep(SETTLE_MS);
  chmodSync(segment, 0o444);
  const bytes = readFileSync(segment);
  const seal: SealRecord = { segment: basename(segment), sha256: createHash('sha256').update(bytes).digest('hex'), bytes: bytes.length };
  // Linked first: a signing failure then leaves a chained segment to sign again, not a gap in the trail.
  const fd = openSync(path, constants.O_WRONLY | constants.O_APPEND | constants.O_CREAT | constants.O_NOFOLLOW, 0o600);
  try {
    writeSync(fd, `${JSON.stringify({ seal, time: new Date().toISOString() })}\n`);
  } finally {
    closeSync(fd);
  }
  // Signing reads the segment again; verify checks the signature and the seal's digest against the same bytes.
  let signed;
  try {
    [signed] = await signAll([segment], sign);
  } catch (err) {
    if (!(err instanceof TrustloadError)) throw err;
    throw new TrustloadError(err.code, `${segment} is sealed by digest but not signed: ${err.message} (sign it with trustload sign ${segment} --key PEM)`, { cause: err });
  }
  return { segment, bundle: signed!.bundle, seal };
}
