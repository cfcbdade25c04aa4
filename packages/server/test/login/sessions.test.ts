import { decodeJwt } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  Agent,
  type AuthorizeParams,
  authorizeUrl,
  exchangeCode,
  openHostedPage,
  redirectParams,
  submitSignIn,
  tokenRequest,
} from '../support/agent.ts';
import { startTestServer, type TestServer } from '../support/server.ts';

const webParams = (server: TestServer, extra: Record<string, string> = {}): AuthorizeParams => ({
  client_id: server.web.id,
  redirect_uri: server.web.redirectUri,
  state: 'st-web',
  nonce: 'n-web',
  ...extra,
});

const web2Params = (server: TestServer, extra: Record<string, string> = {}): AuthorizeParams => ({
  client_id: server.web2.id,
  redirect_uri: server.web2.redirectUri,
  state: 'st-web2',
  nonce: 'n-web2',
  ...extra,
});

/** Signs in on the hosted page; returns the client redirect and the Set-Cookie lines of the sign-in. */
async function signInFresh(
  agent: Agent,
  server: TestServer,
  params: AuthorizeParams,
  credentials: { email: string; password: string } = server.user,
): Promise<{ res: Response; setCookies: string[] }> {
  const { html, url } = await openHostedPage(agent, server, params);
  if (!url?.startsWith('/login?')) throw new Error(`expected the sign-in page, got ${url}`);
  const res = await submitSignIn(agent, server, html, credentials);
  return { res, setCookies: res.headers.getSetCookie() };
}

/** Authorizes and expects a code straight away (no page), returning the exchanged tokens' claims. */
async function ssoClaims(agent: Agent, server: TestServer, params: AuthorizeParams) {
  const res = await agent.fetch(authorizeUrl(server, params));
  expect(res.status).toBe(303);
  const location = res.headers.get('location') ?? '';
  expect(location.startsWith(`${params.redirect_uri}?`)).toBe(true);
  const code = redirectParams(res).get('code');
  expect(code).toBeTruthy();
  const client = params.client_id === server.web.id ? server.web : server.web2;
  const tokens = await exchangeCode(server, client, code as string);
  expect(tokens.status).toBe(200);
  return {
    id: decodeJwt(tokens.body['id_token'] as string),
    access: decodeJwt(tokens.body['access_token'] as string),
    refreshToken: tokens.body['refresh_token'] as string | undefined,
  };
}

/** Where an authorization request goes for this browser: `code`, `sign-in`, or the error. */
async function outcome(agent: Agent, server: TestServer, params: AuthorizeParams): Promise<string> {
  const res = await agent.fetch(authorizeUrl(server, params));
  const location = res.headers.get('location') ?? '';
  if (res.status !== 303) return `status ${res.status}`;
  if (location.startsWith('/login?')) return 'sign-in';
  const query = new URL(location).searchParams;
  return query.get('code') ? 'code' : (query.get('error') ?? location);
}

