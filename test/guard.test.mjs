// End to end: `node --import register.mjs app` as a user starts it, one real
// process per case. Every load path (main entry, import, import(), require,
// require(esm), createRequire, JSON, .wasm, TypeScript, native addons) loads a
// signed file, refuses a tampered one before its code runs, refuses a file
// without a bundle, and in permissive mode warns and loads. Then URL forms,
// symlinks, dot-files, bundles loaded as resources, and policies that stop
// the process from starting.
import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import t from 'tap';
import {
  assertClean,
  assertDidNotStart,
  assertRefused,
  makeApp,
  PLUGINS_RULE,
  policyObject,
  pool,
  runNode,
  sha256Hex,
} from './helpers/app.mjs';

const CONCURRENCY = 4;

// A module exporting answer(): i32 = 42. Tampering turns the 42 (i32.const 0x2a) into 43.
const WASM = Buffer.from([
  0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00, // magic, version
  0x01, 0x05, 0x01, 0x60, 0x00, 0x01, 0x7f, // type section: () -> i32
  0x03, 0x02, 0x01, 0x00, // function section: one function of type 0
  0x07, 0x0a, 0x01, 0x06, ...Buffer.from('answer'), 0x00, 0x00, // export "answer" = function 0
  0x0a, 0x06, 0x01, 0x04, 0x00, 0x41, 0x2a, 0x0b, // code: i32.const 42, end
]);
const WASM_TAMPER = [Buffer.from([0x41, 0x2a]).toString('latin1'), Buffer.from([0x41, 0x2b]).toString('latin1')];

const ADDON_C = `#include <node_api.h>
static napi_value Init(napi_env env, napi_value exports) { napi_value v; napi_create_int32(env, 42, &v); napi_set_named_property(env, exports, "answer", v); return exports; }
NAPI_MODULE(NODE_GYP_MODULE_NAME, Init)
`;

/** Compiles the N-API addon once, or says why it cannot be. */
function compileAddon(t) {
  if (!existsSync('/usr/include/node/node_api.h')) return { skip: 'no /usr/include/node/node_api.h' };
  const dir = makeApp(t, { policy: false }).dir;
  writeFileSync(join(dir, 'addon.c'), ADDON_C);
  try {
    execFileSync('gcc', ['-shared', '-fPIC', '-I/usr/include/node', 'addon.c', '-o', 'addon.node'], { cwd: dir, stdio: 'pipe', timeout: 30_000 });
  } catch (err) {
    return { skip: `gcc cannot build the addon: ${err.message.split('\n')[0]}` };
  }
  return { bytes: readFileSync(join(dir, 'addon.node')) };
}
const addon = compileAddon(t);

const APP_RULE = { name: 'app', files: 'app/**', signers: ['offline'] };
const ENTRY_RULE = { name: 'entry', files: '*.mjs', signers: ['offline'] };

/**
 * One load path: the files of a small app, the protected `target` whose state
 * each variant changes, the rule protecting it, and what stdout shows when
 * the signed (`ran`) or the tampered (`tamperedRan`) code ran.
 */
