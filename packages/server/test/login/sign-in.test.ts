import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import {
  Agent,
  authorizeUrl,
  exchangeCode,
  formField,
  openHostedPage,
  redirectParams,
  submitSignIn,
} from '../support/agent.ts';
import { startTestServer, type TestServer } from '../support/server.ts';

let server: TestServer;

beforeAll(async () => {
  server = await startTestServer();
});

afterAll(async () => {
  await server.close();
});

const webParams = () => ({
  client_id: server.web.id,
  redirect_uri: server.web.redirectUri,
  state: 'st-login',
  nonce: 'n-login',
});

const web2Params = () => ({
  client_id: server.web2.id,
  redirect_uri: server.web2.redirectUri,
  state: 'st-login2',
});

/** The text of the page's alert, if any. */
function alertOf(html: string): string | null {
  return /<div class="alert" role="alert">([^<]*)<\/div>/.exec(html)?.[1] ?? null;
}

/** The person's sessions as the store sees them. */
async function sessionCount(userId: string): Promise<number> {
  const page = await server.ctx.store.sessions.listForUser(userId, { limit: 100 });
  return page.items.filter((s) => s.endedAt === null).length;
}

function expectSecureHeaders(res: Response): void {
  expect(res.headers.get('content-security-policy')).toContain("frame-ancestors 'none'");
  expect(res.headers.get('x-content-type-options')).toBe('nosniff');
  expect(res.headers.get('referrer-policy')).toBe('no-referrer');
  expect(res.headers.get('cache-control')).toBe('no-store');
}

