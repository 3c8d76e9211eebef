// The README's "Quick start" is a promise: these four lines take a new user
// from nothing to a guarded process. This test reads them from the README and
// runs them as written, in a fresh project where trustload is installed
// (linked into node_modules), then shows the guard refusing a changed plugin.
import { execFile } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import t from 'tap';
import { cleanEnv, ROOT } from './helpers/app.mjs';

const README = readFileSync(join(ROOT, 'README.md'), 'utf8');

function quickStartLines() {
  const block = /<!-- quick-start[^>]*-->\n```sh\n([\s\S]*?)\n```/.exec(README);
  if (block === null) throw new Error('README has no quick-start block');
  // A comment after two spaces is the README's note, not part of the command.
  return block[1].split('\n').map((line) => line.replace(/\s+#.*$/, '').trim()).filter(Boolean);
}

function run(cwd, line, env) {
  return new Promise((resolve) => {
    execFile('/bin/sh', ['-c', line], { cwd, env, encoding: 'utf8', timeout: 120_000 }, (error, stdout, stderr) => {
      resolve({ code: error ? (typeof error.code === 'number' ? error.code : -1) : 0, stdout, stderr });
    });
  });
}

function freshProject(t) {
  const dir = mkdtempSync(join(tmpdir(), 'trustload-quick-start-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  mkdirSync(join(dir, 'node_modules', '.bin'), { recursive: true });
  symlinkSync(ROOT, join(dir, 'node_modules', 'trustload'));
  symlinkSync('../trustload/dist/cli.js', join(dir, 'node_modules', '.bin', 'trustload'));
  writeFileSync(join(dir, 'package.json'), JSON.stringify({ name: 'agent', private: true, type: 'module' }));
  mkdirSync(join(dir, 'plugins', 'weather'), { recursive: true });
  writeFileSync(join(dir, 'plugins', 'weather', 'index.js'), "export const forecast = () => 'sunny';\n");
  writeFileSync(join(dir, 'plugins', 'greet.js'), "export const greet = (name) => `hello, ${name}`;\n");
  writeFileSync(
    join(dir, 'agent.js'),
    "const { forecast } = await import('./plugins/weather/index.js');\nconst { greet } = await import('./plugins/greet.js');\nconsole.log(greet('agent'), forecast());\n",
  );
  return dir;
}

t.test('the README quick start, run as written, guards the agent', async (t) => {
  const lines = quickStartLines();
  t.equal(lines.length, 4, 'four commands');
  const dir = freshProject(t);
  // The pinned Node first, as a user's own Node would be; npx finds the installed bin.
  const env = cleanEnv({ PATH: `${dirname(process.execPath)}:${process.env.PATH}`, TRUSTLOAD_KEY_PASSWORD: 'correct horse battery staple', npm_config_update_notifier: 'false' });
  for (const line of lines) {
    const result = await run(dir, line, env);
    t.equal(result.code, 0, `${line}\n${result.stderr}`);
    if (line.startsWith('node ')) t.match(result.stdout, 'hello, agent sunny');
  }
  const agent = lines.at(-1);

  writeFileSync(join(dir, 'plugins', 'weather', 'index.js'), "export const forecast = () => 'rain'; /* changed */\n");
  const changed = await run(dir, agent, env);
  t.equal(changed.code, 1, 'a changed plugin stops the agent');
  t.match(changed.stderr, 'ERR_TRUSTLOAD_SIGNATURE');
  t.notMatch(changed.stdout, 'rain');

  const resign = lines.find((line) => line.includes(' sign '));
  t.equal((await run(dir, resign, env)).code, 0, 're-signing what you meant');
  const again = await run(dir, agent, env);
  t.equal(again.code, 0, again.stderr);
  t.match(again.stdout, 'hello, agent rain');

  writeFileSync(join(dir, 'plugins', 'planted.js'), "console.log('planted ran');\n");
  writeFileSync(join(dir, 'agent.js'), "await import('./plugins/planted.js');\n");
  const planted = await run(dir, agent, env);
  t.equal(planted.code, 1, 'a file dropped into plugins/ is refused');
  t.match(planted.stderr, 'ERR_TRUSTLOAD_NOT_IN_MANIFEST');
  t.notMatch(planted.stdout, 'planted ran');
});