const LOAD_PATHS = [
  {
    name: 'main entry .js (type module)',
    rules: [APP_RULE],
    rule: 'app',
    files: { 'app/package.json': '{ "type": "module" }\n', 'app/main.js': "console.log('MAIN_JS_ESM:SIGNED', typeof require);\n" },
    sign: ['app/package.json'], // it decides how main.js runs: protected, so signed
    target: 'app/main.js',
    args: ['app/main.js'],
    ran: 'MAIN_JS_ESM:SIGNED undefined',
    tamperedRan: 'MAIN_JS_ESM:SIGNEX',
  },
  {
    name: 'main entry .js (type commonjs)',
    rules: [APP_RULE],
    rule: 'app',
    files: { 'app/package.json': '{ "type": "commonjs" }\n', 'app/main.js': "console.log('MAIN_JS_CJS:SIGNED', typeof require);\n" },
    sign: ['app/package.json'],
    target: 'app/main.js',
    args: ['app/main.js'],
    ran: 'MAIN_JS_CJS:SIGNED function',
    tamperedRan: 'MAIN_JS_CJS:SIGNEX',
  },
  {
    name: 'main entry .mjs (policy protects *.mjs)',
    rules: [ENTRY_RULE],
    rule: 'entry',
    files: { 'main.mjs': "console.log('MAIN_MJS:SIGNED');\n" },
    target: 'main.mjs',
    args: ['main.mjs'],
    ran: 'MAIN_MJS:SIGNED',
    tamperedRan: 'MAIN_MJS:SIGNEX',
  },
  {
    name: 'main entry .cjs (inside app/**)',
    rules: [APP_RULE],
    rule: 'app',
    files: { 'app/main.cjs': "console.log('MAIN_CJS:SIGNED', typeof module);\n" },
    target: 'app/main.cjs',
    args: ['app/main.cjs'],
    ran: 'MAIN_CJS:SIGNED object',
    tamperedRan: 'MAIN_CJS:SIGNEX',
  },
  {
    name: 'static import',
    files: {
      'main.mjs': "import { v } from './plugins/p.mjs';\nconsole.log('MAIN got', v);\n",
      'plugins/p.mjs': "export const v = 'STATIC:SIGNED';\nconsole.log(v);\n",
    },
    target: 'plugins/p.mjs',
    args: ['main.mjs'],
    ran: 'MAIN got STATIC:SIGNED',
    tamperedRan: 'STATIC:SIGNEX',
  },
  {
    name: 'dynamic import()',
    files: {
      'main.mjs': "const { v } = await import('./plugins/p.mjs');\nconsole.log('MAIN got', v);\n",
      'plugins/p.mjs': "export const v = 'DYNAMIC:SIGNED';\nconsole.log(v);\n",
    },
    target: 'plugins/p.mjs',
    args: ['main.mjs'],
    ran: 'MAIN got DYNAMIC:SIGNED',
    tamperedRan: 'DYNAMIC:SIGNEX',
  },
  {
    name: 'require of CommonJS',
    files: {
      'main.cjs': "const v = require('./plugins/p.cjs');\nconsole.log('MAIN got', v);\n",
      'plugins/p.cjs': "module.exports = 'REQUIRE_CJS:SIGNED';\nconsole.log(module.exports);\n",
    },
    target: 'plugins/p.cjs',
    args: ['main.cjs'],
    ran: 'MAIN got REQUIRE_CJS:SIGNED',
    tamperedRan: 'REQUIRE_CJS:SIGNEX',
  },
  {
    name: 'require(esm)',
    files: {
      'main.cjs': "const { v } = require('./plugins/p.mjs');\nconsole.log('MAIN got', v);\n",
      'plugins/p.mjs': "export const v = 'REQUIRE_ESM:SIGNED';\nconsole.log(v);\n",
    },
    target: 'plugins/p.mjs',
    args: ['main.cjs'],
    ran: 'MAIN got REQUIRE_ESM:SIGNED',
    tamperedRan: 'REQUIRE_ESM:SIGNEX',
  },
  {
    name: 'createRequire',
    files: {
      'main.mjs': "import { createRequire } from 'node:module';\nconst v = createRequire(import.meta.url)('./plugins/p.cjs');\nconsole.log('MAIN got', v);\n",
      'plugins/p.cjs': "module.exports = 'CREATE_REQUIRE:SIGNED';\nconsole.log(module.exports);\n",
    },
    target: 'plugins/p.cjs',
    args: ['main.mjs'],
    ran: 'MAIN got CREATE_REQUIRE:SIGNED',
    tamperedRan: 'CREATE_REQUIRE:SIGNEX',
  },
  {
    name: 'JSON through require',
    files: {
      'main.cjs': "console.log('MAIN got', require('./plugins/data.json').mark);\n",
      'plugins/data.json': '{ "mark": "REQUIRE_JSON:SIGNED" }\n',
    },
    target: 'plugins/data.json',
    args: ['main.cjs'],
    ran: 'MAIN got REQUIRE_JSON:SIGNED',
    tamperedRan: 'REQUIRE_JSON:SIGNEX',
  },
  {
    name: "JSON through import with { type: 'json' }",
    files: {
      'main.mjs': "import data from './plugins/data.json' with { type: 'json' };\nconsole.log('MAIN got', data.mark);\n",
      'plugins/data.json': '{ "mark": "IMPORT_JSON:SIGNED" }\n',
    },
    target: 'plugins/data.json',
    args: ['main.mjs'],
    ran: 'MAIN got IMPORT_JSON:SIGNED',
    tamperedRan: 'IMPORT_JSON:SIGNEX',
  },
  {
    name: '.wasm import',
    files: {
      'main.mjs': "import * as m from './plugins/x.wasm';\nconsole.log('WASM', m.answer());\n",
      'plugins/x.wasm': WASM,
    },
    target: 'plugins/x.wasm',
    nodeArgs: ['--disable-warning=ExperimentalWarning'],
    args: ['main.mjs'],
    tamper: WASM_TAMPER,
    ran: 'WASM 42',
    tamperedRan: 'WASM 43',
  },
  {
    name: 'TypeScript .ts (types stripped)',
    files: {
      'main.mjs': "const { v } = await import('./plugins/p.ts');\nconsole.log('MAIN got', v);\n",
      'plugins/package.json': '{ "type": "module" }\n',
      'plugins/p.ts': "const v: string = 'TS:SIGNED';\nconsole.log(v);\nexport { v };\n",
    },
    sign: ['plugins/package.json'],
    target: 'plugins/p.ts',
    args: ['main.mjs'],
    ran: 'MAIN got TS:SIGNED',
    tamperedRan: 'TS:SIGNEX',
  },
  {
    name: 'TypeScript .mts (types stripped)',
    files: {
      'main.mjs': "import { v } from './plugins/p.mts';\nconsole.log('MAIN got', v);\n",
      'plugins/p.mts': "interface Mark { text: string }\nconst mark: Mark = { text: 'MTS:SIGNED' };\nconsole.log(mark.text);\nexport const v: string = mark.text;\n",
    },
    target: 'plugins/p.mts',
    args: ['main.mjs'],
    ran: 'MAIN got MTS:SIGNED',
    tamperedRan: 'MTS:SIGNEX',
  },
  {
    name: 'TypeScript main entry .ts (inside app/**)',
    rules: [APP_RULE],
    rule: 'app',
    files: { 'app/main.ts': "const v: string = 'MAIN_TS:SIGNED';\nconsole.log(v);\n" },
    target: 'app/main.ts',
    args: ['app/main.ts'],
    ran: 'MAIN_TS:SIGNED',
    tamperedRan: 'MAIN_TS:SIGNEX',
  },
  {
    name: '.node addon through require',
    skip: addon.skip,
    files: {
      'main.cjs': "const a = require('./plugins/addon.node');\nconsole.log('ADDON', a.answer, a.bnswer);\n",
      'plugins/addon.node': addon.bytes ?? Buffer.alloc(0),
    },
    target: 'plugins/addon.node',
    args: ['main.cjs'],
    // The property name the addon sets: one byte turns "answer" into "bnswer".
    tamper: ['answer', 'bnswer'],
    ran: 'ADDON 42 undefined',
    tamperedRan: 'ADDON undefined 42',
  },
  {
    name: '.node addon through process.dlopen',
    skip: addon.skip,
    files: {
      'main.cjs': "const m = { exports: {} };\nprocess.dlopen(m, require('node:path').join(__dirname, 'plugins/addon.node'));\nconsole.log('DLOPEN', m.exports.answer, m.exports.bnswer);\n",
      'plugins/addon.node': addon.bytes ?? Buffer.alloc(0),
    },
    target: 'plugins/addon.node',
    args: ['main.cjs'],
    tamper: ['answer', 'bnswer'],
    ran: 'DLOPEN 42 undefined',
    tamperedRan: 'DLOPEN undefined 42',
  },
];

