import { ErrorCodes, TrustloadError } from '../errors.js';
import { readFileLimited } from '../io/read.js';
import { githubActionsToken } from './github-token.js';
import { signingError } from './signing-error.js';

export interface TokenOptions {
  /** A token given by the API caller. */
  identityToken?: string;
  /** --identity-token-file */
  identityTokenFile?: string;
  timeoutMs: number;
}

const SOURCES = 'SIGSTORE_ID_TOKEN, --identity-token-file FILE, or a GitHub Actions job with "permissions: id-token: write"';

/** Whether some source of a token is there, checked before hashing so that a missing one fails at once. */
export function requireTokenSource(options: TokenOptions): void {
  const env = process.env;
  if (options.identityToken !== undefined || options.identityTokenFile !== undefined || env.SIGSTORE_ID_TOKEN) return;
  if (env.ACTIONS_ID_TOKEN_REQUEST_URL && env.ACTIONS_ID_TOKEN_REQUEST_TOKEN) return;
  throw signingError(`keyless signing needs an OIDC identity token: none found in ${SOURCES}`);
}

/**
 * The OIDC token Fulcio certifies: the one given explicitly (the API's, or
 * --identity-token-file), else SIGSTORE_ID_TOKEN, else GitHub Actions'
 * ambient token. Refused before any request when it is not a JWT or has
 * expired. The token itself is never put in a message.
 */
export async function identityToken(options: TokenOptions): Promise<string> {
  const env = process.env;
  let token: string;
  let source: string;
  if (options.identityToken !== undefined) {
    [token, source] = [options.identityToken, 'the identityToken option'];
  } else if (options.identityTokenFile !== undefined) {
    try {
      token = readFileLimited(options.identityTokenFile, 64 * 1024, 'identity token file', ErrorCodes.SIGNING).toString('utf8').trim();
    } catch (err) {
      throw err instanceof TrustloadError ? signingError(err.message) : err;
    }
    source = options.identityTokenFile;
  } else if (env.SIGSTORE_ID_TOKEN) {
    [token, source] = [env.SIGSTORE_ID_TOKEN.trim(), 'SIGSTORE_ID_TOKEN'];
  } else if (env.ACTIONS_ID_TOKEN_REQUEST_URL && env.ACTIONS_ID_TOKEN_REQUEST_TOKEN) {
    token = await githubActionsToken(env.ACTIONS_ID_TOKEN_REQUEST_URL, env.ACTIONS_ID_TOKEN_REQUEST_TOKEN, options.timeoutMs);
    source = "GitHub Actions' token endpoint";
  } else {
    throw signingError(`keyless signing needs an OIDC identity token: none found in ${SOURCES}`);
  }
  checkToken(token, source);
  return token;
}

function checkToken(token: string, source: string): void {
  const parts = token.split('.');
  let claims: { exp?: unknown } | undefined;
  try {
    claims = parts.length === 3 ? (JSON.parse(Buffer.from(parts[1]!, 'base64url').toString('utf8')) as { exp?: unknown }) : undefined;
  } catch {
    claims = undefined;
  }
  if (claims === null || typeof claims !== 'object') throw signingError(`the identity token from ${source} is not a JWT`);
  if (typeof claims.exp === 'number' && claims.exp * 1000 <= Date.now()) {
    throw signingError(`the identity token from ${source} expired at ${new Date(claims.exp * 1000).toISOString()}: get a fresh one`);
  }
}
