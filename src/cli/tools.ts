import { writeFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { ErrorCodes } from '../errors.js';
import { isPlainObject, parseJson } from '../io/json.js';
import { readFileLimited } from '../io/read.js';
import { EXIT_VERIFIED, UsageError, type Io } from './output.js';

export const TOOLS_HELP = `Usage: trustload tools pin SERVER TOOLS_JSON [--out FILE]

Writes the tool-descriptor baseline of MCP server SERVER (the name the host
and the policy's "tools" give it) from TOOLS_JSON, a tools/list result
({ "tools": [...] }, or a JSON-RPC response carrying one): every tool whole,
each in RFC 8785 canonical form. Sign it with trustload sign, protect it with
a rule, and name it in the policy: "tools": { "SERVER": { "baseline": FILE } }.
A list whose tool names repeat or look alike (UTS #39 skeletons), or that
is one page of several (nextCursor), is refused.

  --out FILE    where to write it (default: SERVER.tools.json)
                  trustload tools pin weather tools-list.json --out tools/weather.tools.json

Exit codes: 0 written, 1 failed, 2 usage error or an input that is not a tools/list result.`;

const MAX_TOOLS_JSON_BYTES = 16 * 1024 * 1024;

export async function tools(args: string[], io: Io): Promise<number> {
  const { values, positionals } = parseArgs({ args, options: { out: { type: 'string' }, help: { type: 'boolean' } }, allowPositionals: true, strict: true });
  if (values.help) {
    io.out(TOOLS_HELP);
    return EXIT_VERIFIED;
  }
  const [action, server, input, ...rest] = positionals;
  if (action !== 'pin' || server === undefined || input === undefined || rest.length > 0) throw new UsageError('tools pin takes SERVER and TOOLS_JSON (see trustload tools --help)');
  if (!/^[A-Za-z0-9][A-Za-z0-9._-]*$/.test(server)) throw new UsageError(`tools pin: SERVER ${JSON.stringify(server)} must be letters, digits, ".", "_" or "-", as a name in the policy's "tools"`);
  // Loaded here, not with the command table: the confusables table is for this command only.
  const { baselineText } = await import('../tools/baseline.js');
  const { toolListProblem } = await import('../tools/tool-list.js');
  const result = toolsListResult(readJson(input), input);
  const problem = toolListProblem(result.tools);
  if (problem !== undefined) throw new UsageError(`tools pin: ${input}: ${problem}`);
  const out = resolve(values.out ?? `${server}.tools.json`);
  const text = baselineText(server, result.tools as Parameters<typeof baselineText>[1]);
  try {
    writeFileSync(out, text);
  } catch (err) {
    throw new UsageError(`tools pin: cannot write ${out}: ${(err as Error).message}`);
  }
  io.out(`wrote ${out}: ${(result.tools as unknown[]).length} tool(s) of server ${server}; sign it (trustload sign ${out} --key KEY) and name it in the policy's "tools"`);
  return EXIT_VERIFIED;
}

/** The input file's JSON; unreadable or not JSON, it is not what the command takes. */
function readJson(input: string): unknown {
  try {
    return parseJson(readFileLimited(input, MAX_TOOLS_JSON_BYTES, 'tools/list result', ErrorCodes.TOOL_CHANGED).toString('utf8'), input, ErrorCodes.TOOL_CHANGED);
  } catch (err) {
    throw new UsageError(`tools pin: ${(err as Error).message}`);
  }
}

/** The tools/list result in `value`: the result itself, or the JSON-RPC response that carries it. */
function toolsListResult(value: unknown, input: string): { tools: unknown } {
  const result = isPlainObject(value) && value.jsonrpc === '2.0' && isPlainObject(value.result) ? value.result : value;
  if (!isPlainObject(result) || !Object.hasOwn(result, 'tools')) throw new UsageError(`tools pin: ${input} is not an MCP tools/list result: it has no "tools" list`);
  if (result.nextCursor !== undefined) throw new UsageError(`tools pin: ${input} is one page of a longer tools/list (it has "nextCursor"): pin the whole list, every page's tools in one "tools"`);
  return { tools: result.tools };
}
