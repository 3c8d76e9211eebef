import { NODE_OPTION_ALIASES, NODE_OPTIONS_WITH_OPTIONAL_VALUE, NODE_OPTIONS_WITH_VALUE } from '../node-features.js';

/** One option Node reads, by its long name, with its value ('' for a flag). */
export interface NodeFlag {
  name: string;
  value: string;
  /** Where the value is in the words it was read from (`inline`: after `=` in the option's own word). */
  at?: number;
  inline?: boolean;
}

/**
 * NODE_OPTIONS split as Node splits it: on spaces only; `"` opens and closes a
 * quoted part, inside which a backslash takes the next character as is.
 * Undefined where Node refuses the value (then the child does not start).
 */
export function splitNodeOptions(value: string): string[] | undefined {
  const words: string[] = [];
  let quoted = false;
  let startsWord = true;
  for (let i = 0; i < value.length; i++) {
    let c = value[i]!;
    if (c === '\\' && quoted) {
      if (i + 1 === value.length) return undefined;
      c = value[++i]!;
    } else if (c === ' ' && !quoted) {
      startsWord = true;
      continue;
    } else if (c === '"') {
      quoted = !quoted;
      continue;
    }
    if (startsWord) words.push(c);
    else words[words.length - 1] += c;
    startsWord = false;
  }
  return quoted ? undefined : words;
}

/**
 * The options Node reads from `words` (a child's arguments after the
 * executable, a Worker's execArgv, or NODE_OPTIONS split), as Node reads them:
 * `--name=value`, `--name value` for options that take one (`--print value`
 * only when the value does not start with `-`), short names and
 * aliases, `_` for `-`; reading stops at `--`, `-` or the script. After an
 * option not listed as taking a value, the next word may still be its value
 * (on another Node line, or a script name): it is skipped and reading goes
 * on, so the table can only make more words read as options, never fewer.
 */
export function readNodeFlags(words: readonly string[]): NodeFlag[] {
  const flags: NodeFlag[] = [];
  let mayBeValue = false;
  for (let i = 0; i < words.length; i++) {
    const word = words[i]!;
    if (word === '--' || word === '-') break;
    if (!word.startsWith('-')) {
      if (!mayBeValue) break;
      mayBeValue = false;
      continue;
    }
    const eq = word.indexOf('=');
    const name = longName(eq === -1 ? word : word.slice(0, eq));
    mayBeValue = false;
    if (eq !== -1) flags.push({ name, value: word.slice(eq + 1), at: i, inline: true });
    else if (NODE_OPTIONS_WITH_VALUE.has(name)) flags.push({ name, value: words[++i] ?? '', at: i });
    else if (NODE_OPTIONS_WITH_OPTIONAL_VALUE.has(name) && words[i + 1]?.startsWith('-') === false) flags.push({ name, value: words[++i]!, at: i });
    else {
      // Each Node line adds options that take a value (26 has --bench-samples, --vfs-mount...): whatever this
      // table says, the next word may be this option's value, so it is skipped and reading goes on.
      flags.push({ name, value: '' });
      mayBeValue = true;
    }
  }
  return flags;
}

function longName(word: string): string {
  const alias = NODE_OPTION_ALIASES[word];
  if (alias !== undefined) return alias;
  return word.startsWith('--') ? `--${word.slice(2).replaceAll('_', '-')}` : word;
}

/** `words` with some option values replaced; each flag as readNodeFlags read it from these words. */
export function replaceValues(words: readonly string[], replacements: ReadonlyArray<{ flag: NodeFlag; value: string }>): string[] {
  const next = [...words];
  for (const { flag, value } of replacements) {
    if (flag.at === undefined) continue;
    const word = next[flag.at]!;
    next[flag.at] = flag.inline === true ? `${word.slice(0, word.indexOf('=') + 1)}${value}` : value;
  }
  return next;
}

/** Words as a NODE_OPTIONS value that splitNodeOptions reads back as the same words. */
export function joinNodeOptions(words: readonly string[]): string {
  return words.map((word) => `"${word.replace(/["\\]/g, '\\$&')}"`).join(' ');
}
