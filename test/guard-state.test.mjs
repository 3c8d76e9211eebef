// The guard's own state, end to end: what application code can change in the
// process (Object.prototype, globals it patches while the verifier loads, the
// CommonJS loader's functions and caches) must not change a decision, and
// under "lockdown": true must not make a protected path yield other code.
import { readFileSync } from 'node:fs';
import t from 'tap';
import { INDEX, makeApp, policyObject, pool, PUBLIC_KEY_SHA256, runNode, sha256Hex } from './helpers/app.mjs';

const CONCURRENCY = 3;

const result = (run) => {
  const line = run.stdout.split('\n').find((l) => l.startsWith('RESULT '));
  return line === undefined ? undefined : JSON.parse(line.slice('RESULT '.length));
};

// --- Lockdown: the CommonJS loader ------------------------------------------------------------

// plugins/good.cjs is signed; evil.cjs (no rule covers it) is what each bypass tries to put in its place.
const GOOD_CJS = "module.exports = { who: 'signed' };\n";
const EVIL_CJS = "console.log('EVIL_RAN');\nmodule.exports = { who: 'evil' };\n";

// Each case is the body of main.cjs before it requires the signed plugin twice (GOOD is its path).
// `before` runs first; `between` runs after the first require. Whatever they do, under lockdown a
// require of GOOD yields the signed module or throws: never evil.cjs, never another object.
const LOCKDOWN_CASES = {
  'Module.wrap replaced': {
    before: "const wrap = Module.wrap; Module.wrap = (src) => wrap(\"module.exports = { who: 'evil' }; return;\\n\" + src);",
  },
  'Module.wrapper edited': {
    before: "Module.wrapper[0] = Module.wrapper[0] + \"module.exports = { who: 'evil' }; return;\";",
  },
  'Module.wrapper element made a getter': {
    before: "const w0 = Module.wrapper[0]; let reads = 0; Object.defineProperty(Module.wrapper, 0, { get: () => (reads++ < 1 ? w0 : w0 + \"module.exports = { who: 'evil' }; return;\"), configurable: true });",
  },
  'Module.prototype.load replaced': {
    before: "const load = Module.prototype.load; Module.prototype.load = function (f) { if (f === GOOD) { this.exports = require('./evil.cjs'); this.loaded = true; return; } return load.call(this, f); };",
  },
  'Module._load replaced': {
    before: "const load = Module._load; Module._load = function (r, ...rest) { return r.includes('good') ? load.call(this, './evil.cjs', ...rest) : load.call(this, r, ...rest); };",
  },
  'Module.prototype.require replaced': {
    before: "const req = Module.prototype.require; Module.prototype.require = function (id) { return req.call(this, id.includes('good') ? './evil.cjs' : id); };",
  },
  'Module._resolveFilename replaced': {
    before: "const res = Module._resolveFilename; Module._resolveFilename = function (r, ...rest) { return res.call(this, r.includes('good') ? './evil.cjs' : r, ...rest); };",
  },
  'Module._findPath replaced': {
    before: "const find = Module._findPath; Module._findPath = function (r, ...rest) { return find.call(this, r.includes('good') ? EVIL : r, ...rest); };",
  },
  'Module._extensions replaced': {
    before: "const js = Module._extensions['.js']; Module._extensions = { __proto__: null, '.js': (m, f) => js(m, f === GOOD ? EVIL : f), '.json': Module._extensions['.json'], '.node': Module._extensions['.node'] };",
  },
  'Module._cache replaced': {
    before: "const evil = new Module(GOOD); evil.exports = { who: 'evil' }; evil.loaded = true; Module._cache = { __proto__: null, [GOOD]: evil };",
  },
  'require.cache planted with a plain object before the load': {
    before: "require.cache[GOOD] = { id: GOOD, filename: GOOD, loaded: true, exports: { who: 'evil' } };",
  },
  'require.cache planted with a loaded Module before the load': {
    before: "const m = new Module(GOOD); m.filename = GOOD; m.exports = { who: 'evil' }; m.loaded = true; require.cache[GOOD] = m;",
  },
  'require.cache planted with a fresh Module before the load': {
    before: "const m = new Module(GOOD); require.cache[GOOD] = m; m.exports = { who: 'evil' };",
  },
  'require.cache planted through defineProperty': {
    before: "Object.defineProperty(require.cache, GOOD, { value: { loaded: true, exports: { who: 'evil' } }, configurable: true, enumerable: true });",
  },
  'require.cache given a prototype holding the entry': {
    before: "Object.setPrototypeOf(require.cache, { [GOOD]: { loaded: true, exports: { who: 'evil' } } });",
  },
  'require.cache entry replaced after the load': {
    between: "const m = new Module(GOOD); m.filename = GOOD; m.exports = { who: 'evil' }; m.loaded = true; require.cache[GOOD] = m;",
  },
  'require.cache entry exports reassigned after the load': {
    between: "require.cache[GOOD].exports = { who: 'evil' };",
  },
  'require.cache entry deleted and replanted after the load': {
    between: "delete require.cache[GOOD]; require.cache[GOOD] = { loaded: true, exports: { who: 'evil' } };",
  },
  'Module instance _compile shadowed while it loads': {
    before:
      "require('node:diagnostics_channel').subscribe('trustload:decision', (d) => { const m = require.cache[d.path]; if (d.path === GOOD && m) { try { m._compile = function (c, f, fmt) { return Module.prototype._compile.call(this, \"module.exports = { who: 'evil' }\", f, fmt); }; } catch {} } });",
  },
  'Module.prototype._compile called with a string for the protected path': {
    before: "const m = new Module(GOOD); try { m._compile(\"module.exports = { who: 'evil' }\", GOOD); } catch {} require.cache[GOOD] = m;",
  },
  'import() after require.cache planting': {
    before: "require.cache[GOOD] = { id: GOOD, filename: GOOD, loaded: true, exports: { who: 'evil' } };",
    viaImport: true,
  },
};

