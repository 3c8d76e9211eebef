import { ErrorCodes, TrustloadError, type ErrorCode } from '../errors.js';

/**
 * JSON.parse that refuses `__proto__` keys anywhere in the document.
 * No Sigstore format uses them, and a parsed `__proto__` own property becomes
 * prototype pollution the moment any code spreads or merges the object.
 * Objects come back without a prototype: a field the document leaves out
 * (a trusted root's timestampAuthorities, a bundle's tlogEntries) reads as
 * undefined in every library that decodes it, even after Object.prototype
 * was polluted.
 */
export function parseJson(text: string, what: string, code: ErrorCode = ErrorCodes.BAD_BUNDLE): unknown {
  let forbidden = false;
  let value: unknown;
  try {
    value = JSON.parse(text, function (key, v) {
      if (key === '__proto__') forbidden = true;
      if (isPlainObject(v)) Object.setPrototypeOf(v, null);
      return v;
    });
  } catch (err) {
    throw new TrustloadError(code, `${what} is not valid JSON: ${(err as Error).message}`, { cause: err });
  }
  if (forbidden) {
    throw new TrustloadError(code, `${what} contains a "__proto__" key, which no valid document has`);
  }
  return value;
}

export function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