const cases = [];

for (const lp of LOAD_PATHS) {
  const rule = lp.rule ?? 'plugins';
  const appFor = (variant) =>
    makeApp(t, {
      rules: lp.rules ?? [PLUGINS_RULE],
      files: lp.files,
      sign: [...(lp.sign ?? []), ...(variant === 'no bundle' ? [] : [lp.target])],
    });
  const tamper = (app) => app.tamper(lp.target, ...(lp.tamper ?? []));
  const args = [...(lp.nodeArgs ?? []), ...lp.args];

  cases.push({
    name: `${lp.name}: a signed file loads`,
    skip: lp.skip,
    setup: () => ({ app: appFor('signed'), args }),
    check(t, r) {
      assertClean(t, r);
      t.ok(r.stdout.includes(lp.ran), `the signed code ran (${lp.ran})`);
    },
  });
  cases.push({
    name: `${lp.name}: one changed byte is refused and does not run`,
    skip: lp.skip,
    setup: () => {
      const app = appFor('tampered');
      tamper(app);
      return { app, args };
    },
    check(t, r, app) {
      assertRefused(t, r, 'ERR_TRUSTLOAD_SIGNATURE', { path: app.path(lp.target), rule });
      t.notOk(r.stdout.includes(lp.tamperedRan), 'the tampered code never ran');
      t.notOk(r.stdout.includes(lp.ran), 'nothing that depends on it ran');
    },
  });
  cases.push({
    name: `${lp.name}: no bundle is refused`,
    skip: lp.skip,
    setup: () => ({ app: appFor('no bundle'), args }),
    check(t, r, app) {
      assertRefused(t, r, 'ERR_TRUSTLOAD_NO_BUNDLE', { path: app.path(lp.target), rule });
      t.notOk(r.stdout.includes(lp.ran), 'the unsigned code never ran');
    },
  });
  cases.push({
    name: `${lp.name}: permissive mode warns and loads`,
    skip: lp.skip,
    setup: () => {
      const app = appFor('permissive');
      tamper(app);
      return { app, args, env: { TRUSTLOAD_MODE: 'permissive' } };
    },
    check(t, r, app) {
      assertPermissive(t, r, app.path(lp.target), 'ERR_TRUSTLOAD_SIGNATURE');
      t.ok(r.stdout.includes(lp.tamperedRan), `the tampered code ran (${lp.tamperedRan})`);
    },
  });
}

/** Permissive: exit 0, a WARNING line for the file (never "verified"), and the summary at exit. */
function assertPermissive(t, r, path, code) {
  t.equal(r.code, 0, `exits 0\n${r.stderr}`);
  const lines = r.stderr.split('\n').filter((line) => line !== '');
  t.ok(lines.length > 0 && lines.every((line) => line.startsWith('trustload: WARNING: ')), `every stderr line is a trustload WARNING:\n${r.stderr}`);
  const fileLines = lines.filter((line) => line.includes(path));
  t.equal(fileLines.length, 1, `one warning line names ${path}`);
  t.match(fileLines[0] ?? '', new RegExp(`^trustload: WARNING: ${code}: `), `it carries ${code}`);
  for (const line of lines) t.notMatch(line, /verified/i, `a warning never says "verified": ${line}`);
  t.match(lines.at(-1) ?? '', /^trustload: WARNING: permissive mode let 1 file\(s\) load/, 'a summary line at exit');
}

// --- URLs that are not files, and builtins ---------------------------------------------

