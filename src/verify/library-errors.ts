import { ErrorCodes, TrustloadError, type ErrorCode } from '../errors.js';

// @sigstore/verify's error codes, grouped into trustload's.
const LIBRARY_CODES: Record<string, ErrorCode> = {
  SIGNATURE_ERROR: ErrorCodes.SIGNATURE,
  PUBLIC_KEY_ERROR: ErrorCodes.SIGNATURE,
  CERTIFICATE_ERROR: ErrorCodes.CERTIFICATE,
  TIMESTAMP_ERROR: ErrorCodes.TIMESTAMP,
  TLOG_ERROR: ErrorCodes.TLOG,
  TLOG_BODY_ERROR: ErrorCodes.TLOG,
  TLOG_INCLUSION_PROMISE_ERROR: ErrorCodes.TLOG,
  TLOG_INCLUSION_PROOF_ERROR: ErrorCodes.TLOG,
  TLOG_MISSING_INCLUSION_ERROR: ErrorCodes.TLOG,
  UNTRUSTED_SIGNER_ERROR: ErrorCodes.UNTRUSTED_SIGNER,
};

/**
 * Converts whatever verification threw into a TrustloadError. Library errors
 * keep their meaning; anything else (a TypeError on a malformed field, an
 * OpenSSL decoding error) can only come from the bundle, the one untrusted
 * input, so it is a bad bundle.
 */
export function fromLibraryError(err: unknown): TrustloadError {
  if (err instanceof TrustloadError) return err;
  const libraryCode = (err as { code?: unknown } | null)?.code;
  const code = typeof libraryCode === 'string' ? LIBRARY_CODES[libraryCode] : undefined;
  // "could not be verified" reads like a success at a glance, and permissive-mode warnings must never say "verified".
  const message = (err instanceof Error ? err.message : String(err)).replace(/could not be verified/g, 'failed verification');
  const cause = err instanceof Error && err.cause instanceof Error ? `: ${err.cause.message}` : '';
  if (code !== undefined) return new TrustloadError(code, `${message}${cause}`, { cause: err });
  return new TrustloadError(ErrorCodes.BAD_BUNDLE, `malformed bundle: ${message}${cause}`, { cause: err });
}

/**
 * The library's "expected 1 tlog entries, got 0", said with what to do: a
 * bundle signed offline has no log entry, which only a key or CA signer
 * that says so accepts. Other errors are returned as they are.
 */
export function explainMissingLogEntry(error: TrustloadError, signer: { name: string; kind: 'keyless' | 'key' | 'ca' }): TrustloadError {
  if (error.code !== ErrorCodes.TLOG || !/\btlog entries, got 0\b/.test(error.message)) return error;
  const fix =
    signer.kind === 'keyless'
      ? 'a keyless signature is trusted only with one: sign with the transparency log on, or sign with a key for offline use'
      : 'if it was signed offline on purpose, set "transparencyLog": false on this signer in the policy (trustload verify-blob: --insecure-ignore-tlog)';
  return new TrustloadError(ErrorCodes.TLOG, `the bundle has no transparency log entry, and signer "${signer.name}" requires one: ${fix}`, {
    expected: 'a transparency log entry',
    found: 'none',
    cause: error,
  });
}
