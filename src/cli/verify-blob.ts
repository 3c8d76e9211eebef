import { existsSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { parseBundle } from '../bundle/parse-bundle.js';
import { ErrorCodes } from '../errors.js';
import { MAX_BUNDLE_BYTES, readArtifactFile, readFileLimited } from '../io/read.js';
import type { PolicySigner } from '../policy/schema.js';
import { parseCaPem } from '../trust/cas.js';
import { parsePublicKeyPem } from '../trust/keys.js';
import { resolveSigners, type LoadedTrust } from '../trust/signers.js';
import { parseTrustedRoot, type NamedTrustedRoot } from '../trust/trusted-root.js';
import { parseDigestArgument, type Artifact } from '../verify/artifact.js';
import type { TrustedCa } from '../verify/ca-chain.js';
import { compileIdentityPattern } from '../verify/signers.js';
import { verifyBundle } from '../verify/verify-bundle.js';
import { EXIT_VERIFIED, UsageError, type Io } from './output.js';

export const VERIFY_BLOB_HELP = `Usage:
  trustload verify-blob FILE_OR_DIGEST --bundle FILE
      (--certificate-identity ID | --certificate-identity-regexp RE) --certificate-oidc-issuer URL
      [--trusted-root FILE] [--json]
  trustload verify-blob FILE_OR_DIGEST --bundle FILE --key PEM
      [--trusted-root FILE] [--insecure-ignore-tlog] [--json]
  trustload verify-blob FILE_OR_DIGEST --bundle FILE --ca PEM
      [--certificate-subject DN] [--certificate-identity ID | --certificate-identity-regexp RE]
      [--trusted-root FILE] [--insecure-ignore-tlog] [--json]

Verifies one artifact against one Sigstore bundle, offline. FILE_OR_DIGEST is a
file, or sha256:<hex> when that is not a path on disk (the signature is then
checked over the digest: ECDSA and RSA keys only).

  --bundle FILE                      the Sigstore bundle (v0.1, v0.2 or v0.3)
  --certificate-identity ID          the exact signer identity (certificate SAN)
  --certificate-identity-regexp RE   or a pattern for it: ^...$, matched whole
  --certificate-oidc-issuer URL      the exact OIDC issuer
  --key PEM                          a public key file, instead of an identity
  --ca PEM                           a private CA (its root, then any intermediates), instead of an issuer
  --certificate-subject DN           with --ca: the leaf's exact subject, as openssl -nameopt RFC2253 prints it
  --trusted-root FILE                a private trusted_root.json instead of Sigstore public good
  --insecure-ignore-tlog             with --key or --ca: accept a bundle with no log entry
  --json                             print the result as JSON on stdout

Exit codes: 0 verified, 1 not verified, 2 usage or trust material error.`;

const OPTIONS = {
  bundle: { type: 'string' },
  'certificate-identity': { type: 'string' },
  'certificate-identity-regexp': { type: 'string' },
  'certificate-oidc-issuer': { type: 'string' },
  key: { type: 'string' },
  ca: { type: 'string' },
  'certificate-subject': { type: 'string' },
  'trusted-root': { type: 'string' },
  'insecure-ignore-tlog': { type: 'boolean' },
  json: { type: 'boolean' },
  help: { type: 'boolean' },
} as const;

const CLI_ROOT = 'trusted-root';

export function verifyBlob(args: string[], io: Io): number {
  const { values, positionals } = parseArgs({ args, options: OPTIONS, allowPositionals: true, strict: true });
  if (values.help) {
    io.out(VERIFY_BLOB_HELP);
    return EXIT_VERIFIED;
  }
  if (positionals.length !== 1) throw new UsageError('verify-blob takes exactly one FILE_OR_DIGEST (see --help)');
  if (values.bundle === undefined) throw new UsageError('verify-blob needs --bundle FILE');
  const target = positionals[0]!;

  const roots = new Map<string, NamedTrustedRoot>();
  if (values['trusted-root'] !== undefined) {
    const path = values['trusted-root'];
    roots.set(CLI_ROOT, { name: CLI_ROOT, root: parseTrustedRoot(readFileLimited(path, MAX_BUNDLE_BYTES, 'trusted root', ErrorCodes.POLICY), path) });
  }
  const keys = new Map();
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
  const signers = [...resolveSigners({ 'command-line': signer }, trust).values()];

  const artifact = readArtifact(target);
  const bundle = parseBundle(readFileLimited(values.bundle, MAX_BUNDLE_BYTES, 'bundle', ErrorCodes.BAD_BUNDLE, ErrorCodes.NO_BUNDLE), values.bundle);
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
    io.out(`trustload: verified ${target}: signed by ${who}`);
  }
  return EXIT_VERIFIED;
}

function signerFromFlags(values: { [K in keyof typeof OPTIONS]?: string | boolean }, roots: string[] | undefined): PolicySigner {
  const identity = values['certificate-identity'] as string | undefined;
  const identityPattern = values['certificate-identity-regexp'] as string | undefined;
  const issuer = values['certificate-oidc-issuer'] as string | undefined;
  const withRoots = roots ? { roots } : {};
  const subject = values['certificate-subject'] as string | undefined;
  if (values.ca !== undefined) return caSignerFromFlags(values.ca as string, subject, identity, identityPattern, values, withRoots);
  if (subject !== undefined) throw new UsageError('--certificate-subject applies to --ca only');
  if (values.key !== undefined) {
    if (identity !== undefined || identityPattern !== undefined || issuer !== undefined) {
      throw new UsageError('use either --key or --certificate-identity/--certificate-oidc-issuer, not both');
    }
    return { key: values.key as string, transparencyLog: values['insecure-ignore-tlog'] !== true, ...withRoots };
  }
  if (values['insecure-ignore-tlog']) throw new UsageError('--insecure-ignore-tlog applies to --key and --ca only; keyless signatures always need a log entry');
  if (issuer === undefined) throw new UsageError('verify-blob needs --certificate-oidc-issuer (or --key)');
  if ((identity === undefined) === (identityPattern === undefined)) {
    throw new UsageError('verify-blob needs exactly one of --certificate-identity or --certificate-identity-regexp (or --key)');
  }
  checkIdentityPattern(identityPattern);
  return identity !== undefined ? { issuer, identity, ...withRoots } : { issuer, identityPattern: identityPattern!, ...withRoots };
}

function caSignerFromFlags(
  ca: string,
  subject: string | undefined,
  identity: string | undefined,
  identityPattern: string | undefined,
  values: { [K in keyof typeof OPTIONS]?: string | boolean },
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
  checkIdentityPattern(identityPattern);
  return {
    ca,
    ...(subject !== undefined ? { subject } : {}),
    ...(identity !== undefined ? { identity } : {}),
    ...(identityPattern !== undefined ? { identityPattern } : {}),
    transparencyLog: values['insecure-ignore-tlog'] !== true,
    ...withRoots,
  };
}

function checkIdentityPattern(pattern: string | undefined): void {
  if (pattern === undefined) return;
  try {
    compileIdentityPattern(pattern);
  } catch (err) {
    throw new UsageError(`--certificate-identity-regexp ${(err as Error).message}`);
  }
}

/** A `sha256:<hex>` argument is a digest only when no file has that name (the conformance CLI protocol's rule). */
function readArtifact(target: string): Artifact {
  const digest = parseDigestArgument(target);
  if (digest !== undefined && !existsSync(target)) return { sha256: digest };
  return { bytes: readArtifactFile(target) };
}