function lockdownMain({ before = '', between = '', viaImport = false }) {
  const load = viaImport ? '(await import(GOOD)).default' : 'require(GOOD)';
  return `const Module = require('node:module');
const path = require('node:path');
const GOOD = path.join(__dirname, 'plugins', 'good.cjs');
const EVIL = path.join(__dirname, 'evil.cjs');
const out = { attempts: [] };
const attempt = (label, fn) => { try { fn(); out.attempts.push(label + ':allowed'); } catch (err) { out.attempts.push(label + ':' + (err.code ?? err.name)); } };
const get = async () => { try { return (${load}).who; } catch (err) { return err.code ?? err.message; } };
(async () => {
  attempt('before', () => { ${before} });
  out.first = await get();
  attempt('between', () => { ${between} });
  out.second = await get();
  console.log('RESULT ' + JSON.stringify(out));
})();
`;
}

t.test('lockdown: no change to the CommonJS loader makes a protected path yield other code', async (t) => {
  const names = Object.keys(LOCKDOWN_CASES);
  const runs = await pool(names, CONCURRENCY, async (name) => {
    const app = makeApp(t, {
      lockdown: true,
      files: { 'main.cjs': lockdownMain(LOCKDOWN_CASES[name]), 'plugins/good.cjs': GOOD_CJS, 'evil.cjs': EVIL_CJS },
      sign: ['plugins/good.cjs'],
    });
    return runNode(app.dir, ['main.cjs']);
  });
  names.forEach((name, i) => {
    t.test(name, async (t) => {
      const run = runs[i];
      const out = result(run);
      t.ok(out, `the probe finished\n--- stdout:\n${run.stdout}\n--- stderr:\n${run.stderr}`);
      t.notMatch(run.stdout, /EVIL_RAN/, 'evil.cjs never ran');
      for (const key of ['first', 'second']) {
        t.ok(out?.[key] === 'signed' || /^ERR_TRUSTLOAD_/.test(out?.[key] ?? ''), `${key} require: the signed module or a refusal (${out?.[key]}; ${out?.attempts})`);
      }
    });
  });
});

