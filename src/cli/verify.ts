import { existsSync, realpathSync } from 'node:fs';
import { resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { ErrorCodes, TrustloadError } from '../errors.js';
import type { FileDecision, Guard } from '../guard/guard.js';
import { describeDirectory, type VerifiedDirectory } from '../manifest/describe.js';
import { cliGuard } from './policy-guard.js';
import { progressLine } from './progress.js';
import { filesUnder, ruleFolders } from './rule-files.js';
import { EXIT_REFUSED, EXIT_USAGE, EXIT_VERIFIED, type Io } from './output.js';

export const VERIFY_HELP = `Usage: trustload verify [PATH...] [--policy FILE] [--json]

Checks files and directories against the policy exactly as a guarded process
would load them: the rule that protects each file, its bundle, its signer.
A directory that holds a manifest bundle (manifest.sigstore.json, or the
rule's "bundle") is checked as one signed unit: the manifest's signature, that
it holds exactly the files listed, and every file's bytes (in parallel threads
when large; on a terminal, a progress line on stderr unless --json). Other
directories are walked (bundles themselves are skipped; node_modules and .git
below a named folder are not). With no PATH, every file a rule protects:
each rule's folder (the fixed part of its globs, which may be inside
node_modules) is walked; the last line says how many were checked. The policy is --policy, else TRUSTLOAD_POLICY, else
./trustload.policy.json. Always judged as in enforce mode.

Exit codes: 0 all verified (or unprotected and allowed), 1 something refused,
2 usage or policy error.`;

interface Outcome {
  path: string;
  decision: FileDecision['decision'] | 'refused';
  rule?: string;
  signer?: FileDecision['signer'];
  error?: ReturnType<TrustloadError['toJSON']>;
  directory?: VerifiedDirectory;
}

export async function verify(args: string[], io: Io): Promise<number> {
  const { values, positionals } = parseArgs({
    args,
    options: { policy: { type: 'string' }, json: { type: 'boolean' }, help: { type: 'boolean' } },
    allowPositionals: true,
    strict: true,
  });
  if (values.help) {
    io.out(VERIFY_HELP);
    return EXIT_VERIFIED;
  }
  const guard = cliGuard(values.policy);
  const onlyProtected = positionals.length === 0;
  // With no PATH: the folders the rules' globs can match, each walked once (a rule may name node_modules/x).
  const roots = onlyProtected ? ruleFolders(guard.loaded.policy, guard.loaded.baseDir).filter((dir) => existsSync(dir)) : positionals.map((p) => resolve(p));
  const seen = new Set<string>();
  const outcomes: Outcome[] = [];
  const directories = guard.directories;
  for (const root of roots) {
    for (const file of filesUnder(root, (dir) => directories.holdsManifest(dir))) {
      const key = typeof file === 'string' ? file : file.directory;
      if (seen.has(key)) continue;
      seen.add(key);
      if (typeof file !== 'string') {
        outcomes.push(await checkDirectory(guard, file.directory, values.json === true));
        continue;
      }
      let real: string;
      try {
        real = realpathSync(file);
      } catch (err) {
        outcomes.push(refused(new TrustloadError(ErrorCodes.MISSING_FILE, `cannot read the file: ${(err as Error).message}`, { path: file })));
        continue;
      }
      if (onlyProtected && guard.rules.ruleFor(real) === undefined && guard.rules.ruleFor(file) === undefined) continue;
      try {
        const { bytes: _bytes, ...decision } = guard.loadFile(real, [file], { announce: false });
        outcomes.push(decision);
      } catch (err) {
        if (!(err instanceof TrustloadError) || err.code === ErrorCodes.POLICY) throw err;
        outcomes.push(refused(err));
      }
    }
  }
  const failed = outcomes.filter((o) => o.decision === 'refused');
  if (values.json) {
    io.out(JSON.stringify({ policy: guard.loaded.file, verified: failed.length === 0, files: outcomes }, null, 2));
  } else {
    for (const o of outcomes) {
      if (o.decision === 'verified' && o.directory) {
        io.out(`verified   ${o.path}/ (signed directory, ${o.directory.files.length} file(s), rule "${o.rule}", signer "${o.signer?.signer}")`);
      } else if (o.decision === 'verified') io.out(`verified   ${o.path} (rule "${o.rule}", signer "${o.signer?.signer}")`);
      else if (o.decision === 'unmatched') io.out(`unmatched  ${o.path} (no rule; allowed)`);
      else io.err(`refused    ${o.path}: ${o.error?.code}: ${o.error?.message}`);
    }
    if (outcomes.length === 0) io.err(onlyProtected ? `trustload: the policy protects no file under ${guard.loaded.baseDir} (trustload policy check lists each rule's files)` : 'trustload: no files to check');
    else {
      const unmatched = outcomes.filter((o) => o.decision === 'unmatched').length;
      const verified = outcomes.length - failed.length - unmatched;
      io.out(`checked ${outcomes.length}${onlyProtected ? ' protected' : ''}: ${verified} verified, ${failed.length} refused${unmatched > 0 ? `, ${unmatched} unmatched (allowed)` : ''}`);
    }
  }
  if (outcomes.length === 0) return EXIT_USAGE;
  return failed.length > 0 ? EXIT_REFUSED : EXIT_VERIFIED;
}

/** A signed directory, checked as one unit: manifest, closed set, every file's bytes (with a progress line on a terminal, unless --json). */
async function checkDirectory(guard: Guard, dir: string, json: boolean): Promise<Outcome> {
  const progress = json ? undefined : progressLine(process.stderr, dir);
  try {
    const directory = describeDirectory(await guard.directories.verifyAll(dir, progress?.update));
    return { path: dir, decision: 'verified', rule: directory.rule, signer: directory.signer, directory };
  } catch (err) {
    if (!(err instanceof TrustloadError) || err.code === ErrorCodes.POLICY) throw err;
    return refused(err.path === undefined ? new TrustloadError(err.code, err.message, { path: dir, rule: err.rule, expected: err.expected, found: err.found }) : err);
  } finally {
    progress?.end();
  }
}

function refused(error: TrustloadError): Outcome {
  return { path: error.path ?? '(unknown)', decision: 'refused', rule: error.rule, error: error.toJSON() };
}
