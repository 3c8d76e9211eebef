import { createHash } from 'node:crypto';
import { closeSync, constants, fstatSync, openSync } from 'node:fs';
import { basename, dirname, join, relative, sep } from 'node:path';
import { asTrustloadError, ErrorCodes, TrustloadError, withContext } from '../errors.js';
import { entryAt } from '../paths/examine.js';
import { MAX_BUNDLE_BYTES, readFileLimited } from '../io/read.js';
import type { VerifiedSigner } from '../verify/signers.js';
import { checkBytes } from './check-bytes.js';
import { requireClosedSet } from './closed-set.js';
import { hashFiles, type OnProgress } from './hash-files.js';
import { isIgnored } from './names.js';
import { DEFAULT_MANIFEST_BUNDLE, type ManifestContent, type ManifestEntry, type VerifiedManifest } from './types.js';

/** What directory checks need from the policy: where manifests are, and the one verification path. */
export interface ManifestPolicy {
  /** The policy's folder: manifests are never looked for above it. */
  baseDir: string;
  rules: readonly { name: string; bundle?: string }[];
  /** The rule a manifest bundle at `path` belongs to: as a module's, by its glob, else by its rule's folder. */
  ruleFor(path: string): { name: string; bundle?: string } | undefined;
  verifyManifest(bundle: Buffer, bundlePath: string, rule: string): { content: ManifestContent; signer: VerifiedSigner };
}

/** A file inside a signed directory: the manifest that covers it and its entry there. */
export interface CoveredFile {
  manifest: VerifiedManifest;
  entry: ManifestEntry;
  path: string;
}

/** The entry of a link a load went through, under the link's own name: the file's bytes must match it too. */
export interface LinkEntry {
  entry: ManifestEntry;
  path: string;
}

/** A folder holding a manifest bundle that a rule names, and that rule. */
interface BundleAt {
  dir: string;
  bundlePath: string;
  rule: string;
}

/**
 * What a lookup of a folder found: the manifest bundles enclosing it,
 * innermost first, and the bundles rules name in the folders on the way
 * where none was (each looked for again on every lookup).
 */
interface Enclosing {
  found: readonly BundleAt[];
  absent: readonly BundleAt[];
}

const NOTHING_ENCLOSING: Enclosing = { found: [], absent: [] };

/**
 * Signed directories of one policy, each verified once per process: the
 * manifest bundle's signature, that every manifest enclosing it lists it,
 * then the closed set (a listing compared with the manifest, no hashing). A
 * file inside then costs one hash of the bytes that will be used, compared
 * with its entry in every enclosing manifest. The guard calls it per load.
 */
export class SignedDirectories {
  /** By directory (a real path): its verified manifest, or why it was refused (it stays refused). */
  readonly #opened = new Map<string, VerifiedManifest | TrustloadError>();
  /**
   * By folder: the manifest bundles around it up to the policy folder. A
   * bundle found stays (its directory is then verified once); an absence is
   * checked again, or a bundle restored after the first lookup would leave
   * its directory's closed set unchecked for the rest of the process.
   */
  readonly #enclosing = new Map<string, Enclosing>();

  constructor(readonly policy: ManifestPolicy) {}

  /**
   * The signed directories enclosing `folder` (a real path), innermost
   * first, each opened: verified, listed in its parents, its closed set
   * checked. Empty when no folder between it and the policy's folder holds
   * a manifest bundle that a rule names.
   */
  chain(folder: string): VerifiedManifest[] {
    return this.#bundlesAt(folder).map((at) => this.#open(at));
  }

  /** The manifest of `dir` (a real path), verified and its closed set checked; refuses when there is none. */
  open(dir: string): VerifiedManifest {
    const at = this.#bundlesAt(dir)[0];
    if (at === undefined || at.dir !== dir) {
      const names = [...new Set(this.policy.rules.map((r) => r.bundle ?? DEFAULT_MANIFEST_BUNDLE))].join(' or ');
      throw new TrustloadError(ErrorCodes.NO_BUNDLE, `no manifest bundle (${names}) that a rule covers in this directory`, { path: dir });
    }
    return this.#open(at);
  }

  /**
   * Checks the bytes to be used for `path` (a real path) against its entry
   * in every manifest of `chain` and the entries of the links it was reached
   * through (linkEntries); returns their SHA-256 (hex). One hash for most files.
   */
  checkFile(chain: readonly VerifiedManifest[], path: string, linked: readonly LinkEntry[], bytes: Buffer): string {
    const sha256 = createHash('sha256').update(bytes).digest();
    const digest = sha256.toString('hex');
    try {
      for (const manifest of chain) checkBytes(entryFor(manifest, nameIn(manifest.dir, path), path), bytes, path, sha256);
      for (const link of linked) checkBytes(link.entry, bytes, link.path, sha256);
    } catch (err) {
      throw err instanceof TrustloadError ? withContext(err, { digest }) : err;
    }
    return digest;
  }

