// The README's "Signing in CI" signer must accept exactly the release
// workflow of one repository on a version tag, and nothing that merely looks
// like it. This test reads the signer from the README, checks that
// `trustload policy init` writes the same one, then signs a plugin directory
// keylessly (against a private Sigstore instance on 127.0.0.1) as that
// workflow and as each look-alike, and asks `trustload verify` about each.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import t from 'tap';
import { cleanEnv, makeApp, ROOT, sha256Hex } from './helpers/app.mjs';
import { runCli } from './helpers/cli.mjs';
import { githubClaims, startSigstore } from './helpers/sigstore-instance.mjs';

const README = readFileSync(join(ROOT, 'README.md'), 'utf8');
const SIGNER = JSON.parse(/<!-- ci-signer[^>]*-->\n```json\n([\s\S]*?)\n```/.exec(README)[1]);
// The command as a shell would split it: one line once continued, single quotes removed.
const ARGS = /<!-- ci-policy-init -->\n```sh\ntrustload policy init ([\s\S]*?)\n```/.exec(README)[1]
  .replace(/\\\n/g, ' ').trim().split(/\s+/).map((arg) => arg.replace(/^'(.*)'$/, '$1'));

const instance = await startSigstore();
t.teardown(() => instance.close());

const RELEASE = { repository: 'acme/plugins', workflow: 'release.yml', ref: 'refs/tags/v1.2.3', repositoryId: '123456', ownerId: '7890' };

t.test('policy init --github-... writes the README signer', async (t) => {
  const app = makeApp(t);
  const result = await runCli(['policy', 'init', ...ARGS, '--out', 'ci.policy.json'], { cwd: app.dir });
  t.equal(result.code, 0, result.stderr);
  const { roots, ...signer } = Object.values(JSON.parse(app.read('ci.policy.json').toString()).signers)[0];
  t.same(roots, ['sigstore-public-good']);
  t.same(signer, SIGNER);
});

/** Signs plugins/weather as a workflow run with `claims`, then verifies it against the README signer. */
async function signedAs(t, claims) {
  const app = makeApp(t, { files: { 'plugins/weather/index.mjs': "export const forecast = 'sunny';\n" } });
  const root = instance.writeTrustedRoot(app.dir);
  app.write('trustload.policy.json', JSON.stringify({
    version: 1,
    trust: { roots: { private: { path: './trusted_root.json', sha256: sha256Hex(readFileSync(root)) } } },
    // The README's signer as written; only the instance that certifies it is the test's own.
    signers: { release: { ...SIGNER, roots: ['private'] } },
    rules: [{ name: 'plugins', files: 'plugins/**', signers: ['release'] }],
  }));
  const signed = await runCli(['sign', 'plugins/weather', '--keyless', '--fulcio-url', instance.url, '--rekor-url', instance.url], {
    cwd: app.dir,
    env: cleanEnv({ SIGSTORE_ID_TOKEN: instance.token(claims) }),
  });
  t.equal(signed.code, 0, signed.stderr);
  return runCli(['verify', 'plugins/weather'], { cwd: app.dir });
}

t.test('the release workflow on a version tag is accepted', async (t) => {
  for (const ref of ['refs/tags/v1.2.3', 'refs/tags/v2.0.0-rc.1']) {
    const result = await signedAs(t, githubClaims({ ...RELEASE, ref }));
    t.equal(result.code, 0, `${ref}: ${result.stderr}`);
  }
});

t.test('look-alikes are refused', async (t) => {
  const cases = {
    'a branch build': githubClaims({ ...RELEASE, ref: 'refs/heads/main' }),
    'a tag that is not a version': githubClaims({ ...RELEASE, ref: 'refs/tags/nightly' }),
    'another workflow of the repository': githubClaims({ ...RELEASE, workflow: 'deploy.yml' }),
    'a repository of the same name created later': githubClaims({ ...RELEASE, repositoryId: '999999' }),
    'an owner of the same name created later': githubClaims({ ...RELEASE, ownerId: '1' }),
    'another repository': githubClaims({ ...RELEASE, repository: 'acme/plugins-evil' }),
    'a manual run pointed at the tag': { ...githubClaims(RELEASE), event_name: 'workflow_dispatch' },
  };
  for (const [name, claims] of Object.entries(cases)) {
    const result = await signedAs(t, claims);
    t.equal(result.code, 1, name);
    t.match(result.stderr, 'ERR_TRUSTLOAD_UNTRUSTED_SIGNER', name);
  }
});
