import { ErrorCodes, TrustloadError } from '../errors.js';
import { isPlainObject, parseJson } from '../io/json.js';
import { canonicalJson, toolListProblem, type ToolDescriptor } from './tool-list.js';

/**
 * A tool-descriptor baseline: what `trustload tools pin` writes and
 * `trustload sign` signs. Each tool is kept whole, with its fields in RFC
 * 8785 order and the tools sorted by name, so that a re-pin of the same
 * list writes the same bytes and a review diff shows only what changed.
 * Comparison never depends on this layout: it is of canonical JSON.
 */
export interface Baseline {
  version: 1;
  server: string;
  tools: ToolDescriptor[];
}

/** The baseline file for `tools` (already checked by toolListProblem) of `server`. */
export function baselineText(server: string, tools: ToolDescriptor[]): string {
  // Names are distinct (toolListProblem), so the order is total.
  const canonical = tools
    .map((tool, i) => ({ name: tool.name, json: canonicalJson(tool, `tools[${i}]`) }))
    .sort((a, b) => (a.name < b.name ? -1 : 1))
    .map(({ json }) => json);
  return `{\n  "version": 1,\n  "server": ${JSON.stringify(server)},\n  "tools": [\n${canonical.map((tool) => `    ${tool}`).join(',\n')}\n  ]\n}\n`;
}

/**
 * The verified bytes of `server`'s baseline file, parsed. A baseline that
 * names another server is refused: a signed baseline of one server must not
 * vouch for another's tools when a policy points at the wrong file.
 */
export function parseBaseline(bytes: Buffer, path: string, server: string): Baseline {
  const fail = (problem: string): never => {
    throw new TrustloadError(ErrorCodes.TOOL_CHANGED, `tool baseline ${problem} (trustload tools pin writes one)`, { path });
  };
  const value = parseJson(bytes.toString('utf8'), `tool baseline ${path}`, ErrorCodes.TOOL_CHANGED);
  if (!isPlainObject(value) || value.version !== 1 || typeof value.server !== 'string' || Object.keys(value).length !== 3) {
    return fail('must be an object with exactly "version": 1, "server" and "tools"');
  }
  const problem = toolListProblem(value.tools);
  if (problem !== undefined) return fail(problem);
  if (value.server !== server) {
    throw new TrustloadError(ErrorCodes.TOOL_CHANGED, `this baseline pins the tools of server ${JSON.stringify(value.server)}, not of ${JSON.stringify(server)}`, {
      path,
      expected: server,
      found: value.server,
    });
  }
  return value as unknown as Baseline;
}