  /**
   * The one entry a stream of `path` is checked against shard by shard: the
   * nearest manifest's, which every other manifest and link entry must equal.
   */
  streamable(chain: readonly VerifiedManifest[], path: string, linked: readonly LinkEntry[]): CoveredFile {
    const [entry, ...others] = [...chain.map((m) => entryFor(m, nameIn(m.dir, path), path)), ...linked.map((l) => l.entry)];
    if (others.some((other) => !sameEntry(other, entry!))) {
      throw new TrustloadError(ErrorCodes.UNSUPPORTED_LOAD, 'the manifests enclosing this file, or the links to it, sign it differently: it cannot be streamed verified against one entry (use readVerified)', { path });
    }
    return { manifest: chain[0]!, entry: entry!, path };
  }

  /**
   * A link the load of `path` went through (`link`: its own path, in a real
   * folder), judged by the signed directory holding it, if any: only with
   * allow_symlinks, only a link that names the file itself (not a folder),
   * leading inside that directory, and listed under its own name in every
   * enclosing manifest. Returns those entries, which the bytes that will be
   * used must match.
   */
  linkEntries(link: string, namesFile: boolean, path: string): LinkEntry[] {
    const chain = this.chain(dirname(link));
    const inner = chain[0];
    if (inner === undefined) return [];
    const name = nameIn(inner.dir, link);
    const context = { path: link, rule: inner.rule };
    if (!inner.allowSymlinks) {
      throw new TrustloadError(ErrorCodes.NOT_IN_MANIFEST, `the manifest does not allow symbolic links (allow_symlinks: false), and this load goes through one: ${name}`, context);
    }
    if (!namesFile) throw new TrustloadError(ErrorCodes.UNSUPPORTED_LOAD, `the link ${name} in a signed directory is a folder (links to folders are not supported)`, context);
    if (!isWithin(inner.dir, path) || path === inner.dir) {
      throw new TrustloadError(ErrorCodes.UNSUPPORTED_LOAD, `the link ${name} leads to ${path}, outside the signed directory`, context);
    }
    return chain.map((manifest) => ({ entry: entryFor(manifest, nameIn(manifest.dir, link), link), path: link }));
  }

  /** Verifies a whole directory: manifest, closed set, then every file's bytes, streamed (in parallel when large). */
  async verifyAll(dir: string, onProgress?: OnProgress): Promise<VerifiedManifest> {
    const manifest = this.open(dir);
    // open() may reuse a listing older than this call, which vouches for the directory as it is now: list it
    // again, and again once every file is hashed (a file added meanwhile would otherwise pass).
    this.#requireClosedSetNow(manifest);
    const entries = [...manifest.entries.values()];
    await hashFiles(manifest, entries, onProgress);
    // As the loader checks each file: also against every manifest enclosing this one (hashed again only where its entry differs).
    for (const parent of dirname(dir) === dir || dir === this.policy.baseDir ? [] : this.chain(dirname(dir))) {
      const differing = entries.map((e) => entryFor(parent, nameIn(parent.dir, join(dir, e.name)), join(dir, e.name))).filter((e, i) => !sameEntry(e, entries[i]!));
      if (differing.length > 0) await hashFiles(parent, differing);
    }
    this.#requireClosedSetNow(manifest);
    return manifest;
  }

  /** Whether `dir` (a real path) holds a manifest bundle that a rule covers. */
  holdsManifest(dir: string): boolean {
    return this.#bundlesAt(dir)[0]?.dir === dir;
  }

