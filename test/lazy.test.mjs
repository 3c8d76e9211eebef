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
