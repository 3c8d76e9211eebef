// Until a protected file is first loaded, the guard does not load the
// Sigstore code: an app whose loads match no rule pays almost nothing. The
// verifier brings node:crypto with it, so whether Node has loaded its crypto
// module shows whether the verifier was loaded.
import t from 'tap';
import { makeApp, runNode } from './helpers/app.mjs';

const PROBE = `
const crypto = () => process.moduleLoadList.some((name) => name === 'NativeModule crypto');
const before = crypto();
await import('./lib/unprotected.mjs');
const afterUnmatched = crypto();
if (process.argv[2] === 'load-plugin') await import('./plugins/p.mjs');
console.log('RESULT ' + JSON.stringify({ before, afterUnmatched, afterPlugin: crypto() }));
`;

const result = (stdout) => JSON.parse(/^RESULT (.*)$/m.exec(stdout)?.[1] ?? 'null');

t.test('loads no rule protects do not load the verifier', async (t) => {
  const app = makeApp(t, { files: { 'main.mjs': PROBE, 'lib/unprotected.mjs': 'export {};', 'plugins/p.mjs': 'export {};' }, sign: ['plugins/p.mjs'] });
  const run = await runNode(app.dir, ['main.mjs']);
  t.equal(run.code, 0, run.stderr);
  t.same(result(run.stdout), { before: false, afterUnmatched: false, afterPlugin: false }, 'node:crypto never loaded');
});

t.test('the first protected load does', async (t) => {
  const app = makeApp(t, { files: { 'main.mjs': PROBE, 'lib/unprotected.mjs': 'export {};', 'plugins/p.mjs': 'export {};' }, sign: ['plugins/p.mjs'] });
  const run = await runNode(app.dir, ['main.mjs', 'load-plugin']);
  t.equal(run.code, 0, run.stderr);
  t.same(result(run.stdout), { before: false, afterUnmatched: false, afterPlugin: true }, 'node:crypto loaded with the verifier');
});

// zod explains a policy that fails validation; a valid one is accepted by the validator generated
// from the schema at build time, and nothing trustload loads before the application runs contains zod.
t.test('a valid policy does not load zod', async (t) => {
  const { readFileSync } = await import('node:fs');
  const { join } = await import('node:path');
  const { ROOT } = await import('./helpers/app.mjs');
  const dist = join(ROOT, 'dist');
  const closure = (file, seen = new Set()) => {
    if (seen.has(file)) return seen;
    seen.add(file);
    for (const [, name] of readFileSync(join(dist, file), 'utf8').matchAll(/\bfrom\s*["']\.\/([^"']+)["']/g)) closure(name, seen);
    return seen;
  };
  for (const entry of ['register.js', 'index.js']) {
    const withZod = [...closure(entry)].filter((file) => readFileSync(join(dist, file), 'utf8').includes('$ZodType'));
    t.same(withZod, [], `dist/${entry} and what it imports statically hold no zod`);
  }
  t.ok(readFileSync(join(dist, 'policy-explain.js'), 'utf8').includes('$ZodType'), 'dist/policy-explain.js does');
});

t.test('a policy object that fails validation is explained, under unmatched: deny, after the hooks are in place', async (t) => {
  const { INDEX, PLUGINS_RULE, policyObject } = await import('./helpers/app.mjs');
  const app = makeApp(t, {
    unmatched: 'deny',
    rules: [PLUGINS_RULE, { name: 'app', files: 'main.mjs', signers: ['offline'] }],
    sign: ['main.mjs'],
    files: {
      'main.mjs': `import { register } from ${JSON.stringify(INDEX)};
try {
  register({ policy: { ...${JSON.stringify(policyObject())}, rules: [{ name: 'x', files: 'plugins/**', signers: ['offline'], bundel: 'b' }] }, baseDir: process.cwd() });
  console.log('ACCEPTED');
} catch (err) {
  console.log('REFUSED ' + err.code + ' ' + err.message);
}
`,
    },
  });
  const run = await runNode(app.dir, ['main.mjs']);
  t.equal(run.code, 0, run.stderr);
  t.match(run.stdout, /^REFUSED ERR_TRUSTLOAD_POLICY policy object: rules\[0\]: unknown key "bundel"/m, 'zod names the field');
});

t.test('a policy file that fails validation stops the process with the field and the problem', async (t) => {
  const { policyObject } = await import('./helpers/app.mjs');
  const app = makeApp(t, { policy: { ...policyObject(), version: 2 }, files: { 'main.mjs': "console.log('APP:STARTED');" } });
  const run = await runNode(app.dir, ['main.mjs']);
  t.equal(run.code, 1);
  t.match(run.stderr, /ERR_TRUSTLOAD_POLICY: .*version: must be 1, not 2/);
  t.notMatch(run.stdout, /APP:STARTED/);
});

t.test('a "$schema" key is accepted', async (t) => {
  const { policyObject } = await import('./helpers/app.mjs');
  const app = makeApp(t, {
    policy: { $schema: './node_modules/trustload/schema/policy.schema.json', ...policyObject() },
    files: { 'main.mjs': "console.log('APP:STARTED');" },
  });
  const run = await runNode(app.dir, ['main.mjs']);
  t.equal(run.code, 0, run.stderr);
  t.match(run.stdout, /APP:STARTED/);
});
