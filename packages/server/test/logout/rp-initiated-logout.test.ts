// OIDC RP-Initiated Logout 1.0 at `GET|POST /oidc/logout` (spec: "GET|POST /oidc/logout"): a valid
// id_token_hint for this browser's session ends it at once; anything else asks first (logout CSRF);
// post_logout_redirect_uri is honoured only when registered for the hinted app.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Agent, authorizeUrl, follow, formField, signInAndExchange, tokenRequest } from '../support/agent.ts';
import { startTestServer, type TestServer } from '../support/server.ts';

let server: TestServer;

beforeAll(async () => {
  server = await startTestServer();
});

afterAll(async () => {
  await server?.close();
});

/** The payload of a JWT, unverified. */
function claims(jwt: string): Record<string, unknown> {
  const payload = jwt.split('.')[1] ?? '';
  return JSON.parse(Buffer.from(payload, 'base64url').toString('utf8')) as Record<string, unknown>;
}

interface SignedIn {
  agent: Agent;
  idToken: string;
  refreshToken: string;
  sid: string;
}

/** A browser signed in to the web app, with its tokens. */
async function signedInBrowser(): Promise<SignedIn> {
  const agent = new Agent();
  const tokens = await signInAndExchange(agent, server);
  const idToken = tokens['id_token'] as string;
  return {
    agent,
    idToken,
    refreshToken: tokens['refresh_token'] as string,
    sid: claims(idToken)['sid'] as string,
  };
}

function logoutUrl(params: Record<string, string>): string {
  return `${server.url}/oidc/logout?${new URLSearchParams(params)}`;
}

/** Whether the session row is still live in the store. */
async function sessionLive(sid: string): Promise<boolean> {
  const session = await server.store.sessions.get(sid);
  if (!session) throw new Error(`no session ${sid}`);
  return session.endedAt === null;
}

/** Whether authorize for the second app issues a code at once (SSO) or shows the sign-in page. */
async function ssoHappens(agent: Agent): Promise<boolean> {
  const res = await follow(
    agent,
    server,
    await agent.fetch(
      authorizeUrl(server, {
        client_id: server.web2.id,
        redirect_uri: server.web2.redirectUri,
        state: 'sso',
      }),
    ),
  );
  const location = res.headers.get('location');
  if (location?.startsWith(server.web2.redirectUri)) {
    return new URL(location).searchParams.has('code');
  }
  const html = res.status === 200 ? await res.text() : '';
  if (html.includes('name="password"')) return false;
  throw new Error(`unexpected authorize outcome ${res.status} ${location ?? html.slice(0, 500)}`);
}

async function refreshWorks(refreshToken: string): Promise<boolean> {
  const { status, body } = await tokenRequest(server, {
    grant_type: 'refresh_token',
    refresh_token: refreshToken,
    client_id: server.web.id,
    client_secret: server.web.secret ?? '',
  });
  if (status === 200) return true;
  expect(body['error']).toBe('invalid_grant');
  return false;
}

/** The Set-Cookie line that expires the session cookie, if any. */
function sessionCookieCleared(res: Response): boolean {
  return res.headers
    .getSetCookie()
    .some(
      (line) =>
        /^sesame_session=;/.test(line) && (/max-age=0/i.test(line) || /expires=Thu, 01 Jan 1970/i.test(line)),
    );
}

/** Asserts the session is untouched: live in the store, SSO still works. */
async function expectSessionIntact(browser: SignedIn): Promise<void> {
  expect(await sessionLive(browser.sid)).toBe(true);
  expect(await ssoHappens(browser.agent)).toBe(true);
}

function isHtml(res: Response): boolean {
  return (res.headers.get('content-type') ?? '').startsWith('text/html');
}

