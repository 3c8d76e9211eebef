// Mutations that know a Sigstore bundle: edits of the bytes inside base64
// fields (signatures, DER certificates, log bodies, proof hashes, timestamps),
// of the log's numbers, of the media type, and parts swapped in from other
// bundles. And the oracle's notion of "the same bundle".
import { bundleFromJSON, bundleToJSON } from '@sigstore/bundle';
import { createHash } from 'node:crypto';
import { isDeepStrictEqual } from 'node:util';
import fc from 'fast-check';
import { allPaths, applyMutations, getAt, isObject, setAt, structuralMutation, textMutation } from './json-mutations.mjs';

// The keys whose string values (or list items) are base64 bytes.
const BYTES_KEYS = new Set([
  'signature', 'digest', 'payload', 'sig', 'rawBytes', 'keyId', 'canonicalizedBody',
  'signedEntryTimestamp', 'rootHash', 'hashes', 'signedTimestamp', 'hint',
]);
const NUMBER_KEYS = new Set(['logIndex', 'integratedTime', 'treeSize']);

export const MEDIA_TYPES = [
  'application/vnd.dev.sigstore.bundle+json;version=0.1',
  'application/vnd.dev.sigstore.bundle+json;version=0.2',
  'application/vnd.dev.sigstore.bundle+json;version=0.3',
  'application/vnd.dev.sigstore.bundle.v0.3+json',
  'application/vnd.dev.sigstore.bundle.v0.4+json',
  'application/vnd.dev.sigstore.bundle+json;version=0.4',
  'application/vnd.dev.sigstore.bundle+json;version=0.3 ',
  'APPLICATION/VND.DEV.SIGSTORE.BUNDLE.V0.3+JSON',
  'application/vnd.dev.sigstore.bundle+json',
  'application/json',
  'application/vnd.in-toto+json',
];

// Parts a bundle can take from another: whole sections and single fields.
const SWAPPABLE = [
  ['verificationMaterial'],
  ['verificationMaterial', 'certificate'],
  ['verificationMaterial', 'publicKey'],
  ['verificationMaterial', 'tlogEntries'],
  ['verificationMaterial', 'tlogEntries', 0, 'inclusionProof'],
  ['verificationMaterial', 'tlogEntries', 0, 'inclusionPromise'],
  ['verificationMaterial', 'tlogEntries', 0, 'canonicalizedBody'],
  ['verificationMaterial', 'tlogEntries', 0, 'integratedTime'],
  ['verificationMaterial', 'tlogEntries', 0, 'logIndex'],
  ['verificationMaterial', 'timestampVerificationData'],
  ['messageSignature'],
  ['messageSignature', 'signature'],
  ['messageSignature', 'messageDigest'],
  ['dsseEnvelope'],
  ['dsseEnvelope', 'signatures'],
  ['dsseEnvelope', 'payload'],
];

const bytesEdit = fc.oneof(
  fc.record({ kind: fc.constant('flipBit'), index: fc.nat(), bit: fc.integer({ min: 0, max: 7 }) }),
  fc.record({ kind: fc.constant('setByte'), index: fc.nat(), byte: fc.constantFrom(0x00, 0x01, 0x30, 0x7f, 0x80, 0x81, 0x82, 0xff) }),
  fc.record({ kind: fc.constant('truncate'), keep: fc.nat() }),
  fc.record({ kind: fc.constant('append'), bytes: fc.uint8Array({ minLength: 1, maxLength: 8 }) }),
  fc.record({ kind: fc.constant('replace'), bytes: fc.uint8Array({ maxLength: 80 }) }),
  fc.record({ kind: fc.constant('insertChar'), index: fc.nat(), char: fc.constantFrom('!', '*', ' ', '\t', '=', '%', '.', 'é', '\u0000', '-', '_', '+', '/') }),
  // Base64 spellings of the same bytes: meaning unchanged.
  fc.record({ kind: fc.constant('lineBreaks'), every: fc.integer({ min: 1, max: 80 }) }),
  fc.record({ kind: fc.constant('urlSafe') }),
  fc.record({ kind: fc.constant('unpad') }),
);

const numberValue = fc.oneof(
  fc.bigInt({ min: -(2n ** 65n), max: 2n ** 65n }).map(String),
  fc.constantFrom('', '-0', '+1', '01', '1e3', '1.0', ' 1', 'abc', '0x1', '9007199254740993', '18446744073709551615', '99999999999999999999999'),
  fc.integer().map((n) => n), // a JSON number rather than the proto3 string
);