describe('the hosted sign-in page (spec: Hosted login pages)', () => {
  it('authorize sends the browser to /login with an interaction id, not the raw parameters', async () => {
    const agent = new Agent();
    const res = await agent.fetch(
      authorizeUrl(server, { ...webParams(), login_hint: 'x@example.com', code_challenge: undefined }),
    );
    expect(res.status).toBe(303);
    const location = new URL(res.headers.get('location') ?? '', server.url);
    expect(location.origin).toBe(server.url);
    expect(location.pathname).toBe('/login');
    expect(location.searchParams.get('interaction')).toMatch(/^int_/);
    for (const raw of ['redirect_uri', 'state', 'nonce', 'scope', 'response_type', 'login_hint']) {
      expect(location.searchParams.has(raw)).toBe(false);
    }
    expect(location.toString()).not.toContain(encodeURIComponent(server.web.redirectUri));
  });

  it('has labelled Email and Password fields, a Sign in button, a Cancel button and a sign-up link', async () => {
    const agent = new Agent();
    const { res, html } = await openHostedPage(agent, server, webParams());
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toMatch(/^text\/html/);
    expect(html).toMatch(/<label class="label" for="email">Email<\/label>/);
    expect(html).toMatch(/<input[^>]*id="email"[^>]*name="email"/);
    expect(html).toMatch(/<label class="label" for="password">Password<\/label>/);
    expect(html).toMatch(/<input[^>]*id="password"[^>]*type="password"[^>]*name="password"/);
    expect(html).toMatch(/<button[^>]*type="submit">Sign in<\/button>/);
    expect(html).toMatch(/<button [^>]*form="cancel-sign-in">Cancel<\/button>/);
    expect(html).toMatch(
      /<form id="cancel-sign-in" method="post" action="\/login\/cancel\?client_id=[^"]*">/,
    );
    expect(html).toMatch(/<a [^>]*href="\/signup\?interaction=int_[^"]*">Create an account<\/a>/);
    expect(html).toContain('Web App');
    // Readable without JavaScript: no script at all on the sign-in page.
    expect(html).not.toContain('<script');
    expect(res.headers.get('content-security-policy')).toContain("script-src 'none'");
  });

  it('login_hint pre-fills the email (OIDC Core §3.1.2.1)', async () => {
    const agent = new Agent();
    const { html } = await openHostedPage(agent, server, { ...webParams(), login_hint: 'grace@example.com' });
    expect(html).toMatch(/<input[^>]*name="email" value="grace@example.com"/);
  });

  it('a hostile login_hint is escaped, not injected', async () => {
    const agent = new Agent();
    const { html } = await openHostedPage(agent, server, {
      ...webParams(),
      login_hint: '"><img src=x onerror=alert(1)>',
    });
    expect(html).not.toContain('<img src=x');
    expect(html).toContain('&quot;&gt;&lt;img');
  });

  it('a correct password redirects to the client with code, state and iss (RFC 6749 §4.1.2, RFC 9207)', async () => {
    const agent = new Agent();
    const { html } = await openHostedPage(agent, server, webParams());
    const res = await submitSignIn(agent, server, html, server.user);
    expect(res.status).toBe(303);
    expect(res.headers.get('location')?.startsWith(`${server.web.redirectUri}?`)).toBe(true);
    const params = redirectParams(res);
    expect(params.get('code')).toMatch(/^[A-Za-z0-9_-]{40,}$/);
    expect(params.get('state')).toBe('st-login');
    expect(params.get('iss')).toBe(server.url);
    const tokens = await exchangeCode(server, server.web, params.get('code') as string);
    expect(tokens.status).toBe(200);
  });

  it('the email is matched regardless of case and surrounding spaces', async () => {
    const agent = new Agent();
    const { html } = await openHostedPage(agent, server, webParams());
    const res = await submitSignIn(agent, server, html, {
      email: `  ${server.user.email.toUpperCase()} `,
      password: server.user.password,
    });
    expect(redirectParams(res).get('code')).toBeTruthy();
  });

  it('a wrong password and an unknown email get the same message and status (no account enumeration)', async () => {
    const verify = vi.spyOn(server.ctx.passwords, 'verify');
    try {
      const agent = new Agent();
      const first = await openHostedPage(agent, server, webParams());
      const wrongPassword = await submitSignIn(agent, server, first.html, {
        email: server.user.email,
        password: 'not the password',
      });
      const second = await openHostedPage(agent, server, webParams());
      const unknownEmail = await submitSignIn(agent, server, second.html, {
        email: 'nobody@example.com',
        password: 'not the password',
      });
      expect(wrongPassword.status).toBe(401);
      expect(unknownEmail.status).toBe(wrongPassword.status);
      const a = await wrongPassword.text();
      const b = await unknownEmail.text();
      expect(alertOf(a)).toBe('Incorrect email or password.');
      expect(alertOf(b)).toBe(alertOf(a));
      expect(wrongPassword.headers.get('location')).toBeNull();
      // Same work for both answers: one argon2 verification each, even for an unknown email.
      expect(verify).toHaveBeenCalledTimes(2);
      // The password is never sent back; the email is kept so the person can retry.
      expect(a).not.toContain('not the password');
      expect(a).toMatch(/name="email" value="ada@example.com"/);
    } finally {
      verify.mockRestore();
    }
  });

  it('after a wrong password the same page can be used to sign in', async () => {
    const agent = new Agent();
    const { html } = await openHostedPage(agent, server, webParams());
    const wrong = await submitSignIn(agent, server, html, {
      email: server.user.email,
      password: 'nope-nope',
    });
    const retry = await submitSignIn(agent, server, await wrong.text(), server.user);
    expect(redirectParams(retry).get('code')).toBeTruthy();
  });

  it.each<[string, Record<string, string>]>([
    ['a missing email', { email: '' }],
    ['a missing password', { password: '' }],
    ['an oversized password', { password: 'p'.repeat(2000) }],
  ])('%s is refused with the sign-in page again (401)', async (_name, override) => {
    const agent = new Agent();
    const { html } = await openHostedPage(agent, server, webParams());
    const res = await agent.post(`${server.url}/login`, {
      interaction: formField(html, 'interaction'),
      csrf_token: formField(html, 'csrf_token'),
      email: server.user.email,
      password: server.user.password,
      ...override,
    });
    expect(res.status).toBe(401);
    expect(res.headers.get('location')).toBeNull();
    expect(alertOf(await res.text())).toBeTruthy();
    expect(agent.cookies.has('sesame_session')).toBe(false);
  });

  it('Cancel sends access_denied with state and iss to the client (RFC 6749 §4.1.2.1)', async () => {
    const agent = new Agent();
    const { html } = await openHostedPage(agent, server, webParams());
    const res = await submitCancel(agent, html);
    expect(res.status).toBe(303);
    expect(res.headers.get('location')?.startsWith(`${server.web.redirectUri}?`)).toBe(true);
    const params = redirectParams(res);
    expect(params.get('error')).toBe('access_denied');
    expect(params.get('error_description')).toBeTruthy();
    expect(params.get('state')).toBe('st-login');
    expect(params.get('iss')).toBe(server.url);
    expect(params.get('code')).toBeNull();
    // The cancelled interaction cannot be used to sign in afterwards.
    const late = await submitSignIn(agent, server, html, server.user);
    expect(late.headers.get('location') ?? '').not.toContain('code=');
  });
});

