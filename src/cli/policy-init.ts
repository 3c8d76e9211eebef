import { closeSync, openSync, realpathSync, writeSync } from 'node:fs';
import { basename, dirname, join, relative, resolve, sep } from 'node:path';
import { parseArgs } from 'node:util';
import { ErrorCodes } from '../errors.js';
import { MAX_BUNDLE_BYTES, readFileLimited } from '../io/read.js';
import { sha256Hex } from '../io/sha256.js';
import { loadPolicyObject } from '../policy/load-policy.js';
import { PUBLIC_GOOD_ROOT } from '../policy/public-good-name.js';
import { folderGlobProblem, namesFolder, ruleFolderWarnings } from '../policy/rule-folder-warnings.js';
import type { PolicySigner, PolicyTrust } from '../policy/schema.js';
import { githubReleaseSigner, nameFromFile, startingPolicy, GITHUB_ISSUER } from '../policy/starting-policy.js';
import { checkTrustedRootJson } from '../trust/check-trusted-root.js';
import { parsePublicKeyPem } from '../trust/keys.js';
import { CLAIM_NAMES, type ClaimName } from '../verify/claims.js';
import { compileIdentityPattern } from '../verify/signers.js';
import { EXIT_VERIFIED, UsageError, type Io } from './output.js';

export const POLICY_INIT_HELP = `Usage:
  trustload policy init --files GLOB --key PUB.pem [--tlog] [--trusted-root FILE] [--out FILE]
  trustload policy init --files GLOB --issuer URL (--identity ID | --identity-pattern RE)
                        [--claim NAME=VALUE]... [--trusted-root FILE] [--out FILE]
  trustload policy init --files GLOB --github-repository OWNER/REPO --github-workflow FILE
                        --github-repository-id ID --github-owner-id ID [--claim NAME=VALUE]... [--out FILE]

Writes a starting policy (default trustload.policy.json; never overwrites):
one rule that protects GLOB, one signer, and the SHA-256 of every file it
trusts as it is now. Files no rule covers load as before (unmatched: allow).

--key PUB.pem          a public key signer; signatures are not in a
                       transparency log ("transparencyLog": false) unless
                       --tlog says they are uploaded to one
--issuer, --identity, --identity-pattern
                       a keyless (CI) signer: the OIDC issuer, and the exact
                       certificate identity or an anchored pattern (^...$)
--claim NAME=VALUE     also require this Fulcio certificate claim
                       (sourceRepositoryURI, buildTrigger, ...); repeatable
--github-repository, --github-workflow, --github-repository-id, --github-owner-id
                       a keyless signer for one GitHub Actions workflow run
                       on a version tag (refs/tags/v...): issuer, identity
                       pattern and claims, with the repository's and owner's
                       numeric ids (which a new repository of the same name
                       does not get). The ids: gh api repos/OWNER/REPO --jq '.id, .owner.id'
--trusted-root FILE    signatures certified and logged by a private Sigstore
                       instance (default: the public-good instance)

Examples:
  trustload policy init --files 'plugins/**' --key release.pub.pem
  trustload policy init --files 'prompts/**' --issuer https://accounts.google.com --identity release@example.com
  trustload policy init --files 'plugins/**' --github-repository acme/plugins \\
    --github-workflow .github/workflows/release.yml --github-repository-id 123456 --github-owner-id 7890

Exit codes: 0 written, 2 usage error or a file that cannot be trusted.`;

const GITHUB_FLAGS = ['github-repository', 'github-workflow', 'github-repository-id', 'github-owner-id'] as const;

