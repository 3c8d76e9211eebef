// An application that installed trustload as a package (node_modules/trustload, reached by its
// bare name) and denies unmatched loads: trustload's own files load, and only as built.
import { cpSync, appendFileSync } from 'node:fs';
import { join } from 'node:path';
import t from 'tap';
import { assertClean, makeApp, ROOT, runNode } from './helpers/app.mjs';

const ENTRY = { name: 'app', files: '*.mjs', signers: ['offline'] };

function installedApp(t) {
  const app = makeApp(t, {
    rules: [ENTRY],
    unmatched: 'deny',
    files: {
      'main.mjs': "import { verifyFile, stats } from 'trustload';\nverifyFile('./main.mjs');\nconsole.log('API:RAN', typeof stats);\n",
    },
    sign: ['main.mjs'],
  });
  const pkg = app.path('node_modules/trustload');
  for (const name of ['package.json', 'register.mjs', 'dist', 'trust']) cpSync(join(ROOT, name), join(pkg, name), { recursive: true });
  return { app, pkg };
}

t.test('under unmatched: deny, an app imports the API of its installed copy of trustload', async (t) => {
  const { app } = installedApp(t);
  const r = await runNode(app.dir, ['--import', 'trustload/register', 'main.mjs'], { guard: false });
  assertClean(t, r);
  t.equal(r.stdout, 'API:RAN function\n');
});

t.test('a changed file of the installed copy is refused under unmatched: deny', async (t) => {
  const { app, pkg } = installedApp(t);
  appendFileSync(join(pkg, 'dist', 'index.js'), '\nconsole.log("CHANGED:RAN");\n');
  const r = await runNode(app.dir, ['--import', 'trustload/register', 'main.mjs'], { guard: false });
  t.not(r.code, 0, 'the process fails');
  t.match(r.stderr, /ERR_TRUSTLOAD_UNMATCHED/);
  t.match(r.stderr, /index\.js has been modified since it was built/);
  t.notMatch(r.stdout, /CHANGED:RAN|API:RAN/, 'the changed file never ran');
});
