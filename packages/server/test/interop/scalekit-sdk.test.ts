// The hosted service's official Node SDK against a live Sesame on a loopback port: an app written
// for the hosted service must work unmodified (spec: "Its HTTP surface matches the hosted
// service's"). Only the SDK's auth methods are exercised; its management clients speak gRPC to the
// hosted service and are out of scope. The SDK opens no connection when constructed (it fetches a
// client_credentials token lazily, on the first management call), so nothing here leaves 127.0.0.1.
import { ScalekitClient, ScalekitValidateTokenFailureException } from '@scalekit-sdk/node';
import { decodeJwt } from 'jose';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { Agent, pkcePair } from '../support/agent.ts';
import { startTestServer, type TestServer } from '../support/server.ts';
import { completeSignIn, requestsSince } from './complete-sign-in.ts';

let server: TestServer;
let scalekit: ScalekitClient;

beforeAll(async () => {
  server = await startTestServer();
  scalekit = new ScalekitClient(server.url, server.web.id, server.web.secret ?? '');
});
afterAll(async () => {
  await server?.close();
});

const scopes = ['openid', 'profile', 'email', 'offline_access'];

/** getAuthorizationUrl → the browser signs in → authenticateWithCode, as the seed's steps 1–2. */
async function signInWithSdk(agent: Agent, options: { pkce?: boolean; client?: ScalekitClient } = {}) {
  const client = options.client ?? scalekit;
  const redirectUri = server.web.redirectUri;
  const pkce = options.pkce ? pkcePair() : null;
  const url = client.getAuthorizationUrl(redirectUri, {
    scopes,
    state: 'sdk-state',
    nonce: 'sdk-nonce',
    ...(pkce ? { codeChallenge: pkce.challenge, codeChallengeMethod: 'S256' } : {}),
  });
  const callback = await completeSignIn(agent, server, url);
  const code = callback.searchParams.get('code');
  if (!code) throw new Error(`no code in ${callback}`);
  const result = await client.authenticateWithCode(
    code,
    redirectUri,
    pkce ? { codeVerifier: pkce.verifier } : undefined,
  );
  return { callback, code, result };
}