describe('logout with a valid id_token_hint (OIDC RP-Initiated Logout 1.0 §2–§3)', () => {
  it('ends the session without a prompt and 303s to the registered post_logout_redirect_uri with state', async () => {
    const fresh = await signedInBrowser();

    const res = await fresh.agent.fetch(
      logoutUrl({
        id_token_hint: fresh.idToken,
        post_logout_redirect_uri: server.web.postLogoutRedirectUri,
        state: 'af0ifjsldkj',
      }),
    );
    expect(res.status).toBe(303);
    const location = new URL(res.headers.get('location') ?? '');
    expect(`${location.origin}${location.pathname}`).toBe(server.web.postLogoutRedirectUri);
    expect(location.searchParams.get('state')).toBe('af0ifjsldkj');
    expect(sessionCookieCleared(res)).toBe(true);
    expect(res.headers.get('cache-control')).toContain('no-store');

    expect(await sessionLive(fresh.sid)).toBe(false);
    expect(await refreshWorks(fresh.refreshToken)).toBe(false);
    expect(fresh.agent.cookies.has('sesame_session')).toBe(false);
    expect(await ssoHappens(fresh.agent)).toBe(false);
  });

  it('the refresh token dies with the session even when the browser keeps its old cookie (spec: Sessions)', async () => {
    const browser = await signedInBrowser();
    const stolenCookie = browser.agent.cookies.get('sesame_session') as string;
    const res = await browser.agent.fetch(
      logoutUrl({
        id_token_hint: browser.idToken,
        post_logout_redirect_uri: server.web.postLogoutRedirectUri,
      }),
    );
    expect(res.status).toBe(303);
    expect(new URL(res.headers.get('location') ?? '').searchParams.has('state')).toBe(false);
    // Replaying the cookie value must not revive the ended session.
    const replay = new Agent();
    replay.cookies.set('sesame_session', stolenCookie);
    expect(await ssoHappens(replay)).toBe(false);
    expect(await refreshWorks(browser.refreshToken)).toBe(false);
  });

  it('accepts an expired id_token_hint (OIDC RP-Initiated Logout 1.0 §2: "expired ID Token … SHOULD accept")', async () => {
    const browser = await signedInBrowser();
    const exp = claims(browser.idToken)['exp'] as number;
    server.clock.advance(exp - Math.floor(server.clock.now().getTime() / 1000) + 600);
    expect(server.clock.now().getTime() / 1000).toBeGreaterThan(exp + 15);

    const res = await browser.agent.fetch(
      logoutUrl({
        id_token_hint: browser.idToken,
        post_logout_redirect_uri: server.web.postLogoutRedirectUri,
        state: 'late',
      }),
    );
    expect(res.status).toBe(303);
    expect(new URL(res.headers.get('location') ?? '').searchParams.get('state')).toBe('late');
    expect(await sessionLive(browser.sid)).toBe(false);
  });

  it('without post_logout_redirect_uri shows the "You are signed out" page (§3)', async () => {
    const browser = await signedInBrowser();
    const res = await browser.agent.fetch(logoutUrl({ id_token_hint: browser.idToken }));
    expect(res.status).toBe(200);
    expect(res.headers.get('location')).toBeNull();
    expect(await res.text()).toContain('You are signed out');
    expect(sessionCookieCleared(res)).toBe(true);
    expect(await sessionLive(browser.sid)).toBe(false);
    expect(await refreshWorks(browser.refreshToken)).toBe(false);
  });

  it('POST with form parameters behaves like GET (§2: "MUST support … GET and POST")', async () => {
    const browser = await signedInBrowser();
    const res = await browser.agent.post(`${server.url}/oidc/logout`, {
      id_token_hint: browser.idToken,
      post_logout_redirect_uri: server.web.postLogoutRedirectUri,
      state: 'posted',
    });
    expect(res.status).toBe(303);
    const location = new URL(res.headers.get('location') ?? '');
    expect(`${location.origin}${location.pathname}`).toBe(server.web.postLogoutRedirectUri);
    expect(location.searchParams.get('state')).toBe('posted');
    expect(sessionCookieCleared(res)).toBe(true);
    expect(await sessionLive(browser.sid)).toBe(false);
  });

  it('a hint for an ended session, replayed in another browser, asks first and ends nothing', async () => {
    const browser = await signedInBrowser();
    const first = await browser.agent.fetch(logoutUrl({ id_token_hint: browser.idToken }));
    expect(first.status).toBe(200);
    const other = await signedInBrowser();
    // A different browser (its own live session) replays the first browser's hint.
    const res = await other.agent.fetch(
      logoutUrl({
        id_token_hint: browser.idToken,
        post_logout_redirect_uri: server.web.postLogoutRedirectUri,
      }),
    );
    expect(res.status).toBe(200);
    expect(await res.text()).toContain('Sign out');
    await expectSessionIntact(other);
  });
});

