// `trustload policy init`: every form writes a policy that `policy check`
// accepts and that a guarded process enforces (signed files load, others
// are refused), it never overwrites, and bad input exits 2 with one clear
// line and no file.
import { generateKeyPairSync } from 'node:crypto';
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readFileSync, realpathSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import t from 'tap';
import { signFile } from '../scripts/sign-with-key.mjs';
import { assertClean, assertRefused, INDEX, runNode, sha256Hex } from './helpers/app.mjs';
import { runCli } from './helpers/cli.mjs';
import { EVIL_IDENTITY, fixture, IDENTITY, ISSUER, PRIVATE_ROOT } from './helpers/fixtures.mjs';

/** An empty application folder with a fresh key pair made by node:crypto (keys/release.pub.pem, keys/release.key.pem). */
function appFolder(t, type = 'ec') {
  const dir = realpathSync(mkdtempSync(join(tmpdir(), 'trustload-init-')));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const { publicKey, privateKey } = generateKeyPairSync(type, type === 'ec' ? { namedCurve: 'P-256' } : {});
  mkdirSync(join(dir, 'keys'));
  writeFileSync(join(dir, 'keys', 'release.pub.pem'), publicKey.export({ type: 'spki', format: 'pem' }));
  const privatePem = privateKey.export({ type: 'pkcs8', format: 'pem' });
  writeFileSync(join(dir, 'keys', 'release.key.pem'), privatePem, { mode: 0o600 });
  const write = (rel, content) => {
    mkdirSync(join(dir, rel, '..'), { recursive: true });
    writeFileSync(join(dir, rel), content);
    return join(dir, rel);
  };
  return { dir, privatePem, write, path: (rel) => join(dir, rel) };
}

const init = (app, args) => runCli(['policy', 'init', ...args], { cwd: app.dir });

async function initOk(t, app, args, policyFile = 'trustload.policy.json') {
  const result = await init(app, args);
  t.equal(result.code, 0, `policy init exits 0\n${result.stderr}`);
  t.match(result.stdout, /^wrote .*trustload|^wrote /, 'says what it wrote');
  t.match(result.stdout, /next:\n {2}trustload policy check/, 'prints the next commands');
  const check = await runCli(['policy', 'check', '--policy', policyFile], { cwd: app.dir });
  t.equal(check.code, 0, `policy check accepts it\n${check.stderr}${check.stdout}`);
  return JSON.parse(readFileSync(app.path(policyFile), 'utf8'));
}

// A plugin module that prints, and a main that imports one by name.
const PLUGIN = "console.log('plugin loaded: SIGNED');\n";
const MAIN = "await import(`./plugins/${process.argv[2]}`);\n";

// Reads a text file through the API's readVerified, as an agent reads a prompt.
const READER = `import { readVerified } from ${JSON.stringify(INDEX)};
process.stdout.write(await readVerified(process.argv[2]));
`;

t.test('--key: a key signer without a log; a signed plugin loads, an unsigned one is refused', async (t) => {
  for (const type of ['ec', 'ed25519']) {
    const app = appFolder(t, type);
    const policy = await initOk(t, app, ['--files', 'plugins/**', '--key', 'keys/release.pub.pem']);
    t.same(policy.trust.keys, { release: { path: './keys/release.pub.pem', sha256: sha256Hex(readFileSync(app.path('keys/release.pub.pem'))) } }, 'the key pinned by its digest as it is now');
    t.same(policy.signers, { release: { key: 'release', transparencyLog: false } }, 'no transparency log by default');
    t.same(policy.rules, [{ name: 'plugins', files: 'plugins/**', signers: ['release'] }], 'one rule for the glob');
    app.write('main.mjs', MAIN);
    signFile(app.write('plugins/good.mjs', PLUGIN), app.privatePem);
    app.write('plugins/unsigned.mjs', PLUGIN);
    const good = await runNode(app.dir, ['main.mjs', 'good.mjs']);
    assertClean(t, good);
    t.equal(good.stdout, 'plugin loaded: SIGNED\n', `${type}: the signed plugin loads`);
    assertRefused(t, await runNode(app.dir, ['main.mjs', 'unsigned.mjs']), 'ERR_TRUSTLOAD_NO_BUNDLE');
  }
});

