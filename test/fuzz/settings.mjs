// How many cases a fuzz property runs and from which seed, and the one way
// a property is checked: fast-check with a fixed seed, so that a failure
// prints the command line that replays it.
//
//   FUZZ_RUNS=N    cases per property (npm test keeps the defaults small; npm run fuzz raises them)
//   FUZZ_SECONDS=T stops each property after T seconds, however many cases ran (for long runs)
//   FUZZ_SEED=S    the seed (default fixed: the same cases every run unless asked otherwise)
//   FUZZ_PATH=P    with FUZZ_SEED, replays the one case a failure reported
//   FUZZ_TRACE=F   (bundles) writes each case to F and its bundle to F.text before running it:
//                  what a case that crashes the process (out of memory) leaves behind
import fc from 'fast-check';

export const SEED = process.env.FUZZ_SEED ? Number(process.env.FUZZ_SEED) : 20261130;

/** A case that takes longer than this is a hang as far as the fuzz tests are concerned. */
export const HANG_MS = 5_000;

export function runs(byDefault) {
  return process.env.FUZZ_RUNS ? Number(process.env.FUZZ_RUNS) : byDefault;
}

/**
 * Checks `property` for `numRuns` cases, failing `t` with fast-check's
 * report, the property's error and the command that replays the counterexample.
 */
export function checkProperty(t, name, property, numRuns) {
  const started = performance.now();
  const path = process.env.FUZZ_PATH;
  const seconds = process.env.FUZZ_SECONDS ? Number(process.env.FUZZ_SECONDS) : undefined;
  const details = fc.check(property, {
    seed: SEED,
    numRuns,
    ...(path ? { path, endOnFailure: true } : {}),
    ...(seconds ? { interruptAfterTimeLimit: seconds * 1000 } : {}),
  });
  const took = ((performance.now() - started) / 1000).toFixed(1);
  t.comment(`${name}: ${details.numRuns} cases in ${took} s (seed ${SEED}${details.interrupted ? ', stopped by FUZZ_SECONDS' : ''})`);
  if (details.failed) {
    const replay = `FUZZ_SEED=${details.seed} FUZZ_PATH=${details.counterexamplePath} tap ${process.argv[1] ?? ''}`;
    const error = details.errorInstance instanceof Error ? details.errorInstance.message : String(details.errorInstance);
    t.fail(`${name}: counterexample found; replay with: ${replay}\n${fc.defaultReportMessage(details)}\n${error}`);
  } else {
    t.pass(`${name}: ${details.numRuns} cases, no counterexample`);
  }
}
