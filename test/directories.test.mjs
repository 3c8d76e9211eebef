// Signed directories at load time: a plugin package signed as one unit by a
// model-signing manifest, loaded by real guarded processes (import, require,
// package.json "exports", nested packages, JSON, native addons), and every
// way its closed set can be broken: a file changed, added, removed, shadowing
// a signed one, carrying its own sibling bundle, a package nested later,
// links, nested manifests.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import t from 'tap';
import { signDirectory } from '../scripts/sign-manifest.mjs';
import { signFile } from '../scripts/sign-with-key.mjs';
import { assertClean, assertRefused, INDEX, makeApp, pool, PRIVATE_KEY_PEM, runNode, sha256Hex } from './helpers/app.mjs';
import { runCli } from './helpers/cli.mjs';

const PLUGIN = 'plugins/acme';

/** A plugin package: ESM and CommonJS, package.json "exports", a nested package.json, a nested node_modules dependency, JSON. */
const PLUGIN_FILES = {
  'package.json': `${JSON.stringify({ name: 'acme', version: '1.0.0', type: 'module', exports: { '.': './lib/main.js', './legacy': './lib/legacy.cjs' } })}\n`,
  'lib/main.js': "import { greet } from './greet/greet.js';\nimport dep from 'dep';\nexport const plugin = `${greet('acme')} ${dep.dep}`;\n",
  'lib/greet/greet.js': 'export const greet = (name) => `SIGNED greeting from ${name}`;\n',
  // require('./index') finds the folder lib/index/, require('./util') finds lib/util.json: unless a lib/index.js or lib/util.js appears.
  'lib/legacy.cjs': "const index = require('./index');\nconst util = require('./util');\nmodule.exports = { legacy: `${index.name} ${util.name}` };\n",
  'lib/index/package.json': '{ "type": "commonjs" }\n',
  'lib/index/index.js': "module.exports = { name: 'SIGNED-index' };\n",
  'lib/util.json': '{ "name": "SIGNED-util" }\n',
  'lib/spare.js': "export const spare = 'SIGNED-spare';\n",
  'node_modules/dep/package.json': '{ "name": "dep", "main": "index.js" }\n',
  'node_modules/dep/index.js': "module.exports = { dep: 'SIGNED-dep' };\n",
  'data/unused.txt': 'SIGNED but never loaded\n',
};

/** The host: loads the plugin by package name (a workspace link in node_modules), ESM first, then CommonJS through "exports". */
const HOST = `import { createRequire } from 'node:module';
const require = createRequire(import.meta.url);
const { plugin } = await import('acme');
console.log(plugin);
const { legacy } = require('acme/legacy');
console.log(legacy);
`;

/**
 * An app whose plugins/acme is a signed directory (files first, then
 * `before(app)` runs, then the directory is signed with `sign` options),
 * loaded through node_modules/acme -> ../plugins/acme; `after(app)` runs
 * once it is signed (the tampering under test).
 */
function pluginApp(t, { files = {}, before, after, sign = {}, rules, unmatched, host = HOST, hostFile = 'main.mjs' } = {}) {
  const app = makeApp(t, { rules, unmatched, files: { [hostFile]: host } });
  for (const [name, content] of Object.entries({ ...PLUGIN_FILES, ...files })) app.write(`${PLUGIN}/${name}`, content);
  app.symlink(`../${PLUGIN}`, 'node_modules/acme');
  before?.(app);
  signDirectory(app.path(PLUGIN), PRIVATE_KEY_PEM, sign);
  after?.(app);
  return app;
}

const run = (app, { hostFile = 'main.mjs', env } = {}) => runNode(app.dir, [hostFile], { env });

t.test('a signed plugin package loads under the guard: ESM, CommonJS, exports, nested package.json and node_modules, JSON', async (t) => {
  const app = pluginApp(t);
  const result = await run(app);
  assertClean(t, result);
  t.equal(result.stdout, 'SIGNED greeting from acme SIGNED-dep\nSIGNED-index SIGNED-util\n');
  t.notOk(readFileSync(app.path(`${PLUGIN}/package.json`), 'utf8').includes('sigstore'), 'no sibling bundle anywhere: package.json files count as verified by the manifest');
});