t.test('lockdown keeps ordinary CommonJS use working', async (t) => {
  const app = makeApp(t, {
    lockdown: true,
    files: {
      'main.mjs': `import { createRequire } from 'node:module';
import fromImport from './plugins/a.cjs';
const require = createRequire(import.meta.url);
const out = {};
out.same = require('./plugins/a.cjs') === fromImport;
out.cycle = require('./plugins/a.cjs').cycle;
out.esm = require('./plugins/e.mjs').e;
delete require.cache[require.resolve('./plugins/a.cjs')];
out.reloaded = require('./plugins/a.cjs').who;
out.unprotected = require('./lib/u.cjs').u;
require.cache[require.resolve('./lib/u.cjs')].exports = { u: 'mine' };
out.unprotectedCache = require('./lib/u.cjs').u;
console.log('RESULT ' + JSON.stringify(out));
`,
      'plugins/a.cjs': "exports.who = 'signed'; exports.cycle = require('./b.cjs').seen;\n",
      'plugins/b.cjs': "exports.seen = require('./a.cjs').who;\n",
      'plugins/e.mjs': "export const e = 'esm';\n",
      'lib/u.cjs': "exports.u = 'lib';\n",
    },
    sign: ['plugins/a.cjs', 'plugins/b.cjs', 'plugins/e.mjs'],
  });
  const run = await runNode(app.dir, ['main.mjs']);
  t.equal(run.code, 0, run.stderr);
  t.same(result(run), { same: true, cycle: 'signed', esm: 'esm', reloaded: 'signed', unprotected: 'lib', unprotectedCache: 'mine' });
});


// --- The window while the verifier loads ----------------------------------------------------

// Globals the verifier's code calls while it is evaluated (found by patching them and logging
// which ran during the first protected load). The patched one, on its first call after the app
// asks for a signed plugin, requires a tampered plugin: it must be refused, then and later.
const WINDOW_GLOBALS = ['process.getBuiltinModule', 'Object.defineProperty', 'Object.freeze', 'Array.isArray', 'Buffer.from', 'Function.prototype.bind'];

function windowMain(global) {
  const dot = global.lastIndexOf('.');
  return `const out = {};
let armed = false;
const owner = ${global.slice(0, dot)};
const original = owner[${JSON.stringify(global.slice(dot + 1))}];
owner[${JSON.stringify(global.slice(dot + 1))}] = function (...args) {
  if (armed) {
    armed = false;
    try { out.inside = require('./plugins/bad.cjs').who; } catch (err) { out.inside = err.code ?? err.message; }
    try { out.unprotectedInside = require('./lib/plain.cjs').who; } catch (err) { out.unprotectedInside = err.code ?? err.message; }
  }
  return original.apply(this, args);
};
armed = true;
try { out.good = require('./plugins/good.cjs').who; } catch (err) { out.good = err.code ?? err.message; }
armed = false;
try { out.badLater = require('./plugins/bad.cjs').who; } catch (err) { out.badLater = err.code ?? err.message; }
console.log('RESULT ' + JSON.stringify(out));
`;
}