cases.push({
  name: 'data: URL import loads under unmatched allow',
  setup: () => ({
    app: makeApp(t, { files: { 'main.mjs': "await import('data:text/javascript,console.log(%22DATA:RAN%22)');\n" } }),
    args: ['main.mjs'],
  }),
  check(t, r) {
    assertClean(t, r);
    t.ok(r.stdout.includes('DATA:RAN'), 'the data: module ran');
  },
});
cases.push({
  name: 'data: URL import is refused under unmatched deny',
  setup: () => ({
    app: makeApp(t, {
      rules: [ENTRY_RULE],
      unmatched: 'deny',
      files: { 'main.mjs': "console.log('MAIN:START');\nawait import('data:text/javascript,console.log(%22DATA:RAN%22)');\n" },
      sign: ['main.mjs'],
    }),
    args: ['main.mjs'],
  }),
  check(t, r) {
    assertRefused(t, r, 'ERR_TRUSTLOAD_UNMATCHED', { path: 'data:text/javascript,console.log(%22DATA:RAN%22)', rule: null });
    t.ok(r.stdout.includes('MAIN:START'), 'the signed entry ran');
    t.notOk(r.stdout.includes('DATA:RAN'), 'the data: module never ran');
  },
});
cases.push({
  name: 'an unmatched file is refused under unmatched deny',
  setup: () => ({
    app: makeApp(t, {
      rules: [ENTRY_RULE],
      unmatched: 'deny',
      files: { 'main.mjs': "console.log('MAIN:START');\nawait import('./lib/x.js');\n", 'lib/x.js': "console.log('LIB:RAN');\n" },
      sign: ['main.mjs'],
    }),
    args: ['main.mjs'],
  }),
  check(t, r, app) {
    assertRefused(t, r, 'ERR_TRUSTLOAD_UNMATCHED', { path: app.path('lib/x.js'), rule: null });
    t.notOk(r.stdout.includes('LIB:RAN'), 'the unmatched file never ran');
  },
});
cases.push({
  name: 'node: builtins always load under unmatched deny',
  setup: () => ({
    app: makeApp(t, {
      rules: [ENTRY_RULE],
      unmatched: 'deny',
      files: {
        'main.mjs': [
          "import fs from 'node:fs';",
          "import path from 'path';",
          "import { createRequire } from 'node:module';",
          'const require = createRequire(import.meta.url);',
          "const os = await import('node:os');",
          "const ok = [typeof fs.readFileSync, typeof path.join, typeof os.tmpdir, typeof require('crypto').createHash, typeof require('node:util').format];",
          "console.log('BUILTINS', ok.join(','));",
          '',
        ].join('\n'),
      },
      sign: ['main.mjs'],
    }),
    args: ['main.mjs'],
  }),
  check(t, r) {
    assertClean(t, r);
    t.ok(r.stdout.includes('BUILTINS function,function,function,function,function'), 'every builtin loaded');
  },
});

// --- URL escapes and queries map to the file that is read ----------------------------------

for (const [label, specifier] of [
  ['%74ampered.mjs escape', './plugins/%74ampered.mjs'],
  ['%70lugins/ escape in the folder name', './%70lugins/tampered.mjs'],
  ['?v=1 query', './plugins/tampered.mjs?v=1'],
  ['#fragment', './plugins/tampered.mjs#frag'],
]) {
  const files = { 'main.mjs': `const { v } = await import(${JSON.stringify(specifier)});\nconsole.log('MAIN got', v);\n`, 'plugins/tampered.mjs': "export const v = 'ESCAPE:SIGNED';\nconsole.log(v);\n" };
  cases.push({
    name: `${label}: a signed file loads`,
    setup: () => ({ app: makeApp(t, { files, sign: ['plugins/tampered.mjs'] }), args: ['main.mjs'] }),
    check(t, r) {
      assertClean(t, r);
      t.ok(r.stdout.includes('MAIN got ESCAPE:SIGNED'), 'it loaded');
    },
  });
  cases.push({
    name: `${label}: a tampered file is still refused`,
    setup: () => {
      const app = makeApp(t, { files, sign: ['plugins/tampered.mjs'] });
      app.tamper('plugins/tampered.mjs');
      return { app, args: ['main.mjs'] };
    },
    check(t, r, app) {
      assertRefused(t, r, 'ERR_TRUSTLOAD_SIGNATURE', { path: app.path('plugins/tampered.mjs'), rule: 'plugins' });
      t.notOk(r.stdout.includes('ESCAPE:'), 'the tampered code never ran');
    },
  });
}

// --- Symlinks -------------------------------------------------------------------------------

