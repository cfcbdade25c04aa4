// A certified OpenID Connect relying party (openid-client 6, on oauth4webapi) against a live Sesame
// on a loopback port: discovery, code + PKCE + nonce, ID token validation, refresh, userinfo,
// RP-initiated logout, client_credentials, introspection and revocation. Plain http is allowed
// only because the server listens on 127.0.0.1 (`allowInsecureRequests`).
import * as client from 'openid-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Agent, follow } from '../support/agent.ts';
import { type RegisteredClient, startTestServer, type TestServer } from '../support/server.ts';
import { completeSignIn } from './complete-sign-in.ts';

let server: TestServer;

beforeAll(async () => {
  server = await startTestServer();
});
afterAll(async () => {
  await server?.close();
});

/** One request the library sent, as it went on the wire. */
interface SentRequest {
  url: URL;
  method: string;
  headers: Headers;
  body: URLSearchParams;
}

/** Discovers the server for an app, recording every request the library makes. */
async function discover(app: RegisteredClient, auth?: client.ClientAuth) {
  const sent: SentRequest[] = [];
  const record: client.CustomFetch = (url, options) => {
    sent.push({
      url: new URL(url),
      method: options.method,
      headers: new Headers(options.headers),
      // oauth4webapi sends every form (token, introspection, revocation) as URLSearchParams.
      body: new URLSearchParams(options.body instanceof URLSearchParams ? options.body : undefined),
    });
    // A Uint8Array body (never used by these requests) is what keeps the types from lining up.
    return fetch(url, options as RequestInit);
  };
  const config = await client.discovery(new URL(server.url), app.id, app.secret ?? undefined, auth, {
    execute: [client.allowInsecureRequests],
    [client.customFetch]: record,
  });
  return { config, sent };
}

/** The last request the library sent to a path of the server. */
function lastTo(sent: SentRequest[], path: string): SentRequest {
  const found = sent.filter((r) => r.url.pathname === path).at(-1);
  if (!found) throw new Error(`no request to ${path}; sent: ${sent.map((r) => r.url.pathname).join(', ')}`);
  return found;
}

/**
 * The relying party's whole sign-in: authorization URL with PKCE, nonce and state, the browser
 * signs in, then `authorizationCodeGrant` validates the response and the ID token.
 */
async function signInWithOpenidClient(
  config: client.Configuration,
  app: RegisteredClient,
  agent = new Agent(),
) {
  const codeVerifier = client.randomPKCECodeVerifier();
  const nonce = client.randomNonce();
  const state = client.randomState();
  const url = client.buildAuthorizationUrl(config, {
    redirect_uri: app.redirectUri,
    scope: 'openid profile email offline_access',
    code_challenge: await client.calculatePKCECodeChallenge(codeVerifier),
    code_challenge_method: 'S256',
    nonce,
    state,
    max_age: '600',
  });
  const callback = await completeSignIn(agent, server, url);
  const tokens = await client.authorizationCodeGrant(config, callback, {
    pkceCodeVerifier: codeVerifier,
    expectedNonce: nonce,
    expectedState: state,
    maxAge: 600,
  });
  return { agent, url, callback, tokens, nonce, codeVerifier };
}

