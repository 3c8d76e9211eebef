import { ErrorCodes, TrustloadError } from '../errors.js';
import { isPlainObject, parseJson } from '../io/json.js';

/** Both spellings Sigstore has used for a trusted root's media type. */
const TRUSTED_ROOT_MEDIA_TYPES = new Set([
  'application/vnd.dev.sigstore.trustedroot+json;version=0.1',
  'application/vnd.dev.sigstore.trustedroot.v0.2+json',
]);

/**
 * Checks a trusted_root.json without decoding it (so start-up need not load
 * the Sigstore libraries). Every authority must state when its validity
 * starts: @sigstore/verify treats a missing start as 1970, which would let a
 * key vouch for entries from before it existed.
 */
export function checkTrustedRootJson(bytes: Uint8Array, source: string): Record<string, unknown> {
  const fail = (problem: string): never => {
    throw new TrustloadError(ErrorCodes.POLICY, `trusted root ${source}: ${problem}`);
  };
  const json = parseJson(Buffer.from(bytes).toString('utf8'), `trusted root ${source}`, ErrorCodes.POLICY);
  if (!isPlainObject(json)) return fail('is not a JSON object');
  if (typeof json.mediaType !== 'string' || !TRUSTED_ROOT_MEDIA_TYPES.has(json.mediaType)) {
    return fail(`mediaType ${JSON.stringify(json.mediaType)} is not one of ${[...TRUSTED_ROOT_MEDIA_TYPES].join(', ')}`);
  }
  const requireStart = (field: string, startOf: (entry: Record<string, unknown>) => unknown): void => {
    const list = json[field];
    if (list === undefined) return;
    if (!Array.isArray(list)) return fail(`${field} is not a list`);
    list.forEach((entry, i) => {
      if (!isPlainObject(entry)) return fail(`${field}[${i}] is not an object`);
      if (typeof startOf(entry) !== 'string') return fail(`${field}[${i}] has no validFor.start`);
    });
  };
  const logStart = (e: Record<string, unknown>) => {
    const key = e.publicKey;
    return isPlainObject(key) && isPlainObject(key.validFor) ? key.validFor.start : undefined;
  };
  const authorityStart = (e: Record<string, unknown>) => (isPlainObject(e.validFor) ? e.validFor.start : undefined);
  requireStart('tlogs', logStart);
  requireStart('ctlogs', logStart);
  requireStart('certificateAuthorities', authorityStart);
  requireStart('timestampAuthorities', authorityStart);
  return json;
}
