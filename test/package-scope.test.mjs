// What a protected folder holds beyond its glob: files Node picks by its own
// rules (extensionless, .cjs, .mjs, .json, a folder's "main", "exports"
// targets) and the package.json files that decide how code runs, which Node
// reads through no hook and keeps for the rest of the process.
import t from 'tap';
import { assertClean, assertRefused, makeApp, PLUGINS_RULE, pool, runNode } from './helpers/app.mjs';
import { runCli } from './helpers/cli.mjs';

const JS_ONLY = [{ ...PLUGINS_RULE, files: 'plugins/**/*.js' }];
const EVIL = "console.log('UNSIGNED_RAN'); module.exports = 'evil';\n";

function assertUnrun(t, run) {
  t.notMatch(run.stdout, /UNSIGNED_RAN/, 'the unsigned code did not run');
}

const cases = [];

// CommonJS tries plugins/foo/helper before plugins/foo/helper.js: the glob names only the second.
cases.push({
  name: 'extensionless helper chosen by require("./helper") under plugins/**/*.js',
  setup: (t) =>
    makeApp(t, {
      rules: JS_ONLY,
      files: {
        'main.cjs': "require('./plugins/foo/index.js');\n",
        'plugins/foo/index.js': "require('./helper');\nconsole.log('INDEX:SIGNED');\n",
        'plugins/foo/helper.js': "console.log('HELPER:SIGNED');\n",
        'plugins/foo/helper': EVIL,
      },
      sign: ['plugins/foo/index.js', 'plugins/foo/helper.js'],
    }),
  args: ['main.cjs'],
  check(t, run, app) {
    assertRefused(t, run, 'ERR_TRUSTLOAD_NO_BUNDLE', { path: app.path('plugins/foo/helper'), rule: 'plugins' });
    assertUnrun(t, run);
  },
});

// The same name as a link out of the folder: the folder's rule does not cover where it leads.
cases.push({
  name: 'extensionless helper linked outside plugins/, under plugins/**/*.js',
  setup: (t) => {
    const app = makeApp(t, {
      rules: JS_ONLY,
      files: { 'main.cjs': "require('./plugins/foo/index.js');\n", 'plugins/foo/index.js': "require('./helper');\n", 'outside/evil.js': EVIL },
      sign: ['plugins/foo/index.js'],
    });
    app.symlink('../../outside/evil.js', 'plugins/foo/helper');
    return app;
  },
  args: ['main.cjs'],
  check(t, run, app) {
    assertRefused(t, run, 'ERR_TRUSTLOAD_UNSUPPORTED_LOAD', { path: app.path('plugins/foo/helper'), rule: 'plugins' });
    assertUnrun(t, run);
  },
});

// Every name Node loads as code from the folder, whatever the glob names.
for (const [label, file, content, load] of [
  ['.cjs', 'plugins/foo/x.cjs', EVIL, "require('./plugins/foo/x.cjs');"],
  ['.mjs', 'plugins/foo/x.mjs', "console.log('UNSIGNED_RAN');\n", "await import('./plugins/foo/x.mjs');"],
  ['.json', 'plugins/foo/config.json', '{ "UNSIGNED_RAN": true }\n', "console.log(JSON.stringify(require('./plugins/foo/config.json')));"],
  ['.json by import', 'plugins/foo/config.json', '{ "UNSIGNED_RAN": true }\n', "console.log(JSON.stringify((await import('./plugins/foo/config.json', { with: { type: 'json' } })).default));"],
]) {
  cases.push({
    name: `a ${label} file in plugins/ under plugins/**/*.js`,
    setup: (t) =>
      makeApp(t, {
        rules: JS_ONLY,
        files: { [file]: content, 'main.mjs': `import { createRequire } from 'node:module';\nconst require = createRequire(import.meta.url);\n${load}\n` },
      }),
    args: ['main.mjs'],
    check(t, run, app) {
      assertRefused(t, run, 'ERR_TRUSTLOAD_NO_BUNDLE', { path: app.path(file), rule: 'plugins' });
      assertUnrun(t, run);
    },
  });
}

