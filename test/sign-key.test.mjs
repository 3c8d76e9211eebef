// `trustload sign --key`: what it writes verifies with `trustload verify`,
// `verify-blob --key` and in a real guarded process, for every key kind, for
// files and directories; a tampered byte is refused; encrypted keys, readable
// key files, failures that must leave nothing behind, and --policy.
import { execFileSync } from 'node:child_process';
import { createPrivateKey } from 'node:crypto';
import { chmodSync, copyFileSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import t from 'tap';
import { assertRefused, cleanEnv, INDEX, makeApp, pool, ROOT, runNode, sha256Hex } from './helpers/app.mjs';
import { runCli } from './helpers/cli.mjs';
import { manifestStatement } from '../scripts/sign-manifest.mjs';

const KEYS = ['p256', 'p384', 'ed25519', 'rsa'];
const PASSPHRASE = 'correct horse battery staple 42';

/** An app whose policy trusts fixtures/keys/KIND.pub.pem for plugins/**, with the private key at keys/signing.pem (mode 0600). */
function keyApp(t, kind, { files = {}, rules } = {}) {
  const pub = readFileSync(join(ROOT, 'fixtures', 'keys', `${kind}.pub.pem`));
  const app = makeApp(t, {
    files,
    extra: {
      trust: { keys: { release: { path: `./keys/${kind}.pub.pem`, sha256: sha256Hex(pub) } } },
      ...(rules ? { rules } : {}),
    },
  });
  app.write(`keys/${kind}.pub.pem`, pub);
  copyFileSync(join(ROOT, 'fixtures', 'keys', `${kind}.pem`), app.path('keys/signing.pem'));
  chmodSync(app.path('keys/signing.pem'), 0o600);
  return app;
}

const sign = (app, args, env = {}) => runCli(['sign', ...args], { cwd: app.dir, env: cleanEnv(env) });

/** Names beginning with "." and ending with ".tmp" anywhere below `dir`: a signer's temporary files. */
function temporaryFiles(dir) {
  return readdirSync(dir, { recursive: true }).filter((name) => /(^|\/)\.[^/]*\.tmp$/.test(String(name)));
}

const HOST_FILE = "const { value } = await import('./plugins/tool.mjs');\nconsole.log(value);\n";
const HOST_DIR = "const { value } = await import('./plugins/acme/index.mjs');\nconsole.log(value);\n";
const DIR_FILES = {
  'plugins/acme/index.mjs': "import { part } from './lib/part.mjs';\nexport const value = `SIGNED ${part}`;\n",
  'plugins/acme/lib/part.mjs': "export const part = 'directory';\n",
  'plugins/acme/package.json': '{ "name": "acme", "type": "module" }\n',
};

t.test('every key kind: a signed file loads in a guarded process, verifies on the command line, and a tampered byte is refused', async (t) => {
  await pool(KEYS, 2, async (kind) => {
    await t.test(kind, async (t) => {
      const app = keyApp(t, kind, { files: { 'plugins/tool.mjs': "export const value = 'SIGNED file';\n", 'host.mjs': HOST_FILE } });
      const signed = await sign(app, ['plugins/tool.mjs', '--key', 'keys/signing.pem']);
      t.equal(signed.code, 0, `sign exits 0\n${signed.stderr}`);
      t.match(signed.stdout, /signed +\S+plugins\/tool\.mjs -> \S+plugins\/tool\.mjs\.sigstore\.json/);
      t.equal(signed.stderr, '', 'nothing on stderr');
      const bundle = JSON.parse(app.read('plugins/tool.mjs.sigstore.json'));
      t.equal(bundle.mediaType, 'application/vnd.dev.sigstore.bundle.v0.3+json');
      t.same(bundle.verificationMaterial.tlogEntries, [], 'no log entry by default');
      t.equal(bundle.messageSignature.messageDigest.algorithm, kind === 'p384' ? 'SHA2_384' : 'SHA2_256');

      const loaded = await runNode(app.dir, ['host.mjs']);
      t.equal(loaded.code, 0, `the guarded process loads it\n${loaded.stderr}`);
      t.equal(loaded.stdout, 'SIGNED file\n');
      const verified = await runCli(['verify', 'plugins/tool.mjs'], { cwd: app.dir, env: cleanEnv() });
      t.equal(verified.code, 0, `trustload verify passes\n${verified.stderr}`);
      const blob = await runCli(['verify-blob', 'plugins/tool.mjs', '--bundle', 'plugins/tool.mjs.sigstore.json', '--key', `keys/${kind}.pub.pem`, '--insecure-ignore-tlog'], { cwd: app.dir });
      t.equal(blob.code, 0, `verify-blob --key passes\n${blob.stderr}`);

      app.tamper('plugins/tool.mjs');
      assertRefused(t, await runNode(app.dir, ['host.mjs']), 'ERR_TRUSTLOAD_SIGNATURE', { rule: 'plugins' });
    });
  });
});

t.test('a signed directory loads in a guarded process and verifies; a tampered byte is refused', async (t) => {
  await pool(['p256', 'ed25519'], 2, async (kind) => {
    await t.test(kind, async (t) => {
      const app = keyApp(t, kind, { files: { ...DIR_FILES, 'host.mjs': HOST_DIR } });
      const signed = await sign(app, ['plugins/acme', '--key', 'keys/signing.pem']);
      t.equal(signed.code, 0, `sign exits 0\n${signed.stderr}`);
      t.match(signed.stdout, /signed +\S+plugins\/acme \(3 file\(s\)\) -> \S+plugins\/acme\/manifest\.sigstore\.json/);
      if (kind === 'ed25519') t.match(signed.stderr, /model_signing verifies directory signatures by EC keys only/, 'says model_signing cannot verify it');
      else t.equal(signed.stderr, '', 'nothing on stderr for an EC key');
      const bundle = JSON.parse(app.read('plugins/acme/manifest.sigstore.json'));
      t.equal(bundle.dsseEnvelope.payloadType, 'application/vnd.in-toto+json');
      t.same(temporaryFiles(app.dir), [], 'no temporary file left');

      const loaded = await runNode(app.dir, ['host.mjs']);
      t.equal(loaded.code, 0, `the guarded process loads it\n${loaded.stderr}`);
      t.equal(loaded.stdout, 'SIGNED directory\n');
      const verified = await runCli(['verify', 'plugins/acme'], { cwd: app.dir, env: cleanEnv() });
      t.equal(verified.code, 0, `trustload verify passes\n${verified.stderr}`);
      t.match(verified.stdout, /verified +\S+plugins\/acme\/ \(signed directory, 3 file\(s\)/);

      app.tamper('plugins/acme/lib/part.mjs', 'directory', 'directorz');
      assertRefused(t, await runNode(app.dir, ['host.mjs']), 'ERR_TRUSTLOAD_SIGNATURE', { rule: 'plugins' });
    });
  });
});

t.test('an encrypted key: the passphrase from TRUSTLOAD_KEY_PASSWORD; without one, or a wrong one, nothing is written', async (t) => {
  const app = keyApp(t, 'p256', { files: { 'plugins/tool.mjs': "export const value = 'SIGNED file';\n", 'host.mjs': HOST_FILE } });
  const encrypted = createPrivateKey(readFileSync(app.path('keys/signing.pem'))).export({ type: 'pkcs8', format: 'pem', cipher: 'aes-256-cbc', passphrase: PASSPHRASE });
  writeFileSync(app.path('keys/signing.pem'), encrypted, { mode: 0o600 });

  const noPassphrase = await sign(app, ['plugins/tool.mjs', '--key', 'keys/signing.pem']);
  t.equal(noPassphrase.code, 1, 'no terminal and no TRUSTLOAD_KEY_PASSWORD: exit 1');
  t.match(noPassphrase.stderr, /^trustload: ERR_TRUSTLOAD_SIGNING: the private key keys\/signing\.pem is encrypted: set TRUSTLOAD_KEY_PASSWORD/);
  const wrong = await sign(app, ['plugins/tool.mjs', '--key', 'keys/signing.pem'], { TRUSTLOAD_KEY_PASSWORD: `${PASSPHRASE}!` });
  t.equal(wrong.code, 1, 'a wrong passphrase: exit 1');
  t.match(wrong.stderr, /^trustload: ERR_TRUSTLOAD_SIGNING: cannot decrypt the private key keys\/signing\.pem: wrong passphrase\n$/);
  t.same(readdirSync(app.path('plugins')), ['tool.mjs'], 'no bundle and no temporary file');

  const signed = await sign(app, ['plugins/tool.mjs', '--key', 'keys/signing.pem'], { TRUSTLOAD_KEY_PASSWORD: PASSPHRASE });
  t.equal(signed.code, 0, `signs with the passphrase from the environment\n${signed.stderr}`);
  const loaded = await runNode(app.dir, ['host.mjs']);
  t.equal(loaded.stdout, 'SIGNED file\n', 'and the guarded process loads it');
  for (const result of [noPassphrase, wrong, signed]) {
    const output = result.stdout + result.stderr;
    t.notOk(output.includes(PASSPHRASE) || output.includes('BEGIN'), 'no passphrase and no key material in the output');
  }
  t.notOk(app.read('plugins/tool.mjs.sigstore.json').toString().includes(PASSPHRASE), 'nor in the bundle');
});

t.test('a private key readable by others gets a one-line warning', async (t) => {
  const app = keyApp(t, 'p256', { files: { 'plugins/tool.mjs': 'export const value = 1;\n' } });
  chmodSync(app.path('keys/signing.pem'), 0o640);
  const signed = await sign(app, ['plugins/tool.mjs', '--key', 'keys/signing.pem']);
  t.equal(signed.code, 0, 'still signs');
  t.equal(signed.stderr, 'trustload: WARNING: the private key keys/signing.pem is readable by other users (mode 640): chmod 600 keys/signing.pem\n');
});

t.test('--tlog-upload to a Rekor that cannot be reached: exit 1 naming it, the older bundle untouched, no temporary file', async (t) => {
  const app = keyApp(t, 'p256', { files: { 'plugins/tool.mjs': "export const value = 'SIGNED file';\n", ...DIR_FILES } });
  t.equal((await sign(app, ['plugins/tool.mjs', 'plugins/acme', '--key', 'keys/signing.pem'])).code, 0, 'signed once without a log');
  const before = [app.read('plugins/tool.mjs.sigstore.json'), app.read('plugins/acme/manifest.sigstore.json')];
  app.write('plugins/tool.mjs', "export const value = 'changed';\n");
  for (const target of ['plugins/tool.mjs', 'plugins/acme']) {
    const failed = await sign(app, [target, '--key', 'keys/signing.pem', '--tlog-upload', '--rekor-url', 'http://127.0.0.1:1', '--timeout', '5']);
    t.equal(failed.code, 1, `${target}: exit 1`);
    t.match(failed.stderr, /^trustload: ERR_TRUSTLOAD_SIGNING: Rekor at http:\/\/127\.0\.0\.1:1 cannot be reached \(ECONNREFUSED\): check --rekor-url, the network, and try again\n$/);
  }
  t.same([app.read('plugins/tool.mjs.sigstore.json'), app.read('plugins/acme/manifest.sigstore.json')], before, 'the older bundles are untouched');
  t.same(temporaryFiles(app.dir), [], 'no temporary file left');
});

t.test('--tlog-upload of a file with a key Rekor cannot log a file signature for: refused before signing', async (t) => {
  const app = keyApp(t, 'p384', { files: { 'plugins/tool.mjs': 'export const value = 1;\n' } });
  const failed = await sign(app, ['plugins/tool.mjs', '--key', 'keys/signing.pem', '--tlog-upload', '--rekor-url', 'http://127.0.0.1:1']);
  t.equal(failed.code, 1);
  t.match(failed.stderr, /cannot be logged \(Rekor's file entries take SHA-256 signatures\)/);
  t.same(readdirSync(app.path('plugins')), ['tool.mjs'], 'nothing written');
});

t.test('--policy: verified as the loader would, a refusal after writing is exit 1, an unprotected path a warning', async (t) => {
  const app = keyApp(t, 'p256', { files: { 'plugins/tool.mjs': 'export const value = 1;\n', 'other/free.mjs': 'export const value = 2;\n', ...DIR_FILES } });
  const ok = await sign(app, ['plugins/tool.mjs', 'plugins/acme', '--key', 'keys/signing.pem', '--policy', 'trustload.policy.json']);
  t.equal(ok.code, 0, `verified\n${ok.stderr}`);
  t.match(ok.stdout, /verified +\S+plugins\/tool\.mjs \(rule "plugins", signer "offline"\)/);
  t.match(ok.stdout, /verified +\S+plugins\/acme \(rule "plugins", signer "offline"\)/);

  const free = await sign(app, ['other/free.mjs', '--key', 'keys/signing.pem', '--policy', 'trustload.policy.json']);
  t.equal(free.code, 0, 'an unprotected path still signs');
  t.match(free.stderr, /^trustload: WARNING: no rule of trustload\.policy\.json protects \S+other\/free\.mjs: a guarded process loads it without checking any signature\n$/);

  app.write('plugins/beta/index.mjs', 'export const value = 3;\n');
  const wrongName = await sign(app, ['plugins/beta', '--key', 'keys/signing.pem', '--bundle', 'model.sig', '--policy', 'trustload.policy.json']);
  t.equal(wrongName.code, 1, 'a manifest bundle name the rule does not read: exit 1');
  t.match(wrongName.stderr, /rule "plugins" covers \S+ but reads the manifest bundle manifest\.sigstore\.json: sign with --bundle manifest\.sigstore\.json/);

  copyFileSync(join(ROOT, 'fixtures', 'keys', 'rsa.pem'), app.path('keys/other.pem'));
  chmodSync(app.path('keys/other.pem'), 0o600);
  for (const target of ['plugins/tool.mjs', 'plugins/acme']) {
    const refused = await sign(app, [target, '--key', 'keys/other.pem', '--policy', 'trustload.policy.json']);
    t.equal(refused.code, 1, `${target}: another key, refused by the policy: exit 1`);
    t.match(refused.stderr.split('\n').at(-2), /^trustload: ERR_TRUSTLOAD_(SIGNATURE|UNTRUSTED_SIGNER): \S+sigstore\.json was written, but the policy \S+trustload\.policy\.json refuses it: .*Sign with a key or identity one of the rule's signers accepts, or change the policy$/);
  }
});

t.test('usage errors exit 2', async (t) => {
  const app = keyApp(t, 'p256', { files: { 'plugins/tool.mjs': 'export const value = 1;\n' } });
  for (const [args, message] of [
    [['plugins/tool.mjs'], /exactly one of --key PEM or --keyless/],
    [['plugins/tool.mjs', '--key', 'keys/signing.pem', '--keyless'], /exactly one of --key PEM or --keyless/],
    [['--key', 'keys/signing.pem'], /at least one PATH/],
    [['plugins/tool.mjs', '--keyless', '--tlog-upload'], /--tlog-upload applies to --key only/],
    [['plugins/tool.mjs', '--key', 'keys/signing.pem', '--fulcio-url', 'https://f'], /--fulcio-url applies to --keyless only/],
    [['plugins/tool.mjs', '--key', 'keys/signing.pem', '--timeout', 'soon'], /--timeout takes a number of seconds/],
    [['plugins/tool.mjs', '--key', 'keys/signing.pem', '--bundle', '../x'], /--bundle takes a file name/],
    [['plugins/tool.mjs', '--key', 'keys/signing.pem', '--method', 'blocks'], /--method is files or shards/],
    [['plugins/tool.mjs', '--key', 'keys/signing.pem', '--unknown'], /unknown option --unknown/],
  ]) {
    const result = await sign(app, args);
    t.equal(result.code, 2, `${args.join(' ')}: exit 2`);
    t.match(result.stderr, message);
  }
  const publicKey = await sign(app, ['plugins/tool.mjs', '--key', 'keys/p256.pub.pem']);
  t.equal(publicKey.code, 1);
  t.match(publicKey.stderr, /keys\/p256\.pub\.pem is a public key: --key takes the private key/);
  const help = await runCli(['sign', '--help']);
  t.equal(help.code, 0);
  for (const flag of ['--key', '--keyless', '--identity-token-file', '--fulcio-url', '--rekor-url', '--tsa-url', '--tlog-upload', '--timeout', '--bundle', '--method', '--shard-size', '--ignore', '--package', '--policy']) {
    t.match(help.stdout, new RegExp(`\\n  ${flag} [^\\n]*\\n(?:[^\\n]*\\n)*? +trustload sign `), `--help explains ${flag} with an example`);
  }
});

t.test('the API: sign(path, options) writes what the command writes; unusable options are a TypeError', async (t) => {
  const app = keyApp(t, 'p256', { files: { ...DIR_FILES, 'plugins/tool.mjs': "export const value = 'SIGNED file';\n" } });
  app.write('api.mjs', `import { sign } from ${JSON.stringify(INDEX)};
const file = await sign('plugins/tool.mjs', { key: 'keys/signing.pem', policy: 'trustload.policy.json' });
const dir = await sign('plugins/acme', { key: 'keys/signing.pem' });
console.log(JSON.stringify({ file: [file.kind, file.bundle, file.policy.decision, file.policy.rule], dir: [dir.kind, dir.bundle, dir.files] }));
await sign('plugins/tool.mjs', { key: 'keys/signing.pem', keyless: true }).catch((err) => console.log(err.name, err.message));
`);
  const result = await runNode(app.dir, ['api.mjs'], { guard: false });
  t.equal(result.code, 0, result.stderr);
  const [json, error] = result.stdout.trim().split('\n');
  t.same(JSON.parse(json), {
    file: ['file', app.path('plugins/tool.mjs.sigstore.json'), 'verified', 'plugins'],
    dir: ['directory', app.path('plugins/acme/manifest.sigstore.json'), 3],
  });
  t.equal(error, 'TypeError sign needs exactly one of --key PEM or --keyless');
  const verified = await runCli(['verify', 'plugins'], { cwd: app.dir, env: cleanEnv() });
  t.equal(verified.code, 0, `what the API signed verifies\n${verified.stderr}`);
});

t.test("a signed directory's statement is what model_signing signs, recomputed independently from the files", async (t) => {
  const files = {
    ...DIR_FILES,
    'plugins/acme/data/weights.bin': Buffer.alloc(50, 7),
    'plugins/acme/cache/tmp.txt': 'ignored\n',
    'plugins/acme/.git/HEAD': 'ref: refs/heads/main\n',
    'plugins/acme/.gitignore': 'cache\n',
  };
  for (const [name, args, shardSize] of [['files', [], undefined], ['shards', ['--method', 'shards', '--shard-size', '16'], 16]]) {
    await t.test(name, async (t) => {
      const app = keyApp(t, 'p256', { files });
      const signed = await sign(app, ['plugins/acme', '--key', 'keys/signing.pem', '--ignore', 'cache', ...args]);
      t.equal(signed.code, 0, signed.stderr);
      const payload = JSON.parse(Buffer.from(JSON.parse(app.read('plugins/acme/manifest.sigstore.json')).dsseEnvelope.payload, 'base64'));
      const expected = manifestStatement(app.path('plugins/acme'), { shardSize, ignorePaths: ['.git', '.github', '.gitattributes', '.gitignore', 'cache'] });
      t.same(payload.subject, expected.subject, 'the subject digest over the resources');
      t.same(payload.predicate.resources, expected.predicate.resources, 'every resource, in model_signing order');
      const { ignore_paths: ignored, ...serialization } = payload.predicate.serialization;
      const { ignore_paths: expectedIgnored, ...expectedSerialization } = expected.predicate.serialization;
      t.same(serialization, expectedSerialization);
      t.same([...ignored].sort(), [...expectedIgnored].sort(), 'ignore paths recorded: the defaults, --ignore and the bundle');
      t.equal(payload.predicateType, 'https://model_signing/signature/v1.0');
      const verified = await runCli(['verify', 'plugins/acme'], { cwd: app.dir, env: cleanEnv() });
      t.equal(verified.code, 0, `verifies\n${verified.stderr}`);
    });
  }
});

t.test('--package: exactly what npm pack publishes is signed, packed and installed it loads under the guard; a bundle npm would leave out is refused', async (t) => {
  const pkg = (files) => `${JSON.stringify({ name: 'acme-pkg', version: '1.0.0', type: 'module', main: 'index.mjs', files })}\n`;
  const app = keyApp(t, 'p256', {
    files: {
      'plugins/pkg/package.json': pkg(['index.mjs', 'manifest.sigstore.json']),
      'plugins/pkg/index.mjs': "export const value = 'SIGNED package';\n",
      'plugins/pkg/notes.txt': 'not published\n',
    },
  });
  const left = app.write('plugins/pkg/package.json', pkg(['index.mjs']));
  const refused = await sign(app, ['plugins/pkg', '--key', 'keys/signing.pem', '--package']);
  t.equal(refused.code, 1, 'the bundle would not be published: exit 1');
  t.match(refused.stderr, /^trustload: ERR_TRUSTLOAD_SIGNING: npm pack would not publish manifest\.sigstore\.json from \S+plugins\/pkg/);
  t.notOk(readdirSync(app.path('plugins/pkg')).includes('manifest.sigstore.json'), 'nothing written');

  writeFileSync(left, pkg(['index.mjs', 'manifest.sigstore.json']));
  const signed = await sign(app, ['plugins/pkg', '--key', 'keys/signing.pem', '--package']);
  t.equal(signed.code, 0, signed.stderr);
  const payload = JSON.parse(Buffer.from(JSON.parse(app.read('plugins/pkg/manifest.sigstore.json')).dsseEnvelope.payload, 'base64'));
  t.same(payload.predicate.resources.map((r) => r.name), ['index.mjs', 'package.json'], 'what npm publishes, not notes.txt');

  const packed = execFileSync('npm', ['pack', '--silent', '--pack-destination', app.dir], { cwd: app.path('plugins/pkg'), env: { ...cleanEnv(), npm_config_cache: app.path('.npm') }, encoding: 'utf8' }).trim();
  const consumer = makeApp(t, { rules: [{ name: 'deps', files: 'node_modules/acme-pkg/**', signers: ['offline'] }] });
  consumer.write('package.json', '{ "name": "consumer", "version": "1.0.0", "type": "module" }\n');
  execFileSync('npm', ['install', '--offline', '--no-audit', '--no-fund', '--silent', join(app.dir, packed)], { cwd: consumer.dir, env: { ...cleanEnv(), npm_config_cache: app.path('.npm') } });
  consumer.write('host.mjs', "console.log((await import('acme-pkg')).value);\n");
  const loaded = await runNode(consumer.dir, ['host.mjs']);
  t.equal(loaded.code, 0, `the installed package loads under the guard\n${loaded.stderr}`);
  t.equal(loaded.stdout, 'SIGNED package\n');
  consumer.tamper('node_modules/acme-pkg/index.mjs');
  assertRefused(t, await runNode(consumer.dir, ['host.mjs']), 'ERR_TRUSTLOAD_SIGNATURE', { rule: 'deps' });
});
