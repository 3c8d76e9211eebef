import { dirname } from 'node:path';
import { asTrustloadError, ErrorCodes, type ErrorCode, TrustloadError, withContext } from '../errors.js';
import { MAX_BUNDLE_BYTES, readArtifactFile, readFileLimited } from '../io/read.js';
import type { LoadedPolicy } from '../policy/load-policy.js';
import { readTrustFiles, type TrustFiles } from '../trust/read-trust.js';
import type { VerifiedSigner } from '../verify/signers.js';
import { hasDecisionSubscribers, publishDecision, type Decision, type DecisionKind } from './events.js';
import { loadSteps, type Step } from '../paths/load-steps.js';
import type { CoveredFile, LinkEntry, SignedDirectories } from '../manifest/directories.js';
import type { VerifiedManifest } from '../manifest/types.js';
import { loadVerifierModule, ownFileSource } from './load-verifier.js';
import { Rules, type Rule } from './rules.js';
import { checkToolBaselines } from '../tools/policy-baselines.js';
import type { RuleVerifier } from './verifier.js';
import { Learner } from '../lock/learner.js';
import { Locks } from '../lock/locks.js';

export type Mode = 'enforce' | 'permissive';

export interface GuardStats {
  verified: number;
  refused: number;
  warned: number;
  unmatched: number;
  cacheHits: number;
  /** Refusals by error code, for metrics (permissive warnings are counted in `warned` only). */
  byCode: Partial<Record<ErrorCode, number>>;
}

/** A file verified and about to be handed out, as onVerified() listeners see it. */
export interface VerifiedLoad {
  path: string;
  rule: string;
  signer: VerifiedSigner;
  digest: string;
}

/** What the guard decided about one file. `bytes` are the bytes it read and checked: the ones to use. */
export interface FileDecision {
  decision: 'verified' | 'warned' | 'unmatched';
  path: string;
  rule?: string;
  signer?: VerifiedSigner;
  digest?: string;
  bytes?: Buffer;
}

/**
 * How a caller wants a refusal announced (the module hooks print it, the API
 * leaves it to the caller), and how the file is judged: by the rules' globs
 * (content read by path), as a module Node loads (a rule's whole folder), or
 * by a given rule (a package.json, by the rule of the code it governs).
 */
export interface LoadOptions {
  announce: boolean;
  asModule?: boolean;
  judgedBy?: Rule;
  /** The file's bytes, read by the caller through one descriptor (readVerified reads asynchronously): verified instead of reading again. */
  bytes?: Buffer;
}

/**
 * The guard's decisions: which rule protects a file, whether its bytes are
 * signed by a signer that rule allows, and what to do when they are not
 * (throw, or in permissive mode warn and go on). The module hooks, the API
 * and `trustload verify` all decide through here.
 */
export class Guard {
  readonly rules: Rules;
  readonly #counts = { verified: 0, refused: 0, warned: 0, unmatched: 0 };
  readonly #byCode: Partial<Record<ErrorCode, number>> = {};
  readonly #warned = new Set<string>();
  #onVerified: ((load: VerifiedLoad) => void) | undefined;
  #verifier: RuleVerifier | undefined;
  #directories: SignedDirectories | undefined;
  #protectedLoadChecks: Array<() => void> = [];
  #recorder: ((decision: Decision) => void) | undefined;
  #locks: Locks | undefined;
  #learner: Learner | undefined;

  /**
   * Reads and pins what the policy trusts (its locks too), then builds the
   * guard. `quiet`: see register(). `learnInto`: a learning run's record file
   * (src/lock/learner.ts); such a guard reads no lock, it records what they would check.
   */
  static forPolicy(loaded: LoadedPolicy, mode: Mode, quiet = false, learnInto?: string): Guard {
    const guard = new Guard(loaded, readTrustFiles(loaded.policy.trust, loaded.baseDir), mode, quiet);
    checkToolBaselines(loaded, guard.rules);
    const locks = loaded.policy.trust?.locks;
    if (learnInto !== undefined) guard.#learner = new Learner(learnInto);
    else if (locks !== undefined && Object.keys(locks).length > 0) {
      guard.#locks = Locks.read(locks, loaded.baseDir, (bytes, bundle, bundlePath, lock) => guard.#ruleVerifier().verifyLock(bytes, bundle, bundlePath, lock));
    }
    return guard;
  }

  /** Whether this guard records loads for a learning run instead of refusing what no signer rule covers. */
  get learning(): boolean {
    return this.#learner !== undefined;
  }

