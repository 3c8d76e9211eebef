import { ErrorCodes, TrustloadError } from '../errors.js';

/**
 * A signing failure: exit 1 with a message that says what failed and what to
 * do. Never carries the dependency's error as `cause`: Node prints causes,
 * and some of them (@sigstore/sign's "invalid identity token: <token>")
 * echo the secret they were given.
 */
export function signingError(message: string): TrustloadError {
  return new TrustloadError(ErrorCodes.SIGNING, message);
}

/** `text` with every secret (and each dot-separated part of a JWT, which is as good as the whole) replaced. */
export function redact(text: string, secrets: readonly string[]): string {
  let out = text;
  for (const secret of secrets) {
    for (const part of [secret, ...secret.split('.')]) {
      // Short parts ("e30", a header) say nothing and would mangle ordinary words.
      if (part.length >= 16) out = out.split(part).join('[redacted]');
    }
  }
  return out;
}