// An unsigned package.json whose "main" leads to another file: to an unsigned one, or to a signed
// file of another plugin (a replay its own bundle cannot catch).
for (const [label, main, extra, sign, code = 'ERR_TRUSTLOAD_NO_BUNDLE', named = 'plugins/foo/package.json'] of [
  ['an unsigned file', 'evil.cjs', { 'plugins/foo/evil.cjs': EVIL }, []],
  ['a signed file elsewhere in plugins/', '../bar/other.js', { 'plugins/bar/other.js': "console.log('UNSIGNED_RAN: other plugin, run in foo\\'s place');\n" }, ['plugins/bar/other.js']],
  ['a file outside plugins/', '../../outside/evil.js', { 'outside/evil.js': EVIL }, [], 'ERR_TRUSTLOAD_UNSUPPORTED_LOAD', 'plugins/foo'],
]) {
  cases.push({
    name: `unsigned package.json with "main" pointing to ${label}, under plugins/**/*.js`,
    setup: (t) =>
      makeApp(t, {
        rules: JS_ONLY,
        files: {
          'main.cjs': "require('./plugins/foo');\n",
          'plugins/foo/package.json': JSON.stringify({ name: 'foo', main }),
          'plugins/foo/index.js': "console.log('INDEX:SIGNED');\n",
          ...extra,
        },
        sign: ['plugins/foo/index.js', ...sign],
      }),
    args: ['main.cjs'],
    check(t, run, app) {
      t.not(run.code, 0, 'exits non-zero');
      t.match(run.firstLine, new RegExp(`^trustload: ${code}: `), run.stderr);
      t.ok(run.firstLine.includes(`${app.path(named)}: rule "plugins"`), `names ${named}`);
      assertUnrun(t, run);
    },
  });
}

// Every package.json from a module up to the top of its rule's folder, not only the nearest.
cases.push({
  name: 'an unsigned package.json at the top of plugins/ above a signed package',
  setup: (t) =>
    makeApp(t, {
      rules: JS_ONLY,
      files: {
        'main.cjs': "require('./plugins/foo/index.js');\n",
        'plugins/package.json': '{ "imports": { "#x": "./evil.cjs" } }\n',
        'plugins/foo/package.json': '{ "name": "foo" }\n',
        'plugins/foo/index.js': "console.log('INDEX:SIGNED');\n",
      },
      sign: ['plugins/foo/index.js', 'plugins/foo/package.json'],
    }),
  args: ['main.cjs'],
  check(t, run, app) {
    assertRefused(t, run, 'ERR_TRUSTLOAD_NO_BUNDLE', { path: app.path('plugins/package.json'), rule: 'plugins' });
    t.notMatch(run.stdout, /INDEX:SIGNED/);
  },
});