describe('@scalekit-sdk/node 2.11 against Sesame', () => {
  it('constructing the client and building URLs sends nothing: no eager client_credentials token', async () => {
    const before = server.logs.length;
    const client = new ScalekitClient(server.url, server.web.id, server.web.secret ?? '');
    client.getAuthorizationUrl(server.web.redirectUri, { state: 's' });
    client.getLogoutUrl({ postLogoutRedirectUri: server.web.postLogoutRedirectUri });
    // A round trip of our own, so that anything the SDK had started would have been logged first.
    await fetch(`${server.url}/health`);
    expect(requestsSince(server, before)).toEqual(['GET /health']);
  });

  it('getAuthorizationUrl and getLogoutUrl target the endpoints discovery advertises (OIDC Discovery §3)', async () => {
    const discovery = (await (await fetch(`${server.url}/.well-known/openid-configuration`)).json()) as {
      authorization_endpoint: string;
      end_session_endpoint: string;
    };
    const url = new URL(
      scalekit.getAuthorizationUrl(server.web.redirectUri, { scopes, state: 'st', nonce: 'nn' }),
    );
    expect(`${url.origin}${url.pathname}`).toBe(discovery.authorization_endpoint);
    expect(Object.fromEntries(url.searchParams)).toEqual({
      response_type: 'code',
      client_id: server.web.id,
      redirect_uri: server.web.redirectUri,
      scope: scopes.join(' '),
      state: 'st',
      nonce: 'nn',
    });
    const logout = new URL(
      scalekit.getLogoutUrl({ idTokenHint: 'x', postLogoutRedirectUri: 'y', state: 'z' }),
    );
    expect(`${logout.origin}${logout.pathname}`).toBe(discovery.end_session_endpoint);
    expect(Object.fromEntries(logout.searchParams)).toEqual({
      id_token_hint: 'x',
      post_logout_redirect_uri: 'y',
      state: 'z',
    });
  });

  it('sign-in redirects to the registered URI with code, state and iss (RFC 6749 §4.1.2, RFC 9207)', async () => {
    const { callback } = await signInWithSdk(new Agent());
    expect(`${callback.origin}${callback.pathname}`).toBe(server.web.redirectUri);
    expect(callback.searchParams.get('state')).toBe('sdk-state');
    expect(callback.searchParams.get('iss')).toBe(server.url);
  });

  it('authenticateWithCode posts one form to /oauth/token and returns every token (RFC 6749 §4.1.3)', async () => {
    const agent = new Agent();
    const pkce = pkcePair();
    const url = scalekit.getAuthorizationUrl(server.web.redirectUri, {
      scopes,
      state: 'st',
      nonce: 'n-sdk',
      codeChallenge: pkce.challenge,
      codeChallengeMethod: 'S256',
    });
    const code = (await completeSignIn(agent, server, url)).searchParams.get('code') ?? '';
    const before = server.logs.length;
    const result = await scalekit.authenticateWithCode(code, server.web.redirectUri, {
      codeVerifier: pkce.verifier,
    });
    expect(requestsSince(server, before)).toEqual(['POST /oauth/token']);
    expect(result.expiresIn).toBe(300);
    expect(result.accessToken).toMatch(/^ey/);
    expect(result.refreshToken).toMatch(/^[A-Za-z0-9_-]{43,}$/);
    const idClaims = decodeJwt(result.idToken);
    expect(idClaims).toMatchObject({ iss: server.url, aud: [server.web.id], nonce: 'n-sdk' });
  });

  it('authenticateWithCode builds `user` from the ID token claims (OIDC Core §5.1)', async () => {
    const { result } = await signInWithSdk(new Agent());
    expect(result.user).toEqual({
      id: server.user.id,
      email: server.user.email,
      emailVerified: true,
      name: 'Ada Lovelace',
      givenName: 'Ada',
      familyName: 'Lovelace',
    });
  });

  it('authenticateWithCode with PKCE sends code_verifier and succeeds (RFC 7636 §4.5)', async () => {
    const { result } = await signInWithSdk(new Agent(), { pkce: true });
    expect(result.user.id).toBe(server.user.id);
    await expect(
      scalekit.validateToken(result.idToken, { issuer: server.url, audience: [server.web.id] }),
    ).resolves.toMatchObject({ sub: server.user.id, nonce: 'sdk-nonce' });
  });

  it('a code presented twice through the SDK fails and revokes its refresh token (RFC 6749 §4.1.2)', async () => {
    const { code, result } = await signInWithSdk(new Agent());
    await expect(scalekit.authenticateWithCode(code, server.web.redirectUri)).rejects.toMatchObject({
      response: { status: 400, data: { error: 'invalid_grant' } },
    });
    await expect(scalekit.refreshAccessToken(result.refreshToken)).rejects.toThrow(/Failed to refresh token/);
  });

  it('validateToken accepts our access token for { issuer, audience: [client_id] } (RFC 9068 §4)', async () => {
    const { result } = await signInWithSdk(new Agent());
    const fresh = new ScalekitClient(server.url, server.web.id, server.web.secret ?? '');
    const before = server.logs.length;
    const claims = await fresh.validateToken<Record<string, unknown>>(result.accessToken, {
      issuer: server.url,
      audience: [server.web.id],
    });
    // The SDK fetches the JWKS from `${ENV_URL}/keys` once and validates locally from then on.
    expect(requestsSince(server, before)).toEqual(['GET /keys']);
    expect(claims).toMatchObject({
      iss: server.url,
      aud: [server.web.id],
      sub: server.user.id,
      oid: server.user.organizationId,
      client_id: server.web.id,
    });
    expect(
      await fresh.validateAccessToken(result.accessToken, { issuer: server.url, audience: [server.web.id] }),
    ).toBe(true);
    expect(requestsSince(server, before)).toEqual(['GET /keys']);
  });

  it.each([
    ['another app’s audience', () => ({ issuer: server.url, audience: [server.web2.id] })],
    ['another issuer', () => ({ issuer: 'https://elsewhere.example.com', audience: [server.web.id] })],
  ])('validateToken rejects our access token for %s (RFC 9068 §4)', async (_name, options) => {
    const { result } = await signInWithSdk(new Agent());
    await expect(scalekit.validateToken(result.accessToken, options())).rejects.toBeInstanceOf(
      ScalekitValidateTokenFailureException,
    );
    expect(await scalekit.validateAccessToken(result.accessToken, options())).toBe(false);
  });

  it('validateToken honours exp = iat + expires_in on the relying party’s clock (RFC 9068 §2.2)', async () => {
    const { result } = await signInWithSdk(new Agent());
    const { iat } = decodeJwt(result.accessToken);
    const options = { issuer: server.url, audience: [server.web.id] };
    // The SDK validates with the process clock and no leeway: move that clock, not the server's.
    vi.useFakeTimers({ toFake: ['Date'] });
    try {
      vi.setSystemTime(((iat ?? 0) + result.expiresIn - 1) * 1000);
      expect(await scalekit.validateAccessToken(result.accessToken, options)).toBe(true);
      vi.setSystemTime(((iat ?? 0) + result.expiresIn + 1) * 1000);
      expect(await scalekit.validateAccessToken(result.accessToken, options)).toBe(false);
    } finally {
      vi.useRealTimers();
    }
  });

  it('refreshAccessToken returns a new access and refresh token, and the chain continues (RFC 6749 §6)', async () => {
    const { result } = await signInWithSdk(new Agent());
    const before = server.logs.length;
    const first = await scalekit.refreshAccessToken(result.refreshToken);
    expect(requestsSince(server, before)).toEqual(['POST /oauth/token']);
    expect(first.refreshToken).not.toBe(result.refreshToken);
    expect(first.accessToken).not.toBe(result.accessToken);
    const options = { issuer: server.url, audience: [server.web.id] };
    await expect(scalekit.validateToken(first.accessToken, options)).resolves.toMatchObject({
      sub: server.user.id,
    });
    const second = await scalekit.refreshAccessToken(first.refreshToken);
    expect(second.refreshToken).not.toBe(first.refreshToken);
    await expect(scalekit.validateToken(second.accessToken, options)).resolves.toMatchObject({
      sub: server.user.id,
    });
  });

  it('getLogoutUrl ends the session and lands on the registered URI with state (RP-Initiated Logout §2–§3)', async () => {
    const agent = new Agent();
    const { result } = await signInWithSdk(agent);
    const logoutUrl = scalekit.getLogoutUrl({
      idTokenHint: result.idToken,
      postLogoutRedirectUri: server.web.postLogoutRedirectUri,
      state: 'bye',
    });
    expect(logoutUrl.startsWith(`${server.url}/oidc/logout?`)).toBe(true);

    const res = await agent.fetch(logoutUrl);
    expect(res.status).toBe(303);
    const landing = new URL(res.headers.get('location') ?? '');
    expect(`${landing.origin}${landing.pathname}`).toBe(server.web.postLogoutRedirectUri);
    expect(landing.searchParams.get('state')).toBe('bye');

    // The session is over: its refresh token is dead and the next sign-in asks for a password.
    await expect(scalekit.refreshAccessToken(result.refreshToken)).rejects.toThrow(/Failed to refresh token/);
    const again = await agent.fetch(
      scalekit.getAuthorizationUrl(server.web.redirectUri, { scopes, state: 'again' }),
    );
    const page = await agent.fetch(new URL(again.headers.get('location') ?? '', server.url).toString());
    expect(page.status).toBe(200);
    expect(await page.text()).toContain('name="password"');
  });

  it('getLogoutUrl without idTokenHint: the person confirms and is signed out, with no redirect (RP-Initiated Logout §3)', async () => {
    const agent = new Agent();
    const { result } = await signInWithSdk(agent);
    const page = await agent.fetch(
      scalekit.getLogoutUrl({ postLogoutRedirectUri: server.web.postLogoutRedirectUri, state: 'bye' }),
    );
    expect(page.status).toBe(200);
    const html = await page.text();
    const field = (name: string) => new RegExp(`name="${name}" value="([^"]*)"`).exec(html)?.[1] ?? '';
    const res = await agent.post(`${server.url}/oidc/logout`, {
      post_logout_redirect_uri: field('post_logout_redirect_uri'),
      state: field('state'),
      csrf_token: field('csrf_token'),
      confirm: 'yes',
    });
    expect(res.status).toBe(200);
    expect(res.headers.get('location')).toBeNull();
    expect(await res.text()).toContain('You are signed out');
    await expect(scalekit.refreshAccessToken(result.refreshToken)).rejects.toThrow(/Failed to refresh token/);
  });

  it('an ENV_URL with a trailing slash still works: // paths are tolerated (spec: issuer)', async () => {
    const slashed = new ScalekitClient(`${server.url}/`, server.web.id, server.web.secret ?? '');
    expect(slashed.getAuthorizationUrl(server.web.redirectUri)).toContain('//oauth/authorize?');
    const agent = new Agent();
    const { result } = await signInWithSdk(agent, { client: slashed, pkce: true });
    expect(result.user.id).toBe(server.user.id);
    await expect(
      slashed.validateToken(result.accessToken, { issuer: server.url, audience: [server.web.id] }),
    ).resolves.toMatchObject({ sub: server.user.id });
    const res = await agent.fetch(
      slashed.getLogoutUrl({
        idTokenHint: result.idToken,
        postLogoutRedirectUri: server.web.postLogoutRedirectUri,
        state: 's',
      }),
    );
    expect(res.status).toBe(303);
    expect(res.headers.get('location')).toBe(`${server.web.postLogoutRedirectUri}?state=s`);
  });

  it('generateClientToken gets a machine token whose `scopes` array validateToken checks (RFC 6749 §4.4)', async () => {
    const token = await scalekit.generateClientToken(server.m2m.id, server.m2m.secret ?? '');
    const options = { issuer: server.url, audience: [server.m2m.id] };
    await expect(
      scalekit.validateToken(token, { ...options, requiredScopes: ['read:users', 'write:users'] }),
    ).resolves.toMatchObject({ sub: server.m2m.id, scopes: ['read:users', 'write:users'] });
    await expect(
      scalekit.validateToken(token, { ...options, requiredScopes: ['delete:users'] }),
    ).rejects.toBeInstanceOf(ScalekitValidateTokenFailureException);
  });

  it('generateClientToken with a wrong secret surfaces invalid_client (RFC 6749 §5.2)', async () => {
    await expect(scalekit.generateClientToken(server.m2m.id, 'wrong')).rejects.toMatchObject({
      httpStatus: 401,
      errDetails: { error: 'invalid_client' },
    });
  });

  it('getClientAccessToken works for a web app allowed the management API, and only then (RFC 6749 §4.4)', async () => {
    const allowed = await server.registerClient({
      type: 'web',
      name: 'Backend With Management Access',
      redirectUris: ['http://localhost:3002/auth/callback'],
      allowManagementApi: true,
    });
    const backend = new ScalekitClient(server.url, allowed.id, allowed.secret ?? '');
    const token = await backend.getClientAccessToken();
    await expect(
      backend.validateToken(token, { issuer: server.url, audience: [allowed.id] }),
    ).resolves.toMatchObject({ sub: allowed.id, client_id: allowed.id });
    // The SDK maps the status from the reason phrase, so only the body tells the error apart.
    await expect(scalekit.getClientAccessToken()).rejects.toMatchObject({
      errDetails: { error: 'unauthorized_client' },
    });
  });
});

