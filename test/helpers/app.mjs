// Builds throwaway applications guarded by a trustload policy, and runs them
// as real node processes: `node --import <repo>/register.mjs ...`, with a
// clean environment, as a user would start them.
import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readFileSync, realpathSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { signFile } from '../../scripts/sign-with-key.mjs';

export const ROOT = fileURLToPath(new URL('../../', import.meta.url));
export const REGISTER = join(ROOT, 'register.mjs');
export const INDEX = join(ROOT, 'dist', 'index.js');
export const PRIVATE_KEY = join(ROOT, 'fixtures', 'keys', 'p256.pem');
export const PUBLIC_KEY = join(ROOT, 'fixtures', 'keys', 'p256.pub.pem');
export const PRIVATE_KEY_PEM = readFileSync(PRIVATE_KEY, 'utf8');

export const sha256Hex = (bytes) => createHash('sha256').update(bytes).digest('hex');
export const PUBLIC_KEY_SHA256 = sha256Hex(readFileSync(PUBLIC_KEY));

/** The default rule set: everything under plugins/ must be signed by the offline key. */
export const PLUGINS_RULE = { name: 'plugins', files: 'plugins/**', signers: ['offline'] };

/**
 * The policy object the helper writes: one trusted key (keys/p256.pub.pem,
 * pinned by digest), one key signer "offline" without a transparency log,
 * and `rules` (default: plugins/**). `extra` is merged in last, so it can
 * add or replace any top-level key (an unknown key, a broken signer...).
 */
export function policyObject({ rules = [PLUGINS_RULE], unmatched = 'allow', mode, allowPermissive = true, lockdown, extra = {} } = {}) {
  const policy = {
    version: 1,
    allowPermissive,
    trust: { keys: { release: { path: './keys/p256.pub.pem', sha256: PUBLIC_KEY_SHA256 } } },
    signers: { offline: { key: 'release', transparencyLog: false } },
    rules,
    unmatched,
  };
  if (mode !== undefined) policy.mode = mode;
  if (lockdown !== undefined) policy.lockdown = lockdown;
  return { ...policy, ...extra };
}

/**
 * A fresh application folder under the system temp folder (its real path),
 * removed when the test ends:
 * - keys/p256.pub.pem and trustload.policy.json (see policyObject; `policy:
 *   false` leaves the policy out, a string is written as is);
 * - `files`: { 'relative/path': string | Buffer }, folders created as needed;
 * - `sign`: relative paths to sign (FILE.sigstore.json, by fixtures/keys/p256.pem)
 *   after every file is written.
 * Returns the folder and helpers to write, sign and tamper with files later.
 */
export function makeApp(t, { files = {}, sign = [], policy, ...policyOptions } = {}) {
  const dir = realpathSync(mkdtempSync(join(tmpdir(), 'trustload-app-')));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  mkdirSync(join(dir, 'keys'));
  copyFileSync(PUBLIC_KEY, join(dir, 'keys', 'p256.pub.pem'));
  const app = {
    dir,
    policyPath: join(dir, 'trustload.policy.json'),
    path: (rel) => join(dir, rel),
    write(rel, content) {
      const path = join(dir, rel);
      mkdirSync(dirname(path), { recursive: true });
      writeFileSync(path, content);
      return path;
    },
    read: (rel) => readFileSync(join(dir, rel)),
    /** Creates the symlink `rel` (folders as needed) whose content is `target`, as given. */
    symlink(target, rel) {
      mkdirSync(dirname(join(dir, rel)), { recursive: true });
      symlinkSync(target, join(dir, rel));
      return join(dir, rel);
    },
    sign(rel) {
      signFile(join(dir, rel), PRIVATE_KEY_PEM);
      return `${join(dir, rel)}.sigstore.json`;
    },
    /** Changes one byte of a (signed) file: `from` (a string or byte) becomes `to` at its first occurrence. */
    tamper(rel, from = 'SIGNED', to = 'SIGNEX') {
      const bytes = readFileSync(join(dir, rel));
      const next = tamperBytes(bytes, from, to);
      writeFileSync(join(dir, rel), next);
      return next;
    },
  };
  const object = typeof policy === 'string' ? undefined : policy === false || policy === undefined ? policyObject(policyOptions) : policy;
  if (policy !== false) app.write('trustload.policy.json', object === undefined ? policy : `${JSON.stringify(object, null, 2)}\n`);
  // As in a real application, the folders the rules protect exist (else start-up warns that a rule protects nothing);
  // with policy: false, those of the policy a host would pass to register().
  for (const folder of ruleFolders(object)) mkdirSync(join(dir, folder), { recursive: true });
  for (const [rel, content] of Object.entries(files)) app.write(rel, content);
  for (const rel of sign) app.sign(rel);
  return app;
}

