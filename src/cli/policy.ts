import { existsSync, realpathSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { ErrorCodes, TrustloadError } from '../errors.js';
import { MAX_BUNDLE_BYTES, readFileLimited } from '../io/read.js';
import { sha256Hex } from '../io/sha256.js';
import { Guard } from '../guard/guard.js';
import { manifestBundleIn, nameIn } from '../manifest/directories.js';
import { isWithin } from '../paths/examine.js';
import { parseArgs } from 'node:util';
import { Rules } from '../guard/rules.js';
import { closest } from '../policy/closest-name.js';
import { globFolder } from '../policy/globs.js';
import { filesUnder, ruleFolders } from './rule-files.js';
import type { LoadedPolicy } from '../policy/load-policy.js';
import { PUBLIC_GOOD_ROOT } from '../policy/public-good-name.js';
import { folderGlobProblem, namesFolder } from '../policy/rule-folder-warnings.js';
import type { PolicySigner } from '../policy/schema.js';
import { parseCaPem } from '../trust/cas.js';
import { readTrustFiles } from '../trust/read-trust.js';
import { loadCliPolicy } from './policy-guard.js';
import { policyInit } from './policy-init.js';
import { ruleWarnings } from './policy-warnings.js';
import { EXIT_USAGE, EXIT_VERIFIED, UsageError, type Io } from './output.js';

export const POLICY_HELP = `Usage:
  trustload policy check [--policy FILE] [--strict] [--json]
  trustload policy explain PATH [--policy FILE] [--json]
  trustload policy init --files GLOB (--key PUB.pem | --issuer URL --identity ID | ...)

check    validates the policy as a guarded process would at start-up, and
         prints the SHA-256 of every file it trusts (to paste into "sha256")
         and of the policy itself (for TRUSTLOAD_POLICY_SHA256), and how many
         files each rule protects today. Warns (exit code 0) about a rule
         that protects no file (a typo such as "plugin/**" protects nothing)
         and rules whose globs leave files Node can load as code in their
         folder unnamed. --strict (for CI) makes every warning an error.
explain  says which rule protects PATH, which signers it allows, and where
         its bundle must be: inside a signed directory, which manifest
         covers PATH (verified, with its closed set, as the loader would)
         and whether PATH is listed in it.
init     writes a starting policy for GLOB and one key or CI identity,
         with the digests filled in (trustload policy init --help).

Exit codes: 0 valid, 2 usage or policy error.`;

export function policy(args: string[], io: Io): number {
  if (args[0] === 'init') return policyInit(args.slice(1), io);
  const { values, positionals } = parseArgs({
    args,
    options: { policy: { type: 'string' }, json: { type: 'boolean' }, strict: { type: 'boolean' }, help: { type: 'boolean' } },
    allowPositionals: true,
    strict: true,
  });
  const [action, ...rest] = positionals;
  if (values.help) {
    io.out(POLICY_HELP);
    return EXIT_VERIFIED;
  }
  if (action === 'check' && rest.length === 0) return check(values.policy, values.json === true, values.strict === true, io);
  if (action === 'explain' && rest.length === 1) return explain(rest[0]!, values.policy, values.json === true, io);
  const meant = action !== undefined && rest.length === 0 ? closest(action, ['check', 'explain', 'init']) : undefined;
  throw new UsageError(`policy takes "check", "explain PATH" or "init"${meant !== undefined && meant !== action ? `: did you mean "${meant}"?` : ''}`);
}

function check(policyFlag: string | undefined, json: boolean, strict: boolean, io: Io): number {
  const loaded = loadCliPolicy(policyFlag);
  const files = trustFileDigests(loaded);
  const unread = files.filter((f) => f.actual === undefined);
  const mismatched = files.filter((f) => f.actual !== undefined && f.actual !== f.pinned);
  const valid = unread.length === 0 && mismatched.length === 0;
  if (valid) {
    const trust = readTrustFiles(loaded.policy.trust, loaded.baseDir); // checks keys and roots too
    // A CA file's one-root rule needs node:crypto, which start-up leaves to the first protected load.
    for (const [name, { source, bytes }] of trust.cas) parseCaPem(name, bytes.toString('utf8'), source);
  }
  const protectedFiles = filesPerRule(loaded);
  const warnings = [...emptyRuleWarnings(loaded, protectedFiles), ...ruleWarnings(loaded.policy)];
  const passes = valid && (!strict || warnings.length === 0);
  if (json) {
    const rules = loaded.policy.rules.map((rule) => ({ name: rule.name, files: protectedFiles.get(rule.name) ?? 0 }));
    io.out(JSON.stringify({ policy: loaded.file, sha256: loaded.sha256, valid: passes, trust: files, rules, warnings }, null, 2));
  } else {
    for (const warning of warnings) io.err(`trustload: WARNING: ${warning}`);
    io.out(`policy ${loaded.file}`);
    io.out(`  sha256 ${loaded.sha256}   (TRUSTLOAD_POLICY_SHA256)`);
    io.out(`  ${Object.keys(loaded.policy.signers).length} signer(s), ${loaded.policy.rules.length} rule(s), unmatched: ${loaded.policy.unmatched ?? 'allow'}, mode: ${loaded.policy.mode ?? 'enforce'}`);
    for (const f of files) {
      const status = f.actual === undefined ? `NOT READ: ${f.problem}` : f.actual === f.pinned ? 'ok' : `MISMATCH: the policy pins ${f.pinned}`;
      io.out(`  ${f.field}  ${f.path}\n    sha256 ${f.actual ?? '(none)'}  ${status}`);
    }
    for (const rule of loaded.policy.rules) {
      const globs = (typeof rule.files === 'string' ? [rule.files] : rule.files).map((glob) => JSON.stringify(glob)).join(', ');
      io.out(`  rule "${rule.name}" (${globs}): protects ${protectedFiles.get(rule.name) ?? 0} file(s) today`);
    }
  }
  if (strict && warnings.length > 0) {
    io.err(`trustload: ERR_TRUSTLOAD_POLICY: ${warnings.length} warning(s), which --strict makes errors`);
  }
  if (unread.length > 0) {
    io.err(`trustload: ERR_TRUSTLOAD_POLICY: ${unread.map((f) => `${f.field}: ${f.problem}`).join('; ')} (paths in the policy are relative to its folder)`);
  }
  if (mismatched.length > 0) {
    io.err(`trustload: ERR_TRUSTLOAD_POLICY: ${mismatched.map((f) => f.field).join(', ')} do not match their pinned sha256 (paste the digests above)`);
  }
  return passes ? EXIT_VERIFIED : EXIT_USAGE;
}

/** How many files each rule's globs match today, by the rule's name (the first rule that matches a file has it). */
function filesPerRule(loaded: LoadedPolicy): Map<string, number> {
  const rules = new Rules(loaded.policy.rules, loaded.baseDir);
  const counts = new Map<string, number>();
  for (const root of ruleFolders(loaded.policy, loaded.baseDir).filter((dir) => existsSync(dir))) {
    for (const file of filesUnder(root)) {
      const rule = typeof file === 'string' ? rules.ruleFor(file) : undefined;
      if (rule !== undefined) counts.set(rule.name, (counts.get(rule.name) ?? 0) + 1);
    }
  }
  return counts;
}

/** A rule that matches no file protects nothing, and under "unmatched": "allow" what it meant to protect loads unchecked. */
function emptyRuleWarnings(loaded: LoadedPolicy, counts: Map<string, number>): string[] {
  return loaded.policy.rules
    .filter((rule) => !counts.has(rule.name))
    .map((rule) => {
      const globs = typeof rule.files === 'string' ? [rule.files] : rule.files;
      const missing = [...new Set(globs.map(globFolder))].filter((folder) => folder !== '' && !existsSync(join(loaded.baseDir, folder)));
      const folderGlob = globs.find((glob) => namesFolder(glob, loaded.baseDir));
      if (folderGlob !== undefined) return folderGlobProblem(rule.name, folderGlob);
      const why = missing.length > 0 ? `${missing.map((f) => `${f}/`).join(', ')} does not exist in ${loaded.baseDir}` : `no file in ${loaded.baseDir} matches ${globs.map((g) => JSON.stringify(g)).join(', ')}`;
      return `rule "${rule.name}" protects no file: ${why}; check the glob for a typo (globs are relative to the policy's folder)`;
    });
}

function trustFileDigests(loaded: LoadedPolicy) {
  const trust = loaded.policy.trust ?? {};
  const refs = [
    ...Object.entries(trust.roots ?? {}).map(([name, ref]) => ({ field: `trust.roots.${name}`, ref })),
    ...Object.entries(trust.keys ?? {}).flatMap(([name, ref]) => ('path' in ref ? [{ field: `trust.keys.${name}`, ref }] : [])),
    ...Object.entries(trust.cas ?? {}).map(([name, ref]) => ({ field: `trust.cas.${name}`, ref })),
  ];
  return refs.map(({ field, ref }) => {
    const path = resolve(loaded.baseDir, ref.path);
    try {
      // As start-up reads it: a folder, FIFO or device is named as such, never read or waited on.
      return { field, path, pinned: ref.sha256, actual: sha256Hex(readFileLimited(path, MAX_BUNDLE_BYTES, 'the file', ErrorCodes.POLICY)) };
    } catch (err) {
      if (!(err instanceof TrustloadError)) throw err;
      return { field, path, pinned: ref.sha256, actual: undefined, problem: err.message };
    }
  });
}

function explain(target: string, policyFlag: string | undefined, json: boolean, io: Io): number {
  const loaded = loadCliPolicy(policyFlag);
  const rules = new Rules(loaded.policy.rules, loaded.baseDir);
  const requested = resolve(target);
  const real = existsSync(requested) ? realpathSync(requested) : requested;
  const requestedMatch = rules.match(requested);
  const realMatch = rules.match(real);
  const conflict =
    requestedMatch !== undefined && requested !== real && requestedMatch.rule !== realMatch?.rule
      ? `refused: ${requested} is a link to ${real}, which ${realMatch ? `rule "${realMatch.rule.name}" protects` : 'no rule protects'}`
      : undefined;
  const manifest = conflict === undefined ? manifestCoverage(loaded, rules, real) : undefined;
  const match = realMatch ?? requestedMatch ?? (manifest !== undefined ? rules.match(manifest.bundle) : undefined);
  const signers = match ? Object.fromEntries((match.rule.signers ?? []).map((name) => [name, loaded.policy.signers[name]!])) : {};
  const bundle = `${real}.sigstore.json`;
  const result = {
    path: requested,
    realPath: real,
    policy: loaded.file,
    rule: match?.rule.name ?? manifest?.rule,
    glob: match?.glob,
    signers,
    lock: match?.rule.lock,
    bundle: manifest === undefined && match && match.rule.lock === undefined ? bundle : undefined,
    bundleExists: manifest === undefined && match && match.rule.lock === undefined ? existsSync(bundle) : undefined,
    manifest,
    outcome:
      conflict ??
      (manifest !== undefined
        ? manifest.refused ?? (manifest.listed ? 'protected: loads only if its bytes match its entry in every enclosing manifest' : `refused: ${manifest.name} is not listed in the manifest (the signed set is closed)`)
        : match
          ? match.rule.lock !== undefined
            ? `protected: loads only if its bytes match its entry in lock "${match.rule.lock}" (trust.locks.${match.rule.lock})`
            : match.rule.bundle !== undefined
            ? `refused: rule "${match.rule.name}" asks for a manifest bundle named ${match.rule.bundle}, and none encloses this path`
            : 'protected: loads only if its bundle verifies for one of these signers'
          : unmatchedOutcome(loaded)),
  };
  if (json) {
    io.out(JSON.stringify(result, null, 2));
    return EXIT_VERIFIED;
  }
  io.out(`${requested}${real !== requested ? ` (real path ${real})` : ''}`);
  if (match || manifest) {
    const rule = match?.rule.name ?? manifest!.rule;
    io.out(`  rule:    "${rule}" (${match ? `first rule whose files match; matched by "${match.glob}"` : 'the rule of the manifest bundle that covers it'})`);
    for (const [name, signer] of Object.entries(signers)) io.out(`  signer:  "${name}": ${describeSigner(signer)}`);
    if (manifest !== undefined) {
      io.out(`  manifest: ${manifest.bundle} (rule "${manifest.rule}"), as ${manifest.name}: ${manifest.listed ? 'listed' : 'not listed'}`);
    } else if (result.lock !== undefined) {
      io.out(`  lock:    "${result.lock}"`);
    } else {
      io.out(`  bundle:  ${bundle}${result.bundleExists ? '' : ' (missing)'}`);
    }
  } else {
    io.out('  rule:    none (relative to the policy folder, no rule\'s files match)');
  }
  io.out(`  outcome: ${result.outcome}`);
  return EXIT_VERIFIED;
}

/**
 * The signed directory around `real`, as the loader finds it (the nearest
 * folder up to the policy's that holds a manifest bundle a rule names), and
 * whether every enclosing manifest lists it. The manifests are verified and
 * their closed sets checked by the loader's own code; a refusal is reported.
 */
function manifestCoverage(loaded: LoadedPolicy, rules: Rules, real: string) {
  const policy = { rules: loaded.policy.rules, ruleFor: (path: string) => rules.moduleRuleFor(path) };
  for (let dir = dirname(real); isWithin(loaded.baseDir, dir); dir = dirname(dir)) {
    const found = manifestBundleIn(dir, policy);
    if (found !== undefined) {
      const coverage = { bundle: found.bundlePath, rule: found.rule, name: nameIn(dir, real), listed: false, refused: undefined as string | undefined };
      try {
        const chain = Guard.forPolicy(loaded, 'enforce').directories.chain(dir);
        coverage.listed = chain.every((m) => m.entries.has(nameIn(m.dir, real)));
      } catch (err) {
        if (!(err instanceof TrustloadError) || err.code === ErrorCodes.POLICY) throw err;
        coverage.refused = `refused: the signed directory is refused: ${err.describe()}`;
      }
      return coverage;
    }
    if (dir === loaded.baseDir) break;
  }
  return undefined;
}

function unmatchedOutcome(loaded: LoadedPolicy): string {
  return loaded.policy.unmatched === 'deny' ? 'refused (unmatched: deny)' : 'loads unchecked (unmatched: allow)';
}

function describeSigner(signer: PolicySigner): string {
  if ('key' in signer) return `key "${signer.key}"${signer.transparencyLog === false ? ', no log entry required' : ', log entry required'}`;
  if ('ca' in signer) {
    const subject = signer.subject ?? signer.subjectPattern;
    const identity = signer.identity ?? signer.identityPattern;
    const who = [subject !== undefined ? `subject ${subject}` : '', identity !== undefined ? `identity ${identity}` : ''].filter(Boolean).join(', ');
    return `CA "${signer.ca}": ${who}${signer.transparencyLog === false ? ', no log entry required' : ', log entry required'}, roots ${(signer.roots ?? []).join(', ') || '(none)'}`;
  }
  const identity = signer.identity ?? signer.identityPattern;
  const claims = Object.entries(signer.claims ?? {}).map(([k, v]) => `, ${k}=${v}`).join('');
  return `${identity} from ${signer.issuer}${claims}, roots ${(signer.roots ?? [PUBLIC_GOOD_ROOT]).join(', ')}`;
}
