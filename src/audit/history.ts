import { existsSync, readFileSync } from 'node:fs';
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

/**
 * The whole trail ending at `path`, oldest segment first: each segment's seal
 * line names the segment sealed before it, in the same folder. A named
 * segment that is missing is reported by the caller, as `missing`.
 */
export function readHistory(path: string): { segments: Segment[]; missing: { name: string; from: string } | undefined } {
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
  let bytes: Buffer;
  try {
    bytes = readFileSync(path);
  } catch (err) {
    throw new TrustloadError(ErrorCodes.MISSING_FILE, `cannot read the audit trail ${path}: ${(err as Error).message}`, { cause: err });
  }
  const texts = bytes.toString('utf8').split('\n');
  // A complete file ends with a newline: the last piece is empty. Anything else is a line cut short.
  const last = texts.pop();
  if (last !== undefined && last !== '') texts.push(last);
  const lines = texts.map((text, index) => ({ segment: path, number: index + 1, text, record: parse(text) }));
  const seals = lines.filter((line) => line.record?.seal !== undefined);
  return { path, bytes, lines, seal: seals[0]?.record?.seal };
}

function parse(text: string): AuditLine | undefined {
  try {
    const value = JSON.parse(text) as unknown;
    return typeof value === 'object' && value !== null && !Array.isArray(value) ? (value as AuditLine) : undefined;
  } catch {
    return undefined;
  }
}
