// npm run demo: runs the example agent under the guard, then a copy of it with
// one plugin byte changed, and shows that the changed plugin is refused.
import { spawnSync } from 'node:child_process';
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));
const agent = join(root, 'examples', 'agent');

function runAgent(dir) {
  const env = { ...process.env, TRUSTLOAD_POLICY: join(dir, 'trustload.policy.json') };
  delete env.NODE_OPTIONS;
  delete env.TRUSTLOAD_POLICY_SHA256;
  delete env.TRUSTLOAD_MODE;
  const { status, stdout, stderr } = spawnSync(process.execPath, ['--import', join(root, 'register.mjs'), join(dir, 'agent.mjs')], {
    cwd: dir,
    env,
    encoding: 'utf8',
  });
  const lines = [...stdout.split('\n'), stderr.split('\n')[0]].filter(Boolean);
  for (const line of lines) console.log(`   | ${line}`);
  return status;
}

console.log('1. The agent, as signed:');
console.log(`   node --import trustload/register examples/agent/agent.mjs`);
const signed = runAgent(agent);
console.log(`   exit code ${signed}\n`);

// The tampered copy lives inside the repository so `import 'trustload'` still resolves to this package.
const copy = mkdtempSync(join(root, 'examples', '.tampered-'));
try {
  cpSync(agent, copy, { recursive: true });
  const plugin = join(copy, 'plugins', 'shout.mjs');
  const bytes = readFileSync(plugin);
  bytes[bytes.indexOf('!')] = '?'.charCodeAt(0);
  writeFileSync(plugin, bytes);
  console.log('2. The same agent with one byte of plugins/shout.mjs changed ("!" -> "?"):');
  const tampered = runAgent(copy);
  console.log(`   exit code ${tampered}`);
  const ok = signed === 0 && tampered !== 0;
  console.log(ok ? '\nThe signed agent ran; the tampered plugin was refused before any of it ran.' : '\nUNEXPECTED: see the output above.');
  process.exitCode = ok ? 0 : 1;
} finally {
  rmSync(copy, { recursive: true, force: true });
}