describe('logout requests that are refused (§2: post_logout_redirect_uri MUST be registered)', () => {
  it('an unregistered post_logout_redirect_uri gets a 400 error page, no redirect, session intact', async () => {
    const browser = await signedInBrowser();
    const res = await browser.agent.fetch(
      logoutUrl({
        id_token_hint: browser.idToken,
        post_logout_redirect_uri: 'https://evil.example/after-logout',
        state: 's',
      }),
    );
    expect(res.status).toBe(400);
    expect(res.headers.get('location')).toBeNull();
    expect(isHtml(res)).toBe(true);
    const html = await res.text();
    expect(html).toContain('invalid_request');
    expect(html).not.toContain('evil.example');
    expect(sessionCookieCleared(res)).toBe(false);
    await expectSessionIntact(browser);
    expect(await refreshWorks(browser.refreshToken)).toBe(true);
  });

  it("a post_logout_redirect_uri registered only for another app than the hint's aud is refused", async () => {
    const browser = await signedInBrowser();
    const res = await browser.agent.fetch(
      logoutUrl({
        id_token_hint: browser.idToken,
        post_logout_redirect_uri: server.web2.postLogoutRedirectUri,
      }),
    );
    expect(res.status).toBe(400);
    expect(res.headers.get('location')).toBeNull();
    await expectSessionIntact(browser);
  });

  it('post_logout_redirect_uri without id_token_hint or client_id: asked, signed out, never redirected (§3: no app to check it against)', async () => {
    const browser = await signedInBrowser();
    const page = await browser.agent.fetch(
      logoutUrl({ post_logout_redirect_uri: server.web.postLogoutRedirectUri, state: 'lost' }),
    );
    expect(page.status).toBe(200);
    const html = await page.text();
    expect(html).toContain('Sign out');
    await expectSessionIntact(browser);
    const res = await browser.agent.post(`${server.url}/oidc/logout`, {
      post_logout_redirect_uri: formField(html, 'post_logout_redirect_uri'),
      state: formField(html, 'state'),
      csrf_token: formField(html, 'csrf_token'),
      confirm: 'yes',
    });
    expect(res.status).toBe(200);
    expect(res.headers.get('location')).toBeNull();
    const signedOut = await res.text();
    expect(signedOut).toContain('You are signed out');
    expect(signedOut).toContain('did not identify itself');
    expect(sessionCookieCleared(res)).toBe(true);
    expect(await sessionLive(browser.sid)).toBe(false);
  });

  it('the same with a tampered id_token_hint: the hint names no app, so no redirect either', async () => {
    const browser = await signedInBrowser();
    const [header, payload] = browser.idToken.split('.');
    const page = await browser.agent.fetch(
      logoutUrl({
        id_token_hint: `${header}.${payload}.AAAA`,
        post_logout_redirect_uri: server.web.postLogoutRedirectUri,
      }),
    );
    expect(page.status).toBe(200);
    expect(page.headers.get('location')).toBeNull();
    await expectSessionIntact(browser);
  });

  it("a client_id that is not the hint's aud gets 400 (§2: client_id MUST match)", async () => {
    const browser = await signedInBrowser();
    const res = await browser.agent.fetch(
      logoutUrl({
        id_token_hint: browser.idToken,
        client_id: server.web2.id,
        post_logout_redirect_uri: server.web2.postLogoutRedirectUri,
      }),
    );
    expect(res.status).toBe(400);
    expect(res.headers.get('location')).toBeNull();
    await expectSessionIntact(browser);
  });

  it('an unknown client_id gets 400', async () => {
    const browser = await signedInBrowser();
    const res = await browser.agent.fetch(
      logoutUrl({
        client_id: 'webc_0000000000000000',
        post_logout_redirect_uri: server.web.postLogoutRedirectUri,
      }),
    );
    expect(res.status).toBe(400);
    expect(res.headers.get('location')).toBeNull();
    await expectSessionIntact(browser);
  });
});

