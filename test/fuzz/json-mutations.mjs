// Mutations of a JSON document, as plain data (so fast-check prints and
// shrinks them): structural edits at a path picked by index, then at most
// one edit of the text itself. `applyMutations` turns them into the bytes
// to test, and says whether every edit was one that cannot change meaning.
import fc from 'fast-check';

const DEEP = '\u0000fuzz-deep\u0000';
const DUPLICATE = '\u0000fuzz-duplicate\u0000';
const DEEP_LEVELS = 20_000;

/** Values that break parsers: wrong types, edge numbers, huge strings, deep nesting. */
export const hostileValue = fc.oneof(
  fc.constantFrom(
    null, true, false, 0, -1, -0, 0.5, 1e308, -1e308, 2 ** 53 + 2, 2 ** 64,
    '', ' ', '-1', '0', '00', '1e3', '0x10', 'NaN', 'Infinity', '18446744073709551616', '-9223372036854775809',
    '\u0000', '\ud800', 'AAAA', '====', '@@@@', 'x'.repeat(70_000),
    [], [null], [[]], {}, { '': '' }, { length: 1e9 },
  ),
  fc.constant(DEEP),
  fc.jsonValue({ maxDepth: 3 }),
);

const hostileKey = fc.constantFrom('__proto__', 'constructor', 'prototype', 'toString', 'hasOwnProperty', 'valueOf', '', 'x', '$case', 'length', '0');

const at = fc.nat();

/** Structural edits that apply to any JSON document. */
export const structuralMutation = fc.oneof(
  fc.record({ op: fc.constant('replace'), at, value: hostileValue }),
  fc.record({ op: fc.constant('delete'), at }),
  fc.record({ op: fc.constant('addKey'), at, key: hostileKey, value: hostileValue }),
  // The same key twice: JSON.parse keeps the last, other parsers the first.
  fc.record({ op: fc.constant('duplicateKey'), at, value: hostileValue, before: fc.boolean() }),
  fc.record({ op: fc.constant('array'), at, edit: fc.constantFrom('reverse', 'duplicate', 'dropFirst', 'dropLast', 'clear', 'wrap') }),
  fc.record({ op: fc.constant('string'), at, edit: fc.constantFrom('upper', 'lower', 'trim-last', 'append-space', 'append-nul', 'prepend-space', 'double') }),
);

/** Edits of the serialised text: the last step, since the result may no longer be JSON. */
export const textMutation = fc.oneof(
  fc.record({ op: fc.constant('truncate'), keep: fc.double({ min: 0, max: 1, noNaN: true }) }),
  fc.record({ op: fc.constant('setChar'), at, char: fc.constantFrom('"', '{', '}', '[', ']', ',', ':', '\\', 'x', '0', ' ', '\u0000', '\u00ff', '\ud800') }),
  fc.record({ op: fc.constant('insert'), at, text: fc.constantFrom(',', '"', '\\u', '\\ud800', 'null', '"a":1,', '/*', '\ufeff', '[', '{') }),
  fc.record({ op: fc.constant('bom') }),
  // Whitespace and key order: meaning unchanged.
  fc.record({ op: fc.constant('reformat'), indent: fc.integer({ min: 0, max: 4 }), shuffle: fc.nat() }),
);

// Paths are only enumerated this deep: a deeply nested document (one this file generated) would take quadratic memory.
const MAX_PATH_DEPTH = 32;

/** Every path into `value` (object keys and list indices) up to MAX_PATH_DEPTH, the root included, in document order. */
export function allPaths(value, prefix = []) {
  const paths = [prefix];
  if (prefix.length >= MAX_PATH_DEPTH) return paths;
  if (Array.isArray(value)) value.forEach((item, i) => paths.push(...allPaths(item, [...prefix, i])));
  else if (isObject(value)) for (const [key, item] of Object.entries(value)) paths.push(...allPaths(item, [...prefix, key]));
  return paths;
}

export function getAt(value, path) {
  return path.reduce((node, key) => (node === undefined || node === null ? undefined : node[key]), value);
}

/** Sets (or, with `remove`, deletes) the value at `path`; the root is replaced by returning the new value. */
export function setAt(root, path, value, remove = false) {
  if (path.length === 0) return remove ? {} : value;
  const parent = getAt(root, path.slice(0, -1));
  const key = path[path.length - 1];
  if (Array.isArray(parent)) {
    if (remove) parent.splice(key, 1);
    else parent[key] = value;
  } else if (isObject(parent)) {
    if (remove) delete parent[key];
    else defineOwn(parent, key, value);
  }
  return root;
}

/**
 * Applies the structural mutations to a copy of `doc` (through `custom` for
 * ops the caller defines), then the text mutation, and returns the text and
 * whether every edit kept the meaning (only then must a valid input stay valid).
 */
export function applyMutations(doc, mutations, text, custom = () => undefined) {
  let value = structuredClone(doc);
  let neutral = true;
  for (const m of mutations) {
    const result = custom(value, m) ?? applyStructural(value, m);
    value = result.value;
    neutral &&= result.neutral === true;
  }
  let out = serialise(value, 2);
  if (text !== null) {
    const result = applyText(out, value, text);
    out = result.text;
    neutral &&= result.neutral === true;
  }
  return { text: out, neutral };
}

