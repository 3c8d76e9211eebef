import { createHash } from 'node:crypto';

/**
 * What a bundle is checked against: the exact bytes that will be used, or,
 * for the command line, only their SHA-256 (as `sha256:<hex>`).
 */
export type Artifact = { bytes: Uint8Array } | { sha256: Buffer };

const DIGEST_ARGUMENT = /^sha256:([0-9a-f]{64})$/i;

/** Parses `sha256:<hex>`; anything else is not a digest. */
export function parseDigestArgument(text: string): Buffer | undefined {
  const match = DIGEST_ARGUMENT.exec(text);
  return match ? Buffer.from(match[1]!, 'hex') : undefined;
}

export function hashBytes(algorithm: string, bytes: Uint8Array): Buffer {
  return createHash(algorithm).update(bytes).digest();
}
