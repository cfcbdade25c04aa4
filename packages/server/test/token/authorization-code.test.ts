import { createHash } from 'node:crypto';
import { createRemoteJWKSet, decodeProtectedHeader, jwtVerify } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { hashSecret, newId } from '../../src/lib/ids.ts';
import { endSession } from '../../src/protocol/sessions.ts';
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
let agent: Agent;

beforeAll(async () => {
  server = await startTestServer();
  agent = new Agent();
  // Give the demo user a role with a permission, so `permissions` has something to carry.
  const now = server.clock.now();
  await server.store.roles.insertPermission({
    id: newId('perm'),
    name: 'reports:read',
    description: 'Read reports',
    createdAt: now,
    updatedAt: now,
  });
  await server.store.roles.insert({
    id: newId('role'),
    name: 'auditor',
    displayName: 'Auditor',
    description: '',
    permissions: ['reports:read'],
    organizationId: null,
    isDefaultCreator: false,
    isDefaultMember: false,
    createdAt: now,
    updatedAt: now,
  });
  await server.store.memberships.update(
    server.user.organizationId,
    server.user.id,
    ['admin', 'auditor'],
    now,
  );
});

afterAll(async () => {
  await server.close();
});

/** A fresh code for `client` (single sign-on after the first sign-in). */
function codeFor(client: RegisteredClient = server.web, extra: Record<string, string> = {}): Promise<string> {
  return authorizationCode(agent, server, {
    client_id: client.id,
    redirect_uri: client.redirectUri,
    state: 'st',
    nonce: 'n-0S6_WzA2Mj',
    ...extra,
  });
}

