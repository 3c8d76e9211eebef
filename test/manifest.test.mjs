// Signed directories (model-signing v1.0 manifests): `trustload verify DIR`
// and the API (verifyDirectory, readVerified, createVerifiedReadStream) in
// real node processes, on copies of the fixtures and of OpenSSF
// model-signing's own test data, tampered in every way a closed set must catch.
import { createHash } from 'node:crypto';
import { cpSync, readFileSync, renameSync, rmSync, symlinkSync, truncateSync, writeFileSync, appendFileSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import t from 'tap';
import { keyManifestBundle, manifestStatement, preAuthEncoding } from '../scripts/sign-manifest.mjs';
import { signFile } from '../scripts/sign-with-key.mjs';
import { INDEX, makeApp, PRIVATE_KEY_PEM, runNode, sha256Hex } from './helpers/app.mjs';
import { FIXTURES, pool, runCli, sharedTestdataMissing } from './helpers/cli.mjs';
import { IDENTITY, ISSUER, MODEL_SIGNING } from './helpers/fixtures.mjs';

const MANIFESTS = join(FIXTURES, 'manifests');
const KEYLESS_ROOT = join(MANIFESTS, 'keyless', 'trusted_root.json');
const sha256 = (bytes) => createHash('sha256').update(bytes).digest();

/** An app with the three fixture directories copied under models/, and a rule for each. */
function modelsApp(t, { extraRules = [] } = {}) {
  const app = makeApp(t, {
    policy: {
      version: 1,
      trust: {
        keys: { release: { path: './keys/p256.pub.pem', sha256: sha256Hex(readFileSync(join(FIXTURES, 'keys', 'p256.pub.pem'))) } },
        roots: { manifest: { path: KEYLESS_ROOT, sha256: sha256Hex(readFileSync(KEYLESS_ROOT)) } },
      },
      signers: {
        offline: { key: 'release', transparencyLog: false },
        ci: { roots: ['manifest'], issuer: ISSUER, identity: IDENTITY },
      },
      rules: [
        ...extraRules,
        { name: 'plugin', files: 'models/plugin/**', signers: ['offline'] },
        { name: 'weights', files: 'models/weights/**', signers: ['offline'], bundle: 'model.sig' },
        { name: 'keyless', files: 'models/keyless/**', signers: ['ci'] },
      ],
      unmatched: 'allow',
    },
  });
  cpSync(join(MANIFESTS, 'plugin'), app.path('models/plugin'), { recursive: true });
  cpSync(join(MANIFESTS, 'weights'), app.path('models/weights'), { recursive: true });
  cpSync(join(MANIFESTS, 'keyless', 'model'), app.path('models/keyless'), { recursive: true });
  return app;
}

const verifyDir = (app, rel, extra = []) => runCli(['verify', app.path(rel), '--policy', app.policyPath, ...extra], { cwd: app.dir });

function assertDirVerified(t, r, files) {
  t.equal(r.code, 0, `verifies\n${r.stderr}`);
  t.equal(r.stderr, '');
  t.match(r.stdout, new RegExp(`^verified   .*/ \\(signed directory, ${files} file\\(s\\)`));
}

/** `trustload verify` refused: exit 1, the code and the reason on the one stderr line. */
function assertDirRefused(t, r, code, message) {
  t.equal(r.code, 1, `exits 1\n${r.stdout}${r.stderr}`);
  const lines = r.stderr.split('\n').filter(Boolean);
  t.equal(lines.length, 1, `one stderr line: ${r.stderr}`);
  t.match(lines[0] ?? '', new RegExp(`^refused    \\S+: ${code}: `), `refused with ${code}`);
  t.match(lines[0] ?? '', message, 'the message says why');
}

t.test('the fixtures verify as signed directories', async (t) => {
  const app = modelsApp(t);
  const [plugin, weights, keyless] = await Promise.all(['models/plugin', 'models/weights', 'models/keyless'].map((d) => verifyDir(app, d)));
  t.test('plugin: files method, nested folders', async (t) => assertDirVerified(t, plugin, 5));
  // empty.txt (shards cannot list it) and README.md (ignored) are not extra files.
  t.test('weights: shards, rule bundle model.sig, ignore_paths, an empty file', async (t) => assertDirVerified(t, weights, 2));
  t.test('keyless: a private instance certificate, log entry and timestamp', async (t) => assertDirVerified(t, keyless, 2));
  const all = await runCli(['verify', '--policy', app.policyPath, '--json'], { cwd: app.dir });
  t.equal(all.code, 0, 'with no PATH, every signed directory under the policy folder verifies');
  const out = JSON.parse(all.stdout);
  const weightsResult = out.files.find((f) => f.path.endsWith('/weights')).directory;
  t.same(weightsResult.files.map((f) => [f.name, f.shards?.length]), [['config.json', 1], ['weights.bin', 4]], 'the JSON lists files and their shards');
  t.equal(weightsResult.shardSize, 64);
});

t.test('a fixture subject digest, recomputed independently from the files on disk', async (t) => {
  for (const [dir, bundle] of [['plugin', 'manifest.sigstore.json'], ['weights', 'model.sig'], ['keyless/model', 'manifest.sigstore.json']]) {
    const statement = JSON.parse(Buffer.from(JSON.parse(readFileSync(join(MANIFESTS, dir, bundle), 'utf8')).dsseEnvelope.payload, 'base64'));
    const concatenated = Buffer.concat(statement.predicate.resources.map((r) => {
      const [name, start, end] = r.name.split(':');
      const bytes = readFileSync(join(MANIFESTS, dir, name));
      return sha256(start === undefined ? bytes : bytes.subarray(Number(start), Number(end)));
    }));
    t.equal(statement.subject[0].digest.sha256, sha256(concatenated).toString('hex'), `${dir}: sha256 of the concatenated raw file digests`);
  }
});

t.test('OpenSSF model-signing test data', { skip: sharedTestdataMissing() }, async (t) => {
  const modelKey = join(MODEL_SIGNING, 'keys', 'certificate', 'signing-key-pub.pem');
  const app = makeApp(t, {
    policy: {
      version: 1,
      trust: { keys: { model: { path: modelKey, sha256: sha256Hex(readFileSync(modelKey)) } } },
      signers: {
        ibm: { issuer: 'https://sigstore.verify.ibm.com/oauth2', identity: 'stefanb@us.ibm.com' },
        p384: { key: 'model', transparencyLog: false },
      },
      rules: [
        { name: 'sigstore', files: 'sigstore/**', signers: ['ibm'], bundle: 'model.sig' },
        { name: 'elliptic', files: 'elliptic/**', signers: ['p384'], bundle: 'model.sig' },
      ],
    },
  });
  cpSync(join(MODEL_SIGNING, 'v1.0.0-sigstore'), app.path('sigstore'), { recursive: true });
  cpSync(join(MODEL_SIGNING, 'v1.0.0-elliptic-key'), app.path('elliptic'), { recursive: true });
  const [sigstore, elliptic] = await Promise.all([verifyDir(app, 'sigstore', ['--json']), verifyDir(app, 'elliptic', ['--json'])]);
  t.equal(sigstore.code, 0, `v1.0.0-sigstore verifies as a directory\n${sigstore.stderr}`);
  t.same(JSON.parse(sigstore.stdout).files[0].directory.files.map((f) => f.name), ['signme-1', 'signme-2']);
  t.equal(elliptic.code, 0, `v1.0.0-elliptic-key verifies as a single-file model\n${elliptic.stderr}`);
  const single = JSON.parse(elliptic.stdout).files[0].directory;
  t.same(single.files, [{ name: 'signme-1', sha256: 'bc9a717db6064a32cbe9eae6fc40651dd6d36ef1757183f590eff2b1765d7ebc' }], 'the one file "." is the one its subject names');
  t.equal(single.signer.key, 'model', 'signed by the P-384 key');
  writeFileSync(app.path('elliptic/signme-1'), 'tampered');
  assertDirRefused(t, await verifyDir(app, 'elliptic'), 'ERR_TRUSTLOAD_SIGNATURE', /content differs from what the manifest signs/);
});

// Each tampering of a copy, and the refusal it must get.
const TAMPERINGS = [
  {
    name: 'a changed weight byte',
    dir: 'models/weights',
    tamper: (app) => { const b = app.read('models/weights/weights.bin'); b[100] ^= 1; writeFileSync(app.path('models/weights/weights.bin'), b); },
    code: 'ERR_TRUSTLOAD_SIGNATURE',
    message: /weights\.bin: .*content differs from what the manifest signs \(bytes 64 to 128\)/,
  },
  {
    name: 'bytes appended after the last shard',
    dir: 'models/weights',
    tamper: (app) => appendFileSync(app.path('models/weights/weights.bin'), 'x'),
    code: 'ERR_TRUSTLOAD_SIGNATURE',
    message: /1 byte\(s\) were appended after the last signed shard/,
  },
  {
    name: 'a truncated file',
    dir: 'models/weights',
    tamper: (app) => truncateSync(app.path('models/weights/weights.bin'), 150),
    code: 'ERR_TRUSTLOAD_SIGNATURE',
    message: /shorter than the shards the manifest signs/,
  },
  {
    name: 'an extra file',
    dir: 'models/plugin',
    tamper: (app) => app.write('models/plugin/lib/index/index.js', 'evil()'),
    code: 'ERR_TRUSTLOAD_NOT_IN_MANIFEST',
    message: /not in the manifest of its signed directory: lib\/index\/index\.js/,
  },
  {
    name: 'an extra file with its own valid sibling bundle',
    dir: 'models/plugin',
    tamper: (app) => { app.write('models/plugin/lib/extra.js', 'evil()'); signFile(app.path('models/plugin/lib/extra.js'), PRIVATE_KEY_PEM); },
    code: 'ERR_TRUSTLOAD_NOT_IN_MANIFEST',
    message: /sibling bundles do not count.*lib\/extra\.js, lib\/extra\.js\.sigstore\.json/,
  },
  {
    name: 'a package npm nested under node_modules later',
    dir: 'models/plugin',
    tamper: (app) => app.write('models/plugin/node_modules/dep/index.js', 'evil()'),
    code: 'ERR_TRUSTLOAD_NOT_IN_MANIFEST',
    message: /added under node_modules\/ after the directory was signed/,
  },
  {
    name: 'a missing file',
    dir: 'models/plugin',
    tamper: (app) => rmSync(app.path('models/plugin/lib/util.cjs')),
    code: 'ERR_TRUSTLOAD_MISSING_FILE',
    message: /a file the manifest lists is missing from the signed directory: lib\/util\.cjs/,
  },
  {
    name: 'a listed file replaced by a folder',
    dir: 'models/plugin',
    tamper: (app) => { rmSync(app.path('models/plugin/lib/util.cjs')); mkdirSync(app.path('models/plugin/lib/util.cjs')); },
    code: 'ERR_TRUSTLOAD_MISSING_FILE',
    message: /missing from the signed directory: lib\/util\.cjs/,
  },
  {
    name: 'a renamed file',
    dir: 'models/weights',
    tamper: (app) => renameSync(app.path('models/weights/config.json'), app.path('models/weights/config.json5')),
    code: 'ERR_TRUSTLOAD_NOT_IN_MANIFEST',
    message: /renamed\?\): not listed: config\.json5; listed but missing: config\.json/,
  },
  {
    name: 'a symlink (allow_symlinks: false), even to a listed file',
    dir: 'models/plugin',
    tamper: (app) => symlinkSync('index.js', app.path('models/plugin/lib/alias.js')),
    code: 'ERR_TRUSTLOAD_NOT_IN_MANIFEST',
    message: /does not allow symbolic links .*: lib\/alias\.js/,
  },
  {
    name: 'a listed file replaced by a symlink to identical bytes elsewhere',
    dir: 'models/plugin',
    tamper: (app) => { app.write('outside.js', app.read('models/plugin/lib/index.js')); rmSync(app.path('models/plugin/lib/index.js')); symlinkSync(app.path('outside.js'), app.path('models/plugin/lib/index.js')); },
    code: 'ERR_TRUSTLOAD_NOT_IN_MANIFEST',
    message: /does not allow symbolic links/,
  },
  {
    name: 'a non-empty file where shards can list none',
    dir: 'models/weights',
    tamper: (app) => writeFileSync(app.path('models/weights/empty.txt'), 'now with content'),
    code: 'ERR_TRUSTLOAD_NOT_IN_MANIFEST',
    message: /empty\.txt/,
  },
];