/** Submits the page's cancel form (the Cancel button's), optionally with another CSRF token. */
function submitCancel(agent: Agent, html: string, csrfToken?: string) {
  const form = /<form id="cancel-sign-in" method="post" action="([^"]*)">([\s\S]*?)<\/form>/.exec(html);
  if (!form) throw new Error('no cancel form on the page');
  const field = (name: string) => new RegExp(`name="${name}" value="([^"]*)"`).exec(form[2] ?? '')?.[1] ?? '';
  return agent.post(`${server.url}${(form[1] ?? '').replace(/&amp;/g, '&')}`, {
    interaction: field('interaction'),
    csrf_token: csrfToken ?? field('csrf_token'),
  });
}

describe('Cancel is a POST with its own CSRF token (a link would let any page cancel a sign-in)', () => {
  it("without the cancel form's CSRF token: 403, the sign-in page again, nothing sent to the app", async () => {
    const agent = new Agent();
    const { html } = await openHostedPage(agent, server, webParams());
    const signInToken = /name="csrf_token" value="([^"]*)"/.exec(html)?.[1] ?? '';
    for (const token of ['', 'A'.repeat(43), signInToken]) {
      const res = await submitCancel(agent, html, token);
      expect(res.status).toBe(403);
      expect(res.headers.get('location')).toBeNull();
      expect(await res.text()).toContain('name="password"');
    }
    // The sign-in goes on.
    const res = await submitSignIn(agent, server, html, server.user);
    expect(res.headers.get('location') ?? '').toContain('code=');
  });

  it('GET /login/cancel is 405 with Allow: POST and cancels nothing', async () => {
    const agent = new Agent();
    const { html } = await openHostedPage(agent, server, webParams());
    const interaction = /name="interaction" value="([^"]*)"/.exec(html)?.[1] ?? '';
    const res = await agent.fetch(`${server.url}/login/cancel?interaction=${interaction}`);
    expect(res.status).toBe(405);
    expect(res.headers.get('allow')).toBe('POST');
    const signedIn = await submitSignIn(agent, server, html, server.user);
    expect(signedIn.headers.get('location') ?? '').toContain('code=');
  });
});

