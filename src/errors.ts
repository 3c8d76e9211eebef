/**
 * Every refusal trustload makes is a TrustloadError with one of these codes.
 * They are the public contract (PRODUCT.md): callers branch on them, so a
 * code is never renamed and a new failure reuses the closest existing one.
 */
export const ErrorCodes = {
  POLICY: 'ERR_TRUSTLOAD_POLICY',
  NO_BUNDLE: 'ERR_TRUSTLOAD_NO_BUNDLE',
  BAD_BUNDLE: 'ERR_TRUSTLOAD_BAD_BUNDLE',
  SIGNATURE: 'ERR_TRUSTLOAD_SIGNATURE',
  CERTIFICATE: 'ERR_TRUSTLOAD_CERTIFICATE',
  TLOG: 'ERR_TRUSTLOAD_TLOG',
  TIMESTAMP: 'ERR_TRUSTLOAD_TIMESTAMP',
  UNTRUSTED_SIGNER: 'ERR_TRUSTLOAD_UNTRUSTED_SIGNER',
  NOT_IN_MANIFEST: 'ERR_TRUSTLOAD_NOT_IN_MANIFEST',
  MISSING_FILE: 'ERR_TRUSTLOAD_MISSING_FILE',
  UNMATCHED: 'ERR_TRUSTLOAD_UNMATCHED',
  UNSUPPORTED_LOAD: 'ERR_TRUSTLOAD_UNSUPPORTED_LOAD',
  TOOL_CHANGED: 'ERR_TRUSTLOAD_TOOL_CHANGED',
  NOT_IN_LOCK: 'ERR_TRUSTLOAD_NOT_IN_LOCK',
  // Not a refusal: `trustload sign` and sign() could not make a signature (a key, a token, a Sigstore service).
  SIGNING: 'ERR_TRUSTLOAD_SIGNING',
} as const;

export type ErrorCode = (typeof ErrorCodes)[keyof typeof ErrorCodes];

/** What the policy asked for next to what the bundle showed, for the message and for scripts. */
export interface Mismatch {
  expected?: string | string[];
  found?: string;
}

export interface TrustloadErrorDetails extends Mismatch {
  /** The artifact (or policy / trust file) the decision is about. */
  path?: string;
  /** The policy rule that protected the artifact. */
  rule?: string;
  /** sha256 of the artifact bytes, when known. */
  digest?: string;
  cause?: unknown;
}

export class TrustloadError extends Error {
  readonly code: ErrorCode;
  readonly path?: string;
  readonly rule?: string;
  readonly expected?: string | string[];
  readonly found?: string;
  readonly digest?: string;

  constructor(code: ErrorCode, message: string, details: TrustloadErrorDetails = {}) {
    super(message, details.cause === undefined ? undefined : { cause: details.cause });
    this.name = 'TrustloadError';
    this.code = code;
    if (details.path !== undefined) this.path = details.path;
    if (details.rule !== undefined) this.rule = details.rule;
    if (details.expected !== undefined) this.expected = details.expected;
    if (details.found !== undefined) this.found = details.found;
    if (details.digest !== undefined) this.digest = details.digest;
  }

  /** One line for stderr: file, rule, reason, then expected against found. */
  describe(): string {
    const parts: string[] = [this.code];
    if (this.path !== undefined) parts.push(this.path);
    if (this.rule !== undefined) parts.push(`rule "${this.rule}"`);
    let line = `${parts.join(': ')}: ${this.message}`;
    if (this.expected !== undefined) {
      const expected = Array.isArray(this.expected) ? this.expected.join(' | ') : this.expected;
      line += ` (expected ${expected}; found ${this.found ?? 'nothing'})`;
    }
    return line;
  }

  toJSON(): Record<string, unknown> {
    return {
      code: this.code,
      message: this.message,
      path: this.path,
      rule: this.rule,
      expected: this.expected,
      found: this.found,
      digest: this.digest,
    };
  }
}

/**
 * A copy of `error` that also names the file, rule and digest where it did
 * not already, keeping code, reason and cause. (A function rather than a
 * method: a class that names itself inside its body is renamed by the
 * bundler, and errors would print as _TrustloadError.)
 */
export function withContext(error: TrustloadError, context: { path?: string; rule?: string; digest?: string }): TrustloadError {
  return new TrustloadError(error.code, error.message, {
    path: error.path ?? context.path,
    rule: error.rule ?? context.rule,
    digest: error.digest ?? context.digest,
    expected: error.expected,
    found: error.found,
    cause: error.cause,
  });
}

/**
 * Wraps anything thrown by a dependency so that no untyped error escapes:
 * a TrustloadError passes through, everything else gets `code` and keeps its cause.
 */
export function asTrustloadError(err: unknown, code: ErrorCode, context: string): TrustloadError {
  if (err instanceof TrustloadError) return err;
  const reason = err instanceof Error ? err.message : String(err);
  return new TrustloadError(code, `${context}: ${reason}`, { cause: err });
}