// Each a signed plugin changed after signing, and the refusal it gets.
const TAMPERED = [
  {
    name: 'a changed file, the first one loaded after the entry',
    after: (app) => app.tamper(`${PLUGIN}/lib/greet/greet.js`),
    code: 'ERR_TRUSTLOAD_SIGNATURE',
    path: `${PLUGIN}/lib/greet/greet.js`,
    message: /content differs from what the manifest signs/,
  },
  {
    name: 'a changed file loaded later, by require through "exports"',
    after: (app) => app.tamper(`${PLUGIN}/lib/util.json`),
    code: 'ERR_TRUSTLOAD_SIGNATURE',
    path: `${PLUGIN}/lib/util.json`,
    stdout: 'SIGNED greeting from acme SIGNED-dep\n',
  },
  {
    name: 'a changed package.json (Node reads it, the guard checks it against the manifest)',
    after: (app) => app.tamper(`${PLUGIN}/package.json`, '1.0.0', '6.6.6'),
    code: 'ERR_TRUSTLOAD_SIGNATURE',
    path: `${PLUGIN}/package.json`,
  },
  {
    name: 'an added file that is never loaded',
    after: (app) => app.write(`${PLUGIN}/data/added.txt`, 'unlisted'),
    code: 'ERR_TRUSTLOAD_NOT_IN_MANIFEST',
    message: /not in the manifest of its signed directory: data\/added\.txt/,
  },
  {
    name: 'a removed file that is never loaded',
    after: (app) => rmSync(app.path(`${PLUGIN}/data/unused.txt`)),
    code: 'ERR_TRUSTLOAD_MISSING_FILE',
    message: /missing from the signed directory: data\/unused\.txt/,
  },
  {
    name: 'an added file with its own valid sibling bundle (below a manifest, sibling bundles do not count)',
    after: (app) => signFile(app.write(`${PLUGIN}/lib/extra.js`, 'evil()'), PRIVATE_KEY_PEM),
    code: 'ERR_TRUSTLOAD_NOT_IN_MANIFEST',
    message: /sibling bundles do not count/,
  },
  {
    name: 'a package npm nests under node_modules after signing',
    after: (app) => app.write(`${PLUGIN}/node_modules/evil/index.js`, 'evil()'),
    code: 'ERR_TRUSTLOAD_NOT_IN_MANIFEST',
    message: /a package was added under node_modules\/ after the directory was signed/,
  },
  {
    name: 'a symbolic link, even to a listed file (allow_symlinks: false)',
    after: (app) => app.symlink('greet/greet.js', `${PLUGIN}/lib/alias.js`),
    code: 'ERR_TRUSTLOAD_NOT_IN_MANIFEST',
    message: /does not allow symbolic links .*lib\/alias\.js/,
  },
  {
    name: 'a nested signed directory that its parent does not list',
    after: (app) => {
      app.write(`${PLUGIN}/vendor/sub/x.js`, "export const x = 'nested';\n");
      signDirectory(app.path(`${PLUGIN}/vendor/sub`), PRIVATE_KEY_PEM);
    },
    code: 'ERR_TRUSTLOAD_NOT_IN_MANIFEST',
    message: /vendor\/sub\/manifest\.sigstore\.json/,
  },
];

t.test('a signed plugin with one file changed, added or removed is refused, loaded or not', async (t) => {
  const apps = TAMPERED.map((c) => pluginApp(t, { after: c.after }));
  const results = await pool(apps, 4, (app) => run(app));
  TAMPERED.forEach((c, i) =>
    t.test(c.name, async (t) => {
      const result = results[i];
      assertRefused(t, result, c.code, { path: c.path && apps[i].path(c.path), rule: 'plugins' });
      if (c.message) t.match(result.firstLine, c.message, 'the message says why');
      t.equal(result.stdout, c.stdout ?? '', 'nothing of the plugin ran before the refusal');
    }),
  );
});

