// The API (dist/index.js) in a real process: readVerified / readVerifiedSync,
// verifyFile, stats() and its cache hits, the `trustload:decision` channel,
// both in a guarded process and in an unguarded one that names its policy
// with TRUSTLOAD_POLICY; and `"lockdown": true` against loader tampering.
import t from 'tap';
import { INDEX, makeApp, runNode, sha256Hex } from './helpers/app.mjs';

const PROMPTS_RULE = { name: 'prompts', files: ['prompts/**/*.md', 'prompts/**/*.txt'], signers: ['offline'] };
const PLUGINS_RULE = { name: 'plugins', files: 'plugins/**', signers: ['offline'] };

const GOOD = 'You are a helpful agent. SIGNED\n';
const BAD = 'You are a helpful agent. SIGNED\n';

// Runs every API call in order and prints `RESULT {json}`: values, or the error's public fields.
const PROBE = `
import diagnostics from 'node:diagnostics_channel';
import * as trustload from ${JSON.stringify(INDEX)};

const events = [];
diagnostics.subscribe('trustload:decision', (message) => events.push(message));
const out = {};
const errorOf = (err) => ({
  code: err.code,
  name: err.name,
  isTrustloadError: err instanceof trustload.TrustloadError,
  path: err.path,
  rule: err.rule,
  message: err.message,
});
async function attempt(name, fn) {
  try {
    const value = await fn();
    out[name] = { value: Buffer.isBuffer(value) ? { buffer: value.toString('utf8') } : value };
  } catch (err) {
    out[name] = { error: errorOf(err) };
  }
}

await attempt('readVerified', () => trustload.readVerified('prompts/good.md'));
await attempt('readVerifiedSync', () => trustload.readVerifiedSync('prompts/good.md'));
await attempt('readVerified tampered', () => trustload.readVerified('prompts/bad.md'));
await attempt('readVerifiedSync tampered', () => trustload.readVerifiedSync('prompts/bad.md'));
await attempt('readVerified no bundle', () => trustload.readVerified('prompts/unsigned.txt'));
await attempt('readVerifiedSync missing', () => trustload.readVerifiedSync('prompts/missing.md'));
await attempt('readVerifiedSync unprotected', () => trustload.readVerifiedSync('notes.txt'));
await attempt('readVerified absolute', () => trustload.readVerified(process.cwd() + '/prompts/good.md'));
out.statsBeforeCache = trustload.stats();
await attempt('verifyFile', () => trustload.verifyFile('prompts/other.md'));
await attempt('verifyFile again', () => trustload.verifyFile('prompts/other.md'));
out.statsAfterCache = trustload.stats();
await attempt('verifyFile tampered', () => trustload.verifyFile('prompts/bad.md'));
out.events = events;
out.stats = trustload.stats();
out.channel = trustload.DECISION_CHANNEL;
console.log('RESULT ' + JSON.stringify(out));
`;

function promptsApp(t) {
  const app = makeApp(t, {
    rules: [PROMPTS_RULE],
    files: {
      'probe.mjs': PROBE,
      'prompts/good.md': GOOD,
      'prompts/other.md': 'Another prompt. SIGNED\n',
      'prompts/bad.md': BAD,
      'prompts/unsigned.txt': 'No bundle here.\n',
      'notes.txt': 'Not protected.\n',
    },
    sign: ['prompts/good.md', 'prompts/other.md', 'prompts/bad.md'],
  });
  app.tamper('prompts/bad.md');
  return app;
}

function parseResult(t, r) {
  t.notOk(r.timedOut, 'finished in time');
  t.equal(r.code, 0, `exits 0\n${r.stderr}`);
  t.equal(r.stderr, '', 'the API prints nothing on stderr (refusals are the caller’s to report)');
  const line = r.stdout.split('\n').find((l) => l.startsWith('RESULT '));
  t.ok(line, `a result line:\n${r.stdout}`);
  return line ? JSON.parse(line.slice('RESULT '.length)) : {};
}

const SIGNER = { signer: 'offline', kind: 'key', key: 'release' };

