import { ErrorCodes, TrustloadError, withContext } from '../errors.js';
import type { Decision } from '../guard/events.js';
import type { AuditLine } from './record.js';
import { AuditWriter } from './writer.js';

/**
 * The audit trail of one guarded process or worker: every decision the guard
 * makes, appended before it takes effect (a verified file's line before its
 * source is handed to Node, a refusal's before the error is thrown). In
 * enforce mode a line that cannot be written refuses the load it records;
 * in permissive mode the process says so once and goes on.
 */
export class AuditTrail {
  readonly #writer: AuditWriter;
  #warned = false;

  constructor(
    /** Absolute. */
    path: string,
    readonly enforce: boolean,
    /** The writer id of the process or worker that started this one, when it was guarded and audited too. */
    parent: string | undefined,
    thread: number | undefined,
  ) {
    const id = `${randomHex(8)}-${process.pid}`;
    this.#writer = new AuditWriter(path, id, { parent: parent ?? null, pid: process.pid, ...(thread === undefined ? {} : { thread }) });
  }

  get writerId(): string {
    return this.#writer.id;
  }

  get path(): string {
    return this.#writer.path;
  }

  /** Throws (enforce mode) when the line cannot be written. */
  decision(decision: Decision): void {
    const line: AuditLine = { decision: decision.decision, path: decision.path };
    if (decision.rule !== undefined) line.rule = decision.rule;
    if (decision.code !== undefined) line.code = decision.code;
    const signer = decision.signer;
    if (signer !== undefined) {
      line.signer = {};
      if (signer.identity !== undefined) line.signer.identity = signer.identity;
      if (signer.issuer !== undefined) line.signer.issuer = signer.issuer;
      if (signer.key !== undefined) line.signer.key = signer.key;
      if (signer.subject !== undefined) line.signer.subject = signer.subject;
    }
    if (decision.digest !== undefined) line.digest = decision.digest;
    this.#append(line, decision.path);
  }

  /** A Node child process this one started (by pid) or a worker (by thread id): its chain must then exist. */
  started(kind: 'child' | 'worker', id: number): void {
    this.#append(kind === 'child' ? { event: 'child', pid: id } : { event: 'worker', thread: id }, undefined);
  }

  #append(line: AuditLine, path: string | undefined): void {
    try {
      this.#writer.append(line);
    } catch (err) {
      const error = err instanceof TrustloadError ? err : new TrustloadError(ErrorCodes.UNSUPPORTED_LOAD, `cannot append to the audit trail: ${(err as Error).message}`, { cause: err });
      if (this.enforce) throw path === undefined ? error : withContext(error, { path });
      if (this.#warned) return;
      this.#warned = true;
      process.stderr.write(`trustload: WARNING: ${error.message} (going on: permissive mode; decisions that cannot be written are not recorded)\n`);
    }
  }
}

/** The writer nonce: from the Web Crypto random source, which needs no node:crypto load at start-up. */
function randomHex(bytes: number): string {
  return Buffer.from(globalThis.crypto.getRandomValues(new Uint8Array(bytes))).toString('hex');
}
