import type { ASN1Obj } from '@sigstore/core';

/**
 * A distinguished name in RFC 4514 form, byte for byte as
 * `openssl x509 -noout -subject -nameopt RFC2253` prints it, so that a policy
 * author can paste what openssl shows: last RDN first, "," between RDNs, "+"
 * inside one, OpenSSL's short attribute names, RFC 2253 escapes, and every
 * byte above 0x7f as \XX of its UTF-8 encoding. An attribute OpenSSL would
 * print by OID, or a value that is not a string, is dumped as `#` and the hex
 * of its DER, as openssl does; a value that cannot be decoded throws.
 */
export function rfc4514(name: ASN1Obj): string {
  const attributes = name.subs.flatMap((rdn, set) => rdn.subs.map((attribute) => ({ set, attribute })));
  let out = '';
  let previous: number | undefined;
  for (const { set, attribute } of attributes.reverse()) {
    if (previous !== undefined) out += previous === set ? '+' : ',';
    previous = set;
    const [type, value] = attribute.subs;
    if (type === undefined || value === undefined || attribute.subs.length !== 2) throw new Error('malformed name attribute');
    const oid = type.toOID();
    const short = SHORT_NAMES[oid];
    out += `${short ?? oid}=${short === undefined ? dump(value) : attributeValue(value)}`;
  }
  return out;
}

// The attribute types OpenSSL names in certificate subjects (its objects.txt short names).
const SHORT_NAMES: Record<string, string> = {
  '2.5.4.3': 'CN',
  '2.5.4.4': 'SN',
  '2.5.4.5': 'serialNumber',
  '2.5.4.6': 'C',
  '2.5.4.7': 'L',
  '2.5.4.8': 'ST',
  '2.5.4.9': 'street',
  '2.5.4.10': 'O',
  '2.5.4.11': 'OU',
  '2.5.4.12': 'title',
  '2.5.4.13': 'description',
  '2.5.4.15': 'businessCategory',
  '2.5.4.16': 'postalAddress',
  '2.5.4.17': 'postalCode',
  '2.5.4.18': 'postOfficeBox',
  '2.5.4.20': 'telephoneNumber',
  '2.5.4.41': 'name',
  '2.5.4.42': 'GN',
  '2.5.4.43': 'initials',
  '2.5.4.44': 'generationQualifier',
  '2.5.4.45': 'x500UniqueIdentifier',
  '2.5.4.46': 'dnQualifier',
  '2.5.4.65': 'pseudonym',
  '2.5.4.72': 'role',
  '2.5.4.97': 'organizationIdentifier',
  '1.2.840.113549.1.9.1': 'emailAddress',
  '1.2.840.113549.1.9.2': 'unstructuredName',
  '0.9.2342.19200300.100.1.1': 'UID',
  '0.9.2342.19200300.100.1.25': 'DC',
  '1.3.6.1.4.1.311.60.2.1.1': 'jurisdictionL',
  '1.3.6.1.4.1.311.60.2.1.2': 'jurisdictionST',
  '1.3.6.1.4.1.311.60.2.1.3': 'jurisdictionC',
};

// Universal string tags, by how OpenSSL reads their bytes: one byte per character, UTF-8, UCS-2, UCS-4.
const UTF8_STRING = 12;
const ONE_BYTE_STRINGS = new Set([18, 19, 20, 21, 22, 23, 24, 25, 26, 27]);
const UNIVERSAL_STRING = 28;
const BMP_STRING = 30;
const UNIVERSAL_CLASS = 0;

function attributeValue(value: ASN1Obj): string {
  const { tag } = value;
  if (tag.class !== UNIVERSAL_CLASS || tag.constructed) return dump(value);
  if (tag.number === UTF8_STRING) return escape(utf8CodePoints(value.value));
  if (ONE_BYTE_STRINGS.has(tag.number)) return escape([...value.value]);
  if (tag.number === BMP_STRING) return escape(wideCodePoints(value.value, 2));
  if (tag.number === UNIVERSAL_STRING) return escape(wideCodePoints(value.value, 4));
  return dump(value);
}

function dump(value: ASN1Obj): string {
  return `#${value.toDER().toString('hex').toUpperCase()}`;
}

function utf8CodePoints(bytes: Buffer): number[] {
  const text = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true }).decode(bytes);
  return [...text].map((char) => char.codePointAt(0)!);
}

function wideCodePoints(bytes: Buffer, width: 2 | 4): number[] {
  if (bytes.length % width !== 0) throw new Error('malformed wide string');
  const points: number[] = [];
  for (let i = 0; i < bytes.length; i += width) {
    const point = width === 2 ? bytes.readUInt16BE(i) : bytes.readUInt32BE(i);
    // Surrogate halves and values beyond Unicode have no UTF-8 form that both sides would agree on.
    if ((point >= 0xd800 && point <= 0xdfff) || point > 0x10ffff) throw new Error('malformed wide string');
    points.push(point);
  }
  return points;
}

// RFC 2253's specials are escaped with a backslash anywhere; a leading "#" or
// space and a trailing space only there. OpenSSL tests "last" after "first",
// so a one-character value gets only the trailing rule.
const SPECIALS = new Set([...',+"\\<>;']);

function escape(codePoints: number[]): string {
  let out = '';
  codePoints.forEach((point, i) => {
    const last = i === codePoints.length - 1;
    const first = i === 0 && !last;
    for (const byte of Buffer.from(String.fromCodePoint(point), 'utf8')) {
      const char = String.fromCharCode(byte);
      if (byte > 0x7e || byte < 0x20) out += `\\${byte.toString(16).toUpperCase().padStart(2, '0')}`;
      else if (SPECIALS.has(char) || (first && (char === '#' || char === ' ')) || (last && char === ' ')) out += `\\${char}`;
      else out += char;
    }
  });
  return out;
}
