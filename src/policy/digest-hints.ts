import { resolve } from 'node:path';
import { ErrorCodes, TrustloadError } from '../errors.js';
import { readFileLimited } from '../io/read.js';
import { sha256Hex } from '../io/sha256.js';

const TRUST_KINDS = ['roots', 'keys', 'cas'] as const;
const PIN = /^[0-9a-f]{64}$/;

/**
 * For a policy refused because a trust file's "sha256" is missing or not a
 * digest (the README's "<hex>" placeholder): the digest to paste for every
 * such entry whose file can be read, so that the refusal is also the fix.
 */
export function digestsToPaste(input: unknown, baseDir: string): string {
  const trust = (input as { trust?: unknown } | null)?.trust;
  if (trust === null || typeof trust !== 'object') return '';
  const hints: string[] = [];
  for (const kind of TRUST_KINDS) {
    const entries = Object.hasOwn(trust, kind) ? (trust as Record<string, unknown>)[kind] : undefined;
    if (entries === null || typeof entries !== 'object') continue;
    for (const [name, ref] of Object.entries(entries)) {
      if (ref === null || typeof ref !== 'object' || typeof (ref as { path?: unknown }).path !== 'string') continue;
      const { path, sha256 } = ref as { path: string; sha256?: unknown };
      if (typeof sha256 === 'string' && PIN.test(sha256)) continue;
      hints.push(`trust.${kind}.${name}.sha256 ${digestOf(resolve(baseDir, path))}`);
    }
  }
  return hints.length === 0 ? '' : `; paste ${hints.join(', ')}`;
}

function digestOf(path: string): string {
  try {
    return `"${sha256Hex(readFileLimited(path, 16 * 1024 * 1024, 'trusted file', ErrorCodes.POLICY))}"`;
  } catch (err) {
    // Only the wording of a refusal depends on this: the policy is refused either way.
    return `(none yet: ${err instanceof TrustloadError ? err.message : String(err)})`;
  }
}
