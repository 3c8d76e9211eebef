import { X509Certificate as NodeCertificate } from 'node:crypto';
import { X509Certificate as Asn1Certificate, type ASN1Obj } from '@sigstore/core';
import { rfc4514 } from './x509-name.js';

/**
 * One certificate, decoded once: node:crypto (OpenSSL) for every signature,
 * issuer and date check, @sigstore/core's DER reader for what Node does not
 * expose (names as DER, basic constraints, key usage bits, criticality).
 */
export interface Certificate {
  der: Buffer;
  node: NodeCertificate;
  asn1: Asn1Certificate;
  /** RFC 4514, as openssl prints it. */
  subject: string;
  /** The outer signatureAlgorithm's OID, read from the DER (node:crypto exposes it only from Node 24). */
  signatureAlgorithmOid: string;
  issuer: string;
}

/** Throws a plain Error on bytes that are not one DER certificate; callers give it a code. */
export function parseCertificate(der: Uint8Array): Certificate {
  const bytes = Buffer.from(der);
  const node = new NodeCertificate(bytes);
  const asn1 = Asn1Certificate.parse(bytes);
  // OpenSSL and the DER reader must agree on where the certificate ends: no trailing bytes for one to skip.
  if (!node.raw.equals(bytes)) throw new Error('trailing bytes after the certificate');
  // Certificate ::= SEQUENCE { tbsCertificate, signatureAlgorithm AlgorithmIdentifier, signatureValue }
  const signatureAlgorithmOid = asn1.root.subs[1]?.subs[0]?.toOID();
  if (signatureAlgorithmOid === undefined) throw new Error('certificate has no signature algorithm');
  return { der: bytes, node, asn1, subject: rfc4514(tbsField(asn1, 4)), issuer: rfc4514(tbsField(asn1, 2)), signatureAlgorithmOid };
}

/** A root: its signature verifies with its own key. Equal subject and issuer names alone do not make one. */
export function isSelfSigned(cert: Certificate): boolean {
  return cert.node.verify(cert.node.publicKey);
}

export const OID_CODE_SIGNING = '1.3.6.1.5.5.7.3.3';
const OID_KEY_USAGE = '2.5.29.15';
const OID_SUBJECT_ALT_NAME = '2.5.29.17';
const OID_BASIC_CONSTRAINTS = '2.5.29.19';
const OID_EXT_KEY_USAGE = '2.5.29.37';
const OID_SUBJECT_KEY_ID = '2.5.29.14';
const OID_AUTHORITY_KEY_ID = '2.5.29.35';
const UNDERSTOOD = new Set([OID_KEY_USAGE, OID_SUBJECT_ALT_NAME, OID_BASIC_CONSTRAINTS, OID_EXT_KEY_USAGE, OID_SUBJECT_KEY_ID, OID_AUTHORITY_KEY_ID]);

/** Critical extensions this validator does not enforce (name constraints, policies...): RFC 5280 says refuse. */
export function unknownCriticalExtensions(cert: Certificate): string[] {
  return cert.asn1.extensions
    .map((ext) => ({ oid: ext.subs[0]!.toOID(), critical: ext.subs.length === 3 && ext.subs[1]!.toBoolean() }))
    .filter((ext) => ext.critical && !UNDERSTOOD.has(ext.oid))
    .map((ext) => ext.oid);
}

/** The extended key usages, or undefined when the extension is absent. */
export function extendedKeyUsages(cert: Certificate): string[] | undefined {
  const ext = cert.asn1.extension(OID_EXT_KEY_USAGE);
  return ext?.valueObj.subs[0]!.subs.map((oid) => oid.toOID());
}

/** Key usage bits by name, or undefined when the extension is absent (then every usage is allowed). */
export function keyUsage(cert: Certificate): { digitalSignature: boolean; keyCertSign: boolean } | undefined {
  const ext = cert.asn1.extKeyUsage;
  return ext === undefined ? undefined : { digitalSignature: ext.digitalSignature, keyCertSign: ext.keyCertSign };
}

/** Basic constraints: CA or not, and the path length limit. */
export function basicConstraints(cert: Certificate): { ca: boolean; pathLength: bigint | undefined } {
  const ext = cert.asn1.extBasicConstraints;
  return { ca: ext?.isCA ?? false, pathLength: ext?.pathLenConstraint };
}

const GENERAL_NAME_EMAIL = 1;
const GENERAL_NAME_URI = 6;

/** Every URI and email subject alternative name, byte for byte (latin1: no byte is folded into another). */
export function identities(cert: Certificate): string[] {
  const ext = cert.asn1.extension(OID_SUBJECT_ALT_NAME);
  if (ext === undefined) return [];
  return ext.valueObj.subs[0]!.subs
    .filter((name) => name.tag.isContextSpecific(GENERAL_NAME_EMAIL) || name.tag.isContextSpecific(GENERAL_NAME_URI))
    .filter((name) => !name.tag.constructed)
    .map((name) => name.value.toString('latin1'));
}

export function validAt(cert: Certificate, time: Date): boolean {
  return cert.node.validFromDate.getTime() <= time.getTime() && time.getTime() <= cert.node.validToDate.getTime();
}

// TBSCertificate: [0] version (optional), serialNumber, signature, issuer (2), validity, subject (4), ...
function tbsField(cert: Asn1Certificate, index: number): ASN1Obj {
  const fields = cert.tbsCertificate.subs;
  const offset = fields[0]?.tag.isContextSpecific(0) ? 1 : 0;
  const field = fields[offset + index];
  if (field === undefined) throw new Error('certificate is truncated');
  return field;
}