t.test('--key --tlog: the signer requires a log entry, so an offline signature is refused', async (t) => {
  const app = appFolder(t);
  const policy = await initOk(t, app, ['--files', 'plugins/**', '--key', 'keys/release.pub.pem', '--tlog']);
  t.same(policy.signers, { release: { key: 'release' } }, 'transparencyLog left at its default, true');
  app.write('main.mjs', MAIN);
  signFile(app.write('plugins/good.mjs', PLUGIN), app.privatePem);
  assertRefused(t, await runNode(app.dir, ['main.mjs', 'good.mjs']), 'ERR_TRUSTLOAD_TLOG');
});

t.test('--issuer with --identity or --identity-pattern and --claim, on a private instance: the keyless fixture verifies', async (t) => {
  const forms = {
    identity: ['--identity', IDENTITY],
    'identity pattern and claims': [
      '--identity-pattern', '^https://github\\.com/acme/plugins/\\.github/workflows/release\\.yml@refs/heads/main$',
      '--claim', 'sourceRepositoryURI=https://github.com/acme/plugins', '--claim', 'buildTrigger=push',
    ],
  };
  for (const [name, flags] of Object.entries(forms)) {
    const app = appFolder(t);
    copyFileSync(PRIVATE_ROOT, app.path('trusted_root.json'));
    const policy = await initOk(t, app, ['--files', 'prompts/**', '--issuer', ISSUER, ...flags, '--trusted-root', 'trusted_root.json']);
    t.same(policy.trust.roots, { private: { path: './trusted_root.json', sha256: sha256Hex(readFileSync(PRIVATE_ROOT)) } }, `${name}: the private root pinned`);
    t.same(policy.signers.ci.roots, ['private'], `${name}: the signer trusts that root`);
    const { artifact, bundle } = fixture('keyless');
    copyFileSync(artifact, app.write('prompts/hello.txt', ''));
    copyFileSync(bundle, app.path('prompts/hello.txt.sigstore.json'));
    app.write('read.mjs', READER);
    const read = await runNode(app.dir, ['read.mjs', 'prompts/hello.txt']);
    assertClean(t, read);
    t.equal(read.stdout, readFileSync(artifact, 'utf8'), `${name}: the signed prompt is read`);
  }
  const app = appFolder(t);
  copyFileSync(PRIVATE_ROOT, app.path('trusted_root.json'));
  const policy = await initOk(t, app, ['--files', 'prompts/**', '--issuer', ISSUER, '--identity', EVIL_IDENTITY, '--trusted-root', 'trusted_root.json']);
  t.equal(policy.signers.ci.identity, EVIL_IDENTITY);
  const { artifact, bundle } = fixture('keyless');
  copyFileSync(artifact, app.write('prompts/hello.txt', ''));
  copyFileSync(bundle, app.path('prompts/hello.txt.sigstore.json'));
  app.write('read.mjs', READER);
  const read = await runNode(app.dir, ['read.mjs', 'prompts/hello.txt']);
  t.not(read.code, 0, 'another identity is refused');
  t.match(read.stderr, /ERR_TRUSTLOAD_UNTRUSTED_SIGNER/, 'as an untrusted signer');
});

t.test('--issuer alone defaults to the public-good root', async (t) => {
  const app = appFolder(t);
  const policy = await initOk(t, app, ['--files', 'plugins/**', '--issuer', 'https://accounts.google.com', '--identity', 'release@example.com']);
  t.same(policy.signers.ci, { roots: ['sigstore-public-good'], issuer: 'https://accounts.google.com', identity: 'release@example.com' });
  t.equal(policy.trust, undefined, 'nothing else trusted');
});

