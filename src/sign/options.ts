import type { Guard } from '../guard/guard.js';

export interface SignOptions {
  /** A PEM private key file (ECDSA P-256/P-384, Ed25519, RSA). */
  key?: string;
  /** Its passphrase, when encrypted (otherwise TRUSTLOAD_KEY_PASSWORD, else asked on a terminal). */
  passphrase?: string;
  /** Sign with a Fulcio certificate for an OIDC identity instead of a key. */
  keyless?: boolean;
  /** The OIDC token (otherwise identityTokenFile, SIGSTORE_ID_TOKEN, or GitHub Actions' token endpoint). */
  identityToken?: string;
  identityTokenFile?: string;
  fulcioUrl?: string;
  rekorUrl?: string;
  tsaUrl?: string;
  /** With a key: also record the signature in Rekor (keyless signatures always are). */
  tlogUpload?: boolean;
  /** Seconds each request to a service may take (default 60). */
  timeout?: number;
  /** A directory's manifest bundle name (default manifest.sigstore.json). */
  bundle?: string;
  method?: 'files' | 'shards';
  shardSize?: number;
  /** Paths inside a directory left out of its manifest, recorded in it. */
  ignore?: readonly string[];
  /** Sign exactly the files `npm pack` would publish from the directory. */
  package?: boolean;
  /** After writing, verify the bundle against this policy as the loader would. */
  policy?: string;
  onProgress?: (done: number, total: number) => void;
  /** One-line warnings (a readable key file, a key kind model_signing cannot verify); default: none shown. */
  onWarning?: (line: string) => void;
}

/** The options after checking, with the policy's guard when one is given. */
export interface CheckedOptions extends SignOptions {
  timeoutMs: number;
  guard?: Guard;
}

export const PUBLIC_GOOD = {
  fulcio: 'https://fulcio.sigstore.dev',
  rekor: 'https://rekor.sigstore.dev',
} as const;

/** What is wrong with a set of options, for a usage error; undefined when they can be used. */
export function optionProblem(options: SignOptions): string | undefined {
  if ((options.key !== undefined) === (options.keyless === true)) return 'sign needs exactly one of --key PEM or --keyless';
  if (options.key !== undefined) {
    for (const [value, flag] of [[options.identityTokenFile, '--identity-token-file'], [options.identityToken, 'identityToken'], [options.fulcioUrl, '--fulcio-url'], [options.tsaUrl, '--tsa-url']] as const) {
      if (value !== undefined) return `${flag} applies to --keyless only`;
    }
  } else if (options.tlogUpload === true) {
    return '--tlog-upload applies to --key only: keyless signatures are always uploaded to Rekor';
  }
  if (options.timeout !== undefined && !(Number.isFinite(options.timeout) && options.timeout > 0)) return '--timeout takes a number of seconds above 0';
  if (options.method !== undefined && options.method !== 'files' && options.method !== 'shards') return '--method is files or shards';
  if (options.shardSize !== undefined && !(Number.isSafeInteger(options.shardSize) && options.shardSize > 0)) return '--shard-size takes a whole number of bytes above 0';
  if (options.shardSize !== undefined && options.method !== 'shards') return '--shard-size applies to --method shards only';
  if (options.bundle !== undefined && (options.bundle === '' || options.bundle === '.' || options.bundle === '..' || /[/\\\0]/.test(options.bundle))) {
    return '--bundle takes a file name inside the directory (no folders)';
  }
  for (const [value, flag] of [[options.fulcioUrl, '--fulcio-url'], [options.rekorUrl, '--rekor-url'], [options.tsaUrl, '--tsa-url']] as const) {
    if (value !== undefined && !isHttpUrl(value)) return `${flag} takes an http(s) URL`;
  }
  return undefined;
}

function isHttpUrl(value: string): boolean {
  try {
    const url = new URL(value);
    return url.protocol === 'https:' || url.protocol === 'http:';
  } catch {
    return false;
  }
}
