// Discovery (spec: "GET /keys and discovery"): OpenID Connect Discovery 1.0 §3–§4 and RFC 8414 §2–§3
// metadata, every endpoint an absolute URL under the issuer, the issuer exactly ENV_URL.
import { createLocalJWKSet, decodeProtectedHeader, jwtVerify } from 'jose';
import * as oidc from 'openid-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Agent, signInAndExchange, tokenRequest } from '../support/agent.ts';
import { startTestServer, type TestServer } from '../support/server.ts';

const wellKnownPaths = [
  '/.well-known/openid-configuration',
  '/.well-known/oauth-authorization-server',
] as const;

const endpointFields = [
  'authorization_endpoint',
  'token_endpoint',
  'userinfo_endpoint',
  'jwks_uri',
  'end_session_endpoint',
  'revocation_endpoint',
  'introspection_endpoint',
] as const;

async function metadata(server: TestServer, path: string): Promise<Record<string, unknown>> {
  const res = await fetch(`${server.url}${path}`);
  expect(res.status).toBe(200);
  expect(res.headers.get('content-type')).toMatch(/^application\/json/);
  return (await res.json()) as Record<string, unknown>;
}

describe('discovery metadata (OpenID Connect Discovery 1.0 §3, RFC 8414 §2)', () => {
  let server: TestServer;

  beforeAll(async () => {
    server = await startTestServer();
  });

  afterAll(async () => {
    await server?.close();
  });

  it.each(wellKnownPaths)(
    '%s names the issuer exactly as ENV_URL (OIDC Discovery §4.3, RFC 8414 §3.3)',
    async (path) => {
      const doc = await metadata(server, path);
      expect(doc['issuer']).toBe(server.config.envUrl);
      expect(doc['issuer']).toBe(server.url);
      expect(String(doc['issuer']).endsWith('/')).toBe(false);
    },
  );

  it.each(wellKnownPaths)('%s lists every endpoint as an absolute URL under the issuer', async (path) => {
    const doc = await metadata(server, path);
    const expected: Record<(typeof endpointFields)[number], string> = {
      authorization_endpoint: '/oauth/authorize',
      token_endpoint: '/oauth/token',
      userinfo_endpoint: '/userinfo',
      jwks_uri: '/keys',
      end_session_endpoint: '/oidc/logout',
      revocation_endpoint: '/oauth/revoke',
      introspection_endpoint: '/oauth/introspect',
    };
    for (const field of endpointFields) {
      expect(doc[field], field).toBe(`${server.url}${expected[field]}`);
      expect(new URL(doc[field] as string).origin).toBe(server.url);
    }
  });

  it.each(wellKnownPaths)('%s advertises the supported protocol features', async (path) => {
    const doc = await metadata(server, path);
    expect(doc['response_types_supported']).toEqual(['code']);
    expect(doc['response_modes_supported']).toEqual(expect.arrayContaining(['query', 'form_post']));
    expect(doc['grant_types_supported']).toEqual(
      expect.arrayContaining(['authorization_code', 'refresh_token', 'client_credentials']),
    );
    expect(doc['grant_types_supported']).not.toContain('implicit');
    expect(doc['grant_types_supported']).not.toContain('password');
    expect(doc['subject_types_supported']).toEqual(['public']);
    expect(doc['scopes_supported']).toEqual(
      expect.arrayContaining(['openid', 'profile', 'email', 'offline_access']),
    );
    expect(doc['claims_supported']).toEqual(
      expect.arrayContaining(['sub', 'iss', 'aud', 'sid', 'oid', 'email', 'email_verified', 'name', 'nonce']),
    );
    expect(doc['code_challenge_methods_supported']).toEqual(['S256']);
    expect(doc['token_endpoint_auth_methods_supported']).toEqual(
      expect.arrayContaining(['client_secret_post', 'client_secret_basic', 'none']),
    );
    expect(doc['token_endpoint_auth_methods_supported']).not.toContain('client_secret_jwt');
    expect(doc['id_token_signing_alg_values_supported']).toEqual(['RS256']);
    expect(doc['backchannel_logout_supported']).toBe(true);
    expect(doc['backchannel_logout_session_supported']).toBe(true);
    expect(doc['authorization_response_iss_parameter_supported']).toBe(true);
  });

  it('both documents are identical (one server, one set of metadata)', async () => {
    const [a, b] = await Promise.all(wellKnownPaths.map((path) => metadata(server, path)));
    expect(b).toEqual(a);
  });

  it('every advertised endpoint is really served (no 404 behind a listed URL)', async () => {
    const doc = await metadata(server, wellKnownPaths[0]);
    expect((await fetch(doc['jwks_uri'] as string)).status).toBe(200);
    for (const field of ['token_endpoint', 'revocation_endpoint', 'introspection_endpoint'] as const) {
      const res = await fetch(doc[field] as string, {
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
        body: '',
      });
      expect([400, 401], field).toContain(res.status);
      expect(((await res.json()) as Record<string, unknown>)['error'], field).toMatch(/^invalid_/);
    }
    const userinfo = await fetch(doc['userinfo_endpoint'] as string);
    expect(userinfo.status).toBe(401);
    const authorize = await fetch(doc['authorization_endpoint'] as string, { redirect: 'manual' });
    expect(authorize.status).toBe(400);
    const logout = await fetch(doc['end_session_endpoint'] as string, { redirect: 'manual' });
    expect(logout.status).toBe(200);
  });

  it('is fetched by a certified OpenID client (openid-client discovery) without complaint', async () => {
    const config = await oidc.discovery(
      new URL(server.url),
      server.web.id,
      server.web.secret ?? '',
      undefined,
      {
        execute: [oidc.allowInsecureRequests],
      },
    );
    const meta = config.serverMetadata();
    expect(meta.issuer).toBe(server.url);
    expect(meta.token_endpoint).toBe(`${server.url}/oauth/token`);
    expect(meta.supportsPKCE()).toBe(true);
  });

  it('tolerates a doubled slash (spec: "tolerate a doubled slash")', async () => {
    const res = await fetch(`${server.url}//.well-known/openid-configuration`);
    expect(res.status).toBe(200);
    expect(((await res.json()) as Record<string, unknown>)['issuer']).toBe(server.url);
  });

  it('is cacheable and readable cross-origin (public metadata)', async () => {
    const res = await fetch(`${server.url}/.well-known/openid-configuration`);
    expect(res.headers.get('cache-control')).toMatch(/^public, max-age=\d+$/);
    expect(res.headers.get('access-control-allow-origin')).toBe('*');
    expect(res.headers.get('x-content-type-options')).toBe('nosniff');
  });

  it.each([
    ['POST', '/.well-known/openid-configuration'],
    ['POST', '/.well-known/oauth-authorization-server'],
    ['PUT', '/.well-known/openid-configuration'],
    ['DELETE', '/.well-known/openid-configuration'],
    ['PATCH', '/.well-known/oauth-authorization-server'],
    ['POST', '/keys'],
    ['PUT', '/keys'],
    ['DELETE', '/keys'],
  ])('%s %s → 405 with Allow: GET (RFC 9110 §15.5.6)', async (method, path) => {
    const res = await fetch(`${server.url}${path}`, {
      method,
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: 'issuer=https://evil.example',
    });
    expect(res.status).toBe(405);
    expect(res.headers.get('allow')).toBe('GET');
    expect(((await res.json()) as Record<string, unknown>)['error']).toBe('invalid_request');
    const doc = await metadata(server, '/.well-known/openid-configuration');
    expect(doc['issuer']).toBe(server.url);
  });

  it('the default server signs ID and access tokens with RS256, as advertised', async () => {
    const tokens = await signInAndExchange(new Agent(), server);
    expect(decodeProtectedHeader(tokens['id_token'] as string).alg).toBe('RS256');
    expect(decodeProtectedHeader(tokens['access_token'] as string).alg).toBe('RS256');
  });
});

