// Signs the demo agent's plugins, prompt and tool-descriptor baseline with the test key
// in fixtures/keys (offline key signatures: the demo must run without a
// network), and pins the public key's digest in the example policy.
//
// Run: npx node scripts/sign-example.mjs
import { createHash } from 'node:crypto';
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { signFile } from './sign-with-key.mjs';

const agent = new URL('../examples/agent/', import.meta.url);
const privateKey = readFileSync(new URL('../fixtures/keys/p256.pem', import.meta.url), 'utf8');

for (const folder of ['plugins', 'prompts', 'tools']) {
  for (const name of readdirSync(new URL(`${folder}/`, agent))) {
    if (!name.endsWith('.sigstore.json')) signFile(new URL(`${folder}/${name}`, agent).pathname, privateKey);
  }
}

const keyDigest = createHash('sha256').update(readFileSync(new URL('keys/release.pub.pem', agent))).digest('hex');
const policy = {
  version: 1,
  mode: 'enforce',
  allowPermissive: true,
  trust: { keys: { release: { path: './keys/release.pub.pem', sha256: keyDigest } } },
  signers: { release: { key: 'release', transparencyLog: false } },
  rules: [
    { name: 'plugins', files: 'plugins/**', signers: ['release'] },
    { name: 'prompts', files: 'prompts/**', signers: ['release'] },
    { name: 'tools', files: 'tools/**', signers: ['release'] },
  ],
  unmatched: 'allow',
  // tools/wiki.tools.json: trustload tools pin wiki, from what the agent's MCP client lists.
  tools: { wiki: { baseline: './tools/wiki.tools.json' } },
};
writeFileSync(new URL('trustload.policy.json', agent), `${JSON.stringify(policy, null, 2)}\n`);
console.log('signed examples/agent and wrote its policy');
