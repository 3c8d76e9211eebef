// Policy `"watch": true` in real guarded processes that stay alive for a moment:
// a verified plugin changed after it loaded (in place, replaced by rename,
// deleted, its folder moved away) gives one `changed` decision and one warning
// line; files that were not verified and loaded are not watched; the watch
// never keeps the process alive. And stats().byCode after refusals.
import t from 'tap';
import { INDEX, makeApp, runNode, sha256Hex } from './helpers/app.mjs';

const PLUGIN = 'export const name = "plugin a";\n';
const EVIL = 'export const name = "evil a";\n';

// Loads plugins/a.mjs (verified) and lib/helper.mjs (no rule), runs ACTION, then waits:
// until 400 ms after the first `changed` event (a second one would show up then), or
// 1.5 s without any. Its timers end then, so it exits by itself unless a watcher holds it.
const main = (action) => `
import diagnostics from 'node:diagnostics_channel';
import { cpSync, mkdirSync, renameSync, unlinkSync, writeFileSync } from 'node:fs';
const changed = [];
let quiet = setTimeout(done, 1500);
diagnostics.subscribe('trustload:decision', (event) => {
  if (event.decision !== 'changed') return;
  changed.push(event);
  clearTimeout(quiet);
  quiet = setTimeout(done, 400);
});
function done() {
  console.log('RESULT ' + JSON.stringify({ changed }));
}
const { name } = await import('./plugins/a.mjs');
await import('./lib/helper.mjs');
console.log('loaded', name);
${action}
`;

function watchApp(t, action, { watch = true } = {}) {
  return makeApp(t, {
    extra: watch ? { watch: true } : {},
    files: {
      'plugins/a.mjs': PLUGIN,
      'plugins/b.mjs': 'export const name = "plugin b";\n',
      'lib/helper.mjs': 'export const helper = 1;\n',
      'main.mjs': main(action),
    },
    sign: ['plugins/a.mjs', 'plugins/b.mjs'],
  });
}

async function run(t, app) {
  const result = await runNode(app.dir, ['main.mjs'], { timeout: 20_000 });
  t.notOk(result.timedOut, 'the process ended by itself: the watch does not hold it open');
  t.equal(result.code, 0, `exits 0\n--- stderr:\n${result.stderr}`);
  t.match(result.stdout, /^loaded plugin a$/m, 'the verified plugin loaded');
  const line = result.stdout.split('\n').find((l) => l.startsWith('RESULT '));
  return { ...result, changed: line === undefined ? [] : JSON.parse(line.slice('RESULT '.length)).changed };
}

function assertOneChange(t, result, app, digest) {
  const path = app.path('plugins/a.mjs');
  t.equal(result.changed.length, 1, `one changed event: ${JSON.stringify(result.changed)}`);
  const [event] = result.changed;
  t.equal(event?.path, path, 'it names the file');
  t.equal(event?.rule, 'plugins', 'and its rule');
  t.equal(event?.digest, digest, digest === undefined ? 'no digest: the file is gone' : 'and the digest of its bytes now');
  t.equal(typeof event?.ms, 'number', 'ms, as every decision');
  const warnings = result.stderr.split('\n').filter((l) => l.includes('changed after it was verified'));
  t.equal(warnings.length, 1, `one warning line:\n${result.stderr}`);
  t.ok(warnings[0]?.startsWith(`trustload: WARNING: ${path}: rule "plugins": changed after it was verified and loaded (`), warnings[0]);
  t.match(warnings[0], `verified sha256:${sha256Hex(PLUGIN)}`, 'it names the verified digest');
}

t.test('a verified plugin modified in place', async (t) => {
  const app = watchApp(t, `writeFileSync('plugins/a.mjs', ${JSON.stringify(EVIL)});`);
  assertOneChange(t, await run(t, app), app, sha256Hex(EVIL));
});