describe('SESAME_SIGNING_ALG=ES256 (spec: "RS256 by default; ES256 selectable")', () => {
  let server: TestServer;

  beforeAll(async () => {
    server = await startTestServer({ env: { SESAME_SIGNING_ALG: 'ES256' } });
  });

  afterAll(async () => {
    await server?.close();
  });

  it('advertises ES256 in id_token_signing_alg_values_supported (OIDC Discovery §3)', async () => {
    for (const path of wellKnownPaths) {
      const doc = await metadata(server, path);
      expect(doc['id_token_signing_alg_values_supported']).toEqual(['ES256']);
    }
  });

  it('publishes a P-256 key with no private member (RFC 7518 §6.2.1)', async () => {
    const jwks = (await (await fetch(`${server.url}/keys`)).json()) as {
      keys: Array<Record<string, unknown>>;
    };
    expect(jwks.keys).toHaveLength(1);
    const key = jwks.keys[0] as Record<string, unknown>;
    expect(key).toMatchObject({ kty: 'EC', crv: 'P-256', alg: 'ES256', use: 'sig' });
    expect(key['kid']).toMatch(/^snk_/);
    expect(typeof key['x']).toBe('string');
    expect(typeof key['y']).toBe('string');
    expect(key).not.toHaveProperty('d');
    expect(key).not.toHaveProperty('n');
  });

  it('signs ID tokens, access tokens and machine tokens with ES256, verifiable against /keys', async () => {
    const tokens = await signInAndExchange(new Agent(), server);
    const jwks = createLocalJWKSet(await (await fetch(`${server.url}/keys`)).json());
    const idToken = tokens['id_token'] as string;
    expect(decodeProtectedHeader(idToken)).toMatchObject({ alg: 'ES256', typ: 'JWT' });
    const { payload } = await jwtVerify(idToken, jwks, {
      issuer: server.url,
      audience: server.web.id,
      algorithms: ['ES256'],
      currentDate: server.clock.now(),
    });
    expect(payload['sub']).toBe(server.user.id);
    const accessToken = tokens['access_token'] as string;
    expect(decodeProtectedHeader(accessToken)).toMatchObject({ alg: 'ES256', typ: 'at+jwt' });
    await jwtVerify(accessToken, jwks, {
      issuer: server.url,
      algorithms: ['ES256'],
      currentDate: server.clock.now(),
    });

    const machine = await tokenRequest(server, {
      grant_type: 'client_credentials',
      client_id: server.m2m.id,
      client_secret: server.m2m.secret ?? '',
    });
    expect(machine.status).toBe(200);
    expect(decodeProtectedHeader(machine.body['access_token'] as string).alg).toBe('ES256');
  });

  it('its tokens are accepted by the userinfo endpoint (the server verifies its own ES256 signatures)', async () => {
    const tokens = await signInAndExchange(new Agent(), server);
    const res = await fetch(`${server.url}/userinfo`, {
      headers: { authorization: `Bearer ${tokens['access_token'] as string}` },
    });
    expect(res.status).toBe(200);
    expect(((await res.json()) as Record<string, unknown>)['sub']).toBe(server.user.id);
  });
});
