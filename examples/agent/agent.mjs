// A small agent: it loads every plugin in plugins/, its system prompt, and the
// tools of its MCP server "wiki". Started with `node --import trustload/register
// agent.mjs`, each of those is refused unless it is signed by a signer the
// policy allows; the server's tool descriptors must equal their signed baseline.
import { readdirSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StdioClientTransport } from '@modelcontextprotocol/sdk/client/stdio.js';
import { ToolListChangedNotificationSchema } from '@modelcontextprotocol/sdk/types.js';
import { readVerified, verifyToolDescriptors } from 'trustload';

const here = new URL('.', import.meta.url);

const plugins = [];
for (const file of readdirSync(new URL('plugins/', here)).filter((f) => f.endsWith('.mjs')).sort()) {
  plugins.push((await import(new URL(`plugins/${file}`, here).href)).default);
}

// Content that is read, not imported, goes through readVerified: the bytes returned are the bytes checked.
const prompt = (await readVerified(new URL('prompts/system.md', here).pathname)).toString('utf8').trim();

// Tool descriptors reach the model only through verifyToolDescriptors, under the name this
// host gives the server ("wiki", as in the policy's "tools"), on every listing.
const wiki = new Client({ name: 'agent', version: '1.0.0' });
let tools = [];
const listTools = async () => {
  tools = await verifyToolDescriptors('wiki', (await wiki.listTools()).tools);
};
wiki.setNotificationHandler(ToolListChangedNotificationSchema, listTools);
await wiki.connect(new StdioClientTransport({ command: process.execPath, args: [fileURLToPath(new URL('mcp/wiki-server.mjs', here))] }));
await listTools();

console.log(`agent: system prompt: "${prompt}"`);
console.log(`agent: tools: ${tools.map((t) => `${t.name} (${t.description})`).join(', ')}`);
for (const plugin of plugins) console.log(`agent: plugin ${plugin.name}: ${plugin.run('trustload')}`);
await wiki.close();