t.test('while the verifier loads, only its own files stand aside', async (t) => {
  const runs = await pool(WINDOW_GLOBALS, CONCURRENCY, async (global) => {
    const app = makeApp(t, {
      files: {
        'main.cjs': windowMain(global),
        'plugins/good.cjs': GOOD_CJS,
        'plugins/bad.cjs': "console.log('BAD_RAN');\nmodule.exports = { who: 'SIGNED' };\n",
        'lib/plain.cjs': "module.exports = { who: 'plain' };\n",
      },
      sign: ['plugins/good.cjs', 'plugins/bad.cjs'],
    });
    app.tamper('plugins/bad.cjs');
    return runNode(app.dir, ['main.cjs']);
  });
  WINDOW_GLOBALS.forEach((global, i) => {
    t.test(global, async (t) => {
      const run = runs[i];
      const out = result(run);
      t.ok(out, `the probe finished\n--- stdout:\n${run.stdout}\n--- stderr:\n${run.stderr}`);
      t.notMatch(run.stdout, /BAD_RAN/, 'the tampered plugin never ran');
      t.match(out?.inside, /^ERR_TRUSTLOAD_/, `refused inside the window (${out?.inside})`);
      t.match(out?.badLater, /^ERR_TRUSTLOAD_/, `and after it: no cache was poisoned (${out?.badLater})`);
      t.equal(out?.good, 'signed', 'the signed plugin loads');
    });
  });
});

// --- Prototype pollution --------------------------------------------------------------------

const IDENTITY = 'https://github.com/acme/plugins/.github/workflows/release.yml@refs/heads/main';
const ISSUER = 'https://token.actions.githubusercontent.com';
const CLAIM_NAMES = ['buildSignerURI', 'buildSignerDigest', 'runnerEnvironment', 'sourceRepositoryURI', 'sourceRepositoryDigest', 'sourceRepositoryRef',
  'sourceRepositoryIdentifier', 'sourceRepositoryOwnerURI', 'sourceRepositoryOwnerIdentifier', 'buildConfigURI', 'buildConfigDigest', 'buildTrigger',
  'runInvocationURI', 'sourceRepositoryVisibilityAtSigning'];
const NEVER = 'https://example.com/never';

// Every policy field, every option trustload passes to a library, every variable it reads: each set
// on Object.prototype to what would loosen a decision if it were read from there.
const POLLUTION = {
  version: 1, baseDir: '/', mode: 'permissive', allowPermissive: true, lockdown: false, unmatched: 'allow',
  trust: {}, roots: ['private', 'sigstore-public-good'], keys: {}, sha256: '0'.repeat(64), pem: '',
  signers: {}, key: 'release', transparencyLog: false, issuer: ISSUER, identity: IDENTITY, identityPattern: '^.*$', claims: {},
  ...Object.fromEntries(CLAIM_NAMES.map((name) => [name, NEVER])),
  rules: [], name: 'plugins', files: '**', bundle: 'model.sig',
  ctlogThreshold: 0, tlogThreshold: 0, timestampThreshold: 0, tsaThreshold: 0, format: 'der', type: 'spki', passphrase: 'x',
  TRUSTLOAD_POLICY: '/nonexistent/policy.json', TRUSTLOAD_POLICY_SHA256: '0'.repeat(64), TRUSTLOAD_MODE: 'permissive', NODE_OPTIONS: '', NODE_PRESERVE_SYMLINKS: '1',
};

const FIXTURES = new URL('../fixtures/', import.meta.url);
const fixtureBytes = (rel) => readFileSync(new URL(rel, FIXTURES));

