import type { KeyObject } from 'node:crypto';
import { FulcioSigner, RekorWitness, TSAWitness, type Signer, type Witness } from '@sigstore/sign';
import { identityToken, requireTokenSource } from './identity-token.js';
import { signingDigest, keySigner } from './key-signer.js';
import { PUBLIC_GOOD, type CheckedOptions } from './options.js';
import { readPrivateKey } from './private-key.js';
import type { Services } from './service-errors.js';

/** Who signs and who vouches for it, made once for every path of one command. */
export interface Signing {
  signer: Signer;
  witnesses: Witness[];
  /** The services contacted, for messages. */
  services: Services;
  /** What a message signature's digest is (P-384 keys: SHA-384). */
  messageDigest: 'sha256' | 'sha384';
  /** The private key, when signing with one. */
  key?: KeyObject;
  /** Secrets to keep out of every message (the token, once fetched). */
  secrets: string[];
}

/**
 * DSSE envelopes are logged as `intoto` entries: every Rekor v1 takes them
 * and every Sigstore verifier reads them (the `dsse` entries of
 * @sigstore/mock's Rekor do not verify). Message signatures are `hashedrekord`.
 */
const rekorWitness = (rekorBaseURL: string, fetch: ReturnType<typeof fetchOptions>): RekorWitness =>
  new RekorWitness({ rekorBaseURL, entryType: 'intoto', ...fetch });

/**
 * Every request gets `timeoutMs`, and is retried (a 5xx, a dropped
 * connection) only while the first attempt's budget lasts: a service that
 * hangs ends the command after about one timeout, not after a retry series.
 */
function fetchOptions(timeoutMs: number): { timeout: number; retry: { retries: number; factor: number; minTimeout: number; maxRetryTime: number } } {
  return { timeout: timeoutMs, retry: { retries: 2, factor: 2, minTimeout: 500, maxRetryTime: timeoutMs } };
}

export async function prepareSigning(options: CheckedOptions): Promise<Signing> {
  const warn = options.onWarning ?? (() => {});
  const fetch = fetchOptions(options.timeoutMs);
  const secrets: string[] = [];
  if (options.key !== undefined) {
    const key = await readPrivateKey(options.key, warn, options.passphrase);
    const services: Services = options.tlogUpload === true ? { rekor: options.rekorUrl ?? PUBLIC_GOOD.rekor } : {};
    const witnesses: Witness[] = services.rekor === undefined ? [] : [rekorWitness(services.rekor, fetch)];
    return { signer: keySigner(key), witnesses, services, messageDigest: signingDigest(key) === 'sha384' ? 'sha384' : 'sha256', key, secrets };
  }
  requireTokenSource(options);
  let token: Promise<string> | undefined;
  const getToken = (): Promise<string> => {
    token ??= identityToken(options).then((value) => {
      secrets.push(value);
      return value;
    });
    return token;
  };
  const services: Services = { fulcio: options.fulcioUrl ?? PUBLIC_GOOD.fulcio, rekor: options.rekorUrl ?? PUBLIC_GOOD.rekor };
  if (options.tsaUrl !== undefined) services.tsa = options.tsaUrl;
  const witnesses: Witness[] = [rekorWitness(services.rekor!, fetch)];
  if (services.tsa !== undefined) witnesses.push(new TSAWitness({ tsaBaseURL: services.tsa, ...fetch }));
  const signer = new FulcioSigner({ fulcioBaseURL: services.fulcio!, identityProvider: { getToken }, ...fetch });
  return { signer, witnesses, services, messageDigest: 'sha256', secrets };
}
