import type { KeyObject } from 'node:crypto';
import { existsSync } from 'node:fs';
import { parseArgs } from 'node:util';
import type { Bundle } from '@sigstore/bundle';
import { detachedSignatureBundle } from '../bundle/detached.js';
import { parseBundle } from '../bundle/parse-bundle.js';
import { ErrorCodes } from '../errors.js';
import { MAX_ARTIFACT_BYTES, MAX_BUNDLE_BYTES, readArtifactFile, readFileLimited } from '../io/read.js';
import { readStandardInput } from '../io/read-stdin.js';
import type { PolicySigner } from '../policy/schema.js';
import { parseCaPem } from '../trust/cas.js';
import { parsePublicKeyPem } from '../trust/keys.js';
import { resolveSigners, type LoadedTrust } from '../trust/signers.js';
import { parseTrustedRoot, type NamedTrustedRoot } from '../trust/trusted-root.js';
import { parseDigestArgument, type Artifact } from '../verify/artifact.js';
import type { TrustedCa } from '../verify/ca-chain.js';
import type { WorkflowClaimName } from '../verify/claims.js';
import { compileIdentityPattern, type Matcher, type SignerSpec } from '../verify/signers.js';
import { verifyBundle } from '../verify/verify-bundle.js';
import { EXIT_VERIFIED, UsageError, type Io } from './output.js';

export const VERIFY_BLOB_HELP = `Usage:
  trustload verify-blob FILE_OR_DIGEST --bundle FILE
      (--certificate-identity ID | --certificate-identity-regexp RE)
      (--certificate-oidc-issuer URL | --certificate-oidc-issuer-regexp RE)
      [--certificate-github-workflow-repository|ref|sha|trigger|name VALUE]...
      [--trusted-root FILE] [--json]
  trustload verify-blob FILE_OR_DIGEST --bundle FILE --key PEM
      [--trusted-root FILE] [--insecure-ignore-tlog] [--json]
  trustload verify-blob FILE_OR_DIGEST --signature FILE --key PEM --insecure-ignore-tlog [--json]
  trustload verify-blob FILE_OR_DIGEST --bundle FILE --ca PEM
      [--certificate-subject DN] [--certificate-identity ID | --certificate-identity-regexp RE]
      [--trusted-root FILE] [--insecure-ignore-tlog] [--json]

Verifies one artifact against one Sigstore bundle, offline. FILE_OR_DIGEST is a
file, - for standard input, or sha256:<hex> when that is not a path on disk
(the signature is then checked over the digest: ECDSA and RSA keys only).

  --bundle FILE                      the Sigstore bundle (v0.1, v0.2 or v0.3)
  --certificate-identity ID          the exact signer identity (certificate SAN)
  --certificate-identity-regexp RE   or a pattern for it: ^...$, matched whole
  --certificate-oidc-issuer URL      the exact OIDC issuer
  --certificate-oidc-issuer-regexp RE  or a pattern for it: ^...$, matched whole
  --certificate-github-workflow-repository|ref|sha|trigger|name VALUE
                                     the exact value of Fulcio's (deprecated) GitHub workflow
                                     extension, as cosign matches it (repository is owner/name)
  --key PEM                          a public key file, instead of an identity
  --ca PEM                           a private CA (its root, then any intermediates), instead of an issuer
  --certificate-subject DN           with --ca: the leaf's exact subject, as openssl -nameopt RFC2253 prints it
  --trusted-root FILE                a private trusted_root.json instead of Sigstore public good
  --insecure-ignore-tlog             with --key or --ca: accept a bundle with no log entry
  --signature FILE                   cosign's detached signature (base64) instead of --bundle:
                                     with --key and --insecure-ignore-tlog only
  --json                             print the result as JSON on stdout

Exit codes: 0 verified, 1 not verified, 2 usage or trust material error.`;