describe('@scalekit-sdk/node 2.11 logout after the ID token expired', () => {
  // Its own server: the clock moves forward here, and the SDK validates with the real clock.
  let late: TestServer;
  beforeAll(async () => {
    late = await startTestServer();
  });
  afterAll(async () => {
    await late?.close();
  });

  it('an expired idTokenHint still ends the session and redirects with state (RP-Initiated Logout §2)', async () => {
    const sdk = new ScalekitClient(late.url, late.web.id, late.web.secret ?? '');
    const agent = new Agent();
    const url = sdk.getAuthorizationUrl(late.web.redirectUri, { scopes, state: 's' });
    const code = (await completeSignIn(agent, late, url)).searchParams.get('code') ?? '';
    const result = await sdk.authenticateWithCode(code, late.web.redirectUri);
    // The seed keeps the ID token in a cookie for logout; the session outlives it (1 h vs 7 days).
    late.clock.advance(late.config.idTokenTtl + 60);

    const res = await agent.fetch(
      sdk.getLogoutUrl({
        idTokenHint: result.idToken,
        postLogoutRedirectUri: late.web.postLogoutRedirectUri,
        state: 'late',
      }),
    );
    expect(res.status).toBe(303);
    expect(res.headers.get('location')).toBe(`${late.web.postLogoutRedirectUri}?state=late`);
    await expect(sdk.refreshAccessToken(result.refreshToken)).rejects.toThrow(/Failed to refresh token/);
  });
});
