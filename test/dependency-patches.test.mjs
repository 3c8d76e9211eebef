// The build patches bundled dependencies (scripts/dependency-patches.mjs,
// written up in patches/README.md). A patch that no longer applies to the
// installed version must fail here, not vanish from dist/ unnoticed.
import { build } from 'esbuild';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import t from 'tap';
import { applyPatches, dependencyPatchesPlugin, PATCHES } from '../scripts/dependency-patches.mjs';

const REPO = fileURLToPath(new URL('..', import.meta.url));
const require = createRequire(join(REPO, 'package.json'));
const CERT_JS = join(dirname(require.resolve('@sigstore/core')), 'x509', 'cert.js');

t.test('every patch applies to the installed dependency, exactly once', (t) => {
  t.ok(PATCHES.some((p) => p.file.test(CERT_JS)), `a patch targets ${CERT_JS}`);
  const source = readFileSync(CERT_JS, 'utf8');
  const patched = applyPatches(CERT_JS, source);
  t.not(patched, source, 'the file changed');
  for (const patch of PATCHES.filter((p) => p.file.test(CERT_JS))) t.ok(patched.includes(patch.replace), patch.name);
  t.throws(() => applyPatches(CERT_JS, source.replace('other.root.toDER()', 'other.toDER()')), /does not apply/, 'a changed upstream file stops the build');
  t.end();
});

t.test('dist/ holds the patched code', (t) => {
  const dist = join(REPO, 'dist');
  const files = readdirSync(dist).filter((f) => f.endsWith('.js'));
  // Minified: compared without whitespace.
  t.ok(files.some((f) => readFileSync(join(dist, f), 'utf8').replace(/\s+/g, '').includes('this._der=this.root.toDER()')), 'X509Certificate.der');
  t.end();
});

t.test('comparing certificates encodes each one once', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'trustload-patches-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  await build({
    stdin: { contents: "module.exports = require('@sigstore/core');", resolveDir: REPO },
    outfile: join(dir, 'core.cjs'),
    bundle: true,
    format: 'cjs',
    platform: 'node',
    plugins: [dependencyPatchesPlugin()],
    logLevel: 'silent',
  });
  const { ASN1Obj, X509Certificate } = require(join(dir, 'core.cjs'));
  const root = JSON.parse(readFileSync(join(REPO, 'trust', 'sigstore-public-good.trusted_root.json'), 'utf8'));
  const ders = root.certificateAuthorities.flatMap((ca) => ca.certChain.certificates.map((c) => Buffer.from(c.rawBytes, 'base64')));
  const certs = [...ders, ders[0]].map((der) => X509Certificate.parse(der));
  let encodings = 0;
  const toDER = ASN1Obj.prototype.toDER;
  ASN1Obj.prototype.toDER = function () {
    encodings++;
    return toDER.call(this);
  };
  t.teardown(() => (ASN1Obj.prototype.toDER = toDER));
  const compareAll = () => certs.map((a) => certs.map((b) => a.equals(b)));
  const first = compareAll();
  const afterFirst = encodings;
  const second = compareAll();
  t.equal(encodings, afterFirst, 'the second round of comparisons encodes nothing');
  t.same(second, first);
  const expected = certs.map((a) => certs.map((b) => Buffer.compare(toDER.call(a.root), toDER.call(b.root)) === 0));
  t.same(first, expected, 'the same answers as comparing fresh encodings');
  t.ok(first.at(-1)[0] && !first[0][1], 'equal and different certificates both seen');
});