function pollutionApp(t, main) {
  const policy = policyObject({
    rules: [
      { name: 'plugins', files: 'plugins/**', signers: ['offline'] },
      { name: 'needs-log', files: 'logged/**', signers: ['logged'] },
      { name: 'pattern', files: 'pattern/**', signers: ['pattern'] },
      { name: 'claims', files: 'claimed/**', signers: ['claimed'] },
      { name: 'public', files: 'public/**', signers: ['public'] },
    ],
    extra: {
      trust: {
        roots: { private: { path: './private.trusted_root.json', sha256: sha256Hex(fixtureBytes('private/trusted_root.json')) } },
        keys: { release: { path: './keys/p256.pub.pem', sha256: PUBLIC_KEY_SHA256 } },
      },
      signers: {
        offline: { key: 'release', transparencyLog: false },
        logged: { key: 'release' },
        pattern: { roots: ['private'], issuer: ISSUER, identityPattern: '^https://example\\.com/never$' },
        claimed: { roots: ['private'], issuer: ISSUER, identity: IDENTITY, claims: { runInvocationURI: NEVER } },
        public: { issuer: ISSUER, identity: IDENTITY },
      },
    },
  });
  const keyless = { 'hello.txt': fixtureBytes('keyless/hello.txt'), 'hello.txt.sigstore.json': fixtureBytes('keyless/hello.txt.sigstore.json') };
  const files = {
    'main.mjs': main,
    'private.trusted_root.json': fixtureBytes('private/trusted_root.json'),
    'plugins/good.txt': 'SIGNED good\n',
    'plugins/bad.txt': 'SIGNED bad\n',
    // Signed by the policy's key, but with no log entry: the "logged" signer requires one.
    'logged/hello.txt': fixtureBytes('key-p256/hello.txt'),
    'logged/hello.txt.sigstore.json': fixtureBytes('key-p256/hello.txt.sigstore.json'),
  };
  for (const dir of ['pattern', 'claimed', 'public']) for (const [name, bytes] of Object.entries(keyless)) files[`${dir}/${name}`] = bytes;
  const app = makeApp(t, { policy, files, sign: ['plugins/good.txt', 'plugins/bad.txt'] });
  app.tamper('plugins/bad.txt');
  return app;
}

const DECISIONS_MAIN = (pollute) => `import { readVerifiedSync } from ${JSON.stringify(INDEX)};
const pollution = ${JSON.stringify(POLLUTION)};
if (${pollute}) for (const [name, value] of Object.entries(pollution)) Object.prototype[name] = value;
const out = {};
for (const file of ['plugins/good.txt', 'plugins/bad.txt', 'logged/hello.txt', 'pattern/hello.txt', 'claimed/hello.txt', 'public/hello.txt']) {
  try { readVerifiedSync(file); out[file] = 'verified'; } catch (err) { out[file] = err.code ?? err.message; if (process.env.DEBUG_POLLUTION) console.error(err.message); }
}
if (${pollute}) for (const name of Object.keys(pollution)) delete Object.prototype[name];
console.log('RESULT ' + JSON.stringify(out));
`;

t.test('a polluted Object.prototype changes no decision', async (t) => {
  const [clean, polluted] = await pool([false, true], 2, (pollute) => runNode(pollutionApp(t, DECISIONS_MAIN(pollute)).dir, ['main.mjs']));
  const expected = result(clean);
  t.match(expected, {
    'plugins/good.txt': 'verified',
    'plugins/bad.txt': 'ERR_TRUSTLOAD_SIGNATURE',
    'logged/hello.txt': 'ERR_TRUSTLOAD_TLOG',
    'pattern/hello.txt': 'ERR_TRUSTLOAD_UNTRUSTED_SIGNER',
    'claimed/hello.txt': 'ERR_TRUSTLOAD_UNTRUSTED_SIGNER',
    'public/hello.txt': /^ERR_TRUSTLOAD_/,
  }, `the unpolluted decisions\n${clean.stderr}`);
  t.same(result(polluted), expected, `the same decisions with Object.prototype polluted\n${polluted.stderr}`);
});

t.test('the API and register() read no option or variable from a polluted Object.prototype', async (t) => {
  const app = pollutionApp(t, `import { register, verifyFile } from ${JSON.stringify(INDEX)};
Object.prototype.TRUSTLOAD_POLICY = ${JSON.stringify('./evil.policy.json')};
Object.prototype.TRUSTLOAD_MODE = 'permissive';
Object.prototype.policy = './evil.policy.json';
const out = {};
try { verifyFile('plugins/bad.txt'); out.api = 'verified'; } catch (err) { out.api = err.code; }
try { register(); out.register = 'started'; } catch (err) { out.register = err.code; }
try { await import('./plugins/bad.mjs'); out.plugin = 'loaded'; } catch (err) { out.plugin = err.code; }
console.log('RESULT ' + JSON.stringify(out));
`);
  app.write('evil.policy.json', JSON.stringify(policyObject({ rules: [], extra: { mode: 'permissive' } })));
  app.write('plugins/bad.mjs', "console.log('BAD_RAN');\n");
  const run = await runNode(app.dir, ['main.mjs'], { guard: false });
  t.notMatch(run.stdout, /BAD_RAN/, 'the unsigned plugin never ran');
  t.same(result(run), { api: 'ERR_TRUSTLOAD_SIGNATURE', register: 'started', plugin: 'ERR_TRUSTLOAD_NO_BUNDLE' }, run.stderr);
});