/** Each rule glob's fixed folder (src/policy/globs.ts globFolder), for well-formed rules. */
function ruleFolders(policy) {
  const rules = Array.isArray(policy?.rules) ? policy.rules : [];
  return rules.flatMap((rule) => [rule?.files].flat()).filter((glob) => typeof glob === 'string' && !glob.startsWith('/') && !glob.includes('..')).map((glob) => {
    const segments = glob.replace(/^\.\//, '').split('/').slice(0, -1);
    const wild = segments.findIndex((s) => s.includes('*'));
    return segments.slice(0, wild === -1 ? segments.length : wild).join('/');
  }).filter((folder) => folder !== '');
}

/** `bytes` with the first occurrence of `from` replaced by `to` (same length: one or a few bytes changed). */
export function tamperBytes(bytes, from, to) {
  const needle = typeof from === 'number' ? Buffer.from([from]) : Buffer.from(from);
  const replacement = typeof to === 'number' ? Buffer.from([to]) : Buffer.from(to);
  if (needle.length !== replacement.length) throw new Error('tamperBytes keeps the length');
  const at = bytes.indexOf(needle);
  if (at === -1) throw new Error(`tamperBytes: ${JSON.stringify(String(from))} not found`);
  const next = Buffer.from(bytes);
  replacement.copy(next, at);
  return next;
}

const ENV_COMMAND = existsSync('/usr/bin/env') ? '/usr/bin/env' : '/bin/env';

/** PATH and HOME only: no inherited TRUSTLOAD_*, NODE_OPTIONS or anything else. */
export function cleanEnv(extra = {}) {
  const env = {};
  for (const name of ['PATH', 'HOME']) if (process.env[name] !== undefined) env[name] = process.env[name];
  return { ...env, ...extra };
}

/**
 * Runs `node --import <repo>/register.mjs ...args` (the pinned node running
 * the tests) in `cwd` (default: the app folder) with a clean environment plus
 * `env`. `guard: false` leaves the --import out. Resolves with
 * { code, signal, stdout, stderr, firstLine }; kills the process after
 * `timeout` ms (then code is null and `timedOut` true).
 */
export function runNode(appDir, args, { env = {}, cwd = appDir, guard = true, timeout = 30_000, input } = {}) {
  return new Promise((resolve, reject) => {
    const argv = guard ? ['--import', REGISTER, ...args] : [...args];
    // Through `env -i`: the test runner wraps child_process and would slip its own NODE_OPTIONS
    // (--import of its process-info hooks) and variables into any env a test passes.
    const assignments = Object.entries(cleanEnv(env)).map(([name, value]) => `${name}=${value}`);
    const child = spawn(ENV_COMMAND, ['-i', ...assignments, process.execPath, ...argv], { cwd, stdio: ['pipe', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    let timedOut = false;
    child.stdout.setEncoding('utf8').on('data', (d) => (stdout += d));
    child.stderr.setEncoding('utf8').on('data', (d) => (stderr += d));
    const timer = setTimeout(() => {
      timedOut = true;
      child.kill('SIGKILL');
    }, timeout);
    child.on('error', (err) => {
      clearTimeout(timer);
      reject(err);
    });
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      resolve({ code, signal, stdout, stderr, timedOut, firstLine: stderr.split('\n')[0] ?? '' });
    });
    child.stdin.end(input);
  });
}

export { pool } from './cli.mjs';

const escapeRegExp = (text) => text.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&');

/**
 * The first stderr line is the refusal: `trustload: CODE: path: rule "name": reason`.
 * `path` and `rule` are checked when given (rule: null means the line names no rule).
 */
export function assertRefusalLine(t, result, code, { path, rule } = {}) {
  t.match(result.firstLine, new RegExp(`^trustload: ${code}: `), `first stderr line is ${code}: ${result.firstLine}\n--- stderr:\n${result.stderr}`);
  if (path !== undefined) t.ok(result.firstLine.startsWith(`trustload: ${code}: ${path}: `), `it names ${path}`);
  if (typeof rule === 'string') t.match(result.firstLine, new RegExp(`: rule "${escapeRegExp(rule)}": `), `it names rule "${rule}"`);
  if (rule === null) t.notMatch(result.firstLine, /: rule "/, 'it names no rule');
}

/** The process was refused: non-zero exit (not a timeout), and the refusal line. */
export function assertRefused(t, result, code, options = {}) {
  t.notOk(result.timedOut, 'finished in time');
  t.not(result.code, 0, 'exits non-zero');
  assertRefusalLine(t, result, code, options);
}

/** The process ran cleanly: exit 0 and nothing on stderr. */
export function assertClean(t, result) {
  t.notOk(result.timedOut, 'finished in time');
  t.equal(result.code, 0, `exits 0\n--- stderr:\n${result.stderr}\n--- stdout:\n${result.stdout}`);
  t.equal(result.stderr, '', 'nothing on stderr');
}

/**
 * The process did not start: exit 1 and exactly one stderr line
 * `trustload: ERR_TRUSTLOAD_POLICY: ...`, with nothing from the application.
 */
export function assertDidNotStart(t, result, { mentions = [] } = {}) {
  t.notOk(result.timedOut, 'finished in time');
  t.equal(result.code, 1, 'exits 1');
  const lines = result.stderr.split('\n').filter((line) => line !== '');
  t.equal(lines.length, 1, `exactly one stderr line:\n${result.stderr}`);
  t.match(lines[0] ?? '', /^trustload: ERR_TRUSTLOAD_POLICY: /, 'an ERR_TRUSTLOAD_POLICY line');
  for (const text of mentions) t.ok((lines[0] ?? '').includes(text), `it mentions ${JSON.stringify(text)}: ${lines[0]}`);
  t.equal(result.stdout, '', 'the application never ran');
}