cases.push({
  name: 'symlink inside plugins/ to an unsigned file outside is refused (import)',
  setup: () => {
    const app = makeApp(t, { files: { 'main.mjs': "await import('./plugins/link.mjs');\n", 'outside/evil.mjs': "console.log('EVIL:RAN');\n" } });
    app.symlink('../outside/evil.mjs', 'plugins/link.mjs');
    return { app, args: ['main.mjs'] };
  },
  check(t, r, app) {
    assertRefused(t, r, 'ERR_TRUSTLOAD_UNSUPPORTED_LOAD', { path: app.path('plugins/link.mjs'), rule: 'plugins' });
    t.notOk(r.stdout.includes('EVIL:RAN'), 'the linked code never ran');
  },
});
cases.push({
  name: 'symlink inside plugins/ to a file outside is refused even when that file has a valid bundle',
  setup: () => {
    const app = makeApp(t, {
      files: { 'main.mjs': "await import('./plugins/link.mjs');\n", 'outside/signed.mjs': "console.log('OUTSIDE:RAN');\n" },
      sign: ['outside/signed.mjs'],
    });
    app.symlink('../outside/signed.mjs', 'plugins/link.mjs');
    app.symlink('../outside/signed.mjs.sigstore.json', 'plugins/link.mjs.sigstore.json');
    return { app, args: ['main.mjs'] };
  },
  check(t, r, app) {
    assertRefused(t, r, 'ERR_TRUSTLOAD_UNSUPPORTED_LOAD', { path: app.path('plugins/link.mjs'), rule: 'plugins' });
    t.notOk(r.stdout.includes('OUTSIDE:RAN'), 'the linked code never ran');
  },
});
cases.push({
  name: 'symlink inside plugins/ to an unsigned file outside is refused (require)',
  setup: () => {
    const app = makeApp(t, { files: { 'main.cjs': "require('./plugins/link.cjs');\n", 'outside/evil.cjs': "console.log('EVIL:RAN');\n" } });
    app.symlink('../outside/evil.cjs', 'plugins/link.cjs');
    return { app, args: ['main.cjs'] };
  },
  check(t, r, app) {
    assertRefused(t, r, 'ERR_TRUSTLOAD_UNSUPPORTED_LOAD', { path: app.path('plugins/link.cjs'), rule: 'plugins' });
    t.notOk(r.stdout.includes('EVIL:RAN'), 'the linked code never ran');
  },
});
cases.push({
  name: 'symlinked folder inside plugins/ leading outside is refused',
  setup: () => {
    const app = makeApp(t, { files: { 'main.mjs': "await import('./plugins/sub/evil.mjs');\n", 'outside/evil.mjs': "console.log('EVIL:RAN');\n" } });
    app.symlink('../outside', 'plugins/sub');
    return { app, args: ['main.mjs'] };
  },
  check(t, r, app) {
    assertRefused(t, r, 'ERR_TRUSTLOAD_UNSUPPORTED_LOAD', { path: app.path('plugins/sub/evil.mjs'), rule: 'plugins' });
    t.notOk(r.stdout.includes('EVIL:RAN'), 'the linked code never ran');
  },
});
cases.push({
  name: 'symlink inside plugins/ leading outside is refused as the main entry',
  setup: () => {
    const app = makeApp(t, { files: { 'outside/evil.mjs': "console.log('EVIL:RAN');\n" } });
    app.symlink('../outside/evil.mjs', 'plugins/link.mjs');
    return { app, args: ['plugins/link.mjs'] };
  },
  check(t, r, app) {
    assertRefused(t, r, 'ERR_TRUSTLOAD_UNSUPPORTED_LOAD', { path: app.path('plugins/link.mjs'), rule: 'plugins' });
    t.notOk(r.stdout.includes('EVIL:RAN'), 'the linked code never ran');
  },
});
cases.push({
  name: 'symlink from an unprotected folder into plugins/ to a tampered file is refused',
  setup: () => {
    const app = makeApp(t, {
      files: { 'main.mjs': "await import('./lib/link.mjs');\n", 'plugins/t.mjs': "console.log('LINKED:SIGNED');\n" },
      sign: ['plugins/t.mjs'],
    });
    app.tamper('plugins/t.mjs');
    app.symlink('../plugins/t.mjs', 'lib/link.mjs');
    return { app, args: ['main.mjs'] };
  },
  check(t, r, app) {
    assertRefused(t, r, 'ERR_TRUSTLOAD_SIGNATURE', { path: app.path('plugins/t.mjs'), rule: 'plugins' });
    t.notOk(r.stdout.includes('LINKED:'), 'the tampered code never ran');
  },
});
cases.push({
  name: 'symlink from an unprotected folder into plugins/ to a signed file loads',
  setup: () => {
    const app = makeApp(t, {
      files: { 'main.mjs': "await import('./lib/link.mjs');\n", 'plugins/t.mjs': "console.log('LINKED:SIGNED');\n" },
      sign: ['plugins/t.mjs'],
    });
    app.symlink('../plugins/t.mjs', 'lib/link.mjs');
    return { app, args: ['main.mjs'] };
  },
  check(t, r) {
    assertClean(t, r);
    t.ok(r.stdout.includes('LINKED:SIGNED'), 'the signed code ran');
  },
});
cases.push({
  name: 'symlink from an unprotected folder into plugins/ to a tampered file is refused (require)',
  setup: () => {
    const app = makeApp(t, {
      files: { 'main.cjs': "require('./lib/link.cjs');\n", 'plugins/t.cjs': "console.log('LINKED:SIGNED');\n" },
      sign: ['plugins/t.cjs'],
    });
    app.tamper('plugins/t.cjs');
    app.symlink('../plugins/t.cjs', 'lib/link.cjs');
    return { app, args: ['main.cjs'] };
  },
  check(t, r, app) {
    assertRefused(t, r, 'ERR_TRUSTLOAD_SIGNATURE', { path: app.path('plugins/t.cjs'), rule: 'plugins' });
    t.notOk(r.stdout.includes('LINKED:'), 'the tampered code never ran');
  },
});

cases.push({
  name: 'symlink from one protected folder into another rule\'s folder is refused',
  setup: () => {
    const app = makeApp(t, {
      rules: [{ name: 'prompts', files: 'prompts/**', signers: ['offline'] }, PLUGINS_RULE],
      files: { 'main.mjs': "await import('./prompts/link.mjs');\n", 'plugins/p.mjs': "console.log('P:SIGNED');\n" },
      sign: ['plugins/p.mjs'],
    });
    app.symlink('../plugins/p.mjs', 'prompts/link.mjs');
    return { app, args: ['main.mjs'] };
  },
  check(t, r, app) {
    assertRefused(t, r, 'ERR_TRUSTLOAD_UNSUPPORTED_LOAD', { path: app.path('prompts/link.mjs'), rule: 'prompts' });
    t.notOk(r.stdout.includes('P:SIGNED'), 'the linked file never ran');
  },
});