// Found by review: trustload's own verifier, planted in require.cache before its first load, answered every
// protected load; and lockdown guarded require.cache only for what a rule's glob names, not its whole folder.
const FAKE_VERIFIER = (file) => `
const Module = require('node:module');
const file = ${JSON.stringify(file)};
const m = new Module(file, null); m.filename = file; m.loaded = true;
m.exports = { createRuleVerifier: () => ({ verify: () => ({ signer: { kind: 'key', key: 'release', signer: 'offline', roots: [] }, digest: '0'.repeat(64) }), cacheHits: () => 0 }) };
require.cache[file] = m;
`;

for (const lockdown of [false, true]) {
  t.test(`a require.cache entry planted for trustload's verifier never stands in for it (lockdown: ${lockdown})`, async (t) => {
    const verifier = INDEX.replace(/index\.js$/, 'verifier.js');
    const app = makeApp(t, {
      lockdown,
      files: {
        'plugins/evil.mjs': "console.log('EVIL_RAN');\n",
        'plugins/evil.mjs.sigstore.json': '{}',
        'node_modules/innocent/index.js': FAKE_VERIFIER(verifier),
        'main.mjs': "import 'innocent';\nawait import('./plugins/evil.mjs');\n",
      },
    });
    const run = await runNode(app.dir, ['main.mjs']);
    t.not(run.code, 0, 'refused');
    t.notMatch(run.stdout, /EVIL_RAN/, 'the unsigned plugin did not run');
    t.match(run.firstLine, /^trustload: ERR_TRUSTLOAD_BAD_BUNDLE: .*plugins\/evil\.mjs/, 'the real verifier judged the bundle');
  });
}

t.test('lockdown guards require.cache for a rule\'s whole folder, not only what its glob names', async (t) => {
  const app = makeApp(t, {
    lockdown: true,
    rules: [{ name: 'plugins', files: 'plugins/**/*.js', signers: ['offline'] }],
    files: {
      'plugins/p/index.cjs': GOOD_CJS,
      'node_modules/innocent/index.js': `
const Module = require('node:module');
const file = require('node:path').join(process.cwd(), 'plugins/p/index.cjs');
const m = new Module(file, null); m.filename = file; m.loaded = true; m.exports = { who: 'evil' };
try { require.cache[file] = m; } catch (err) { console.log('PLANT', err.code); }
`,
      'main.cjs': "require('innocent');\nconsole.log('WHO', require('./plugins/p/index.cjs').who);\n",
    },
    sign: ['plugins/p/index.cjs'],
  });
  const run = await runNode(app.dir, ['main.cjs']);
  t.notMatch(run.stdout, /WHO evil/, 'the planted exports never came back');
  t.match(run.stdout, /PLANT ERR_TRUSTLOAD_UNSUPPORTED_LOAD/, 'the plant was refused');
  t.match(run.stdout, /WHO signed/, 'the signed module loaded');
});

