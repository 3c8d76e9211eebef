import { request } from 'undici';
import { signingError } from './signing-error.js';

/**
 * The ambient GitHub Actions OIDC token for Sigstore: GET
 * ACTIONS_ID_TOKEN_REQUEST_URL with `audience=sigstore` added to its query
 * and the request token as a bearer, answered with `{ "value": JWT }`. The job
 * needs `permissions: id-token: write` for GitHub to set both variables.
 */
export async function githubActionsToken(requestUrl: string, requestToken: string, timeoutMs: number): Promise<string> {
  let url: URL;
  try {
    url = new URL(requestUrl);
  } catch {
    throw signingError('ACTIONS_ID_TOKEN_REQUEST_URL is not a URL');
  }
  url.searchParams.set('audience', 'sigstore');
  const where = `GitHub Actions' token endpoint at ${url.origin}${url.pathname}`;
  let status: number;
  let text: string;
  try {
    const response = await request(url, {
      method: 'GET',
      headers: { authorization: `Bearer ${requestToken}`, accept: 'application/json' },
      headersTimeout: timeoutMs,
      bodyTimeout: timeoutMs,
      signal: AbortSignal.timeout(timeoutMs),
    });
    status = response.statusCode;
    text = await response.body.text();
  } catch (err) {
    throw signingError(`${where} ${networkFailure(err, timeoutMs)}: check the network and try again`);
  }
  if (status !== 200) {
    throw signingError(`${where} answered HTTP ${status}: check that the job has "permissions: id-token: write"`);
  }
  let value: unknown;
  try {
    value = (JSON.parse(text) as { value?: unknown }).value;
  } catch {
    value = undefined;
  }
  if (typeof value !== 'string' || value === '') throw signingError(`${where} answered without a token ("value")`);
  return value;
}

/** Why a request got no answer, in words: a timeout, a refused connection, an unknown host. */
export function networkFailure(err: unknown, timeoutMs: number): string {
  const { code, name } = (err ?? {}) as { code?: unknown; name?: unknown };
  if (name === 'TimeoutError' || name === 'AbortError' || code === 'UND_ERR_HEADERS_TIMEOUT' || code === 'UND_ERR_BODY_TIMEOUT' || code === 'UND_ERR_CONNECT_TIMEOUT') {
    return `did not answer within ${timeoutMs / 1000} s (--timeout)`;
  }
  if (typeof code === 'string' && code.startsWith('E')) return `cannot be reached (${code})`;
  return 'failed';
}
