// With --preserve-symlinks (or another resolve hook) Node hands the load hook
// the link's URL, not the real file's: the guard must still judge the file it
// actually reads. A link from an unprotected folder to a tampered plugin must
// not load it as "unmatched".
import t from 'tap';
import { makeApp, runNode } from './helpers/app.mjs';

const PLUGIN = "console.log('SIGNED_RAN');\n";

for (const flags of [['--preserve-symlinks'], ['--preserve-symlinks', '--preserve-symlinks-main']]) {
  t.test(`a link into plugins/ under ${flags.join(' ')}`, async (t) => {
    const app = makeApp(t, {
      files: { 'plugins/p.mjs': PLUGIN, 'main.mjs': "await import('./lib/link.mjs');\n" },
      sign: ['plugins/p.mjs'],
    });
    app.symlink('../plugins/p.mjs', 'lib/link.mjs');

    const signed = await runNode(app.dir, [...flags, 'main.mjs']);
    t.equal(signed.code, 0, `the signed plugin loads through the link\n${signed.stderr}`);
    t.match(signed.stdout, /SIGNED_RAN/);

    app.tamper('plugins/p.mjs', 'SIGNED', 'SIGNEX');
    const tampered = await runNode(app.dir, [...flags, 'main.mjs']);
    t.not(tampered.code, 0, 'the tampered plugin is refused through the link');
    t.match(tampered.stderr, /^trustload: ERR_TRUSTLOAD_SIGNATURE: .*plugins\/p\.mjs: rule "plugins"/);
    t.notMatch(tampered.stdout, /SIGNEX_RAN|SIGNED_RAN/, 'none of it ran');
  });
}
