import { decodeJwt } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Agent, basicAuth, postForm, signInAndExchange, tokenRequest } from '../support/agent.ts';
import { type RegisteredClient, startTestServer, type TestServer } from '../support/server.ts';

let server: TestServer;

beforeAll(async () => {
  server = await startTestServer();
});

afterAll(async () => {
  await server.close();
});

function introspect(
  token: string,
  client: RegisteredClient = server.web,
  extra: Record<string, string> = {},
) {
  return postForm(server, '/oauth/introspect', {
    token,
    client_id: client.id,
    ...(client.secret ? { client_secret: client.secret } : {}),
    ...extra,
  });
}

function expectError(
  res: { status: number; body: Record<string, unknown> },
  status: number,
  error: string,
): void {
  expect({ status: res.status, error: res.body['error'] }).toEqual({ status, error });
  expect(typeof res.body['error_description']).toBe('string');
}

describe('POST /oauth/introspect (RFC 7662)', () => {
  it('an active access token is active:true with its claims (RFC 7662 §2.2)', async () => {
    const tokens = await signInAndExchange(new Agent(), server);
    const accessToken = tokens['access_token'] as string;
    const claims = decodeJwt(accessToken);
    const res = await introspect(accessToken, server.web, { token_type_hint: 'access_token' });
    expect(res.status).toBe(200);
    expect(res.headers.get('cache-control')).toBe('no-store');
    expect(res.body).toMatchObject({
      active: true,
      token_type: 'Bearer',
      iss: server.url,
      sub: server.user.id,
      client_id: server.web.id,
      aud: [server.web.id],
      scope: 'openid profile email offline_access',
      exp: claims.exp,
      iat: claims.iat,
      jti: claims.jti,
      sid: claims['sid'],
      oid: server.user.organizationId,
    });
  });

  it('an active refresh token is active:true with token_type refresh_token', async () => {
    const tokens = await signInAndExchange(new Agent(), server);
    const res = await introspect(tokens['refresh_token'] as string);
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({
      active: true,
      token_type: 'refresh_token',
      client_id: server.web.id,
      sub: server.user.id,
      scope: 'openid profile email offline_access',
      iss: server.url,
      exp: expect.any(Number),
      iat: expect.any(Number),
    });
  });

  it('a rotated refresh token is active:false (its successor is the live one)', async () => {
    const tokens = await signInAndExchange(new Agent(), server);
    const refreshToken = tokens['refresh_token'] as string;
    const rotated = await tokenRequest(server, {
      grant_type: 'refresh_token',
      refresh_token: refreshToken,
      client_id: server.web.id,
      client_secret: server.web.secret ?? '',
    });
    expect(rotated.status).toBe(200);
    expect((await introspect(refreshToken)).body).toEqual({ active: false });
    expect((await introspect(rotated.body['refresh_token'] as string)).body['active']).toBe(true);
  });

  it.each([
    ['an opaque garbage string', 'garbage'],
    ['a JWT-shaped garbage string', 'a.b.c'],
    ['an unsigned JWT', 'eyJhbGciOiJub25lIiwidHlwIjoiYXQrand0In0.eyJzdWIiOiJ1c3JfMSJ9.'],
  ])('%s is active:false and nothing more (RFC 7662 §2.2)', async (_name, token) => {
    const res = await introspect(token);
    expect(res.status).toBe(200);
    expect(res.body).toEqual({ active: false });
  });

  it('an ID token is not an access token: active:false', async () => {
    const tokens = await signInAndExchange(new Agent(), server);
    expect((await introspect(tokens['id_token'] as string)).body).toEqual({ active: false });
  });

  it('an access token whose session ended is active:false', async () => {
    const agent = new Agent();
    const tokens = await signInAndExchange(agent, server);
    const logout = await agent.fetch(
      `${server.url}/oidc/logout?${new URLSearchParams({ id_token_hint: tokens['id_token'] as string })}`,
    );
    expect(logout.status).toBe(200);
    expect((await introspect(tokens['access_token'] as string)).body).toEqual({ active: false });
    expect((await introspect(tokens['refresh_token'] as string)).body).toEqual({ active: false });
  });

  it('an access token is active within the 15 s clock tolerance and inactive after it', async () => {
    const tokens = await signInAndExchange(new Agent(), server);
    const accessToken = tokens['access_token'] as string;
    server.clock.advance(310);
    expect((await introspect(accessToken)).body['active']).toBe(true);
    server.clock.advance(6);
    expect((await introspect(accessToken)).body).toEqual({ active: false });
  });

  it('works with client_secret_basic', async () => {
    const tokens = await signInAndExchange(new Agent(), server);
    const res = await postForm(
      server,
      '/oauth/introspect',
      { token: tokens['access_token'] as string },
      { authorization: basicAuth(server.web.id, server.web.secret ?? '') },
    );
    expect(res.status).toBe(200);
    expect(res.body['active']).toBe(true);
  });

  describe('only authenticated confidential clients may introspect (RFC 7662 §2.1, §4)', () => {
    it('a single-page app (public client) is refused with unauthorized_client', async () => {
      const tokens = await signInAndExchange(new Agent(), server);
      const res = await introspect(tokens['access_token'] as string, server.spa);
      expectError(res, 400, 'unauthorized_client');
      expect(res.body['active']).toBeUndefined();
    });

    it('no client authentication is 401 invalid_client', async () => {
      const res = await postForm(server, '/oauth/introspect', { token: 'anything' });
      expectError(res, 401, 'invalid_client');
    });

    it('a wrong secret is 401 invalid_client', async () => {
      const tokens = await signInAndExchange(new Agent(), server);
      const res = await introspect(tokens['access_token'] as string, { ...server.web, secret: 'wrong' });
      expectError(res, 401, 'invalid_client');
      expect(res.body['active']).toBeUndefined();
    });

    it('a wrong Basic secret is 401 invalid_client with WWW-Authenticate: Basic', async () => {
      const res = await postForm(
        server,
        '/oauth/introspect',
        { token: 'anything' },
        { authorization: basicAuth(server.web.id, 'wrong') },
      );
      expectError(res, 401, 'invalid_client');
      expect(res.headers.get('www-authenticate')).toMatch(/^Basic /);
    });
  });

  it.each([
    ['a missing token', new URLSearchParams(), 'invalid_request'],
    [
      'two token parameters',
      new URLSearchParams([
        ['token', 'a'],
        ['token', 'b'],
      ]),
      'invalid_request',
    ],
    ['an oversized token', new URLSearchParams({ token: 't'.repeat(10_000) }), 'invalid_request'],
  ])('%s is 400 %s', async (_name, fields, error) => {
    fields.set('client_id', server.web.id);
    fields.set('client_secret', server.web.secret ?? '');
    const res = await fetch(`${server.url}/oauth/introspect`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: fields.toString(),
    });
    expect(res.status).toBe(400);
    expect(((await res.json()) as Record<string, unknown>)['error']).toBe(error);
  });

  it('GET is 405 with Allow: POST', async () => {
    const res = await fetch(`${server.url}/oauth/introspect?token=x`);
    expect(res.status).toBe(405);
    expect(res.headers.get('allow')).toBe('POST');
  });
});