t.test('--github-*: one workflow on version tags of one repository, pinned by numeric ids', async (t) => {
  const app = appFolder(t);
  copyFileSync(PRIVATE_ROOT, app.path('trusted_root.json'));
  const policy = await initOk(t, app, [
    '--files', 'plugins/**', '--github-repository', 'acme/plugins', '--github-workflow', 'release.yml',
    '--github-repository-id', '123456', '--github-owner-id', '7890', '--trusted-root', 'trusted_root.json', '--out', 'ci.policy.json',
  ], 'ci.policy.json');
  const signer = policy.signers['github-release'];
  t.equal(signer.issuer, ISSUER);
  t.same(signer.claims, {
    sourceRepositoryURI: 'https://github.com/acme/plugins',
    sourceRepositoryIdentifier: '123456',
    sourceRepositoryOwnerURI: 'https://github.com/acme',
    sourceRepositoryOwnerIdentifier: '7890',
    buildTrigger: 'push',
  });
  // Compiled as the verifier compiles it (PRODUCT.md): ^(?:body)$.
  const pattern = new RegExp(`^(?:${signer.identityPattern.slice(1, -1)})$`);
  const workflow = 'https://github.com/acme/plugins/.github/workflows/release.yml';
  for (const ok of ['v1.2.3', 'v10.0.0-rc.1', 'v2']) t.match(`${workflow}@refs/tags/${ok}`, pattern, `accepts tag ${ok}`);
  for (const bad of [`${workflow}@refs/heads/main`, `${workflow}@refs/tags/x1`, `${workflow}@refs/tags/v1/evil`, 'https://github.com/acme/plugins-evil/.github/workflows/release.yml@refs/tags/v1',
    'https://github.com/acme/plugins/.github/workflows/releaseXyml@refs/tags/v1', `${workflow}@refs/tags/v1@refs/tags/v2`]) {
    t.notMatch(bad, pattern, `refuses ${bad}`);
  }
  // The fixture is signed by this workflow on refs/heads/main, not on a tag: refused.
  const { artifact, bundle } = fixture('keyless');
  copyFileSync(artifact, app.write('plugins/hello.txt', ''));
  copyFileSync(bundle, app.path('plugins/hello.txt.sigstore.json'));
  app.write('read.mjs', READER);
  const read = await runNode(app.dir, ['read.mjs', 'plugins/hello.txt'], { env: { TRUSTLOAD_POLICY: app.path('ci.policy.json') } });
  t.not(read.code, 0, 'a signature from a branch build is refused');
  t.match(read.stderr, /ERR_TRUSTLOAD_UNTRUSTED_SIGNER/);
});

t.test('--out in a linked folder: paths are relative to the real folder the loader anchors them at', async (t) => {
  const app = appFolder(t);
  mkdirSync(app.path('real/app'), { recursive: true });
  symlinkSync(app.path('real/app'), app.path('link'));
  const policy = await initOk(t, app, ['--files', 'plugins/**', '--key', 'keys/release.pub.pem', '--out', 'link/trustload.policy.json'], 'link/trustload.policy.json');
  t.equal(policy.trust.keys.release.path, '../../keys/release.pub.pem', 'from real/app, not from link');
});

t.test('never overwrites: an existing file, or a link planted where the policy goes', async (t) => {
  const app = appFolder(t);
  app.write('trustload.policy.json', 'mine\n');
  const again = await init(app, ['--files', 'plugins/**', '--key', 'keys/release.pub.pem']);
  t.equal(again.code, 2, 'exits 2');
  t.match(again.stderr, /^trustload: .*trustload\.policy\.json exists; policy init never overwrites/);
  t.equal(readFileSync(app.path('trustload.policy.json'), 'utf8'), 'mine\n', 'the file is untouched');
  symlinkSync(app.path('elsewhere.json'), app.path('linked.json'));
  const linked = await init(app, ['--files', 'plugins/**', '--key', 'keys/release.pub.pem', '--out', 'linked.json']);
  t.equal(linked.code, 2, 'a dangling link is not followed');
  t.notOk(existsSync(app.path('elsewhere.json')), 'nothing written through it');
});

