// Mistakes that used to remove protection without a word: a rule whose glob matches
// nothing (a typo), and files a rule protects that `trustload verify` never looked at.
import { rmSync } from 'node:fs';
import t from 'tap';
import { makeApp, policyObject, runNode } from './helpers/app.mjs';
import { runCli } from './helpers/cli.mjs';

const TYPO = { name: 'plugins', files: 'plugin/**', signers: ['offline'] };

function typoApp(t) {
  const app = makeApp(t, {
    rules: [TYPO],
    files: { 'plugins/p.mjs': "console.log('SIGNED');\n", 'main.mjs': "await import('./plugins/p.mjs');\n" },
    sign: ['plugins/p.mjs'],
  });
  rmSync(app.path('plugin'), { recursive: true }); // the helper creates the folders rules name; a typo's does not exist
  app.tamper('plugins/p.mjs');
  return app;
}

t.test('policy check counts the files each rule protects and warns about a rule that protects none', async (t) => {
  const app = typoApp(t);
  const r = await runCli(['policy', 'check', '--policy', app.policyPath]);
  t.equal(r.code, 0, 'a warning keeps exit code 0');
  t.match(r.stderr, `trustload: WARNING: rule "plugins" protects no file: plugin/ does not exist in ${app.dir}; check the glob for a typo`);
  t.match(r.stdout, 'rule "plugins" ("plugin/**"): protects 0 file(s) today');
  const strict = await runCli(['policy', 'check', '--strict', '--policy', app.policyPath]);
  t.equal(strict.code, 2, '--strict makes the warning an error (a policy error: exit 2)');
  t.match(strict.stderr, 'ERR_TRUSTLOAD_POLICY: 1 warning(s), which --strict makes errors');
  const json = JSON.parse((await runCli(['policy', 'check', '--strict', '--json', '--policy', app.policyPath])).stdout);
  t.same(json.rules, [{ name: 'plugins', files: 0 }]);
  t.equal(json.valid, false);

  // The folder exists, but nothing in it matches.
  const named = makeApp(t, { rules: [{ name: 'md', files: 'prompts/*.md', signers: ['offline'] }], files: { 'prompts/a.txt': 'x' } });
  const r2 = await runCli(['policy', 'check', '--policy', named.policyPath]);
  t.match(r2.stderr, `rule "md" protects no file: no file in ${named.dir} matches "prompts/*.md"`);
});

t.test('policy check: each rule counts what it matches first, node_modules included when a rule names it', async (t) => {
  const app = makeApp(t, {
    rules: [
      { name: 'plugins', files: 'plugins/**', signers: ['offline'] },
      { name: 'dep', files: 'node_modules/dep/**', signers: ['offline'] },
      { name: 'docs', files: '**/*.md', signers: ['offline'] },
    ],
    files: { 'plugins/a.mjs': '', 'plugins/b/c.md': '', 'node_modules/dep/index.js': '', 'node_modules/other/x.md': '', 'README.md': '' },
    sign: ['plugins/a.mjs'],
  });
  const r = await runCli(['policy', 'check', '--policy', app.policyPath]);
  t.equal(r.code, 0, r.stderr);
  t.notMatch(r.stderr, /protects no file/);
  t.match(r.stdout, 'rule "plugins" ("plugins/**"): protects 2 file(s) today');
  t.match(r.stdout, 'rule "dep" ("node_modules/dep/**"): protects 1 file(s) today');
  t.match(r.stdout, 'rule "docs" ("**/*.md"): protects 1 file(s) today', 'node_modules is not walked below a folder that does not name it');
});

t.test('at start-up, a rule whose folder does not exist prints one warning line', async (t) => {
  const app = typoApp(t);
  const r = await runNode(app.dir, ['main.mjs']);
  t.equal(r.code, 0, 'the policy allows unmatched loads: the process runs');
  const lines = r.stderr.split('\n').filter(Boolean);
  t.same(lines, [`trustload: WARNING: rule "plugins": folder plugin/ does not exist in ${app.dir}, so the rule protects nothing there (a typo? trustload policy check counts what each rule protects)`]);
  // A worker runs its parent's policy, already checked: still one line.
  app.write('worker.mjs', "console.log('WORKER');\n");
  app.write('workers.mjs', "import { Worker } from 'node:worker_threads';\nnew Worker(new URL('./worker.mjs', import.meta.url)).on('exit', () => console.log('DONE'));\n");
  const withWorker = await runNode(app.dir, ['workers.mjs']);
  t.equal(withWorker.stdout, 'WORKER\nDONE\n', withWorker.stderr);
  t.equal(withWorker.stderr.split('\n').filter(Boolean).length, 1, `one warning line with a worker:\n${withWorker.stderr}`);
  const fine = makeApp(t, { files: { 'plugins/p.mjs': "console.log('SIGNED');\n" }, sign: ['plugins/p.mjs'] });
  const ok = await runNode(fine.dir, ['plugins/p.mjs']);
  t.equal(ok.stderr, '', 'no warning when the folder exists');
});

t.test('a glob that names a folder protects nothing in it: start-up and policy check say what to write', async (t) => {
  const app = makeApp(t, {
    rules: [{ name: 'plugins', files: 'plugins', signers: ['offline'] }],
    files: { 'plugins/p.mjs': "console.log('UNSIGNED');\n" },
  });
  const r = await runNode(app.dir, ['plugins/p.mjs']);
  t.match(r.stderr, 'trustload: WARNING: rule "plugins": "plugins" names a folder, and a glob matches files: it protects nothing in plugins/; write "plugins/**" to protect everything in it');
  const check = await runCli(['policy', 'check', '--strict', '--policy', app.policyPath]);
  t.equal(check.code, 2, '--strict refuses it');
  t.match(check.stderr, 'write "plugins/**"');
});

t.test('verify with no PATH checks every file each rule protects, node_modules/x included, and says how many', async (t) => {
  const app = makeApp(t, {
    policy: policyObject({
      rules: [
        { name: 'plugins', files: 'plugins/**', signers: ['offline'] },
        { name: 'dep', files: 'node_modules/dep/**', signers: ['offline'] },
      ],
    }),
    files: { 'plugins/a.mjs': 'SIGNED a', 'node_modules/dep/index.js': 'SIGNED dep', 'node_modules/loose/index.js': 'not protected', 'app.mjs': 'unprotected' },
    sign: ['plugins/a.mjs', 'node_modules/dep/index.js'],
  });
  const good = await runCli(['verify', '--policy', app.policyPath]);
  t.equal(good.code, 0, good.stderr);
  t.match(good.stdout, `verified   ${app.path('node_modules/dep/index.js')} (rule "dep"`);
  t.match(good.stdout, `verified   ${app.path('plugins/a.mjs')} (rule "plugins"`);
  t.match(good.stdout, /^checked 2 protected: 2 verified, 0 refused$/m);
  t.notMatch(good.stdout, /loose|app\.mjs/);
  app.tamper('node_modules/dep/index.js');
  const bad = await runCli(['verify', '--policy', app.policyPath]);
  t.equal(bad.code, 1, 'the tampered dependency is refused');
  t.match(bad.stderr, `refused    ${app.path('node_modules/dep/index.js')}: ERR_TRUSTLOAD_SIGNATURE`);
  t.match(bad.stdout, /^checked 2 protected: 1 verified, 1 refused$/m);
});
