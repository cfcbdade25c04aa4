import { decodeJwt } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { endSession } from '../../src/protocol/sessions.ts';
import { Agent, authorizationCode, postForm, signInAndExchange, tokenRequest } from '../support/agent.ts';
import { startTestServer, type TestServer } from '../support/server.ts';

let server: TestServer;

beforeAll(async () => {
  server = await startTestServer();
});

afterAll(async () => {
  await server.close();
});

async function accessToken(
  scope?: string,
): Promise<{ token: string; tokens: Record<string, unknown>; agent: Agent }> {
  const agent = new Agent();
  const tokens = await signInAndExchange(agent, server, scope ? { scope } : {});
  return { token: tokens['access_token'] as string, tokens, agent };
}

async function userinfo(
  token: string | null,
  init: RequestInit = {},
): Promise<{ status: number; body: Record<string, unknown>; headers: Headers }> {
  const headers = new Headers(init.headers);
  if (token !== null) headers.set('authorization', `Bearer ${token}`);
  const res = await fetch(`${server.url}/userinfo`, { ...init, headers });
  const text = await res.text();
  return {
    status: res.status,
    body: text ? (JSON.parse(text) as Record<string, unknown>) : {},
    headers: res.headers,
  };
}

/** RFC 6750 §3: a 401/403 with a Bearer challenge naming the error. */
function expectBearerError(
  res: { status: number; body: Record<string, unknown>; headers: Headers },
  status: number,
  error: string,
): void {
  expect({ status: res.status, error: res.body['error'] }).toEqual({ status, error });
  const challenge = res.headers.get('www-authenticate') ?? '';
  expect(challenge).toMatch(/^Bearer\b/);
  expect(challenge).toContain(`error="${error}"`);
}