function applyStructural(value, m) {
  const paths = allPaths(value);
  const pick = (filter) => {
    const candidates = paths.filter((p) => filter(getAt(value, p)));
    return candidates.length === 0 ? undefined : candidates[m.at % candidates.length];
  };
  switch (m.op) {
    case 'replace':
      return { value: setAt(value, paths[m.at % paths.length], structuredClone(m.value)) };
    case 'delete': {
      const path = paths[m.at % paths.length];
      return { value: setAt(value, path, undefined, true) };
    }
    case 'addKey': {
      const path = pick(isObject);
      if (path !== undefined) defineOwn(getAt(value, path), m.key, structuredClone(m.value));
      return { value };
    }
    case 'duplicateKey': {
      const path = pick((v) => isObject(v) && Object.keys(v).length > 0);
      if (path === undefined) return { value };
      const object = getAt(value, path);
      const keys = Object.keys(object);
      const key = keys[m.at % keys.length];
      // A marker key, renamed to `key` in the text: an object cannot hold one key twice.
      const entries = Object.entries(object);
      for (const k of keys) delete object[k];
      const marker = `${DUPLICATE}${key}`;
      if (m.before) defineOwn(object, marker, structuredClone(m.value));
      for (const [k, v] of entries) defineOwn(object, k, v);
      if (!m.before) defineOwn(object, marker, structuredClone(m.value));
      // With the copy before the original, JSON.parse keeps the original: nothing changed.
      return { value, neutral: m.before };
    }
    case 'array': {
      const path = pick(Array.isArray);
      if (path === undefined) return { value };
      const list = getAt(value, path);
      const edited = {
        reverse: () => [...list].reverse(),
        duplicate: () => [...list, ...list],
        dropFirst: () => list.slice(1),
        dropLast: () => list.slice(0, -1),
        clear: () => [],
        wrap: () => [list],
      }[m.edit]();
      return { value: setAt(value, path, edited) };
    }
    case 'string': {
      const path = pick((v) => typeof v === 'string');
      if (path === undefined) return { value };
      const s = getAt(value, path);
      const edited = {
        upper: () => s.toUpperCase(),
        lower: () => s.toLowerCase(),
        'trim-last': () => s.slice(0, -1),
        'append-space': () => `${s} `,
        'append-nul': () => `${s}\u0000`,
        'prepend-space': () => ` ${s}`,
        double: () => s + s,
      }[m.edit]();
      return { value: setAt(value, path, edited), neutral: edited === s };
    }
    default:
      throw new Error(`unknown mutation ${m.op}`);
  }
}

function applyText(text, value, m) {
  const position = (n) => (text.length === 0 ? 0 : n % (text.length + 1));
  switch (m.op) {
    case 'truncate':
      return { text: text.slice(0, Math.floor(text.length * m.keep)), neutral: m.keep === 1 };
    case 'setChar': {
      const i = position(m.at);
      const next = text.slice(0, i) + m.char + text.slice(i + 1);
      return { text: next, neutral: next === text };
    }
    case 'insert': {
      const i = position(m.at);
      return { text: text.slice(0, i) + m.text + text.slice(i) };
    }
    case 'bom':
      return { text: `\ufeff${text}` };
    case 'reformat':
      // Key order is meaning once a key appears twice.
      return { text: serialise(shuffleKeys(value, m.shuffle), m.indent), neutral: !JSON.stringify(value).includes(JSON.stringify(DUPLICATE).slice(1, -1)) };
    default:
      throw new Error(`unknown text mutation ${m.op}`);
  }
}

/** JSON text of `value`, with duplicate-key markers renamed and deep-nesting markers expanded. */
export function serialise(value, indent) {
  let text = JSON.stringify(value, null, indent) ?? 'null';
  text = text.replaceAll(`"${JSON.stringify(DUPLICATE).slice(1, -1)}`, '"');
  const deep = JSON.stringify(DEEP);
  if (text.includes(deep)) text = text.replaceAll(deep, `${'['.repeat(DEEP_LEVELS)}${']'.repeat(DEEP_LEVELS)}`);
  return text;
}

function shuffleKeys(value, seed) {
  if (Array.isArray(value)) return value.map((item, i) => shuffleKeys(item, seed + i));
  if (!isObject(value)) return value;
  const entries = Object.entries(value);
  const rotated = entries.map((_, i) => entries[(i + seed) % entries.length]);
  if (seed % 2 === 1) rotated.reverse();
  const out = {};
  for (const [k, v] of rotated) defineOwn(out, k, shuffleKeys(v, seed + 1));
  return out;
}

// An own property even for "__proto__", which plain assignment would turn into a prototype change.
function defineOwn(object, key, value) {
  Object.defineProperty(object, key, { value, enumerable: true, writable: true, configurable: true });
}

export function isObject(value) {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
