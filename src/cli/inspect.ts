import { parseArgs } from 'node:util';
import type { Bundle } from '@sigstore/bundle';
import { RFC3161Timestamp, X509Certificate } from '@sigstore/core';
import { HashAlgorithm } from '@sigstore/protobuf-specs';
import { parseBundle } from '../bundle/parse-bundle.js';
import { asTrustloadError, ErrorCodes } from '../errors.js';
import { MAX_BUNDLE_BYTES, readFileLimited } from '../io/read.js';
import { certificateIdentity } from '../verify/claims.js';
import { statementSubjects } from '../verify/statement.js';
import { parseCertificate } from '../verify/x509.js';
import { EXIT_VERIFIED, UsageError, type Io } from './output.js';

export const INSPECT_HELP = `Usage: trustload inspect BUNDLE [--json]

Prints what a Sigstore bundle claims: the signing certificate's subject (RFC
4514, as openssl -nameopt RFC2253 prints it), identity, issuer and claims (or
key hint), transparency log entries, signing times and subjects. Nothing is
verified: use trustload verify-blob or trustload verify for that.`;

export function inspect(args: string[], io: Io): number {
  const { values, positionals } = parseArgs({
    args,
    options: { json: { type: 'boolean' }, help: { type: 'boolean' } },
    allowPositionals: true,
    strict: true,
  });
  if (values.help) {
    io.out(INSPECT_HELP);
    return EXIT_VERIFIED;
  }
  if (positionals.length !== 1) throw new UsageError('inspect takes exactly one BUNDLE (see --help)');
  const path = positionals[0]!;
  const bundle = parseBundle(readFileLimited(path, MAX_BUNDLE_BYTES, 'bundle', ErrorCodes.BAD_BUNDLE, ErrorCodes.NO_BUNDLE), path);
  let summary: BundleSummary;
  try {
    summary = summarize(bundle);
  } catch (err) {
    throw asTrustloadError(err, ErrorCodes.BAD_BUNDLE, `bundle ${path} cannot be read`);
  }
  io.out(values.json ? JSON.stringify({ bundle: path, verified: false, ...summary }, null, 2) : render(path, summary));
  return EXIT_VERIFIED;
}

interface BundleSummary {
  mediaType: string;
  content: 'message signature' | 'DSSE envelope';
  signer:
    | {
        certificate: {
          subject: string;
          identity?: string;
          issuer?: string;
          claims: Record<string, string>;
          notBefore: string;
          notAfter: string;
          /** Certificates the bundle carries, the leaf included. */
          chainLength: number;
        };
      }
    | { publicKeyHint: string };
  logEntries: { logIndex: string; logId: string; kind: string; integratedTime?: string }[];
  timestamps: string[];
  messageDigest?: string;
  payloadType?: string;
  subjects?: { name?: string; digest: Record<string, string | undefined> }[];
}

function summarize(bundle: Bundle): BundleSummary {
  const material = bundle.verificationMaterial.content;
  let signer: BundleSummary['signer'];
  if (material.$case === 'publicKey') {
    signer = { publicKeyHint: material.publicKey.hint || '(none)' };
  } else {
    const chain = material.$case === 'certificate' ? [material.certificate] : material.x509CertificateChain.certificates;
    const raw = chain[0]!;
    const cert = X509Certificate.parse(Buffer.from(raw.rawBytes));
    const { identity, issuer, claims } = certificateIdentity(cert);
    signer = {
      certificate: {
        subject: parseCertificate(raw.rawBytes).subject,
        identity,
        issuer,
        claims,
        notBefore: cert.notBefore.toISOString(),
        notAfter: cert.notAfter.toISOString(),
        chainLength: chain.length,
      },
    };
  }
  const summary: BundleSummary = {
    mediaType: bundle.mediaType,
    content: bundle.content.$case === 'messageSignature' ? 'message signature' : 'DSSE envelope',
    signer,
    logEntries: bundle.verificationMaterial.tlogEntries.map((entry) => ({
      logIndex: entry.logIndex,
      logId: entry.logId ? Buffer.from(entry.logId.keyId).toString('hex') : '(none)',
      kind: entry.kindVersion ? `${entry.kindVersion.kind}/${entry.kindVersion.version}` : '(none)',
      ...(entry.integratedTime && entry.integratedTime !== '0'
        ? { integratedTime: new Date(Number(entry.integratedTime) * 1000).toISOString() }
        : {}),
    })),
    timestamps: (bundle.verificationMaterial.timestampVerificationData?.rfc3161Timestamps ?? []).map((ts) =>
      RFC3161Timestamp.parse(Buffer.from(ts.signedTimestamp)).signingTime.toISOString(),
    ),
  };
  if (bundle.content.$case === 'messageSignature') {
    const { algorithm, digest } = bundle.content.messageSignature.messageDigest;
    summary.messageDigest = `${HashAlgorithm[algorithm]}:${Buffer.from(digest).toString('hex')}`;
  } else {
    const envelope = bundle.content.dsseEnvelope;
    summary.payloadType = envelope.payloadType;
    summary.subjects = statementSubjects(Buffer.from(envelope.payload));
  }
  return summary;
}

function render(path: string, s: BundleSummary): string {
  const lines = [`${path} (NOT verified: this only shows what the bundle claims)`, `  media type:   ${s.mediaType}`, `  content:      ${s.content}`];
  if ('certificate' in s.signer) {
    const c = s.signer.certificate;
    // Fulcio certificates have an empty subject; a private CA's leaf is named by it.
    if (c.subject !== '') lines.push(`  cert subject: ${c.subject}`);
    lines.push(`  identity:     ${c.identity ?? '(none)'}`, `  issuer:       ${c.issuer ?? '(none)'}`);
    for (const [name, value] of Object.entries(c.claims)) lines.push(`  claim:        ${name}=${value}`);
    lines.push(`  certificate:  valid ${c.notBefore} to ${c.notAfter}${c.chainLength > 1 ? `, ${c.chainLength - 1} more in the chain` : ''}`);
  } else {
    lines.push(`  key hint:     ${s.signer.publicKeyHint}`);
  }
  for (const e of s.logEntries) {
    lines.push(`  log entry:    index ${e.logIndex}, ${e.kind}, log ${e.logId}${e.integratedTime ? `, integrated ${e.integratedTime}` : ''}`);
  }
  if (s.logEntries.length === 0) lines.push('  log entry:    none');
  for (const t of s.timestamps) lines.push(`  timestamp:    ${t} (RFC 3161)`);
  if (s.messageDigest) lines.push(`  digest:       ${s.messageDigest}`);
  if (s.payloadType) lines.push(`  payload type: ${s.payloadType}`);
  for (const subject of s.subjects ?? []) {
    const digests = Object.entries(subject.digest).map(([a, v]) => `${a}:${v}`).join(' ');
    lines.push(`  subject:      ${subject.name ?? '(unnamed)'} ${digests}`);
  }
  return lines.join('\n');
}