const OPTIONS = {
  bundle: { type: 'string' },
  'certificate-identity': { type: 'string' },
  'certificate-identity-regexp': { type: 'string' },
  'certificate-oidc-issuer': { type: 'string' },
  'certificate-oidc-issuer-regexp': { type: 'string' },
  'certificate-github-workflow-repository': { type: 'string' },
  'certificate-github-workflow-ref': { type: 'string' },
  'certificate-github-workflow-sha': { type: 'string' },
  'certificate-github-workflow-trigger': { type: 'string' },
  'certificate-github-workflow-name': { type: 'string' },
  signature: { type: 'string' },
  certificate: { type: 'string' },
  key: { type: 'string' },
  ca: { type: 'string' },
  'certificate-subject': { type: 'string' },
  'trusted-root': { type: 'string' },
  'insecure-ignore-tlog': { type: 'boolean' },
  json: { type: 'boolean' },
  help: { type: 'boolean' },
} as const;

const CLI_ROOT = 'trusted-root';

/** cosign's flags for the deprecated GitHub workflow extensions, and the claims they match. */
const WORKFLOW_FLAGS = {
  'certificate-github-workflow-trigger': 'githubWorkflowTrigger',
  'certificate-github-workflow-sha': 'githubWorkflowSha',
  'certificate-github-workflow-name': 'githubWorkflowName',
  'certificate-github-workflow-repository': 'githubWorkflowRepository',
  'certificate-github-workflow-ref': 'githubWorkflowRef',
} as const satisfies Partial<Record<keyof typeof OPTIONS, WorkflowClaimName>>;

type Values = { [K in keyof typeof OPTIONS]?: string | boolean };

const DETACHED_KEYLESS =
  'a detached signature with a certificate cannot be checked offline: it carries no proof of when it was made ' +
  '(no log entry, no timestamp), and the certificate is valid for ten minutes only. Sign with `trustload sign` or ' +
  '`cosign sign-blob --bundle FILE.sigstore.json` to get a bundle, and pass it with --bundle';

export async function verifyBlob(args: string[], io: Io): Promise<number> {
  const { values, positionals } = parseArgs({ args, options: OPTIONS, allowPositionals: true, strict: true });
  if (values.help) {
    io.out(VERIFY_BLOB_HELP);
    return EXIT_VERIFIED;
  }
  if (positionals.length !== 1) throw new UsageError('verify-blob takes exactly one FILE_OR_DIGEST (see --help)');
  if (values.certificate !== undefined) throw new UsageError(`--certificate: ${DETACHED_KEYLESS}`);
  if (values.signature !== undefined) checkDetachedFlags(values);
  else if (values.bundle === undefined) throw new UsageError('verify-blob needs --bundle FILE (or --signature FILE with --key)');
  const target = positionals[0]!;

  const roots = new Map<string, NamedTrustedRoot>();
  if (values['trusted-root'] !== undefined) {
    const path = values['trusted-root'];
    roots.set(CLI_ROOT, { name: CLI_ROOT, root: parseTrustedRoot(readFileLimited(path, MAX_BUNDLE_BYTES, 'trusted root', ErrorCodes.POLICY), path) });
  }
  const keys = new Map<string, KeyObject>();
  const signer = signerFromFlags(values, roots.size > 0 ? [CLI_ROOT] : undefined);
  if (values.key !== undefined) {
    // The key is named by its file, so messages and --json say which key.
    keys.set(values.key, parsePublicKeyPem(readFileLimited(values.key, 1024 * 1024, 'public key', ErrorCodes.POLICY).toString('utf8'), values.key));
  }
  const cas = new Map<string, TrustedCa>();
  if (values.ca !== undefined) {
    cas.set(values.ca, parseCaPem(values.ca, readFileLimited(values.ca, 1024 * 1024, 'CA file', ErrorCodes.POLICY).toString('utf8'), values.ca));
  }
  const trust: LoadedTrust = { roots, keys, cas };
  const signers = [...resolveSigners({ 'command-line': signer }, trust).values()].map((spec) => withCosignMatchers(spec, values));

  const artifact = await readArtifact(target);
  const bundle = readBundle(values, artifact, keys);
  const verified = verifyBundle(bundle, artifact, signers);

  if (values.json) {
    io.out(JSON.stringify({ verified: true, artifact: target, signer: verified }, null, 2));
  } else {
    const who =
      verified.kind === 'key'
        ? `key ${values.key}`
        : verified.kind === 'ca'
          ? `${verified.subject} (CA ${values.ca})`
          : `${verified.identity} (issuer ${verified.issuer})`;
    io.out(`trustload: verified ${target === '-' ? 'standard input' : target}: signed by ${who}`);
  }
  return EXIT_VERIFIED;
}