  constructor(
    readonly loaded: LoadedPolicy,
    readonly trust: TrustFiles,
    readonly mode: Mode,
    /** No stderr line for a refusal: the host reports the error it catches. Permissive warnings stay (nothing is thrown to catch). */
    readonly quiet = false,
  ) {
    this.rules = new Rules(loaded.policy.rules, loaded.baseDir);
  }

  stats(): GuardStats {
    return { ...this.#counts, cacheHits: this.#verifier?.cacheHits() ?? 0, byCode: { ...this.#byCode } };
  }

  /** Told of every verified file before its bytes are handed out (policy `watch`: src/watch/); a throw refuses that load. */
  onVerified(listener: (load: VerifiedLoad) => void): void {
    this.#onVerified = listener;
  }

  /**
   * A condition of the process (not of the file) that every protected load
   * needs, such as Node's compile cache being off; a check that throws
   * refuses the load like a failed verification.
   */
  requireForProtectedLoads(check: () => void): void {
    this.#protectedLoadChecks.push(check);
  }

  /**
   * Hears every decision before it takes effect (the audit trail): a verified
   * file's before its bytes are returned, a refusal's before it is thrown. A
   * recorder that throws refuses the load it was told of. Set once: nothing
   * later may replace or silence it.
   */
  recordDecisions(recorder: (decision: Decision) => void): void {
    if (this.#recorder !== undefined) throw new TrustloadError(ErrorCodes.POLICY, 'the guard already records its decisions');
    this.#recorder = recorder;
  }

  /** Files loaded without verification in permissive mode, for the summary at exit. */
  warnedFiles(): readonly string[] {
    return [...this.#warned];
  }

  /**
   * Runs path reasoning that may fail (a link loop, a name too long, a folder
   * that may not be searched): a failure refuses the load it was deciding.
   * Undefined only when permissive mode warned instead.
   */
  examine<T>(reason: () => T, options: LoadOptions): T | undefined {
    try {
      return reason();
    } catch (err) {
      this.#refuse(asTrustloadError(err, ErrorCodes.UNSUPPORTED_LOAD, 'cannot examine the path'), now(), options);
      return undefined;
    }
  }

  /**
   * Only the path check of a module load (a link out of its rule's folder, or
   * into another rule's), for loads that may never reach the load hook; returns
   * the rule that protects the module.
   */
  checkPaths(realPath: string, requestedPaths: Iterable<string>, options: LoadOptions): Rule | undefined {
    try {
      return this.#classify(realPath, requestedPaths, true);
    } catch (err) {
      this.#refuse(asTrustloadError(err, ErrorCodes.UNSUPPORTED_LOAD, 'cannot classify'), now(), options);
      return this.rules.moduleRuleFor(realPath);
    }
  }

  /**
   * Decides one file load: a protected file is read once and its bytes
   * verified; a file no rule protects is left for the caller to load as
   * usual. Throws a TrustloadError on refusal (in permissive mode: warns and
   * returns the unverified bytes, decision 'warned').
   */
  loadFile(realPath: string, requestedPaths: Iterable<string>, options: LoadOptions): FileDecision {
    const start = now();
    let rule: Rule | undefined;
    let steps: Step[][];
    try {
      steps = this.#stepsOf(realPath, requestedPaths);
      rule = options.judgedBy ?? this.rules.classify(realPath, steps, options.asModule === true);
    } catch (err) {
      this.#refuse(asTrustloadError(err, ErrorCodes.UNSUPPORTED_LOAD, 'cannot classify'), start, options);
      return { decision: 'warned', path: realPath };
    }
    if (rule?.lock !== undefined) return this.#loadLocked(realPath, rule, start, options);
    // A file no rule matches still belongs to the closed set of a signed directory around it; only
    // rule folders can hold one, so most unmatched loads are decided by this prefix test alone.
    if (rule === undefined && !this.rules.inManifestScope(realPath)) return this.#unmatchedFile(realPath, start, options);
    let chain: VerifiedManifest[];
    let linked: LinkEntry[];
    try {
      chain = this.directories.chain(dirname(realPath));
      linked = this.#linkEntries(realPath, steps);
    } catch (err) {
      this.#refuse(withContext(asTrustloadError(err, ErrorCodes.BAD_BUNDLE, 'cannot check the signed directory'), { path: realPath, rule: rule?.name }), start, options);
      return { decision: 'warned', path: realPath, rule: rule?.name };
    }
    if (rule === undefined && chain.length === 0) return this.#unmatchedFile(realPath, start, options);
    const ruleName = rule?.name ?? chain[0]!.rule;
    let bytes: Buffer | undefined;
    try {
      for (const check of this.#protectedLoadChecks) check();
      bytes = options.bytes ?? readArtifactFile(realPath);
      // A link listed in a signed directory leads inside it, so a file reached through one is in a signed directory too.
      const { signer, digest } = chain.length > 0 ? this.#verifyListed(chain, realPath, linked, bytes, ruleName) : this.#verifySibling(realPath, bytes, rule!);
      // Recorded first: an audit line that cannot be written refuses the load (see #publish).
      this.#publish(realPath, 'verified', start, { rule: ruleName, signer, digest });
      this.#onVerified?.({ path: realPath, rule: ruleName, signer, digest });
      this.#counts.verified++;
      return { decision: 'verified', path: realPath, rule: ruleName, signer, digest, bytes };
    } catch (err) {
      const error = withContext(asTrustloadError(err, ErrorCodes.BAD_BUNDLE, 'verification failed'), { path: realPath, rule: ruleName });
      this.#refuse(error, start, options);
      return { decision: 'warned', path: realPath, rule: ruleName, digest: error.digest, bytes };
    }
  }

  /**
   * A file a lock rule covers: its bytes, read once, must hash to its entry
   * in the rule's lock (src/lock/locks.ts); a learning run records them instead.
   */
  #loadLocked(realPath: string, rule: Rule, start: number, options: LoadOptions): FileDecision {
    let bytes: Buffer | undefined;
    try {
      for (const check of this.#protectedLoadChecks) check();
      bytes = options.bytes ?? readArtifactFile(realPath);
      if (this.#learner !== undefined) return this.#learned(realPath, bytes, start, rule.name);
      if (this.#locks === undefined) throw new TrustloadError(ErrorCodes.POLICY, `lock "${rule.lock}" was not read at start-up`);
      let digest: string;
      try {
        digest = this.#locks.check(rule.lock!, realPath, bytes);
      } catch (err) {
        // trustload's own files load from the bytes their build-time digests vouch for, whatever the lock lists.
        const own = err instanceof TrustloadError && err.code === ErrorCodes.NOT_IN_LOCK ? ownFileSource(realPath) : undefined;
        if (own === undefined) throw err;
        bytes = own;
        digest = (err as TrustloadError).digest!;
      }
      this.#counts.verified++;
      this.#publish(realPath, 'verified', start, { rule: rule.name, digest });
      return { decision: 'verified', path: realPath, rule: rule.name, digest, bytes };
    } catch (err) {
      const error = withContext(asTrustloadError(err, ErrorCodes.NOT_IN_LOCK, 'cannot check the lock'), { path: realPath, rule: rule.name });
      this.#refuse(error, start, options);
      return { decision: 'warned', path: realPath, rule: rule.name, digest: error.digest, bytes };
    }
  }

  /** A file no rule covers: in a learning run its bytes are recorded and handed to Node; otherwise `unmatched` decides. */
  #unmatchedFile(realPath: string, start: number, options: LoadOptions): FileDecision {
    if (this.#learner === undefined) return this.#unmatched(realPath, start, options);
    try {
      return this.#learned(realPath, options.bytes ?? readArtifactFile(realPath), start, undefined);
    } catch (err) {
      this.#refuse(withContext(asTrustloadError(err, ErrorCodes.UNSUPPORTED_LOAD, 'cannot read the file'), { path: realPath }), start, options);
      return { decision: 'warned', path: realPath };
    }
  }

  #learned(realPath: string, bytes: Buffer, start: number, rule: string | undefined): FileDecision {
    const digest = this.#learner!.record(realPath, bytes);
    this.#counts.unmatched++;
    this.#publish(realPath, 'unmatched', start, { rule, digest });
    return rule === undefined ? { decision: 'unmatched', path: realPath, digest, bytes } : { decision: 'unmatched', path: realPath, rule, digest, bytes };
  }

  /**
   * A file inside a signed directory, to be streamed shard by shard against
   * its entry (createVerifiedReadStream): judged as loadFile judges it (its
   * rule, every enclosing manifest, the links on its way, the manifest's
   * signer against its rule) except for its bytes, which the stream checks.
   * Every other manifest and link must sign it exactly as the nearest one
   * does. Undefined outside signed directories, or when permissive mode warned.
   */
  signedFile(realPath: string, requested: string, options: LoadOptions): CoveredFile | undefined {
    const start = now();
    let ruleName: string | undefined;
    try {
      const steps = this.#stepsOf(realPath, [requested]);
      ruleName = this.rules.classify(realPath, steps, false)?.name;
      const chain = this.directories.chain(dirname(realPath));
      const linked = this.#linkEntries(realPath, steps);
      if (chain.length === 0) return undefined;
      ruleName ??= chain[0]!.rule;
      const covered = this.directories.streamable(chain, realPath, linked);
      const { bundle, bundlePath } = chain[0]!;
      this.#ruleVerifier().manifestSigner(bundle, bundlePath, ruleName);
      return covered;
    } catch (err) {
      this.#refuse(withContext(asTrustloadError(err, ErrorCodes.BAD_BUNDLE, 'cannot check the signed directory'), { path: realPath, rule: ruleName }), start, options);
      return undefined;
    }
  }

  /** The signed directories of this guard's policy, each verified once for the guard's lifetime. */
  get directories(): SignedDirectories {
    // Built by the lazily loaded verifier module: directory checks hash with node:crypto, which start-up leaves alone.
    this.#directories ??= loadVerifierModule().createSignedDirectories({
      baseDir: this.loaded.baseDir,
      rules: this.loaded.policy.rules,
      // A manifest bundle in a rule's folder is that rule's, as the module it signs would be.
      ruleFor: (path) => this.rules.moduleRuleFor(path),
      verifyManifest: (bundle, bundlePath, rule) => this.verifyManifest(bundle, bundlePath, rule),
    });
    return this.#directories;
  }

  /**
   * A file inside signed directories: its bytes against every enclosing
   * manifest and against the entries of the links the load went through,
   * and the innermost manifest's signer against the file's rule.
   */
  #verifyListed(chain: VerifiedManifest[], realPath: string, linked: LinkEntry[], bytes: Buffer, rule: string): { signer: VerifiedSigner; digest: string } {
    const digest = this.directories.checkFile(chain, realPath, linked, bytes);
    try {
      const { bundle, bundlePath } = chain[0]!;
      return { signer: this.#ruleVerifier().manifestSigner(bundle, bundlePath, rule), digest };
    } catch (err) {
      throw err instanceof TrustloadError ? withContext(err, { digest }) : err;
    }
  }

  /** The manifest entries of every link inside a signed directory that the load went through (see SignedDirectories.linkEntries). */
  #linkEntries(realPath: string, steps: Step[][]): LinkEntry[] {
    const entries = [];
    for (const load of steps) {
      for (const step of load) {
        if (step.link !== undefined && this.rules.inManifestScope(step.link)) {
          entries.push(...this.directories.linkEntries(step.link, !step.folder && step.path === step.link, realPath));
        }
      }
    }
    return entries;
  }

  /** A file outside any signed directory: its sibling bundle, unless its rule asks for a manifest. */
  #verifySibling(realPath: string, bytes: Buffer, rule: Rule): { signer: VerifiedSigner; digest: string } {
    if (rule.bundle !== undefined) {
      throw new TrustloadError(
        ErrorCodes.NO_BUNDLE,
        `no manifest bundle named ${rule.bundle} in ${dirname(realPath)} or a folder above it up to ${this.loaded.baseDir} (this rule signs directories, never single files)`,
      );
    }
    const bundlePath = `${realPath}.sigstore.json`;
    let bundle: Buffer;
    try {
      bundle = readFileLimited(bundlePath, MAX_BUNDLE_BYTES, 'bundle', ErrorCodes.BAD_BUNDLE, ErrorCodes.NO_BUNDLE);
    } catch (err) {
      if (!(err instanceof TrustloadError) || err.code !== ErrorCodes.NO_BUNDLE) throw err;
      // The commonest first refusal: say where the signature must be and how it gets there.
      throw new TrustloadError(ErrorCodes.NO_BUNDLE, `${err.message}: a protected file loads only with its bundle beside it (trustload sign writes one)`, { cause: err });
    }
    return this.#ruleVerifier().verify(bytes, bundle, bundlePath, rule.name);
  }

  /** Refuses a load its caller judged (a library no rule covers, a package scope refused earlier): throws, or warns in permissive mode. */
  refuse(error: TrustloadError, options: LoadOptions): void {
    this.#refuse(error, now(), options);
  }

  /**
   * Every requested path is walked to the real path (see loadSteps), and each path on the way judged.
   * A name equal to the real path has no link in it: nothing to walk, and the real path is judged anyway.
   */
  #classify(realPath: string, requestedPaths: Iterable<string>, asModule: boolean): Rule | undefined {
    return this.rules.classify(realPath, this.#stepsOf(realPath, requestedPaths), asModule);
  }

  #stepsOf(realPath: string, requestedPaths: Iterable<string>): Step[][] {
    const loads = [];
    for (const requested of requestedPaths) if (requested !== realPath) loads.push(loadSteps(requested, realPath));
    return loads;
  }

