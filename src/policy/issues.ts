import type * as z from 'zod/mini';

type Issue = z.core.$ZodIssue;

/**
 * Turns the first zod issue into "field: problem". zod/mini ships no
 * messages of its own (that is most of its saving), so they are written here.
 */
export function describeIssue(issue: Issue, input: unknown): string {
  const chosen = issue.code === 'invalid_union' && issue.errors.length > 0 ? closestBranch(issue.errors) : undefined;
  if (chosen) return describeIssue({ ...chosen, path: [...issue.path, ...chosen.path] }, input);
  return `${fieldName(issue.path)}: ${problem(issue, valueAt(input, issue.path))}`;
}

// A union (key or keyless signer, key by path or inline) fails on every branch; the branch with
// the fewest complaints is the one the author meant.
function closestBranch(branches: Issue[][]): Issue | undefined {
  return [...branches].sort((a, b) => a.length - b.length)[0]?.[0];
}

function problem(issue: Issue, value: unknown): string {
  switch (issue.code) {
    case 'invalid_type':
      return value === undefined ? `is required (${issue.expected})` : `must be ${article(issue.expected)}, not ${describe(value)}`;
    case 'invalid_value':
      return `must be ${issue.values.map((v) => JSON.stringify(v)).join(' or ')}, not ${describe(value)}`;
    case 'unrecognized_keys':
      return `unknown key${issue.keys.length > 1 ? 's' : ''} ${issue.keys.map((k) => JSON.stringify(k)).join(', ')}`;
    case 'too_small':
      return issue.origin === 'array' ? `must list at least ${issue.minimum} item(s)` : 'must not be empty';
    case 'invalid_format':
      return issue.message && issue.message !== 'Invalid input' ? issue.message : `has an invalid format`;
    case 'invalid_key':
      return 'has an invalid name: names are letters, digits, ".", "_" or "-"';
    default:
      return issue.message || 'is invalid';
  }
}

function fieldName(path: readonly PropertyKey[]): string {
  if (path.length === 0) return '(top level)';
  return path.map((p, i) => (typeof p === 'number' ? `[${p}]` : `${i === 0 ? '' : '.'}${String(p)}`)).join('');
}

function valueAt(input: unknown, path: readonly PropertyKey[]): unknown {
  let value = input;
  for (const key of path) {
    if (value === null || typeof value !== 'object' || !Object.hasOwn(value, key)) return undefined;
    value = (value as Record<PropertyKey, unknown>)[key];
  }
  return value;
}

function describe(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'a list';
  if (typeof value === 'object') return 'an object';
  return JSON.stringify(value);
}

function article(type: string): string {
  return /^[aeiou]/.test(type) ? `an ${type}` : `a ${type}`;
}