// A rule whose globs name only the manifest bundle and .mjs files, with no folder: nothing else in the plugin matches a rule.
const GLOB_ONLY = [{ name: 'plugins', files: ['**/manifest.sigstore.json', '**/*.mjs'], signers: ['offline'] }];

const SHADOWS = [
  { name: 'lib/index.js beside a signed lib/index/', host: "require('./plugins/acme/lib/index');\nconsole.log('LOADED');\n", file: 'lib/index.js' },
  { name: 'lib/util.js beside a signed lib/util.json', host: "require('./plugins/acme/lib/util');\nconsole.log('LOADED');\n", file: 'lib/util.js' },
];

t.test('a file Node would find before a signed one is refused, even where no rule matches it', async (t) => {
  const cases = SHADOWS.flatMap((c) => [
    { ...c, tampered: false },
    { ...c, tampered: true },
  ]);
  const apps = cases.map((c) =>
    pluginApp(t, {
      rules: GLOB_ONLY,
      host: c.host,
      hostFile: 'main.cjs',
      after: c.tampered ? (app) => app.write(`${PLUGIN}/${c.file}`, "console.log('EVIL');\n") : undefined,
    }),
  );
  const results = await pool(apps, 4, (app) => run(app, { hostFile: 'main.cjs' }));
  cases.forEach((c, i) =>
    t.test(`${c.name}${c.tampered ? '' : ': absent, the signed file loads'}`, async (t) => {
      if (!c.tampered) {
        assertClean(t, results[i]);
        t.equal(results[i].stdout, 'LOADED\n');
        return;
      }
      assertRefused(t, results[i], 'ERR_TRUSTLOAD_NOT_IN_MANIFEST', { rule: 'plugins' });
      t.match(results[i].firstLine, new RegExp(`not in the manifest of its signed directory: ${c.file.replace('.', '\\.')}`));
      t.notMatch(results[i].stdout, /EVIL|LOADED/, 'the added file never ran');
    }),
  );
});

t.test('files added after the directory was first loaded from are refused too', async (t) => {
  // The host loads from the plugin (the directory is listed then), then the files appear, then it loads them.
  const host = (write, load) => `const fs = require('node:fs');
require('./plugins/acme/lib/util.json');
${write}
try { ${load}; console.log('LOADED'); } catch (err) { console.log('REFUSED', err.code); }
`;
  const cases = [
    {
      name: 'a file no rule matches (lib/util.js)',
      rules: GLOB_ONLY,
      host: host("fs.writeFileSync('plugins/acme/lib/util.js', \"console.log('EVIL')\");", "require('./plugins/acme/lib/util.js')"),
      expect: 'REFUSED ERR_TRUSTLOAD_NOT_IN_MANIFEST',
      message: /lib\/util\.js cannot be loaded: it is not listed in the manifest of its signed directory/,
    },
    {
      name: 'a file with a valid sibling bundle',
      host: host(
        `fs.copyFileSync('staged/extra.cjs', 'plugins/acme/lib/extra.cjs'); fs.copyFileSync('staged/extra.cjs.sigstore.json', 'plugins/acme/lib/extra.cjs.sigstore.json');`,
        "require('./plugins/acme/lib/extra.cjs')",
      ),
      staged: true,
      expect: 'REFUSED ERR_TRUSTLOAD_NOT_IN_MANIFEST',
      message: /lib\/extra\.cjs cannot be loaded: it is not listed/,
    },
    {
      name: 'a package nested under node_modules',
      host: host("fs.mkdirSync('plugins/acme/node_modules/late'); fs.writeFileSync('plugins/acme/node_modules/late/index.js', \"console.log('EVIL')\");", "require('./plugins/acme/node_modules/late/index.js')"),
      expect: 'REFUSED ERR_TRUSTLOAD_NOT_IN_MANIFEST',
      message: /a package added under node_modules\/ after the directory was signed/,
    },
    {
      name: 'a symbolic link to a listed file not loaded yet (allow_symlinks: false)',
      host: host("fs.symlinkSync('spare.js', 'plugins/acme/lib/alias.js');", "require('./plugins/acme/lib/alias.js')"),
      expect: 'REFUSED ERR_TRUSTLOAD_NOT_IN_MANIFEST',
      message: /does not allow symbolic links \(allow_symlinks: false\), and this load goes through one: lib\/alias\.js/,
    },
  ];
  const apps = cases.map((c) => {
    const app = pluginApp(t, { rules: c.rules, host: c.host, hostFile: 'main.cjs' });
    if (c.staged) {
      app.write('staged/extra.cjs', "console.log('EVIL');\n");
      signFile(app.path('staged/extra.cjs'), PRIVATE_KEY_PEM);
    }
    return app;
  });
  const results = await pool(apps, 4, (app) => run(app, { hostFile: 'main.cjs' }));
  cases.forEach((c, i) =>
    t.test(c.name, async (t) => {
      t.equal(results[i].code, 0, results[i].stderr);
      t.equal(results[i].stdout, `${c.expect}\n`, 'refused, and the file never ran');
      t.match(results[i].stderr, c.message);
    }),
  );
});