describe('openid-client 6 against Sesame', () => {
  it('discovery yields issuer and every endpoint (OIDC Discovery §4, RFC 8414 §3)', async () => {
    const { config } = await discover(server.web);
    const metadata = config.serverMetadata();
    expect(metadata.issuer).toBe(server.url);
    expect(metadata).toMatchObject({
      authorization_endpoint: `${server.url}/oauth/authorize`,
      token_endpoint: `${server.url}/oauth/token`,
      userinfo_endpoint: `${server.url}/userinfo`,
      jwks_uri: `${server.url}/keys`,
      end_session_endpoint: `${server.url}/oidc/logout`,
      revocation_endpoint: `${server.url}/oauth/revoke`,
      introspection_endpoint: `${server.url}/oauth/introspect`,
      authorization_response_iss_parameter_supported: true,
    });
    expect(metadata.supportsPKCE()).toBe(true);
  });

  it('discovery refuses plain http unless told it is loopback (RFC 9700 §4.1)', async () => {
    await expect(
      client.discovery(new URL(server.url), server.web.id, server.web.secret ?? ''),
    ).rejects.toThrow(/https/i);
  });

  it('code + PKCE + nonce: the ID token validates, with nonce, auth_time and iss response parameter (OIDC Core §3.1.3.7, RFC 9207)', async () => {
    const { config } = await discover(server.web);
    const { callback, tokens, nonce } = await signInWithOpenidClient(config, server.web);
    expect(callback.searchParams.get('iss')).toBe(server.url);
    expect(tokens.token_type.toLowerCase()).toBe('bearer');
    expect(tokens.expiresIn()).toBeGreaterThan(290);
    expect(tokens.scope).toBe('openid profile email offline_access');
    expect(tokens.refresh_token).toBeTruthy();
    expect(tokens.claims()).toMatchObject({
      iss: server.url,
      aud: [server.web.id],
      azp: server.web.id,
      sub: server.user.id,
      nonce,
      email: server.user.email,
      amr: ['pwd'],
    });
    expect(typeof tokens.claims()?.auth_time).toBe('number');
  });

  it('the library rejects a code exchange without the right PKCE verifier: invalid_grant (RFC 7636 §4.6)', async () => {
    const { config } = await discover(server.web);
    const agent = new Agent();
    const verifier = client.randomPKCECodeVerifier();
    const url = client.buildAuthorizationUrl(config, {
      redirect_uri: server.web.redirectUri,
      scope: 'openid',
      code_challenge: await client.calculatePKCECodeChallenge(verifier),
      code_challenge_method: 'S256',
      state: 'st',
    });
    const callback = await completeSignIn(agent, server, url);
    await expect(
      client.authorizationCodeGrant(config, callback, {
        pkceCodeVerifier: client.randomPKCECodeVerifier(),
        expectedState: 'st',
      }),
    ).rejects.toMatchObject({ error: 'invalid_grant', status: 400 });
  });

  it('client_secret_post: the secret travels in the form body, never in a header (RFC 6749 §2.3.1)', async () => {
    const { config, sent } = await discover(server.web, client.ClientSecretPost(server.web.secret ?? ''));
    const { tokens } = await signInWithOpenidClient(config, server.web);
    const exchange = lastTo(sent, '/oauth/token');
    expect(exchange.headers.get('authorization')).toBeNull();
    expect(exchange.headers.get('content-type')).toMatch(/^application\/x-www-form-urlencoded/);
    expect(exchange.body.get('client_id')).toBe(server.web.id);
    expect(exchange.body.get('client_secret')).toBe(server.web.secret);
    expect(exchange.body.get('grant_type')).toBe('authorization_code');
    expect(exchange.body.get('code_verifier')).toBeTruthy();

    const refreshed = await client.refreshTokenGrant(config, tokens.refresh_token ?? '');
    expect(lastTo(sent, '/oauth/token').body.get('client_secret')).toBe(server.web.secret);
    expect(refreshed.refresh_token).not.toBe(tokens.refresh_token);
  });

  it('client_secret_basic: the secret travels in the Authorization header only (RFC 6749 §2.3.1)', async () => {
    const { config, sent } = await discover(server.web, client.ClientSecretBasic(server.web.secret ?? ''));
    const { tokens } = await signInWithOpenidClient(config, server.web);
    const exchange = lastTo(sent, '/oauth/token');
    expect(exchange.headers.get('authorization')).toMatch(/^Basic /);
    expect(exchange.body.has('client_secret')).toBe(false);
    expect(tokens.claims()?.sub).toBe(server.user.id);

    const refreshed = await client.refreshTokenGrant(config, tokens.refresh_token ?? '');
    expect(lastTo(sent, '/oauth/token').headers.get('authorization')).toMatch(/^Basic /);
    expect(refreshed.claims()?.sub).toBe(server.user.id);
  });

  it('a wrong Basic secret is invalid_client, 401 with a Basic challenge (RFC 6749 §5.2)', async () => {
    const { config } = await discover(server.web, client.ClientSecretBasic('not-the-secret'));
    const failure = await client.refreshTokenGrant(config, 'any-refresh-token').then(
      () => null,
      (err: unknown) => err,
    );
    // oauth4webapi surfaces a 401 carrying WWW-Authenticate as the challenge, with the body intact.
    expect(failure).toBeInstanceOf(client.WWWAuthenticateChallengeError);
    const challenge = failure as client.WWWAuthenticateChallengeError;
    expect(challenge.status).toBe(401);
    expect(challenge.cause[0]?.scheme).toBe('basic');
    expect(await challenge.response.json()).toMatchObject({ error: 'invalid_client' });
  });

  it('a public SPA with None() + PKCE signs in, refreshes and reads userinfo (RFC 7636, OAuth 2.0 for Browser-Based Apps)', async () => {
    const { config, sent } = await discover(server.spa, client.None());
    const { tokens } = await signInWithOpenidClient(config, server.spa);
    const exchange = lastTo(sent, '/oauth/token');
    expect(exchange.headers.get('authorization')).toBeNull();
    expect(exchange.body.has('client_secret')).toBe(false);
    expect(exchange.body.get('client_id')).toBe(server.spa.id);
    expect(exchange.body.get('code_verifier')).toBeTruthy();
    expect(tokens.claims()).toMatchObject({ aud: [server.spa.id], sub: server.user.id });

    const refreshed = await client.refreshTokenGrant(config, tokens.refresh_token ?? '');
    expect(refreshed.refresh_token).not.toBe(tokens.refresh_token);
    const info = await client.fetchUserInfo(config, refreshed.access_token, server.user.id);
    expect(info.sub).toBe(server.user.id);
  });

  it('refresh returns a new refresh, access and ID token for the same subject (RFC 6749 §6, OIDC Core §12.2)', async () => {
    const { config } = await discover(server.web);
    const { tokens } = await signInWithOpenidClient(config, server.web);
    const refreshed = await client.refreshTokenGrant(config, tokens.refresh_token ?? '');
    expect(refreshed.access_token).not.toBe(tokens.access_token);
    expect(refreshed.refresh_token).not.toBe(tokens.refresh_token);
    expect(refreshed.id_token).toBeTruthy();
    const before = tokens.claims();
    expect(refreshed.claims()).toMatchObject({
      iss: before?.iss,
      sub: before?.sub,
      aud: before?.aud,
      azp: before?.azp,
      auth_time: before?.auth_time,
    });
  });

  it('userinfo answers the subject and profile claims, and the library checks sub (OIDC Core §5.3.2)', async () => {
    const { config } = await discover(server.web);
    const { tokens } = await signInWithOpenidClient(config, server.web);
    const info = await client.fetchUserInfo(config, tokens.access_token, tokens.claims()?.sub ?? '');
    expect(info).toMatchObject({
      sub: server.user.id,
      email: server.user.email,
      email_verified: true,
      name: 'Ada Lovelace',
    });
    await expect(client.fetchUserInfo(config, tokens.access_token, 'usr_someone_else')).rejects.toMatchObject(
      {
        code: 'OAUTH_JSON_ATTRIBUTE_COMPARISON_FAILED',
        cause: { cause: { attribute: 'sub', expected: 'usr_someone_else', body: { sub: server.user.id } } },
      },
    );
  });

  it('end-session URL: the browser lands on the post-logout URI, and the refresh token dies (RP-Initiated Logout §2–§3)', async () => {
    const { config } = await discover(server.web);
    const { agent, tokens } = await signInWithOpenidClient(config, server.web);
    const endSession = client.buildEndSessionUrl(config, {
      id_token_hint: tokens.id_token ?? '',
      post_logout_redirect_uri: server.web.postLogoutRedirectUri,
      state: 'after-logout',
    });
    expect(`${endSession.origin}${endSession.pathname}`).toBe(`${server.url}/oidc/logout`);
    expect(endSession.searchParams.get('client_id')).toBe(server.web.id);

    const res = await agent.fetch(endSession.toString());
    expect(res.status).toBe(303);
    expect(res.headers.get('location')).toBe(`${server.web.postLogoutRedirectUri}?state=after-logout`);
    await expect(client.refreshTokenGrant(config, tokens.refresh_token ?? '')).rejects.toMatchObject({
      error: 'invalid_grant',
    });
    await expect(client.fetchUserInfo(config, tokens.access_token, server.user.id)).rejects.toMatchObject({
      status: 401,
    });
    // The browser's session is gone too: the next authorization asks for a password again.
    const next = client.buildAuthorizationUrl(config, {
      redirect_uri: server.web.redirectUri,
      scope: 'openid',
      state: client.randomState(),
    });
    const page = await follow(agent, server, await agent.fetch(next.toString()));
    expect(page.status).toBe(200);
    expect(await page.text()).toContain('name="password"');
  });

  it('client_credentials for a machine client: a Bearer token, no refresh or ID token (RFC 6749 §4.4.3)', async () => {
    const { config, sent } = await discover(server.m2m, client.ClientSecretBasic(server.m2m.secret ?? ''));
    const tokens = await client.clientCredentialsGrant(config, { scope: 'read:users' });
    expect(lastTo(sent, '/oauth/token').headers.get('authorization')).toMatch(/^Basic /);
    expect(tokens.token_type.toLowerCase()).toBe('bearer');
    expect(tokens.expires_in).toBe(86400);
    expect(tokens.scope).toBe('read:users');
    expect(tokens.refresh_token).toBeUndefined();
    expect(tokens.id_token).toBeUndefined();

    const { config: webConfig } = await discover(server.web);
    const introspected = await client.tokenIntrospection(webConfig, tokens.access_token);
    expect(introspected).toMatchObject({ active: true, sub: server.m2m.id, scopes: ['read:users'] });
  });

  it('client_credentials asking for a scope beyond the allowed ones is invalid_scope (RFC 6749 §5.2)', async () => {
    const { config } = await discover(server.m2m);
    await expect(client.clientCredentialsGrant(config, { scope: 'delete:users' })).rejects.toMatchObject({
      error: 'invalid_scope',
      status: 400,
    });
  });

  it('a web app not allowed the management API may not use client_credentials (RFC 6749 §4.4)', async () => {
    const { config } = await discover(server.web);
    await expect(client.clientCredentialsGrant(config)).rejects.toMatchObject({
      error: 'unauthorized_client',
      status: 400,
    });
  });

  it('introspection says active for live tokens, and revocation ends the whole grant (RFC 7662 §2.2, RFC 7009 §2.1)', async () => {
    const { config, sent } = await discover(server.web);
    const { tokens } = await signInWithOpenidClient(config, server.web);
    const refreshToken = tokens.refresh_token ?? '';

    const access = await client.tokenIntrospection(config, tokens.access_token);
    expect(lastTo(sent, '/oauth/introspect').body.get('client_secret')).toBe(server.web.secret);
    expect(access).toMatchObject({
      active: true,
      sub: server.user.id,
      client_id: server.web.id,
      iss: server.url,
      scope: 'openid profile email offline_access',
    });
    const refresh = await client.tokenIntrospection(config, refreshToken, {
      token_type_hint: 'refresh_token',
    });
    expect(refresh).toMatchObject({ active: true, token_type: 'refresh_token', client_id: server.web.id });

    await client.tokenRevocation(config, refreshToken, { token_type_hint: 'refresh_token' });
    expect(lastTo(sent, '/oauth/revoke').body.get('token')).toBe(refreshToken);
    expect(await client.tokenIntrospection(config, refreshToken)).toEqual({ active: false });
    expect(await client.tokenIntrospection(config, tokens.access_token)).toEqual({ active: false });
    await expect(client.refreshTokenGrant(config, refreshToken)).rejects.toMatchObject({
      error: 'invalid_grant',
    });
  });

  it('revoking an access token through the library ends its grant too (RFC 7009 §2.1)', async () => {
    const { config } = await discover(server.web, client.ClientSecretBasic(server.web.secret ?? ''));
    const { tokens } = await signInWithOpenidClient(config, server.web);
    await client.tokenRevocation(config, tokens.access_token, { token_type_hint: 'access_token' });
    expect(await client.tokenIntrospection(config, tokens.access_token)).toEqual({ active: false });
    await expect(client.refreshTokenGrant(config, tokens.refresh_token ?? '')).rejects.toMatchObject({
      error: 'invalid_grant',
    });
  });

  it('one app revoking another app’s refresh token has no effect (RFC 7009 §2.1)', async () => {
    const { config: web2 } = await discover(server.web2);
    const { tokens } = await signInWithOpenidClient(web2, server.web2);
    const { config: web } = await discover(server.web);
    await client.tokenRevocation(web, tokens.refresh_token ?? '');
    const refreshed = await client.refreshTokenGrant(web2, tokens.refresh_token ?? '');
    expect(refreshed.claims()?.sub).toBe(server.user.id);
  });

  it('a public client may not introspect: unauthorized_client (RFC 7662 §2.1)', async () => {
    const { config } = await discover(server.spa, client.None());
    const { tokens } = await signInWithOpenidClient(config, server.spa);
    await expect(client.tokenIntrospection(config, tokens.access_token)).rejects.toMatchObject({
      error: 'unauthorized_client',
    });
  });
});
