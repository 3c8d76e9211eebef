// Runs the built command line in a real node process, as a user would.
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

export const CLI = fileURLToPath(new URL('../../dist/cli.js', import.meta.url));
export const SHARED_TESTDATA = fileURLToPath(new URL('../../../shared/testdata/', import.meta.url));

/**
 * Why the cases that read ../shared/testdata (public material written by
 * others, never copied into this repository) cannot run, or false when they
 * can. A clone without it skips them with this one line; .ci/run sets
 * TRUSTLOAD_REQUIRE_TESTDATA=1, which makes its absence a failure instead.
 */
export function sharedTestdataMissing() {
  if (existsSync(SHARED_TESTDATA)) return false;
  const why = `${SHARED_TESTDATA} is absent: the sigstore-conformance and model-signing cases need it`;
  if (process.env.TRUSTLOAD_REQUIRE_TESTDATA === '1') throw new Error(`${why} (TRUSTLOAD_REQUIRE_TESTDATA=1)`);
  return why;
}
export const FIXTURES = fileURLToPath(new URL('../../fixtures/', import.meta.url));

/** Resolves with { code, stdout, stderr }; never rejects on a non-zero exit. */
export function runCli(args, options = {}) {
  return new Promise((resolve) => {
    execFile(process.execPath, [CLI, ...args], { encoding: 'utf8', maxBuffer: 1 << 24, ...options }, (error, stdout, stderr) => {
      resolve({ code: error ? (typeof error.code === 'number' ? error.code : -1) : 0, stdout, stderr });
    });
  });
}

/** The ERR_TRUSTLOAD_* code on the first stderr line, or undefined when the process did not fail cleanly. */
export function errorCode(stderr) {
  return /^trustload: (ERR_TRUSTLOAD_[A-Z_]+)/.exec(stderr)?.[1];
}

/** Runs async jobs with at most `limit` at once (each spawns a process). */
export async function pool(items, limit, job) {
  const results = new Array(items.length);
  let next = 0;
  const worker = async () => {
    while (next < items.length) {
      const i = next++;
      results[i] = await job(items[i], i);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  return results;
}