t.test('nested signed directories: a nested manifest listed in its parent', async (t) => {
  const nested = (app) => {
    app.write(`${PLUGIN}/vendor/sub/x.js`, "export const x = 'SIGNED-nested';\n");
    signDirectory(app.path(`${PLUGIN}/vendor/sub`), PRIVATE_KEY_PEM); // signed first: the parent lists its manifest bundle
  };
  const host = "const { x } = await import('./plugins/acme/vendor/sub/x.js');\nconsole.log(x);\n";
  const good = pluginApp(t, { before: nested, host });
  // The inner directory re-signed after the parent was: the parent's entry for the inner bundle no longer matches.
  const resigned = pluginApp(t, {
    before: nested,
    host,
    after: (app) => signDirectory(app.path(`${PLUGIN}/vendor/sub`), PRIVATE_KEY_PEM, { ignorePaths: ['unused'] }),
  });
  // A file changed and the inner manifest re-signed over it: the parent still lists the old digest.
  const changedInner = pluginApp(t, {
    before: nested,
    host,
    after: (app) => {
      writeFileSync(app.path(`${PLUGIN}/vendor/sub/x.js`), "export const x = 'EVIL';\n");
      signDirectory(app.path(`${PLUGIN}/vendor/sub`), PRIVATE_KEY_PEM);
    },
  });
  const [r1, r2, r3] = await Promise.all([run(good), run(resigned), run(changedInner)]);
  assertClean(t, r1);
  t.equal(r1.stdout, 'SIGNED-nested\n');
  assertRefused(t, r2, 'ERR_TRUSTLOAD_SIGNATURE', { path: resigned.path(`${PLUGIN}/vendor/sub/manifest.sigstore.json`), rule: 'plugins' });
  assertRefused(t, r3, 'ERR_TRUSTLOAD_SIGNATURE');
  t.equal(r3.stdout, '', 'the changed file never ran');
});

