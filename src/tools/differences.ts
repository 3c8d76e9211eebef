import { canonicalJson, quoteName, type ToolDescriptor } from './tool-list.js';
import { skeleton } from './skeleton.js';

/** Every way `live` differs from `pinned`: each tool added or removed, and each field of a tool added, removed or changed. */
export function toolDifferences(pinned: readonly ToolDescriptor[], live: readonly ToolDescriptor[]): string[] {
  const byName = new Map(pinned.map((tool) => [tool.name, tool]));
  const differences: string[] = [];
  for (const tool of live) {
    const was = byName.get(tool.name);
    byName.delete(tool.name);
    if (was === undefined) {
      differences.push(`tool ${quoteName(tool.name)} added`);
      continue;
    }
    const fields = fieldDifferences(was, tool);
    if (fields.length > 0) differences.push(`tool ${quoteName(tool.name)}: ${fields.join(', ')}`);
  }
  for (const name of byName.keys()) differences.push(`tool ${quoteName(name)} removed`);
  return differences;
}

function fieldDifferences(was: ToolDescriptor, now: ToolDescriptor): string[] {
  const fields = [...new Set([...Object.keys(was), ...Object.keys(now)])].sort();
  const differences: string[] = [];
  for (const field of fields) {
    const before = Object.hasOwn(was, field) ? canonicalJson(was[field], `field ${quoteName(field)}`) : undefined;
    const after = Object.hasOwn(now, field) ? canonicalJson(now[field], `field ${quoteName(field)}`) : undefined;
    if (before === after) continue;
    differences.push(`${quoteName(field)} ${before === undefined ? 'added' : after === undefined ? 'removed' : 'changed'}`);
  }
  return differences;
}

/**
 * Cross-server shadowing: each tool of `live` whose name, after confusable
 * folding, is a tool name in another server's baseline. A model picks tools
 * by name, so a server answering for another's tool (or a look-alike of it)
 * takes its calls.
 */
export function shadowing(live: readonly ToolDescriptor[], others: ReadonlyMap<string, readonly ToolDescriptor[]>): string[] {
  const found: string[] = [];
  for (const [server, tools] of others) {
    const names = new Map(tools.map((tool) => [skeleton(tool.name), tool.name]));
    for (const tool of live) {
      const theirs = names.get(skeleton(tool.name));
      if (theirs !== undefined) {
        found.push(`tool ${quoteName(tool.name)} shadows ${theirs === tool.name ? 'the tool' : `the look-alike tool ${quoteName(theirs)}`} of server ${quoteName(server)} (cross-server shadowing)`);
      }
    }
  }
  return found;
}
