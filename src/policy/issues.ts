import type * as z from 'zod/mini';
import { closest } from './closest-name.js';

type Issue = z.core.$ZodIssue;

/**
 * Turns zod's issues into "field: problem", about the first of them, or a
 * misspelt key where there is one (a misspelt required key is also reported
 * missing; the spelling is what to fix). zod/mini ships no messages of its
 * own (that is most of its saving), so they are written here.
 */
export function describeIssue(issues: readonly Issue[], input: unknown, schema: z.core.$ZodType): string {
  const issue = issues.find((i) => i.code === 'unrecognized_keys' && i.keys.some((k) => isNearMiss(k, keysAt(schema, i.path).names))) ?? issues[0]!;
  const branch = issue.code === 'invalid_union' && issue.errors.length > 0 ? closestBranch(issue.errors) : undefined;
  if (branch) return describeIssue(branch.map((i) => ({ ...i, path: [...issue.path, ...i.path] })), input, schema);
  if (issue.code === 'unrecognized_keys') return `${fieldName(issue.path)}: ${unknownKeys(issue.keys, keysAt(schema, issue.path))}`;
  return `${fieldName(issue.path)}: ${problem(issue, valueAt(input, issue.path))}`;
}

function isNearMiss(key: string, names: readonly string[]): boolean {
  const meant = closest(key, names);
  return meant !== undefined && meant !== key;
}

// A union (key or keyless signer, key by path or inline) fails on every branch; the branch with
// the fewest complaints is the one the author meant.
function closestBranch(branches: Issue[][]): Issue[] | undefined {
  return [...branches].sort((a, b) => a.length - b.length)[0];
}

/** "unknown key", with the key meant when one is close, or the names allowed there when they are a fixed few. */
function unknownKeys(keys: readonly string[], known: KnownKeys): string {
  const list = keys.map((k) => JSON.stringify(k)).join(', ');
  // Known, but to another branch of a union: a key signer's "transparencyLog" in a keyless signer.
  if (keys.every((k) => known.names.includes(k))) return `unknown key${keys.length > 1 ? 's' : ''} ${list} for this kind of entry (another kind allowed here takes it)`;
  const close = keys.map((k) => closest(k, known.names)).filter((k) => k !== undefined);
  const hint =
    keys.length === 1 && close.length === 1
      ? `: did you mean "${close[0]}"?`
      : known.names.length > 0 && (known.enumerated || close.length === 0)
        ? `; the ${known.enumerated ? 'valid names' : 'keys allowed here'} are ${known.names.join(', ')}`
        : '';
  return `unknown ${known.enumerated ? 'name' : 'key'}${keys.length > 1 ? 's' : ''} ${list}${hint}`;
}

interface KnownKeys {
  names: string[];
  /** A record whose keys are a fixed list (claims), rather than an object's fields. */
  enumerated: boolean;
}

// The parts of zod's schema definitions read here (objects, records, arrays, unions, optionals, enums).
interface Def {
  type: string;
  shape?: Record<string, z.core.$ZodType>;
  element?: z.core.$ZodType;
  options?: z.core.$ZodType[];
  innerType?: z.core.$ZodType;
  keyType?: z.core.$ZodType;
  valueType?: z.core.$ZodType;
  entries?: Record<string, string>;
}

/** The keys the schema allows at `path` (every branch of a union), read from the schema itself. */
function keysAt(schema: z.core.$ZodType, path: readonly PropertyKey[]): KnownKeys {
  let nodes = [schema];
  for (const key of path) nodes = nodes.flatMap((node) => childrenAt(node, key));
  const found = { names: new Set<string>(), enumerated: false };
  for (const node of nodes.flatMap(unwrap)) {
    const def = node._zod.def as Def;
    if (def.type === 'object') Object.keys(def.shape!).forEach((k) => found.names.add(k));
    const keyDef = def.type === 'record' ? (def.keyType!._zod.def as Def) : undefined;
    if (keyDef?.type === 'enum') {
      found.enumerated = true;
      Object.values(keyDef.entries!).forEach((k) => found.names.add(k));
    }
  }
  return { names: [...found.names], enumerated: found.enumerated };
}

function unwrap(node: z.core.$ZodType): z.core.$ZodType[] {
  const def = node._zod.def as Def;
  if (def.type === 'optional') return unwrap(def.innerType!);
  if (def.type === 'union') return def.options!.flatMap(unwrap);
  return [node];
}

function childrenAt(node: z.core.$ZodType, key: PropertyKey): z.core.$ZodType[] {
  return unwrap(node).flatMap((n) => {
    const def = n._zod.def as Def;
    if (def.type === 'object' && typeof key === 'string' && Object.hasOwn(def.shape!, key)) return [def.shape![key]!];
    if (def.type === 'record' && typeof key === 'string') return [def.valueType!];
    if (def.type === 'array' && typeof key === 'number') return [def.element!];
    return [];
  });
}

function problem(issue: Issue, value: unknown): string {
  switch (issue.code) {
    case 'invalid_type':
      return value === undefined ? `is required (${issue.expected})` : `must be ${article(issue.expected)}, not ${describe(value)}`;
    case 'invalid_value':
      return `must be ${issue.values.map((v) => JSON.stringify(v)).join(' or ')}, not ${describe(value)}`;
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
