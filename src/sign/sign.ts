// Loaded on first use (the CLI's sign command, the API's sign()): the only module that pulls in
// @sigstore/sign and its HTTP stack, which verifying never needs.
import { cliGuard } from '../cli/policy-guard.js';
import type { CheckedOptions, SignOptions } from './options.js';
import { signPath, type SignResult } from './sign-path.js';
import { prepareSigning } from './signer.js';

const DEFAULT_TIMEOUT_SECONDS = 60;

export interface SignHooks {
  /** Hears of each bundle written. */
  signed?(result: SignResult): void;
  /** A progress display for one path's hashing. */
  progress?(path: string): { update(done: number, total: number): void; end(): void } | undefined;
}

/**
 * Signs each path in turn with one signer (one key read, one passphrase,
 * one token), stopping at the first failure. Options must have passed
 * optionProblem.
 */
export async function signAll(paths: readonly string[], options: SignOptions, hooks: SignHooks = {}): Promise<SignResult[]> {
  const checked: CheckedOptions = { ...options, timeoutMs: (options.timeout ?? DEFAULT_TIMEOUT_SECONDS) * 1000 };
  // The policy first: a broken policy is a usage error, found before any key is read or service asked.
  if (options.policy !== undefined) checked.guard = cliGuard(options.policy);
  const signing = await prepareSigning(checked);
  const results: SignResult[] = [];
  for (const path of paths) {
    const progress = hooks.progress?.(path);
    try {
      results.push(await signPath(path, signing, progress === undefined ? checked : { ...checked, onProgress: progress.update }));
    } finally {
      progress?.end();
    }
    hooks.signed?.(results.at(-1)!);
  }
  return results;
}

export type { SignResult };
