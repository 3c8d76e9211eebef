// A private Sigstore instance on 127.0.0.1 for signing tests: Fulcio (with its
// CT log), Rekor and a timestamp authority from @sigstore/mock, plus an OIDC
// token endpoint that answers the way GitHub Actions' does. Everything runs
// over real HTTP in the test process; nothing reaches the internet.
//
// What the mocks do not do and this file adds, because a signer must meet it:
// - Fulcio refuses a token that is expired, not meant for Sigstore
//   (`aud`), or from an issuer it does not accept (the real one answers 401).
// - Each service can be told to fail: answer 500, or take the request and
//   never answer (a hang), so a client's timeouts and errors can be tested.
// - The services' clocks follow real time (the mocks read a Date object).
//
// Lessons the fixture generator learned, which signers must respect against
// these mocks: DSSE envelopes are logged as Rekor `intoto` entries (the mock's
// `dsse` entries do not verify), and Rekor's checkpoint names the log by its
// public name, so the trusted root lists `https://rekor.<name>.trustload.test`
// while clients talk to `url`.
import crypto from 'node:crypto';
import { writeFileSync } from 'node:fs';
import http from 'node:http';
import { join } from 'node:path';

import 'reflect-metadata';
import {
  fulcioHandler,
  initializeCA,
  initializeCTLog,
  initializeTLog,
  initializeTSA,
  rekorHandler,
  tsaHandler,
} from '@sigstore/mock';

export const GITHUB_ISSUER = 'https://token.actions.githubusercontent.com';
const HOUR = 60 * 60 * 1000;

const sha256 = (data) => crypto.createHash('sha256').update(data).digest();
// The mock TSA writes milliseconds without trailing zeros, which @sigstore/core cannot parse.
const wholeSecond = (ms) => Math.floor(ms / 1000) * 1000;

/** An unsigned JWT: the mock Fulcio reads the claims without checking a signature. */
export function unsignedJwt(claims) {
  const part = (value) => Buffer.from(JSON.stringify(value)).toString('base64url');
  return `${part({ alg: 'none', typ: 'JWT' })}.${part(claims)}.`;
}

/**
 * The claims GitHub Actions puts in a release workflow's token. The mock
 * Fulcio copies `sub` into the certificate's URI SAN (the real one uses
 * `job_workflow_ref`), so `sub` holds the workflow URL a real certificate names.
 */
export function githubClaims({ repository = 'acme/plugins', ref = 'refs/tags/v1.0.0', workflow = 'release.yml', repositoryId = '123456', ownerId = '7890' } = {}) {
  const workflowRef = `${repository}/.github/workflows/${workflow}@${ref}`;
  const now = Math.floor(Date.now() / 1000);
  return {
    iss: GITHUB_ISSUER,
    sub: `https://github.com/${workflowRef}`,
    aud: 'sigstore',
    iat: now,
    exp: now + 300,
    repository,
    repository_id: repositoryId,
    repository_owner: repository.split('/')[0],
    repository_owner_id: ownerId,
    ref,
    sha: '0123456789abcdef0123456789abcdef01234567',
    event_name: 'push',
    workflow: 'release',
    workflow_ref: workflowRef,
    job_workflow_ref: workflowRef,
    runner_environment: 'github-hosted',
  };
}

/** The identity (certificate SAN) a token made from `githubClaims(options)` is certified as. */
export const githubIdentity = (options) => githubClaims(options).sub;

/**
 * Starts the instance. `acceptedIssuers` are the OIDC issuers Fulcio accepts.
 * Returns its URLs, its trusted root, token helpers and fault switches.
 */
