// `trustload sign --keyless` (and `--key --tlog-upload`) against a private
// Sigstore instance served over real HTTP on 127.0.0.1: a file and a
// directory signed with SIGSTORE_ID_TOKEN, a token file and GitHub Actions'
// token endpoint load in guarded processes; every failure (a refused or
// expired token, a service answering 500 or hanging, an unreachable URL, a
// policy that refuses the identity) exits 1 with a clear message and leaves
// no bundle, no temporary file, and an older bundle as it was. No token ever
// appears in an output or a bundle.
import { chmodSync, copyFileSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import t from 'tap';
import { assertRefused, cleanEnv, makeApp, ROOT, runNode, sha256Hex } from './helpers/app.mjs';
import { runCli } from './helpers/cli.mjs';
import { githubClaims, githubIdentity, GITHUB_ISSUER, startSigstore, unsignedJwt } from './helpers/sigstore-instance.mjs';

const instance = await startSigstore();
t.teardown(() => instance.close());
const SERVICES = ['--fulcio-url', instance.url, '--rekor-url', instance.url, '--tsa-url', instance.url];

const HOST_FILE = "console.log((await import('./plugins/tool.mjs')).value);\n";
const HOST_DIR = "console.log((await import('./plugins/acme/index.mjs')).value);\n";
const FILES = {
  'plugins/tool.mjs': "export const value = 'SIGNED keyless file';\n",
  'plugins/acme/index.mjs': "import { part } from './lib/part.mjs';\nexport const value = `SIGNED keyless ${part}`;\n",
  'plugins/acme/lib/part.mjs': "export const part = 'directory';\n",
  'plugins/acme/package.json': '{ "name": "acme", "type": "module" }\n',
};

/** An app whose policy accepts the release workflow of acme/plugins certified by the private instance, for plugins/**. */
function keylessApp(t, { identity = githubIdentity(), files = {} } = {}) {
  // logged/ exists, as the folder of every rule does in a real app (else start-up warns about it).
  const app = makeApp(t, { files: { ...FILES, 'logged/.keep': '', ...files } });
  const rootPath = instance.writeTrustedRoot(app.dir);
  app.write('trustload.policy.json', JSON.stringify({
    version: 1,
    trust: {
      roots: { private: { path: './trusted_root.json', sha256: sha256Hex(readFileSync(rootPath)) } },
      keys: { release: { path: './keys/p256.pub.pem', sha256: sha256Hex(app.read('keys/p256.pub.pem')) } },
    },
    signers: {
      ci: { roots: ['private'], issuer: GITHUB_ISSUER, identity },
      logged: { key: 'release', roots: ['private'] },
    },
    rules: [
      { name: 'plugins', files: 'plugins/**', signers: ['ci'] },
      { name: 'logged', files: 'logged/**', signers: ['logged'] },
    ],
    unmatched: 'allow',
  }));
  return app;
}

const sign = (app, args, env = {}) => runCli(['sign', ...args], { cwd: app.dir, env: cleanEnv(env) });

function temporaryFiles(dir) {
  return readdirSync(dir, { recursive: true }).filter((name) => /(^|\/)\.[^/]*\.tmp$/.test(String(name)));
}

/** No secret in what the command printed or in any bundle below `dir`. */
function assertNoSecrets(t, dir, results, secrets) {
  const bundles = readdirSync(dir, { recursive: true }).filter((name) => /sigstore\.json$/.test(String(name))).map((name) => readFileSync(join(dir, String(name)), 'utf8'));
  const texts = [...results.flatMap((r) => [r.stdout, r.stderr]), ...bundles];
  for (const secret of secrets) {
    for (const part of [secret, ...secret.split('.').filter((p) => p.length >= 16)]) {
      t.notOk(texts.some((text) => text.includes(part)), 'no token (or a part of one) in the output or a bundle');
    }
  }
}

async function assertLoads(t, app, host, expected) {
  app.write('host.mjs', host);
  const loaded = await runNode(app.dir, ['host.mjs']);
  t.equal(loaded.code, 0, `a guarded process loads it\n${loaded.stderr}`);
  t.equal(loaded.stdout, expected);
}

t.test('SIGSTORE_ID_TOKEN: a file and a directory are signed, verified by --policy, and load in a guarded process; a tampered byte is refused', async (t) => {
  const app = keylessApp(t);
  const token = instance.token();
  const signed = await sign(app, ['plugins/tool.mjs', 'plugins/acme', '--keyless', ...SERVICES, '--policy', 'trustload.policy.json'], { SIGSTORE_ID_TOKEN: token });
  t.equal(signed.code, 0, `sign exits 0\n${signed.stderr}`);
  t.match(signed.stdout, /verified +\S+plugins\/tool\.mjs \(rule "plugins", signer "ci"\)/);
  t.match(signed.stdout, /verified +\S+plugins\/acme \(rule "plugins", signer "ci"\)/);
  const fileBundle = JSON.parse(app.read('plugins/tool.mjs.sigstore.json'));
  t.equal(fileBundle.mediaType, 'application/vnd.dev.sigstore.bundle.v0.3+json');
  t.ok(fileBundle.verificationMaterial.certificate, 'v0.3: the leaf as `certificate`');
  t.equal(fileBundle.verificationMaterial.tlogEntries.length, 1, 'logged in Rekor');
  t.equal(fileBundle.verificationMaterial.timestampVerificationData.rfc3161Timestamps.length, 1, 'timestamped by the TSA');
  t.equal(JSON.parse(app.read('plugins/acme/manifest.sigstore.json')).verificationMaterial.tlogEntries[0].kindVersion.kind, 'intoto');

  await assertLoads(t, app, HOST_FILE, 'SIGNED keyless file\n');
  await assertLoads(t, app, HOST_DIR, 'SIGNED keyless directory\n');
  const verified = await runCli(['verify', 'plugins'], { cwd: app.dir, env: cleanEnv() });
  t.equal(verified.code, 0, `trustload verify passes\n${verified.stderr}`);
  const blob = await runCli(['verify-blob', 'plugins/tool.mjs', '--bundle', 'plugins/tool.mjs.sigstore.json', '--certificate-identity', githubIdentity(), '--certificate-oidc-issuer', GITHUB_ISSUER, '--trusted-root', 'trusted_root.json'], { cwd: app.dir });
  t.equal(blob.code, 0, `verify-blob with the cosign flags passes\n${blob.stderr}`);
  assertNoSecrets(t, app.dir, [signed], [token]);

  app.tamper('plugins/acme/lib/part.mjs', 'directory', 'directorz');
  app.write('host.mjs', HOST_DIR);
  assertRefused(t, await runNode(app.dir, ['host.mjs']), 'ERR_TRUSTLOAD_SIGNATURE', { rule: 'plugins' });
});

t.test('--identity-token-file: a directory', async (t) => {
  const app = keylessApp(t);
  const token = instance.token();
  app.write('token.jwt', `${token}\n`);
  const signed = await sign(app, ['plugins/acme', '--keyless', '--identity-token-file', 'token.jwt', '--fulcio-url', instance.url, '--rekor-url', instance.url]);
  t.equal(signed.code, 0, `sign exits 0\n${signed.stderr}`);
  await assertLoads(t, app, HOST_DIR, 'SIGNED keyless directory\n');
  assertNoSecrets(t, app.dir, [signed], [token]);
});

t.test("GitHub Actions' token endpoint: audience=sigstore added to its query, the request token as bearer", async (t) => {
  const app = keylessApp(t);
  const env = instance.actionsEnv();
  const seen = instance.requests.length;
  const signed = await sign(app, ['plugins/tool.mjs', 'plugins/acme', '--keyless', ...SERVICES], env);
  t.equal(signed.code, 0, `sign exits 0\n${signed.stderr}`);
  const tokenRequests = instance.requests.slice(seen).filter((r) => r.service === 'token');
  t.equal(tokenRequests.length, 1, 'one token for both paths');
  const url = new URL(tokenRequests[0].url, instance.url);
  t.equal(url.searchParams.get('api-version'), '2.0', 'the query it had is kept');
  t.equal(url.searchParams.get('audience'), 'sigstore', 'audience=sigstore is added');
  t.equal(tokenRequests[0].authorization, `Bearer ${env.ACTIONS_ID_TOKEN_REQUEST_TOKEN}`);
  await assertLoads(t, app, HOST_FILE, 'SIGNED keyless file\n');
  await assertLoads(t, app, HOST_DIR, 'SIGNED keyless directory\n');
  assertNoSecrets(t, app.dir, [signed], [env.ACTIONS_ID_TOKEN_REQUEST_TOKEN, unsignedJwt({ ...githubClaims(), aud: 'sigstore' })]);

  instance.fail('token', 500);
  t.teardown(() => instance.fail('token'));
  const failed = await sign(app, ['plugins/tool.mjs', '--keyless', ...SERVICES], env);
  t.equal(failed.code, 1);
  t.match(failed.stderr, /^trustload: ERR_TRUSTLOAD_SIGNING: GitHub Actions' token endpoint at http:\/\/127\.0\.0\.1:\d+\/actions\/token answered HTTP 500: check that the job has "permissions: id-token: write"\n$/);
  assertNoSecrets(t, app.dir, [failed], [env.ACTIONS_ID_TOKEN_REQUEST_TOKEN]);

  instance.fail('token', 'hang');
  const hung = await sign(app, ['plugins/tool.mjs', '--keyless', ...SERVICES, '--timeout', '2'], env);
  t.equal(hung.code, 1, 'a hung token endpoint: exit 1');
  t.match(hung.stderr, /^trustload: ERR_TRUSTLOAD_SIGNING: GitHub Actions' token endpoint at \S+ did not answer within 2 s \(--timeout\): check the network and try again\n$/);
  t.same(temporaryFiles(app.dir), [], 'no temporary file left');
});

t.test('no token anywhere: a clear error naming the three sources, before any request', async (t) => {
  const app = keylessApp(t);
  const seen = instance.requests.length;
  const result = await sign(app, ['plugins/tool.mjs', '--keyless', ...SERVICES]);
  t.equal(result.code, 1);
  t.match(result.stderr, /^trustload: ERR_TRUSTLOAD_SIGNING: keyless signing needs an OIDC identity token: none found in SIGSTORE_ID_TOKEN, --identity-token-file FILE, or a GitHub Actions job with "permissions: id-token: write"\n$/);
  t.equal(instance.requests.length, seen, 'no request made');
});

t.test('failures: exit 1, a message naming the service, its URL and what to do; no bundle, no temporary file, the older bundle untouched', async (t) => {
  const app = keylessApp(t);
  const good = await sign(app, ['plugins/tool.mjs', 'plugins/acme', '--keyless', ...SERVICES], { SIGSTORE_ID_TOKEN: instance.token() });
  t.equal(good.code, 0, `signed once\n${good.stderr}`);
  app.write('plugins/fresh.mjs', 'export const value = 1;\n');
  const before = () => [app.read('plugins/tool.mjs.sigstore.json'), app.read('plugins/acme/manifest.sigstore.json')];
  const old = before();
  const url = instance.url.replace(/[.]/g, '\\.');
  const expired = instance.token({ ...githubClaims(), exp: Math.floor(Date.now() / 1000) - 60 });
  const foreign = instance.token({ ...githubClaims(), iss: 'https://issuer.evil.test' });
  // @sigstore/sign's own error for a token without a subject carries the whole token.
  const { sub: _sub, ...noSubject } = githubClaims();
  const cases = [
    { name: 'an expired token', env: { SIGSTORE_ID_TOKEN: expired }, message: /the identity token from SIGSTORE_ID_TOKEN expired at \S+Z: get a fresh one$/ },
    { name: 'a token with no subject', env: { SIGSTORE_ID_TOKEN: instance.token(noSubject) }, message: /the identity token is not a JWT with a subject Fulcio can certify$/ },
    { name: 'a token from an issuer Fulcio refuses', env: { SIGSTORE_ID_TOKEN: foreign }, message: new RegExp(`Fulcio at ${url} answered HTTP 401 \\(.*issuer https://issuer\\.evil\\.test is not supported\\): Fulcio refused the identity token`) },
    { name: 'Fulcio answers 500', fault: ['fulcio', 500], message: new RegExp(`Fulcio at ${url} answered HTTP 500 \\(.*\\): the service failed; try again later, or check --fulcio-url$`) },
    { name: 'Rekor answers 500', fault: ['rekor', 500], message: new RegExp(`Rekor at ${url} answered HTTP 500 \\(.*\\): the service failed; try again later, or check --rekor-url$`) },
    { name: 'the TSA answers 500', fault: ['tsa', 500], message: new RegExp(`the timestamp authority at ${url} answered HTTP 500`) },
    { name: 'Fulcio hangs', fault: ['fulcio', 'hang'], message: new RegExp(`Fulcio at ${url} did not answer within 2 s \\(--timeout\\): check --fulcio-url, the network, and try again$`) },
    { name: 'Rekor hangs', fault: ['rekor', 'hang'], message: new RegExp(`Rekor at ${url} did not answer within 2 s \\(--timeout\\): check --rekor-url, the network, and try again$`) },
    { name: 'Fulcio unreachable', services: ['--fulcio-url', 'http://127.0.0.1:1', '--rekor-url', instance.url], message: /Fulcio at http:\/\/127\.0\.0\.1:1 cannot be reached \(ECONNREFUSED\): check --fulcio-url, the network, and try again$/ },
  ];
  for (const c of cases) {
    await t.test(c.name, async (t) => {
      if (c.fault) {
        instance.fail(...c.fault);
        t.teardown(() => instance.fail(c.fault[0]));
      }
      const token = instance.token();
      const env = c.env ?? { SIGSTORE_ID_TOKEN: token };
      const started = Date.now();
      for (const target of ['plugins/tool.mjs', 'plugins/acme', 'plugins/fresh.mjs']) {
        const result = await sign(app, [target, '--keyless', ...(c.services ?? SERVICES), '--timeout', '2'], env);
        t.equal(result.code, 1, `${target}: exit 1`);
        const lines = result.stderr.split('\n').filter(Boolean);
        t.equal(lines.length, 1, `one line on stderr: ${result.stderr}`);
        t.match(lines[0], /^trustload: ERR_TRUSTLOAD_SIGNING: /);
        t.match(lines[0], c.message);
        assertNoSecrets(t, app.dir, [result], [env.SIGSTORE_ID_TOKEN]);
      }
      if (c.fault?.[1] === 'hang') t.ok(Date.now() - started < 3 * 8000, 'a hang ends after about the timeout');
      t.same(before(), old, 'the older bundles are untouched');
      t.notOk(readdirSync(app.path('plugins')).includes('fresh.mjs.sigstore.json'), 'no new bundle');
      t.same(temporaryFiles(app.dir), [], 'no temporary file left');
    });
  }
});

t.test('--policy: an identity the policy does not accept is exit 1, saying the bundle was written', async (t) => {
  const app = keylessApp(t, { identity: githubIdentity({ ref: 'refs/heads/main' }) });
  const token = instance.token();
  const result = await sign(app, ['plugins/tool.mjs', '--keyless', ...SERVICES, '--policy', 'trustload.policy.json'], { SIGSTORE_ID_TOKEN: token });
  t.equal(result.code, 1);
  t.match(result.stderr, /^trustload: ERR_TRUSTLOAD_UNTRUSTED_SIGNER: \S+plugins\/tool\.mjs\.sigstore\.json was written, but the policy \S+ refuses it: .*refs\/heads\/main.*refs\/tags\/v1\.0\.0.*Sign with a key or identity one of the rule's signers accepts, or change the policy\n$/);
  assertNoSecrets(t, app.dir, [result], [token]);
});

t.test('--key --tlog-upload: the signature is logged in the loopback Rekor and verifies for a key signer that requires the log', async (t) => {
  const app = keylessApp(t, {
    files: {
      'logged/tool.mjs': "export const value = 'SIGNED and logged';\n",
      'logged/pack/index.mjs': "export const value = 'SIGNED and logged directory';\n",
    },
  });
  copyFileSync(join(ROOT, 'fixtures', 'keys', 'p256.pem'), app.path('keys/signing.pem'));
  chmodSync(app.path('keys/signing.pem'), 0o600);
  const unlogged = await sign(app, ['logged/tool.mjs', '--key', 'keys/signing.pem', '--policy', 'trustload.policy.json']);
  t.equal(unlogged.code, 1, 'without --tlog-upload the policy (transparencyLog defaults to true) refuses it');
  t.match(unlogged.stderr, /^trustload: ERR_TRUSTLOAD_TLOG: /);
  const signed = await sign(app, ['logged/tool.mjs', 'logged/pack', '--key', 'keys/signing.pem', '--tlog-upload', '--rekor-url', instance.url, '--policy', 'trustload.policy.json']);
  t.equal(signed.code, 0, `sign exits 0\n${signed.stderr}`);
  t.match(signed.stdout, /verified +\S+logged\/tool\.mjs \(rule "logged", signer "logged"\)/);
  t.match(signed.stdout, /verified +\S+logged\/pack \(rule "logged", signer "logged"\)/);
  t.equal(JSON.parse(app.read('logged/tool.mjs.sigstore.json')).verificationMaterial.tlogEntries.length, 1);
  await assertLoads(t, app, "console.log((await import('./logged/tool.mjs')).value, (await import('./logged/pack/index.mjs')).value);\n", 'SIGNED and logged SIGNED and logged directory\n');
});
