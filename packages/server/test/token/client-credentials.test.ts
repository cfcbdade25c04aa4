import { createRemoteJWKSet, decodeJwt, jwtVerify } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { basicAuth, postForm, tokenRequest } from '../support/agent.ts';
import { type RegisteredClient, startTestServer, type TestServer } from '../support/server.ts';

let server: TestServer;

beforeAll(async () => {
  server = await startTestServer();
});

afterAll(async () => {
  await server.close();
});

function clientCredentials(client: RegisteredClient, extra: Record<string, string> = {}) {
  return tokenRequest(server, {
    grant_type: 'client_credentials',
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

describe('client_credentials (RFC 6749 §4.4)', () => {
  it('a machine client gets an access token only: 86400 s, no refresh token, no ID token (RFC 6749 §4.4.3)', async () => {
    const res = await clientCredentials(server.m2m);
    expect(res.status).toBe(200);
    expect(res.headers.get('cache-control')).toBe('no-store');
    expect(res.body).toEqual({
      access_token: expect.any(String),
      token_type: 'Bearer',
      expires_in: 86400,
      scope: 'read:users write:users',
    });
  });

  it('the machine token carries sub = client_id and scopes as a JSON array (spec: Tokens)', async () => {
    const res = await clientCredentials(server.m2m);
    const jwks = createRemoteJWKSet(new URL(`${server.url}/keys`));
    const { payload, protectedHeader } = await jwtVerify(res.body['access_token'] as string, jwks, {
      issuer: server.url,
      audience: server.m2m.id,
      typ: 'at+jwt',
      currentDate: server.clock.now(),
    });
    expect(protectedHeader).toEqual({ alg: 'RS256', kid: expect.stringMatching(/^snk_/), typ: 'at+jwt' });
    const now = Math.floor(server.clock.now().getTime() / 1000);
    expect(payload).toEqual({
      iss: server.url,
      aud: [server.m2m.id],
      sub: server.m2m.id,
      client_id: server.m2m.id,
      exp: now + 86400,
      iat: now,
      nbf: now,
      jti: expect.stringMatching(/^tkn_/),
      scopes: ['read:users', 'write:users'],
    });
  });

  it('works with client_secret_basic', async () => {
    const res = await tokenRequest(
      server,
      { grant_type: 'client_credentials' },
      { authorization: basicAuth(server.m2m.id, server.m2m.secret ?? '') },
    );
    expect(res.status).toBe(200);
  });

  it('a requested subset of the allowed scopes is granted as asked (RFC 6749 §3.3)', async () => {
    const res = await clientCredentials(server.m2m, { scope: 'read:users' });
    expect(res.status).toBe(200);
    expect(res.body['scope']).toBe('read:users');
    const claims = decodeJwt(res.body['access_token'] as string);
    expect(claims['scopes']).toEqual(['read:users']);
  });

  it.each([
    ['an unknown scope', 'delete:everything'],
    ['an allowed scope with an unknown one', 'read:users delete:everything'],
    ['a user scope', 'openid'],
  ])('%s is invalid_scope (RFC 6749 §5.2)', async (_name, scope) => {
    expectError(await clientCredentials(server.m2m, { scope }), 400, 'invalid_scope');
  });

  it('the machine token carries oid when the client belongs to an organization', async () => {
    const owned = await server.registerClient({
      type: 'm2m',
      name: 'Org Machine',
      allowedScopes: ['read:users'],
      organizationId: server.user.organizationId,
    });
    const res = await clientCredentials(owned);
    expect(res.status).toBe(200);
    const claims = decodeJwt(res.body['access_token'] as string);
    expect(claims['oid']).toBe(server.user.organizationId);
  });

  it('a web app without management API access is unauthorized_client', async () => {
    expectError(await clientCredentials(server.web), 400, 'unauthorized_client');
  });

  it('a web app allowed the management API gets a machine token', async () => {
    const managed = await server.registerClient({
      type: 'web',
      name: 'Managed Web App',
      redirectUris: ['http://localhost:3002/callback'],
      allowManagementApi: true,
    });
    const res = await clientCredentials(managed);
    expect(res.status).toBe(200);
    expect(res.body['expires_in']).toBe(86400);
    expect(res.body['refresh_token']).toBeUndefined();
    expect(res.body['id_token']).toBeUndefined();
    const claims = decodeJwt(res.body['access_token'] as string);
    expect(claims['sub']).toBe(managed.id);
    expect(Array.isArray(claims['scopes'])).toBe(true);
  });

  // RFC 6749 §4.4: "The client credentials grant type MUST only be used by confidential clients."
  // A public client is identified but holds no credentials, so the grant is not authorized for it.
  it.each([
    ['single-page app', 'spa'],
    ['native app', 'native'],
  ] as const)('a %s (public client) is unauthorized_client', async (_name, kind) => {
    expectError(await clientCredentials(server[kind]), 400, 'unauthorized_client');
  });

  it('a machine client with a wrong secret is 401 invalid_client', async () => {
    expectError(await clientCredentials({ ...server.m2m, secret: 'wrong' }), 401, 'invalid_client');
  });

  it('a machine client may not use refresh_token (unauthorized_client)', async () => {
    const res = await tokenRequest(server, {
      grant_type: 'refresh_token',
      refresh_token: 'anything',
      client_id: server.m2m.id,
      client_secret: server.m2m.secret ?? '',
    });
    expectError(res, 400, 'unauthorized_client');
  });

  it('a machine token is active at introspection and has no user claims', async () => {
    const res = await clientCredentials(server.m2m);
    const introspection = await postForm(server, '/oauth/introspect', {
      token: res.body['access_token'] as string,
      client_id: server.m2m.id,
      client_secret: server.m2m.secret ?? '',
    });
    expect(introspection.status).toBe(200);
    expect(introspection.body).toMatchObject({
      active: true,
      client_id: server.m2m.id,
      sub: server.m2m.id,
      scopes: ['read:users', 'write:users'],
    });
  });
});
