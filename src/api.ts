import { realpathSync } from 'node:fs';
import { resolve } from 'node:path';
import { ErrorCodes, TrustloadError } from './errors.js';
import { readArtifactFile } from './io/read.js';
import type { FileDecision, GuardStats } from './guard/guard.js';
import { activeGuard } from './register.js';

export type VerifyResult = Omit<FileDecision, 'bytes'>;

/**
 * Checks a file against the policy exactly as the loader would: the rule
 * that protects it, its bundle, its signer. Throws a TrustloadError on refusal.
 */
export function verifyFile(path: string): VerifyResult {
  const { bytes: _bytes, ...result } = decide(path);
  return result;
}

/**
 * The verified bytes of content read by path (prompts, tool descriptors,
 * weight manifests): the very bytes that were checked, never a second read.
 * A file no rule protects is read as is, unless the policy denies unmatched files.
 */
export function readVerifiedSync(path: string): Buffer {
  const decision = decide(path);
  return decision.bytes ?? readArtifactFile(decision.path);
}

export async function readVerified(path: string): Promise<Buffer> {
  return readVerifiedSync(path);
}

export function stats(): GuardStats {
  return activeGuard().stats();
}

function decide(path: string): FileDecision {
  const requested = resolve(path);
  let real: string;
  try {
    real = realpathSync.native(requested); // native: a third of the JS version's cost, same answer
  } catch (err) {
    throw new TrustloadError(ErrorCodes.MISSING_FILE, `cannot read the file: ${(err as Error).message}`, { path: requested, cause: err });
  }
  return activeGuard().loadFile(real, [requested], { announce: false });
}
