import { realpathSync } from 'node:fs';
import { sep } from 'node:path';
import { TrustloadError } from '../errors.js';
import { readArtifactFile } from '../io/read.js';
import { sha256Hex } from '../io/sha256.js';

/** A learning run's records, checked against the disk when it ends. */
export interface RecheckedLoads {
  /** Each recorded file inside the policy folder whose bytes on disk now hash to a digest recorded for it: that digest. */
  kept: Map<string, string>;
  /** Records kept out of the lock, each with why. */
  dropped: string[];
  /** Digests recorded for a kept file that its bytes on disk no longer match: it changed during the run. */
  differing: string[];
  /** Loads outside the policy folder, which a lock cannot list. */
  outside: string[];
}

/**
 * The record file is written by the run's own processes, so any code that
 * ran can append to it: a record says only that a file may have loaded. A
 * file is kept when it is still there, by the real path the guard would look
 * it up by, and its bytes now hash to a digest recorded for it; anything else
 * is dropped and said.
 */
export function recheckLoads(loads: ReadonlyMap<string, ReadonlySet<string>>, baseDir: string): RecheckedLoads {
  const result: RecheckedLoads = { kept: new Map(), dropped: [], differing: [], outside: [] };
  for (const [path, digests] of loads) {
    if (!path.startsWith(baseDir + sep)) {
      result.outside.push(path);
      continue;
    }
    const problem = fileProblem(path);
    if (problem !== undefined) {
      result.dropped.push(`${path}: ${problem}`);
      continue;
    }
    let current: string;
    try {
      current = sha256Hex(readArtifactFile(path));
    } catch (err) {
      result.dropped.push(`${path}: ${err instanceof TrustloadError ? `${err.code}: ${err.message}` : (err as Error).message}`);
      continue;
    }
    if (!digests.has(current)) {
      result.dropped.push(`${path}: its bytes (sha256 ${current}) match no digest recorded for it (${[...digests].join(', ')})`);
      continue;
    }
    result.kept.set(path, current);
    for (const digest of digests) if (digest !== current) result.differing.push(`${path}: recorded sha256 ${digest}, now ${current} (kept)`);
  }
  result.dropped.sort();
  result.differing.sort();
  result.outside.sort();
  return result;
}

/** Why `path` is not a file the guard would look up by that very name, or undefined when it is. */
function fileProblem(path: string): string | undefined {
  let real: string;
  try {
    real = realpathSync(path);
  } catch (err) {
    return `no such file now (${(err as NodeJS.ErrnoException).code ?? (err as Error).message})`;
  }
  // readArtifactFile then refuses a folder, FIFO or device.
  return real === path ? undefined : `not a real path (it leads to ${real}): the guard records loads by real path`;
}
