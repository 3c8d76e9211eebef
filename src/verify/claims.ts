import type { X509Certificate } from '@sigstore/core';

/**
 * Fulcio's certificate extensions by the names Fulcio documents them under
 * (docs/oid-info.md). These are the claims a keyless signer may pin.
 * Each value is a DER UTF8String inside the extension.
 */
const FULCIO_CLAIM_OIDS = {
  buildSignerURI: '1.3.6.1.4.1.57264.1.9',
  buildSignerDigest: '1.3.6.1.4.1.57264.1.10',
  runnerEnvironment: '1.3.6.1.4.1.57264.1.11',
  sourceRepositoryURI: '1.3.6.1.4.1.57264.1.12',
  sourceRepositoryDigest: '1.3.6.1.4.1.57264.1.13',
  sourceRepositoryRef: '1.3.6.1.4.1.57264.1.14',
  sourceRepositoryIdentifier: '1.3.6.1.4.1.57264.1.15',
  sourceRepositoryOwnerURI: '1.3.6.1.4.1.57264.1.16',
  sourceRepositoryOwnerIdentifier: '1.3.6.1.4.1.57264.1.17',
  buildConfigURI: '1.3.6.1.4.1.57264.1.18',
  buildConfigDigest: '1.3.6.1.4.1.57264.1.19',
  buildTrigger: '1.3.6.1.4.1.57264.1.20',
  runInvocationURI: '1.3.6.1.4.1.57264.1.21',
  sourceRepositoryVisibilityAtSigning: '1.3.6.1.4.1.57264.1.22',
} as const;

export type ClaimName = keyof typeof FULCIO_CLAIM_OIDS;
export const CLAIM_NAMES = Object.keys(FULCIO_CLAIM_OIDS) as [ClaimName, ...ClaimName[]];

/**
 * The GitHub workflow extensions Fulcio deprecated for the ones above, still
 * written and still what cosign's --certificate-github-workflow-* flags
 * match. Their values are the raw UTF-8 bytes, not DER, and some differ from
 * their successors (repository is "owner/name", not a URL). The command line
 * matches them; a policy pins the newer claims.
 */
const GITHUB_WORKFLOW_OIDS = {
  githubWorkflowTrigger: '1.3.6.1.4.1.57264.1.2',
  githubWorkflowSha: '1.3.6.1.4.1.57264.1.3',
  githubWorkflowName: '1.3.6.1.4.1.57264.1.4',
  githubWorkflowRepository: '1.3.6.1.4.1.57264.1.5',
  githubWorkflowRef: '1.3.6.1.4.1.57264.1.6',
} as const;

export type WorkflowClaimName = keyof typeof GITHUB_WORKFLOW_OIDS;
const WORKFLOW_CLAIM_NAMES = Object.keys(GITHUB_WORKFLOW_OIDS) as WorkflowClaimName[];

/** Every claim a keyless signer can be matched on. */
export type AnyClaimName = ClaimName | WorkflowClaimName;

const OID_ISSUER_V1 = '1.3.6.1.4.1.57264.1.1';
const OID_ISSUER_V2 = '1.3.6.1.4.1.57264.1.8';
const DER_UTF8STRING = 0x0c;

/** What a Fulcio certificate says about who signed. */
export interface CertificateIdentity {
  identity: string | undefined;
  issuer: string | undefined;
  claims: Partial<Record<AnyClaimName, string>>;
}

export function certificateIdentity(cert: X509Certificate): CertificateIdentity {
  // No prototype: a claim the certificate lacks is absent, whatever Object.prototype holds.
  const claims = Object.create(null) as Partial<Record<AnyClaimName, string>>;
  for (const name of CLAIM_NAMES) {
    const value = derUtf8(cert.extension(FULCIO_CLAIM_OIDS[name])?.value);
    if (value !== undefined) claims[name] = value;
  }
  for (const name of WORKFLOW_CLAIM_NAMES) {
    const value = rawUtf8(cert.extension(GITHUB_WORKFLOW_OIDS[name])?.value);
    if (value !== undefined) claims[name] = value;
  }
  // The v1 issuer extension holds raw bytes rather than DER; Fulcio still writes it for old clients.
  const issuer = derUtf8(cert.extension(OID_ISSUER_V2)?.value) ?? rawUtf8(cert.extension(OID_ISSUER_V1)?.value);
  return { identity: cert.subjectAltName, issuer, claims };
}

const strictUtf8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });

/** The value of a v1 extension (raw bytes); bytes that are not UTF-8 yield undefined, never a replacement character. */
function rawUtf8(value: Buffer | undefined): string | undefined {
  if (value === undefined) return undefined;
  try {
    return strictUtf8.decode(value);
  } catch {
    return undefined;
  }
}

/** Decodes a DER UTF8String; anything else (or a truncated length) yields undefined, never a guess. */
function derUtf8(der: Buffer | undefined): string | undefined {
  if (der === undefined || der.length < 2 || der[0] !== DER_UTF8STRING) return undefined;
  let length = der[1]!;
  let offset = 2;
  if (length & 0x80) {
    const octets = length & 0x7f;
    if (octets === 0 || octets > 4 || der.length < 2 + octets) return undefined;
    length = 0;
    for (let i = 0; i < octets; i++) length = length * 256 + der[2 + i]!;
    offset = 2 + octets;
  }
  if (offset + length !== der.length) return undefined;
  return der.subarray(offset).toString('utf8');
}
