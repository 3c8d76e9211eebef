import { ErrorCodes, TrustloadError } from '../errors.js';
import { MAX_ARTIFACT_BYTES, readFileLimited } from '../io/read.js';

// Taken at start-up: node:crypto loads only when a change is checked, and application code may replace getBuiltinModule later.
const getBuiltinModule = process.getBuiltinModule;

/**
 * The SHA-256 of the file at `path` now, read whole as the guard read it to
 * verify; `what` says what was found, for the warning. A file that is gone or
 * cannot be read has no digest: it no longer matches.
 */
export function currentDigest(path: string): { digest?: string; what: string } {
  let bytes: Buffer;
  try {
    bytes = readFileLimited(path, MAX_ARTIFACT_BYTES, 'file', ErrorCodes.UNSUPPORTED_LOAD, ErrorCodes.MISSING_FILE);
  } catch (err) {
    const missing = err instanceof TrustloadError && err.code === ErrorCodes.MISSING_FILE;
    return { what: missing ? 'deleted or moved away' : `cannot be read: ${(err as Error).message}` };
  }
  const { createHash } = getBuiltinModule('node:crypto') as typeof import('node:crypto');
  const digest = createHash('sha256').update(bytes).digest('hex');
  return { digest, what: `now sha256:${digest}` };
}