// --- Bare package names resolved through node_modules links ------------------------------------

// A signed plugin that imports a package by name, and requires it.
const HOST = {
  'main.mjs': "await import('./plugins/host/index.mjs');\n",
  'main.cjs': "require('./plugins/host/index.cjs');\n",
  'plugins/host/index.mjs': "import dep from 'dep';\nconsole.log('HOST:SIGNED', dep);\n",
  'plugins/host/index.cjs': "console.log('HOST:SIGNED', require('dep'));\n",
};
const HOST_SIGNED = ['plugins/host/index.mjs', 'plugins/host/index.cjs'];
const DEP = (dir) => ({ [`${dir}/package.json`]: '{ "name": "dep", "main": "index.js" }\n', [`${dir}/index.js`]: "module.exports = 'DEP:RAN';\n" });

for (const entry of ['main.mjs', 'main.cjs']) {
  const how = entry === 'main.mjs' ? 'import' : 'require';
  cases.push({
    name: `bare ${how}: a package linked into plugins/ from outside is refused`,
    setup: () => {
      const app = makeApp(t, { files: { ...HOST, ...DEP('outside/dep') }, sign: HOST_SIGNED });
      app.symlink('../../../outside/dep', 'plugins/host/node_modules/dep');
      return { app, args: [entry] };
    },
    check(t, r, app) {
      assertRefused(t, r, 'ERR_TRUSTLOAD_UNSUPPORTED_LOAD', { path: app.path('plugins/host/node_modules/dep/index.js'), rule: 'plugins' });
      t.notOk(r.stdout.includes('DEP:RAN'), 'the linked package never ran');
    },
  });
  cases.push({
    name: `bare ${how}: a package whose file links outside plugins/ is refused`,
    setup: () => {
      const app = makeApp(t, { files: { ...HOST, 'plugins/host/node_modules/dep/package.json': '{ "name": "dep", "main": "index.js" }\n', 'outside/evil.js': "module.exports = 'DEP:RAN';\n" }, sign: HOST_SIGNED });
      app.symlink('../../../../outside/evil.js', 'plugins/host/node_modules/dep/index.js');
      return { app, args: [entry] };
    },
    check(t, r, app) {
      assertRefused(t, r, 'ERR_TRUSTLOAD_UNSUPPORTED_LOAD', { rule: 'plugins' });
      t.ok(r.firstLine.includes(app.path('plugins/host/node_modules/dep')), 'it names the package folder it was found in');
      t.notOk(r.stdout.includes('DEP:RAN'), 'the linked file never ran');
    },
  });
  cases.push({
    name: `bare ${how}: an unsigned package inside plugins/ is refused`,
    setup: () => ({
      app: makeApp(t, { files: { ...HOST, ...DEP('plugins/host/node_modules/dep') }, sign: [...HOST_SIGNED, 'plugins/host/node_modules/dep/package.json'] }),
      args: [entry],
    }),
    check(t, r, app) {
      assertRefused(t, r, 'ERR_TRUSTLOAD_NO_BUNDLE', { path: app.path('plugins/host/node_modules/dep/index.js'), rule: 'plugins' });
      t.notOk(r.stdout.includes('DEP:RAN'), 'the unsigned package never ran');
    },
  });
  cases.push({
    name: `bare ${how}: a package from the app's own node_modules (unprotected) loads`,
    setup: () => ({ app: makeApp(t, { files: { ...HOST, ...DEP('node_modules/dep') }, sign: HOST_SIGNED }), args: [entry] }),
    check(t, r) {
      assertClean(t, r);
      t.ok(r.stdout.includes('HOST:SIGNED DEP:RAN'), 'the plugin and its dependency ran');
    },
  });
  cases.push({
    name: `bare ${how}: a signed package linked within plugins/ (pnpm layout) loads`,
    setup: () => {
      const app = makeApp(t, {
        files: { ...HOST, ...DEP('plugins/.pnpm/dep@1/node_modules/dep') },
        sign: [...HOST_SIGNED, 'plugins/.pnpm/dep@1/node_modules/dep/index.js', 'plugins/.pnpm/dep@1/node_modules/dep/package.json'],
      });
      app.symlink('../../.pnpm/dep@1/node_modules/dep', 'plugins/host/node_modules/dep');
      return { app, args: [entry] };
    },
    check(t, r) {
      assertClean(t, r);
      t.ok(r.stdout.includes('HOST:SIGNED DEP:RAN'), 'the plugin and its dependency ran');
    },
  });
  cases.push({
    name: `bare ${how}: a package linked from node_modules/ into plugins/, tampered, is refused`,
    setup: () => {
      const app = makeApp(t, {
        files: { [entry]: entry === 'main.mjs' ? "import dep from 'dep';\nconsole.log(dep);\n" : "console.log(require('dep'));\n", ...DEP('plugins/dep') },
        sign: ['plugins/dep/index.js', 'plugins/dep/package.json'],
      });
      app.tamper('plugins/dep/index.js', 'RAN', 'RUN');
      app.symlink('../plugins/dep', 'node_modules/dep');
      return { app, args: [entry] };
    },
    check(t, r, app) {
      assertRefused(t, r, 'ERR_TRUSTLOAD_SIGNATURE', { path: app.path('plugins/dep/index.js'), rule: 'plugins' });
      t.notOk(r.stdout.includes('DEP:'), 'the tampered package never ran');
    },
  });
}

