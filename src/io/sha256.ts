import { sha256 } from '@noble/hashes/sha2.js';
import { bytesToHex } from '@noble/hashes/utils.js';

/**
 * SHA-256 for start-up: node:crypto costs about 10 ms to load, more than the
 * guard's whole start-up budget, while the files pinned at start-up (the policy
 * and what it trusts) are a few kilobytes. Verification, which loads
 * node:crypto anyway, uses node:crypto.
 */
export function sha256Hex(bytes: Uint8Array): string {
  return bytesToHex(sha256(bytes));
}
