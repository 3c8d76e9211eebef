import { TrustloadError } from '../errors.js';
import { networkFailure } from './github-token.js';
import { redact, signingError } from './signing-error.js';

export interface Services {
  fulcio?: string;
  rekor?: string;
  tsa?: string;
}

// @sigstore/sign's InternalError codes, by the service that failed.
const SERVICE_OF: Record<string, keyof Services> = {
  CA_CREATE_SIGNING_CERTIFICATE_ERROR: 'fulcio',
  TLOG_CREATE_ENTRY_ERROR: 'rekor',
  TLOG_FETCH_ENTRY_ERROR: 'rekor',
  TSA_CREATE_TIMESTAMP_ERROR: 'tsa',
};
const NAMES: Record<keyof Services, string> = { fulcio: 'Fulcio', rekor: 'Rekor', tsa: 'the timestamp authority' };
const FLAGS: Record<keyof Services, string> = { fulcio: '--fulcio-url', rekor: '--rekor-url', tsa: '--tsa-url' };

/**
 * What @sigstore/sign threw, as a signing error that names the service, its
 * URL and what to do. Messages the services wrote are kept (shortened) with
 * every secret taken out: a service may echo the token it was sent.
 */
export function fromSigningLibrary(err: unknown, services: Services, timeoutMs: number, secrets: readonly string[]): TrustloadError {
  if (err instanceof TrustloadError) return err;
  const { code, cause } = (err ?? {}) as { code?: unknown; cause?: unknown };
  if (cause instanceof TrustloadError) return cause; // our own token retrieval, wrapped by FulcioSigner
  if (code === 'IDENTITY_TOKEN_PARSE_ERROR') return signingError('the identity token is not a JWT with a subject Fulcio can certify');
  if (code === 'IDENTITY_TOKEN_READ_ERROR') return signingError('cannot read the identity token');
  const service = typeof code === 'string' ? SERVICE_OF[code] : undefined;
  if (service === undefined) {
    return signingError(`signing failed: ${redact(err instanceof Error ? err.message : String(err), secrets).slice(0, 300)}`);
  }
  const where = `${NAMES[service]} at ${services[service] ?? '(default URL)'}`;
  const status = (cause as { statusCode?: unknown } | undefined)?.statusCode;
  if (typeof status === 'number') {
    // HTTPError's message starts with the status, which the message already gives.
    const said = redact(String((cause as Error).message ?? ''), secrets).replace(/^\(\d+\) */, '').replace(/\s+/g, ' ').slice(0, 300);
    return signingError(`${where} answered HTTP ${status} (${said}): ${advice(service, status)}`);
  }
  const type = (cause as { type?: unknown } | undefined)?.type;
  const failure = type === 'request-timeout' ? `did not answer within ${timeoutMs / 1000} s (--timeout)` : networkFailure(cause, timeoutMs);
  return signingError(`${where} ${failure}: check ${FLAGS[service]}, the network, and try again`);
}

function advice(service: keyof Services, status: number): string {
  if (service === 'fulcio' && (status === 400 || status === 401 || status === 403)) {
    return 'Fulcio refused the identity token: it must be fresh, have the audience "sigstore", and come from an issuer this Fulcio trusts';
  }
  if (status >= 500) return `the service failed; try again later, or check ${FLAGS[service]}`;
  return `the request was refused; check ${FLAGS[service]}`;
}
