import { realpathSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { ErrorCodes, TrustloadError } from '../errors.js';
import { parseJson } from '../io/json.js';
import { readFileLimited } from '../io/read.js';
import { frozenCopy } from '../io/frozen.js';
import { sha256Hex } from '../io/sha256.js';
import { loadPolicyExplainer } from '../guard/load-verifier.js';
import { globProblem } from './globs.js';
import { closest } from './closest-name.js';
import { digestsToPaste } from './digest-hints.js';
import { isValidPolicy } from './policy-validator.js';
import { PUBLIC_GOOD_ROOT as PUBLIC_GOOD } from './public-good-name.js';
import type { Policy } from './schema.js';

const DEFAULT_POLICY_FILE = 'trustload.policy.json';
const MAX_POLICY_BYTES = 1024 * 1024;

/** A validated policy, where it came from, and the folder its paths and globs are anchored at. */
export interface LoadedPolicy {
  policy: Policy;
  /** Real path of the policy file (for a policy object: the pinned copy written for children, if any). */
  file: string | undefined;
  /** Real path of the folder relative paths and globs are anchored at. */
  baseDir: string;
  /** SHA-256 of the policy file's bytes. */
  sha256: string;
}

/** Where a process finds its policy: TRUSTLOAD_POLICY, or trustload.policy.json in the working directory. */
export function policyPathFromEnv(env: Readonly<Partial<Record<string, string>>> = process.env, cwd = process.cwd()): string {
  return resolve(cwd, env.TRUSTLOAD_POLICY || DEFAULT_POLICY_FILE);
}

/** Reads, pins and validates a policy file. Any problem is an ERR_TRUSTLOAD_POLICY naming the file and field. */
export function loadPolicyFile(path: string, expectedSha256?: string): LoadedPolicy {
  const bytes = readPolicyBytes(path);
  const file = realpathSync(path);
  const sha256 = sha256Hex(bytes);
  if (expectedSha256 !== undefined && expectedSha256.toLowerCase() !== sha256) {
    throw new TrustloadError(ErrorCodes.POLICY, `policy ${file} does not match TRUSTLOAD_POLICY_SHA256, which pins another policy (a guarded parent pins its own for its children): set it to this file's sha256 (trustload policy check prints it) or unset it`, {
      path: file,
      expected: `sha256:${expectedSha256.toLowerCase()}`,
      found: `sha256:${sha256}`,
    });
  }
  const policy = validatePolicy(parseJson(bytes.toString('utf8'), `policy ${file}`, ErrorCodes.POLICY), file, dirname(file));
  return frozenCopy({ policy, file, baseDir: realBaseDir(policy.baseDir ?? dirname(file), file), sha256 });
}

/** Validates a policy given as an object (register({ policy, baseDir })). */
export function loadPolicyObject(input: unknown, baseDir: string): Omit<LoadedPolicy, 'file' | 'sha256'> {
  const policy = validatePolicy(input, 'policy object', baseDir);
  return { policy, baseDir: realBaseDir(policy.baseDir ?? baseDir, 'policy object') };
}

/** A name that refers to nothing the policy defines: the one meant when it is close, else where names are defined. */
function unknownName(kind: string, name: string, defined: readonly string[], field: string): string {
  const meant = closest(name, defined);
  if (meant !== undefined) return `unknown ${kind} "${name}": did you mean "${meant}"?`;
  return `unknown ${kind} "${name}": ${field} has ${defined.length === 0 ? 'no entries' : defined.map((n) => `"${n}"`).join(', ')}`;
}

function readPolicyBytes(path: string): Buffer {
  try {
    return readFileLimited(path, MAX_POLICY_BYTES, 'policy', ErrorCodes.POLICY);
  } catch (err) {
    const errno = ((err as Error).cause as NodeJS.ErrnoException | undefined)?.code;
    if (errno !== 'ENOENT' && errno !== 'ENOTDIR') throw err;
    throw new TrustloadError(
      ErrorCodes.POLICY,
      'the policy file does not exist: run "trustload policy init" to create one here, or set TRUSTLOAD_POLICY to the policy file to use',
      { path, cause: err },
    );
  }
}

function realBaseDir(dir: string, source: string): string {
  try {
    return realpathSync(dir);
  } catch (err) {
    throw new TrustloadError(ErrorCodes.POLICY, `${source}: base folder ${dir} cannot be resolved: ${(err as Error).message}`, { cause: err });
  }
}

/** The schema, then what a schema cannot say: names must refer to things that exist, modes must agree. */
function validatePolicy(input: unknown, source: string, defaultBaseDir: string): Policy {
  const fail = (problem: string): never => {
    throw new TrustloadError(ErrorCodes.POLICY, `${source}: ${problem}`);
  };
  // Copied once, then checked and used: a getter in a policy object cannot answer the check one
  // way and the guard another, and a field inherited from a polluted prototype is not copied.
  let copy: unknown;
  try {
    copy = frozenCopy(input);
  } catch (err) {
    throw new TrustloadError(ErrorCodes.POLICY, `${source}: cannot be read as JSON data: ${(err as Error).message}`, { cause: err });
  }
  // The validator generated from the schema at build time accepts a valid policy without loading zod.
  let policy = copy as Policy;
  if (!isValidPolicy(copy)) {
    const explained = loadPolicyExplainer().explainPolicy(copy);
    if ('problem' in explained) {
      const baseDir = (copy as { baseDir?: unknown } | null)?.baseDir;
      const digests = /^trust\.\w+\.[^:]+\.sha256: /.test(explained.problem) ? digestsToPaste(copy, typeof baseDir === 'string' ? baseDir : defaultBaseDir) : '';
      return fail(`${explained.problem}${digests}`);
    }
    policy = frozenCopy(explained.policy);
  }
  const roots = policy.trust?.roots ?? {};
  const keys = policy.trust?.keys ?? {};
  const cas = policy.trust?.cas ?? {};
  if (Object.hasOwn(roots, PUBLIC_GOOD)) fail(`trust.roots.${PUBLIC_GOOD}: this name is reserved for the root shipped with trustload`);
  for (const [name, signer] of Object.entries(policy.signers)) {
    for (const root of signer.roots ?? []) {
      if (root !== PUBLIC_GOOD && !Object.hasOwn(roots, root)) fail(`signers.${name}.roots: ${unknownName('trusted root', root, [PUBLIC_GOOD, ...Object.keys(roots)], 'trust.roots')}`);
    }
    if ('key' in signer && !Object.hasOwn(keys, signer.key)) fail(`signers.${name}.key: ${unknownName('key', signer.key, Object.keys(keys), 'trust.keys')}`);
    if ('ca' in signer && !Object.hasOwn(cas, signer.ca)) fail(`signers.${name}.ca: ${unknownName('CA', signer.ca, Object.keys(cas), 'trust.cas')}`);
  }
  const locks = policy.trust?.locks ?? {};
  for (const [name, lock] of Object.entries(locks)) {
    if (!('signers' in lock)) continue;
    lock.signers.forEach((signer, j) => {
      if (!Object.hasOwn(policy.signers, signer)) fail(`trust.locks.${name}.signers[${j}]: ${unknownName('signer', signer, Object.keys(policy.signers), 'signers')}`);
    });
  }
  policy.rules.forEach((rule, i) => {
    rule.signers?.forEach((signer, j) => {
      if (!Object.hasOwn(policy.signers, signer)) fail(`rules[${i}].signers[${j}]: ${unknownName('signer', signer, Object.keys(policy.signers), 'signers')}`);
    });
    if (rule.lock !== undefined && !Object.hasOwn(locks, rule.lock)) fail(`rules[${i}].lock: ${unknownName('lock', rule.lock, Object.keys(locks), 'trust.locks')}`);
    const globs = typeof rule.files === 'string' ? [rule.files] : rule.files;
    globs.forEach((glob) => {
      const problem = globProblem(glob);
      if (problem) fail(`rules[${i}].files: "${glob}" ${problem}`);
    });
  });
  if (policy.mode === 'permissive' && policy.allowPermissive !== true) {
    fail('mode: "permissive" needs "allowPermissive": true');
  }
  // Signers and their trust are built lazily, after application code ran: from this frozen copy only.
  return policy;
}