t.test('tampered copies are refused, each with its own message', async (t) => {
  const apps = TAMPERINGS.map((c) => {
    const app = modelsApp(t);
    c.tamper(app);
    return app;
  });
  const results = await pool(TAMPERINGS, 4, (c, i) => verifyDir(apps[i], c.dir));
  TAMPERINGS.forEach((c, i) => t.test(c.name, async (t) => assertDirRefused(t, results[i], c.code, c.message)));
});

t.test('a directory whose manifest bundle was removed refuses every file in it', async (t) => {
  const app = modelsApp(t);
  rmSync(app.path('models/weights/model.sig'));
  const r = await verifyDir(app, 'models/weights');
  t.equal(r.code, 1);
  const lines = r.stderr.split('\n').filter(Boolean);
  t.ok(lines.length > 0 && lines.every((line) => /^refused    .*: ERR_TRUSTLOAD_NO_BUNDLE: no manifest bundle named model\.sig in .*\/models\/weights or a folder above it up to /.test(line)), r.stderr);
});

t.test('an extra file that no rule glob matches is still in the closed set', async (t) => {
  // The rule protects only .js files and the manifest bundle; util.js beside a signed util.cjs is still refused.
  const app = modelsApp(t, { extraRules: [{ name: 'js-only', files: ['models/plugin/manifest.sigstore.json', 'models/plugin/**/*.js'], signers: ['offline'] }] });
  app.write('models/plugin/data/notes.txt', 'unlisted');
  assertDirRefused(t, await verifyDir(app, 'models/plugin'), 'ERR_TRUSTLOAD_NOT_IN_MANIFEST', /data\/notes\.txt/);
});