describe('logout without a valid hint asks first (§2: logout CSRF)', () => {
  it('shows a "Sign out" confirmation page with a CSRF token, and the session stays alive', async () => {
    const browser = await signedInBrowser();
    const res = await browser.agent.fetch(
      logoutUrl({
        client_id: server.web.id,
        post_logout_redirect_uri: server.web.postLogoutRedirectUri,
        state: 'q',
      }),
    );
    expect(res.status).toBe(200);
    expect(isHtml(res)).toBe(true);
    const html = await res.text();
    expect(html).toContain('Sign out of Web App?');
    expect(html).toContain(server.user.email);
    expect(formField(html, 'csrf_token')).toMatch(/^[A-Za-z0-9_-]{20,}$/);
    expect(formField(html, 'post_logout_redirect_uri')).toBe(server.web.postLogoutRedirectUri);
    expect(sessionCookieCleared(res)).toBe(false);
    await expectSessionIntact(browser);
  });

  it('confirm=yes with the CSRF token ends the session and redirects with state', async () => {
    const browser = await signedInBrowser();
    const page = await browser.agent.fetch(
      logoutUrl({
        client_id: server.web.id,
        post_logout_redirect_uri: server.web.postLogoutRedirectUri,
        state: 'q2',
      }),
    );
    const html = await page.text();
    const res = await browser.agent.post(`${server.url}/oidc/logout`, {
      client_id: formField(html, 'client_id'),
      post_logout_redirect_uri: formField(html, 'post_logout_redirect_uri'),
      state: formField(html, 'state'),
      csrf_token: formField(html, 'csrf_token'),
      confirm: 'yes',
    });
    expect(res.status).toBe(303);
    const location = new URL(res.headers.get('location') ?? '');
    expect(`${location.origin}${location.pathname}`).toBe(server.web.postLogoutRedirectUri);
    expect(location.searchParams.get('state')).toBe('q2');
    expect(sessionCookieCleared(res)).toBe(true);
    expect(await sessionLive(browser.sid)).toBe(false);
    expect(await refreshWorks(browser.refreshToken)).toBe(false);
    expect(await ssoHappens(browser.agent)).toBe(false);
  });

  it('confirm=yes without a redirect URI shows the signed-out page', async () => {
    const browser = await signedInBrowser();
    const html = await (await browser.agent.fetch(`${server.url}/oidc/logout`)).text();
    const res = await browser.agent.post(`${server.url}/oidc/logout`, {
      csrf_token: formField(html, 'csrf_token'),
      confirm: 'yes',
    });
    expect(res.status).toBe(200);
    expect(await res.text()).toContain('You are signed out');
    expect(await sessionLive(browser.sid)).toBe(false);
  });

  it('confirm=no leaves the session alive', async () => {
    const browser = await signedInBrowser();
    const html = await (await browser.agent.fetch(`${server.url}/oidc/logout`)).text();
    const res = await browser.agent.post(`${server.url}/oidc/logout`, {
      csrf_token: formField(html, 'csrf_token'),
      confirm: 'no',
    });
    expect(res.status).toBe(200);
    expect(res.headers.get('location')).toBeNull();
    expect(sessionCookieCleared(res)).toBe(false);
    expect(await res.text()).toContain('still signed in');
    await expectSessionIntact(browser);
    expect(await refreshWorks(browser.refreshToken)).toBe(true);
  });

  it.each([
    ['missing', () => ({})],
    ['wrong', () => ({ csrf_token: 'AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA' })],
    ['empty', () => ({ csrf_token: '' })],
  ])('confirm=yes with a %s CSRF token gets 403 and the session stays alive', async (_label, token) => {
    const browser = await signedInBrowser();
    await browser.agent.fetch(`${server.url}/oidc/logout`);
    const res = await browser.agent.post(`${server.url}/oidc/logout`, { ...token(), confirm: 'yes' });
    expect(res.status).toBe(403);
    expect(res.headers.get('location')).toBeNull();
    expect(sessionCookieCleared(res)).toBe(false);
    expect(await res.text()).toContain('Sign out');
    await expectSessionIntact(browser);
  });

  it("confirm=yes with another browser's CSRF token gets 403 (the token is bound to this browser)", async () => {
    const attacker = (await signedInBrowser()).agent;
    const attackerHtml = await (await attacker.fetch(`${server.url}/oidc/logout`)).text();
    const attackerToken = formField(attackerHtml, 'csrf_token');
    const victim = await signedInBrowser();
    const res = await victim.agent.post(`${server.url}/oidc/logout`, {
      csrf_token: attackerToken,
      confirm: 'yes',
    });
    expect(res.status).toBe(403);
    await expectSessionIntact(victim);
  });

  it('a hint with a tampered signature is treated as no hint: confirmation page, session alive', async () => {
    const browser = await signedInBrowser();
    const [header, payload, signature] = browser.idToken.split('.') as [string, string, string];
    const flipped = `${signature[0] === 'A' ? 'B' : 'A'}${signature.slice(1)}`;
    const res = await browser.agent.fetch(
      logoutUrl({
        id_token_hint: `${header}.${payload}.${flipped}`,
        client_id: server.web.id,
        post_logout_redirect_uri: server.web.postLogoutRedirectUri,
      }),
    );
    expect(res.status).toBe(200);
    expect(res.headers.get('location')).toBeNull();
    expect(await res.text()).toContain('Sign out of Web App?');
    await expectSessionIntact(browser);
  });

  it("a valid hint whose sid is not this browser's session asks first, and ends neither session", async () => {
    const mine = await signedInBrowser();
    const someoneElse = await signedInBrowser();
    expect(someoneElse.sid).not.toBe(mine.sid);
    const res = await mine.agent.fetch(
      logoutUrl({
        id_token_hint: someoneElse.idToken,
        post_logout_redirect_uri: server.web.postLogoutRedirectUri,
      }),
    );
    expect(res.status).toBe(200);
    expect(res.headers.get('location')).toBeNull();
    expect(await res.text()).toContain('Sign out');
    await expectSessionIntact(mine);
    await expectSessionIntact(someoneElse);
  });

  it('no session and no hint shows the signed-out page', async () => {
    const res = await new Agent().fetch(`${server.url}/oidc/logout`);
    expect(res.status).toBe(200);
    expect(await res.text()).toContain('You are signed out');
  });
});

