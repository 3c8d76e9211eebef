// `trustload sign --package` signs the files `npm pack` publishes. Here
// packageFiles() is held to exactly the list a real `npm pack --dry-run
// --json` prints for a dozen package layouts, and wouldPublish() to whether
// npm pack publishes a manifest bundle once one is written.
import { execFile } from 'node:child_process';
import { cpSync, mkdirSync, mkdtempSync, realpathSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { build } from 'esbuild';
import t from 'tap';
import { ROOT } from './helpers/app.mjs';
import { pool } from './helpers/cli.mjs';

const BUNDLE = 'manifest.sigstore.json';

// src/sign is not an entry of dist/ of its own: bundle it for this test as the build would.
const built = realpathSync(mkdtempSync(join(tmpdir(), 'trustload-packlist-build-')));
t.teardown(() => rmSync(built, { recursive: true, force: true }));
await build({
  entryPoints: [join(ROOT, 'src/sign/package-files.ts')],
  outfile: join(built, 'package-files.mjs'),
  bundle: true,
  format: 'esm',
  platform: 'node',
  target: 'node22',
  banner: { js: "import { createRequire as __createRequire } from 'node:module'; const require = __createRequire(import.meta.url);" },
  logLevel: 'warning',
});
const { packageFiles, wouldPublish } = await import(join(built, 'package-files.mjs'));

const npmCache = join(built, 'npm-cache');

/** The paths a real `npm pack --dry-run --json` lists in `dir` (offline, no scripts, no user config). */
function npmPack(dir) {
  return new Promise((resolve, reject) => {
    const args = ['pack', '--dry-run', '--json', '--offline', '--ignore-scripts', '--cache', npmCache, '--userconfig', join(built, 'no-npmrc')];
    execFile('npm', args, { cwd: dir, encoding: 'utf8', maxBuffer: 1 << 24 }, (error, stdout, stderr) => {
      if (error) return reject(new Error(`npm pack failed in ${dir}: ${stderr}`));
      resolve(JSON.parse(stdout)[0].files.map((file) => file.path).sort());
    });
  });
}

/** A package folder: `files` maps relative paths to contents (a trailing "/" makes an empty folder; { link } a symlink). */
function makePackage(files) {
  const dir = realpathSync(mkdtempSync(join(tmpdir(), 'trustload-packlist-')));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  for (const [rel, content] of Object.entries(files)) {
    const path = join(dir, rel);
    if (rel.endsWith('/')) {
      mkdirSync(path, { recursive: true });
      continue;
    }
    mkdirSync(dirname(path), { recursive: true });
    if (typeof content === 'object' && content !== null && 'link' in content) symlinkSync(content.link, path);
    else writeFileSync(path, typeof content === 'string' ? content : `${JSON.stringify(content, null, 2)}\n`);
  }
  return dir;
}

const pkg = (fields = {}) => ({ name: 'demo-plugin', version: '1.0.0', ...fields });

const LAYOUTS = {
  'a files list with globs, negations, ./ and trailing slashes, and an entry that matches nothing': {
    'package.json': pkg({ files: ['lib/**/*.js', '!lib/internal/**', './dist/', '/types', 'docs/*.md', '!docs/draft.md', 'missing-entry'] }),
    'lib/a.js': '', 'lib/a.ts': '', 'lib/deep/b.js': '', 'lib/internal/secret.js': '',
    'dist/index.js': '', 'dist/sub/x.map': '', 'types/index.d.ts': '',
    'docs/guide.md': '', 'docs/draft.md': '', 'docs/img.png': '', 'src/a.ts': '',
  },
  'a files list naming one file in a folder, and a folder pattern': {
    'package.json': pkg({ files: ['lib/only.js', 'assets/*', '*.json'] }),
    'lib/only.js': '', 'lib/other.js': '', 'assets/a.png': '', 'assets/sub/b.png': '', 'tsconfig.json': '{}', 'sub/c.json': '{}',
  },
  '.npmignore at the root and below, with negations': {
    'package.json': pkg(),
    '.npmignore': 'test/\n*.log\n!keep.log\n/build\n',
    'index.js': '', 'debug.log': '', 'keep.log': '', 'test/t.js': '', 'build/out.js': '', 'src/build/kept.js': '',
    'src/.npmignore': 'private.js\n', 'src/private.js': '', 'src/public.js': '',
  },
  '.gitignore only, at the root and below': {
    'package.json': pkg(),
    '.gitignore': 'node_modules\ncoverage/\n*.tmp\n',
    'index.js': '', 'coverage/lcov.info': '', 'a.tmp': '', 'lib/b.tmp': '', 'lib/c.js': '',
    'lib/.gitignore': 'generated.js\n', 'lib/generated.js': '',
  },
  '.npmignore beside .gitignore: .npmignore wins': {
    'package.json': pkg(),
    '.gitignore': 'dist/\n', '.npmignore': 'src/\n',
    'dist/index.js': '', 'src/index.ts': '', 'README': '',
  },
  'a nested package.json is a plain file: its files list and ignore rules are not its own package': {
    'package.json': pkg({ files: ['packages'] }),
    'packages/inner/package.json': { name: 'inner', version: '1.0.0', files: ['only.js'] },
    'packages/inner/only.js': '', 'packages/inner/other.js': '', 'packages/inner/README.md': '',
  },
  'main, browser and bin outside the files list, bin as an object with ./ and .. paths': {
    'package.json': pkg({ files: ['lib'], main: 'index.js', browser: 'browser.js', bin: { tool: './bin/tool.js', other: '../../etc/other.js' } }),
    'lib/a.js': '', 'index.js': '', 'browser.js': '', 'bin/tool.js': '', 'bin/unlisted.js': '', 'etc/other.js': '', 'other.js': '',
  },
  'bin as a string and directories.bin': {
    'package.json': pkg({ files: ['lib'], bin: 'cli.js', directories: { bin: './scripts' } }),
    'lib/a.js': '', 'cli.js': '', 'scripts/run.js': '',
  },
  'directories.bin without bin, with dot files and a subfolder': {
    'package.json': pkg({ files: ['lib'], directories: { bin: 'scripts' } }),
    'lib/a.js': '', 'scripts/run.js': '', 'scripts/.hidden.js': '', 'scripts/sub/deep.js': '', 'other.js': '',
  },
  'README, LICENSE, LICENCE and COPYING are always included, in any case and with extensions': {
    'package.json': pkg({ files: ['lib'] }),
    'lib/a.js': '', 'readme.markdown': '', 'LICENSE-MIT': '', 'Licence.txt': '', 'COPYING': '', 'CHANGELOG.md': '',
    'README.md~': '', 'docs/README.md': '', 'license/notice.txt': '',
  },
  'node_modules, .npmrc and lock files at the root and below': {
    'package.json': pkg(),
    'index.js': '', 'node_modules/dep/index.js': '', 'node_modules/dep/package.json': '{"name":"dep","version":"1.0.0"}',
    'lib/node_modules/x.js': '', '.npmrc': '# no settings\n', 'lib/.npmrc': '', 'package-lock.json': '{}', 'lib/package-lock.json': '{}',
    'yarn.lock': '', 'pnpm-lock.yaml': '', 'lib/yarn.lock': '',
  },
  'dot files, editor and system leftovers, version-control folders': {
    'package.json': pkg(),
    'index.js': '', '.eslintrc.json': '{}', '.env': '', '.github/workflows/ci.yml': '', '.DS_Store': '', 'lib/.DS_Store': '',
    '._index.js': '', '.index.js.swp': '', 'index.js.orig': '', 'npm-debug.log': '', '.git/HEAD': '', 'lib/.git': '', 'lib/.svn/entries': '',
    'CVS/Root': '', '.hg/store': '', 'build/config.gypi': '', 'build/keep.gypi': '', 'archived-packages/old.tgz': '', '.lock-wscript': '',
  },
  'an empty folder, a folder of ignored files, and symlinks': {
    'package.json': pkg(),
    'index.js': '', 'empty/': '', 'ignored/.DS_Store': '', 'real/a.js': '',
    'link-to-file.js': { link: 'index.js' }, 'link-to-dir': { link: 'real' }, 'dangling.js': { link: 'nowhere.js' },
  },
  'a files list that names ignore files and a manifest bundle pattern': {
    'package.json': pkg({ files: ['lib', '.npmignore', '*.sigstore.json'] }),
    '.npmignore': 'lib/x.js\n', 'lib/x.js': '', 'lib/y.js': '', 'lib/.npmignore': 'y.js\n', 'index.sigstore.json': '{}',
  },
};

t.test('packageFiles lists exactly what npm pack publishes', async (t) => {
  const names = Object.keys(LAYOUTS);
  const results = await pool(names, 2, async (name) => {
    const dir = makePackage(LAYOUTS[name]);
    const [ours, npms] = await Promise.all([packageFiles(dir), npmPack(dir)]);
    return { name, ours, npms };
  });
  for (const { name, ours, npms } of results) t.same(ours, npms, name);
});

t.test('wouldPublish answers, before the bundle exists, what npm pack does once it does', async (t) => {
  const layouts = {
    ...LAYOUTS,
    'no files list': { 'package.json': pkg(), 'index.js': '' },
    'a files list without the bundle': { 'package.json': pkg({ files: ['lib'] }), 'lib/a.js': '' },
    'a files list naming the bundle': { 'package.json': pkg({ files: ['lib', BUNDLE] }), 'lib/a.js': '' },
    'a files list with *.json': { 'package.json': pkg({ files: ['lib', '*.json'] }), 'lib/a.js': '' },
    'a files list whose negation drops the bundle': { 'package.json': pkg({ files: ['*', `!${BUNDLE}`] }), 'lib/a.js': '' },
    '.npmignore that drops *.sigstore.json': { 'package.json': pkg(), '.npmignore': '*.sigstore.json\n', 'index.js': '' },
    '.gitignore that drops *.json, .npmignore that does not': { 'package.json': pkg(), '.gitignore': '*.json\n', '.npmignore': 'test\n', 'index.js': '' },
  };
  const names = Object.keys(layouts);
  const results = await pool(names, 2, async (name) => {
    const dir = makePackage(layouts[name]);
    const predicted = await wouldPublish(dir, BUNDLE);
    writeFileSync(join(dir, BUNDLE), '{}\n');
    const published = (await npmPack(dir)).includes(BUNDLE);
    return { name, predicted, published };
  });
  for (const { name, predicted, published } of results) t.equal(predicted, published, `${name}: npm pack ${published ? 'publishes' : 'leaves out'} ${BUNDLE}`);
  t.ok(results.find((r) => r.name === 'a files list naming the bundle').predicted, 'included when "files" names it');
  t.notOk(results.find((r) => r.name === 'a files list without the bundle').predicted, 'left out when "files" does not');
});

t.test('wouldPublish for a bundle in a subfolder follows that folder\'s ignore files', async (t) => {
  const dir = makePackage({ 'package.json': pkg(), 'models/.npmignore': '*.sigstore.json\n', 'models/w.bin': '', 'plugins/p.js': '' });
  t.equal(await wouldPublish(dir, `models/${BUNDLE}`), false, 'models/.npmignore drops it');
  t.equal(await wouldPublish(dir, `plugins/${BUNDLE}`), true, 'plugins/ has no ignore file');
  t.equal(await wouldPublish(dir, `new-folder/${BUNDLE}`), true, 'a folder that does not exist yet');
  const linked = makePackage({ 'package.json': pkg(), 'real/p.js': '', 'linked': { link: 'real' } });
  t.equal(await wouldPublish(linked, `linked/${BUNDLE}`), false, 'npm pack never walks into a linked folder');
  for (const bad of ['', '/etc/passwd', '../x.json', 'a/../b.json', './x.json', 'a//b.json', 'a\\b.json']) {
    await t.rejects(wouldPublish(dir, bad), { name: 'TrustloadError', code: 'ERR_TRUSTLOAD_UNSUPPORTED_LOAD' }, `refuses ${JSON.stringify(bad)}`);
  }
});

t.test('what --package cannot sign exactly is refused, naming the way out', async (t) => {
  const cases = {
    bundleDependencies: pkg({ dependencies: { dep: '1' }, bundleDependencies: ['dep'] }),
    'bundledDependencies (the old spelling)': pkg({ dependencies: { dep: '1' }, bundledDependencies: ['dep'] }),
    'bundleDependencies: true': pkg({ dependencies: { dep: '1' }, bundleDependencies: true }),
    workspaces: pkg({ workspaces: ['packages/*'] }),
  };
  for (const [name, manifest] of Object.entries(cases)) {
    const dir = makePackage({ 'package.json': manifest, 'index.js': '' });
    await t.rejects(packageFiles(dir), { code: 'ERR_TRUSTLOAD_UNSUPPORTED_LOAD', message: /does not support it: sign the directory instead/ }, name);
    await t.rejects(wouldPublish(dir, BUNDLE), { code: 'ERR_TRUSTLOAD_UNSUPPORTED_LOAD' }, `${name} (wouldPublish)`);
  }
  for (const empty of [pkg({ bundleDependencies: [] }), pkg({ bundleDependencies: true }), pkg({ bundleDependencies: false })]) {
    const dir = makePackage({ 'package.json': empty, 'index.js': '' });
    t.same(await packageFiles(dir), await npmPack(dir), `nothing to bundle: ${JSON.stringify(empty.bundleDependencies)}`);
  }
  const missing = makePackage({ 'index.js': '' });
  await t.rejects(packageFiles(missing), { code: 'ERR_TRUSTLOAD_MISSING_FILE', message: /package\.json .*does not exist/ }, 'no package.json');
  const invalid = makePackage({ 'package.json': '{"name": "x",', 'index.js': '' });
  await t.rejects(packageFiles(invalid), { code: 'ERR_TRUSTLOAD_UNSUPPORTED_LOAD', message: /not valid JSON/ }, 'invalid JSON');
  const notObject = makePackage({ 'package.json': '[]' });
  await t.rejects(packageFiles(notObject), { code: 'ERR_TRUSTLOAD_UNSUPPORTED_LOAD', message: /not a JSON object/ }, 'not an object');
  const filesString = makePackage({ 'package.json': pkg({ files: 'lib' }) });
  await t.rejects(packageFiles(filesString), { code: 'ERR_TRUSTLOAD_UNSUPPORTED_LOAD', message: /"files" must be an array of strings/ }, '"files" as a string');
});