describe('CSRF protection of the sign-in form (spec: every form carries a CSRF token)', () => {
  it.each<[string, (html: string, other: string) => string | null]>([
    ['without csrf_token', () => null],
    ['with an empty csrf_token', () => ''],
    ['with a wrong csrf_token', () => 'A'.repeat(43)],
    ['with a token taken from another browser', (_html, other) => other],
    [
      'with the token of another form (sign-up)',
      (html) => {
        const signUp = /href="\/signup\?([^"]*)"/.exec(html)?.[1] ?? '';
        return signUp; // never a valid login token
      },
    ],
  ])('POST /login %s is refused (403) and signs no one in', async (_name, token) => {
    const other = new Agent();
    const otherPage = await openHostedPage(other, server, webParams());
    const agent = new Agent();
    const { html } = await openHostedPage(agent, server, webParams());
    const before = await sessionCount(server.user.id);
    const fields: Record<string, string> = {
      interaction: formField(html, 'interaction'),
      email: server.user.email,
      password: server.user.password,
    };
    const csrf = token(html, formField(otherPage.html, 'csrf_token'));
    if (csrf !== null) fields['csrf_token'] = csrf;
    const res = await agent.post(`${server.url}/login`, fields);
    expect(res.status).toBe(403);
    expect(res.headers.get('location')).toBeNull();
    expect(agent.cookies.has('sesame_session')).toBe(false);
    expect(await sessionCount(server.user.id)).toBe(before);
    // The refused page offers a fresh form that works.
    const retry = await submitSignIn(agent, server, await res.text(), server.user);
    expect(redirectParams(retry).get('code')).toBeTruthy();
  });

  it('a cross-site POST without the CSRF cookie is refused', async () => {
    const agent = new Agent();
    const { html } = await openHostedPage(agent, server, webParams());
    const res = await fetch(`${server.url}/login`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({
        interaction: formField(html, 'interaction'),
        csrf_token: formField(html, 'csrf_token'),
        email: server.user.email,
        password: server.user.password,
      }).toString(),
      redirect: 'manual',
    });
    expect(res.status).toBe(403);
    expect(res.headers.getSetCookie().some((c) => c.startsWith('sesame_session='))).toBe(false);
  });
});

describe('expired, unknown and finished interactions are never a dead end (spec: GET|POST /oauth/authorize)', () => {
  it('an interaction past 30 minutes sends the browser to the app’s initiate-login URI', async () => {
    const agent = new Agent();
    const { url } = await openHostedPage(agent, server, webParams());
    server.clock.advance(30 * 60 + 1);
    const res = await agent.fetch(`${server.url}${url}`);
    expect(res.status).toBe(303);
    expect(res.headers.get('location')).toBe(server.web.client.initiateLoginUri);
  });

  it('submitting the sign-in form after the interaction expired also goes to the initiate-login URI', async () => {
    const agent = new Agent();
    const { html } = await openHostedPage(agent, server, webParams());
    server.clock.advance(30 * 60 + 1);
    const res = await submitSignIn(agent, server, html, server.user);
    expect(res.status).toBe(303);
    expect(res.headers.get('location')).toBe(server.web.client.initiateLoginUri);
    expect(agent.cookies.has('sesame_session')).toBe(false);
  });

  it('an interaction that is still fresh at 29 minutes works', async () => {
    const agent = new Agent();
    const { html } = await openHostedPage(agent, server, webParams());
    server.clock.advance(29 * 60);
    const res = await submitSignIn(agent, server, html, server.user);
    expect(redirectParams(res).get('code')).toBeTruthy();
  });

  it('an app without an initiate-login URI gets a friendly “start again” page', async () => {
    const agent = new Agent();
    const { url, html } = await openHostedPage(agent, server, web2Params());
    server.clock.advance(30 * 60 + 1);
    const page = await agent.fetch(`${server.url}${url}`);
    expect(page.status).toBe(400);
    expect(page.headers.get('location')).toBeNull();
    const text = await page.text();
    expect(text).toContain('This sign-in link has expired');
    expect(text).toContain('Second App');
    expectSecureHeaders(page);
    const posted = await submitSignIn(agent, server, html, server.user);
    expect(posted.status).toBe(400);
    expect(await posted.text()).toContain('This sign-in link has expired');
  });

  it.each<[string, string]>([
    ['an unknown interaction', 'interaction=int_doesnotexist'],
    ['a malformed interaction', 'interaction=%3Cscript%3E'],
    ['no interaction at all', ''],
    ['an oversized interaction', `interaction=int_${'a'.repeat(500)}`],
  ])('%s on /login shows the start-again page', async (_name, query) => {
    const res = await fetch(`${server.url}/login?${query}`, { redirect: 'manual' });
    expect(res.status).toBe(400);
    expect(await res.text()).toContain('This sign-in link has expired');
  });

  it('an unknown interaction of an app with an initiate-login URI goes there', async () => {
    const res = await fetch(`${server.url}/login?interaction=int_nope&client_id=${server.web.id}`, {
      redirect: 'manual',
    });
    expect(res.status).toBe(303);
    expect(res.headers.get('location')).toBe(server.web.client.initiateLoginUri);
  });

  it('a second submit of a completed interaction does not issue a second code', async () => {
    const agent = new Agent();
    const { html, url } = await openHostedPage(agent, server, webParams());
    const first = await submitSignIn(agent, server, html, server.user);
    expect(redirectParams(first).get('code')).toBeTruthy();
    const again = await submitSignIn(agent, server, html, server.user);
    expect(again.headers.get('location') ?? '').not.toContain('code=');
    expect(again.headers.get('location')).toBe(server.web.client.initiateLoginUri);
    // The back button to the finished page too.
    const back = await agent.fetch(`${server.url}${url}`);
    expect(back.headers.get('location') ?? '').not.toContain('code=');
  });

  it('a second submit from another browser does not issue a code either', async () => {
    const agent = new Agent();
    const { html } = await openHostedPage(agent, server, web2Params());
    const first = await submitSignIn(agent, server, html, server.user);
    expect(redirectParams(first).get('code')).toBeTruthy();
    const again = await submitSignIn(agent, server, html, server.user);
    expect(again.status).toBe(400);
    expect(await again.text()).toContain('This sign-in link has expired');
  });
});

