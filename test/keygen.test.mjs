// `trustload keygen NAME`: an encrypted PKCS#8 private key (mode 0600) and
// its public key; keygen -> sign -> a guarded process loads the file; never
// overwrites; an empty passphrase writes an unencrypted key, with a warning.
import { createPrivateKey } from 'node:crypto';
import { readFileSync, statSync, writeFileSync } from 'node:fs';
import t from 'tap';
import { cleanEnv, makeApp, runNode, sha256Hex } from './helpers/app.mjs';
import { runCli } from './helpers/cli.mjs';

const PASSPHRASE = 'keygen passphrase 7e1b';
const cli = (app, args, env = {}) => runCli(args, { cwd: app.dir, env: cleanEnv(env) });

t.test('keygen, then sign with the key, then a guarded process trusting the public key loads the file', async (t) => {
  const app = makeApp(t, { files: { 'plugins/tool.mjs': "export const value = 'SIGNED by a new key';\n", 'host.mjs': "console.log((await import('./plugins/tool.mjs')).value);\n" } });
  const made = await cli(app, ['keygen', 'keys/release'], { TRUSTLOAD_KEY_PASSWORD: PASSPHRASE });
  t.equal(made.code, 0, `keygen exits 0\n${made.stderr}`);
  t.equal(made.stderr, '', 'no warning with a passphrase');
  t.equal(statSync(app.path('keys/release.key.pem')).mode & 0o777, 0o600, 'the private key is mode 0600');
  const pem = app.read('keys/release.key.pem').toString();
  t.match(pem, /^-----BEGIN ENCRYPTED PRIVATE KEY-----\n/, 'encrypted PKCS#8');
  t.throws(() => createPrivateKey({ key: pem, format: 'pem', passphrase: 'wrong' }), 'another passphrase does not open it');
  const key = createPrivateKey({ key: pem, format: 'pem', passphrase: PASSPHRASE });
  t.equal(key.asymmetricKeyDetails.namedCurve, 'prime256v1', 'ECDSA P-256 by default');
  const pub = app.read('keys/release.pub.pem');
  t.match(pub.toString(), /^-----BEGIN PUBLIC KEY-----\n/);

  writeFileSync(app.policyPath, JSON.stringify({
    version: 1,
    trust: { keys: { release: { path: './keys/release.pub.pem', sha256: sha256Hex(pub) } } },
    signers: { offline: { key: 'release', transparencyLog: false } },
    rules: [{ name: 'plugins', files: 'plugins/**', signers: ['offline'] }],
    unmatched: 'allow',
  }));
  const signed = await cli(app, ['sign', 'plugins/tool.mjs', '--key', 'keys/release.key.pem', '--policy', 'trustload.policy.json'], { TRUSTLOAD_KEY_PASSWORD: PASSPHRASE });
  t.equal(signed.code, 0, `sign exits 0\n${signed.stderr}`);
  t.match(signed.stdout, /verified +\S+plugins\/tool\.mjs \(rule "plugins", signer "offline"\)/);
  const loaded = await runNode(app.dir, ['host.mjs']);
  t.equal(loaded.stdout, 'SIGNED by a new key\n', `the guarded process loads it\n${loaded.stderr}`);
  for (const output of [made.stdout + made.stderr, signed.stdout + signed.stderr, app.read('plugins/tool.mjs.sigstore.json').toString()]) {
    t.notOk(output.includes(PASSPHRASE), 'the passphrase appears nowhere');
  }

  const again = await cli(app, ['keygen', 'keys/release'], { TRUSTLOAD_KEY_PASSWORD: PASSPHRASE });
  t.equal(again.code, 1, 'an existing key is never overwritten');
  t.match(again.stderr, /^trustload: ERR_TRUSTLOAD_SIGNING: keys\/release\.key\.pem exists: keygen never overwrites a key/);
  t.equal(app.read('keys/release.key.pem').toString(), pem, 'the key is as it was');
});

t.test('only the public key exists: nothing is written, the public key is kept', async (t) => {
  const app = makeApp(t, { policy: false });
  app.write('half.pub.pem', 'kept\n');
  const result = await cli(app, ['keygen', 'half'], { TRUSTLOAD_KEY_PASSWORD: PASSPHRASE });
  t.equal(result.code, 1);
  t.match(result.stderr, /half\.pub\.pem exists/);
  t.throws(() => statSync(app.path('half.key.pem')), 'no private key left behind');
  t.equal(app.read('half.pub.pem').toString(), 'kept\n');
});

t.test('an empty passphrase writes an unencrypted key with a warning; none at all (no terminal) is an error', async (t) => {
  const app = makeApp(t, { policy: false });
  const empty = await cli(app, ['keygen', 'plain', '--algorithm', 'ed25519'], { TRUSTLOAD_KEY_PASSWORD: '' });
  t.equal(empty.code, 0);
  t.equal(empty.stderr, 'trustload: WARNING: empty passphrase: the private key is written unencrypted\n');
  t.match(app.read('plain.key.pem').toString(), /^-----BEGIN PRIVATE KEY-----\n/);
  t.equal(createPrivateKey(app.read('plain.key.pem')).asymmetricKeyType, 'ed25519');

  const none = await cli(app, ['keygen', 'nothing']);
  t.equal(none.code, 1);
  t.match(none.stderr, /^trustload: ERR_TRUSTLOAD_SIGNING: keygen needs a passphrase: set TRUSTLOAD_KEY_PASSWORD/);
  t.throws(() => statSync(app.path('nothing.key.pem')), 'nothing written');
});

t.test('--algorithm and usage', async (t) => {
  const app = makeApp(t, { policy: false });
  for (const [algorithm, check] of [['p384', (k) => k.asymmetricKeyDetails.namedCurve === 'secp384r1'], ['rsa', (k) => k.asymmetricKeyType === 'rsa']]) {
    const result = await cli(app, ['keygen', algorithm, '--algorithm', algorithm], { TRUSTLOAD_KEY_PASSWORD: PASSPHRASE });
    t.equal(result.code, 0, algorithm);
    t.ok(check(createPrivateKey({ key: readFileSync(app.path(`${algorithm}.key.pem`)), passphrase: PASSPHRASE })), `${algorithm} key`);
  }
  for (const args of [['keygen'], ['keygen', 'a', 'b'], ['keygen', 'x', '--algorithm', 'dsa']]) {
    t.equal((await cli(app, args, { TRUSTLOAD_KEY_PASSWORD: PASSPHRASE })).code, 2, `${args.join(' ')}: exit 2`);
  }
  const help = await runCli(['keygen', '--help']);
  t.equal(help.code, 0);
  t.match(help.stdout, /--algorithm ALG[^\n]*\n +trustload keygen release/);
});