// Node keeps the package.json it read. An attacker flips "type"; the host's first load is refused,
// the signed package.json is put back, the host retries: Node would still run the signed code
// under the unsigned "type", so the package stays refused.
const SIGNED_TYPE = '{ "type": "module" }\n';
const FLIPPED_TYPE = '{ "type": "commonjs", "main": "index.js" }\n';
const KIND_PLUGIN = "console.log('KIND:' + (typeof require === 'function' ? 'commonjs' : 'module'));\n";
const RETRY_HOST = (firstLoad) => `import { readFileSync, writeFileSync } from 'node:fs';
import module, { createRequire, findPackageJSON } from 'node:module';
const require = createRequire(import.meta.url);
const signed = readFileSync('plugins/p/package.json');
writeFileSync('plugins/p/package.json', ${JSON.stringify(FLIPPED_TYPE)});
try {
  ${firstLoad}
  console.log('FIRST:LOADED');
} catch (err) {
  console.log('FIRST:REFUSED', err.code);
}
writeFileSync('plugins/p/package.json', signed);
try {
  await import('./plugins/p/index.js');
  console.log('SECOND:LOADED');
} catch (err) {
  console.log('SECOND:REFUSED', err.code);
}
`;
for (const [label, rules, firstLoad, firstCode] of [
  ['require of the folder, under plugins/**', [PLUGINS_RULE], "require('./plugins/p');", 'ERR_TRUSTLOAD_SIGNATURE'],
  ['require of the folder, under plugins/**/*.js', JS_ONLY, "require('./plugins/p');", 'ERR_TRUSTLOAD_SIGNATURE'],
  ['require.resolve of the folder', [PLUGINS_RULE], "require.resolve('./plugins/p');", 'ERR_TRUSTLOAD_SIGNATURE'],
  ['module.findPackageJSON', [PLUGINS_RULE], "module.findPackageJSON('./plugins/p/index.js', import.meta.url);", 'ERR_TRUSTLOAD_SIGNATURE'],
  ['findPackageJSON imported from node:module', JS_ONLY, "findPackageJSON('./plugins/p/index.js', import.meta.url);", 'ERR_TRUSTLOAD_SIGNATURE'],
  ['process.getBuiltinModule("module").findPackageJSON', JS_ONLY, "process.getBuiltinModule('module').findPackageJSON(new URL('./plugins/p/', import.meta.url));", 'ERR_TRUSTLOAD_SIGNATURE'],
]) {
  cases.push({
    name: `"type" flipped, read through ${label}, then the signed package.json put back`,
    setup: (t) =>
      makeApp(t, {
        rules,
        files: { 'main.mjs': RETRY_HOST(firstLoad), 'plugins/p/package.json': SIGNED_TYPE, 'plugins/p/index.js': KIND_PLUGIN },
        sign: ['plugins/p/package.json', 'plugins/p/index.js'],
      }),
    args: ['main.mjs'],
    check(t, run, app) {
      t.equal(run.code, 0, `the host ran to its end\n${run.stderr}`);
      t.match(run.stdout, `FIRST:REFUSED ${firstCode}`, 'the first read is refused');
      t.match(run.stdout, 'SECOND:REFUSED ERR_TRUSTLOAD_UNSUPPORTED_LOAD', 'the retry is refused');
      t.notMatch(run.stdout, /KIND:/, 'the plugin never ran');
      t.ok(run.stderr.includes(`${app.path('plugins/p/index.js')}: rule "plugins": package.json ${app.path('plugins/p/package.json')} was refused earlier`), run.stderr);
    },
  });
}

// The same host with nothing flipped: both loads work, the plugin runs as ESM.
cases.push({
  name: 'a signed package.json read through findPackageJSON, then its module loads',
  setup: (t) =>
    makeApp(t, {
      rules: JS_ONLY,
      files: {
        'main.mjs': "import { findPackageJSON } from 'node:module';\nconsole.log('FOUND', findPackageJSON('./plugins/p/index.js', import.meta.url) !== undefined);\nawait import('./plugins/p/index.js');\n",
        'plugins/p/package.json': SIGNED_TYPE,
        'plugins/p/index.js': KIND_PLUGIN,
      },
      sign: ['plugins/p/package.json', 'plugins/p/index.js'],
    }),
  args: ['main.mjs'],
  check(t, run) {
    assertClean(t, run);
    t.equal(run.stdout, 'FOUND true\nKIND:module\n');
  },
});

