// Each mistake a new user made in the first hour gets a message that says what to do
// (issue "The first hour"): the words of the fix are asserted, in real processes.
import { readFileSync, rmSync } from 'node:fs';
import t from 'tap';
import { assertDidNotStart, INDEX, makeApp, policyObject, PUBLIC_KEY_SHA256, runNode, sha256Hex } from './helpers/app.mjs';
import { runCli } from './helpers/cli.mjs';
import { ARTIFACT, fixture, IDENTITY, keyArgs, keylessArgs, publicKey } from './helpers/fixtures.mjs';

const firstLine = (stderr) => stderr.split('\n')[0];

t.test('a missing key file is said to be missing, not a sha256 mismatch', async (t) => {
  const app = makeApp(t);
  rmSync(app.path('keys/p256.pub.pem'));
  const started = await runNode(app.dir, ['-e', '1']);
  assertDidNotStart(t, started, { mentions: ['trust.keys.release', app.path('keys/p256.pub.pem'), 'does not exist'] });
  t.notMatch(started.stderr, /sha256/, 'no digest is mentioned');
  const check = await runCli(['policy', 'check', '--policy', app.policyPath]);
  t.equal(check.code, 2);
  t.match(check.stderr, `trust.keys.release: the file ${app.path('keys/p256.pub.pem')} does not exist (paths in the policy are relative to its folder)`);
  t.notMatch(check.stderr, /do not match|MISMATCH/);
  t.match(check.stdout, `NOT READ: the file ${app.path('keys/p256.pub.pem')} does not exist`);
  // A folder where the file should be: named as such, not read and not a crash.
  const folder = makeApp(t);
  rmSync(folder.path('keys/p256.pub.pem'));
  folder.write('keys/p256.pub.pem/x', '');
  const asFolder = await runCli(['policy', 'check', '--policy', folder.policyPath]);
  t.equal(asFolder.code, 2);
  t.match(asFolder.stderr, `trust.keys.release: the file ${folder.path('keys/p256.pub.pem')} is not a regular file`);
});

