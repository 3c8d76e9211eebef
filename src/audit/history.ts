import { closeSync, constants, existsSync, fchmodSync, fstatSync, openSync, readFileSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { ErrorCodes, TrustloadError } from '../errors.js';
import type { AuditLine, SealRecord } from './record.js';

/** One file of the trail: the live file, or a sealed segment. */
export interface Segment {
  path: string;
  bytes: Buffer;
  lines: Line[];
  /** The seal line in it, naming the segment sealed before it. */
  seal: SealRecord | undefined;
}

export interface Line {
  segment: string;
  /** 1-based, within its segment. */
  number: number;
  text: string;
  /** Undefined when the text is not a JSON object (altered or cut). */
  record: AuditLine | undefined;
}

export interface History {
  segments: Segment[];
  missing: { name: string; from: string } | undefined;
}

/**
 * The whole trail ending at `path`, oldest segment first: each segment's seal
 * line names the segment sealed before it, in the same folder. A named
 * segment that is missing is reported by the caller, as `missing`.
 */
export function readHistory(path: string): History {
  const segments: Segment[] = [];
  const seen = new Set<string>();
  let current: string | undefined = path;
  let missing: { name: string; from: string } | undefined;
  while (current !== undefined) {
    const segment = readSegment(current);
    segments.unshift(segment);
    seen.add(current);
    const seal = segment.seal;
    if (seal === undefined) break;
    const previous = join(dirname(path), basename(seal.segment));
    if (seen.has(previous)) throw new TrustloadError(ErrorCodes.BAD_BUNDLE, `${current}: its seal names ${seal.segment}, already read: the segments form a loop`);
    if (!existsSync(previous)) {
      missing = { name: seal.segment, from: current };
      break;
    }
    current = previous;
  }
  return { segments, missing };
}

function readSegment(path: string): Segment {
  const bytes = readTrailFile(path);
  const texts = bytes.toString('utf8').split('\n');
  // A complete file ends with a newline: the last piece is empty. Anything else is a line cut short.
  const last = texts.pop();
  if (last !== undefined && last !== '') texts.push(last);
  const lines = texts.map((text, index) => ({ segment: path, number: index + 1, text, record: parse(text) }));
  const seals = lines.filter((line) => line.record?.seal !== undefined);
  return { path, bytes, lines, seal: seals[0]?.record?.seal };
}

/**
 * The bytes of one file of the trail, through one descriptor that must be a
 * regular file: a FIFO would block or hand over whatever its writer sends
 * now, and a link could point seal and verify at bytes no writer wrote.
 * `seal` also makes it read-only through that descriptor, so that a link
 * swapped in never changes another file's mode.
 */
export function readTrailFile(path: string, seal = false): Buffer {
  let fd: number;
  try {
    fd = openSync(path, constants.O_RDONLY | constants.O_NONBLOCK | constants.O_NOFOLLOW);
  } catch (err) {
    throw new TrustloadError(ErrorCodes.MISSING_FILE, `cannot read the audit trail ${path}: ${(err as Error).message}`, { cause: err });
  }
  try {
    if (!fstatSync(fd).isFile()) throw new TrustloadError(ErrorCodes.UNSUPPORTED_LOAD, `the audit trail ${path} is not a regular file`);
    if (seal) fchmodSync(fd, 0o444);
    return readFileSync(fd);
  } catch (err) {
    if (err instanceof TrustloadError) throw err;
    throw new TrustloadError(ErrorCodes.MISSING_FILE, `cannot read the audit trail ${path}: ${(err as Error).message}`, { cause: err });
  } finally {
    closeSync(fd);
  }
}

function parse(text: string): AuditLine | undefined {
  try {
    const value = JSON.parse(text) as unknown;
    return typeof value === 'object' && value !== null && !Array.isArray(value) ? (value as AuditLine) : undefined;
  } catch {
    return undefined;
  }
}