for (const [label, guarded] of [
  ['in a guarded process', true],
  ['in an unguarded process with TRUSTLOAD_POLICY', false],
]) {
  t.test(`the API ${label}`, async (t) => {
    const app = promptsApp(t);
    const options = guarded ? {} : { guard: false, env: { TRUSTLOAD_POLICY: app.policyPath } };
    const r = await runNode(app.dir, ['probe.mjs'], { timeout: 20_000, ...options });
    const out = parseResult(t, r);
    const goodPath = app.path('prompts/good.md');
    const badPath = app.path('prompts/bad.md');
    const otherPath = app.path('prompts/other.md');

    t.test('readVerified / readVerifiedSync return the verified bytes', async (t) => {
      t.same(out.readVerified, { value: { buffer: GOOD } }, 'readVerified');
      t.same(out.readVerifiedSync, { value: { buffer: GOOD } }, 'readVerifiedSync');
      t.same(out['readVerified absolute'], { value: { buffer: GOOD } }, 'an absolute path');
      t.same(out['readVerifiedSync unprotected'], { value: { buffer: 'Not protected.\n' } }, 'an unprotected file is read as is (unmatched: allow)');
    });

    t.test('a tampered file is refused with ERR_TRUSTLOAD_SIGNATURE', async (t) => {
      for (const name of ['readVerified tampered', 'readVerifiedSync tampered', 'verifyFile tampered']) {
        t.match(out[name]?.error, { code: 'ERR_TRUSTLOAD_SIGNATURE', name: 'TrustloadError', isTrustloadError: true, path: badPath, rule: 'prompts' }, name);
      }
    });

    t.test('a file without a bundle is refused with ERR_TRUSTLOAD_NO_BUNDLE', async (t) => {
      t.match(out['readVerified no bundle']?.error, {
        code: 'ERR_TRUSTLOAD_NO_BUNDLE',
        isTrustloadError: true,
        path: app.path('prompts/unsigned.txt'),
        rule: 'prompts',
      });
    });

    t.test('a missing file is refused with ERR_TRUSTLOAD_MISSING_FILE', async (t) => {
      t.match(out['readVerifiedSync missing']?.error, { code: 'ERR_TRUSTLOAD_MISSING_FILE', isTrustloadError: true, path: app.path('prompts/missing.md') });
    });

    t.test('verifyFile returns the rule, the signer and the digest', async (t) => {
      const value = out.verifyFile?.value;
      t.match(value, { decision: 'verified', path: otherPath, rule: 'prompts', signer: SIGNER, digest: sha256Hex(app.read('prompts/other.md')) }, JSON.stringify(out.verifyFile));
      t.notOk(value && 'bytes' in value, 'no bytes in the result');
    });

    t.test('stats() counts, and verifying the same file twice is a cache hit', async (t) => {
      // good.md three times (readVerified, readVerifiedSync, by absolute path); the missing file never reaches the guard.
      t.match(out.statsBeforeCache, { verified: 3, refused: 3, warned: 0 }, `before: ${JSON.stringify(out.statsBeforeCache)}`);
      t.equal(out.statsBeforeCache.cacheHits, 2, 'good.md verified three times: two cache hits');
      t.equal(out.statsAfterCache.verified, 5, 'two more verified');
      t.equal(out.statsAfterCache.cacheHits - out.statsBeforeCache.cacheHits, 1, 'the second verifyFile of other.md is a cache hit');
      t.match(out.stats, { verified: 5, refused: 4, warned: 0 }, `at the end: ${JSON.stringify(out.stats)}`);
      // unmatched counts notes.txt (and, guarded, the probe itself and the API module it imported).
      t.ok(out.stats.unmatched >= 1, 'unmatched counts the unprotected file');
    });

    t.test('the trustload:decision channel', async (t) => {
      t.equal(out.channel, 'trustload:decision', 'DECISION_CHANNEL');
      const events = out.events ?? [];
      const verified = events.filter((e) => e.decision === 'verified');
      const refused = events.filter((e) => e.decision === 'refused');
      t.equal(verified.length, 5, 'one verified event per verified read');
      t.equal(refused.length, 4, 'one refused event per refusal');
      const first = verified.find((e) => e.path === goodPath);
      t.match(first, { path: goodPath, rule: 'prompts', decision: 'verified', signer: SIGNER, digest: sha256Hex(Buffer.from(GOOD)) }, JSON.stringify(first));
      t.type(first?.ms, 'number', 'ms is a number');
      t.ok(first?.ms >= 0, 'ms is not negative');
      t.same(Object.keys(first ?? {}).sort(), ['decision', 'digest', 'ms', 'path', 'rule', 'signer'], 'exactly the documented fields');
      const tampered = refused.find((e) => e.path === badPath);
      t.match(tampered, { path: badPath, rule: 'prompts', decision: 'refused', code: 'ERR_TRUSTLOAD_SIGNATURE' }, JSON.stringify(tampered));
      t.type(tampered?.ms, 'number', 'ms is a number');
      t.notOk(tampered && 'signer' in tampered, 'a refusal names no signer');
      t.match(refused.find((e) => e.path === app.path('prompts/unsigned.txt')), { rule: 'prompts', code: 'ERR_TRUSTLOAD_NO_BUNDLE' }, 'no bundle');
      const unmatched = events.find((e) => e.path === app.path('notes.txt'));
      t.match(unmatched, { decision: 'unmatched' }, 'an unprotected read is published as unmatched');
      t.notOk(unmatched && 'rule' in unmatched, 'with no rule');
    });
  });
}