// Package "imports" (#name) and self-reference by package name map through the importer's own
// package.json; a link inside a protected package that leads out of it is still refused.
for (const [label, pkg, specifier] of [
  ['"imports" (#evil)', '{ "name": "host", "type": "module", "imports": { "#evil": "./link.js" } }\n', '#evil'],
  ['self-reference through "exports"', '{ "name": "host", "type": "module", "exports": { "./evil": "./link.js" } }\n', 'host/evil'],
]) {
  cases.push({
    name: `package ${label}: a link inside plugins/ to a file outside is refused`,
    setup: () => {
      const app = makeApp(t, {
        files: {
          'main.mjs': "await import('./plugins/host/index.mjs');\n",
          'plugins/host/package.json': pkg,
          'plugins/host/index.mjs': `import ${JSON.stringify(specifier)};\nconsole.log('HOST:SIGNED');\n`,
          'outside/evil.js': "console.log('EVIL:RAN');\n",
        },
        sign: ['plugins/host/package.json', 'plugins/host/index.mjs'],
      });
      app.symlink('../../outside/evil.js', 'plugins/host/link.js');
      return { app, args: ['main.mjs'] };
    },
    check(t, r) {
      assertRefused(t, r, 'ERR_TRUSTLOAD_UNSUPPORTED_LOAD', { rule: 'plugins' });
      t.notOk(r.stdout.includes('EVIL:RAN'), 'the linked code never ran');
    },
  });
}

// --- Dot-files, and bundles loaded as resources ---------------------------------------------

for (const rel of ['plugins/.hidden/a.mjs', 'plugins/.a.mjs']) {
  const files = { 'main.mjs': `await import('./${rel}');\n`, [rel]: "console.log('DOT:SIGNED');\n" };
  cases.push({
    name: `dot-file ${rel} is protected by plugins/**: unsigned is refused`,
    setup: () => ({ app: makeApp(t, { files }), args: ['main.mjs'] }),
    check(t, r, app) {
      assertRefused(t, r, 'ERR_TRUSTLOAD_NO_BUNDLE', { path: app.path(rel), rule: 'plugins' });
      t.notOk(r.stdout.includes('DOT:'), 'it never ran');
    },
  });
  cases.push({
    name: `dot-file ${rel}: signed loads`,
    setup: () => ({ app: makeApp(t, { files, sign: [rel] }), args: ['main.mjs'] }),
    check(t, r) {
      assertClean(t, r);
      t.ok(r.stdout.includes('DOT:SIGNED'), 'it ran');
    },
  });
}

for (const [how, main, entry] of [
  ['imported with { type: "json" }', "import b from './plugins/p.mjs.sigstore.json' with { type: 'json' };\nconsole.log('BUNDLE', b.mediaType);\n", 'main.mjs'],
  ['required', "console.log('BUNDLE', require('./plugins/p.mjs.sigstore.json').mediaType);\n", 'main.cjs'],
]) {
  cases.push({
    name: `a bundle under plugins/ ${how} as a resource is refused`,
    setup: () => ({
      app: makeApp(t, { files: { [entry]: main, 'plugins/p.mjs': "console.log('P:SIGNED');\n" }, sign: ['plugins/p.mjs'] }),
      args: [entry],
    }),
    check(t, r, app) {
      assertRefused(t, r, 'ERR_TRUSTLOAD_NO_BUNDLE', { path: app.path('plugins/p.mjs.sigstore.json'), rule: 'plugins' });
      t.notOk(r.stdout.includes('BUNDLE'), 'the bundle never reached the application');
    },
  });
}

// A top-level name that merely starts with ".." is inside the policy folder, not above it.
cases.push({
  name: 'a file named ..x.mjs in the policy folder is protected by *.mjs',
  setup: () => ({
    app: makeApp(t, {
      rules: [ENTRY_RULE],
      files: { 'main.mjs': "await import('./..x.mjs');\n", '..x.mjs': "console.log('DOTDOT:RAN');\n" },
      sign: ['main.mjs'],
    }),
    args: ['main.mjs'],
  }),
  check(t, r, app) {
    assertRefused(t, r, 'ERR_TRUSTLOAD_NO_BUNDLE', { path: app.path('..x.mjs'), rule: 'entry' });
    t.notOk(r.stdout.includes('DOTDOT:RAN'), 'the unsigned file never ran');
  },
});

// --- Policies that stop the process from starting --------------------------------------------