t.test('a verified plugin replaced by rename (write a temporary file, rename it over)', async (t) => {
  const app = watchApp(t, `writeFileSync('plugins/.a.mjs.tmp', ${JSON.stringify(EVIL)}); renameSync('plugins/.a.mjs.tmp', 'plugins/a.mjs');`);
  assertOneChange(t, await run(t, app), app, sha256Hex(EVIL));
});

t.test('a verified plugin deleted', async (t) => {
  const app = watchApp(t, `unlinkSync('plugins/a.mjs');`);
  const result = await run(t, app);
  assertOneChange(t, result, app, undefined);
  t.match(result.stderr, 'deleted or moved away');
});

t.test("a verified plugin's folder moved away, and a new one put in its place", async (t) => {
  const app = watchApp(t, `renameSync('plugins', 'plugins-old'); mkdirSync('plugins'); writeFileSync('plugins/a.mjs', ${JSON.stringify(EVIL)});`);
  assertOneChange(t, await run(t, app), app, sha256Hex(EVIL));
});

t.test('its folder moved away and an identical copy put in its place: a later change to the copy is still seen', async (t) => {
  const app = watchApp(
    t,
    `renameSync('plugins', 'plugins-old'); cpSync('plugins-old', 'plugins', { recursive: true }); setTimeout(() => writeFileSync('plugins/a.mjs', ${JSON.stringify(EVIL)}), 300);`,
  );
  assertOneChange(t, await run(t, app), app, sha256Hex(EVIL));
});

t.test('rewriting the same bytes, touching the bundle, or writing other files of the folder is no change', async (t) => {
  const app = watchApp(
    t,
    `writeFileSync('plugins/a.mjs', ${JSON.stringify(PLUGIN)}); writeFileSync('plugins/a.mjs.sigstore.json', '{}'); writeFileSync('plugins/b.mjs', 'export const name = "evil b";\\n'); writeFileSync('plugins/c.mjs', 'new');`,
  );
  const result = await run(t, app);
  t.same(result.changed, [], 'no changed event');
  t.equal(result.stderr, '', 'no warning');
});

t.test('an unmatched file is not watched', async (t) => {
  const app = watchApp(t, `writeFileSync('lib/helper.mjs', 'export const helper = 2;\\n');`);
  const result = await run(t, app);
  t.same(result.changed, [], 'no changed event');
  t.equal(result.stderr, '', 'no warning');
});

t.test('without "watch": true nothing is watched', async (t) => {
  const app = watchApp(t, `writeFileSync('plugins/a.mjs', ${JSON.stringify(EVIL)});`, { watch: false });
  const result = await run(t, app);
  t.same(result.changed, [], 'no changed event');
  t.equal(result.stderr, '', 'no warning');
});

t.test('stats().byCode counts refusals by error code', async (t) => {
  const app = makeApp(t, {
    files: {
      'plugins/u1.mjs': 'export default 1;\n',
      'plugins/u2.mjs': 'export default 2;\n',
      'plugins/t.mjs': 'export default "SIGNED";\n',
      'plugins/ok.mjs': 'export default "ok";\n',
      'main.mjs': `
import { stats } from ${JSON.stringify(INDEX)};
for (const file of ['./plugins/u1.mjs', './plugins/u2.mjs', './plugins/t.mjs', './plugins/ok.mjs']) {
  try { await import(file); } catch (err) { if (!err.code?.startsWith('ERR_TRUSTLOAD_')) throw err; }
}
console.log('RESULT ' + JSON.stringify(stats()));
`,
    },
    sign: ['plugins/t.mjs', 'plugins/ok.mjs'],
  });
  app.tamper('plugins/t.mjs');
  const result = await runNode(app.dir, ['main.mjs']);
  t.equal(result.code, 0, result.stderr);
  const stats = JSON.parse(result.stdout.split('\n').find((l) => l.startsWith('RESULT ')).slice('RESULT '.length));
  t.equal(stats.refused, 3, 'three refusals');
  t.equal(stats.verified, 1, 'one verified');
  t.same(stats.byCode, { ERR_TRUSTLOAD_NO_BUNDLE: 2, ERR_TRUSTLOAD_SIGNATURE: 1 }, 'by code');
});