t.test('the API in a process with no policy throws ERR_TRUSTLOAD_POLICY', async (t) => {
  const app = makeApp(t, {
    policy: false,
    files: {
      'probe.mjs': `import { readVerifiedSync } from ${JSON.stringify(INDEX)};
try { readVerifiedSync('x.md'); console.log('NO THROW'); } catch (err) { console.log('CODE ' + err.code); }
`,
      'x.md': 'x\n',
    },
  });
  const r = await runNode(app.dir, ['probe.mjs'], { guard: false, timeout: 20_000 });
  t.equal(r.code, 0, r.stderr);
  t.ok(r.stdout.includes('CODE ERR_TRUSTLOAD_POLICY'), r.stdout);
});

t.test('permissive mode: the API warns and returns the bytes, never saying verified', async (t) => {
  const app = makeApp(t, {
    rules: [PROMPTS_RULE],
    files: {
      'probe.mjs': `import diagnostics from 'node:diagnostics_channel';
import { readVerifiedSync, stats } from ${JSON.stringify(INDEX)};
const events = [];
diagnostics.subscribe('trustload:decision', (m) => events.push(m));
const text = readVerifiedSync('prompts/bad.md').toString();
console.log('RESULT ' + JSON.stringify({ text, events, stats: stats() }));
`,
      'prompts/bad.md': BAD,
    },
    sign: ['prompts/bad.md'],
  });
  const tampered = app.tamper('prompts/bad.md').toString();
  const r = await runNode(app.dir, ['probe.mjs'], { env: { TRUSTLOAD_MODE: 'permissive' }, timeout: 20_000 });
  t.equal(r.code, 0, r.stderr);
  const line = r.stdout.split('\n').find((l) => l.startsWith('RESULT '));
  const out = JSON.parse(line?.slice('RESULT '.length) ?? '{}');
  t.equal(out.text, tampered, 'the unverified bytes');
  t.match(out.events?.find((e) => e.path === app.path('prompts/bad.md')), { decision: 'warned', rule: 'prompts', code: 'ERR_TRUSTLOAD_SIGNATURE' }, 'a warned event');
  t.match(out.stats, { warned: 1, verified: 0 }, 'counted as warned');
  const warning = r.stderr.split('\n').find((l) => l.includes(app.path('prompts/bad.md')));
  t.match(warning, /^trustload: WARNING: ERR_TRUSTLOAD_SIGNATURE: /, 'one warning line');
  t.notMatch(warning, /verified/i, 'which never says verified');
});