describe('hosted logout pages send the secure headers (spec: Hosted login pages)', () => {
  it.each([
    ['the confirmation page', async (b: SignedIn) => b.agent.fetch(`${server.url}/oidc/logout`), 200],
    [
      'the signed-out page',
      async (b: SignedIn) => b.agent.fetch(logoutUrl({ id_token_hint: b.idToken })),
      200,
    ],
    [
      'the error page',
      async (b: SignedIn) =>
        b.agent.fetch(
          logoutUrl({ id_token_hint: b.idToken, post_logout_redirect_uri: 'https://evil.example/' }),
        ),
      400,
    ],
    [
      'the 403 confirmation page',
      async (b: SignedIn) => b.agent.post(`${server.url}/oidc/logout`, { confirm: 'yes', csrf_token: 'x' }),
      403,
    ],
  ])('%s has CSP frame-ancestors none, nosniff, no-referrer, no-store', async (_label, request, status) => {
    const browser = await signedInBrowser();
    const res = await request(browser);
    expect(res.status).toBe(status);
    expect(isHtml(res)).toBe(true);
    expect(res.headers.get('content-security-policy')).toContain("frame-ancestors 'none'");
    expect(res.headers.get('x-content-type-options')).toBe('nosniff');
    expect(res.headers.get('referrer-policy')).toBe('no-referrer');
    expect(res.headers.get('cache-control')).toContain('no-store');
  });
});

