/**
 * RFC 8785 (JCS) canonical JSON of a value parsed from JSON: objects with
 * their keys sorted by UTF-16 code units, numbers as ECMAScript writes them
 * (which RFC 8785 adopts), strings as JSON.stringify escapes them. Unlike
 * JSON.stringify and the canonicalize package, it never calls toJSON: the
 * value is already plain data, and a polluted Array.prototype.toJSON must not
 * make two different lists serialise alike. Throws on anything JSON cannot
 * carry (NaN, a lone surrogate, a function).
 */
export function canonicalForm(value: unknown): string {
  if (value === null) return 'null';
  switch (typeof value) {
    case 'boolean':
      return value ? 'true' : 'false';
    case 'number':
      if (!Number.isFinite(value)) throw new Error(`${value} is not allowed`);
      return String(value); // -0 is "0", as RFC 8785 says
    case 'string':
      return canonicalString(value);
    case 'object':
      return Array.isArray(value) ? canonicalArray(value) : canonicalObject(value as Record<string, unknown>);
    default:
      throw new Error(`a ${typeof value} is not JSON data`);
  }
}

/** In a u-mode pattern a surrogate pair is one code point: only an unpaired half matches. */
const LONE_SURROGATE = /\p{Cs}/u;

function canonicalString(value: string): string {
  if (LONE_SURROGATE.test(value)) throw new Error('a lone surrogate is not allowed');
  return JSON.stringify(value);
}

function canonicalArray(value: readonly unknown[]): string {
  let text = '[';
  for (let i = 0; i < value.length; i++) text += (i === 0 ? '' : ',') + canonicalForm(value[i]);
  return `${text}]`;
}

function canonicalObject(value: Record<string, unknown>): string {
  const keys = Object.keys(value).sort();
  let text = '{';
  for (let i = 0; i < keys.length; i++) text += `${i === 0 ? '' : ','}${canonicalString(keys[i]!)}:${canonicalForm(value[keys[i]!])}`;
  return `${text}}`;
}