describe('GET|POST /userinfo (OIDC Core §5.3)', () => {
  it('GET with a bearer token returns sub and the profile and email claims (OIDC Core §5.3.2)', async () => {
    const { token } = await accessToken();
    const res = await userinfo(token);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toMatch(/^application\/json/);
    expect(res.headers.get('cache-control')).toBe('no-store');
    expect(res.body).toEqual({
      sub: server.user.id,
      oid: server.user.organizationId,
      email: 'ada@example.com',
      email_verified: true,
      name: 'Ada Lovelace',
      given_name: 'Ada',
      family_name: 'Lovelace',
    });
  });

  it('claims follow the scopes: openid alone gives sub only (OIDC Core §5.4)', async () => {
    const { token } = await accessToken('openid');
    const res = await userinfo(token);
    expect(res.status).toBe(200);
    expect(res.body).toEqual({ sub: server.user.id, oid: server.user.organizationId });
  });

  it('claims follow the scopes: openid email gives email but no name (OIDC Core §5.4)', async () => {
    const { token } = await accessToken('openid email');
    const res = await userinfo(token);
    expect(res.status).toBe(200);
    expect(res.body['email']).toBe('ada@example.com');
    expect(res.body['email_verified']).toBe(true);
    expect(res.body['name']).toBeUndefined();
    expect(res.body['given_name']).toBeUndefined();
  });

  it('the sub of /userinfo is the sub of the ID token (OIDC Core §5.3.2)', async () => {
    const { token, tokens } = await accessToken();
    const idToken = decodeJwt(tokens['id_token'] as string);
    expect((await userinfo(token)).body['sub']).toBe(idToken.sub);
  });

  it('POST with the form field access_token works (RFC 6750 §2.2)', async () => {
    const { token } = await accessToken();
    const res = await postForm(server, '/userinfo', { access_token: token });
    expect(res.status).toBe(200);
    expect(res.body['sub']).toBe(server.user.id);
  });

  it('POST with the Authorization header works (RFC 6750 §2.1)', async () => {
    const { token } = await accessToken();
    const res = await userinfo(token, { method: 'POST' });
    expect(res.status).toBe(200);
    expect(res.body['sub']).toBe(server.user.id);
  });

  it('a token in both the header and the body is 400 invalid_request (RFC 6750 §2)', async () => {
    const { token } = await accessToken();
    const res = await postForm(
      server,
      '/userinfo',
      { access_token: token },
      { authorization: `Bearer ${token}` },
    );
    expect(res.status).toBe(400);
    expect(res.body['error']).toBe('invalid_request');
  });

  it('no token is 401 with a Bearer challenge (RFC 6750 §3.1)', async () => {
    const res = await userinfo(null);
    expect(res.status).toBe(401);
    expect(res.headers.get('www-authenticate') ?? '').toMatch(/^Bearer\b/);
  });

  it('a token in the query string is not accepted (RFC 6750 §2.3 is not supported)', async () => {
    const { token } = await accessToken();
    const res = await fetch(`${server.url}/userinfo?${new URLSearchParams({ access_token: token })}`);
    expect(res.status).toBe(401);
    expect(res.headers.get('www-authenticate') ?? '').toMatch(/^Bearer\b/);
  });

  it.each([
    ['garbage', 'garbage'],
    ['a JWT-shaped string', 'a.b.c'],
    ['an unsigned JWT', 'eyJhbGciOiJub25lIiwidHlwIjoiYXQrand0In0.eyJzdWIiOiJ1c3JfMSJ9.'],
  ])('%s is 401 invalid_token (RFC 6750 §3.1)', async (_name, token) => {
    expectBearerError(await userinfo(token), 401, 'invalid_token');
  });

  it.each([
    ['Basic credentials', 'Basic dXNlcjpwYXNz'],
    ['an empty Bearer', 'Bearer '],
    ['a token with spaces', 'Bearer a b'],
  ])('a malformed Authorization header (%s) is 401 invalid_token', async (_name, header) => {
    const res = await fetch(`${server.url}/userinfo`, { headers: { authorization: header } });
    expect(res.status).toBe(401);
    expect(res.headers.get('www-authenticate') ?? '').toMatch(/^Bearer\b/);
  });

  it('an ID token used as an access token is 401 invalid_token (typ JWT, not at+jwt, RFC 9068 §4)', async () => {
    const { tokens } = await accessToken();
    expectBearerError(await userinfo(tokens['id_token'] as string), 401, 'invalid_token');
  });

  it('a token without the openid scope is 403 insufficient_scope (RFC 6750 §3.1)', async () => {
    const { token } = await accessToken('profile email');
    expectBearerError(await userinfo(token), 403, 'insufficient_scope');
  });

  it('a machine token (no user, no openid) is 403 insufficient_scope', async () => {
    const machine = await tokenRequest(server, {
      grant_type: 'client_credentials',
      client_id: server.m2m.id,
      client_secret: server.m2m.secret ?? '',
    });
    expectBearerError(await userinfo(machine.body['access_token'] as string), 403, 'insufficient_scope');
  });

  it('after RP-initiated logout the access token is 401 invalid_token (spec: Sessions)', async () => {
    const { token, tokens, agent } = await accessToken();
    expect((await userinfo(token)).status).toBe(200);
    const logout = await agent.fetch(
      `${server.url}/oidc/logout?${new URLSearchParams({ id_token_hint: tokens['id_token'] as string })}`,
    );
    expect(logout.status).toBe(200);
    expectBearerError(await userinfo(token), 401, 'invalid_token');
  });

  it('after endSession the access token is 401 invalid_token', async () => {
    const { token } = await accessToken();
    const sid = decodeJwt(token)['sid'] as string;
    await endSession(server.ctx, sid, 'revoked');
    expectBearerError(await userinfo(token), 401, 'invalid_token');
  });

  it('a disabled user is 401 invalid_token', async () => {
    const person = { email: 'edsger@example.com', password: 'goto considered harmful' };
    const created = await server.createUser({ ...person, name: 'Edsger Dijkstra' });
    const agent = new Agent();
    const code = await authorizationCode(
      agent,
      server,
      { client_id: server.web.id, redirect_uri: server.web.redirectUri },
      person,
    );
    const tokens = await tokenRequest(server, {
      grant_type: 'authorization_code',
      code,
      redirect_uri: server.web.redirectUri,
      client_id: server.web.id,
      client_secret: server.web.secret ?? '',
    });
    const token = tokens.body['access_token'] as string;
    expect((await userinfo(token)).body['sub']).toBe(created.id);
    await server.store.users.update(created.id, { disabled: true });
    expectBearerError(await userinfo(token), 401, 'invalid_token');
  });

  it('an access token is good within the 15 s clock tolerance and 401 invalid_token after it', async () => {
    const { token } = await accessToken();
    server.clock.advance(310);
    expect((await userinfo(token)).status).toBe(200);
    server.clock.advance(6); // 316 s after issue: exp (300 s) + 15 s tolerance has passed.
    expectBearerError(await userinfo(token), 401, 'invalid_token');
  });

  it.each(['PUT', 'DELETE', 'PATCH'])('%s is 405 with Allow: GET, POST', async (method) => {
    const res = await fetch(`${server.url}/userinfo`, { method });
    expect(res.status).toBe(405);
    expect(res.headers.get('allow')).toBe('GET, POST');
  });
});
