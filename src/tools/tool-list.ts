import { ErrorCodes, TrustloadError } from '../errors.js';
import { isPlainObject } from '../io/json.js';
import { canonicalForm } from './canonical-json.js';
import { skeleton } from './skeleton.js';

/** One tool descriptor of an MCP tools/list result, as the server sent it: every field counts. */
export interface ToolDescriptor {
  name: string;
  [field: string]: unknown;
}

/**
 * What makes `tools` not a list of tool descriptors (objects with a
 * non-empty string `name`) whose names stay distinct after confusable
 * folding, or undefined: a list where two tools look alike cannot be pinned
 * or trusted.
 */
export function toolListProblem(tools: unknown): string | undefined {
  if (!Array.isArray(tools)) return `"tools" must be a list, not ${tools === null ? 'null' : typeof tools}`;
  const seen = new Map<string, string>();
  for (const [i, tool] of tools.entries()) {
    if (!isPlainObject(tool)) return `tools[${i}] must be an object`;
    if (typeof tool.name !== 'string' || tool.name === '') return `tools[${i}] has no "name" (a non-empty string)`;
    const folded = skeleton(tool.name);
    const earlier = seen.get(folded);
    if (earlier === tool.name) return `tool ${quoteName(tool.name)} is listed twice`;
    if (earlier !== undefined) return `tools ${quoteName(earlier)} and ${quoteName(tool.name)} look alike (the same UTS #39 skeleton)`;
    seen.set(folded, tool.name);
  }
  return undefined;
}

/**
 * RFC 8785 canonical JSON of `value` (parsed JSON: a snapshot or a baseline);
 * values JSON cannot carry (NaN, a lone surrogate, a function) are refused as
 * `what`. `tools pin` and verification both compare through this one function.
 */
export function canonicalJson(value: unknown, what: string): string {
  try {
    return canonicalForm(value);
  } catch (err) {
    throw new TrustloadError(ErrorCodes.TOOL_CHANGED, `${what} cannot be canonicalised (RFC 8785): ${(err as Error).message}`, { cause: err });
  }
}

/**
 * A tool name for a message: JSON-quoted, with every character outside
 * printable ASCII as \u{...}, so that a look-alike or an invisible
 * character shows, and a name cannot forge lines of the log it lands in.
 */
export function quoteName(name: string): string {
  return JSON.stringify(name).replace(/[^\x20-\x7e]/gu, (c) => `\\u{${c.codePointAt(0)!.toString(16).toUpperCase()}}`);
}