// A fully signed plugin package: package.json with "imports", a dependency with conditional
// "exports", CommonJS, ESM and JSON, under a glob that names only .js files and under plugins/**.
const PACKAGE_FILES = {
  'main.mjs': "const { run } = await import('./plugins/app/index.js');\nrun();\n",
  'plugins/app/package.json': JSON.stringify({ name: 'app', type: 'module', imports: { '#util': './lib/util.js' } }),
  'plugins/app/index.js': [
    "import { createRequire } from 'node:module';",
    "import util from '#util';",
    "import { esm } from 'dep';",
    'const require = createRequire(import.meta.url);',
    "const { cjs } = require('dep');",
    "const data = require('./data.json');",
    'export const run = () => console.log(util, esm, cjs, data.name);',
    '',
  ].join('\n'),
  'plugins/app/lib/util.js': "export default 'UTIL';\n",
  'plugins/app/data.json': '{ "name": "DATA" }\n',
  'plugins/app/node_modules/dep/package.json': JSON.stringify({ name: 'dep', exports: { import: './esm.mjs', require: './cjs.cjs' } }),
  'plugins/app/node_modules/dep/esm.mjs': "export const esm = 'ESM';\n",
  'plugins/app/node_modules/dep/cjs.cjs': "exports.cjs = 'CJS';\n",
};
for (const [label, rules] of [['plugins/**/*.js', JS_ONLY], ['plugins/**', [PLUGINS_RULE]]]) {
  cases.push({
    name: `a fully signed plugin package loads under ${label}`,
    setup: (t) => makeApp(t, { rules, files: PACKAGE_FILES, sign: Object.keys(PACKAGE_FILES).filter((f) => f.startsWith('plugins/')) }),
    args: ['main.mjs'],
    check(t, run) {
      assertClean(t, run);
      t.equal(run.stdout, 'UTIL ESM CJS DATA\n');
    },
  });
}

// The same package with one unsigned piece: each is refused.
for (const unsigned of ['plugins/app/node_modules/dep/package.json', 'plugins/app/node_modules/dep/cjs.cjs', 'plugins/app/data.json']) {
  cases.push({
    name: `the signed plugin package with ${unsigned} unsigned, under plugins/**/*.js`,
    setup: (t) => makeApp(t, { rules: JS_ONLY, files: PACKAGE_FILES, sign: Object.keys(PACKAGE_FILES).filter((f) => f.startsWith('plugins/') && f !== unsigned) }),
    args: ['main.mjs'],
    check(t, run, app) {
      assertRefused(t, run, 'ERR_TRUSTLOAD_NO_BUNDLE', { path: app.path(unsigned), rule: 'plugins' });
      t.notMatch(run.stdout, /UTIL/);
    },
  });
}

// Every case's process runs in t.before (tap waits for it), two at once; each is then checked in its own subtest.
const apps = [];
const runs = [];
t.before(async () => {
  apps.push(...cases.map((c) => c.setup(t)));
  runs.push(...(await pool(cases, 2, (c, i) => runNode(apps[i].dir, c.args))));
});
cases.forEach((c, i) => t.test(c.name, async (t) => c.check(t, runs[i], apps[i])));

// trustload policy check: a warning (exit 0) for globs that leave code in their folder unnamed.
t.test('policy check warns about a glob that leaves code in its folder unnamed', async (t) => {
  const app = makeApp(t, {
    rules: [
      { ...PLUGINS_RULE, files: 'plugins/**/*.js' },
      { name: 'prompts', files: '**/*.md', signers: ['offline'] },
      { name: 'tools', files: 'tools/**', signers: ['offline'] },
    ],
    files: { 'plugins/a.js': '', 'README.md': '', 'tools/t.js': '' },
  });
  const run = await runCli(['policy', 'check', '--policy', app.policyPath]);
  t.equal(run.code, 0, 'a warning keeps exit code 0');
  const warnings = run.stderr.split('\n').filter((line) => line !== '');
  t.same(warnings, [
    'trustload: WARNING: rule "plugins": "plugins/**/*.js" leaves .cjs, .mjs, .json, .node, .wasm, .ts, .mts, .cts, package.json, extensionless files in plugins/ unnamed; Node can load them as code, and the guard then judges them by this rule, but trustload verify and readVerified do not; write "plugins/**" instead',
    'trustload: WARNING: rule "prompts": "**/*.md" names files but no folder: code beside them (.js, .cjs, .mjs, .json, .node, .wasm, .ts, .mts, .cts, package.json, extensionless files) is not protected by this rule; write "FOLDER/**" for the folder that holds them',
  ]);
  const json = await runCli(['policy', 'check', '--policy', app.policyPath, '--json']);
  t.equal(json.code, 0);
  t.equal(JSON.parse(json.stdout).warnings.length, 2, 'the warnings are in --json output too');
});