t.test('bad input exits 2 with one clear line and writes nothing', async (t) => {
  const app = appFolder(t);
  mkdirSync(app.path('plugins'));
  const key = ['--key', 'keys/release.pub.pem'];
  const cases = {
    'a missing key file': [['--files', 'plugins/**', '--key', 'keys/missing.pub.pem'], /keys\/missing\.pub\.pem does not exist/],
    'a private key given as --key': [['--files', 'plugins/**', '--key', 'keys/release.key.pem'], /is a private key/],
    'a bad regular expression': [['--files', 'plugins/**', '--issuer', ISSUER, '--identity-pattern', '^(a$'], /--identity-pattern .*valid regular expression/],
    'an unanchored pattern': [['--files', 'plugins/**', '--issuer', ISSUER, '--identity-pattern', 'https://github\\.com/.*'], /starts with \^ and ends with \$/],
    'an unknown flag': [['--files', 'plugins/**', ...key, '--keyless'], /unknown option --keyless/],
    'an unknown claim': [['--files', 'plugins/**', '--issuer', ISSUER, '--identity', IDENTITY, '--claim', 'repo=x'], /--claim "repo=x": must be NAME=VALUE with NAME one of/],
    'no --files': [[...key], /needs --files GLOB/],
    'a folder given as --files (protects no file in it)': [['--files', 'plugins', ...key], /--files "plugins" names a folder.*write "plugins\/\*\*"/],
    'a folder given as --files, with a slash': [['--files', 'plugins/', ...key], /ends with "\/", and a glob matches files: write "plugins\/\*\*"/],
    'a glob the policy does not support': [['--files', 'plugins/../secrets/**', ...key], /rules\[0\]\.files: "plugins\/\.\.\/secrets\/\*\*" must not contain/],
    'two signers': [['--files', 'plugins/**', ...key, '--issuer', ISSUER, '--identity', IDENTITY], /exactly one signer/],
    'no signer': [['--files', 'plugins/**'], /exactly one signer/],
    'an identity without an issuer': [['--files', 'plugins/**', '--identity', IDENTITY], /needs --issuer/],
    'GitHub without the ids': [['--files', 'plugins/**', '--github-repository', 'acme/plugins', '--github-workflow', 'release.yml'], /--github-repository-id, --github-owner-id/],
    'a GitHub id that is not a number': [['--files', 'plugins/**', '--github-repository', 'acme/plugins', '--github-workflow', 'release.yml', '--github-repository-id', 'acme', '--github-owner-id', '1'], /must be GitHub's numeric id/],
    'a workflow outside .github/workflows': [['--files', 'plugins/**', '--github-repository', 'acme/plugins', '--github-workflow', 'x/release.yml', '--github-repository-id', '1', '--github-owner-id', '1'], /must be a workflow file/],
    '--tlog without --key': [['--files', 'plugins/**', '--issuer', ISSUER, '--identity', IDENTITY, '--tlog'], /--tlog is for key signers/],
    'a trusted root that is not one': [['--files', 'plugins/**', '--issuer', ISSUER, '--identity', IDENTITY, '--trusted-root', 'keys/release.pub.pem'], /trusted root .*not valid JSON/],
  };
  for (const [name, [args, message]] of Object.entries(cases)) {
    const result = await init(app, args);
    t.equal(result.code, 2, `${name}: exits 2\n${result.stderr}`);
    // One line says what is wrong; the command's usage may follow after a blank line.
    const lines = result.stderr.split('\n\n')[0].split('\n').filter(Boolean);
    t.equal(lines.length, 1, `${name}: one line`);
    t.match(lines[0] ?? '', /^trustload: /, `${name}: a trustload message`);
    t.match(result.stderr, message, `${name}: says what is wrong`);
    t.notOk(existsSync(app.path('trustload.policy.json')), `${name}: no policy written`);
  }
});

t.test('policy init --help shows every form with an example', async (t) => {
  const help = await runCli(['policy', 'init', '--help']);
  t.equal(help.code, 0);
  for (const text of ['--files GLOB', '--key PUB.pem', '--tlog', '--identity-pattern', '--claim NAME=VALUE', '--github-repository', '--trusted-root', 'Examples:', "trustload policy init --files 'plugins/**' --key release.pub.pem"]) {
    t.ok(help.stdout.includes(text), `mentions ${text}`);
  }
  const policyHelp = await runCli(['policy', '--help']);
  t.match(policyHelp.stdout, /trustload policy init/, 'policy --help lists init');
});