export function bundleMutation(donors) {
  return fc.oneof(
    { weight: 3, arbitrary: structuralMutation },
    { weight: 4, arbitrary: fc.record({ op: fc.constant('bytes'), at: fc.nat(), edit: bytesEdit }) },
    { weight: 2, arbitrary: fc.record({ op: fc.constant('number'), at: fc.nat(), value: numberValue }) },
    { weight: 1, arbitrary: fc.record({ op: fc.constant('mediaType'), value: fc.constantFrom(...MEDIA_TYPES) }) },
    // The JSON documents inside base64 fields, which parsers read before any signature is checked.
    { weight: 2, arbitrary: fc.record({ op: fc.constant('nested'), field: fc.constantFrom('payload', 'canonicalizedBody'), edit: structuralMutation }) },
    { weight: 2, arbitrary: fc.record({ op: fc.constant('swap'), from: fc.constantFrom(...donors), part: fc.constantFrom(...SWAPPABLE.keys()) }) },
  );
}

/** One to three bundle edits, then maybe one text edit. */
export function bundleMutations(donors) {
  return fc.record({
    edits: fc.array(bundleMutation(donors), { minLength: 1, maxLength: 3 }),
    text: fc.option(textMutation, { freq: 4 }),
  });
}

/** The bytes of `bundle` (a parsed fixture) after `mutations`; `donors` maps fixture names to parsed bundles. */
export function mutateBundle(bundle, { edits, text }, donors) {
  return applyMutations(bundle, edits, text, (value, m) => bundleEdit(value, m, donors));
}

function bundleEdit(value, m, donors) {
  switch (m.op) {
    case 'bytes': {
      const path = pickPath(value, m.at, (p, v) => typeof v === 'string' && BYTES_KEYS.has(lastKey(p)));
      if (path === undefined) return { value };
      const before = getAt(value, path);
      const after = editBase64(before, m.edit);
      const neutral = ['lineBreaks', 'urlSafe', 'unpad'].includes(m.edit.kind) || after === before;
      return { value: setAt(value, path, after), neutral };
    }
    case 'number': {
      const path = pickPath(value, m.at, (p) => NUMBER_KEYS.has(lastKey(p)));
      return { value: path === undefined ? value : setAt(value, path, m.value) };
    }
    case 'nested': {
      const path = pickPath(value, 0, (p, v) => typeof v === 'string' && lastKey(p) === m.field);
      if (path === undefined) return { value };
      let text;
      try {
        text = applyMutations(JSON.parse(Buffer.from(getAt(value, path), 'base64').toString('utf8')), [m.edit], null).text;
      } catch {
        return { value }; // not JSON (or nested too deep to walk): nothing to edit
      }
      // Re-encoded signed bytes are never the same bundle, whatever the edit.
      return { value: setAt(value, path, Buffer.from(text).toString('base64')) };
    }
    case 'mediaType':
      if (isObject(value)) value.mediaType = m.value;
      return { value };
    case 'swap': {
      const path = SWAPPABLE[m.part];
      const donor = getAt(donors[m.from], path);
      return { value: donor === undefined ? setAt(value, path, undefined, true) : setAt(value, path, structuredClone(donor)) };
    }
    default:
      return undefined;
  }
}

function editBase64(text, edit) {
  const bytes = Buffer.from(text, 'base64');
  const at = (n) => n % Math.max(bytes.length, 1);
  switch (edit.kind) {
    case 'flipBit':
      if (bytes.length > 0) bytes[at(edit.index)] ^= 1 << edit.bit;
      return bytes.toString('base64');
    case 'setByte':
      if (bytes.length > 0) bytes[at(edit.index)] = edit.byte;
      return bytes.toString('base64');
    case 'truncate':
      return bytes.subarray(0, edit.keep % (bytes.length + 1)).toString('base64');
    case 'append':
      return Buffer.concat([bytes, edit.bytes]).toString('base64');
    case 'replace':
      return Buffer.from(edit.bytes).toString('base64');
    case 'insertChar': {
      const i = edit.index % (text.length + 1);
      return text.slice(0, i) + edit.char + text.slice(i);
    }
    case 'lineBreaks':
      return text.replace(new RegExp(`(.{${edit.every}})`, 'g'), '$1\n');
    case 'urlSafe':
      return text.replaceAll('+', '-').replaceAll('/', '_');
    case 'unpad':
      return text.replace(/=+$/, '');
    default:
      throw new Error(`unknown bytes edit ${edit.kind}`);
  }
}

function pickPath(value, index, filter) {
  const candidates = allPaths(value).filter((p) => p.length > 0 && filter(p, getAt(value, p)));
  return candidates.length === 0 ? undefined : candidates[index % candidates.length];
}

// The key a value sits under; for a list item (a proof hash), the list's key.
function lastKey(path) {
  const named = path.filter((p) => typeof p === 'string');
  return named[named.length - 1];
}

/**
 * What a verifier may rely on, in a form where equal means "the same signed
 * bundle": decoded by @sigstore/bundle and encoded again (so base64 spelling,
 * key order, whitespace and unknown keys drop out), without the two fields
 * nothing signs and trustload never trusts (the media type, whose version
 * parseBundle checks, the key hints publicKey.hint and DSSE keyid, and the
 * integrated time and log index when no signed entry timestamp covers them), with a true digest of
 * `artifact` as a message digest of any algorithm, log numbers as
 * integers, and empty lists and messages left out.
 */
