import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  Agent,
  authorizationCode,
  basicAuth,
  pkcePair,
  postForm,
  signInAndExchange,
  tokenRequest,
} from '../support/agent.ts';
import { type RegisteredClient, startTestServer, type TestServer } from '../support/server.ts';

let server: TestServer;

beforeAll(async () => {
  server = await startTestServer();
});

afterAll(async () => {
  await server.close();
});

function revoke(token: string, client: RegisteredClient = server.web, extra: Record<string, string> = {}) {
  return postForm(server, '/oauth/revoke', {
    token,
    client_id: client.id,
    ...(client.secret ? { client_secret: client.secret } : {}),
    ...extra,
  });
}

function refresh(refreshToken: string, client: RegisteredClient = server.web) {
  return tokenRequest(server, {
    grant_type: 'refresh_token',
    refresh_token: refreshToken,
    client_id: client.id,
    ...(client.secret ? { client_secret: client.secret } : {}),
  });
}

async function active(token: string): Promise<boolean> {
  const res = await postForm(server, '/oauth/introspect', {
    token,
    client_id: server.web.id,
    client_secret: server.web.secret ?? '',
  });
  expect(res.status).toBe(200);
  return res.body['active'] as boolean;
}

function expectError(
  res: { status: number; body: Record<string, unknown> },
  status: number,
  error: string,
): void {
  expect({ status: res.status, error: res.body['error'] }).toEqual({ status, error });
  expect(typeof res.body['error_description']).toBe('string');
}