t.test('a manifest signed by a signer the rule does not allow is refused', async (t) => {
  const app = modelsApp(t);
  cpSync(join(MANIFESTS, 'plugin'), app.path('models/keyless'), { recursive: true, force: true });
  rmSync(app.path('models/keyless/model.bin'));
  rmSync(app.path('models/keyless/tokenizer'), { recursive: true });
  assertDirRefused(t, await verifyDir(app, 'models/keyless'), 'ERR_TRUSTLOAD_UNTRUSTED_SIGNER', /signed with a key, but only keyless/);
});

// Malformed manifests, each validly signed by the trusted key: refused as a whole.
const statementOf = () => manifestStatement(join(MANIFESTS, 'plugin'));
const withResources = (edit) => { const s = statementOf(); s.predicate.resources = edit(s.predicate.resources); return s; };
const resealed = (s) => { // recompute the subject so only the defect under test remains
  s.subject[0].digest.sha256 = sha256(Buffer.concat(s.predicate.resources.map((r) => Buffer.from(r.digest, 'hex')))).toString('hex');
  return s;
};
const MALFORMED = [
  ['a ".." name', () => resealed(withResources((r) => [...r, { ...r[0], name: '../escape.js' }])), /"\.\.\/escape\.js" contains "\.\."/],
  ['an absolute name', () => resealed(withResources((r) => [...r, { ...r[0], name: '/etc/passwd' }])), /is absolute/],
  ['a "./" name', () => resealed(withResources((r) => [...r, { ...r[0], name: './lib/index.js' }])), /not a normal relative path/],
  ['a duplicate name', () => resealed(withResources((r) => [...r, r[0]])), /listed twice/],
  ['no files', () => resealed(withResources(() => [])), /lists no files/],
  ['a digest that is not hex', () => resealed(withResources((r) => [{ ...r[0], digest: 'zz'.repeat(32) }, ...r.slice(1)])), /not 64 hex digits/],
  ['an unknown method', () => { const s = statementOf(); s.predicate.serialization.method = 'tensors'; return s; }, /unknown serialization method "tensors"/],
  ['hash_type blake2', () => { const s = statementOf(); s.predicate.serialization.hash_type = 'blake2'; return s; }, /only sha256 is supported/],
  ['a blake3 resource', () => resealed(withResources((r) => [{ ...r[0], algorithm: 'blake3' }, ...r.slice(1)])), /only sha256 is supported/],
  ['a listed file under an ignored path', () => { const s = statementOf(); s.predicate.serialization.ignore_paths.push('lib'); return s; }, /lies under an ignored path/],
  ['an ignore path ".."', () => { const s = statementOf(); s.predicate.serialization.ignore_paths.push('..'); return s; }, /ignore path "\.\." contains "\.\."/],
  ['an empty ignore path', () => { const s = statementOf(); s.predicate.serialization.ignore_paths.push(''); return s; }, /ignore path "" is empty/],
  ['a subject that is not the digest of its resources', () => { const s = statementOf(); s.subject[0].digest.sha256 = '0'.repeat(64); return s; }, /the manifest is inconsistent/],
  ['shards that are not model_signing ranges', () => {
    const s = manifestStatement(join(MANIFESTS, 'weights'), { shardSize: 64, bundle: 'model.sig', ignorePaths: ['README.md'] });
    s.predicate.resources = s.predicate.resources.filter((r) => r.name !== 'weights.bin:64:128');
    return resealed(s);
  }, /not the ranges model_signing cuts/],
];

