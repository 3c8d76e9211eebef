/**
 * A deep copy of JSON-like data whose objects have no prototype and are
 * frozen, with its arrays frozen too. What a decision reads (the policy,
 * settings from the environment) is copied so at start: a field the policy
 * left out then reads as undefined, never as whatever a polluted
 * Object.prototype holds, and nothing can change it later.
 */
export function frozenCopy<T>(value: T): T {
  if (Array.isArray(value)) return Object.freeze(value.map(frozenCopy)) as T;
  if (typeof value !== 'object' || value === null) return value;
  const copy = Object.create(null) as Record<string, unknown>;
  for (const key of Object.keys(value)) copy[key] = frozenCopy((value as Record<string, unknown>)[key]);
  return Object.freeze(copy) as T;
}

/** An options object for a library or builtin that reads optional fields: only `fields` are ever seen. */
export function ownOptions<T extends object>(fields: T): T {
  return Object.assign(Object.create(null) as T, fields);
}