describe('POST /oauth/revoke (RFC 7009)', () => {
  it('revoking a refresh token kills it and the access tokens of its grant (RFC 7009 §2.1)', async () => {
    const tokens = await signInAndExchange(new Agent(), server);
    const refreshToken = tokens['refresh_token'] as string;
    expect(await active(tokens['access_token'] as string)).toBe(true);

    const res = await revoke(refreshToken, server.web, { token_type_hint: 'refresh_token' });
    expect(res.status).toBe(200);
    expect(res.text).toBe('');
    expect(res.headers.get('cache-control')).toBe('no-store');

    expectError(await refresh(refreshToken), 400, 'invalid_grant');
    expect(await active(refreshToken)).toBe(false);
    expect(await active(tokens['access_token'] as string)).toBe(false);
  });

  it('revoking the newest refresh token kills its whole family, even a replay inside the grace window', async () => {
    const tokens = await signInAndExchange(new Agent(), server);
    const original = tokens['refresh_token'] as string;
    const rotated = await refresh(original);
    expect(rotated.status).toBe(200);
    const successor = rotated.body['refresh_token'] as string;

    expect((await revoke(successor)).status).toBe(200);
    expectError(await refresh(successor), 400, 'invalid_grant');
    expectError(await refresh(original), 400, 'invalid_grant');
    expect(await active(rotated.body['access_token'] as string)).toBe(false);
  });

  it('revoking an access token makes introspection say active:false (RFC 7009 §2.1)', async () => {
    const tokens = await signInAndExchange(new Agent(), server);
    const accessToken = tokens['access_token'] as string;
    expect((await revoke(accessToken, server.web, { token_type_hint: 'access_token' })).status).toBe(200);
    expect(await active(accessToken)).toBe(false);
    const userinfo = await fetch(`${server.url}/userinfo`, {
      headers: { authorization: `Bearer ${accessToken}` },
    });
    expect(userinfo.status).toBe(401);
  });

  it('a wrong token_type_hint does not stop the revocation (RFC 7009 §2.1: extend the search)', async () => {
    const tokens = await signInAndExchange(new Agent(), server);
    const refreshToken = tokens['refresh_token'] as string;
    expect((await revoke(refreshToken, server.web, { token_type_hint: 'access_token' })).status).toBe(200);
    expectError(await refresh(refreshToken), 400, 'invalid_grant');
  });

  it.each(['id_token', 'bogus'])(
    'an invalid token_type_hint (%s) is ignored and the token revoked (RFC 7009 §2.2)',
    async (hint) => {
      const tokens = await signInAndExchange(new Agent(), server);
      const refreshToken = tokens['refresh_token'] as string;
      expect((await revoke(refreshToken, server.web, { token_type_hint: hint })).status).toBe(200);
      expectError(await refresh(refreshToken), 400, 'invalid_grant');
    },
  );

  it('works with client_secret_basic', async () => {
    const tokens = await signInAndExchange(new Agent(), server);
    const refreshToken = tokens['refresh_token'] as string;
    const res = await postForm(
      server,
      '/oauth/revoke',
      { token: refreshToken },
      { authorization: basicAuth(server.web.id, server.web.secret ?? '') },
    );
    expect(res.status).toBe(200);
    expectError(await refresh(refreshToken), 400, 'invalid_grant');
  });

  it.each([
    ['an unknown opaque token', 'never-issued'],
    ['a malformed JWT', 'eyJhbGciOiJub25lIn0.e30.'],
    ['a JWT with a forged signature', 'eyJhbGciOiJSUzI1NiIsInR5cCI6ImF0K2p3dCJ9.eyJqdGkiOiJ0a25fMSJ9.c2ln'],
  ])('%s is answered 200 (RFC 7009 §2.2)', async (_name, token) => {
    const res = await revoke(token);
    expect(res.status).toBe(200);
  });

  it('revoking an already revoked token is 200 again', async () => {
    const tokens = await signInAndExchange(new Agent(), server);
    const refreshToken = tokens['refresh_token'] as string;
    expect((await revoke(refreshToken)).status).toBe(200);
    expect((await revoke(refreshToken)).status).toBe(200);
  });

  it("another client's refresh token is answered 200 and keeps working (RFC 7009 §2.1)", async () => {
    const tokens = await signInAndExchange(new Agent(), server);
    const refreshToken = tokens['refresh_token'] as string;
    expect((await revoke(refreshToken, server.web2)).status).toBe(200);
    expect((await refresh(refreshToken)).status).toBe(200);
  });

  it("another client's access token is answered 200 and stays active", async () => {
    const tokens = await signInAndExchange(new Agent(), server);
    const accessToken = tokens['access_token'] as string;
    expect((await revoke(accessToken, server.web2)).status).toBe(200);
    expect(await active(accessToken)).toBe(true);
  });

  it('a single-page app (public client) revokes its own refresh token with client_id only', async () => {
    const agent = new Agent();
    const { verifier, challenge } = pkcePair();
    const code = await authorizationCode(agent, server, {
      client_id: server.spa.id,
      redirect_uri: server.spa.redirectUri,
      code_challenge: challenge,
      code_challenge_method: 'S256',
    });
    const tokens = await tokenRequest(server, {
      grant_type: 'authorization_code',
      code,
      redirect_uri: server.spa.redirectUri,
      client_id: server.spa.id,
      code_verifier: verifier,
    });
    const refreshToken = tokens.body['refresh_token'] as string;
    expect((await revoke(refreshToken, server.spa)).status).toBe(200);
    expectError(await refresh(refreshToken, server.spa), 400, 'invalid_grant');
  });

  describe('client authentication (RFC 7009 §2.1, RFC 6749 §2.3)', () => {
    it('a wrong secret is 401 invalid_client, and the token survives', async () => {
      const tokens = await signInAndExchange(new Agent(), server);
      const refreshToken = tokens['refresh_token'] as string;
      expectError(await revoke(refreshToken, { ...server.web, secret: 'wrong' }), 401, 'invalid_client');
      expect((await refresh(refreshToken)).status).toBe(200);
    });

    it('a wrong Basic secret is 401 invalid_client with WWW-Authenticate: Basic', async () => {
      const res = await postForm(
        server,
        '/oauth/revoke',
        { token: 'anything' },
        { authorization: basicAuth(server.web.id, 'wrong') },
      );
      expectError(res, 401, 'invalid_client');
      expect(res.headers.get('www-authenticate')).toMatch(/^Basic /);
    });

    it('no client authentication at all is 401 invalid_client', async () => {
      expectError(await postForm(server, '/oauth/revoke', { token: 'anything' }), 401, 'invalid_client');
    });
  });

  it.each([
    ['a missing token', {}, 400, 'invalid_request'],
    ['two token parameters', { token: ['a', 'b'] }, 400, 'invalid_request'],
    ['an oversized token', { token: 't'.repeat(10_000) }, 400, 'invalid_request'],
  ] as Array<[string, Record<string, string | string[]>, number, string]>)(
    '%s is refused',
    async (_name, fields, status, error) => {
      const body = new URLSearchParams({ client_id: server.web.id, client_secret: server.web.secret ?? '' });
      for (const [k, v] of Object.entries(fields)) for (const one of [v].flat()) body.append(k, one);
      const res = await fetch(`${server.url}/oauth/revoke`, {
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
        body: body.toString(),
      });
      expect(res.status).toBe(status);
      expect(((await res.json()) as Record<string, unknown>)['error']).toBe(error);
    },
  );

  it('a JSON body is 400 invalid_request', async () => {
    const res = await fetch(`${server.url}/oauth/revoke`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ token: 'x', client_id: server.web.id, client_secret: server.web.secret }),
    });
    expect(res.status).toBe(400);
    expect(((await res.json()) as Record<string, unknown>)['error']).toBe('invalid_request');
  });

  it('GET is 405 with Allow: POST', async () => {
    const res = await fetch(`${server.url}/oauth/revoke?token=x`);
    expect(res.status).toBe(405);
    expect(res.headers.get('allow')).toBe('POST');
  });
});
