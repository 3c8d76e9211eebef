// Native code the dynamic linker loads on its own: the libraries a signed
// addon links (RPATH / RUNPATH, $ORIGIN, LD_LIBRARY_PATH, hardware-capability
// subfolders) and node:sqlite extensions. Real shared objects, compiled here
// with cc, loaded by real guarded processes; a library that runs prints its
// marker with write(1, ...), so a refused one is seen not to have run.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import t from 'tap';
import { assertClean, assertRefused, makeApp, runNode } from './helpers/app.mjs';

const library = (marker) => `#include <unistd.h>\nvoid helper(void) { write(1, "${marker}\\n", ${marker.length + 1}); }\n`;
const ADDON = `typedef struct napi_env__* napi_env; typedef struct napi_value__* napi_value;
void helper(void);
napi_value napi_register_module_v1(napi_env env, napi_value exports) { helper(); return exports; }
`;
// libone's helper() calls libtwo's two(): a dependency's dependency.
const ONE = '#include <unistd.h>\nvoid two(void);\nvoid helper(void) { write(1, "ONE-MARKER\\n", 11); two(); }\n';
const TWO = (marker) => `#include <unistd.h>\nvoid two(void) { write(1, "${marker}\\n", ${marker.length + 1}); }\n`;
// A SQLite extension (or OpenSSL engine) whose constructor runs as soon as dlopen maps it.
const EXTENSION = '#include <unistd.h>\n__attribute__((constructor)) static void loaded(void) { write(1, "EXT-MARKER\\n", 11); }\n';

/** Compiles every shared object the tests use, once; `skip` says why not when cc is missing. */
function compile() {
  const dir = mkdtempSync(join(tmpdir(), 'trustload-native-'));
  process.on('exit', () => rmSync(dir, { recursive: true, force: true }));
  const cc = (args) => execFileSync('cc', args, { cwd: dir, stdio: 'pipe', timeout: 60_000 });
  try {
    cc(['--version']);
  } catch {
    return { skip: 'no cc on this machine' };
  }
  const sources = { 'helper.c': library('HELPER-MARKER'), 'evil.c': library('EVIL-MARKER'), 'addon.c': ADDON, 'one.c': ONE, 'two.c': TWO('TWO-MARKER'), 'eviltwo.c': TWO('EVIL-MARKER'), 'ext.c': EXTENSION };
  for (const [name, text] of Object.entries(sources)) writeFileSync(join(dir, name), text);
  const so = (out, src, extra = []) => cc(['-shared', '-fPIC', '-o', out, src, ...extra]);
  so('libhelper.so', 'helper.c');
  so('libevil.so', 'evil.c');
  so('libtwo.so', 'two.c');
  so('libeviltwo.so', 'eviltwo.c');
  so('vec.so', 'ext.c');
  const link = (out, rpath, dtags, lib = 'helper') => so(out, 'addon.c', ['-L.', `-l${lib}`, `-Wl,-rpath,${rpath}`, `-Wl,--${dtags}-new-dtags`]);
  link('rpath.node', '$ORIGIN', 'disable');
  link('runpath.node', '$ORIGIN', 'enable');
  link('lib-rpath.node', '$ORIGIN/../lib', 'disable');
  link('app-plugins.node', '$ORIGIN/../plugins', 'disable');
  // libone needs libtwo and names no search path of its own.
  so('libone.so', 'one.c', ['-L.', '-ltwo']);
  link('chain-rpath.node', '$ORIGIN/lib', 'disable', 'one');
  link('chain-runpath.node', '$ORIGIN/lib', 'enable', 'one');
  const bytes = (name) => readFileSync(join(dir, name));
  return { bytes, helper: bytes('libhelper.so'), evil: bytes('libevil.so') };
}
const built = compile();
const skip = built.skip;

const REQUIRE = (path) => `require(${JSON.stringify(path)});\nconsole.log('LOADED');\n`;

/** A guarded app requiring `addon`; `files` and `sign` as makeApp takes them. */
async function run(t, { addon = 'plugins/addon.node', files, sign, rules, env, main = REQUIRE(`./${addon}`), unmatched } = {}) {
  const app = makeApp(t, { files: { 'main.cjs': main, ...files }, sign, rules, unmatched });
  return { app, result: await runNode(app.dir, ['main.cjs'], { env }) };
}

const noMarker = (t, result, marker = 'EVIL-MARKER') => t.notMatch(result.stdout, marker, `${marker} never printed`);

