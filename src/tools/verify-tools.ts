import { resolve } from 'node:path';
import { asTrustloadError, ErrorCodes, TrustloadError, withContext } from '../errors.js';
import type { FileDecision, Guard } from '../guard/guard.js';
import { hasDecisionSubscribers, publishDecision } from '../guard/events.js';
import { parseJson } from '../io/json.js';
import { parseBaseline } from './baseline.js';
import { shadowing, toolDifferences } from './differences.js';
import { quoteName, toolListProblem, type ToolDescriptor } from './tool-list.js';

/** The guard's read of a protected file by path (readVerifiedSync): verified bytes, or a refusal. */
export type VerifiedRead = (path: string) => FileDecision;

/**
 * Compares the live tool list of `server` (the host's own name for it) with
 * its signed baseline, and every tool name with the other servers'
 * baselines. Returns the tools to use: in enforce mode the baseline's, parsed
 * from the verified bytes, so nothing the check did not see reaches the
 * caller. Any difference publishes a `changed` decision, then throws
 * ERR_TRUSTLOAD_TOOL_CHANGED (permissive mode: warns and returns the live list).
 */
export function verifyTools(guard: Guard, server: string, tools: unknown, read: VerifiedRead): ToolDescriptor[] {
  const start = now();
  const entries = guard.loaded.policy.tools ?? {};
  const live = snapshot(tools);
  const listProblem = toolListProblem(live);
  const liveTools = listProblem === undefined ? (live as ToolDescriptor[]) : [];
  const issues = listProblem === undefined ? [] : [listProblem];
  const baseline = (name: string): Pinned | undefined => readBaseline(guard, name, resolve(guard.loaded.baseDir, entries[name]!.baseline), read);

  const own = Object.hasOwn(entries, server) ? baseline(server) : undefined;
  if (own !== undefined && listProblem === undefined) issues.push(...toolDifferences(own.tools, liveTools));
  if (!Object.hasOwn(entries, server) && guard.loaded.policy.unmatched === 'deny') {
    guard.refuse(new TrustloadError(ErrorCodes.UNMATCHED, `no tool baseline for server ${quoteName(server)} in the policy's "tools", and the policy denies unmatched loads`, { path: `mcp:${server}` }), { announce: false });
  }
  const others = new Map<string, ToolDescriptor[]>();
  for (const name of Object.keys(entries)) {
    const pinned = name === server ? undefined : baseline(name);
    if (pinned !== undefined) others.set(name, pinned.tools);
  }
  issues.push(...shadowing(liveTools, others));

  if (issues.length === 0) return own?.tools ?? liveTools;
  const error = new TrustloadError(
    ErrorCodes.TOOL_CHANGED,
    `the tools of server ${quoteName(server)} differ from ${own === undefined ? 'what the policy allows' : 'its signed baseline'}: ${issues.join('; ')}`,
    { path: own?.path ?? `mcp:${server}`, rule: own?.rule, digest: own?.digest },
  );
  if (hasDecisionSubscribers()) {
    publishDecision({ path: error.path!, decision: 'changed', code: error.code, ...(own?.rule === undefined ? {} : { rule: own.rule }), ...(own?.digest === undefined ? {} : { digest: own.digest }), ms: now() - start });
  }
  if (guard.mode === 'enforce') throw error;
  process.stderr.write(`trustload: WARNING: ${error.describe()} (used anyway: permissive mode)\n`);
  return liveTools;
}

interface Pinned {
  path: string;
  rule?: string;
  digest?: string;
  tools: ToolDescriptor[];
}

/**
 * A server's baseline, read through the guard like any protected file. A
 * baseline that is unreadable, unprotected or malformed refuses; undefined
 * only where permissive mode warned instead.
 */
function readBaseline(guard: Guard, server: string, path: string, read: VerifiedRead): Pinned | undefined {
  const decision = read(path);
  if (decision.bytes === undefined) return undefined; // permissive mode warned: nothing to compare with
  try {
    if (decision.decision === 'unmatched') throw new TrustloadError(ErrorCodes.UNMATCHED, 'no rule protects this tool baseline, so nothing vouches for it', { path });
    return { path, rule: decision.rule, digest: decision.digest, tools: parseBaseline(decision.bytes, path, server).tools };
  } catch (err) {
    guard.refuse(withContext(asTrustloadError(err, ErrorCodes.TOOL_CHANGED, 'cannot read the tool baseline'), { path, rule: decision.rule, digest: decision.digest }), { announce: false });
    return undefined;
  }
}

/** A JSON copy of the caller's list, taken once: a getter or proxy cannot answer the check one way and the host another. */
function snapshot(tools: unknown): unknown {
  let text: string | undefined;
  try {
    text = JSON.stringify(tools);
  } catch (err) {
    throw asTrustloadError(err, ErrorCodes.TOOL_CHANGED, 'the tool list is not JSON data');
  }
  return parseJson(text ?? 'null', 'the tool list', ErrorCodes.TOOL_CHANGED);
}

function now(): number {
  return Number(process.hrtime.bigint()) / 1e6;
}