/** The detached form is key-only and offline: anything else it is combined with is a usage error that says why. */
function checkDetachedFlags(values: Values): void {
  if (values.bundle !== undefined) throw new UsageError('use either --bundle or --signature, not both');
  if (values.key === undefined) throw new UsageError(`--signature needs --key: ${DETACHED_KEYLESS}`);
  if (values['trusted-root'] !== undefined) {
    throw new UsageError('--signature takes no --trusted-root: a detached signature carries no log entry or timestamp for a trusted root to vouch for');
  }
  if (values['insecure-ignore-tlog'] !== true) {
    throw new UsageError(
      '--signature needs --insecure-ignore-tlog: a detached signature carries no transparency log entry, so it can only be checked ' +
        'against the key alone (to check a log entry offline, verify a bundle: `cosign sign-blob --bundle` or `trustload sign`)',
    );
  }
}

function signerFromFlags(values: Values, roots: string[] | undefined): PolicySigner {
  const identity = values['certificate-identity'] as string | undefined;
  const identityPattern = values['certificate-identity-regexp'] as string | undefined;
  const issuer = values['certificate-oidc-issuer'] as string | undefined;
  const issuerPattern = values['certificate-oidc-issuer-regexp'] as string | undefined;
  const withRoots = roots ? { roots } : {};
  const subject = values['certificate-subject'] as string | undefined;
  const workflowFlag = Object.keys(WORKFLOW_FLAGS).find((flag) => values[flag as keyof Values] !== undefined);
  if ((values.ca !== undefined || values.key !== undefined) && (workflowFlag !== undefined || issuerPattern !== undefined)) {
    throw new UsageError(`--${workflowFlag ?? 'certificate-oidc-issuer-regexp'} applies to keyless signatures only, not to --key or --ca`);
  }
  if (values.ca !== undefined) return caSignerFromFlags(values.ca as string, subject, identity, identityPattern, values, withRoots);
  if (subject !== undefined) throw new UsageError('--certificate-subject applies to --ca only');
  if (values.key !== undefined) {
    if (identity !== undefined || identityPattern !== undefined || issuer !== undefined) {
      throw new UsageError('use either --key or --certificate-identity/--certificate-oidc-issuer, not both');
    }
    return { key: values.key as string, transparencyLog: values['insecure-ignore-tlog'] !== true, ...withRoots };
  }
  if (values['insecure-ignore-tlog']) throw new UsageError('--insecure-ignore-tlog applies to --key and --ca only; keyless signatures always need a log entry');
  if ((issuer === undefined) === (issuerPattern === undefined)) {
    throw new UsageError('verify-blob needs exactly one of --certificate-oidc-issuer or --certificate-oidc-issuer-regexp (or --key)');
  }
  if ((identity === undefined) === (identityPattern === undefined)) {
    throw new UsageError('verify-blob needs exactly one of --certificate-identity or --certificate-identity-regexp (or --key)');
  }
  checkPattern('certificate-identity-regexp', identityPattern);
  checkPattern('certificate-oidc-issuer-regexp', issuerPattern);
  // The issuer pattern is not something a policy can say: withCosignMatchers puts it in place of this exact value.
  const policyIssuer = issuer ?? issuerPattern!;
  return identity !== undefined
    ? { issuer: policyIssuer, identity, ...withRoots }
    : { issuer: policyIssuer, identityPattern: identityPattern!, ...withRoots };
}