describe('request shapes of the hosted pages', () => {
  it.each(['PUT', 'DELETE', 'PATCH'])('%s /login is 405 with Allow', async (method) => {
    const res = await fetch(`${server.url}/login`, { method, redirect: 'manual' });
    expect(res.status).toBe(405);
    expect(res.headers.get('allow')).toBe('GET, POST');
  });

  it.each<[string, string, string]>([
    ['JSON', 'application/json', '{"email":"ada@example.com"}'],
    ['multipart', 'multipart/form-data; boundary=x', '--x--'],
    ['text', 'text/plain', 'email=ada@example.com'],
  ])('a %s body on POST /login is refused with a 400 page', async (_name, type, body) => {
    const res = await fetch(`${server.url}/login`, {
      method: 'POST',
      headers: { 'content-type': type },
      body,
      redirect: 'manual',
    });
    expect(res.status).toBe(400);
    expect(res.headers.get('content-type')).toMatch(/^text\/html/);
  });

  it('a body over the size limit is refused, not a 500', async () => {
    const res = await fetch(`${server.url}/login`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: `email=${'a'.repeat(100_000)}`,
      redirect: 'manual',
    });
    expect(res.status).toBe(400);
  });
});

describe('secure headers on every hosted page (spec: Hosted login pages; RFC 9700 §4.16)', () => {
  it.each<[string, (agent: Agent) => Promise<Response>]>([
    ['the sign-in page', async (agent) => (await openHostedPage(agent, server, webParams())).res],
    [
      'the sign-up page',
      async (agent) => (await openHostedPage(agent, server, { ...webParams(), prompt: 'create' })).res,
    ],
    [
      'the sign-in page after a wrong password',
      async (agent) => {
        const { html } = await openHostedPage(agent, server, webParams());
        return submitSignIn(agent, server, html, { email: 'nobody@example.com', password: 'wrong-wrong' });
      },
    ],
    ['the start-again page', () => fetch(`${server.url}/login?interaction=int_x`)],
    [
      'the authorization error page',
      () => fetch(`${server.url}/oauth/authorize?client_id=webc_unknown&redirect_uri=x`),
    ],
    [
      'the form_post page',
      () =>
        fetch(
          authorizeUrl(server, {
            ...webParams(),
            response_type: 'token',
            response_mode: 'form_post',
          }),
        ),
    ],
    ['the not-found page', () => fetch(`${server.url}/no-such-page`)],
    ['the 405 page', () => fetch(`${server.url}/signup`, { method: 'PUT' })],
  ])('%s', async (_name, open) => {
    const res = await open(new Agent());
    expect(res.headers.get('content-type')).toMatch(/^text\/html/);
    expectSecureHeaders(res);
  });
});