t.test('a signed addon and its signed RPATH $ORIGIN library load', { skip }, async (t) => {
  const { result } = await run(t, {
    files: { 'plugins/addon.node': built.bytes('rpath.node'), 'plugins/libhelper.so': built.helper },
    sign: ['plugins/addon.node', 'plugins/libhelper.so'],
  });
  assertClean(t, result);
  t.match(result.stdout, /HELPER-MARKER\nLOADED/, 'the helper ran');
});

for (const variant of ['rpath', 'runpath']) {
  t.test(`a swapped library next to a signed addon (${variant.toUpperCase()} $ORIGIN) is refused`, { skip }, async (t) => {
    const { app, result } = await run(t, {
      files: { 'plugins/addon.node': built.bytes(`${variant}.node`), 'plugins/libhelper.so': built.helper },
      sign: ['plugins/addon.node', 'plugins/libhelper.so'],
    });
    t.ok(app);
    // Same name, other bytes: the signed bundle no longer matches.
    writeFileSync(app.path('plugins/libhelper.so'), built.evil);
    const swapped = await runNode(app.dir, ['main.cjs']);
    assertRefused(t, swapped, 'ERR_TRUSTLOAD_SIGNATURE', { path: app.path('plugins/libhelper.so'), rule: 'plugins' });
    noMarker(t, swapped);
    t.notMatch(swapped.stdout, 'LOADED');
    t.equal(result.code, 0, 'the signed pair loaded first');
  });
}

t.test('a library no rule covers, linked by a protected addon, is refused with the rule it needs', { skip }, async (t) => {
  // $ORIGIN/../lib: the library sits outside the rule's folder, inside the application.
  const { app, result } = await run(t, {
    files: { 'plugins/addon.node': built.bytes('lib-rpath.node'), 'lib/libhelper.so': built.evil },
    rules: [{ name: 'addons', files: 'plugins/*.node', signers: ['offline'] }],
    sign: ['plugins/addon.node'],
  });
  assertRefused(t, result, 'ERR_TRUSTLOAD_UNMATCHED', { path: app.path('lib/libhelper.so'), rule: 'addons' });
  t.match(result.firstLine, 'plugins/addon.node', 'it names the addon that links it');
  noMarker(t, result);
});

t.test('a library beside the addon is judged by the rule of the folder it is in, whatever the glob names', { skip }, async (t) => {
  const { app, result } = await run(t, {
    files: { 'plugins/addon.node': built.bytes('rpath.node'), 'plugins/libhelper.so': built.evil },
    rules: [{ name: 'addons', files: 'plugins/*.node', signers: ['offline'] }],
    sign: ['plugins/addon.node'],
  });
  assertRefused(t, result, 'ERR_TRUSTLOAD_NO_BUNDLE', { path: app.path('plugins/libhelper.so'), rule: 'addons' });
  noMarker(t, result);
});

t.test('$ORIGIN/../lib: the library in a sibling folder must verify', { skip }, async (t) => {
  const { app, result } = await run(t, {
    addon: 'plugins/x/bin/addon.node',
    files: { 'plugins/x/bin/addon.node': built.bytes('lib-rpath.node'), 'plugins/x/lib/libhelper.so': built.evil },
    sign: ['plugins/x/bin/addon.node'],
  });
  assertRefused(t, result, 'ERR_TRUSTLOAD_NO_BUNDLE', { path: app.path('plugins/x/lib/libhelper.so'), rule: 'plugins' });
  noMarker(t, result);
});

t.test('RPATH is inherited by a dependency of a dependency; RUNPATH is not', { skip }, async (t) => {
  const files = (addon) => ({ 'plugins/addon.node': built.bytes(addon), 'plugins/lib/libone.so': built.bytes('libone.so'), 'plugins/lib/libtwo.so': built.bytes('libeviltwo.so') });
  const sign = ['plugins/addon.node', 'plugins/lib/libone.so'];
  // RPATH: libone finds libtwo through the addon's RPATH, so libtwo must verify.
  const inherited = await run(t, { files: files('chain-rpath.node'), sign });
  assertRefused(t, inherited.result, 'ERR_TRUSTLOAD_NO_BUNDLE', { path: inherited.app.path('plugins/lib/libtwo.so'), rule: 'plugins' });
  noMarker(t, inherited.result);
  // RUNPATH: the linker never looks for libtwo there, so trustload does not refuse it: the linker fails to find it.
  const own = await run(t, { files: files('chain-runpath.node'), sign });
  t.not(own.result.code, 0, 'the addon does not load');
  t.notMatch(own.result.stderr, 'ERR_TRUSTLOAD', 'no refusal: libtwo is not something the linker would load');
  t.match(own.result.stderr, /libtwo\.so: cannot open shared object file/, 'the linker could not find libtwo');
  noMarker(t, own.result);
});

