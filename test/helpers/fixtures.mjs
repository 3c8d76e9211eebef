// Paths into fixtures/ (see fixtures/README.md), command-line builders for
// them, temporary copies to mutate, and the assertions every refusal shares.
import { createHash } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { errorCode, FIXTURES, pool, runCli, SHARED_TESTDATA } from './cli.mjs';

export const IDENTITY = 'https://github.com/acme/plugins/.github/workflows/release.yml@refs/heads/main';
export const EVIL_IDENTITY = 'https://github.com/acme/plugins-evil/.github/workflows/release.yml@refs/heads/main';
export const ISSUER = 'https://token.actions.githubusercontent.com';
export const PRIVATE_ROOT = join(FIXTURES, 'private', 'trusted_root.json');
export const PRIVATE_ROOT_V02 = join(FIXTURES, 'private', 'trusted_root.v0.2.json');
export const OTHER_ROOT = join(FIXTURES, 'other', 'trusted_root.json');
export const ARTIFACT = join(FIXTURES, 'artifacts', 'hello.txt');
export const MODEL_SIGNING = join(SHARED_TESTDATA, 'model-signing');

/** `hello.txt` and its bundle in one fixture directory (keyless, key-p256, ...). */
export function fixture(name) {
  return { artifact: join(FIXTURES, name, 'hello.txt'), bundle: join(FIXTURES, name, 'hello.txt.sigstore.json') };
}

export const publicKey = (name) => join(FIXTURES, 'keys', `${name}.pub.pem`);
export const privateKey = (name) => join(FIXTURES, 'keys', `${name}.pem`);

/** verify-blob arguments for a keyless signer of the private instance; `null` leaves a flag out. */
export function keylessArgs(target, bundle, { identity = IDENTITY, issuer = ISSUER, root = PRIVATE_ROOT, extra = [] } = {}) {
  const args = ['verify-blob', target, '--bundle', bundle, ...extra];
  if (issuer !== null) args.push('--certificate-oidc-issuer', issuer);
  if (identity !== null) args.push('--certificate-identity', identity);
  if (root !== null) args.push('--trusted-root', root);
  return args;
}

/** verify-blob arguments for a key signer. */
export function keyArgs(target, bundle, key, { ignoreTlog = true, root, extra = [] } = {}) {
  const args = ['verify-blob', target, '--bundle', bundle, '--key', key, ...extra];
  if (ignoreTlog) args.push('--insecure-ignore-tlog');
  if (root !== undefined) args.push('--trusted-root', root);
  return args;
}

/**
 * A fresh temporary directory, removed when the test process exits. (Not
 * t.teardown: on tap's root test that ends the root before the subtests a
 * file adds after its top-level awaits.)
 */
export function tempDir(prefix = 'trustload-test-') {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  process.on('exit', () => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

export const readJson = (path) => JSON.parse(readFileSync(path, 'utf8'));

/** Writes `value` (JSON-encoded unless it is already a string or Buffer) to dir/name and returns the path. */
export function writeIn(dir, name, value) {
  const path = join(dir, name);
  writeFileSync(path, typeof value === 'string' || Buffer.isBuffer(value) ? value : JSON.stringify(value, null, 2));
  return path;
}

/** The base64 text with one bit of its decoded byte `index` flipped. */
export function flipBase64(text, index = 0) {
  const bytes = Buffer.from(text, 'base64');
  bytes[index < 0 ? bytes.length + index : index] ^= 0x01;
  return bytes.toString('base64');
}

export const sha256Hex = (bytes) => createHash('sha256').update(bytes).digest('hex');

/** stderr is one clean `trustload: ...` line: no stack trace, no uncaught-error dump. */
export function assertCleanMessage(t, stderr) {
  const lines = stderr.split('\n').filter((line) => line !== '');
  t.equal(lines.length, 1, `stderr is exactly one line:\n${stderr}`);
  t.match(lines[0] ?? '', /^trustload: \S/, 'the line starts with "trustload: "');
  t.notMatch(stderr, /^\s+at\s/m, 'no stack trace');
  t.notMatch(stderr, /node:internal|Uncaught|\b(?:Type|Reference|Range|Syntax)Error\b/, 'no uncaught error output');
}

/**
 * A refusal: the exit code (1 refused, 2 usage or trust material), the
 * stable ERR_TRUSTLOAD_* code on the first stderr line, a clean one-line
 * message, and (optionally) what the message must say.
 */
export function assertRefused(t, result, code, { exit = 1, message } = {}) {
  t.equal(result.code, exit, `exits ${exit}`);
  t.equal(errorCode(result.stderr), code, `refused with ${code}: ${result.stderr.split('\n')[0]}`);
  assertCleanMessage(t, result.stderr);
  t.equal(result.stdout, '', 'nothing on stdout');
  if (message !== undefined) t.match(result.stderr, message, 'the message says why');
}

/** A usage error: exit 2, one clean line naming the problem, then the command's usage. */
export function assertUsage(t, result, message) {
  t.equal(result.code, 2, 'exits 2');
  const [line, usage = ''] = result.stderr.split('\n\n');
  assertCleanMessage(t, line);
  t.match(usage, /^Usage:[^]*\nRun trustload [a-z-]+ --help for details\.\n$/, `then the command's usage:\n${result.stderr}`);
  t.equal(result.stdout, '', 'nothing on stdout');
  if (message !== undefined) t.match(line, message, 'the message names the problem');
}

/** Verified: exit 0, nothing on stderr, the one-line verdict on stdout. */
export function assertVerified(t, result, signer) {
  t.equal(result.code, 0, `verifies\n${result.stderr}`);
  t.equal(result.stderr, '', 'nothing on stderr');
  t.match(result.stdout, /^trustload: verified /, 'says it verified');
  if (signer !== undefined) t.match(result.stdout, signer, 'names the signer');
}

/**
 * Runs every case's command line (a few processes at once), then checks each
 * in its own subtest. A case is { name, args, check(t, result) }, or
 * { name, run: () => Promise<result>, check } for a process started another way.
 */
export async function runCases(t, cases, limit = 4) {
  const names = cases.map((c) => c.name);
  t.same(names.filter((name, i) => names.indexOf(name) !== i), [], 'case names are unique');
  const results = await pool(cases, limit, (c) => (c.skip ? undefined : c.run ? c.run() : runCli(c.args)));
  cases.forEach((c, i) => t.test(c.name, { skip: c.skip }, async (t) => c.check(t, results[i])));
}