t.test('links with allow_symlinks: true', async (t) => {
  const host = (target) => `const { spare } = await import('./plugins/acme/lib/${target}');\nconsole.log(spare);\n`;
  // A link to a listed file inside the directory, listed under its own name.
  const inside = pluginApp(t, { sign: { allowSymlinks: true }, host: host('alias.js'), before: (app) => app.symlink('spare.js', `${PLUGIN}/lib/alias.js`) });
  // A link leading outside the directory (still inside the rule's folder), even though it was listed with the digest of what it led to.
  const outside = pluginApp(t, {
    sign: { allowSymlinks: true },
    host: host('out.js'),
    before: (app) => {
      app.write('plugins/other/out.js', "export const spare = 'OUTSIDE';\n");
      app.symlink('../../other/out.js', `${PLUGIN}/lib/out.js`);
    },
  });
  // A link added after signing: not listed.
  const added = pluginApp(t, { sign: { allowSymlinks: true }, host: host('late.js'), after: (app) => app.symlink('spare.js', `${PLUGIN}/lib/late.js`) });
  // A link made once the directory was listed, leading out to a file with its own valid sibling bundle: no listed file is read.
  const toSibling = pluginApp(t, {
    sign: { allowSymlinks: true },
    host: `import { symlinkSync } from 'node:fs';\nawait import('./plugins/acme/lib/spare.js');\nsymlinkSync('../../other/sib.js', 'plugins/acme/lib/sib.js');\n${host('sib.js')}`,
    before: (app) => signFile(app.write('plugins/other/sib.js', "export const spare = 'SIBLING';\n"), PRIVATE_KEY_PEM),
  });
  const [r1, r2, r3, r4] = await Promise.all([run(inside), run(outside), run(added), run(toSibling)]);
  assertRefused(t, r4, 'ERR_TRUSTLOAD_UNSUPPORTED_LOAD');
  t.match(r4.firstLine, /the link lib\/sib\.js leads to .*other\/sib\.js, outside the signed directory/);
  t.equal(r4.stdout, '', 'the file behind the link never ran');
  assertClean(t, r1);
  t.equal(r1.stdout, 'SIGNED-spare\n', 'the file loads through its listed link');
  assertRefused(t, r2, 'ERR_TRUSTLOAD_UNSUPPORTED_LOAD');
  t.match(r2.firstLine, /the link lib\/out\.js leads to .*outside the signed directory/);
  t.equal(r2.stdout, '');
  assertRefused(t, r3, 'ERR_TRUSTLOAD_NOT_IN_MANIFEST');
  t.match(r3.firstLine, /lib\/late\.js/);
});

t.test('a rule that names a manifest bundle', async (t) => {
  const rules = [{ name: 'plugins', files: 'plugins/**', signers: ['offline'], bundle: 'plugin.sig' }];
  const signed = pluginApp(t, { rules, sign: { bundle: 'plugin.sig' } });
  const wrongName = pluginApp(t, { rules }); // signed, but as manifest.sigstore.json
  const [r1, r2] = await Promise.all([run(signed), run(wrongName)]);
  assertClean(t, r1);
  t.equal(r1.stdout, 'SIGNED greeting from acme SIGNED-dep\nSIGNED-index SIGNED-util\n');
  assertRefused(t, r2, 'ERR_TRUSTLOAD_NO_BUNDLE', { rule: 'plugins' });
  t.match(r2.firstLine, new RegExp(`no manifest bundle named plugin\\.sig in ${wrongName.path(PLUGIN)}(/lib)? or a folder above it up to ${wrongName.dir} `));
});

t.test('a manifest signed by a key the file\'s rule does not trust is refused, whichever rule the manifest bundle belongs to', async (t) => {
  // The manifest bundle (a .json) belongs to "bundles", whose signer is the test key; the .js files belong to "code", which trusts another key.
  const otherKey = join(import.meta.dirname, '..', 'fixtures', 'keys', 'p384.pub.pem');
  const app = pluginApp(t, {
    rules: [
      { name: 'code', files: 'plugins/**/*.js', signers: ['other'] },
      { name: 'bundles', files: 'plugins/**', signers: ['offline'] },
    ],
    host: "const { spare } = await import('./plugins/acme/lib/spare.js');\nconsole.log(spare);\n",
  });
  const policy = JSON.parse(app.read('trustload.policy.json'));
  policy.trust.keys.other = { path: otherKey, sha256: sha256Hex(readFileSync(otherKey)) };
  policy.signers.other = { key: 'other', transparencyLog: false };
  app.write('trustload.policy.json', JSON.stringify(policy));
  app.write('probe.mjs', `import * as trustload from ${JSON.stringify(INDEX)};
const out = {};
try { await trustload.readVerified('plugins/acme/lib/spare.js'); out.read = 'read'; } catch (err) { out.read = err.code; }
try { for await (const _ of trustload.createVerifiedReadStream('plugins/acme/lib/spare.js')); out.stream = 'streamed'; } catch (err) { out.stream = err.code; }
console.log(JSON.stringify(out));
`);
  const [result, api] = await Promise.all([run(app), runNode(app.dir, ['probe.mjs'], { guard: false })]);
  t.same(JSON.parse(api.stdout), { read: 'ERR_TRUSTLOAD_SIGNATURE', stream: 'ERR_TRUSTLOAD_SIGNATURE' }, 'readVerified and createVerifiedReadStream judge it the same way');
  // Its package.json is the first file judged by "code": the manifest is verified again for that rule's key, and fails.
  assertRefused(t, result, 'ERR_TRUSTLOAD_SIGNATURE', { path: app.path(`${PLUGIN}/package.json`), rule: 'code' });
  t.match(result.firstLine, /expected a signature by key other/);
  t.equal(result.stdout, '');
});