export function policyInit(args: string[], io: Io): number {
  const { values, positionals } = parseArgs({
    args,
    options: {
      files: { type: 'string' },
      out: { type: 'string' },
      key: { type: 'string' },
      tlog: { type: 'boolean' },
      issuer: { type: 'string' },
      identity: { type: 'string' },
      'identity-pattern': { type: 'string' },
      claim: { type: 'string', multiple: true },
      'github-repository': { type: 'string' },
      'github-workflow': { type: 'string' },
      'github-repository-id': { type: 'string' },
      'github-owner-id': { type: 'string' },
      'trusted-root': { type: 'string' },
      help: { type: 'boolean' },
    },
    allowPositionals: true,
    strict: true,
  });
  if (values.help) {
    io.out(POLICY_INIT_HELP);
    return EXIT_VERIFIED;
  }
  if (positionals.length > 0) throw new UsageError(`policy init takes no arguments, only options (got "${positionals[0]}"; see trustload policy init --help)`);
  if (values.files === undefined) throw new UsageError('policy init needs --files GLOB: the files the policy protects, e.g. --files \'plugins/**\'');
  const out = resolve(values.out ?? 'trustload.policy.json');
  // Real, as the loader anchors paths at the policy's real folder: a path made relative to a linked one would point elsewhere.
  const folder = realFolder(dirname(out));
  const forms = [values.key !== undefined, values.issuer !== undefined || values.identity !== undefined || values['identity-pattern'] !== undefined, GITHUB_FLAGS.some((f) => values[f] !== undefined)];
  if (forms.filter(Boolean).length !== 1) {
    throw new UsageError('policy init needs exactly one signer: --key PUB.pem, or --issuer with --identity or --identity-pattern, or --github-repository with --github-workflow (see trustload policy init --help)');
  }
  const trust: PolicyTrust = {};
  const roots = trustedRoot(values['trusted-root'], folder, trust);
  let signerName: string;
  let signer: PolicySigner;
  if (values.key !== undefined) {
    if (values.claim !== undefined) throw new UsageError('--claim is for keyless signers; a key signer is its key');
    if (roots !== undefined && !values.tlog) throw new UsageError('--trusted-root with --key needs --tlog: the root is only used to check log entries');
    const { path, bytes } = readInput(values.key, 'key', 1024 * 1024);
    parsePublicKeyPem(bytes.toString('utf8'), path);
    signerName = nameFromFile(basename(path), 'release');
    trust.keys = { [signerName]: { path: policyPath(folder, path), sha256: sha256Hex(bytes) } };
    signer = values.tlog ? { key: signerName, ...(roots ? { roots } : {}) } : { key: signerName, transparencyLog: false };
  } else {
    if (values.tlog) throw new UsageError('--tlog is for key signers: a keyless signature is always in a log');
    const claims = parseClaims(values.claim ?? []);
    if (values.issuer !== undefined || values.identity !== undefined || values['identity-pattern'] !== undefined) {
      signerName = 'ci';
      signer = keylessSigner(values.issuer, values.identity, values['identity-pattern'], claims, roots);
    } else {
      const missing = GITHUB_FLAGS.filter((f) => values[f] === undefined);
      if (missing.length > 0) throw new UsageError(`--github-repository also needs ${missing.map((f) => `--${f}`).join(', ')} (see trustload policy init --help)`);
      signerName = 'github-release';
      const github = githubReleaseSigner({
        repository: githubRepository(values['github-repository']!),
        workflow: githubWorkflow(values['github-workflow']!),
        repositoryId: numericId(values['github-repository-id']!, '--github-repository-id'),
        ownerId: numericId(values['github-owner-id']!, '--github-owner-id'),
      });
      signer = { roots: roots ?? [PUBLIC_GOOD_ROOT], ...github, claims: { ...github.claims, ...claims } };
    }
  }
  const policy = startingPolicy({ files: values.files, signerName, signer, trust });
  // The same validation a guarded process runs at start-up, before anything is written.
  loadPolicyObject(policy, folder);
  // `--files plugins` is the commonest slip, and it would protect nothing while looking right.
  if (namesFolder(values.files, folder)) throw new UsageError(folderGlobProblem('--files', values.files).replace('rule "--files": ', '--files '));
  const text = `${JSON.stringify(policy, null, 2)}\n`;
  writeNew(join(folder, basename(out)), text);
  io.out(`wrote ${out} (sha256 ${sha256Hex(Buffer.from(text))}):\n${text}`);
  for (const warning of ruleFolderWarnings(policy, folder)) io.err(`trustload: WARNING: ${warning}`);
  io.out(nextSteps(out, policy.rules[0]!.files as string, values.key));
  return EXIT_VERIFIED;
}

function realFolder(dir: string): string {
  try {
    return realpathSync(dir);
  } catch (err) {
    throw new UsageError(`cannot write the policy into ${dir}: ${(err as Error).message}`);
  }
}

/** Reads a file named on the command line once: its digest and its check are of the same bytes. */
function readInput(file: string, what: string, limit: number): { path: string; bytes: Buffer } {
  const path = resolve(file);
  return { path, bytes: readFileLimited(path, limit, what, ErrorCodes.POLICY) };
}

function trustedRoot(file: string | undefined, folder: string, trust: PolicyTrust): string[] | undefined {
  if (file === undefined) return undefined;
  const { path, bytes } = readInput(file, 'trusted root', MAX_BUNDLE_BYTES);
  checkTrustedRootJson(bytes, path);
  trust.roots = { private: { path: policyPath(folder, path), sha256: sha256Hex(bytes) } };
  return ['private'];
}