describe('single sign-on, prompt and max_age (OIDC Core §3.1.2.1; spec: Sessions)', () => {
  let server: TestServer;
  beforeAll(async () => {
    server = await startTestServer();
  });
  afterAll(async () => {
    await server.close();
  });

  it('after signing in to one app, a second app gets a code at once, in the same session', async () => {
    const agent = new Agent();
    const { res } = await signInFresh(agent, server, webParams(server));
    const first = await exchangeCode(server, server.web, redirectParams(res).get('code') as string);
    const firstId = decodeJwt(first.body['id_token'] as string);
    server.clock.advance(5);
    const second = await ssoClaims(agent, server, web2Params(server));
    expect(second.id.sub).toBe(server.user.id);
    expect(second.id['sid']).toBe(firstId['sid']);
    expect(second.id['auth_time']).toBe(firstId['auth_time']);
    expect(second.id['nonce']).toBe('n-web2');
    expect(second.id.aud).toEqual([server.web2.id]);
    // The session records every app that received tokens in it.
    const session = await server.ctx.store.sessions.get(firstId['sid'] as string);
    expect(session?.clientIds).toEqual(expect.arrayContaining([server.web.id, server.web2.id]));
  });

  it('the SSO redirect carries state and iss (RFC 9207)', async () => {
    const agent = new Agent();
    await signInFresh(agent, server, webParams(server));
    const res = await agent.fetch(authorizeUrl(server, web2Params(server, { state: 'sso-state' })));
    const params = redirectParams(res);
    expect(params.get('state')).toBe('sso-state');
    expect(params.get('iss')).toBe(server.url);
  });

  it('a browser without the session cookie gets the sign-in page', async () => {
    const agent = new Agent();
    await signInFresh(agent, server, webParams(server));
    expect(await outcome(new Agent(), server, web2Params(server))).toBe('sign-in');
  });

  it('prompt=login forces the sign-in page despite a session, and refreshes auth_time', async () => {
    const agent = new Agent();
    const { res } = await signInFresh(agent, server, webParams(server));
    const before = decodeJwt(
      (await exchangeCode(server, server.web, redirectParams(res).get('code') as string)).body[
        'id_token'
      ] as string,
    );
    server.clock.advance(120);
    expect(await outcome(agent, server, web2Params(server, { prompt: 'login' }))).toBe('sign-in');
    const again = await signInFresh(agent, server, web2Params(server, { prompt: 'login' }));
    const after = decodeJwt(
      (await exchangeCode(server, server.web2, redirectParams(again.res).get('code') as string)).body[
        'id_token'
      ] as string,
    );
    expect(after['auth_time']).toBe((before['auth_time'] as number) + 120);
    expect(after['sid']).toBe(before['sid']);
  });

  it('prompt=none without a session → login_required with state and iss (OIDC Core §3.1.2.6)', async () => {
    const res = await new Agent().fetch(authorizeUrl(server, web2Params(server, { prompt: 'none' })));
    expect(res.status).toBe(303);
    expect(res.headers.get('location')?.startsWith(`${server.web2.redirectUri}?`)).toBe(true);
    const params = redirectParams(res);
    expect(params.get('error')).toBe('login_required');
    expect(params.get('state')).toBe('st-web2');
    expect(params.get('iss')).toBe(server.url);
  });

  it('prompt=none with a session → a code, no page', async () => {
    const agent = new Agent();
    await signInFresh(agent, server, webParams(server));
    const claims = await ssoClaims(agent, server, web2Params(server, { prompt: 'none' }));
    expect(claims.id.sub).toBe(server.user.id);
  });

  it('max_age=0 with a session older than 0 s → the sign-in page; with prompt=none → login_required', async () => {
    const agent = new Agent();
    await signInFresh(agent, server, webParams(server));
    server.clock.advance(2);
    expect(await outcome(agent, server, web2Params(server, { max_age: '0' }))).toBe('sign-in');
    expect(await outcome(agent, server, web2Params(server, { max_age: '0', prompt: 'none' }))).toBe(
      'login_required',
    );
  });

  it('max_age larger than the session’s age → single sign-on', async () => {
    const agent = new Agent();
    await signInFresh(agent, server, webParams(server));
    server.clock.advance(30);
    expect(await outcome(agent, server, web2Params(server, { max_age: '60' }))).toBe('code');
    server.clock.advance(31);
    expect(await outcome(agent, server, web2Params(server, { max_age: '60' }))).toBe('sign-in');
  });

  it('signing in again because of max_age gives a fresh auth_time (OIDC Core §3.1.2.1)', async () => {
    const agent = new Agent();
    await signInFresh(agent, server, webParams(server));
    server.clock.advance(600);
    const { res } = await signInFresh(agent, server, web2Params(server, { max_age: '300' }));
    const tokens = await exchangeCode(server, server.web2, redirectParams(res).get('code') as string);
    const id = decodeJwt(tokens.body['id_token'] as string);
    expect(id['auth_time']).toBe(Math.floor(server.clock.now().getTime() / 1000));
  });

  it('the session cookie is HttpOnly, SameSite=Lax, Path=/ (spec: Sessions)', async () => {
    const agent = new Agent();
    const { setCookies } = await signInFresh(agent, server, webParams(server));
    const line = setCookies.find((c) => c.startsWith('sesame_session='));
    expect(line).toBeTruthy();
    const attrs = (line as string).split(';').map((a) => a.trim().toLowerCase());
    expect(attrs).toContain('httponly');
    expect(attrs).toContain('samesite=lax');
    expect(attrs).toContain('path=/');
    expect(attrs.some((a) => a.startsWith('domain='))).toBe(false);
    // The value is a 256-bit random string, not the session id.
    const value = (line as string).split(';')[0]?.split('=')[1] ?? '';
    expect(value).toMatch(/^[A-Za-z0-9_-]{43,}$/);
    expect(value).not.toMatch(/^ses_/);
  });

  it('the cookie value changes at every sign-in and the old value no longer gives SSO (no fixation)', async () => {
    const agent = new Agent();
    await signInFresh(agent, server, webParams(server));
    const first = agent.cookies.get('sesame_session');
    expect(first).toBeTruthy();
    await signInFresh(agent, server, web2Params(server, { prompt: 'login' }));
    const second = agent.cookies.get('sesame_session');
    expect(second).toBeTruthy();
    expect(second).not.toBe(first);
    const stale = new Agent();
    stale.cookies.set('sesame_session', first as string);
    expect(await outcome(stale, server, web2Params(server))).toBe('sign-in');
    expect(await outcome(stale, server, web2Params(server, { prompt: 'none' }))).toBe('login_required');
    expect(await outcome(agent, server, web2Params(server))).toBe('code');
  });

  it('a cookie value planted before sign-in is replaced, and the planted value gives nothing', async () => {
    const agent = new Agent();
    const planted = 'attacker-chosen-value-attacker-chosen-value';
    agent.cookies.set('sesame_session', planted);
    await signInFresh(agent, server, webParams(server));
    expect(agent.cookies.get('sesame_session')).not.toBe(planted);
    const attacker = new Agent();
    attacker.cookies.set('sesame_session', planted);
    expect(await outcome(attacker, server, web2Params(server))).toBe('sign-in');
  });

  it('another person signing in on the same browser ends the previous person’s session', async () => {
    const bob = { email: 'bob@example.com', password: 'bob password 123' };
    const created = await server.createUser({ ...bob, name: 'Bob' });
    const agent = new Agent();
    const { res } = await signInFresh(agent, server, webParams(server));
    const tokens = await exchangeCode(server, server.web, redirectParams(res).get('code') as string);
    const adaSid = decodeJwt(tokens.body['access_token'] as string)['sid'] as string;
    await signInFresh(agent, server, web2Params(server, { prompt: 'login' }), bob);
    const ada = await server.ctx.store.sessions.get(adaSid);
    expect(ada?.endedAt).not.toBeNull();
    const claims = await ssoClaims(agent, server, webParams(server));
    expect(claims.id.sub).toBe(created.id);
    expect(claims.id['sid']).not.toBe(adaSid);
    // Ada's refresh token died with her session.
    const refreshed = await tokenRequest(server, {
      grant_type: 'refresh_token',
      refresh_token: tokens.body['refresh_token'] as string,
      client_id: server.web.id,
      client_secret: server.web.secret as string,
    });
    expect(refreshed.status).toBe(400);
    expect(refreshed.body['error']).toBe('invalid_grant');
  });

  it('a disabled user’s session gives no SSO', async () => {
    const carol = { email: 'carol@example.com', password: 'carol password 1' };
    const created = await server.createUser({ ...carol, name: 'Carol' });
    const agent = new Agent();
    await signInFresh(agent, server, webParams(server), carol);
    await server.ctx.store.users.update(created.id, { disabled: true });
    expect(await outcome(agent, server, web2Params(server))).toBe('sign-in');
    expect(await outcome(agent, server, web2Params(server, { prompt: 'none' }))).toBe('login_required');
  });
});