t.test('a truncated or malformed addon is refused cleanly', { skip }, async (t) => {
  const whole = built.bytes('rpath.node');
  for (const [name, bytes] of [
    ['truncated', whole.subarray(0, 200)],
    ['not ELF', Buffer.from('#!/bin/sh\necho hi\n')],
    ['no program headers', Buffer.concat([whole.subarray(0, 64), Buffer.alloc(64)])],
  ]) {
    const { app, result } = await run(t, { files: { 'plugins/addon.node': bytes }, sign: ['plugins/addon.node'] });
    assertRefused(t, result, 'ERR_TRUSTLOAD_UNSUPPORTED_LOAD', { path: app.path('plugins/addon.node'), rule: 'plugins' });
    t.equal(result.signal, null, `${name}: no crash`);
    t.equal(result.stderr.split('\n').filter((line) => line.startsWith('trustload: ')).length, 1, `${name}: refused once`);
  }
});

t.test('a library in a hardware-capability subfolder, which glibc tries first, must verify too', { skip }, async (t) => {
  const { app, result } = await run(t, {
    files: {
      'plugins/addon.node': built.bytes('rpath.node'),
      'plugins/libhelper.so': built.helper,
      'plugins/glibc-hwcaps/x86-64-v2/libhelper.so': built.evil,
      'plugins/tls/libhelper.so': built.evil,
    },
    sign: ['plugins/addon.node', 'plugins/libhelper.so'],
  });
  assertRefused(t, result, 'ERR_TRUSTLOAD_NO_BUNDLE', { rule: 'plugins' });
  t.match(result.firstLine, /plugins\/(glibc-hwcaps\/x86-64-v2|tls)\/libhelper\.so/, 'it names the subfolder library');
  noMarker(t, result);
});

t.test('an addon no rule covers still may not load a protected library that fails', { skip }, async (t) => {
  const { app, result } = await run(t, {
    addon: 'lib/addon.node',
    files: { 'lib/addon.node': built.bytes('app-plugins.node'), 'plugins/libhelper.so': built.evil },
  });
  assertRefused(t, result, 'ERR_TRUSTLOAD_NO_BUNDLE', { path: app.path('plugins/libhelper.so'), rule: 'plugins' });
  noMarker(t, result);
});

t.test('a library that is a link out of the protected folder is refused', { skip }, async (t) => {
  const outside = mkdtempSync(join(tmpdir(), 'trustload-outside-'));
  t.teardown(() => rmSync(outside, { recursive: true, force: true }));
  writeFileSync(join(outside, 'libhelper.so'), built.evil);
  const { app } = await run(t, { files: { 'plugins/addon.node': built.bytes('rpath.node') }, sign: ['plugins/addon.node'], main: '' });
  symlinkSync(join(outside, 'libhelper.so'), app.path('plugins/libhelper.so'));
  app.write('main.cjs', REQUIRE('./plugins/addon.node'));
  const result = await runNode(app.dir, ['main.cjs']);
  assertRefused(t, result, 'ERR_TRUSTLOAD_UNSUPPORTED_LOAD', { path: app.path('plugins/libhelper.so'), rule: 'plugins' });
  noMarker(t, result);
});

t.test('LD_LIBRARY_PATH, searched before RUNPATH, is followed as the linker read it at start-up', { skip }, async (t) => {
  const files = { 'plugins/addon.node': built.bytes('runpath.node'), 'plugins/libhelper.so': built.helper, 'plugins/evil/libhelper.so': built.evil };
  const sign = ['plugins/addon.node', 'plugins/libhelper.so'];
  const { app, result } = await run(t, { files, sign, env: { LD_LIBRARY_PATH: 'plugins/evil' } });
  assertRefused(t, result, 'ERR_TRUSTLOAD_NO_BUNDLE', { path: app.path('plugins/evil/libhelper.so'), rule: 'plugins' });
  noMarker(t, result);
  // Changing process.env later changes nothing for the linker, nor for the check.
  const late = await run(t, { files, sign, main: `process.env.LD_LIBRARY_PATH = '/usr/lib';\n${REQUIRE('./plugins/addon.node')}`, env: { LD_LIBRARY_PATH: 'plugins/evil' } });
  assertRefused(t, late.result, 'ERR_TRUSTLOAD_NO_BUNDLE', { path: late.app.path('plugins/evil/libhelper.so') });
  noMarker(t, late.result);
});