t.test("a patched Module._load answering for trustload's verifier is refused, not trusted", async (t) => {
  const verifier = INDEX.replace(/index\.js$/, 'verifier.js');
  const app = makeApp(t, {
    files: {
      'plugins/evil.mjs': "console.log('EVIL_RAN');\n",
      'plugins/evil.mjs.sigstore.json': '{}',
      'node_modules/innocent/index.js': `
const Module = require('node:module');
const load = Module._load;
const fake = { createRuleVerifier: () => ({ verify: () => ({ signer: { kind: 'key', key: 'release', signer: 'offline', roots: [] }, digest: '0'.repeat(64) }), cacheHits: () => 0 }) };
Module._load = function (request, parent, isMain) {
  return String(request).endsWith('verifier.js') ? fake : load.apply(this, arguments);
};
`,
      'main.mjs': "import 'innocent';\nawait import('./plugins/evil.mjs');\n",
    },
  });
  const run = await runNode(app.dir, ['main.mjs']);
  t.not(run.code, 0, 'refused');
  t.notMatch(run.stdout, /EVIL_RAN/, 'the unsigned plugin did not run');
  t.match(run.firstLine, /^trustload: ERR_TRUSTLOAD_POLICY: .*verifier\.js was not loaded from its verified bytes/);
});

// Found by review: verified bytes were read into Buffer's shared pool, which any code can reach
// (Buffer.allocUnsafe(1).buffer); a decision subscriber rewrote them before Node compiled them.
t.test('verified bytes never sit where other code can rewrite them', async (t) => {
  const SIGNED = "console.log('SIGNED_RAN');";
  const EVIL = "console.log('EVIL___RAN');";
  const app = makeApp(t, {
    lockdown: true,
    files: {
      'plugins/p.js': `${SIGNED}\n`,
      'rewrite.js': `
const dc = require('node:diagnostics_channel');
Buffer.poolSize = 1 << 20;
Buffer.allocUnsafe(1);
const signed = Buffer.from(${JSON.stringify(SIGNED)});
const evil = Buffer.from(${JSON.stringify(EVIL)});
dc.subscribe('trustload:decision', (d) => {
  if (d.decision !== 'verified') return;
  const pool = Buffer.from(Buffer.allocUnsafe(1).buffer);
  for (let i = pool.indexOf(signed); i !== -1; i = pool.indexOf(signed, i + 1)) evil.copy(pool, i);
});
`,
      'main.cjs': "require('./rewrite.js');\nrequire('./plugins/p.js');\n",
      'main.mjs': "import './rewrite.js';\nawait import('./plugins/p.js');\n",
      'read.mjs': `import './rewrite.js';\nimport { readVerifiedSync } from ${JSON.stringify(INDEX)};\nconsole.log(readVerifiedSync('plugins/p.js').toString());\n`,
    },
    sign: ['plugins/p.js'],
  });
  for (const main of ['main.cjs', 'main.mjs', 'read.mjs']) {
    const run = await runNode(app.dir, [main]);
    t.equal(run.code, 0, `${main}: ${run.stderr}`);
    t.notMatch(run.stdout, /EVIL___RAN/, `${main}: the rewritten bytes never ran or came back`);
    t.match(run.stdout, /SIGNED_RAN/, `${main}: the verified bytes did`);
  }
});

// Node 22 runs CommonJS imported from ESM outside Module.prototype.load; under lockdown the guard hands it to
// module.load instead (src/node-features.ts), which must still verify what runs.
t.test('lockdown: CommonJS imported from ESM runs only its verified bytes', async (t) => {
  const app = makeApp(t, {
    lockdown: true,
    files: { 'plugins/good.cjs': GOOD_CJS, 'plugins/bad.cjs': GOOD_CJS, 'main.mjs': "import good from './plugins/good.cjs';\nconsole.log('WHO', good.who);\nawait import('./plugins/bad.cjs');\n" },
    sign: ['plugins/good.cjs', 'plugins/bad.cjs'],
  });
  app.write('plugins/bad.cjs', EVIL_CJS);
  const run = await runNode(app.dir, ['main.mjs']);
  t.match(run.stdout, /WHO signed/, 'the signed module ran');
  t.notMatch(run.stdout, /EVIL_RAN/, 'the tampered one did not');
  t.match(run.firstLine, /^trustload: ERR_TRUSTLOAD_SIGNATURE: .*plugins\/bad\.cjs/);
});
