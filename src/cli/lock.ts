import { existsSync, realpathSync, writeFileSync } from 'node:fs';
import { relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { ErrorCodes } from '../errors.js';
import { readFileLimited } from '../io/read.js';
import { sha256Hex } from '../io/sha256.js';
import { learningRun } from '../lock/learning-run.js';
import { formatLock, parseLock, type LockEntry } from '../lock/lock-file.js';
import { MAX_LOCK_BYTES } from '../lock/locks.js';
import { recheckLoads, type RecheckedLoads } from '../lock/recheck-loads.js';
import { byPackage, compare, entriesFrom, filesAt, type LockUpdate } from '../lock/update-lock.js';
import { loadPolicyFile, policyPathFromEnv, type LoadedPolicy } from '../policy/load-policy.js';
import { EXIT_REFUSED, EXIT_VERIFIED, UsageError, type Io } from './output.js';

export const LOCK_HELP = `Usage: trustload lock [--policy FILE] [--out FILE] -- COMMAND [ARGS...]
       trustload lock [--policy FILE] [--out FILE] --add PATH...

Writes a lock: the files a rule with "lock" lets load, by path relative to
the policy folder, with their SHA-256 (and, inside an npm package, its name
and version). With a COMMAND, a learning run: the command runs under the
guard, which refuses nothing and records every file the process, its
children and its workers load that no signer rule covers; the lock then
holds exactly those (and the package.json files Node read for them). With
--add, the files (folders: every file below them) are added to the lock
without running anything. A learning run's records are hashed again from
disk: a file gone, not at that real path inside the policy folder, or whose
bytes match no recorded digest is not locked, and is named. Prints what was
added, removed or changed, by package and file, the lock's sha256 to pin,
and the policy lines to add when the policy has none.

  --policy FILE   the policy (default: TRUSTLOAD_POLICY, else ./trustload.policy.json;
                    a learning run works without one, anchored at this folder)
  --out FILE      the lock to write (default: the policy's only trust.locks entry,
                    else trustload.lock.json in the policy folder)
  --add           add PATH... instead of running a command
                    trustload lock -- node app.js
                    trustload lock --add node_modules/ms

Exit codes: 0 written, 1 written but the command failed, 2 usage or policy error.`;

// dist/cli.js sits one folder below the package root, where register.mjs is.
const REGISTER_PATH = fileURLToPath(new URL('../register.mjs', import.meta.url));

export async function lock(argv: string[], io: Io): Promise<number> {
  const dash = argv.indexOf('--');
  const args = dash === -1 ? argv : argv.slice(0, dash);
  const command = dash === -1 ? [] : argv.slice(dash + 1);
  const { values, positionals } = parseArgs({
    args,
    options: { policy: { type: 'string' }, out: { type: 'string' }, add: { type: 'boolean' }, help: { type: 'boolean' } },
    allowPositionals: true,
    strict: true,
  });
  if (values.help) {
    io.out(LOCK_HELP);
    return EXIT_VERIFIED;
  }
  if (values.add === true) {
    if (command.length > 0) throw new UsageError('lock: --add PATH... or -- COMMAND, not both');
    if (positionals.length === 0) throw new UsageError('lock: --add needs at least one PATH');
  } else {
    if (positionals.length > 0) throw new UsageError(`lock: unexpected argument ${JSON.stringify(positionals[0])}: the command to learn from goes after --`);
    if (command.length === 0) throw new UsageError('lock: give the command to learn from after --, or --add PATH...');
  }
  const policy = findPolicy(values.policy);
  const baseDir = policy?.baseDir ?? realpathSync(process.cwd());
  const target = lockTarget(policy, baseDir, values.out);
  const previous = existsSync(target.path) ? parseLock(readFileLimited(target.path, MAX_LOCK_BYTES, 'lock', ErrorCodes.POLICY).toString('utf8'), target.path) : new Map<string, LockEntry>();

  let exitCode = 0;
  let entries: Map<string, LockEntry>;
  let rechecked: Omit<RecheckedLoads, 'kept'> | undefined;
  if (values.add === true) {
    entries = new Map([...previous, ...entriesFrom(filesAt(positionals.map((p) => resolve(p)), baseDir), baseDir)]);
  } else {
    io.err(`trustload: LEARNING: running ${command.join(' ')}; nothing is refused, every load no signer rule covers is recorded`);
    const run = await learningRun(command[0]!, command.slice(1), policy, baseDir, REGISTER_PATH);
    exitCode = run.exitCode;
    const { kept, ...rest } = recheckLoads(run.loads, baseDir);
    rechecked = rest;
    entries = entriesFrom(kept, baseDir);
    for (const dropped of rest.dropped) io.err(`trustload: WARNING: a record of the learning run is not locked: ${dropped}`);
    for (const differing of rest.differing) io.err(`trustload: WARNING: a file changed during the learning run: ${differing}`);
  }
  const text = formatLock(entries.values());
  writeFileSync(target.path, text);
  const digest = sha256Hex(Buffer.from(text));
  report(io, { entries, ...compare(previous, entries) }, rechecked, target, policy, baseDir, digest);
  if (exitCode !== 0) {
    io.err(`trustload: the command exited with code ${exitCode}: the lock holds what it loaded until then`);
    return EXIT_REFUSED;
  }
  return EXIT_VERIFIED;
}

/** --policy (which must exist), else the policy a guarded process here would run, if there is one. */
function findPolicy(flag: string | undefined): LoadedPolicy | undefined {
  if (flag !== undefined) return loadPolicyFile(resolve(flag));
  const path = policyPathFromEnv();
  return existsSync(path) ? loadPolicyFile(path) : undefined;
}

interface LockTarget {
  path: string;
  /** The policy's name for this lock, if it names it. */
  name: string | undefined;
}

function lockTarget(policy: LoadedPolicy | undefined, baseDir: string, out: string | undefined): LockTarget {
  const locks = Object.entries(policy?.policy.trust?.locks ?? {}).map(([name, ref]) => ({ name, path: resolve(baseDir, ref.path) }));
  if (out !== undefined) {
    const path = resolve(out);
    return { path, name: locks.find((lock) => lock.path === path)?.name };
  }
  if (locks.length === 1) return locks[0]!;
  if (locks.length > 1) throw new UsageError(`lock: the policy names ${locks.length} locks (${locks.map((l) => l.name).join(', ')}): say which to write with --out`);
  return { path: resolve(baseDir, 'trustload.lock.json'), name: undefined };
}

function report(io: Io, update: LockUpdate, rechecked: Omit<RecheckedLoads, 'kept'> | undefined, target: LockTarget, policy: LoadedPolicy | undefined, baseDir: string, digest: string): void {
  const list = (heading: string, lines: readonly string[]) => io.out(lines.length === 0 ? `  ${heading} (none)` : `  ${heading}\n    ${lines.join('\n    ')}`);
  io.out(`trustload: wrote ${target.path}: ${update.entries.size} file(s)`);
  list('added:', byPackage(update.added));
  list('removed:', byPackage(update.removed));
  list('changed:', byPackage(update.changed));
  if (rechecked !== undefined) {
    if (rechecked.dropped.length > 0) list('DROPPED (recorded, but not a file whose bytes on disk match the record: review why):', rechecked.dropped);
    if (rechecked.differing.length > 0) list('changed during the run (the bytes on disk are kept):', rechecked.differing);
    if (rechecked.outside.length > 0) list(`not recorded: outside the policy folder ${baseDir}, which a lock cannot list:`, rechecked.outside);
  }
  io.out(`sha256 to pin: ${digest}`);
  const rel = `./${relative(baseDir, target.path)}`;
  const ref = target.name === undefined ? undefined : policy?.policy.trust?.locks?.[target.name];
  const name = target.name ?? freeName(policy);
  if (ref === undefined) {
    io.out(`add to the policy's "trust": "locks": { "${name}": { "path": "${rel}", "sha256": "${digest}" } }`);
  } else if ('sha256' in ref) {
    if (ref.sha256 !== digest) io.out(`update trust.locks.${name}.sha256 in the policy to ${digest}`);
  } else {
    io.out(`sign it for trust.locks.${name}.signers: trustload sign ${target.path} (--key PEM | --keyless)`);
  }
  if (!(policy?.policy.rules ?? []).some((rule) => rule.lock === name)) {
    io.out(`add last to the policy's "rules": { "name": "locked", "files": "**", "lock": "${name}" }, and set "unmatched": "deny" to refuse everything else`);
  }
}

/** "app", unless the policy already names a lock so. */
function freeName(policy: LoadedPolicy | undefined): string {
  const taken = policy?.policy.trust?.locks ?? {};
  let name = 'app';
  for (let i = 2; Object.hasOwn(taken, name); i++) name = `app${i}`;
  return name;
}
