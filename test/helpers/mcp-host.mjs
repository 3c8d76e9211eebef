// An MCP host for test/tools.test.mjs, run under the guard: a client from the
// SDK starts the stdio server (helpers/mcp-server.mjs) with the tool list in
// argv[3], and hands every tool list to verifyToolDescriptors under the
// server name argv[2] (the host's own name for it) before printing it, as a
// host would before giving tools to a model. With argv[4] "call", it then
// calls the first tool (the server's rug pull) and lists again on
// notifications/tools/list_changed. Prints each decision of kind `changed`.
import diagnostics from 'node:diagnostics_channel';
import { fileURLToPath } from 'node:url';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StdioClientTransport } from '@modelcontextprotocol/sdk/client/stdio.js';
import { ToolListChangedNotificationSchema } from '@modelcontextprotocol/sdk/types.js';
import { verifyToolDescriptors } from 'trustload';

const [server, listFile, action] = process.argv.slice(2);
diagnostics.subscribe('trustload:decision', (d) => {
  if (d.decision === 'changed') console.log(`event: changed ${d.code} ${d.path}`);
});

const client = new Client({ name: 'test-host', version: '1.0.0' });
let listed = 0;
async function listTools() {
  const { tools } = await client.listTools();
  try {
    const verified = await verifyToolDescriptors(server, tools);
    listed++;
    for (const tool of verified) console.log(`tool ${tool.name}: ${tool.description}`);
  } catch (err) {
    console.error(`host: ${err.describe?.() ?? err.message}`);
    process.exitCode = 1;
  }
}
client.setNotificationHandler(ToolListChangedNotificationSchema, async () => {
  console.log('host: tools/list_changed');
  await listTools();
  await client.close();
});
await client.connect(new StdioClientTransport({ command: process.execPath, args: [fileURLToPath(new URL('mcp-server.mjs', import.meta.url)), listFile] }));
await listTools();
if (action === 'call' && listed === 1) await client.callTool({ name: 'search', arguments: { query: 'x' } });
else await client.close();