export function canonicalBundle(text, artifact) {
  const json = bundleToJSON(bundleFromJSON(JSON.parse(text)));
  const digest = json.messageSignature?.messageDigest;
  const algorithm = { SHA2_256: 'sha256', SHA2_384: 'sha384', SHA2_512: 'sha512' }[digest?.algorithm];
  // Any true digest of the artifact says the same thing (an Ed25519 signature covers the artifact, not its digest).
  if (algorithm && digest.digest === createHash(algorithm).update(artifact).digest('base64')) json.messageSignature.messageDigest = 'the artifact';
  delete json.mediaType;
  if (json.verificationMaterial?.publicKey) delete json.verificationMaterial.publicKey.hint;
  for (const signature of json.dsseEnvelope?.signatures ?? []) delete signature.keyid;
  for (const entry of json.verificationMaterial?.tlogEntries ?? []) {
    // Only a signed entry timestamp vouches for the integrated time and the entry's log index
    // (an inclusion proof carries its own); without one, nothing verified reads them.
    if (entry.inclusionPromise === undefined) {
      delete entry.integratedTime;
      delete entry.logIndex;
    }
  }
  const normalise = (node) => {
    if (Array.isArray(node)) return node.forEach(normalise);
    if (!isObject(node)) return;
    for (const [key, item] of Object.entries(node)) {
      if (NUMBER_KEYS.has(key) && typeof item === 'string' && /^-?\d+$/.test(item)) node[key] = BigInt(item).toString();
      else normalise(item);
      // An empty list or message says what its absence says (proto3 has no "present but empty").
      if (isEmpty(node[key])) delete node[key];
    }
  };
  normalise(json);
  return json;
}

function isEmpty(value) {
  return (Array.isArray(value) && value.length === 0) || (isObject(value) && Object.keys(value).length === 0);
}

/**
 * Why `mutated` (a canonicalBundle) is not the signed bundle `original` is,
 * or undefined when it is: the same signed content and the same certificate
 * or key, and evidence (log entries, timestamps) taken only from the
 * original. Dropping redundant evidence is not a modification: a bundle with
 * fewer log entries or timestamps is still checked against the thresholds.
 */
export function modification(original, mutated) {
  const { verificationMaterial: originalMaterial = {}, ...originalContent } = original;
  const { verificationMaterial: mutatedMaterial = {}, ...mutatedContent } = mutated;
  const { tlogEntries: originalEntries = [], timestampVerificationData: originalTimestamps = {}, ...originalKey } = originalMaterial;
  const { tlogEntries: mutatedEntries = [], timestampVerificationData: mutatedTimestamps = {}, ...mutatedKey } = mutatedMaterial;
  const difference = firstDifference(originalContent, mutatedContent) ?? firstDifference(originalKey, mutatedKey, '.verificationMaterial');
  if (difference !== undefined) return difference;
  const foreign = (list, from) => list.findIndex((item) => !from.some((known) => isDeepStrictEqual(item, known)));
  // A log entry may have lost its inclusion proof or promise (the other still has to verify).
  const lessened = originalEntries.flatMap((entry) => {
    const { inclusionProof, inclusionPromise, ...rest } = entry;
    const { integratedTime, logIndex, ...unstamped } = rest;
    return [entry, { ...unstamped, inclusionProof }, { ...rest, inclusionPromise }].map((e) => JSON.parse(JSON.stringify(e)));
  });
  const entry = foreign(mutatedEntries, lessened);
  if (entry >= 0) return `tlog entry ${entry} is not one of the original's (${firstDifference(originalEntries[0], mutatedEntries[entry])})`;
  // RFC 3161 timestamps are compared by count only: their CMS wrapper has unsigned parts (versions,
  // certificates) that the library's ASN.1 reader does not check (see SECURITY.md).
  const timestamps = (mutatedTimestamps.rfc3161Timestamps ?? []).length;
  if (timestamps > (originalTimestamps.rfc3161Timestamps ?? []).length) return `${timestamps} RFC 3161 timestamps, more than the original's`;
  return undefined;
}

function firstDifference(a, b, path = '') {
  if (isDeepStrictEqual(a, b)) return undefined;
  if (typeof a !== 'object' || typeof b !== 'object' || a === null || b === null) {
    return `at ${path || '(top)'}: ${JSON.stringify(a)?.slice(0, 80)} became ${JSON.stringify(b)?.slice(0, 80)}`;
  }
  for (const key of new Set([...Object.keys(a), ...Object.keys(b)])) {
    const found = firstDifference(a[key], b[key], `${path}.${key}`);
    if (found !== undefined) return found;
  }
  return `at ${path || '(top)'}: differs`;
}
