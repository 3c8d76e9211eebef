// Policy globs: the syntax other matchers give a meaning to (braces, classes, "?", "!",
// extglobs, backslashes) is a policy error that says what to write instead; everything
// else a glob holds is literal but "*" and "**". A glob that silently matched nothing
// would protect nothing.
import fc from 'fast-check';
import t from 'tap';
import { assertDidNotStart, makeApp, policyObject, runNode } from './helpers/app.mjs';
import { runCli } from './helpers/cli.mjs';
import { loadInternals } from './fuzz/internals.mjs';
import { checkProperty, runs } from './fuzz/settings.mjs';

const { compileGlob, globProblem } = await loadInternals();

const REFUSED_ANYWHERE = /[{}[\]?\\]/;
const EXTGLOB = /[@+!*?]\(/;

t.test('every glob with unsupported syntax is refused; any other is literal but for * and **', async (t) => {
  const chars = fc.constantFrom('a', 'b', '.', '/', '*', '{', '}', ',', '[', ']', '?', '!', '@', '+', '(', ')', '|', '\\', '-', ' ');
  const glob = fc.array(chars, { minLength: 1, maxLength: 14 }).map((cs) => cs.join(''));
  let accepted = 0;
  checkProperty(
    t,
    'glob syntax',
    fc.property(glob, (g) => {
      const problem = globProblem(g);
      if (REFUSED_ANYWHERE.test(g) || EXTGLOB.test(g) || g.startsWith('!')) {
        if (problem === undefined) throw new Error(`accepted ${JSON.stringify(g)}`);
        return;
      }
      if (problem !== undefined) return; // refused for its shape (empty or ".." segments, a partial "**"...)
      accepted++;
      // The documented meaning: "**" is any folders, "*" any characters in one segment, every other character itself.
      const path = g.replace(/^\.\//, '').split('/').map((s) => (s === '**' ? 'q/r' : s.replaceAll('*', 'q'))).join('/');
      const pattern = compileGlob(g);
      if (!pattern.test(path)) throw new Error(`${JSON.stringify(g)} does not match its literal reading ${JSON.stringify(path)}`);
      for (const [i, c] of [...path].entries()) {
        if (!'()|!@+,- .'.includes(c)) continue;
        const changed = `${path.slice(0, i)}Z${path.slice(i + 1)}`;
        if (pattern.test(changed)) throw new Error(`${JSON.stringify(g)} treats ${JSON.stringify(c)} as syntax: it matches ${JSON.stringify(changed)}`);
      }
    }),
    runs(3000),
  );
  t.ok(accepted > 0, `some generated globs were accepted (${accepted})`);
});

t.test('each kind of unsupported syntax says what to write instead', async (t) => {
  const cases = [
    ['plugins/*.{mjs,cjs}', 'uses braces, which are not supported: list one glob per alternative in the rule\'s "files" ("plugins/*.mjs", "plugins/*.cjs")'],
    ['plugins/{a,b}/**', '("plugins/a/**", "plugins/b/**")'],
    ['plugins/*.[cm]js', 'character class [...], which is not supported: list each name, or use *'],
    ['plugins/?.js', '"?", which is not supported: use *'],
    ['!plugins/**', 'negation is not supported'],
    ['plugins/@(a|b).js', 'extglob such as @(a|b), which is not supported'],
    ['plugins/+(a).js', 'extglob'],
    ['plugins/*(a).js', 'extglob'],
    ['plugins\\x.js', 'backslash, which is not supported: write paths with "/"'],
  ];
  for (const [glob, words] of cases) t.match(globProblem(glob), words, glob);
  t.equal(globProblem('Program Files (x86)/**'), undefined, 'parentheses in a folder name are literal');
  t.equal(globProblem('a!b/c+d@e/**'), undefined, '"!", "+", "@" inside names are literal');
});

t.test('a brace glob stops a guarded process and fails policy check, with the globs to write', async (t) => {
  const app = makeApp(t, { policy: policyObject({ rules: [{ name: 'plugins', files: 'plugins/*.{mjs,cjs}', signers: ['offline'] }] }) });
  const words = 'rules[0].files: "plugins/*.{mjs,cjs}" uses braces, which are not supported: list one glob per alternative in the rule\'s "files" ("plugins/*.mjs", "plugins/*.cjs")';
  assertDidNotStart(t, await runNode(app.dir, ['-e', '1']), { mentions: [words] });
  const check = await runCli(['policy', 'check', '--policy', app.policyPath]);
  t.equal(check.code, 2);
  t.match(check.stderr, words);
});