export async function startSigstore({ name = 'signing', acceptedIssuers = [GITHUB_ISSUER] } = {}) {
  const publicUrl = (service) => `https://${service}.${name}.trustload.test`;
  const newKey = () => crypto.generateKeyPairSync('ec', { namedCurve: 'P-256' });
  const clock = new Date(wholeSecond(Date.now()));

  const ctlog = await initializeCTLog(newKey(), clock);
  const ca = await initializeCA(newKey(), ctlog, clock);
  const tlog = await initializeTLog(publicUrl('rekor'), newKey(), clock);
  const tsa = await initializeTSA(newKey(), clock);

  const fulcio = fulcioHandler(ca);
  const services = new Map([
    [fulcio.path, { service: 'fulcio', handle: checkedFulcio(fulcio.fn, acceptedIssuers) }],
    ...[rekorHandler(tlog), tsaHandler(tsa)].map((h) => [h.path, { service: h.path.includes('timestamp') ? 'tsa' : 'rekor', handle: h.fn }]),
  ]);

  // The GitHub Actions token endpoint: a GET with the runner's request token as bearer.
  const requestToken = crypto.randomBytes(16).toString('hex');
  let actionsClaims = githubClaims();
  const faults = new Map();
  const requests = [];

  const server = http.createServer(async (req, res) => {
    const url = new URL(req.url, 'http://127.0.0.1');
    const route = url.pathname === '/actions/token' ? { service: 'token' } : services.get(url.pathname);
    requests.push({ service: route?.service, method: req.method, url: req.url, authorization: req.headers.authorization });
    const fault = route && faults.get(route.service);
    if (fault === 'hang') return; // the request is read and never answered
    if (fault === 500) return void res.writeHead(500, { 'Content-Type': 'text/plain' }).end('internal error (test fault)');
    if (route?.service === 'token') {
      if (req.method !== 'GET' || req.headers.authorization !== `Bearer ${requestToken}`) return void res.writeHead(401).end('bad request token');
      const audience = url.searchParams.get('audience');
      return void res.writeHead(200, { 'Content-Type': 'application/json' }).end(JSON.stringify({ value: unsignedJwt({ ...actionsClaims, aud: audience }) }));
    }
    if (req.method !== 'POST' || route === undefined) return void res.writeHead(404).end();
    const chunks = [];
    for await (const chunk of req) chunks.push(chunk);
    clock.setTime(wholeSecond(Date.now()));
    const { statusCode, response, contentType } = await route.handle(Buffer.concat(chunks).toString('utf8'));
    res.writeHead(statusCode, { 'Content-Type': contentType ?? 'text/plain' }).end(response);
  });
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
  const url = `http://127.0.0.1:${server.address().port}`;

  const validFor = { start: new Date(wholeSecond(Date.now() - HOUR)).toISOString() };
  const base64 = (bytes) => Buffer.from(bytes).toString('base64');
  const logInstance = (service, spki) => ({
    baseUrl: publicUrl(service),
    hashAlgorithm: 'SHA2_256',
    publicKey: { rawBytes: base64(spki), keyDetails: 'PKIX_ECDSA_P256_SHA_256', validFor },
    logId: { keyId: base64(sha256(spki)) },
  });
  const authority = (service, chain) => ({
    subject: { organization: 'trustload test', commonName: service },
    uri: publicUrl(service),
    certChain: { certificates: chain.map((der) => ({ rawBytes: base64(der) })) },
    validFor,
  });
  const trustedRoot = {
    mediaType: 'application/vnd.dev.sigstore.trustedroot+json;version=0.1',
    tlogs: [logInstance('rekor', tlog.publicKey)],
    certificateAuthorities: [authority('fulcio', [ca.rootCertificate])],
    ctlogs: [logInstance('ctfe', ctlog.publicKey)],
    timestampAuthorities: [authority('tsa', [tsa.intCertificate, tsa.rootCertificate])],
  };

  return {
    /** One origin serves Fulcio, Rekor and the TSA, each on its usual API path. */
    url,
    trustedRoot,
    /** Writes the trusted root as `trusted_root.json` in `dir`; returns its path. */
    writeTrustedRoot(dir) {
      const path = join(dir, 'trusted_root.json');
      writeFileSync(path, JSON.stringify(trustedRoot, null, 2));
      return path;
    },
    /** A token for `claims` (default: a GitHub release workflow's), as `SIGSTORE_ID_TOKEN` would carry it. */
    token: (claims = githubClaims()) => unsignedJwt(claims),
    /**
     * The environment of a GitHub Actions job with `id-token: write`. The URL
     * carries a query of its own, as GitHub's does, so clients must add
     * `audience` to it rather than replace it.
     */
    actionsEnv(claims = githubClaims()) {
      actionsClaims = claims;
      return {
        ACTIONS_ID_TOKEN_REQUEST_URL: `${url}/actions/token?api-version=2.0`,
        ACTIONS_ID_TOKEN_REQUEST_TOKEN: requestToken,
      };
    },
    /** `service`: 'fulcio' | 'rekor' | 'tsa' | 'token'; `fault`: 500 | 'hang' | undefined (healthy again). */
    fail(service, fault) {
      if (fault === undefined) faults.delete(service);
      else faults.set(service, fault);
    },
    /** Every request seen, oldest first: { service, method, url, authorization }. */
    requests,
    close() {
      server.closeAllConnections();
      return new Promise((resolve) => server.close(resolve));
    },
  };
}

/** The mock Fulcio, behind the token checks the real one makes first. */
function checkedFulcio(handle, acceptedIssuers) {
  return async (body) => {
    let claims;
    try {
      const token = JSON.parse(body).credentials.oidcIdentityToken;
      claims = JSON.parse(Buffer.from(token.split('.')[1], 'base64url').toString('utf8'));
    } catch {
      return { statusCode: 400, response: '{"code":400,"message":"malformed request"}', contentType: 'application/json' };
    }
    const problem =
      !acceptedIssuers.includes(claims.iss) ? `issuer ${claims.iss} is not supported`
      : claims.aud !== 'sigstore' && !(Array.isArray(claims.aud) && claims.aud.includes('sigstore')) ? 'the token is not for audience sigstore'
      : typeof claims.exp !== 'number' || claims.exp * 1000 <= Date.now() ? 'the token has expired'
      : undefined;
    if (problem !== undefined) {
      return { statusCode: 401, response: JSON.stringify({ code: 401, message: `There was an error processing the identity token: ${problem}` }), contentType: 'application/json' };
    }
    return handle(body);
  };
}