t.test('module loads are published on trustload:decision and counted by stats()', async (t) => {
  const app = makeApp(t, {
    files: {
      'main.mjs': `import diagnostics from 'node:diagnostics_channel';
import { stats } from ${JSON.stringify(INDEX)};
const events = [];
diagnostics.subscribe('trustload:decision', (m) => events.push(m));
await import('./plugins/good.mjs');
try { await import('./plugins/bad.mjs'); } catch {}
await import('./plugins/good.mjs?again');
console.log('RESULT ' + JSON.stringify({ events, stats: stats() }));
`,
      'plugins/good.mjs': "console.log('GOOD:SIGNED');\n",
      'plugins/bad.mjs': "console.log('BAD:SIGNED');\n",
    },
    sign: ['plugins/good.mjs', 'plugins/bad.mjs'],
  });
  app.tamper('plugins/bad.mjs');
  const r = await runNode(app.dir, ['main.mjs'], { timeout: 20_000 });
  t.equal(r.code, 0, r.stderr);
  t.match(r.firstLine, /^trustload: ERR_TRUSTLOAD_SIGNATURE: /, 'the loader announced the refusal on stderr');
  const line = r.stdout.split('\n').find((l) => l.startsWith('RESULT '));
  const out = JSON.parse(line?.slice('RESULT '.length) ?? '{}');
  const good = out.events?.filter((e) => e.path === app.path('plugins/good.mjs')) ?? [];
  t.equal(good.length, 2, 'the signed plugin loaded twice (a ?query is a new module)');
  t.match(good[0], { decision: 'verified', rule: 'plugins', signer: SIGNER, digest: sha256Hex(app.read('plugins/good.mjs')) });
  t.match(out.events?.find((e) => e.path === app.path('plugins/bad.mjs')), { decision: 'refused', rule: 'plugins', code: 'ERR_TRUSTLOAD_SIGNATURE' });
  t.match(out.stats, { verified: 2, refused: 1, cacheHits: 1 }, JSON.stringify(out.stats));
});

// --- Lockdown -------------------------------------------------------------------------------

// A strict-mode ESM file trying every way lockdown forbids; prints `RESULT {json}` of what threw.
const LOCKDOWN_PROBE = `
import module, { registerHooks } from 'node:module';
import { createRequire } from 'node:module';
const require = createRequire(import.meta.url);
const out = {};
try {
  await import('./plugins/first.mjs');
  out.first = 'loaded';
} catch (err) {
  out.first = err.code;
}
// Without lockdown every attempt succeeds: put the loader back after each so the probe can go on.
const saved = { js: module._extensions['.js'], compile: module.prototype._compile };
const restore = () => {
  try { module._extensions['.js'] = saved.js; } catch {}
  try { module.prototype._compile = saved.compile; } catch {}
  try { delete module._extensions['.evil']; } catch {}
};
const attempt = (name, fn) => {
  try {
    fn();
    out[name] = 'allowed';
  } catch (err) {
    out[name] = err.code ?? err.name;
  }
  restore();
};
const identity = (specifier, context, next) => next(specifier, context);
attempt('module.registerHooks', () => module.registerHooks({ resolve: identity }));
attempt('named registerHooks', () => registerHooks({ resolve: identity }));
attempt('module.register', () => module.register('data:text/javascript,export {}'));
attempt("Module._extensions['.js'] =", () => { module._extensions['.js'] = () => {}; });
attempt("require.extensions['.js'] =", () => { require.extensions['.js'] = () => {}; });
attempt("require('module')._extensions['.js'] =", () => { require('module')._extensions['.js'] = () => {}; });
attempt("Module._extensions['.evil'] =", () => { module._extensions['.evil'] = () => {}; });
attempt("delete Module._extensions['.js']", () => { delete module._extensions['.js']; });
attempt('Module.prototype._compile =', () => { module.prototype._compile = () => {}; });
attempt('defineProperty(module, registerHooks)', () => Object.defineProperty(module, 'registerHooks', { value: () => {} }));
out.loaderStillWorks = typeof module._extensions['.js'];
try {
  await import('./plugins/good.mjs');
  out.signed = 'loaded';
} catch (err) {
  out.signed = err.code;
}
try {
  await import('./plugins/bad.mjs');
  out.tampered = 'loaded';
} catch (err) {
  out.tampered = err.code;
}
console.log('RESULT ' + JSON.stringify(out));
`;

