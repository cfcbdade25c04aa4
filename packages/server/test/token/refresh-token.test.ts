import { createRemoteJWKSet, decodeJwt, jwtVerify } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { deriveKey, seal } from '../../src/keys/secret-box.ts';
import { hashSecret, newId } from '../../src/lib/ids.ts';
import { endSession } from '../../src/protocol/sessions.ts';
import {
  Agent,
  authorizationCode,
  basicAuth,
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

const fullScope = 'openid profile email offline_access';

/** Signs a fresh browser in and returns its first token response. */
async function signedIn(
  options: { agent?: Agent; credentials?: { email: string; password: string } } = {},
): Promise<{ agent: Agent; tokens: Record<string, unknown>; refreshToken: string }> {
  const agent = options.agent ?? new Agent();
  const tokens = options.credentials
    ? await signInWith(agent, options.credentials)
    : await signInAndExchange(agent, server);
  return { agent, tokens, refreshToken: tokens['refresh_token'] as string };
}

async function signInWith(agent: Agent, credentials: { email: string; password: string }) {
  const code = await authorizationCode(
    agent,
    server,
    { client_id: server.web.id, redirect_uri: server.web.redirectUri },
    credentials,
  );
  const { body } = await tokenRequest(server, {
    grant_type: 'authorization_code',
    code,
    redirect_uri: server.web.redirectUri,
    client_id: server.web.id,
    client_secret: server.web.secret ?? '',
  });
  return body;
}

function refresh(
  refreshToken: string,
  client: RegisteredClient = server.web,
  extra: Record<string, string> = {},
) {
  return tokenRequest(server, {
    grant_type: 'refresh_token',
    refresh_token: refreshToken,
    client_id: client.id,
    ...(client.secret ? { client_secret: client.secret } : {}),
    ...extra,
  });
}

function introspect(token: string) {
  return postForm(server, '/oauth/introspect', {
    token,
    client_id: server.web.id,
    client_secret: server.web.secret ?? '',
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

describe('refresh_token: rotation (RFC 6749 §6, RFC 9700 §4.14.2)', () => {
  it('every refresh answers a new refresh token, a new access token and a new ID token', async () => {
    const { tokens, refreshToken } = await signedIn();
    const res = await refresh(refreshToken);
    expect(res.status).toBe(200);
    expect(res.headers.get('cache-control')).toBe('no-store');
    expect(res.body).toEqual({
      access_token: expect.any(String),
      token_type: 'Bearer',
      expires_in: 300,
      scope: fullScope,
      id_token: expect.any(String),
      refresh_token: expect.any(String),
    });
    expect(res.body['refresh_token']).not.toBe(refreshToken);
    expect(res.body['access_token']).not.toBe(tokens['access_token']);
    expect(res.body['id_token']).not.toBe(tokens['id_token']);

    const jwks = createRemoteJWKSet(new URL(`${server.url}/keys`));
    const { payload } = await jwtVerify(res.body['id_token'] as string, jwks, {
      issuer: server.url,
      audience: server.web.id,
      typ: 'JWT',
      currentDate: server.clock.now(),
    });
    expect(payload['sub']).toBe(server.user.id);
    expect(payload['email']).toBe(server.user.email);

    // And the successor rotates in turn.
    const next = await refresh(res.body['refresh_token'] as string);
    expect(next.status).toBe(200);
    expect(next.body['refresh_token']).not.toBe(res.body['refresh_token']);
  });

  it('works with client_secret_basic too', async () => {
    const { refreshToken } = await signedIn();
    const res = await tokenRequest(
      server,
      { grant_type: 'refresh_token', refresh_token: refreshToken },
      { authorization: basicAuth(server.web.id, server.web.secret ?? '') },
    );
    expect(res.status).toBe(200);
  });

  it('the just-rotated token presented again within 30 s returns the same successor refresh token, with fresh access and ID tokens of the grant', async () => {
    const { refreshToken } = await signedIn();
    const first = await refresh(refreshToken);
    expect(first.status).toBe(200);
    server.clock.advance(29);
    const again = await refresh(refreshToken);
    expect(again.status).toBe(200);
    expect(again.body['refresh_token']).toBe(first.body['refresh_token']);
    expect(Object.keys(again.body).sort()).toEqual(Object.keys(first.body).sort());
    expect(again.body['scope']).toBe(first.body['scope']);
    const [a, b] = [
      decodeJwt(first.body['access_token'] as string),
      decodeJwt(again.body['access_token'] as string),
    ];
    expect(b.jti).not.toBe(a.jti);
    expect({ ...b, jti: 0, iat: 0, nbf: 0, exp: 0 }).toEqual({ ...a, jti: 0, iat: 0, nbf: 0, exp: 0 });
    expect(b.iat).toBe((a.iat as number) + 29);
    const [idA, idB] = [
      decodeJwt(first.body['id_token'] as string),
      decodeJwt(again.body['id_token'] as string),
    ];
    expect(idB.sub).toBe(idA.sub);
    expect(idB.sid).toBe(idA.sid);
    // The successor is still the live one.
    expect((await refresh(first.body['refresh_token'] as string)).status).toBe(200);
  });

  it('a rotation sealed by an earlier version (the whole response) is replayed as it was', async () => {
    const { refreshToken } = await signedIn();
    const store = server.ctx.store;
    const current = await store.refreshTokens.getByHash(hashSecret(refreshToken));
    if (!current) throw new Error('the refresh token was not stored');
    const legacy = {
      access_token: 'legacy-access-token',
      token_type: 'Bearer',
      expires_in: 300,
      scope: fullScope,
      refresh_token: 'legacy-successor',
    };
    const successor = { ...current, id: newId('tkn'), tokenHash: hashSecret('legacy-successor') };
    const sealed = await seal(legacy, server.ctx.sealingKey);
    expect(await store.refreshTokens.rotate(current.id, successor, sealed, server.ctx.config.now())).toBe(
      true,
    );
    const res = await refresh(refreshToken);
    expect(res.status).toBe(200);
    expect(res.body).toEqual(legacy);
  });

  it('a replay after the server secret changed is invalid_grant, not a successor that does not exist', async () => {
    const { refreshToken } = await signedIn();
    expect((await refresh(refreshToken)).status).toBe(200);
    const ctx = server.ctx as { refreshSuccessorKey: Uint8Array };
    const original = ctx.refreshSuccessorKey;
    ctx.refreshSuccessorKey = deriveKey('another server secret', 'refresh-successors');
    try {
      const again = await refresh(refreshToken);
      expect(again.status).toBe(400);
      expect(again.body['error']).toBe('invalid_grant');
      expect(server.logs.some((line) => line.includes('refresh successor not found'))).toBe(true);
    } finally {
      ctx.refreshSuccessorKey = original;
    }
  });

  it('a replay within the grace window may narrow the scope, but not widen it', async () => {
    const { refreshToken } = await signedIn();
    const first = await refresh(refreshToken);
    expect(first.status).toBe(200);
    const narrowed = await refresh(refreshToken, server.web, { scope: 'openid offline_access' });
    expect(narrowed.status).toBe(200);
    expect(narrowed.body['scope']).toBe('openid offline_access');
    expect(narrowed.body['refresh_token']).toBe(first.body['refresh_token']);
    const widened = await refresh(refreshToken, server.web, { scope: `${fullScope} admin` });
    expect(widened.status).toBe(400);
    expect(widened.body['error']).toBe('invalid_scope');
  });

  it('two concurrent refreshes of one token both succeed and agree on the successor (two tabs)', async () => {
    const { refreshToken } = await signedIn();
    const [a, b] = await Promise.all([refresh(refreshToken), refresh(refreshToken)]);
    expect(a.status).toBe(200);
    expect(b.status).toBe(200);
    expect(b.body['refresh_token']).toBe(a.body['refresh_token']);
    for (const res of [a, b]) {
      expect((await introspect(res.body['access_token'] as string)).body['active']).toBe(true);
      expect(typeof res.body['id_token']).toBe('string');
    }
    expect((await refresh(a.body['refresh_token'] as string)).status).toBe(200);
  });

  it('reuse after the 30 s grace window is invalid_grant and revokes the whole family', async () => {
    const { refreshToken } = await signedIn();
    const first = await refresh(refreshToken);
    expect(first.status).toBe(200);
    const successor = first.body['refresh_token'] as string;
    const accessToken = first.body['access_token'] as string;
    expect((await introspect(accessToken)).body['active']).toBe(true);

    server.clock.advance(31);
    expectError(await refresh(refreshToken), 400, 'invalid_grant');
    expectError(await refresh(successor), 400, 'invalid_grant');
    expect((await introspect(successor)).body).toEqual({ active: false });
    expect((await introspect(accessToken)).body).toEqual({ active: false });
  });

  it('a narrower scope is allowed, and the next refresh may ask the full original scope again (RFC 6749 §6)', async () => {
    const { refreshToken } = await signedIn();
    const narrow = await refresh(refreshToken, server.web, { scope: 'openid email' });
    expect(narrow.status).toBe(200);
    expect(narrow.body['scope']).toBe('openid email');
    expect(decodeJwt(narrow.body['access_token'] as string)['scope']).toBe('openid email');
    expect(narrow.body['refresh_token']).toEqual(expect.any(String));
    const idClaims = decodeJwt(narrow.body['id_token'] as string);
    expect(idClaims['email']).toBe(server.user.email);
    expect(idClaims['name']).toBeUndefined();

    const full = await refresh(narrow.body['refresh_token'] as string, server.web, { scope: fullScope });
    expect(full.status).toBe(200);
    expect(full.body['scope']).toBe(fullScope);
    expect(decodeJwt(full.body['access_token'] as string)['scope']).toBe(fullScope);
  });

  it('a wider scope is invalid_scope (RFC 6749 §6)', async () => {
    const { refreshToken } = await signedIn();
    expectError(
      await refresh(refreshToken, server.web, { scope: `${fullScope} admin` }),
      400,
      'invalid_scope',
    );
    // A refused request does not spend the token.
    expect((await refresh(refreshToken)).status).toBe(200);
  });

  it('a scope wider than a narrowed grant is still measured against the original grant', async () => {
    const agent = new Agent();
    const tokens = await signInAndExchange(agent, server, { scope: 'openid offline_access' });
    const res = await refresh(tokens['refresh_token'] as string, server.web, { scope: 'openid email' });
    expectError(res, 400, 'invalid_scope');
  });

  it('a refresh token of another client is invalid_grant, and stays good for its own client', async () => {
    const { refreshToken } = await signedIn();
    expectError(await refresh(refreshToken, server.web2), 400, 'invalid_grant');
    expect((await refresh(refreshToken)).status).toBe(200);
  });

  it('an unknown refresh token is invalid_grant', async () => {
    expectError(await refresh('never-issued'), 400, 'invalid_grant');
  });

  it('a wrong client secret is 401 invalid_client', async () => {
    const { refreshToken } = await signedIn();
    expectError(await refresh(refreshToken, { ...server.web, secret: 'wrong' }), 401, 'invalid_client');
  });
});

describe('refresh_token: a refresh token dies with its session and its user (spec: Sessions)', () => {
  it('after RP-initiated logout with id_token_hint, refresh is invalid_grant', async () => {
    const { agent, tokens, refreshToken } = await signedIn();
    const logout = await agent.fetch(
      `${server.url}/oidc/logout?${new URLSearchParams({
        id_token_hint: tokens['id_token'] as string,
        post_logout_redirect_uri: server.web.postLogoutRedirectUri,
        state: 'bye',
      })}`,
    );
    expect(logout.status).toBe(303);
    expect(logout.headers.get('location')).toBe(`${server.web.postLogoutRedirectUri}?state=bye`);
    expectError(await refresh(refreshToken), 400, 'invalid_grant');
  });

  it('after endSession, refresh is invalid_grant, and so is a replay within the grace window', async () => {
    const { tokens, refreshToken } = await signedIn();
    const rotated = await refresh(refreshToken);
    expect(rotated.status).toBe(200);
    const sid = decodeJwt(tokens['access_token'] as string)['sid'] as string;
    expect(await endSession(server.ctx, sid, 'revoked')).not.toBeNull();
    expectError(await refresh(rotated.body['refresh_token'] as string), 400, 'invalid_grant');
    expectError(await refresh(refreshToken), 400, 'invalid_grant');
  });

  it('a disabled user cannot refresh', async () => {
    const person = { email: 'grace@example.com', password: 'another long password 42' };
    const created = await server.createUser({ ...person, name: 'Grace Hopper' });
    const { refreshToken } = await signedIn({ credentials: person });
    expect(refreshToken).toEqual(expect.any(String));
    expect((await refresh(refreshToken)).status).toBe(200);
    const { refreshToken: second } = await signedIn({ credentials: person });
    await server.store.users.update(created.id, { disabled: true });
    expectError(await refresh(second), 400, 'invalid_grant');
  });

  it('a disabled user cannot collect the sealed successor by replaying inside the grace window', async () => {
    const person = { email: 'barbara@example.com', password: 'liskov substitution 1987' };
    const created = await server.createUser({ ...person, name: 'Barbara Liskov' });
    const { refreshToken } = await signedIn({ credentials: person });
    expect((await refresh(refreshToken)).status).toBe(200);
    await server.store.users.update(created.id, { disabled: true });
    expectError(await refresh(refreshToken), 400, 'invalid_grant');
  });

  it('role changes appear in the next refreshed access token', async () => {
    const person = { email: 'katherine@example.com', password: 'orbital mechanics 1962' };
    const created = await server.createUser({ ...person, name: 'Katherine Johnson' });
    const { tokens, refreshToken } = await signedIn({ credentials: person });
    expect(decodeJwt(tokens['access_token'] as string)['roles']).toEqual(['admin']);
    await server.store.memberships.update(created.organizationId, created.id, ['member'], server.clock.now());
    const res = await refresh(refreshToken);
    expect(res.status).toBe(200);
    expect(decodeJwt(res.body['access_token'] as string)['roles']).toEqual(['member']);
  });
});

describe('refresh_token: expiry', () => {
  it('a refresh token dies when its session idles out (7 days without use)', async () => {
    const idle = await startTestServer();
    try {
      const tokens = await signInAndExchange(new Agent(), idle);
      idle.clock.advance(7 * 86400 + 1);
      const res = await tokenRequest(idle, {
        grant_type: 'refresh_token',
        refresh_token: tokens['refresh_token'] as string,
        client_id: idle.web.id,
        client_secret: idle.web.secret ?? '',
      });
      expectError(res, 400, 'invalid_grant');
    } finally {
      await idle.close();
    }
  });

  it('using a refresh token slides the session idle timeout', async () => {
    const idle = await startTestServer();
    try {
      const request = (token: string) =>
        tokenRequest(idle, {
          grant_type: 'refresh_token',
          refresh_token: token,
          client_id: idle.web.id,
          client_secret: idle.web.secret ?? '',
        });
      const tokens = await signInAndExchange(new Agent(), idle);
      idle.clock.advance(6 * 86400);
      const first = await request(tokens['refresh_token'] as string);
      expect(first.status).toBe(200);
      idle.clock.advance(6 * 86400);
      expect((await request(first.body['refresh_token'] as string)).status).toBe(200);
    } finally {
      await idle.close();
    }
  });

  it('an expired refresh token is invalid_grant', async () => {
    const short = await startTestServer({ env: { SESAME_REFRESH_TOKEN_TTL: '120' } });
    try {
      const tokens = await signInAndExchange(new Agent(), short);
      const request = (token: string) =>
        tokenRequest(short, {
          grant_type: 'refresh_token',
          refresh_token: token,
          client_id: short.web.id,
          client_secret: short.web.secret ?? '',
        });
      short.clock.advance(100);
      const rotated = await request(tokens['refresh_token'] as string);
      expect(rotated.status).toBe(200);
      // The successor has a full lifetime of its own; past it, it is dead.
      short.clock.advance(121);
      expectError(await request(rotated.body['refresh_token'] as string), 400, 'invalid_grant');
    } finally {
      await short.close();
    }
  });
});