function keylessSigner(issuer: string | undefined, identity: string | undefined, pattern: string | undefined, claims: Partial<Record<ClaimName, string>>, roots: string[] | undefined): PolicySigner {
  if (issuer === undefined || issuer === '') throw new UsageError('a keyless signer needs --issuer URL (the OIDC issuer, e.g. ' + GITHUB_ISSUER + ')');
  if ((identity === undefined) === (pattern === undefined)) throw new UsageError('a keyless signer needs exactly one of --identity ID or --identity-pattern RE');
  if (identity === '') throw new UsageError('--identity must not be empty');
  if (pattern !== undefined) {
    try {
      compileIdentityPattern(pattern);
    } catch (err) {
      throw new UsageError(`--identity-pattern ${JSON.stringify(pattern)}: must be a valid regular expression that starts with ^ and ends with $ (${(err as Error).message})`);
    }
  }
  return {
    roots: roots ?? [PUBLIC_GOOD_ROOT],
    issuer,
    ...(identity !== undefined ? { identity } : { identityPattern: pattern! }),
    ...(Object.keys(claims).length > 0 ? { claims } : {}),
  };
}

function parseClaims(claims: string[]): Partial<Record<ClaimName, string>> {
  const parsed: Partial<Record<ClaimName, string>> = {};
  for (const claim of claims) {
    const at = claim.indexOf('=');
    const name = claim.slice(0, at) as ClaimName;
    if (at < 1 || !CLAIM_NAMES.includes(name)) {
      throw new UsageError(`--claim ${JSON.stringify(claim)}: must be NAME=VALUE with NAME one of ${CLAIM_NAMES.join(', ')}`);
    }
    parsed[name] = claim.slice(at + 1);
  }
  return parsed;
}

function githubRepository(repository: string): string {
  if (!/^[A-Za-z0-9-]+\/[A-Za-z0-9._-]+$/.test(repository)) throw new UsageError(`--github-repository ${JSON.stringify(repository)}: must be OWNER/REPO`);
  return repository;
}

/** `release.yml` or `.github/workflows/release.yml`: the path the identity names. */
function githubWorkflow(workflow: string): string {
  const path = workflow.includes('/') ? workflow : `.github/workflows/${workflow}`;
  if (!/^\.github\/workflows\/[A-Za-z0-9._-]+\.ya?ml$/.test(path)) {
    throw new UsageError(`--github-workflow ${JSON.stringify(workflow)}: must be a workflow file, .github/workflows/NAME.yml`);
  }
  return path;
}

function numericId(id: string, flag: string): string {
  if (!/^[1-9][0-9]*$/.test(id)) throw new UsageError(`${flag} ${JSON.stringify(id)}: must be GitHub's numeric id (gh api repos/OWNER/REPO --jq '.id, .owner.id')`);
  return id;
}

/** A path as the policy states it: relative to the policy's folder, with "/". */
function policyPath(folder: string, path: string): string {
  const rel = relative(folder, path).split(sep).join('/');
  return rel.startsWith('../') ? rel : `./${rel}`;
}

/** Creates `path`, refusing one that exists (O_EXCL: no check-then-write race, no following a planted link). */
function writeNew(path: string, text: string): void {
  let fd: number;
  try {
    fd = openSync(path, 'wx', 0o644);
  } catch (err) {
    const errno = (err as NodeJS.ErrnoException).code;
    if (errno === 'EEXIST') throw new UsageError(`${path} exists; policy init never overwrites a policy (remove it, or choose another --out)`);
    throw new UsageError(`cannot create ${path}: ${(err as Error).message}`);
  }
  try {
    writeSync(fd, text);
  } finally {
    closeSync(fd);
  }
}

function nextSteps(out: string, files: string, key: string | undefined): string {
  const policyFlag = out === resolve('trustload.policy.json') ? '' : ` --policy ${relative(process.cwd(), out) || out}`;
  const segments = files.replace(/^\.\//, '').split('/');
  const wild = segments.findIndex((s) => s.includes('*'));
  const target = (wild === -1 ? segments : segments.slice(0, wild)).join('/') || 'FILE...';
  // keygen NAME writes NAME.pub.pem beside NAME.key.pem.
  const privateKey = key !== undefined && key.endsWith('.pub.pem') ? key.replace(/\.pub\.pem$/, '.key.pem') : 'PRIVATE_KEY.pem';
  const signWith = key !== undefined ? `--key ${privateKey}` : '--keyless (in the CI job the policy names)';
  const env = policyFlag === '' ? '' : `TRUSTLOAD_POLICY=${relative(process.cwd(), out) || out} `;
  return [
    'next:',
    `  trustload policy check${policyFlag}          (validate it; prints TRUSTLOAD_POLICY_SHA256)`,
    `  trustload sign ${target} ${signWith}`,
    `  ${env}node --import trustload/register app.js`,
  ].join('\n');
}