function lockdownApp(t, lockdown) {
  const app = makeApp(t, {
    lockdown,
    files: {
      'probe.mjs': LOCKDOWN_PROBE,
      'plugins/first.mjs': "console.log('FIRST:SIGNED');\n",
      'plugins/good.mjs': "console.log('GOOD:SIGNED');\n",
      'plugins/bad.mjs': "console.log('BAD:SIGNED');\n",
    },
    sign: ['plugins/first.mjs', 'plugins/good.mjs', 'plugins/bad.mjs'],
  });
  app.tamper('plugins/bad.mjs');
  return app;
}

const lockdownResult = (t, r) => {
  t.notOk(r.timedOut, 'finished in time');
  t.equal(r.code, 0, `exits 0\n${r.stderr}`);
  const line = r.stdout.split('\n').find((l) => l.startsWith('RESULT '));
  t.ok(line, r.stdout);
  return JSON.parse(line?.slice('RESULT '.length) ?? '{}');
};

t.test('lockdown: true locks the loader after the guard starts', async (t) => {
  const app = lockdownApp(t, true);
  const out = lockdownResult(t, await runNode(app.dir, ['probe.mjs'], { timeout: 20_000 }));
  for (const name of [
    'module.registerHooks',
    'named registerHooks',
    'module.register',
    "Module._extensions['.js'] =",
    "require.extensions['.js'] =",
    "require('module')._extensions['.js'] =",
    'Module.prototype._compile =',
  ]) {
    t.equal(out[name], 'ERR_TRUSTLOAD_UNSUPPORTED_LOAD', `${name} throws ERR_TRUSTLOAD_UNSUPPORTED_LOAD`);
  }
  // Adding or deleting an extension, or redefining a locked property, is a TypeError of the frozen objects.
  for (const name of ["Module._extensions['.evil'] =", "delete Module._extensions['.js']", 'defineProperty(module, registerHooks)']) {
    t.not(out[name], 'allowed', `${name} throws (${out[name]})`);
  }
  t.equal(out.first, 'loaded', 'a signed plugin loads under lockdown');
  t.equal(out.loaderStillWorks, 'function', 'the loader itself still works');
  t.equal(out.signed, 'loaded', 'a signed plugin still loads');
  t.equal(out.tampered, 'ERR_TRUSTLOAD_SIGNATURE', 'a tampered plugin is still refused');
});

t.test('without lockdown the same calls are allowed (the probe is sound)', async (t) => {
  const app = lockdownApp(t, undefined);
  const out = lockdownResult(t, await runNode(app.dir, ['probe.mjs'], { timeout: 20_000 }));
  for (const name of ['module.registerHooks', "Module._extensions['.js'] =", 'Module.prototype._compile =', "Module._extensions['.evil'] ="]) {
    t.equal(out[name], 'allowed', name);
  }
  t.equal(out.signed, 'loaded', 'a signed plugin loads');
  t.equal(out.tampered, 'ERR_TRUSTLOAD_SIGNATURE', 'the guard still refuses the tampered plugin');
});

// A host that uses the API before register() must still get the hooks.
t.test('register() after verifyFile() still installs the hooks', async (t) => {
  const app = makeApp(t, {
    files: {
      'plugins/ok.mjs': "console.log('OK_RAN');\n",
      'plugins/p.mjs': "console.log('SIGNED_RAN');\n",
      'host.mjs': `import { register, verifyFile } from ${JSON.stringify(INDEX)};\nverifyFile('./plugins/ok.mjs');\nregister();\nconsole.log('REGISTERED');\nawait import('./plugins/p.mjs');\n`,
    },
    sign: ['plugins/ok.mjs', 'plugins/p.mjs'],
  });
  app.tamper('plugins/p.mjs', 'SIGNED', 'SIGNEX');
  const run = await runNode(app.dir, ['host.mjs'], { guard: false, env: { TRUSTLOAD_POLICY: app.policyPath } });
  t.match(run.stdout, /REGISTERED/, 'the API call and register() both went through');
  t.not(run.code, 0, 'the tampered plugin is refused');
  t.match(run.stderr, /^trustload: ERR_TRUSTLOAD_SIGNATURE: .*plugins\/p\.mjs/, 'by the hooks');
  t.notMatch(run.stdout, /SIGNEX_RAN/, 'and never runs');
});