describe('bad input at /oidc/logout never ends a session and never answers 500', () => {
  const noneAlgHint = (idToken: string) => {
    const [, payload] = idToken.split('.');
    const header = Buffer.from(JSON.stringify({ alg: 'none', typ: 'JWT' })).toString('base64url');
    return `${header}.${payload}.`;
  };
  type Row = [
    label: string,
    request: (b: SignedIn) => Promise<Response>,
    expected: { status: number; text: string },
  ];
  const post = (b: SignedIn, contentType: string, body: string) =>
    b.agent.fetch(`${server.url}/oidc/logout`, {
      method: 'POST',
      headers: { 'content-type': contentType },
      body,
    });
  const rows: Row[] = [
    [
      'repeated state',
      (b) => b.agent.fetch(`${server.url}/oidc/logout?id_token_hint=${b.idToken}&state=a&state=b`),
      { status: 400, text: 'invalid_request' },
    ],
    [
      'repeated id_token_hint',
      (b) => b.agent.fetch(`${server.url}/oidc/logout?id_token_hint=${b.idToken}&id_token_hint=${b.idToken}`),
      { status: 400, text: 'invalid_request' },
    ],
    [
      'repeated post_logout_redirect_uri',
      (b) =>
        b.agent.fetch(
          `${server.url}/oidc/logout?${new URLSearchParams([
            ['id_token_hint', b.idToken],
            ['post_logout_redirect_uri', server.web.postLogoutRedirectUri],
            ['post_logout_redirect_uri', server.web.postLogoutRedirectUri],
          ])}`,
        ),
      { status: 400, text: 'invalid_request' },
    ],
    [
      'id_token_hint in both the query and the POST body',
      (b) =>
        b.agent.fetch(`${server.url}/oidc/logout?id_token_hint=${b.idToken}`, {
          method: 'POST',
          headers: { 'content-type': 'application/x-www-form-urlencoded' },
          body: new URLSearchParams({ id_token_hint: b.idToken }).toString(),
        }),
      { status: 400, text: 'invalid_request' },
    ],
    [
      'oversized id_token_hint (9000 characters)',
      (b) => b.agent.fetch(logoutUrl({ id_token_hint: `${b.idToken}${'A'.repeat(9000)}` })),
      { status: 400, text: 'invalid_request' },
    ],
    [
      'oversized state (3000 characters)',
      (b) => b.agent.fetch(logoutUrl({ id_token_hint: b.idToken, state: 's'.repeat(3000) })),
      { status: 400, text: 'invalid_request' },
    ],
    [
      'garbage id_token_hint',
      (b) => b.agent.fetch(logoutUrl({ id_token_hint: 'not-a-jwt' })),
      { status: 200, text: 'Sign out' },
    ],
    [
      'id_token_hint of three garbage segments',
      (b) => b.agent.fetch(logoutUrl({ id_token_hint: '%%%.@@@.!!!' })),
      { status: 200, text: 'Sign out' },
    ],
    [
      'unsigned (alg none) id_token_hint',
      (b) => b.agent.fetch(logoutUrl({ id_token_hint: noneAlgHint(b.idToken) })),
      { status: 200, text: 'Sign out' },
    ],
    [
      'an access token as id_token_hint (typ at+jwt)',
      async (b) => {
        const tokens = await signInAndExchange(b.agent, server);
        return b.agent.fetch(logoutUrl({ id_token_hint: tokens['access_token'] as string }));
      },
      { status: 200, text: 'Sign out' },
    ],
    [
      'POST with Content-Type text/plain',
      (b) => post(b, 'text/plain', `id_token_hint=${b.idToken}`),
      { status: 400, text: 'invalid_request' },
    ],
    [
      'POST with Content-Type application/json',
      (b) => post(b, 'application/json', JSON.stringify({ id_token_hint: b.idToken })),
      { status: 400, text: 'invalid_request' },
    ],
    [
      'POST with no Content-Type',
      (b) =>
        b.agent.fetch(`${server.url}/oidc/logout`, {
          method: 'POST',
          body: new Blob([`id_token_hint=${b.idToken}`]),
        }),
      { status: 400, text: 'invalid_request' },
    ],
  ];

  it.each(rows)('%s', async (_label, request, expected) => {
    const browser = await signedInBrowser();
    const res = await request(browser);
    expect(res.status).toBe(expected.status);
    expect(res.headers.get('location')).toBeNull();
    expect(isHtml(res)).toBe(true);
    expect(await res.text()).toContain(expected.text);
    expect(sessionCookieCleared(res)).toBe(false);
    await expectSessionIntact(browser);
  });
});
