import { ErrorCodes, TrustloadError } from '../errors.js';

/** Exit codes everywhere (PRODUCT.md): 0 verified, 1 refused or not verified, 2 usage or policy error. */
export const EXIT_VERIFIED = 0;
export const EXIT_REFUSED = 1;
export const EXIT_USAGE = 2;

export class UsageError extends Error {}

export interface Io {
  out(text: string): void;
  err(text: string): void;
}

export const processIo: Io = {
  out: (text) => process.stdout.write(text.endsWith('\n') ? text : `${text}\n`),
  err: (text) => process.stderr.write(text.endsWith('\n') ? text : `${text}\n`),
};

/** Reports a failure the way every command does, and returns its exit code. */
export function reportFailure(io: Io, err: unknown, json: boolean): number {
  if (err instanceof UsageError) {
    io.err(`trustload: ${err.message}`);
    return EXIT_USAGE;
  }
  const error = err instanceof TrustloadError
    ? err
    : new TrustloadError(ErrorCodes.BAD_BUNDLE, `unexpected failure: ${(err as Error)?.message ?? String(err)}`, { cause: err });
  if (json) io.out(JSON.stringify({ verified: false, error: error.toJSON() }, null, 2));
  io.err(`trustload: ${error.describe()}`);
  return error.code === ErrorCodes.POLICY ? EXIT_USAGE : EXIT_REFUSED;
}
