import { sha256Hex } from '../io/sha256.js';

/**
 * One line of the audit trail. Every line but a seal belongs to a writer (a
 * process or worker): `writer` is a random nonce and the pid, `seq` counts the
 * writer's lines from 0 and `prev` is the SHA-256 of the writer's previous line
 * (null on its first), so each writer's lines form a hash chain inside a file
 * that many writers share. A writer's first line (`event: "start"`) names the
 * writer that started it; a writer records each Node child (`event: "child"`,
 * by pid) and worker (`event: "worker"`, by thread id) it starts, so a whole
 * chain cannot vanish while its parent's record of it stays. A seal line,
 * written by `trustload audit seal`, names the sealed segment before this one
 * and its digest; it is part of this segment's bytes, so once this segment is
 * sealed too its signature covers the link.
 */
export interface AuditLine {
  writer?: string;
  seq?: number;
  prev?: string | null;
  time?: string;
  event?: 'start' | 'child' | 'worker';
  parent?: string | null;
  pid?: number;
  thread?: number;
  decision?: string;
  path?: string;
  rule?: string;
  code?: string;
  signer?: { identity?: string; issuer?: string; key?: string; subject?: string };
  digest?: string;
  seal?: SealRecord;
}

export interface SealRecord {
  /** The trail's random id, drawn at its first seal: a segment of another trail does not link. */
  trail: string;
  /** The sealed segment's number: 1 for the first, counting up without gaps. */
  number: number;
  /** Its file name, `FILE.NNNNNN` in the live file's folder. */
  segment: string;
  sha256: string;
  bytes: number;
}

/**
 * A line larger than this is not written (a failed write). A decision line is
 * a few hundred bytes: paths are at most PATH_MAX (4096) and URLs are cut to
 * 200 characters. The bound keeps every line one write(2) that a local file
 * system appends whole.
 */
export const MAX_LINE_BYTES = 16 * 1024;

/** The chain link to a line: the SHA-256 of its bytes without the newline. */
export function lineDigest(line: string | Uint8Array): string {
  return sha256Hex(typeof line === 'string' ? Buffer.from(line, 'utf8') : line);
}