t.test('permissive mode warns and loads the bytes it read', async (t) => {
  const app = pluginApp(t, { after: (app) => app.tamper(`${PLUGIN}/lib/greet/greet.js`) });
  const result = await run(app, { env: { TRUSTLOAD_MODE: 'permissive' } });
  t.equal(result.code, 0, result.stderr);
  t.match(result.stderr, /^trustload: WARNING: ERR_TRUSTLOAD_SIGNATURE: .*lib\/greet\/greet\.js: rule "plugins": the file's content differs from what the manifest signs .*\(loaded anyway: permissive mode\)/m);
  t.match(result.stdout, /^SIGNEX greeting from acme SIGNED-dep\n/, 'the tampered bytes ran, as read');
});

t.test('decisions are published on trustload:decision with the file\'s sha256', async (t) => {
  const host = `import diagnostics from 'node:diagnostics_channel';
const seen = [];
diagnostics.subscribe('trustload:decision', (d) => { if (d.path.includes('/plugins/')) seen.push({ path: d.path, decision: d.decision, rule: d.rule, signer: d.signer?.signer, digest: d.digest }); });
await import('acme');
console.log(JSON.stringify(seen));
`;
  const app = pluginApp(t, { host });
  const result = await run(app);
  assertClean(t, result);
  const seen = JSON.parse(result.stdout);
  const greet = seen.find((d) => d.path.endsWith('/lib/greet/greet.js'));
  t.same(greet, { path: app.path(`${PLUGIN}/lib/greet/greet.js`), decision: 'verified', rule: 'plugins', signer: 'offline', digest: sha256Hex(app.read(`${PLUGIN}/lib/greet/greet.js`)) });
  t.ok(seen.some((d) => d.path.endsWith('/acme/package.json') && d.decision === 'verified'), 'the package.json, verified by the manifest');
});

t.test('policy explain names the manifest that covers a path and whether it is listed', async (t) => {
  const app = pluginApp(t, { after: (app) => app.write(`${PLUGIN}/lib/util.js`, 'evil') });
  const clean = pluginApp(t);
  const explain = (a, rel) => runCli(['policy', 'explain', a.path(rel), '--policy', a.policyPath], { cwd: a.dir });
  const [listed, unlisted, refusedDir, json] = await Promise.all([
    explain(clean, `${PLUGIN}/lib/greet/greet.js`),
    explain(clean, `${PLUGIN}/lib/nothing.js`),
    explain(app, `${PLUGIN}/lib/util.json`),
    runCli(['policy', 'explain', clean.path(`${PLUGIN}/lib/main.js`), '--policy', clean.policyPath, '--json'], { cwd: clean.dir }),
  ]);
  t.equal(listed.code, 0, listed.stderr);
  t.match(listed.stdout, new RegExp(`manifest: ${clean.path(PLUGIN)}/manifest\\.sigstore\\.json \\(rule "plugins"\\), as lib/greet/greet\\.js: listed`));
  t.match(listed.stdout, /outcome: protected: loads only if its bytes match its entry in every enclosing manifest/);
  t.notMatch(listed.stdout, /greet\.js\.sigstore\.json/, 'no sibling bundle is named');
  t.match(unlisted.stdout, /as lib\/nothing\.js: not listed/);
  t.match(unlisted.stdout, /outcome: refused: lib\/nothing\.js is not listed in the manifest/);
  t.match(refusedDir.stdout, /outcome: refused: the signed directory is refused: ERR_TRUSTLOAD_NOT_IN_MANIFEST: .*lib\/util\.js/);
  t.match(JSON.parse(json.stdout).manifest, { bundle: clean.path(`${PLUGIN}/manifest.sigstore.json`), rule: 'plugins', name: 'lib/main.js', listed: true });
});

t.test('trustload verify DIR and the loader agree on a nested directory its parent does not vouch for', async (t) => {
  const app = pluginApp(t, {
    before: (app) => {
      app.write(`${PLUGIN}/vendor/sub/x.js`, "export const x = 'SIGNED-nested';\n");
      signDirectory(app.path(`${PLUGIN}/vendor/sub`), PRIVATE_KEY_PEM);
    },
    after: (app) => {
      writeFileSync(app.path(`${PLUGIN}/vendor/sub/x.js`), "export const x = 'EVIL';\n");
      signDirectory(app.path(`${PLUGIN}/vendor/sub`), PRIVATE_KEY_PEM);
    },
  });
  const r = await runCli(['verify', app.path(`${PLUGIN}/vendor/sub`), '--policy', app.policyPath], { cwd: app.dir });
  t.equal(r.code, 1, r.stdout);
  t.match(r.stderr, /ERR_TRUSTLOAD_SIGNATURE/, 'the inner manifest verifies, but the parent signs other bytes for its bundle');
});

/** A shared object compiled once; skip when there is no cc. */
function compileAddon() {
  const dir = mkdtempSync(join(tmpdir(), 'trustload-dir-native-'));
  process.on('exit', () => rmSync(dir, { recursive: true, force: true }));
  const cc = (args) => execFileSync('cc', args, { cwd: dir, stdio: 'pipe', timeout: 60_000 });
  try {
    cc(['--version']);
  } catch {
    return { skip: 'no cc on this machine' };
  }
  const lib = (marker) => `#include <unistd.h>\nvoid helper(void) { write(1, "${marker}\\n", ${marker.length + 1}); }\n`;
  writeFileSync(join(dir, 'helper.c'), lib('HELPER-MARKER'));
  writeFileSync(join(dir, 'evil.c'), lib('EVIL-MARKER'));
  writeFileSync(join(dir, 'addon.c'), 'typedef struct napi_env__* napi_env; typedef struct napi_value__* napi_value;\nvoid helper(void);\nnapi_value napi_register_module_v1(napi_env env, napi_value exports) { helper(); return exports; }\n');
  cc(['-shared', '-fPIC', '-o', 'libhelper.so', 'helper.c']);
  cc(['-shared', '-fPIC', '-o', 'libevil.so', 'evil.c']);
  cc(['-shared', '-fPIC', '-o', 'addon.node', 'addon.c', '-L.', '-lhelper', '-Wl,-rpath,$ORIGIN', '-Wl,--disable-new-dtags']);
  const bytes = (name) => readFileSync(join(dir, name));
  return { addon: bytes('addon.node'), helper: bytes('libhelper.so'), evil: bytes('libevil.so') };
}

t.test('a native addon and the library it links, inside a signed directory', async (t) => {
  const built = compileAddon();
  if (built.skip) return t.skip(built.skip);
  const host = "require('./plugins/acme/native/addon.node');\nconsole.log('LOADED');\n";
  const files = { 'native/addon.node': built.addon, 'native/libhelper.so': built.helper };
  const good = pluginApp(t, { files, host, hostFile: 'main.cjs' });
  const swapped = pluginApp(t, { files, host, hostFile: 'main.cjs', after: (app) => writeFileSync(app.path(`${PLUGIN}/native/libhelper.so`), built.evil) });
  const [r1, r2] = await Promise.all([run(good, { hostFile: 'main.cjs' }), run(swapped, { hostFile: 'main.cjs' })]);
  assertClean(t, r1);
  t.equal(r1.stdout, 'HELPER-MARKER\nLOADED\n', 'the addon and its library ran');
  assertRefused(t, r2, 'ERR_TRUSTLOAD_SIGNATURE', { path: swapped.path(`${PLUGIN}/native/libhelper.so`), rule: 'plugins' });
  t.notMatch(r2.stdout, /EVIL-MARKER|LOADED/, 'the swapped library never ran');
});

t.test('a manifest bundle hidden during the first lookup under its folder, then restored, refuses the directory', async (t) => {
  // A rule whose glob names only the weights: config.json is protected by the closed set alone.
  const rules = [{ name: 'models', files: 'models/**/*.safetensors', signers: ['offline'], bundle: 'model.sig' }];
  const app = makeApp(t, { rules, files: { 'models/m/weights.safetensors': 'SIGNED weights', 'models/m/config.json': '{"SIGNED": true}', 'models/m/sub/notes.json': '{"SIGNED": true}' } });
  signDirectory(app.path('models/m'), PRIVATE_KEY_PEM, { bundle: 'model.sig' });
  app.write('models/m/config.json', '{"TAMPERED": true}');
  app.write(
    'main.mjs',
    `import * as t from ${JSON.stringify(INDEX)};
import fs from 'node:fs';
const read = async (path) => { try { console.log(path, 'LOADED', (await t.readVerified(path)).toString()); } catch (err) { console.log(path, 'REFUSED', err.code); console.error(err.message); } };
fs.renameSync('models/m/model.sig', 'hidden.sig');
await read('models/m/config.json'); // no bundle on disk: no signed directory, as if never signed
fs.renameSync('hidden.sig', 'models/m/model.sig');
await read('models/m/config.json');
await read('models/m/sub/notes.json'); // first lookup of sub/, through models/m
await read('models/m/weights.safetensors');
fs.renameSync('models/m/model.sig', 'hidden.sig'); // hidden again: the directory stays refused
await read('models/m/config.json');
`,
  );
  const r = await runNode(app.dir, ['main.mjs']);
  t.equal(r.code, 0, r.stderr);
  t.equal(
    r.stdout,
    [
      'models/m/config.json LOADED {"TAMPERED": true}',
      'models/m/config.json REFUSED ERR_TRUSTLOAD_BAD_BUNDLE',
      'models/m/sub/notes.json REFUSED ERR_TRUSTLOAD_BAD_BUNDLE',
      'models/m/weights.safetensors REFUSED ERR_TRUSTLOAD_BAD_BUNDLE',
      'models/m/config.json REFUSED ERR_TRUSTLOAD_BAD_BUNDLE',
      '',
    ].join('\n'),
  );
  t.match(r.stderr, /the manifest bundle model\.sig appeared after a load from this folder found none/);
});

t.test('verifyDirectory lists the directory again: a file added after the first load refuses it', async (t) => {
  const rules = [{ name: 'models', files: 'models/**', signers: ['offline'], bundle: 'model.sig' }];
  const app = makeApp(t, { rules, files: { 'models/m/weights.bin': 'SIGNED weights', 'models/m/config.json': '{"SIGNED": true}' } });
  signDirectory(app.path('models/m'), PRIVATE_KEY_PEM, { bundle: 'model.sig' });
  app.write(
    'main.mjs',
    `import * as t from ${JSON.stringify(INDEX)};
import fs from 'node:fs';
const attempt = async (label, f) => { try { await f(); console.log(label, 'OK'); } catch (err) { console.log(label, 'REFUSED', err.code); } };
await attempt('verifyDirectory', () => t.verifyDirectory('models/m'));
await attempt('readVerified', () => t.readVerified('models/m/config.json'));
fs.writeFileSync('models/m/evil.bin', 'UNSIGNED');
await attempt('verifyDirectory', () => t.verifyDirectory('models/m'));
fs.rmSync('models/m/evil.bin'); // gone again: the directory stays refused
await attempt('readVerified', () => t.readVerified('models/m/config.json'));
`,
  );
  const r = await runNode(app.dir, ['main.mjs']);
  t.equal(r.code, 0, r.stderr);
  t.equal(r.stdout, 'verifyDirectory OK\nreadVerified OK\nverifyDirectory REFUSED ERR_TRUSTLOAD_NOT_IN_MANIFEST\nreadVerified REFUSED ERR_TRUSTLOAD_NOT_IN_MANIFEST\n');
});
