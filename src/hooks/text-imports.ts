import { ErrorCodes, TrustloadError } from '../errors.js';
import type { Guard } from '../guard/guard.js';

const ANNOUNCE = { announce: true };

/**
 * For files a rule with `"import": "text"` protects: the ES module Node gets
 * in their place, whose default export is the verified bytes as text, so
 * `import prompt from './prompts/system.md'` gives the prompt. It also
 * exports that text as "module.exports", so require() returns the string
 * itself rather than a namespace. Undefined for every other load, and no
 * function at all when no rule asks for text.
 */
export function textImports(guard: Guard): ((rule: string | undefined, path: string, bytes: Buffer) => string | undefined) | undefined {
  const textRules = new Set(guard.loaded.policy.rules.filter((rule) => rule.import === 'text').map((rule) => rule.name));
  if (textRules.size === 0) return undefined;
  const decoder = new TextDecoder('utf-8', { fatal: true });
  return (rule, path, bytes) => {
    if (rule === undefined || !textRules.has(rule)) return undefined;
    let text: string;
    try {
      text = decoder.decode(bytes);
    } catch (err) {
      guard.refuse(new TrustloadError(ErrorCodes.UNSUPPORTED_LOAD, 'a text import must be UTF-8, and this file is not', { path, rule, cause: err }), ANNOUNCE);
      text = bytes.toString('utf8'); // permissive mode warned
    }
    return `const text = ${JSON.stringify(text)};\nexport default text;\nexport { text as 'module.exports' };\n`;
  };
}