t.test('malformed manifests are refused as a whole (ERR_TRUSTLOAD_BAD_BUNDLE)', async (t) => {
  const apps = MALFORMED.map(([, make]) => {
    const app = modelsApp(t);
    const statement = make();
    const bundle = statement.predicate.serialization.method === 'shards' || statement.predicate.resources.some?.((r) => r.name.includes(':'))
      ? app.path('models/weights/model.sig') : app.path('models/plugin/manifest.sigstore.json');
    writeFileSync(bundle, JSON.stringify(keyManifestBundle(statement, PRIVATE_KEY_PEM)));
    return { app, dir: bundle.includes('/weights/') ? 'models/weights' : 'models/plugin' };
  });
  const results = await pool(apps, 4, ({ app, dir }) => verifyDir(app, dir));
  MALFORMED.forEach(([name, , message], i) => t.test(name, async (t) => assertDirRefused(t, results[i], 'ERR_TRUSTLOAD_BAD_BUNDLE', message)));
});

t.test('a model_signing 0.2 key signature (non-standard DSSE) is refused with how to re-sign', async (t) => {
  const app = modelsApp(t);
  const statement = {
    _type: 'https://in-toto.io/Statement/v1',
    subject: ['package.json', 'lib/index.js', 'lib/greet/greet.js', 'lib/util.cjs', 'data/config.json'].map((name) => ({ name, digest: { sha256: sha256Hex(app.read(`models/plugin/${name}`)) } })),
    predicateType: 'https://model_signing/Digests/v0.1',
    predicate: {},
  };
  const bundle = keyManifestBundle(statement, PRIVATE_KEY_PEM);
  const standard = structuredClone(bundle);
  // model_signing 0.2 signed the bare payload instead of its DSSE pre-authentication encoding.
  const { createPrivateKey, sign } = await import('node:crypto');
  bundle.dsseEnvelope.signatures[0].sig = sign('sha256', Buffer.from(bundle.dsseEnvelope.payload, 'base64'), createPrivateKey(PRIVATE_KEY_PEM)).toString('base64');
  writeFileSync(app.path('models/plugin/manifest.sigstore.json'), JSON.stringify(bundle));
  assertDirRefused(t, await verifyDir(app, 'models/plugin'), 'ERR_TRUSTLOAD_SIGNATURE', /non-standard DSSE encoding: re-sign the model with model_signing 1\.0/);
  t.ok(preAuthEncoding(Buffer.from('x')).length > 1, 'the standard encoding differs from the bare payload');
  writeFileSync(app.path('models/plugin/manifest.sigstore.json'), JSON.stringify(standard));
  assertDirVerified(t, await verifyDir(app, 'models/plugin'), 5);
});

