// One application folder that every fixture bundle verifies in: the private
// trusted root and the four test keys (by path and inline, pinned), keyless
// and key signers, and one rule per fixture folder, each holding hello.txt.
// Bundle fuzzing verifies under its rules; policy fuzzing mutates its policy.
import { createHash } from 'node:crypto';
import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, realpathSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

export const FIXTURES = fileURLToPath(new URL('../../fixtures/', import.meta.url));
export const ARTIFACT = readFileSync(join(FIXTURES, 'artifacts', 'hello.txt'));
const ISSUER = 'https://token.actions.githubusercontent.com';
const IDENTITY = 'https://github.com/acme/plugins/.github/workflows/release.yml@refs/heads/main';

/** Fixture folders whose bundle verifies under this policy: the bases that get mutated. */
export const BASES = ['keyless', 'keyless-dsse', 'key-p256', 'key-p256-tlog', 'key-p384', 'key-p384-dsse', 'key-ed25519', 'key-rsa'];
/** Every fixture bundle: where swapped-in parts come from. */
export const DONORS = [...BASES, 'keyless-other', 'keyless-email', 'keyless-expired', 'keyless-notlog'];

const sha256 = (bytes) => createHash('sha256').update(bytes).digest('hex');
const keyFile = (name) => join(FIXTURES, 'keys', `${name}.pub.pem`);

export function fuzzPolicy() {
  const pinned = (path, source) => ({ path, sha256: sha256(readFileSync(source)) });
  const pinnedKey = (name) => pinned(`./keys/${name}.pub.pem`, keyFile(name));
  return {
    version: 1,
    mode: 'enforce',
    allowPermissive: true,
    trust: {
      roots: { private: pinned('./trust/trusted_root.json', join(FIXTURES, 'private', 'trusted_root.json')) },
      keys: {
        p256: pinnedKey('p256'),
        p384: { pem: readFileSync(keyFile('p384'), 'utf8') },
        ed25519: pinnedKey('ed25519'),
        rsa: pinnedKey('rsa'),
      },
    },
    signers: {
      ci: { roots: ['private'], issuer: ISSUER, identity: IDENTITY },
      'ci-pattern': {
        roots: ['private'],
        issuer: ISSUER,
        identityPattern: '^https://github\\.com/acme/plugins/\\.github/workflows/[a-z]+\\.yml@refs/heads/main$',
        claims: { sourceRepositoryURI: 'https://github.com/acme/plugins' },
      },
      p256: { key: 'p256', transparencyLog: false },
      'p256-tlog': { key: 'p256', roots: ['private'] },
      p384: { key: 'p384', transparencyLog: false },
      ed25519: { key: 'ed25519', transparencyLog: false },
      rsa: { key: 'rsa', transparencyLog: false },
    },
    rules: [
      { name: 'keyless', files: ['keyless/**', 'keyless-dsse/**'], signers: ['ci-pattern', 'ci'] },
      { name: 'key-p256', files: 'key-p256/*', signers: ['p256'] },
      { name: 'key-p256-tlog', files: 'key-p256-tlog/**', signers: ['p256-tlog'] },
      { name: 'key-p384', files: ['key-p384/**', 'key-p384-dsse/**'], signers: ['p384'] },
      { name: 'key-ed25519', files: 'key-ed25519/**', signers: ['ed25519'] },
      { name: 'key-rsa', files: 'key-rsa/**', signers: ['rsa', 'p256'] },
    ],
    unmatched: 'deny',
  };
}

/** The rule that covers fixture folder `name` in fuzzPolicy(). */
export function ruleFor(policy, name) {
  return policy.rules.find((rule) => [rule.files].flat().some((glob) => glob.split('/')[0] === name));
}

/**
 * A temporary folder (its real path) with trust/, keys/, one folder per base
 * fixture holding hello.txt and its bundle, and trustload.policy.json.
 */
export function makeFuzzApp() {
  const dir = realpathSync(mkdtempSync(join(tmpdir(), 'trustload-fuzz-app-')));
  process.on('exit', () => rmSync(dir, { recursive: true, force: true }));
  mkdirSync(join(dir, 'trust'));
  mkdirSync(join(dir, 'keys'));
  copyFileSync(join(FIXTURES, 'private', 'trusted_root.json'), join(dir, 'trust', 'trusted_root.json'));
  for (const key of ['p256', 'p384', 'ed25519', 'rsa']) copyFileSync(keyFile(key), join(dir, 'keys', `${key}.pub.pem`));
  for (const name of BASES) {
    mkdirSync(join(dir, name));
    copyFileSync(join(FIXTURES, name, 'hello.txt'), join(dir, name, 'hello.txt'));
    copyFileSync(join(FIXTURES, name, 'hello.txt.sigstore.json'), join(dir, name, 'hello.txt.sigstore.json'));
  }
  const policy = fuzzPolicy();
  const policyPath = join(dir, 'trustload.policy.json');
  writeFileSync(policyPath, `${JSON.stringify(policy, null, 2)}\n`);
  return { dir, policy, policyPath, artifact: (name) => join(dir, name, 'hello.txt') };
}

/** Each fixture bundle, parsed. */
export function readBundles() {
  return Object.fromEntries(DONORS.map((name) => [name, JSON.parse(readFileSync(join(FIXTURES, name, 'hello.txt.sigstore.json'), 'utf8'))]));
}