/** Exchanges a code with client_secret_post. */
function exchange(code: string, client: RegisteredClient = server.web, extra: Record<string, string> = {}) {
  return tokenRequest(server, {
    grant_type: 'authorization_code',
    code,
    redirect_uri: client.redirectUri,
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

function introspect(token: string, client: RegisteredClient = server.web) {
  return postForm(server, '/oauth/introspect', {
    token,
    client_id: client.id,
    client_secret: client.secret ?? '',
  });
}

function verify(token: string, typ: string, audience: string = server.web.id) {
  const jwks = createRemoteJWKSet(new URL(`${server.url}/keys`));
  return jwtVerify(token, jwks, { issuer: server.url, audience, typ, currentDate: server.clock.now() });
}

function expectError(
  res: { status: number; body: Record<string, unknown> },
  status: number,
  error: string,
): void {
  expect({ status: res.status, error: res.body['error'] }).toEqual({ status, error });
  expect(typeof res.body['error_description']).toBe('string');
}

describe('authorization_code: success (RFC 6749 §4.1.3, §5.1)', () => {
  it('exchanges a code with client_secret_post and answers no-store (RFC 6749 §5.1)', async () => {
    const res = await exchange(await codeFor());
    expect(res.status).toBe(200);
    expect(res.headers.get('cache-control')).toBe('no-store');
    expect(res.headers.get('content-type')).toMatch(/^application\/json/);
    expect(res.body).toEqual({
      access_token: expect.any(String),
      token_type: 'Bearer',
      expires_in: 300,
      scope: 'openid profile email offline_access',
      id_token: expect.any(String),
      refresh_token: expect.any(String),
    });
  });

  it('exchanges a code with client_secret_basic (RFC 6749 §2.3.1)', async () => {
    const code = await codeFor();
    const res = await tokenRequest(
      server,
      { grant_type: 'authorization_code', code, redirect_uri: server.web.redirectUri },
      { authorization: basicAuth(server.web.id, server.web.secret ?? '') },
    );
    expect(res.status).toBe(200);
    expect(res.body['token_type']).toBe('Bearer');
    expect(res.body['access_token']).toEqual(expect.any(String));
  });

  it('accepts Basic with client_id repeated in the body when they agree (RFC 6749 §2.3.1)', async () => {
    const code = await codeFor();
    const res = await tokenRequest(
      server,
      {
        grant_type: 'authorization_code',
        code,
        redirect_uri: server.web.redirectUri,
        client_id: server.web.id,
      },
      { authorization: basicAuth(server.web.id, server.web.secret ?? '') },
    );
    expect(res.status).toBe(200);
  });

  describe('a secret with characters that need form-encoding (RFC 6749 §2.3.1, Appendix B)', () => {
    const awkward = 'p@ss:w0rd +/=%&é?#';
    let client: RegisteredClient;

    beforeAll(async () => {
      client = await server.registerClient({
        type: 'web',
        name: 'Awkward Secret App',
        redirectUris: ['http://localhost:4000/callback'],
      });
      // Secrets we issue are base64url; one set by an operator may hold anything.
      await server.store.clients.insertSecret({
        id: newId('sec'),
        clientId: client.id,
        secretHash: hashSecret(awkward),
        hint: awkward.slice(-4),
        createdAt: server.clock.now(),
        expiresAt: null,
      });
    });

    it('works through client_secret_post', async () => {
      const res = await exchange(await codeFor(client), { ...client, secret: awkward });
      expect(res.status).toBe(200);
    });

    it('works through client_secret_basic, form-urlencoded then base64', async () => {
      const code = await codeFor(client);
      const res = await tokenRequest(
        server,
        { grant_type: 'authorization_code', code, redirect_uri: client.redirectUri },
        { authorization: basicAuth(client.id, awkward) },
      );
      expect(res.status).toBe(200);
    });

    it('the issued base64url secret still works through Basic (both secrets are active)', async () => {
      const code = await codeFor(client);
      const res = await tokenRequest(
        server,
        { grant_type: 'authorization_code', code, redirect_uri: client.redirectUri },
        { authorization: basicAuth(client.id, client.secret ?? '') },
      );
      expect(res.status).toBe(200);
    });

    it('a raw "+" in Basic credentials is decoded as a space, so the unencoded secret fails', async () => {
      const code = await codeFor(client);
      // Everything encoded except the '+', which form-decoding turns into a space.
      const encoded = new URLSearchParams({ v: awkward }).toString().slice(2).replace('%2B', '+');
      const raw = `Basic ${Buffer.from(`${client.id}:${encoded}`).toString('base64')}`;
      const res = await tokenRequest(
        server,
        { grant_type: 'authorization_code', code, redirect_uri: client.redirectUri },
        { authorization: raw },
      );
      expectError(res, 401, 'invalid_client');
      expect(res.headers.get('www-authenticate')).toMatch(/^Basic /);
    });
  });

  it('issues no refresh token without offline_access (OIDC Core §11)', async () => {
    const res = await exchange(await codeFor(server.web, { scope: 'openid profile email' }));
    expect(res.status).toBe(200);
    expect(res.body['refresh_token']).toBeUndefined();
    expect(res.body['id_token']).toEqual(expect.any(String));
    expect(res.body['scope']).toBe('openid profile email');
  });

  it('issues no ID token without openid (OIDC Core §3.1.3.3)', async () => {
    const res = await exchange(await codeFor(server.web, { scope: 'profile email offline_access' }));
    expect(res.status).toBe(200);
    expect(res.body['id_token']).toBeUndefined();
    expect(res.body['refresh_token']).toEqual(expect.any(String));
    expect(res.body['scope']).toBe('profile email offline_access');
  });

  it('signs an RFC 9068 access token verifiable against /keys, with every claim of the spec', async () => {
    const res = await exchange(await codeFor());
    const token = res.body['access_token'] as string;
    const { payload, protectedHeader } = await verify(token, 'at+jwt');
    expect(protectedHeader).toEqual({ alg: 'RS256', kid: expect.stringMatching(/^snk_/), typ: 'at+jwt' });
    const now = Math.floor(server.clock.now().getTime() / 1000);
    expect(payload).toEqual({
      iss: server.url,
      aud: [server.web.id],
      sub: server.user.id,
      oid: server.user.organizationId,
      sid: expect.stringMatching(/^ses_/),
      exp: now + 300,
      iat: now,
      nbf: now,
      jti: expect.stringMatching(/^tkn_/),
      client_id: server.web.id,
      scope: 'openid profile email offline_access',
      roles: expect.arrayContaining(['admin', 'auditor']),
      permissions: ['reports:read'],
    });
    expect(payload['sub']).toMatch(/^usr_/);
    expect(payload['email']).toBeUndefined();
  });

  it('signs an ID token with azp, auth_time, nonce, amr, profile claims and a correct at_hash (OIDC Core §2, §3.1.3.6)', async () => {
    const res = await exchange(await codeFor());
    const accessToken = res.body['access_token'] as string;
    const { payload, protectedHeader } = await verify(res.body['id_token'] as string, 'JWT');
    expect(protectedHeader).toEqual({ alg: 'RS256', kid: expect.stringMatching(/^snk_/), typ: 'JWT' });
    const digest = createHash('sha256').update(accessToken).digest();
    const atHash = digest.subarray(0, 16).toString('base64url');
    const access = await verify(accessToken, 'at+jwt');
    expect(payload).toMatchObject({
      iss: server.url,
      aud: [server.web.id],
      azp: server.web.id,
      client_id: server.web.id,
      sub: server.user.id,
      oid: server.user.organizationId,
      sid: access.payload['sid'],
      nonce: 'n-0S6_WzA2Mj',
      at_hash: atHash,
      amr: ['pwd'],
      email: 'ada@example.com',
      email_verified: true,
      name: 'Ada Lovelace',
      given_name: 'Ada',
      family_name: 'Lovelace',
    });
    expect(payload['auth_time']).toEqual(expect.any(Number));
    expect(payload['auth_time']).toBeLessThanOrEqual(payload['iat'] as number);
    expect(payload['exp']).toBeGreaterThan(payload['iat'] as number);
  });

  it('leaves the profile and email claims out of the ID token when those scopes were not asked (OIDC Core §5.4)', async () => {
    const res = await exchange(await codeFor(server.web, { scope: 'openid' }));
    const { payload } = await verify(res.body['id_token'] as string, 'JWT');
    for (const claim of ['email', 'email_verified', 'name', 'given_name', 'family_name']) {
      expect(payload[claim]).toBeUndefined();
    }
    expect(payload['sub']).toBe(server.user.id);
  });
});

describe('authorization_code: failures (RFC 6749 §4.1.3, §5.2)', () => {
  it('a reused code is invalid_grant and revokes its tokens (RFC 6749 §4.1.2)', async () => {
    const code = await codeFor();
    const first = await exchange(code);
    expect(first.status).toBe(200);
    const accessToken = first.body['access_token'] as string;
    const refreshToken = first.body['refresh_token'] as string;
    expect((await introspect(accessToken)).body['active']).toBe(true);

    expectError(await exchange(code), 400, 'invalid_grant');
    expectError(await refresh(refreshToken), 400, 'invalid_grant');
    expect((await introspect(accessToken)).body).toEqual({ active: false });
    expect((await introspect(refreshToken)).body).toEqual({ active: false });
  });

  it('two concurrent exchanges of one code: at most one succeeds, and nothing it got survives (RFC 6749 §4.1.2)', async () => {
    const code = await codeFor();
    const results = await Promise.all([exchange(code), exchange(code)]);
    expect(results.filter((r) => r.status === 200).length).toBeLessThanOrEqual(1);
    for (const res of results) {
      if (res.status !== 200) {
        expectError(res, 400, 'invalid_grant');
        continue;
      }
      expectError(await refresh(res.body['refresh_token'] as string), 400, 'invalid_grant');
      expect((await introspect(res.body['access_token'] as string)).body).toEqual({ active: false });
    }
  });

  it('an expired code (older than 10 minutes) is invalid_grant', async () => {
    const code = await codeFor();
    server.clock.advance(601);
    expectError(await exchange(code), 400, 'invalid_grant');
  });

  it('a code still inside its 10 minutes works', async () => {
    const code = await codeFor();
    server.clock.advance(590);
    expect((await exchange(code)).status).toBe(200);
  });

  it('a code issued to another client is invalid_grant', async () => {
    const code = await codeFor(server.web);
    const res = await exchange(code, server.web2, { redirect_uri: server.web.redirectUri });
    expectError(res, 400, 'invalid_grant');
  });

  it('a redirect_uri different from the authorization request is invalid_grant', async () => {
    const code = await codeFor();
    const res = await exchange(code, server.web, { redirect_uri: 'http://localhost:3000/auth/callback/' });
    expectError(res, 400, 'invalid_grant');
  });

  it('an unknown code is invalid_grant', async () => {
    expectError(await exchange('not-a-code-we-issued'), 400, 'invalid_grant');
  });

  describe('PKCE (RFC 7636 §4.6)', () => {
    it('a web app that sent a code_challenge must send the matching verifier', async () => {
      const { verifier, challenge } = pkcePair();
      const pkce = { code_challenge: challenge, code_challenge_method: 'S256' };
      expectError(await exchange(await codeFor(server.web, pkce)), 400, 'invalid_request');
      expectError(
        await exchange(await codeFor(server.web, pkce), server.web, { code_verifier: pkcePair().verifier }),
        400,
        'invalid_grant',
      );
      const ok = await exchange(await codeFor(server.web, pkce), server.web, { code_verifier: verifier });
      expect(ok.status).toBe(200);
    });

    it('a verifier sent for a code issued without a challenge is invalid_grant (PKCE downgrade, RFC 9700 §2.1.1)', async () => {
      const res = await exchange(await codeFor(), server.web, { code_verifier: pkcePair().verifier });
      expectError(res, 400, 'invalid_grant');
    });

    it('a single-page app exchanges its code with PKCE and no secret', async () => {
      const { verifier, challenge } = pkcePair();
      const code = await codeFor(server.spa, { code_challenge: challenge, code_challenge_method: 'S256' });
      const res = await exchange(code, server.spa, { code_verifier: verifier });
      expect(res.status).toBe(200);
      expect(res.body['refresh_token']).toEqual(expect.any(String));
      const { payload } = await verify(res.body['access_token'] as string, 'at+jwt', server.spa.id);
      expect(payload['client_id']).toBe(server.spa.id);
    });

    it('a single-page app without the verifier is invalid_request', async () => {
      const { challenge } = pkcePair();
      const code = await codeFor(server.spa, { code_challenge: challenge, code_challenge_method: 'S256' });
      expectError(await exchange(code, server.spa), 400, 'invalid_request');
    });

    it('a single-page app presenting a secret is invalid_client (public clients have none)', async () => {
      const { verifier, challenge } = pkcePair();
      const code = await codeFor(server.spa, { code_challenge: challenge, code_challenge_method: 'S256' });
      const res = await exchange(code, server.spa, { code_verifier: verifier, client_secret: 'anything' });
      expectError(res, 401, 'invalid_client');
    });
  });

  describe('client authentication (RFC 6749 §2.3, §5.2)', () => {
    it('a wrong secret with client_secret_post is 401 invalid_client', async () => {
      const res = await exchange(await codeFor(), { ...server.web, secret: 'wrong-secret' });
      expectError(res, 401, 'invalid_client');
    });

    it('a wrong secret with client_secret_basic is 401 invalid_client with WWW-Authenticate: Basic', async () => {
      const code = await codeFor();
      const res = await tokenRequest(
        server,
        { grant_type: 'authorization_code', code, redirect_uri: server.web.redirectUri },
        { authorization: basicAuth(server.web.id, 'wrong-secret') },
      );
      expectError(res, 401, 'invalid_client');
      expect(res.headers.get('www-authenticate')).toMatch(/^Basic /);
    });

    it('a failed client authentication does not spend the code', async () => {
      const code = await codeFor();
      expectError(await exchange(code, { ...server.web, secret: 'wrong-secret' }), 401, 'invalid_client');
      expect((await exchange(code)).status).toBe(200);
    });

    it('Basic together with client_secret_post is invalid_request (one method only, RFC 6749 §2.3)', async () => {
      const code = await codeFor();
      const res = await tokenRequest(
        server,
        {
          grant_type: 'authorization_code',
          code,
          redirect_uri: server.web.redirectUri,
          client_id: server.web.id,
          client_secret: server.web.secret ?? '',
        },
        { authorization: basicAuth(server.web.id, server.web.secret ?? '') },
      );
      expectError(res, 400, 'invalid_request');
    });

    it('a web app sending no secret is 401 invalid_client', async () => {
      const res = await exchange(await codeFor(), { ...server.web, secret: null });
      expectError(res, 401, 'invalid_client');
    });
  });

  describe('a code dies with its sign-in session (spec: Sessions)', () => {
    it('a code whose session was ended by RP-initiated logout is invalid_grant', async () => {
      const browser = new Agent();
      const first = await signInAndExchange(browser, server);
      const code = await authorizationCode(browser, server, {
        client_id: server.web.id,
        redirect_uri: server.web.redirectUri,
      });
      const logout = await browser.fetch(
        `${server.url}/oidc/logout?${new URLSearchParams({
          id_token_hint: first['id_token'] as string,
          post_logout_redirect_uri: server.web.postLogoutRedirectUri,
        })}`,
      );
      expect(logout.status).toBe(303);
      expectError(await exchange(code), 400, 'invalid_grant');
    });

    it('a code whose session was ended on the server (endSession) is invalid_grant', async () => {
      const browser = new Agent();
      const first = await signInAndExchange(browser, server);
      const code = await authorizationCode(browser, server, {
        client_id: server.web.id,
        redirect_uri: server.web.redirectUri,
      });
      const { payload } = await verify(first['access_token'] as string, 'at+jwt');
      expect(await endSession(server.ctx, payload['sid'] as string, 'revoked')).not.toBeNull();
      expectError(await exchange(code), 400, 'invalid_grant');
    });
  });

  it('a machine client may not use authorization_code (unauthorized_client)', async () => {
    const code = await codeFor();
    const res = await tokenRequest(server, {
      grant_type: 'authorization_code',
      code,
      redirect_uri: server.web.redirectUri,
      client_id: server.m2m.id,
      client_secret: server.m2m.secret ?? '',
    });
    expectError(res, 400, 'unauthorized_client');
  });

  it('the header of an issued token names the key published at /keys', async () => {
    const res = await exchange(await codeFor());
    const { kid } = decodeProtectedHeader(res.body['access_token'] as string);
    const jwks = (await (await fetch(`${server.url}/keys`)).json()) as { keys: Array<{ kid: string }> };
    expect(jwks.keys.map((k) => k.kid)).toContain(kid);
  });
});