  /** Verifies a signed directory's manifest bundle for the signers of rule `rule` (no mode: a directory check only reports). */
  verifyManifest(bundle: Buffer, bundlePath: string, rule: string): ReturnType<RuleVerifier['verifyManifest']> {
    return this.#ruleVerifier().verifyManifest(bundle, bundlePath, rule);
  }

  /** Decides a load that has no file path (data:, http:, ...): the policy's `unmatched` setting. */
  loadUrl(url: string, options: LoadOptions): void {
    this.#unmatched(url.length > 200 ? `${url.slice(0, 200)}...` : url, now(), options);
  }

  #unmatched(path: string, start: number, options: LoadOptions): FileDecision {
    let bytes: Buffer | undefined;
    if (this.loaded.policy.unmatched === 'deny') {
      try {
        // trustload's own files (its API, its hashing workers' entry) load from the bytes their build-time digests vouch for.
        bytes = ownFileSource(path);
        if (bytes === undefined) throw new TrustloadError(ErrorCodes.UNMATCHED, 'no rule covers this load and the policy denies unmatched loads', { path });
      } catch (err) {
        this.#refuse(withContext(asTrustloadError(err, ErrorCodes.UNMATCHED, "cannot read trustload's own file"), { path }), start, options);
        return { decision: 'warned', path };
      }
    }
    try {
      this.#publish(path, 'unmatched', start, {});
    } catch (err) {
      this.#refuse(withContext(asTrustloadError(err, ErrorCodes.UNSUPPORTED_LOAD, 'cannot record the decision'), { path }), start, options);
      return { decision: 'warned', path };
    }
    this.#counts.unmatched++;
    return bytes === undefined ? { decision: 'unmatched', path } : { decision: 'unmatched', path, bytes };
  }

  /** A refusal's line on stderr, unless the host asked for quiet: then it reports the errors it catches. */
  announce(error: TrustloadError): void {
    if (!this.quiet) process.stderr.write(`trustload: ${error.describe()}\n`);
  }

  /** Throws in enforce mode (and always for policy errors); warns once per file in permissive mode. */
  #refuse(error: TrustloadError, start: number, options: LoadOptions): void {
    const path = error.path ?? '(unknown)';
    if (this.mode === 'enforce' || error.code === ErrorCodes.POLICY) {
      this.#counts.refused++;
      this.#byCode[error.code] = (this.#byCode[error.code] ?? 0) + 1;
      this.#publish(path, 'refused', start, { rule: error.rule, code: error.code, digest: error.digest });
      if (options.announce) this.announce(error);
      throw error;
    }
    this.#counts.warned++;
    this.#publish(path, 'warned', start, { rule: error.rule, code: error.code, digest: error.digest });
    // One warning line per file: a file loaded twice (an addon checked at resolve and at dlopen, a ?query) warns once.
    if (this.#warned.has(path)) return;
    this.#warned.add(path);
    process.stderr.write(`trustload: WARNING: ${error.describe()} (loaded anyway: permissive mode)\n`);
  }

  #publish(path: string, decision: DecisionKind, start: number, extra: { rule?: string; code?: TrustloadError['code']; signer?: VerifiedSigner; digest?: string }): void {
    const recorder = this.#recorder;
    if (recorder === undefined && !hasDecisionSubscribers()) return;
    const event = { path, decision, ...definedOnly(extra), ms: now() - start };
    try {
      recorder?.(event);
    } catch (err) {
      // A load is refused by its caller when its line cannot be written; a refusal stands either way, and
      // a change seen after loading (watch) is still published to subscribers below.
      if (decision === 'verified' || decision === 'unmatched' || decision === 'warned') throw err;
    }
    if (hasDecisionSubscribers()) publishDecision(event);
  }

  #ruleVerifier(): RuleVerifier {
    this.#verifier ??= loadVerifierModule().createRuleVerifier(this.loaded.policy, this.trust);
    return this.#verifier;
  }
}

/** Milliseconds, from the monotonic clock (node:perf_hooks costs start-up time to load). */
function now(): number {
  return Number(process.hrtime.bigint()) / 1e6;
}

function definedOnly<T extends object>(value: T): Partial<T> {
  return Object.fromEntries(Object.entries(value).filter(([, v]) => v !== undefined)) as Partial<T>;
}