// The API in a real process (not guarded: the API builds its guard from ./trustload.policy.json).
const PROBE = `
import * as trustload from ${JSON.stringify(INDEX)};
const out = {};
const attempt = async (name, fn) => {
  try { out[name] = { value: await fn() }; } catch (err) { out[name] = { error: { code: err.code, message: err.message, isTrustloadError: err instanceof trustload.TrustloadError } }; }
};
const collect = (stream) => new Promise((resolve) => {
  const chunks = [];
  stream.on('data', (c) => chunks.push(c));
  stream.on('error', (err) => resolve({ received: Buffer.concat(chunks).length, error: { code: err.code, message: err.message } }));
  stream.on('end', () => resolve({ received: Buffer.concat(chunks).length }));
});
for (const [name, fn] of Object.entries(${'{'}
  verifyDirectory: async () => { const d = await trustload.verifyDirectory('models/weights'); return { files: d.files.length, rule: d.rule, signer: d.signer.signer }; },
  weights: async () => (await trustload.readVerified('models/weights/weights.bin')).length,
  ignored: () => trustload.readVerified('models/weights/README.md'),
  empty: () => trustload.readVerified('models/weights/empty.txt'),
  bundle: () => trustload.readVerified('models/weights/model.sig'),
  esm: async () => (await trustload.readVerified('models/plugin/lib/index.js')).toString(),
  stream: () => collect(trustload.createVerifiedReadStream(process.env.STREAM)),
${'}'})) await attempt(name, fn);
process.stdout.write(JSON.stringify(out));
`;

