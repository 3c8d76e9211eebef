// A small agent: it loads every plugin in plugins/, its system prompt and its
// tool descriptors. Started with `node --import trustload/register agent.mjs`,
// each of those is refused unless it is signed by a signer the policy allows.
import { readdirSync } from 'node:fs';
import { readVerified, readVerifiedSync } from 'trustload';

const here = new URL('.', import.meta.url);

const plugins = [];
for (const file of readdirSync(new URL('plugins/', here)).filter((f) => f.endsWith('.mjs')).sort()) {
  plugins.push((await import(new URL(`plugins/${file}`, here).href)).default);
}

// Content that is read, not imported, goes through readVerified: the bytes returned are the bytes checked.
const prompt = (await readVerified(new URL('prompts/system.md', here).pathname)).toString('utf8').trim();
const tools = JSON.parse(readVerifiedSync(new URL('tools/search.json', here).pathname).toString('utf8'));

console.log(`agent: system prompt: "${prompt}"`);
console.log(`agent: tools: ${tools.map((t) => t.name).join(', ')}`);
for (const plugin of plugins) console.log(`agent: plugin ${plugin.name}: ${plugin.run('trustload')}`);