const START_MAIN = { 'main.mjs': "console.log('APP:STARTED');\n" };
const startCases = [
  {
    name: 'no policy',
    app: () => makeApp(t, { policy: false, files: START_MAIN }),
    mentions: (app) => [app.policyPath, 'does not exist'],
  },
  {
    name: 'TRUSTLOAD_POLICY naming a missing file',
    app: () => makeApp(t, { files: START_MAIN }),
    env: (app) => ({ TRUSTLOAD_POLICY: app.path('nope.json') }),
    mentions: (app) => [app.path('nope.json')],
  },
  {
    name: 'invalid JSON policy',
    app: () => makeApp(t, { policy: '{ "version": 1, ', files: START_MAIN }),
    mentions: (app) => [app.policyPath, 'not valid JSON'],
  },
  {
    name: 'unknown key in the policy',
    app: () => makeApp(t, { extra: { colour: 'blue' }, files: START_MAIN }),
    mentions: (app) => [app.policyPath, 'unknown key "colour"'],
  },
  {
    name: 'unknown key in a rule',
    app: () => makeApp(t, { rules: [{ ...PLUGINS_RULE, flies: 'x' }], files: START_MAIN }),
    mentions: (app) => [app.policyPath, 'rules[0]', 'unknown key "flies"'],
  },
  {
    name: 'TRUSTLOAD_POLICY_SHA256 mismatch',
    app: () => makeApp(t, { files: START_MAIN }),
    env: () => ({ TRUSTLOAD_POLICY_SHA256: '0'.repeat(64) }),
    mentions: (app) => [app.policyPath, 'TRUSTLOAD_POLICY_SHA256'],
  },
  {
    name: 'trusted key file whose sha256 differs',
    app: () => {
      const app = makeApp(t, { files: START_MAIN });
      writeFileSync(app.path('keys/p256.pub.pem'), readFileSync(join(import.meta.dirname, '..', 'fixtures', 'keys', 'p384.pub.pem')));
      return app;
    },
    mentions: (app) => ['trust.keys.release', app.path('keys/p256.pub.pem'), 'sha256'],
  },
  {
    name: 'unanchored identityPattern',
    app: () => makeApp(t, { extra: { signers: { offline: { key: 'release', transparencyLog: false }, acme: { issuer: 'x', identityPattern: 'acme' } } }, files: START_MAIN }),
    mentions: (app) => [app.policyPath, 'signers.acme.identityPattern'],
  },
  {
    name: 'rule naming an unknown signer',
    app: () => makeApp(t, { rules: [{ ...PLUGINS_RULE, signers: ['nobody'] }], files: START_MAIN }),
    mentions: (app) => [app.policyPath, 'rules[0].signers[0]', 'nobody'],
  },
  {
    name: 'mode: permissive without allowPermissive',
    app: () => makeApp(t, { mode: 'permissive', allowPermissive: false, files: START_MAIN }),
    mentions: (app) => [app.policyPath, 'mode', 'allowPermissive'],
  },
  {
    name: 'TRUSTLOAD_MODE=permissive without allowPermissive',
    app: () => makeApp(t, { allowPermissive: false, files: START_MAIN }),
    env: () => ({ TRUSTLOAD_MODE: 'permissive' }),
    mentions: (app) => [app.policyPath, 'TRUSTLOAD_MODE=permissive', 'allowPermissive'],
  },
  {
    name: 'TRUSTLOAD_MODE=permissive never excuses a trust-material error',
    app: () => {
      const app = makeApp(t, { files: START_MAIN });
      writeFileSync(app.path('keys/p256.pub.pem'), 'not a key\n');
      return app;
    },
    env: () => ({ TRUSTLOAD_MODE: 'permissive' }),
    mentions: () => ['trust.keys.release'],
  },
];
for (const sc of startCases) {
  cases.push({
    name: `the process does not start: ${sc.name}`,
    setup: () => {
      const app = sc.app();
      return { app, args: ['main.mjs'], env: sc.env?.(app) ?? {} };
    },
    check(t, r, app) {
      assertDidNotStart(t, r, { mentions: sc.mentions(app) });
    },
  });
}

cases.push({
  name: 'TRUSTLOAD_POLICY_SHA256 that matches lets the process start',
  setup: () => {
    const app = makeApp(t, { files: START_MAIN });
    return { app, args: ['main.mjs'], env: { TRUSTLOAD_POLICY_SHA256: sha256Hex(readFileSync(app.policyPath)) } };
  },
  check(t, r) {
    assertClean(t, r);
    t.ok(r.stdout.includes('APP:STARTED'), 'the application ran');
  },
});
cases.push({
  name: 'TRUSTLOAD_POLICY finds a policy outside the working directory',
  setup: () => {
    const app = makeApp(t, {
      files: { 'main.mjs': "await import('./plugins/p.mjs');\n", 'plugins/p.mjs': "console.log('P:SIGNED');\n" },
      sign: ['plugins/p.mjs'],
    });
    app.tamper('plugins/p.mjs');
    const elsewhere = makeApp(t, { policy: false });
    return { app, cwd: elsewhere.dir, args: [app.path('main.mjs')], env: { TRUSTLOAD_POLICY: app.policyPath } };
  },
  check(t, r, app) {
    assertRefused(t, r, 'ERR_TRUSTLOAD_SIGNATURE', { path: app.path('plugins/p.mjs'), rule: 'plugins' });
  },
});

// --- Run them all, a few processes at once, then check each in its own subtest ----------------

const names = cases.map((c) => c.name);
t.same(names.filter((name, i) => names.indexOf(name) !== i), [], 'case names are unique');
// Every case's process runs in t.before (tap waits for it), a few at once; each is then checked in its own subtest.
const prepared = [];
const results = [];
t.before(async () => {
  cases.forEach((c, i) => (prepared[i] = c.skip ? undefined : c.setup()));
  const done = await pool(cases, CONCURRENCY, (c, i) => {
    const p = prepared[i];
    return p === undefined ? undefined : runNode(p.app.dir, p.args, { env: p.env, cwd: p.cwd, timeout: 20_000 });
  });
  results.push(...done);
});
cases.forEach((c, i) => {
  t.test(c.name, { skip: c.skip ?? false, todo: c.todo ?? false }, async (t) => c.check(t, results[i], prepared[i].app));
});
