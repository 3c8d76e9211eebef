// Ways a file can be named inside a rule's folder while the file Node reads
// lives elsewhere, found by reviewing the guard as an attacker would. Each
// must be refused, and the unsigned code must not run.
import { mkdirSync, mkdtempSync, realpathSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import t from 'tap';
import { makeApp, PLUGINS_RULE, runNode } from './helpers/app.mjs';

const EVIL = "console.log('UNSIGNED_RAN'); module.exports = 'evil';\n";
const SIGNED_PLUGIN = (body) => `${body}\nconsole.log('SIGNED_PLUGIN_RAN');\n`;

function outsideFile(t, name, content = EVIL) {
  const dir = realpathSync(mkdtempSync(join(tmpdir(), 'trustload-outside-')));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  writeFileSync(join(dir, name), content);
  return join(dir, name);
}

function assertRefusedUnrun(t, run, code = 'ERR_TRUSTLOAD_UNSUPPORTED_LOAD') {
  t.notMatch(run.stdout, /UNSIGNED_RAN/, 'the unsigned code did not run');
  t.match(run.stderr, new RegExp(`^trustload: ${code}: `), `refused with ${code}`);
}

// `**` at the end of a glob was `.*`, which skips names with line breaks or U+2028.
for (const [label, name] of [['U+2028', 'evil\u2028.mjs'], ['a newline', 'evil\n.mjs'], ['a carriage return folder', 'x\r/index.mjs']]) {
  t.test(`a plugin whose name has ${label} is still under plugins/**`, async (t) => {
    const app = makeApp(t, {
      files: { [`plugins/${name}`]: "console.log('UNSIGNED_RAN');\n", 'main.mjs': `await import(${JSON.stringify(`./plugins/${name.replace('\r', '%0D').replace('\n', '%0A')}`)});\n` },
    });
    const run = await runNode(app.dir, ['main.mjs']);
    t.not(run.code, 0);
    assertRefusedUnrun(t, run, 'ERR_TRUSTLOAD_NO_BUNDLE');
  });
}

// CommonJS looks for node_modules/<name>.js (and .json, .node) before the folder.
t.test('require("dep") through plugins/p/node_modules/dep.js linked outside', async (t) => {
  const app = makeApp(t, { files: { 'plugins/p/index.js': SIGNED_PLUGIN("require('dep');"), 'main.cjs': "require('./plugins/p/index.js');\n" }, sign: ['plugins/p/index.js'] });
  mkdirSync(app.path('plugins/p/node_modules'));
  app.symlink(outsideFile(t, 'evil.js'), 'plugins/p/node_modules/dep.js');
  const run = await runNode(app.dir, ['main.cjs']);
  t.not(run.code, 0);
  assertRefusedUnrun(t, run);
  t.match(run.stderr, /plugins\/p\/node_modules\/dep\.js/, 'names the link as requested');
});

t.test('a link in plugins/ shadowing the host application\'s own dependency', async (t) => {
  const app = makeApp(t, {
    files: {
      'node_modules/dep/index.js': "module.exports = 'host dep';\n",
      'plugins/p/index.js': SIGNED_PLUGIN("console.log(require('dep'));"),
      'main.cjs': "require('./plugins/p/index.js');\n",
    },
    sign: ['plugins/p/index.js'],
  });
  mkdirSync(app.path('plugins/p/node_modules'));
  app.symlink(outsideFile(t, 'evil.js'), 'plugins/p/node_modules/dep.js');
  const run = await runNode(app.dir, ['main.cjs']);
  t.not(run.code, 0);
  assertRefusedUnrun(t, run);
});

// With an extension glob, require('./helper') was recorded as plugins/p/helper, which no rule matched.
t.test('require("./helper") without its extension, linked outside, under plugins/**/*.js', async (t) => {
  const app = makeApp(t, {
    rules: [{ ...PLUGINS_RULE, files: 'plugins/**/*.js' }],
    files: { 'plugins/p/index.js': SIGNED_PLUGIN("require('./helper');"), 'main.cjs': "require('./plugins/p/index.js');\n" },
    sign: ['plugins/p/index.js'],
  });
  app.symlink(outsideFile(t, 'evil.js'), 'plugins/p/helper.js');
  const run = await runNode(app.dir, ['main.cjs']);
  t.not(run.code, 0);
  assertRefusedUnrun(t, run);
});

t.test('require("./lib") of a folder linked outside, under plugins/**/*.js', async (t) => {
  const app = makeApp(t, {
    rules: [{ ...PLUGINS_RULE, files: 'plugins/**/*.js' }],
    files: { 'plugins/p/index.js': SIGNED_PLUGIN("require('./lib');"), 'main.cjs': "require('./plugins/p/index.js');\n" },
    sign: ['plugins/p/index.js'],
  });
  const evil = outsideFile(t, 'index.js');
  app.symlink(join(evil, '..'), 'plugins/p/lib');
  const run = await runNode(app.dir, ['main.cjs']);
  t.not(run.code, 0);
  assertRefusedUnrun(t, run);
});

// A module already in Node's caches never reaches the load hook again.
t.test('a link into another rule\'s folder is refused even once its target is cached', async (t) => {
  const app = makeApp(t, {
    unmatched: 'deny',
    rules: [{ name: 'app', files: 'main.mjs', signers: ['offline'] }, { name: 'core', files: 'core/**', signers: ['offline'] }, PLUGINS_RULE],
    files: {
      'core/admin.mjs': "console.log('CORE_RAN');\n",
      'main.mjs': "await import('./core/admin.mjs');\ntry { await import('./plugins/helper.mjs'); console.log('LINK_LOADED'); } catch (err) { console.log('LINK_REFUSED ' + err.code); }\n",
    },
    sign: ['core/admin.mjs', 'main.mjs'],
  });
  app.symlink('../core/admin.mjs', 'plugins/helper.mjs');
  const run = await runNode(app.dir, ['main.mjs']);
  t.match(run.stdout, /CORE_RAN/, 'the core module itself loads');
  t.match(run.stdout, /LINK_REFUSED ERR_TRUSTLOAD_UNSUPPORTED_LOAD/, 'the link to it from plugins/ is refused');
  t.notMatch(run.stdout, /LINK_LOADED/);
});

// #imports and self-references map through the importer's own package.json: targets inside the
// package load as usual (signed), and only a link leading out of the package is refused.
for (const [label, pkg, specifier] of [
  ['"imports" (#util)', '{ "name": "host", "type": "module", "imports": { "#util": "./lib/util.js" } }\n', '#util'],
  ['self-reference through "exports"', '{ "name": "host", "type": "module", "exports": { "./util": "./lib/util.js" } }\n', 'host/util'],
]) {
  t.test(`package ${label} inside the package loads`, async (t) => {
    const app = makeApp(t, {
      files: {
        'main.mjs': "await import('./plugins/host/index.mjs');\n",
        'plugins/host/package.json': pkg,
        'plugins/host/index.mjs': `import ${JSON.stringify(specifier)};\nconsole.log('HOST_RAN');\n`,
        'plugins/host/lib/util.js': "console.log('UTIL_RAN');\n",
      },
      sign: ['plugins/host/package.json', 'plugins/host/index.mjs', 'plugins/host/lib/util.js'],
    });
    const run = await runNode(app.dir, ['main.mjs']);
    t.equal(run.code, 0, run.stderr);
    t.match(run.stdout, /UTIL_RAN[\s\S]*HOST_RAN/);
  });
}

// Node reads package.json itself: in a protected folder it decides how signed code runs
// ("type", "exports", "main"), so an unsigned or changed one is refused like any protected file.
t.test('an unsigned package.json beside a signed plugin is refused', async (t) => {
  const app = makeApp(t, {
    files: { 'plugins/p/package.json': '{ "type": "commonjs" }\n', 'plugins/p/index.js': SIGNED_PLUGIN(''), 'main.mjs': "await import('./plugins/p/index.js');\n" },
    sign: ['plugins/p/index.js'],
  });
  const run = await runNode(app.dir, ['main.mjs']);
  t.not(run.code, 0);
  t.match(run.stderr, /^trustload: ERR_TRUSTLOAD_NO_BUNDLE: .*plugins\/p\/package\.json: rule "plugins"/);
  t.notMatch(run.stdout, /SIGNED_PLUGIN_RAN/, 'the plugin did not run under an unsigned package.json');
  app.sign('plugins/p/package.json');
  const signed = await runNode(app.dir, ['main.mjs']);
  t.equal(signed.code, 0, `with it signed, the plugin loads\n${signed.stderr}`);
  t.match(signed.stdout, /SIGNED_PLUGIN_RAN/);
});

// Links met on the way, not only at the ends: every path a load passes through is matched against
// the rules, and a step inside a rule's folder that leads outside it is refused.
/** A folder outside the app holding `files` ({ rel: content }), removed when the test ends. */
function outsideDir(t, files) {
  const dir = realpathSync(mkdtempSync(join(tmpdir(), 'trustload-outside-')));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  for (const [rel, content] of Object.entries(files)) {
    mkdirSync(join(dir, rel, '..'), { recursive: true });
    writeFileSync(join(dir, rel), content);
  }
  return dir;
}

t.test('a workspace link node_modules/plugin-foo -> ../plugins/foo with every file signed loads', async (t) => {
  const app = makeApp(t, {
    files: {
      'plugins/foo/package.json': '{ "name": "plugin-foo", "type": "module", "exports": { ".": "./index.mjs", "./extra": "./lib/extra.mjs" } }\n',
      'plugins/foo/index.mjs': "import './lib/util.mjs';\nconsole.log('FOO_RAN');\n",
      'plugins/foo/lib/util.mjs': "console.log('UTIL_RAN');\n",
      'plugins/foo/lib/extra.mjs': "console.log('EXTRA_RAN');\n",
      'main.mjs': "await import('plugin-foo');\nawait import('plugin-foo/extra');\n",
      'main.cjs': "require('plugin-foo');\n",
    },
    sign: ['plugins/foo/package.json', 'plugins/foo/index.mjs', 'plugins/foo/lib/util.mjs', 'plugins/foo/lib/extra.mjs'],
  });
  app.symlink('../plugins/foo', 'node_modules/plugin-foo');
  for (const main of ['main.mjs', 'main.cjs']) {
    const run = await runNode(app.dir, [main]);
    t.equal(run.code, 0, `${main}: ${run.stderr}`);
    t.equal(run.stderr, '', `${main}: nothing on stderr`);
    t.match(run.stdout, /UTIL_RAN[\s\S]*FOO_RAN/, `${main}: the plugin ran through the workspace link`);
  }
});

for (const [label, specifier] of [['import', "await import('plugin-foo');"], ['require', "require('plugin-foo');"]]) {
  t.test(`${label}: a workspace link into plugins/, then the plugin's entry replaced by a link outside`, async (t) => {
    const app = makeApp(t, { files: { 'main.mjs': `import { createRequire } from 'node:module';\nconst require = createRequire(import.meta.url);\n${specifier}\n` } });
    app.symlink('../plugins/foo', 'node_modules/plugin-foo');
    app.symlink(outsideFile(t, 'evil.js'), 'plugins/foo/index.js');
    const run = await runNode(app.dir, ['main.mjs']);
    t.not(run.code, 0);
    assertRefusedUnrun(t, run);
    t.match(run.firstLine, /plugins\/foo/, `names the step inside plugins/: ${run.firstLine}`);
  });
}

t.test('a workspace link, then a folder inside the plugin linked outside (extension glob)', async (t) => {
  const app = makeApp(t, {
    rules: [{ ...PLUGINS_RULE, files: 'plugins/**/*.js' }],
    files: { 'main.cjs': "require('plugin-foo/lib');\n" },
  });
  app.symlink('../plugins/foo', 'node_modules/plugin-foo');
  app.symlink(outsideDir(t, { 'index.js': EVIL }), 'plugins/foo/lib');
  const run = await runNode(app.dir, ['main.cjs']);
  t.not(run.code, 0);
  assertRefusedUnrun(t, run);
});

t.test('require("./lib") whose package.json main is a link outside, under plugins/**/*.js', async (t) => {
  const app = makeApp(t, {
    rules: [{ ...PLUGINS_RULE, files: 'plugins/**/*.js' }],
    files: { 'plugins/p/index.js': SIGNED_PLUGIN("require('./lib');"), 'plugins/p/lib/package.json': '{ "main": "main.js" }\n', 'main.cjs': "require('./plugins/p/index.js');\n" },
    sign: ['plugins/p/index.js'],
  });
  app.symlink(outsideFile(t, 'evil.js'), 'plugins/p/lib/main.js');
  const run = await runNode(app.dir, ['main.cjs']);
  t.not(run.code, 0);
  assertRefusedUnrun(t, run);
});

for (const [label, pkg, code] of [
  ['import through "exports"', '{ "name": "dep", "exports": { "./sub": "./lib/sub.js" } }\n', "import 'dep/sub';"],
  ['require through "exports"', '{ "name": "dep", "exports": { "./sub": "./lib/sub.js" } }\n', "import { createRequire } from 'node:module';\ncreateRequire(import.meta.url)('dep/sub');"],
  ['import of the package main, no "exports"', '{ "name": "dep", "main": "lib/sub.js" }\n', "import 'dep';"],
]) {
  t.test(`${label}: a signed plugin's node_modules/dep replaced by a link outside`, async (t) => {
    const app = makeApp(t, {
      files: { 'plugins/foo/index.mjs': `${code}\nconsole.log('SIGNED_PLUGIN_RAN');\n`, 'main.mjs': "await import('./plugins/foo/index.mjs');\n" },
      sign: ['plugins/foo/index.mjs'],
    });
    app.symlink(outsideDir(t, { 'package.json': pkg, 'lib/sub.js': EVIL }), 'plugins/foo/node_modules/dep');
    const run = await runNode(app.dir, ['main.mjs']);
    t.not(run.code, 0);
    assertRefusedUnrun(t, run);
    t.match(run.firstLine, /plugins\/foo\/node_modules\/dep/, `names the link: ${run.firstLine}`);
  });
}

for (const label of ['relative', 'absolute']) {
  t.test(`a link chain in -> out -> in (${label} targets) is refused even though its end is signed`, async (t) => {
    const app = makeApp(t, {
      files: { 'plugins/foo/c.mjs': "console.log('C_RAN');\n", 'main.mjs': "await import('./plugins/foo/a.mjs');\n" },
      sign: ['plugins/foo/c.mjs'],
    });
    const out = outsideDir(t, {});
    const link = (target, from) => (label === 'relative' ? relative(from, target) : target);
    symlinkSync(link(app.path('plugins/foo/c.mjs'), out), join(out, 'b.mjs'));
    app.symlink(link(join(out, 'b.mjs'), app.path('plugins/foo')), 'plugins/foo/a.mjs');
    const run = await runNode(app.dir, ['main.mjs']);
    t.not(run.code, 0);
    t.notMatch(run.stdout, /C_RAN/, 'nothing ran');
    t.match(run.firstLine, /^trustload: ERR_TRUSTLOAD_UNSUPPORTED_LOAD: .*plugins\/foo\/a\.mjs: rule "plugins": /, run.firstLine);
  });
}

// POSIX follows a link before applying the ".." after it; Node's realpath (fs.realpathSync) removes
// "up/.." first. A name the kernel and Node resolve to different files is refused.
t.test('".." after a folder link, which the kernel and Node resolve differently, is refused', async (t) => {
  const app = makeApp(t, {
    files: { 'plugins/p/evil.mjs': "console.log('LEXICAL_RAN');\n", 'main.mjs': "await import('./lib/x.mjs');\n" },
    sign: ['plugins/p/evil.mjs'],
  });
  const out = outsideDir(t, { 'deep/evil.mjs': "console.log('UNSIGNED_RAN');\n", 'deep/dir/.keep': '' });
  app.symlink(join(out, 'deep', 'dir'), 'plugins/p/up');
  app.symlink('../plugins/p/up/../evil.mjs', 'lib/x.mjs'); // Node: plugins/p/evil.mjs; the kernel: <out>/deep/evil.mjs
  const run = await runNode(app.dir, ['main.mjs']);
  t.not(run.code, 0);
  assertRefusedUnrun(t, run);
  t.notMatch(run.stdout, /LEXICAL_RAN/, 'nothing ran');
});

t.test('readVerifiedSync through a workspace link whose file inside plugins/ links outside', async (t) => {
  const app = makeApp(t, {
    files: { 'main.mjs': `import { readVerifiedSync } from ${JSON.stringify(new URL('../dist/index.js', import.meta.url).href)};\ntry { console.log(String(readVerifiedSync('node_modules/plugin-foo/prompt.md'))); } catch (err) { console.log('REFUSED ' + err.code); }\n` },
  });
  app.symlink('../plugins/foo', 'node_modules/plugin-foo');
  app.symlink(outsideFile(t, 'prompt.md', 'UNSIGNED_RAN\n'), 'plugins/foo/prompt.md');
  const run = await runNode(app.dir, ['main.mjs'], { guard: false });
  t.match(run.stdout, /REFUSED ERR_TRUSTLOAD_UNSUPPORTED_LOAD/);
  t.notMatch(run.stdout, /UNSIGNED_RAN/, 'the unsigned content was not returned');
});

// The policy folder reached through a link (/srv/app -> /data/app): names through the alias are
// judged as the names they become past that link.
t.test('through an alias of the policy folder, a signed plugin loads and a link out of plugins/ is refused', async (t) => {
  const app = makeApp(t, { files: { 'plugins/p.mjs': "console.log('SIGNED_PLUGIN_RAN');\n" }, sign: ['plugins/p.mjs'] });
  const alias = join(outsideDir(t, {}), 'alias');
  symlinkSync(app.dir, alias);
  app.symlink(outsideFile(t, 'evil.mjs'), 'plugins/link.mjs');
  app.write('main.mjs', `await import(${JSON.stringify(join(alias, 'plugins/p.mjs'))});\nawait import(${JSON.stringify(join(alias, 'plugins/link.mjs'))});\n`);
  const run = await runNode(app.dir, ['main.mjs'], { cwd: alias });
  t.match(run.stdout, /SIGNED_PLUGIN_RAN/, 'the signed plugin loaded through the alias');
  assertRefusedUnrun(t, run);
  t.match(run.firstLine, new RegExp(`${app.path('plugins/link.mjs')}: rule "plugins"`), run.firstLine);
});
