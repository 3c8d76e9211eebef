// A path the guard cannot examine (a symlink loop, a name too long, a folder it
// may not search) must refuse the load it was deciding. Each layout below made
// the path reasoning throw, and the catch let the real path alone decide: the
// link out of plugins/ went unseen and the unsigned file outside ran.
import { chmodSync, mkdirSync, mkdtempSync, realpathSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import t from 'tap';
import { assertRefusalLine, makeApp, runNode } from './helpers/app.mjs';

const EVIL = "console.log('UNSIGNED_RAN'); module.exports = 'evil';\n";
const SIGNED_PLUGIN = (body) => `${body}\nconsole.log('SIGNED_PLUGIN_RAN');\n`;
const LONG = 'a'.repeat(251); // with ".json" or ".node" appended: 256 bytes, one more than a name may have

/** A folder outside the app holding `files` ({ rel: content }), removed when the test ends. */
function outside(t, files) {
  const dir = realpathSync(mkdtempSync(join(tmpdir(), 'trustload-outside-')));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  for (const [rel, content] of Object.entries(files)) {
    mkdirSync(dirname(join(dir, rel)), { recursive: true });
    writeFileSync(join(dir, rel), content);
  }
  return dir;
}

function assertRefusedUnrun(t, run, path) {
  t.not(run.code, 0, 'exits non-zero');
  t.notMatch(run.stdout, /UNSIGNED_RAN/, 'the unsigned code did not run');
  assertRefusalLine(t, run, 'ERR_TRUSTLOAD_UNSUPPORTED_LOAD', { path });
}

/** plugins/p/index.js (signed) runs `body`; main.cjs requires it. */
function pluginApp(t, body, extra = {}) {
  return makeApp(t, { files: { 'plugins/p/index.js': SIGNED_PLUGIN(body), 'main.cjs': "require('./plugins/p/index.js');\n" }, sign: ['plugins/p/index.js'], ...extra });
}

t.test('ELOOP: require("./helper") with a link loop named helper and helper.js linked outside', async (t) => {
  const app = pluginApp(t, "require('./helper');");
  app.symlink('helper', 'plugins/p/helper');
  app.symlink(join(outside(t, { 'evil.js': EVIL }), 'evil.js'), 'plugins/p/helper.js');
  const run = await runNode(app.dir, ['main.cjs']);
  assertRefusedUnrun(t, run);
  t.match(run.firstLine, /ELOOP/, 'names the OS error');
});

t.test('ELOOP: require("./lib") of a folder linked outside, with a link loop named lib.js', async (t) => {
  const app = pluginApp(t, "require('./lib');");
  app.symlink(outside(t, { 'index.js': EVIL }), 'plugins/p/lib');
  app.symlink('lib.js', 'plugins/p/lib.js');
  const run = await runNode(app.dir, ['main.cjs']);
  assertRefusedUnrun(t, run);
});

t.test('ENAMETOOLONG: require() of a folder with a 251-character name linked outside', async (t) => {
  const app = pluginApp(t, `require('./${LONG}');`);
  app.symlink(outside(t, { 'index.js': EVIL }), `plugins/p/${LONG}`);
  const run = await runNode(app.dir, ['main.cjs']);
  assertRefusedUnrun(t, run);
  t.match(run.firstLine, /ENAMETOOLONG/, 'names the OS error');
});

// CommonJS tries node_modules/dep, dep.js, dep.json, dep.node, then the folder dep (skipping any name it cannot stat).
for (const [label, name, candidate] of [['ELOOP', 'dep', 'dep.js'], ['ENAMETOOLONG', LONG, undefined]]) {
  t.test(`${label}: a plugin's bare require() of a package folder linked outside`, async (t) => {
    const app = pluginApp(t, `require('${name}');`);
    app.symlink(outside(t, { 'index.js': EVIL }), `plugins/p/node_modules/${name}`);
    if (candidate !== undefined) app.symlink(candidate, `plugins/p/node_modules/${candidate}`);
    const run = await runNode(app.dir, ['main.cjs']);
    assertRefusedUnrun(t, run);
    t.match(run.firstLine, new RegExp(label), 'names the OS error');
  });
}

t.test('ELOOP: a bare import from a nested folder, past a node_modules loop, to a package linked outside', async (t) => {
  const app = makeApp(t, {
    files: { 'plugins/p/sub/x.mjs': "import 'dep';\nconsole.log('SIGNED_PLUGIN_RAN');\n", 'main.mjs': "await import('./plugins/p/sub/x.mjs');\n" },
    sign: ['plugins/p/sub/x.mjs'],
  });
  app.symlink('node_modules', 'plugins/p/sub/node_modules');
  app.symlink(outside(t, { 'package.json': '{ "name": "dep", "main": "index.js" }\n', 'index.js': EVIL }), 'plugins/p/node_modules/dep');
  const run = await runNode(app.dir, ['main.mjs']);
  assertRefusedUnrun(t, run);
});

t.test('ELOOP: the main entry named without its extension, beside a loop, linked outside', async (t) => {
  const app = makeApp(t, {});
  app.symlink('helper', 'plugins/helper');
  app.symlink(join(outside(t, { 'evil.js': EVIL }), 'evil.js'), 'plugins/helper.js');
  const run = await runNode(app.dir, ['plugins/helper']);
  assertRefusedUnrun(t, run);
});

t.test('the main entry named without its extension, linked outside', async (t) => {
  const app = makeApp(t, {});
  app.symlink(join(outside(t, { 'evil.js': EVIL }), 'evil.js'), 'plugins/helper.js');
  const run = await runNode(app.dir, ['plugins/helper']);
  assertRefusedUnrun(t, run, app.path('plugins/helper.js'));
});

t.test('ELOOP: readVerifiedSync through a link loop is refused, not read', async (t) => {
  const app = makeApp(t, { files: { 'main.mjs': `import { readVerifiedSync } from ${JSON.stringify(new URL('../dist/index.js', import.meta.url).href)};\ntry { readVerifiedSync('plugins/loop/x.md'); console.log('READ'); } catch (err) { console.log('REFUSED ' + err.code); }\n` } });
  app.symlink('loop', 'plugins/loop');
  const run = await runNode(app.dir, ['main.mjs'], { guard: false });
  t.equal(run.code, 0, run.stderr);
  t.match(run.stdout, /REFUSED ERR_TRUSTLOAD_/, 'refused with a TrustloadError');
  t.notMatch(run.stdout, /READ/);
});

t.test('EACCES: a bare import past a folder the process may not search', { skip: process.getuid?.() === 0 ? 'running as root: EACCES does not occur' : false }, async (t) => {
  const app = makeApp(t, {
    files: { 'plugins/p/sub/x.mjs': "import 'dep';\nconsole.log('SIGNED_PLUGIN_RAN');\n", 'main.mjs': "await import('./plugins/p/sub/x.mjs');\n" },
    sign: ['plugins/p/sub/x.mjs'],
  });
  mkdirSync(app.path('plugins/p/sub/node_modules'));
  chmodSync(app.path('plugins/p/sub/node_modules'), 0o000);
  t.teardown(() => chmodSync(app.path('plugins/p/sub/node_modules'), 0o755));
  app.symlink(outside(t, { 'package.json': '{ "name": "dep", "main": "index.js" }\n', 'index.js': EVIL }), 'plugins/p/node_modules/dep');
  const run = await runNode(app.dir, ['main.mjs']);
  assertRefusedUnrun(t, run);
});


// An --import preload is resolved against the working folder's URL, which ends in "/": its
// requested path is in that folder, not in its parent (where the walk found nothing and refused).
t.test('an --import preload of a plugin is named in the working folder', async (t) => {
  const app = makeApp(t, {
    files: { 'plugins/pre.mjs': "console.log('SIGNED_PRELOAD');\n", 'plugins/bad.mjs': "console.log('UNSIGNED_RAN');\n", 'main.mjs': "console.log('MAIN');\n" },
    sign: ['plugins/pre.mjs'],
  });
  const signed = await runNode(app.dir, ['--import', './plugins/pre.mjs', 'main.mjs']);
  t.equal(signed.code, 0, signed.stderr);
  t.match(signed.stdout, /SIGNED_PRELOAD[\s\S]*MAIN/, 'the signed preload ran, then the application');
  const unsigned = await runNode(app.dir, ['--import', './plugins/bad.mjs', 'main.mjs']);
  t.not(unsigned.code, 0);
  t.notMatch(unsigned.stdout, /UNSIGNED_RAN/);
  assertRefusalLine(t, unsigned, 'ERR_TRUSTLOAD_NO_BUNDLE', { path: app.path('plugins/bad.mjs') });
});
