// The package as a user gets it: `npm pack` of this checkout (its current
// dist/), installed from the tarball into a fresh project with --offline and
// an empty npm cache, so nothing can come from a registry: whatever runs must
// be inside the tarball. Then a guarded process from that install, its CLI,
// the "$schema" it documents, and its types compiled without zod.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, realpathSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { delimiter, dirname, join } from 'node:path';
import t from 'tap';
import { signFile } from '../scripts/sign-with-key.mjs';
import { PRIVATE_KEY_PEM, PUBLIC_KEY, PUBLIC_KEY_SHA256, ROOT, runNode, tamperBytes } from './helpers/app.mjs';

const tmp = realpathSync(mkdtempSync(join(tmpdir(), 'trustload-package-')));
t.teardown(() => rmSync(tmp, { recursive: true, force: true }));
// npm runs on the pinned node; its cache is a fresh, empty folder.
const npmEnv = { ...process.env, PATH: `${dirname(process.execPath)}${delimiter}${process.env.PATH}`, npm_config_cache: join(tmp, 'npm-cache') };
const npm = (args, cwd) => {
  const r = spawnSync('npm', args, { cwd, env: npmEnv, encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`npm ${args.join(' ')} exited with ${r.status}: ${r.stderr}`);
  return r.stdout;
};

const [packed] = JSON.parse(npm(['pack', '--ignore-scripts', '--json', '--pack-destination', tmp], ROOT));
const app = join(tmp, 'app');
mkdirSync(app);
writeFileSync(join(app, 'package.json'), '{ "name": "app", "private": true, "type": "module" }\n');
npm(['install', '--offline', '--ignore-scripts', '--no-audit', '--no-fund', join(tmp, packed.filename)], app);
const installed = join(app, 'node_modules', 'trustload');

t.test('the tarball holds what the README documents, and nothing of the repository', (t) => {
  const files = packed.files.map((f) => f.path);
  for (const file of ['LICENSE', 'README.md', 'SECURITY.md', 'register.mjs', 'dist/index.js', 'dist/register.js', 'dist/cli.js', 'dist/types/index.d.ts', 'schema/policy.schema.json', 'trust/sigstore-public-good.trusted_root.json']) {
    t.ok(files.includes(file), file);
  }
  t.same(files.filter((f) => /^(src|test|scripts|bench|fixtures|patches|examples)\//.test(f)), [], 'no sources, tests or tooling');
  t.end();
});

t.test('installing it offline installs trustload alone', (t) => {
  t.same(readdirSync(join(app, 'node_modules')).filter((name) => !name.startsWith('.')), ['trustload']);
  const { dependencies = {} } = JSON.parse(readFileSync(join(installed, 'package.json'), 'utf8'));
  t.same(dependencies, {}, 'no runtime dependencies: the build bundles them');
  t.end();
});

t.test('a guarded process runs from the installed package', async (t) => {
  mkdirSync(join(app, 'keys'));
  mkdirSync(join(app, 'plugins'));
  writeFileSync(join(app, 'keys', 'p256.pub.pem'), readFileSync(PUBLIC_KEY));
  const policy = {
    $schema: './node_modules/trustload/schema/policy.schema.json',
    version: 1,
    trust: { keys: { release: { path: './keys/p256.pub.pem', sha256: PUBLIC_KEY_SHA256 } } },
    signers: { offline: { key: 'release', transparencyLog: false } },
    rules: [{ name: 'plugins', files: 'plugins/**', signers: ['offline'] }],
  };
  writeFileSync(join(app, 'trustload.policy.json'), `${JSON.stringify(policy, null, 2)}\n`);
  writeFileSync(join(app, 'plugins', 'p.mjs'), "export const name = 'signed plugin';\n");
  writeFileSync(join(app, 'plugins', 'prompt.md'), 'You are a careful agent.\n');
  signFile(join(app, 'plugins', 'p.mjs'), PRIVATE_KEY_PEM);
  signFile(join(app, 'plugins', 'prompt.md'), PRIVATE_KEY_PEM);
  writeFileSync(
    join(app, 'main.mjs'),
    "import { readVerifiedSync, stats } from 'trustload';\nconst { name } = await import('./plugins/p.mjs');\nconsole.log(name, readVerifiedSync('plugins/prompt.md').length, stats().verified);\n",
  );
  const ok = await runNode(app, ['--import', 'trustload/register', 'main.mjs'], { guard: false });
  t.equal(ok.code, 0, ok.stderr);
  t.equal(ok.stdout, 'signed plugin 25 2\n');

  const check = spawnSync(process.execPath, [join(app, 'node_modules', '.bin', 'trustload'), 'policy', 'check'], { cwd: app, encoding: 'utf8' });
  t.equal(check.status, 0, `trustload policy check: ${check.stderr}`);

  writeFileSync(join(app, 'plugins', 'p.mjs'), tamperBytes(readFileSync(join(app, 'plugins', 'p.mjs')), 'signed', 'SIGNED'));
  const refused = await runNode(app, ['--import', 'trustload/register', 'main.mjs'], { guard: false });
  t.not(refused.code, 0);
  t.match(refused.firstLine, /^trustload: ERR_TRUSTLOAD_SIGNATURE: .*plugins\/p\.mjs/);
  t.equal(refused.stdout, '');
});

t.test('the policy schema is exported', (t) => {
  const schema = JSON.parse(readFileSync(join(installed, 'schema', 'policy.schema.json'), 'utf8'));
  t.equal(schema.type, 'object');
  t.same(schema.required?.toSorted(), ['rules', 'signers', 'version']);
  t.equal(schema.additionalProperties, false, 'unknown keys are flagged in editors too');
  t.ok(schema.properties.$schema, 'a policy may name its schema');
  const exported = spawnSync(process.execPath, ['--input-type=module', '-e', "import s from 'trustload/policy.schema.json' with { type: 'json' }; console.log(s.title);"], { cwd: app, encoding: 'utf8' });
  t.equal(exported.stdout.trim(), 'trustload policy', exported.stderr);
  t.end();
});

t.test('the types need no zod and no bundled package', (t) => {
  const types = join(installed, 'dist', 'types');
  const withZod = readdirSync(types, { recursive: true }).filter((f) => f.endsWith('.d.ts') && /from\s+['"]zod/.test(readFileSync(join(types, f), 'utf8')));
  t.same(withZod, [], 'no declaration imports zod');
  writeFileSync(
    join(app, 'consumer.ts'),
    `import { register, readVerified, TrustloadError, type Policy, type VerifiedSigner } from 'trustload';
const policy: Policy = { version: 1, signers: { ci: { issuer: 'https://issuer', identity: 'me' } }, rules: [{ name: 'p', files: 'plugins/**', signers: ['ci'] }] };
// @ts-expect-error an unknown key is a type error
const wrong: Policy = { version: 1, signers: {}, rules: [], unmatchd: 'allow' };
register({ policy, baseDir: '/srv' });
const bytes: Promise<Buffer> = readVerified('x');
const who = (s: VerifiedSigner): string => s.signer;
export { bytes, who, wrong, TrustloadError };
`,
  );
  const tsc = join(ROOT, 'node_modules', 'typescript', 'bin', 'tsc');
  const typeRoots = join(ROOT, 'node_modules', '@types');
  const args = [tsc, '--noEmit', '--strict', '--skipLibCheck', 'false', '--module', 'nodenext', '--moduleResolution', 'nodenext', '--target', 'es2023', '--typeRoots', typeRoots, '--types', 'node', 'consumer.ts'];
  const r = spawnSync(process.execPath, args, { cwd: app, encoding: 'utf8' });
  t.equal(r.status, 0, `tsc: ${r.stdout}${r.stderr}`);
  t.notOk(existsSync(join(app, 'node_modules', 'zod')), 'zod is not installed next to it');
  t.end();
});