describe('session timeouts (spec: Sessions — idle and absolute timeout)', () => {
  let server: TestServer;
  beforeAll(async () => {
    server = await startTestServer({
      env: { SESAME_SESSION_IDLE_TIMEOUT: '600', SESAME_SESSION_ABSOLUTE_TIMEOUT: '900' },
    });
  });
  afterAll(async () => {
    await server.close();
  });

  it('a session idle past SESAME_SESSION_IDLE_TIMEOUT gives no SSO, and its refresh tokens die', async () => {
    const agent = new Agent();
    const { res } = await signInFresh(agent, server, webParams(server, { scope: 'openid offline_access' }));
    const tokens = await exchangeCode(server, server.web, redirectParams(res).get('code') as string);
    expect(tokens.body['refresh_token']).toBeTruthy();
    server.clock.advance(601);
    expect(await outcome(agent, server, web2Params(server, { prompt: 'none' }))).toBe('login_required');
    expect(await outcome(agent, server, web2Params(server))).toBe('sign-in');
    const refreshed = await tokenRequest(server, {
      grant_type: 'refresh_token',
      refresh_token: tokens.body['refresh_token'] as string,
      client_id: server.web.id,
      client_secret: server.web.secret as string,
    });
    expect(refreshed.body['error']).toBe('invalid_grant');
  });

  it('a session just inside the idle timeout still gives SSO, and use slides the timeout', async () => {
    const agent = new Agent();
    await signInFresh(agent, server, webParams(server));
    server.clock.advance(400);
    expect(await outcome(agent, server, web2Params(server))).toBe('code');
    // 800 s after sign-in (past the unslid idle limit of 600 s), 400 s after last use.
    server.clock.advance(400);
    expect(await outcome(agent, server, web2Params(server, { state: 'b' }))).toBe('code');
  });

  it('the absolute timeout ends a session however busy it is', async () => {
    const agent = new Agent();
    await signInFresh(agent, server, webParams(server));
    for (let elapsed = 0; elapsed < 880; elapsed += 220) {
      server.clock.advance(220);
      expect(await outcome(agent, server, web2Params(server))).toBe('code');
    }
    server.clock.advance(21); // 901 s after sign-in
    expect(await outcome(agent, server, web2Params(server))).toBe('sign-in');
  });
});

describe('cookies on an https issuer (spec: Sessions — __Host- prefix and Secure)', () => {
  let server: TestServer;
  beforeAll(async () => {
    server = await startTestServer({ env: { ENV_URL: 'https://login.example.com' } });
  });
  afterAll(async () => {
    await server.close();
  });

  it('the session and CSRF cookies are __Host- prefixed and Secure', async () => {
    const agent = new Agent();
    const { res: page } = await openHostedPage(agent, server, webParams(server));
    const csrf = page.headers.getSetCookie().find((c) => c.startsWith('__Host-sesame_csrf='));
    expect(csrf).toBeTruthy();
    expect(csrf?.toLowerCase()).toContain('; secure');
    const { setCookies } = await signInFresh(agent, server, webParams(server));
    const session = setCookies.find((c) => c.startsWith('__Host-sesame_session='));
    expect(session).toBeTruthy();
    const attrs = (session as string).split(';').map((a) => a.trim().toLowerCase());
    expect(attrs).toEqual(expect.arrayContaining(['secure', 'httponly', 'samesite=lax', 'path=/']));
    expect(attrs.some((a) => a.startsWith('domain='))).toBe(false);
    expect(setCookies.some((c) => c.startsWith('sesame_session='))).toBe(false);
  });
});