t.test('process.dlopen with a name that changes when read twice checks the name the linker gets', { skip }, async (t) => {
  const main = `let n = 0;
const name = { toString: () => (n++ === 0 ? ${JSON.stringify('./plugins/addon.node')} : './plugins/evil.node') };
process.dlopen({ exports: {} }, name);
console.log('LOADED');
`;
  const { result } = await run(t, {
    main,
    files: { 'plugins/addon.node': built.bytes('rpath.node'), 'plugins/libhelper.so': built.helper, 'plugins/evil.node': built.bytes('rpath.node') },
    sign: ['plugins/addon.node', 'plugins/libhelper.so'],
  });
  t.match(result.stdout, /HELPER-MARKER\nLOADED/, 'the signed addon, read once, loaded');
  t.equal(result.code, 0, result.stderr);
});

const SQLITE = (path) => `const { DatabaseSync } = require('node:sqlite');
const db = new DatabaseSync(':memory:', { allowExtension: true });
try { db.loadExtension(${JSON.stringify(path)}); } catch (err) { console.log('SQLITE', err.code ?? err.message); }
`;

t.test('node:sqlite loadExtension goes through the same check', { skip }, async (t) => {
  for (const [name, path, file] of [
    ['the path as given', 'plugins/vec.so', 'plugins/vec.so'],
    ['the path SQLite completes with .so', './plugins/vec', 'plugins/vec.so'],
  ]) {
    const { app, result } = await run(t, { main: SQLITE(path), files: { 'plugins/vec.so': built.bytes('vec.so') } });
    t.match(result.stdout, 'SQLITE ERR_TRUSTLOAD_NO_BUNDLE', `${name}: refused`);
    t.match(result.firstLine, `ERR_TRUSTLOAD_NO_BUNDLE: ${app.path(file)}`, `${name}: names ${file}`);
    noMarker(t, result, 'EXT-MARKER');
  }
  const { result } = await run(t, { main: SQLITE('./plugins/vec.so'), files: { 'plugins/vec.so': built.bytes('vec.so') }, sign: ['plugins/vec.so'] });
  t.match(result.stdout, 'EXT-MARKER', 'a signed extension loads (and runs)');
  t.notMatch(result.stderr, 'ERR_TRUSTLOAD');
});

t.test('getBuiltinModule("node:sqlite") gets the guarded loadExtension too', { skip }, async (t) => {
  const main = SQLITE('plugins/vec.so').replace("require('node:sqlite')", "process.getBuiltinModule('node:sqlite')");
  const { result } = await run(t, { main, files: { 'plugins/vec.so': built.bytes('vec.so') } });
  t.match(result.stdout, 'SQLITE ERR_TRUSTLOAD_NO_BUNDLE');
  noMarker(t, result, 'EXT-MARKER');
});

t.test('node:sqlite is not loaded at start-up', async (t) => {
  const main = "console.log(process.moduleLoadList.some((name) => /sqlite/.test(name)) ? 'SQLITE LOADED' : 'NO SQLITE');\n";
  const { result } = await run(t, { main });
  t.match(result.stdout, 'NO SQLITE');
});


const ENGINE = (call) => `try { ${call}; } catch (err) { console.log('ENGINE', err.code ?? err.message); }\n`;

t.test('OpenSSL engines, which load a shared object by path or name, go through the same check', { skip }, async (t) => {
  for (const [name, call, file] of [
    ['crypto.setEngine(path)', "require('node:crypto').setEngine('./plugins/eng.so')", 'plugins/eng.so'],
    ['the privateKeyEngine option', "require('node:tls').createSecureContext({ privateKeyEngine: require('node:path').resolve('plugins/eng.so'), privateKeyIdentifier: 'k' })", 'plugins/eng.so'],
    ['the clientCertEngine option, through https', "new (require('node:https').Agent)().createConnection({ host: '127.0.0.1', port: 1, clientCertEngine: 'eng' })", 'plugins/libeng.so'],
  ]) {
    const env = file.endsWith('libeng.so') ? { LD_LIBRARY_PATH: 'plugins' } : {};
    const { app, result } = await run(t, { main: ENGINE(call), env, files: { [file]: built.bytes('vec.so') } });
    t.match(result.firstLine, `ERR_TRUSTLOAD_NO_BUNDLE: ${app.path(file)}`, `${name}: refused, naming ${file}`);
    noMarker(t, result, 'EXT-MARKER');
  }
});
