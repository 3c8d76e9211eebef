import { closeSync, constants, fstatSync, openSync, writeSync } from 'node:fs';
import { ErrorCodes, TrustloadError } from '../errors.js';
import { lineDigest, MAX_LINE_BYTES, type AuditLine } from './record.js';

// O_NONBLOCK: opening a FIFO with no reader fails at once (ENXIO) instead of hanging the load.
const APPEND = constants.O_WRONLY | constants.O_APPEND | constants.O_CREAT | constants.O_NOFOLLOW | constants.O_NONBLOCK;

/**
 * Appends one writer's chain to a shared file. Each line is one write(2) on a
 * descriptor opened with O_APPEND: on a local file system the kernel moves to
 * the end and writes under the file's lock, so lines of concurrent writers
 * never interleave or overwrite each other. The file is opened for each line,
 * so that once `trustload audit seal` renamed a segment the next line goes to
 * the new live file. A short write (a full disk) is a failed write: the chain
 * then stays at the last line written whole. So is a write to anything but a
 * regular file with one name: a FIFO or a device takes the line and keeps
 * nothing, and a second hard link makes the trail also some other file,
 * which whatever owns that name may truncate or replace.
 */
export class AuditWriter {
  #seq = 0;
  #prev: string | null = null;

  constructor(
    readonly path: string,
    /** A random nonce and the pid: never the same across restarts or pid reuse. */
    readonly id: string,
    /** The first line: who started this writer. */
    readonly start: Pick<AuditLine, 'parent' | 'pid' | 'thread'>,
  ) {}

  /** Appends `entry` as the next line of this writer's chain (preceded by its start line, the first time). */
  append(entry: AuditLine): void {
    let seq = this.#seq;
    let prev = this.#prev;
    let text = '';
    for (const line of seq === 0 ? [{ event: 'start' as const, ...this.start }, entry] : [entry]) {
      const json = JSON.stringify({ writer: this.id, seq, prev, time: new Date().toISOString(), ...line });
      if (Buffer.byteLength(json) > MAX_LINE_BYTES) throw failure(this.path, new Error(`a line of more than ${MAX_LINE_BYTES} bytes`));
      text += `${json}\n`;
      prev = lineDigest(json);
      seq++;
    }
    const bytes = Buffer.from(text, 'utf8');
    let fd: number;
    try {
      fd = openSync(this.path, APPEND, 0o600);
    } catch (err) {
      throw failure(this.path, err);
    }
    try {
      // The descriptor written to is the one checked: a swap of the path after open changes neither.
      const stat = fstatSync(fd);
      if (!stat.isFile()) throw new Error('it is not a regular file');
      if (stat.nlink !== 1) throw new Error(`it has ${stat.nlink} hard links; an audit trail must have exactly one`);
      // One write for the whole text: a first decision's start line and its record land together.
      const written = writeSync(fd, bytes);
      if (written !== bytes.length) throw new Error(`short write (${written} of ${bytes.length} bytes)`);
    } catch (err) {
      throw failure(this.path, err);
    } finally {
      closeSync(fd);
    }
    this.#seq = seq;
    this.#prev = prev;
  }
}

function failure(path: string, err: unknown): TrustloadError {
  return new TrustloadError(ErrorCodes.UNSUPPORTED_LOAD, `cannot append to the audit trail ${path}: ${(err as Error).message}`, { cause: err });
}