  #bundlesAt(folder: string): readonly BundleAt[] {
    return this.#lookup(folder).found;
  }

  #lookup(folder: string): Enclosing {
    const known = this.#enclosing.get(folder);
    if (known !== undefined) {
      for (const at of known.absent) this.#requireStillAbsent(at);
      return known;
    }
    if (!isWithin(this.policy.baseDir, folder)) return NOTHING_ENCLOSING;
    const above = folder === this.policy.baseDir ? NOTHING_ENCLOSING : this.#lookup(dirname(folder));
    const named = manifestBundlesNamedIn(folder, this.policy).map((b) => ({ dir: folder, ...b }));
    const here = named.find((at) => hasEntry(at.bundlePath));
    const found: Enclosing = here === undefined ? { found: above.found, absent: [...named, ...above.absent] } : { found: [here, ...above.found], absent: above.absent };
    this.#enclosing.set(folder, found);
    return found;
  }

  /** A manifest bundle that appears where an earlier lookup found none refuses its directory: it changed under the process. */
  #requireStillAbsent(at: BundleAt): void {
    const refused = this.#opened.get(at.dir);
    if (refused instanceof TrustloadError) throw refused;
    if (!hasEntry(at.bundlePath)) return;
    const error = new TrustloadError(
      ErrorCodes.BAD_BUNDLE,
      `the manifest bundle ${basename(at.bundlePath)} appeared after a load from this folder found none: the directory changed while the process ran`,
      { path: at.bundlePath, rule: at.rule },
    );
    this.#opened.set(at.dir, error);
    throw error;
  }

  /** Lists `manifest`'s directory again and compares it with the manifest; a difference refuses the directory. */
  #requireClosedSetNow(manifest: VerifiedManifest): void {
    try {
      requireClosedSet(manifest.dir, basename(manifest.bundlePath), manifest);
    } catch (err) {
      throw this.#refusal(manifest.dir, manifest.rule, err);
    }
  }

  #open(at: BundleAt): VerifiedManifest {
    const known = this.#opened.get(at.dir);
    if (known instanceof TrustloadError) throw known;
    if (known !== undefined) return known;
    try {
      const bundle = readFileLimited(at.bundlePath, MAX_BUNDLE_BYTES, 'manifest bundle', ErrorCodes.BAD_BUNDLE, ErrorCodes.NO_BUNDLE);
      const { content, signer } = this.policy.verifyManifest(bundle, at.bundlePath, at.rule);
      const manifest: VerifiedManifest = { ...content, dir: at.dir, bundlePath: at.bundlePath, bundle, rule: at.rule, signer };
      // A nested manifest bundle is a file of every directory enclosing it: listed there, with these bytes.
      const parents = at.dir === this.policy.baseDir ? [] : this.chain(dirname(at.dir));
      for (const parent of parents) checkBytes(entryFor(parent, nameIn(parent.dir, at.bundlePath), at.bundlePath), bundle, at.bundlePath);
      requireClosedSet(at.dir, basename(at.bundlePath), manifest);
      this.#opened.set(at.dir, manifest);
      return manifest;
    } catch (err) {
      throw this.#refusal(at.dir, at.rule, err);
    }
  }

  #refusal(dir: string, rule: string, err: unknown): TrustloadError {
    const error = withContext(asTrustloadError(err, ErrorCodes.BAD_BUNDLE, 'cannot check the signed directory'), { rule });
    // A directory refused once stays refused (a later load must not see it half-changed); conditions of
    // the moment (trustload loading its own code, a policy error) are not the directory's.
    if (error.code !== ErrorCodes.POLICY && error.code !== ErrorCodes.UNSUPPORTED_LOAD) this.#opened.set(dir, error);
    return error;
  }
}

/**
 * The manifest bundle in `dir` that a rule names: a bundle name some rule
 * uses, whose path is judged by a rule that gives that same name.
 */
export function manifestBundleIn(dir: string, policy: Pick<ManifestPolicy, 'rules' | 'ruleFor'>): { bundlePath: string; rule: string } | undefined {
  return manifestBundlesNamedIn(dir, policy).find((b) => hasEntry(b.bundlePath));
}

/** The manifest bundles rules name in `dir`, present or not: from the policy alone. */
function manifestBundlesNamedIn(dir: string, policy: Pick<ManifestPolicy, 'rules' | 'ruleFor'>): { bundlePath: string; rule: string }[] {
  const named = [];
  for (const name of new Set(policy.rules.map((r) => r.bundle ?? DEFAULT_MANIFEST_BUNDLE))) {
    const bundlePath = join(dir, name);
    const rule = policy.ruleFor(bundlePath);
    if (rule !== undefined && (rule.bundle ?? DEFAULT_MANIFEST_BUNDLE) === name) named.push({ bundlePath, rule: rule.name });
  }
  return named;
}

/** The POSIX name of `path` inside `dir`, as manifests list it. */
export function nameIn(dir: string, path: string): string {
  const rel = relative(dir, path);
  return sep === '/' ? rel : rel.split(sep).join('/');
}

/** Whether two entries sign a file alike (same method, ranges and digests). */
function sameEntry(a: ManifestEntry, b: ManifestEntry): boolean {
  if (a.kind === 'file' || b.kind === 'file') return a.kind === 'file' && b.kind === 'file' && a.sha256.equals(b.sha256);
  return a.shards.length === b.shards.length && a.shards.every((s, i) => s.start === b.shards[i]!.start && s.end === b.shards[i]!.end && s.sha256.equals(b.shards[i]!.sha256));
}

function entryFor(manifest: VerifiedManifest, name: string, path: string): ManifestEntry {
  const entry = manifest.entries.get(name);
  if (entry !== undefined) return entry;
  const why =
    path === manifest.bundlePath ? 'the manifest bundle itself is never a resource'
    : isIgnored(name, manifest.ignorePaths) ? 'it lies under a path the manifest ignores, and ignored files are never loadable'
    : name.split('/').includes('node_modules')
      ? `it is not listed in the manifest of its signed directory ${manifest.dir}: a package added under node_modules/ after the directory was signed (sign the installed tree, or pin the dependency with its own rule outside the signed directory)`
    : `it is not listed in the manifest of its signed directory ${manifest.dir}`;
  throw new TrustloadError(ErrorCodes.NOT_IN_MANIFEST, `${name} cannot be loaded: ${why}`, { path, rule: manifest.rule });
}


function isWithin(base: string, dir: string): boolean {
  return dir === base || dir.startsWith(base.endsWith(sep) ? base : `${base}${sep}`);
}

/** Whether a name is there (a link counts): any error but "no such entry" refuses, never reads as "no bundle here". */
function hasEntry(path: string): boolean {
  return entryAt(path, false) !== undefined;
}
