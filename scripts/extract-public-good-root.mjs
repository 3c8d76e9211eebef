// Extracts the Sigstore public-good trusted root from @sigstore/tuf's embedded
// TUF seed (a copy reviewed and pinned by the sigstore-js maintainers) into
// trust/, and pins its SHA-256 in src/trust/public-good-digest.ts.
//
// trustload never fetches trust material: verification is offline. Bumping
// @sigstore/tuf and re-running this script is how the shipped root changes,
// and the two files it writes show that change as a reviewable diff.
//
// Run: npx node scripts/extract-public-good-root.mjs
import { createHash } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);
const seedsPath = require.resolve('@sigstore/tuf/seeds.json');
const tufVersion = require('@sigstore/tuf/package.json').version;
const seeds = JSON.parse(readFileSync(seedsPath, 'utf8'));

const PUBLIC_GOOD_MIRROR = 'https://tuf-repo-cdn.sigstore.dev';
const encoded = seeds[PUBLIC_GOOD_MIRROR]?.targets?.['trusted_root.json'];
if (typeof encoded !== 'string') throw new Error(`no trusted_root.json for ${PUBLIC_GOOD_MIRROR} in ${seedsPath}`);

// Re-serialise so the committed file is readable in a diff; the digest is of these exact bytes.
const root = JSON.parse(Buffer.from(encoded, 'base64').toString('utf8'));
const bytes = Buffer.from(JSON.stringify(root, null, 2) + '\n');
const digest = createHash('sha256').update(bytes).digest('hex');

const rootPath = new URL('../trust/sigstore-public-good.trusted_root.json', import.meta.url);
const digestPath = new URL('../src/trust/public-good-digest.ts', import.meta.url);
writeFileSync(rootPath, bytes);
writeFileSync(
  digestPath,
  `// Written by scripts/extract-public-good-root.mjs from @sigstore/tuf ${tufVersion}; do not edit.\n` +
    `export const PUBLIC_GOOD_ROOT_SHA256 = '${digest}';\n`,
);
console.log(`trust/sigstore-public-good.trusted_root.json sha256:${digest} (@sigstore/tuf ${tufVersion})`);
