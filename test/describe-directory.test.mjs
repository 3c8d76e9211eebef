// describeDirectory (src/manifest/describe-directory.ts): the model-signing
// v1.0 statement `trustload sign` signs for a directory. Its output is
// checked against digests recomputed here with node:crypto, against
// model_signing's own signed fixture and the independent writer of
// scripts/sign-manifest.mjs, and end to end: signed here as DSSE with a
// throw-away key, the directory verifies with the public verifyDirectory in
// a real node process, and a changed byte is refused.
import { createHash, createPrivateKey, generateKeyPairSync, sign } from 'node:crypto';
import { execFileSync } from 'node:child_process';
import { appendFileSync, chmodSync, mkdirSync, mkdtempSync, readFileSync, realpathSync, rmSync, symlinkSync, truncateSync, unlinkSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import t from 'tap';
import { preAuthEncoding } from '../scripts/sign-manifest.mjs';
import { INDEX, makeApp, runNode } from './helpers/app.mjs';
import { FIXTURES, SHARED_TESTDATA, sharedTestdataMissing } from './helpers/cli.mjs';
import { loadSignInternals } from './helpers/sign-internals.mjs';

const { describeDirectory, parseManifestPayload, DEFAULT_SHARD_SIZE } = await loadSignInternals();

const sha256 = (bytes) => createHash('sha256').update(bytes).digest();
const GIT_PATHS = ['.git', '.gitattributes', '.github', '.gitignore'];

/** A fresh folder holding `files` ({ 'rel/path': content }), removed when the test ends. */
function tree(t, files) {
  const dir = realpathSync(mkdtempSync(join(tmpdir(), 'trustload-describe-')));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  for (const [name, content] of Object.entries(files)) {
    mkdirSync(dirname(join(dir, name)), { recursive: true });
    writeFileSync(join(dir, name), content);
  }
  return dir;
}

/** Resolves with the error describeDirectory throws, or fails the test. */
async function refusal(t, dir, options) {
  try {
    await describeDirectory(dir, { method: 'files', bundleName: 'manifest.sigstore.json', ...options });
  } catch (err) {
    return err;
  }
  t.fail('describeDirectory did not refuse');
  return {};
}

// Nested folders, names whose order differs between a string sort and
// model_signing's (path segments, code points), an empty file, git's files,
// and a bundle left by an earlier signing.
const PLUGIN = {
  'package.json': '{ "name": "p" }\n',
  'lib/index.js': 'export const x = 1;\n',
  'lib/deep/er/util.js': 'export const y = 2;\n',
  'a/b': 'a slash b\n',
  'a-b': 'a dash b\n',
  'a.txt': 'a dot txt\n',
  B: 'capital\n',
  '\u{FFFD}.txt': 'replacement character\n',
  '\u{1F600}.txt': 'astral\n',
  'empty.txt': '',
  '.git/HEAD': 'ref: refs/heads/main\n',
  '.git/objects/ab/cdef': 'object\n',
  '.github/workflows/ci.yml': 'on: push\n',
  '.gitignore': 'node_modules\n',
  '.gitattributes': '* text=auto\n',
  '.npmrc': 'dot files are signed\n',
  'manifest.sigstore.json': '{ "an": "old bundle" }\n',
};
// Python's pathlib order: by segment ("a" < "a-b" < "a.txt"), by code point (U+FFFD < U+1F600).
const PLUGIN_ORDER = ['.npmrc', 'B', 'a/b', 'a-b', 'a.txt', 'empty.txt', 'lib/deep/er/util.js', 'lib/index.js', 'package.json', '\u{FFFD}.txt', '\u{1F600}.txt'];

t.test('a tree: every regular file but the bundle and git paths, in model_signing order, with the default ignores recorded', async (t) => {
  const dir = tree(t, PLUGIN);
  const result = await describeDirectory(dir, { method: 'files', bundleName: 'manifest.sigstore.json' });
  const statement = JSON.parse(result.statement);
  t.same(Object.keys(statement), ['_type', 'subject', 'predicateType', 'predicate']);
  t.equal(statement._type, 'https://in-toto.io/Statement/v1');
  t.equal(statement.predicateType, 'https://model_signing/signature/v1.0');
  t.same(statement.predicate.serialization, { method: 'files', hash_type: 'sha256', allow_symlinks: false, ignore_paths: ['manifest.sigstore.json', ...GIT_PATHS] });
  t.same(statement.predicate.resources.map((r) => r.name), PLUGIN_ORDER);
  t.same(Object.keys(statement.predicate.resources[0]), ['name', 'algorithm', 'digest'], "model_signing's key order");
  t.equal(result.files, PLUGIN_ORDER.length);
  t.equal(result.bytes, PLUGIN_ORDER.reduce((sum, name) => sum + Buffer.byteLength(PLUGIN[name]), 0));

  const parsed = parseManifestPayload(result.statement, 'describeDirectory');
  t.same([...parsed.entries.keys()], PLUGIN_ORDER, 'our own parser reads it');
  t.same(parsed.ignorePaths, ['manifest.sigstore.json', ...GIT_PATHS]);
  t.equal(parsed.modelName, dir.split('/').at(-1), 'the subject is named after the folder');
});

t.test('every digest and the subject digest, recomputed independently from the files', async (t) => {
  const dir = tree(t, PLUGIN);
  const statement = JSON.parse((await describeDirectory(dir, { method: 'files', bundleName: 'manifest.sigstore.json' })).statement);
  for (const r of statement.predicate.resources) {
    t.same(r, { name: r.name, algorithm: 'sha256', digest: sha256(readFileSync(join(dir, r.name))).toString('hex') }, r.name);
  }
  const subject = sha256(Buffer.concat(PLUGIN_ORDER.map((name) => sha256(readFileSync(join(dir, name))))));
  t.same(statement.subject, [{ name: dir.split('/').at(-1), digest: { sha256: subject.toString('hex') } }]);
  t.equal(sha256(Buffer.from('')).toString('hex'), statement.predicate.resources.find((r) => r.name === 'empty.txt').digest, 'an empty file is listed by "files"');
});

t.test('shards of 1,000 bytes on files of 0, 1, 999, 1000, 1001 and 5000 bytes', async (t) => {
  const sizes = [0, 1, 999, 1000, 1001, 5000];
  const bytes = (n) => Buffer.from(Array.from({ length: n }, (_, i) => (i * 31 + n) & 0xff));
  const dir = tree(t, Object.fromEntries(sizes.map((n) => [`f${n}.bin`, bytes(n)])));
  const result = await describeDirectory(dir, { method: 'shards', shardSize: 1000, bundleName: 'model.sig' });
  const statement = JSON.parse(result.statement);
  t.same(statement.predicate.serialization, { method: 'shards', hash_type: 'sha256', shard_size: 1000, allow_symlinks: false, ignore_paths: ['model.sig', ...GIT_PATHS] });
  // Written out by hand: model_signing cuts [0, 1000), [1000, 2000), ..., the last one short, and no shard for an empty file.
  const expected = [
    ['f1.bin', 0, 1],
    ['f1000.bin', 0, 1000],
    ['f1001.bin', 0, 1000], ['f1001.bin', 1000, 1001],
    ['f5000.bin', 0, 1000], ['f5000.bin', 1000, 2000], ['f5000.bin', 2000, 3000], ['f5000.bin', 3000, 4000], ['f5000.bin', 4000, 5000],
    ['f999.bin', 0, 999],
  ];
  t.same(
    statement.predicate.resources,
    expected.map(([name, start, end]) => ({ name: `${name}:${start}:${end}`, algorithm: 'sha256-sharded-1000', digest: sha256(readFileSync(join(dir, name)).subarray(start, end)).toString('hex') })),
  );
  t.equal(statement.subject[0].digest.sha256, sha256(Buffer.concat(statement.predicate.resources.map((r) => Buffer.from(r.digest, 'hex')))).toString('hex'));
  t.equal(result.files, 5, 'the empty file is not listed (model_signing cuts no shard for it)');
  t.equal(result.bytes, 1 + 999 + 1000 + 1001 + 5000);
  const parsed = parseManifestPayload(result.statement, 'describeDirectory');
  t.same(parsed.entries.get('f5000.bin').size, 5000, 'our parser accepts the ranges');

  const byDefault = JSON.parse((await describeDirectory(dir, { method: 'shards', bundleName: 'model.sig' })).statement);
  t.equal(DEFAULT_SHARD_SIZE, 1_000_000_000, "model_signing's default: 10^9 bytes, not 1 GiB");
  t.equal(byDefault.predicate.serialization.shard_size, 1_000_000_000);
  t.equal(byDefault.predicate.resources[0].name, 'f1.bin:0:1');
  t.equal(byDefault.predicate.resources[0].algorithm, 'sha256-sharded-1000000000');

  for (const shardSize of [0, -1, 1.5, Number.NaN]) {
    t.match(await refusal(t, dir, { method: 'shards', shardSize }), { code: 'ERR_TRUSTLOAD_POLICY', message: /shard size/ }, `shard size ${shardSize}`);
  }
  t.match(await refusal(t, dir, { method: 'files', shardSize: 1000 }), { code: 'ERR_TRUSTLOAD_POLICY' }, 'a shard size without shards');
  writeFileSync(join(dir, 'c:1.bin'), 'x');
  t.match(await refusal(t, dir, { method: 'shards', shardSize: 1000 }), { code: 'ERR_TRUSTLOAD_UNSUPPORTED_LOAD', path: join(dir, 'c:1.bin'), message: /colon/ }, 'a name with a colon cannot be a shard name');
  t.equal(JSON.parse((await describeDirectory(dir, { method: 'files', bundleName: 'model.sig' })).statement).predicate.resources[0].name, 'c:1.bin', 'but can be listed by "files"');
  const onlyEmpty = tree(t, { 'empty.bin': '', '.gitignore': 'x\n' });
  t.match(await refusal(t, onlyEmpty, { method: 'shards', shardSize: 1000 }), { code: 'ERR_TRUSTLOAD_MISSING_FILE', message: /nothing to sign/ }, 'no resource at all: our verifier refuses an empty manifest');
});

t.test('ignore paths: recorded as given (a trailing slash dropped), whole segments, folders not entered', async (t) => {
  const dir = tree(t, { 'model.bin': 'w\n', 'docs/README.md': 'r\n', 'docs2/x': 'x\n', 'cache/a/b': 'c\n', 'keep/cache': 'k\n' });
  symlinkSync('/etc/passwd', join(dir, 'cache', 'a', 'link'));
  symlinkSync('/etc/passwd', join(dir, '.git'));
  const result = await describeDirectory(dir, { method: 'files', bundleName: 'model.sig', ignorePaths: ['docs/', 'cache', 'model.sig'] });
  const statement = JSON.parse(result.statement);
  t.same(statement.predicate.serialization.ignore_paths, ['model.sig', 'docs', 'cache', ...GIT_PATHS], 'no name twice');
  t.same(statement.predicate.resources.map((r) => r.name), ['docs2/x', 'keep/cache', 'model.bin'], '"docs" does not cover "docs2", "cache" only at the top');
  for (const bad of ['/etc', '../x', 'a/../b', './a', 'a//b', '', 'a\0b']) {
    t.match(await refusal(t, dir, { ignorePaths: [bad] }), { code: 'ERR_TRUSTLOAD_POLICY', message: /ignore path/ }, JSON.stringify(bad));
  }
});

t.test('the files option: exactly those files (ignored ones left out), each a regular file reached through real folders', async (t) => {
  const dir = tree(t, { 'package.json': '{}\n', 'lib/index.js': 'x\n', 'lib/extra.js': 'not published\n', 'test/a.test.js': 't\n', '.gitignore': 'x\n', 'manifest.sigstore.json': '{}' });
  mkdirSync(join(dir, 'node_modules', '.bin'), { recursive: true });
  symlinkSync('../../lib/index.js', join(dir, 'node_modules', '.bin', 'tool'));
  const files = ['package.json', 'lib/index.js', '.gitignore', 'manifest.sigstore.json'];
  const result = await describeDirectory(dir, { method: 'files', bundleName: 'manifest.sigstore.json', files });
  const statement = JSON.parse(result.statement);
  t.same(statement.predicate.resources.map((r) => r.name), ['lib/index.js', 'package.json'], 'the bundle and ignored names are never resources; unlisted files and links elsewhere are not looked at');
  t.same(statement.predicate.serialization.ignore_paths, ['manifest.sigstore.json', ...GIT_PATHS]);
  t.equal(result.files, 2);

  mkdirSync(join(dir, 'real'));
  writeFileSync(join(dir, 'real', 'x.js'), 'x\n');
  symlinkSync('real', join(dir, 'linked'));
  symlinkSync('lib/index.js', join(dir, 'alias.js'));
  execFileSync('mkfifo', [join(dir, 'pipe')]);
  const cases = [
    [['missing.js'], 'ERR_TRUSTLOAD_MISSING_FILE', 'missing.js'],
    [['lib/nope/x.js'], 'ERR_TRUSTLOAD_MISSING_FILE', 'lib/nope'],
    [['lib'], 'ERR_TRUSTLOAD_UNSUPPORTED_LOAD', 'lib'],
    [['alias.js'], 'ERR_TRUSTLOAD_UNSUPPORTED_LOAD', 'alias.js'],
    [['linked/x.js'], 'ERR_TRUSTLOAD_UNSUPPORTED_LOAD', 'linked'],
    [['pipe'], 'ERR_TRUSTLOAD_UNSUPPORTED_LOAD', 'pipe'],
    [['package.json/x'], 'ERR_TRUSTLOAD_UNSUPPORTED_LOAD', 'package.json'],
    [['../outside'], 'ERR_TRUSTLOAD_POLICY', undefined],
    [['/etc/passwd'], 'ERR_TRUSTLOAD_POLICY', undefined],
    [['lib/./index.js'], 'ERR_TRUSTLOAD_POLICY', undefined],
    [['package.json', 'package.json'], 'ERR_TRUSTLOAD_POLICY', 'package.json'],
  ];
  for (const [list, code, path] of cases) {
    const err = await refusal(t, dir, { files: list });
    t.match(err, { code, ...(path === undefined ? {} : { path: join(dir, path) }) }, `${JSON.stringify(list)}: ${code}`);
  }
  t.match(await refusal(t, dir, { files: [] }), { code: 'ERR_TRUSTLOAD_MISSING_FILE', message: /nothing to sign/ });
});

t.test('links, FIFOs and sockets anywhere below are refused by name; the directory itself must be a real folder', async (t) => {
  const make = (setup) => {
    const dir = tree(t, { 'a.txt': 'a\n', 'sub/b.txt': 'b\n' });
    return { dir, name: setup(dir) };
  };
  const cases = {
    'a link to a file inside': (dir) => (symlinkSync('../a.txt', join(dir, 'sub', 'link.txt')), 'sub/link.txt'),
    'a link to a folder': (dir) => (symlinkSync('sub', join(dir, 'sub2')), 'sub2'),
    'a dangling link': (dir) => (symlinkSync('nowhere', join(dir, 'sub', 'dangling')), 'sub/dangling'),
    'a link out of the directory': (dir) => (symlinkSync('/etc/passwd', join(dir, 'passwd')), 'passwd'),
    'a FIFO': (dir) => (execFileSync('mkfifo', [join(dir, 'sub', 'fifo')]), 'sub/fifo'),
  };
  for (const [what, setup] of Object.entries(cases)) {
    const { dir, name } = make(setup);
    for (const method of ['files', 'shards']) {
      t.match(await refusal(t, dir, { method }), { code: 'ERR_TRUSTLOAD_UNSUPPORTED_LOAD', path: join(dir, name), message: what.includes('link') ? /symbolic link/ : /neither a file nor a folder/ }, `${what} (${method})`);
    }
  }
  const { dir } = make(() => undefined);
  const server = createServer();
  await new Promise((resolve) => server.listen(join(dir, 'sub', 'socket'), resolve));
  t.teardown(() => server.close());
  t.match(await refusal(t, dir, {}), { code: 'ERR_TRUSTLOAD_UNSUPPORTED_LOAD', path: join(dir, 'sub', 'socket'), message: /neither a file nor a folder/ }, 'a socket');

  const top = tree(t, { 'real/a.txt': 'a\n' });
  symlinkSync('real', join(top, 'linked'));
  t.match(await refusal(t, join(top, 'linked'), {}), { code: 'ERR_TRUSTLOAD_UNSUPPORTED_LOAD', path: join(top, 'linked'), message: /symbolic link/ }, 'the directory itself is a link');
  t.match(await refusal(t, join(top, 'missing'), {}), { code: 'ERR_TRUSTLOAD_MISSING_FILE', path: join(top, 'missing') }, 'a missing directory');
  t.match(await refusal(t, join(top, 'real', 'a.txt'), {}), { code: 'ERR_TRUSTLOAD_UNSUPPORTED_LOAD', message: /not a directory/ }, 'a file');
});

t.test('a file that cannot be read, or that changes, vanishes or appears while hashing, refuses by name', async (t) => {
  // 20 files of 3 MiB, 60 MiB in all: hashed in this thread (the worker pool starts at 64 MiB), so the first progress
  // call comes after the first MiB of f00.bin; the loop opens a file only as its ranges are needed, so f19.bin is still closed then.
  const files = Object.fromEntries(Array.from({ length: 20 }, (_, i) => [`f${String(i).padStart(2, '0')}.bin`, Buffer.alloc(3 * 1024 * 1024 + i, i)]));
  const during = async (change, options = {}) => {
    const dir = tree(t, files);
    let fired = false;
    const onProgress = () => {
      if (fired) return;
      fired = true;
      change(dir);
    };
    return { dir, err: await refusal(t, dir, { ...options, onProgress }) };
  };
  const vanished = await during((dir) => unlinkSync(join(dir, 'f19.bin')));
  t.match(vanished.err, { code: 'ERR_TRUSTLOAD_MISSING_FILE', path: join(vanished.dir, 'f19.bin'), message: /cannot open a file to sign/ }, 'a file deleted before it was opened');
  const shrank = await during((dir) => truncateSync(join(dir, 'f00.bin'), 10));
  t.match(shrank.err, { code: 'ERR_TRUSTLOAD_SIGNATURE', path: join(shrank.dir, 'f00.bin'), message: /shrank/ }, 'a file truncated while it is read');
  const grew = await during((dir) => appendFileSync(join(dir, 'f00.bin'), 'more'));
  t.match(grew.err, { code: 'ERR_TRUSTLOAD_SIGNATURE', path: join(grew.dir, 'f00.bin'), message: /changed while it was being hashed/ }, 'a file appended to while it is read');
  const linked = await during((dir) => (unlinkSync(join(dir, 'f19.bin')), symlinkSync('/etc/passwd', join(dir, 'f19.bin'))));
  t.match(linked.err, { code: 'ERR_TRUSTLOAD_UNSUPPORTED_LOAD', path: join(linked.dir, 'f19.bin'), message: /cannot open a file to sign/ }, 'a file replaced by a link after the listing: not followed');
  const added = await during((dir) => writeFileSync(join(dir, 'new.bin'), 'late'));
  t.match(added.err, { code: 'ERR_TRUSTLOAD_NOT_IN_MANIFEST', path: join(added.dir, 'new.bin'), message: /appeared/ }, 'a file added while hashing');

  if (process.getuid?.() === 0) {
    t.comment('running as root: a mode-000 file stays readable, its case is skipped');
  } else {
    const dir = tree(t, { 'a.txt': 'a\n', 'secret.txt': 's\n' });
    chmodSync(join(dir, 'secret.txt'), 0);
    t.match(await refusal(t, dir, {}), { code: 'ERR_TRUSTLOAD_UNSUPPORTED_LOAD', path: join(dir, 'secret.txt') }, 'an unreadable file');
  }
});

t.test('a large directory, hashed by the worker pool: the same digests', async (t) => {
  // 80 MiB of sparse zeros (the pool starts at 64 MiB): nothing much is written, all of it is hashed.
  const dir = tree(t, {});
  const sizes = { 'a.bin': 50 * 1024 * 1024 + 3, 'b/c.bin': 30 * 1024 * 1024, 'd.txt': 5 };
  for (const [name, size] of Object.entries(sizes)) {
    mkdirSync(dirname(join(dir, name)), { recursive: true });
    writeFileSync(join(dir, name), '');
    truncateSync(join(dir, name), size);
  }
  const shardSize = 16 * 1024 * 1024;
  let last;
  const result = await describeDirectory(dir, { method: 'shards', shardSize, bundleName: 'model.sig', onProgress: (done, total) => (last = [done, total]) });
  const expected = [];
  for (const name of ['a.bin', 'b/c.bin', 'd.txt']) {
    const bytes = readFileSync(join(dir, name));
    for (let start = 0; start < bytes.length; start += shardSize) {
      const end = Math.min(start + shardSize, bytes.length);
      expected.push({ name: `${name}:${start}:${end}`, algorithm: `sha256-sharded-${shardSize}`, digest: sha256(bytes.subarray(start, end)).toString('hex') });
    }
  }
  t.same(JSON.parse(result.statement).predicate.resources, expected);
  const total = Object.values(sizes).reduce((a, b) => a + b, 0);
  t.same(last, [total, total], 'progress ends at the total');
  t.equal(result.bytes, total);
});

t.test('signed here with a throw-away P-256 key, the directory verifies with verifyDirectory; a changed byte is refused', async (t) => {
  const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  const pem = publicKey.export({ type: 'spki', format: 'pem' });
  const policy = {
    version: 1,
    trust: { keys: { throwaway: { pem } } },
    signers: { offline: { key: 'throwaway', transparencyLog: false } },
    rules: [
      { name: 'plugin', files: 'plugin/**', signers: ['offline'] },
      { name: 'weights', files: 'weights/**', signers: ['offline'], bundle: 'model.sig' },
    ],
    unmatched: 'allow',
  };
  const files = {};
  for (const [name, content] of Object.entries(PLUGIN)) files[`plugin/${name}`] = content;
  Object.assign(files, { 'weights/w.bin': Buffer.alloc(2500, 7), 'weights/empty.bin': '', 'weights/.git/config': '[core]\n', 'weights/docs/x.md': 'ignored\n' });
  const app = makeApp(t, { policy, files });
  const dsse = (statement) => {
    // DSSE v1 over the exact statement bytes, in a v0.3 bundle without a log entry (as model_signing's key signer writes).
    const sig = sign('sha256', preAuthEncoding(statement), createPrivateKey(privateKey.export({ type: 'pkcs8', format: 'pem' })));
    return JSON.stringify({
      mediaType: 'application/vnd.dev.sigstore.bundle.v0.3+json',
      verificationMaterial: { publicKey: { hint: '' }, tlogEntries: [] },
      dsseEnvelope: { payload: statement.toString('base64'), payloadType: 'application/vnd.in-toto+json', signatures: [{ sig: sig.toString('base64'), keyid: '' }] },
    });
  };
  const plugin = await describeDirectory(app.path('plugin'), { method: 'files', bundleName: 'manifest.sigstore.json' });
  writeFileSync(app.path('plugin/manifest.sigstore.json'), dsse(plugin.statement));
  const weights = await describeDirectory(app.path('weights'), { method: 'shards', shardSize: 1000, bundleName: 'model.sig', ignorePaths: ['docs'] });
  writeFileSync(app.path('weights/model.sig'), dsse(weights.statement));
  app.write('probe.mjs', `
import { verifyDirectory } from ${JSON.stringify(INDEX)};
const out = {};
for (const dir of ['plugin', 'weights']) {
  try { const d = await verifyDirectory(dir); out[dir] = { files: d.files.map((f) => f.name), method: d.method }; }
  catch (err) { out[dir] = { code: err.code, message: err.message, path: err.path }; }
}
process.stdout.write(JSON.stringify(out));
`);
  const good = await runNode(app.dir, ['probe.mjs'], { guard: false });
  t.equal(good.code, 0, good.stderr);
  t.same(JSON.parse(good.stdout), { plugin: { files: PLUGIN_ORDER, method: 'files' }, weights: { files: ['w.bin'], method: 'shards' } });

  app.tamper('plugin/lib/deep/er/util.js', '2', '3');
  const w = app.read('weights/w.bin');
  w[2400] ^= 1;
  writeFileSync(app.path('weights/w.bin'), w);
  const bad = JSON.parse((await runNode(app.dir, ['probe.mjs'], { guard: false })).stdout);
  t.match(bad.plugin, { code: 'ERR_TRUSTLOAD_SIGNATURE', path: app.path('plugin/lib/deep/er/util.js') });
  t.match(bad.weights, { code: 'ERR_TRUSTLOAD_SIGNATURE', message: /bytes 2000 to 2500/ });
});

t.test("the same resources and subject as the independent writer's fixtures (scripts/sign-manifest.mjs)", async (t) => {
  const payload = (path) => Buffer.from(JSON.parse(readFileSync(path, 'utf8')).dsseEnvelope.payload, 'base64');
  const cases = [
    ['plugin', 'manifest.sigstore.json', { method: 'files' }],
    ['weights', 'model.sig', { method: 'shards', shardSize: 64, ignorePaths: ['README.md'] }],
  ];
  for (const [name, bundleName, options] of cases) {
    const dir = join(FIXTURES, 'manifests', name);
    const signed = JSON.parse(payload(join(dir, bundleName)));
    const ours = JSON.parse((await describeDirectory(dir, { bundleName, ...options })).statement);
    t.same(ours.predicate.resources, signed.predicate.resources, `${name}: resources`);
    t.same(ours.subject, signed.subject, `${name}: subject`);
  }
});

t.test("model_signing's own signed directory: the same resources and subject digest", async (t) => {
  const skip = sharedTestdataMissing();
  if (skip) return t.skip(skip);
  const dir = join(SHARED_TESTDATA, 'model-signing', 'v1.0.0-sigstore');
  const signed = JSON.parse(Buffer.from(JSON.parse(readFileSync(join(dir, 'model.sig'), 'utf8')).dsseEnvelope.payload, 'base64'));
  const ours = JSON.parse((await describeDirectory(dir, { method: 'files', bundleName: 'model.sig' })).statement);
  t.same(ours.subject, signed.subject, 'subject name and digest');
  t.same(ours.predicate.resources, signed.predicate.resources.map(({ name, algorithm, digest }) => ({ name, algorithm, digest })));
  const { ignore_paths: ignorePaths, ...serialization } = ours.predicate.serialization;
  t.same(serialization, signed.predicate.serialization, 'v1.0.0 recorded no ignore_paths; the rest is the same');
  t.same(ignorePaths, ['model.sig', ...GIT_PATHS]);
});