t.test('a bundle checked against the wrong trusted root names the chain and the root', async (t) => {
  const other = fixture('keyless-other');
  const r = await runCli(keylessArgs(other.artifact, other.bundle));
  t.equal(r.code, 1);
  t.match(firstLine(r.stderr), /^trustload: ERR_TRUSTLOAD_CERTIFICATE: the signing certificate does not chain to trusted root "trusted-root": it was issued by "[^"]+"/);
  t.match(r.stderr, /, and the certificate authorities there are "/);
  t.match(r.stderr, /--trusted-root/);
  t.notMatch(r.stderr, /timestamp failed/);
});

t.test('a second register() with another policy says a process has one policy, and which one runs', async (t) => {
  const app = makeApp(t, {
    files: {
      'other.json': JSON.stringify({ ...policyObject(), unmatched: 'deny' }),
      'host.mjs': `import { register } from ${JSON.stringify(INDEX)};
try { register({ policy: './other.json' }); } catch (err) { console.log(err.code, err.message); }
register({ policy: './trustload.policy.json' });
console.log('SAME POLICY: OK');
`,
    },
  });
  const policySha = sha256Hex(app.read('trustload.policy.json'));
  // Started the way a guarded parent starts its children: TRUSTLOAD_POLICY_SHA256 pins the running policy.
  const r = await runNode(app.dir, ['host.mjs'], { env: { TRUSTLOAD_POLICY_SHA256: policySha } });
  t.equal(r.code, 0, r.stderr);
  t.match(r.stdout, `ERR_TRUSTLOAD_POLICY a process has one policy, and this one already runs ${app.policyPath} (sha256 ${policySha}); register() cannot switch it to ${app.path('other.json')}`);
  t.notMatch(r.stdout, /does not match TRUSTLOAD_POLICY_SHA256/);
  t.match(r.stdout, 'SAME POLICY: OK');
});

t.test('verify-blob names no rule where there is none', async (t) => {
  const r = await runCli(keylessArgs(ARTIFACT, fixture('keyless').bundle, { identity: IDENTITY.replace('main', 'dev') }));
  t.equal(r.code, 1);
  t.match(r.stderr, /ERR_TRUSTLOAD_UNTRUSTED_SIGNER: the bundle was signed by an identity that no allowed signer accepts/);
  t.notMatch(r.stderr, /rule/);
});

t.test('a missing log entry names "transparencyLog": false and --insecure-ignore-tlog', async (t) => {
  const cli = await runCli(keyArgs(ARTIFACT, fixture('key-p256').bundle, publicKey('p256'), { ignoreTlog: false }));
  t.equal(cli.code, 1);
  t.match(cli.stderr, /ERR_TRUSTLOAD_TLOG: the bundle has no transparency log entry, and signer "command-line" requires one: .*"transparencyLog": false.*--insecure-ignore-tlog/);
  t.notMatch(cli.stderr, /tlog entries/);
  // The same in a guarded process whose key signer keeps the default (a log entry required).
  const policy = policyObject();
  policy.signers.offline = { key: 'release' };
  const app = makeApp(t, { policy, files: { 'plugins/p.mjs': 'console.log("SIGNED");\n', 'main.mjs': "await import('./plugins/p.mjs');\n" }, sign: ['plugins/p.mjs'] });
  const r = await runNode(app.dir, ['main.mjs']);
  t.not(r.code, 0);
  t.match(firstLine(r.stderr), /ERR_TRUSTLOAD_TLOG: .*rule "plugins": the bundle has no transparency log entry, and signer "offline" requires one: if it was signed offline on purpose, set "transparencyLog": false on this signer in the policy/);
});

t.test('an unknown option: trustload\'s own line, a hint, and the command\'s usage', async (t) => {
  const r = await runCli(['verify', '--polcy', 'x.json']);
  t.equal(r.code, 2);
  const lines = r.stderr.split('\n');
  t.equal(lines[0], 'trustload: verify: unknown option --polcy: did you mean --policy?');
  t.match(r.stderr, /Usage: trustload verify \[PATH\.\.\.\] \[--policy FILE\] \[--json\]/);
  t.notMatch(r.stderr, /positional|parseArgs|'--'/, "none of parseArgs' own text");
  const missing = await runCli(['policy', 'check', '--policy']);
  t.equal(missing.code, 2);
  t.equal(firstLine(missing.stderr), 'trustload: policy: --policy needs a value');
  t.match(missing.stderr, /trustload policy check \[--policy FILE\]/);
  const command = await runCli(['verfy']);
  t.equal(command.code, 2);
  t.equal(firstLine(command.stderr), 'trustload: unknown command "verfy": did you mean "verify"?');
  const action = await runCli(['policy', 'chek']);
  t.equal(firstLine(action.stderr), 'trustload: policy takes "check", "explain PATH" or "init": did you mean "check"?');
});

t.test('the "<hex>" placeholder: the refusal prints the digest to paste', async (t) => {
  const app = makeApp(t, { extra: { trust: { keys: { release: { path: './keys/p256.pub.pem', sha256: '<hex>' } } } } });
  const paste = `paste trust.keys.release.sha256 "${PUBLIC_KEY_SHA256}"`;
  const check = await runCli(['policy', 'check', '--policy', app.policyPath]);
  t.equal(check.code, 2);
  t.match(check.stderr, 'trust.keys.release.sha256: must be 64 lowercase hex digits');
  t.match(check.stderr, paste);
  assertDidNotStart(t, await runNode(app.dir, ['-e', '1']), { mentions: [paste] });
  // Left out, or for a file that is not there yet: still said, with why there is no digest.
  const absent = makeApp(t, { extra: { trust: { keys: { release: { path: './keys/p256.pub.pem' }, next: { path: './keys/none.pem', sha256: '' } } } } });
  const r = await runCli(['policy', 'check', '--policy', absent.policyPath]);
  t.match(r.stderr, paste);
  t.match(r.stderr, /trust\.keys\.next\.sha256 \(none yet: .*none\.pem does not exist\)/);
});

t.test('no policy file: says how to create one and how to name another', async (t) => {
  const app = makeApp(t, { policy: false });
  const started = await runNode(app.dir, ['-e', '1']);
  assertDidNotStart(t, started, { mentions: [app.policyPath, 'does not exist', 'trustload policy init', 'TRUSTLOAD_POLICY'] });
  const cli = await runCli(['policy', 'check'], { cwd: app.dir, env: { PATH: process.env.PATH } });
  t.equal(cli.code, 2);
  t.match(cli.stderr, /trustload policy init.*TRUSTLOAD_POLICY/);
});

t.test('an unknown key gets "did you mean", an unknown claim the valid names', async (t) => {
  const typo = makeApp(t, { extra: { unmatchd: 'deny' } });
  assertDidNotStart(t, await runNode(typo.dir, ['-e', '1']), { mentions: ['(top level): unknown key "unmatchd": did you mean "unmatched"?'] });
  const signer = policyObject();
  signer.signers.offline = { key: 'release', transparencylog: false };
  const inSigner = makeApp(t, { policy: signer });
  assertDidNotStart(t, await runNode(inSigner.dir, ['-e', '1']), { mentions: ['signers.offline: unknown key "transparencylog": did you mean "transparencyLog"?'] });
  // A misspelt required key is also missing: the spelling is what is reported.
  const pinned = makeApp(t, { extra: { trust: { keys: { release: { path: './keys/p256.pub.pem', sha265: PUBLIC_KEY_SHA256 } } } } });
  assertDidNotStart(t, await runNode(pinned.dir, ['-e', '1']), { mentions: ['trust.keys.release: unknown key "sha265": did you mean "sha256"?'] });
  // A key another kind of signer takes.
  const keyless = policyObject();
  keyless.signers.ci = { issuer: 'https://token.actions.githubusercontent.com', identity: IDENTITY, transparencyLog: false };
  assertDidNotStart(t, await runNode(makeApp(t, { policy: keyless }).dir, ['-e', '1']), { mentions: ['signers.ci: unknown key "transparencyLog" for this kind of entry (another kind allowed here takes it)'] });
  const far = makeApp(t, { extra: { colour: 'blue' } });
  assertDidNotStart(t, await runNode(far.dir, ['-e', '1']), { mentions: ['unknown key "colour"; the keys allowed here are $schema, version, baseDir, mode'] });
  const claims = policyObject();
  claims.signers.ci = { issuer: 'https://token.actions.githubusercontent.com', identity: IDENTITY, claims: { repository: 'acme/plugins' } };
  const claim = makeApp(t, { policy: claims });
  const r = await runNode(claim.dir, ['-e', '1']);
  assertDidNotStart(t, r, { mentions: ['signers.ci.claims: unknown name "repository"; the valid names are ', 'sourceRepositoryURI', 'buildTrigger'] });
  const close = structuredClone(claims);
  close.signers.ci.claims = { sourceRepositoryUri: 'https://github.com/acme/plugins' };
  assertDidNotStart(t, await runNode(makeApp(t, { policy: close }).dir, ['-e', '1']), { mentions: ['unknown name "sourceRepositoryUri": did you mean "sourceRepositoryURI"?'] });
});

t.test('a protected file without its bundle says where the bundle goes and what writes it', async (t) => {
  const app = makeApp(t, { files: { 'plugins/p.mjs': "console.log('UNSIGNED');\n" } });
  const r = await runNode(app.dir, ['plugins/p.mjs']);
  t.not(r.code, 0);
  t.equal(firstLine(r.stderr), `trustload: ERR_TRUSTLOAD_NO_BUNDLE: ${app.path('plugins/p.mjs')}: rule "plugins": bundle ${app.path('plugins/p.mjs')}.sigstore.json does not exist: a protected file loads only with its bundle beside it (trustload sign writes one)`);
  t.notMatch(r.stdout, /UNSIGNED/);
});

t.test('a name that refers to nothing the policy defines: the one meant, or the names there are', async (t) => {
  const typo = makeApp(t, { rules: [{ name: 'plugins', files: 'plugins/**', signers: ['ofline'] }] });
  assertDidNotStart(t, await runNode(typo.dir, ['-e', '1']), { mentions: ['rules[0].signers[0]: unknown signer "ofline": did you mean "offline"?'] });
  const far = makeApp(t, { rules: [{ name: 'plugins', files: 'plugins/**', signers: ['ci'] }] });
  assertDidNotStart(t, await runNode(far.dir, ['-e', '1']), { mentions: ['rules[0].signers[0]: unknown signer "ci": signers has "offline"'] });
  const root = policyObject();
  root.signers.ci = { issuer: 'https://token.actions.githubusercontent.com', identity: IDENTITY, roots: ['sigstore-public-goood'] };
  assertDidNotStart(t, await runNode(makeApp(t, { policy: root }).dir, ['-e', '1']), { mentions: ['signers.ci.roots: unknown trusted root "sigstore-public-goood": did you mean "sigstore-public-good"?'] });
  const key = policyObject();
  key.signers.offline.key = 'relase';
  assertDidNotStart(t, await runNode(makeApp(t, { policy: key }).dir, ['-e', '1']), { mentions: ['signers.offline.key: unknown key "relase": did you mean "release"?'] });
});

t.test('trustload --version prints the package version', async (t) => {
  const r = await runCli(['--version']);
  t.equal(r.code, 0);
  t.equal(r.stdout, `${JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')).version}\n`);
});