t.test('API: verifyDirectory, readVerified and createVerifiedReadStream inside signed directories', async (t) => {
  const good = modelsApp(t);
  good.write('probe.mjs', PROBE);
  const tampered = modelsApp(t);
  tampered.write('probe.mjs', PROBE);
  const b = tampered.read('models/weights/weights.bin');
  b[150] ^= 1; // the third shard (128 to 192)
  writeFileSync(tampered.path('models/weights/weights.bin'), b);
  const [r1, r2] = await Promise.all([
    runNode(good.dir, ['probe.mjs'], { guard: false, env: { STREAM: 'models/weights/weights.bin' } }),
    runNode(tampered.dir, ['probe.mjs'], { guard: false, env: { STREAM: 'models/weights/weights.bin' } }),
  ]);
  t.equal(r1.code, 0, r1.stderr);
  const good1 = JSON.parse(r1.stdout);
  t.same(good1.verifyDirectory.value, { files: 2, rule: 'weights', signer: 'offline' });
  t.equal(good1.weights.value, 200, 'readVerified returns the 200 verified bytes');
  t.match(good1.ignored.error, { code: 'ERR_TRUSTLOAD_NOT_IN_MANIFEST', message: /ignored files are never loadable/, isTrustloadError: true });
  t.match(good1.empty.error, { code: 'ERR_TRUSTLOAD_NOT_IN_MANIFEST', message: /not listed/ }, 'an empty file shards cannot list is never loadable');
  t.match(good1.bundle.error, { code: 'ERR_TRUSTLOAD_NOT_IN_MANIFEST', message: /manifest bundle itself is never a resource/ });
  t.match(good1.esm.value, /greet/);
  t.same(good1.stream.value, { received: 200 }, 'the stream delivers every byte');
  const bad = JSON.parse(r2.stdout);
  t.match(bad.verifyDirectory.error, { code: 'ERR_TRUSTLOAD_SIGNATURE', message: /bytes 128 to 192/ });
  t.match(bad.weights.error, { code: 'ERR_TRUSTLOAD_SIGNATURE' }, 'readVerified refuses the tampered file');
  t.same(bad.stream.value.received, 128, 'the stream released the two shards that matched, and nothing of the third');
  t.match(bad.stream.value.error, { code: 'ERR_TRUSTLOAD_SIGNATURE', message: /bytes 128 to 192/ });
});

t.test('API: a "files" entry too large to hold is refused by the verified stream with how to sign it', async (t) => {
  const app = modelsApp(t);
  app.write('probe.mjs', PROBE);
  const big = app.path('models/plugin/data/big.bin');
  writeFileSync(big, '');
  truncateSync(big, 1024 * 1024 * 1024 + 1); // sparse: nothing is written or read
  const statement = manifestStatement(join(MANIFESTS, 'plugin'));
  statement.predicate.resources.push({ name: 'data/big.bin', algorithm: 'sha256', digest: '0'.repeat(64) });
  resealed(statement);
  writeFileSync(app.path('models/plugin/manifest.sigstore.json'), JSON.stringify(keyManifestBundle(statement, PRIVATE_KEY_PEM)));
  const r = await runNode(app.dir, ['probe.mjs'], { guard: false, env: { STREAM: 'models/plugin/data/big.bin' } });
  t.match(JSON.parse(r.stdout).stream.error, { code: 'ERR_TRUSTLOAD_UNSUPPORTED_LOAD', message: /sign the directory with method "shards"/ });
});