/**
 * cosign's keyless flags that go beyond a policy signer: an issuer pattern,
 * and the deprecated GitHub workflow extensions (a policy pins their
 * successors, which hold other values). They refine the resolved signer;
 * verifyBundle matches them like any identity and claim.
 */
function withCosignMatchers(spec: SignerSpec, values: Values): SignerSpec {
  if (spec.kind !== 'keyless') return spec;
  const issuerPattern = values['certificate-oidc-issuer-regexp'] as string | undefined;
  const issuer: Matcher = issuerPattern !== undefined ? { pattern: compileIdentityPattern(issuerPattern) } : spec.issuer;
  const claims = { ...spec.claims };
  for (const [flag, claim] of Object.entries(WORKFLOW_FLAGS)) {
    const value = values[flag as keyof Values];
    if (typeof value === 'string') claims[claim] = value;
  }
  return { ...spec, issuer, claims };
}

function caSignerFromFlags(
  ca: string,
  subject: string | undefined,
  identity: string | undefined,
  identityPattern: string | undefined,
  values: Values,
  withRoots: { roots?: string[] },
): PolicySigner {
  if (values.key !== undefined || values['certificate-oidc-issuer'] !== undefined) {
    throw new UsageError('--ca takes no --key and no --certificate-oidc-issuer');
  }
  if (identity !== undefined && identityPattern !== undefined) {
    throw new UsageError('use either --certificate-identity or --certificate-identity-regexp, not both');
  }
  if (subject === undefined && identity === undefined && identityPattern === undefined) {
    throw new UsageError('--ca needs --certificate-subject and/or --certificate-identity (or --certificate-identity-regexp)');
  }
  checkPattern('certificate-identity-regexp', identityPattern);
  return {
    ca,
    ...(subject !== undefined ? { subject } : {}),
    ...(identity !== undefined ? { identity } : {}),
    ...(identityPattern !== undefined ? { identityPattern } : {}),
    transparencyLog: values['insecure-ignore-tlog'] !== true,
    ...withRoots,
  };
}

/**
 * cosign searches an unanchored pattern anywhere in the value, so
 * "acme/plugins" there also accepts "evil/acme/plugins-fork". Rather than
 * read the same text differently, trustload asks for the anchors.
 */
function checkPattern(flag: string, pattern: string | undefined): void {
  if (pattern === undefined) return;
  try {
    compileIdentityPattern(pattern);
  } catch (err) {
    const why = /must start with/.test((err as Error).message)
      ? ': the pattern must match the whole value, and cosign would also accept values that merely contain an unanchored one'
      : '';
    throw new UsageError(`--${flag} ${(err as Error).message}${why}`);
  }
}

/** A `sha256:<hex>` argument is a digest only when no file has that name (the conformance CLI protocol's rule); `-` is standard input. */
async function readArtifact(target: string): Promise<Artifact> {
  if (target === '-') return { bytes: await readStandardInput(MAX_ARTIFACT_BYTES) };
  const digest = parseDigestArgument(target);
  if (digest !== undefined && !existsSync(target)) return { sha256: digest };
  return { bytes: readArtifactFile(target) };
}

/** The bundle file, or the bundle a detached signature stands for (checkDetachedFlags allowed it only with --key). */
function readBundle(values: Values, artifact: Artifact, keys: ReadonlyMap<string, KeyObject>): Bundle {
  if (values.signature !== undefined) {
    const path = values.signature as string;
    const text = readFileLimited(path, 64 * 1024, 'signature', ErrorCodes.BAD_BUNDLE, ErrorCodes.NO_BUNDLE).toString('utf8');
    return detachedSignatureBundle(text, path, keys.get(values.key as string)!, artifact);
  }
  const path = values.bundle as string;
  return parseBundle(readFileLimited(path, MAX_BUNDLE_BYTES, 'bundle', ErrorCodes.BAD_BUNDLE, ErrorCodes.NO_BUNDLE), path);
}
