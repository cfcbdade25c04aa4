import { randomBytes } from 'node:crypto';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { SesameAuth } from '../../packages/sdk/src/auth.ts';
import { maxCookieValueLength } from '../../packages/sdk/src/cookies.ts';
import { resolveOptions } from '../../packages/sdk/src/options.ts';
import { startTestServer, type TestServer } from '../../packages/server/test/support/server.ts';
import {
  collectPageErrors,
  launchBrowser,
  newContext,
  recordNavigations,
  saveScreenshot,
} from '../support/browser.ts';
import { expectSignInPage, submitSignIn } from '../support/hosted-pages.ts';
import {
  appCookies,
  cookiePrefix,
  type ExampleApp,
  expectDashboard,
  shownExpiry,
  signIn,
  startExampleApp,
  tokenRequests,
  tokenResponses,
} from './example-app.ts';

let server: TestServer;
let browser: Browser;
let app: ExampleApp;
let context: BrowserContext;
let page: Page;
let pageErrors: string[];

beforeAll(async () => {
  [server, browser] = await Promise.all([startTestServer(), launchBrowser()]);
  app = await startExampleApp(server);
});

afterAll(async () => {
  await browser?.close();
  await app?.close();
  await server?.close();
});

beforeEach(async () => {
  context = await newContext(browser);
  pageErrors = collectPageErrors(context);
  page = await context.newPage();
});

afterEach(async () => {
  await context.close();
  expect(pageErrors).toEqual([]);
});

/** The server's clock in epoch seconds (the app's `now` follows it). */
const serverNow = () => Math.floor(server.clock.now().getTime() / 1000);

/** Records `METHOD /path status` of the page's API calls to the protected route and the refresh route. */
function recordApiCalls(target: Page): string[] {
  const calls: string[] = [];
  target.on('response', (response) => {
    const { pathname } = new URL(response.url());
    if (!response.request().isNavigationRequest() && (pathname === '/api/me' || pathname === '/auth/refresh'))
      calls.push(`${response.request().method()} ${pathname} ${response.status()}`);
  });
  return calls;
}

/** Presses "Call protected API" and waits for the result box to show an answer. */
async function callProtectedApi(target: Page): Promise<string> {
  await target.getByRole('button', { name: 'Call protected API' }).click();
  const result = target.locator('#api-result');
  await expect.poll(() => result.textContent()).toMatch(/^\d{3} \w/);
  return (await result.textContent()) ?? '';
}

/** The 401 `token_expired` answers the browser saw: expected here, so they are not page errors. */
function takeExpected401s(): string[] {
  const expected = `${app.url}/api/me: HTTP 401`;
  const taken: string[] = [];
  // In place: the context keeps appending to this very array.
  for (let i = pageErrors.indexOf(expected); i !== -1; i = pageErrors.indexOf(expected)) {
    taken.push(...pageErrors.splice(i, 1));
  }
  return taken;
}

describe('access token expiry and refresh (seed Step 3)', () => {
  it('refreshes silently on a page navigation once the access token has expired', async () => {
    await signIn(page, app, server);
    const firstExpiry = await shownExpiry(page);
    expect(firstExpiry).toBe(serverNow() + 60);

    server.clock.advance(61);
    const before = tokenRequests(server);
    const navigations = recordNavigations(page);
    await page.goto(`${app.url}/dashboard`);
    await expectDashboard(page, app);

    // Through the refresh route and straight back, without a sign-in page.
    expect(navigations.map((u) => new URL(u).pathname)).toEqual([
      '/dashboard',
      '/auth/refresh',
      '/dashboard',
    ]);
    expect(tokenRequests(server)).toBe(before + 1);
    expect(await shownExpiry(page)).toBe(serverNow() + 60);
    expect(await shownExpiry(page)).toBeGreaterThan(firstExpiry);
    expect(await page.locator('#token-life').textContent()).toMatch(/^(60|59|58) s$/);
  });

  it('answers an API call with an expired token 401, and the browser helper refreshes and retries', async () => {
    await signIn(page, app, server);
    const calls = recordApiCalls(page);

    // A live token first: one call, no refresh.
    expect(await callProtectedApi(page)).toMatch(/^200 OK\n/);
    expect(calls).toEqual(['GET /api/me 200']);

    server.clock.advance(61);
    const before = tokenRequests(server);
    calls.length = 0;
    const result = await callProtectedApi(page);
    // The result box shows the retry's answer.
    expect(result).toMatch(/^200 OK\n/);
    expect(calls).toEqual(['GET /api/me 401', 'POST /auth/refresh 200', 'GET /api/me 200']);
    expect(tokenRequests(server)).toBe(before + 1);
    expect(takeExpected401s()).toHaveLength(1);

    const body = JSON.parse(result.slice('200 OK\n'.length)) as {
      user: { email: string };
      access_token_expires_at: number;
      access_token_expires_in: number;
    };
    expect(body.user.email).toBe(server.user.email);
    expect(body.access_token_expires_at).toBe(serverNow() + 60);
    expect(body.access_token_expires_in).toBe(60);
    // The countdown follows the new token, on the server's clock.
    expect(await shownExpiry(page)).toBe(serverNow() + 60);
    expect(await page.locator('#token-life').textContent()).toMatch(/^(60|59|58) s$/);
    await saveScreenshot(page, 'web-app-dashboard-api-call');
  });

  it('keeps two tabs signed in when both refresh at once, never sending a refresh token twice', async () => {
    await signIn(page, app, server);
    const second = await context.newPage();
    await second.goto(`${app.url}/dashboard`);
    await expectDashboard(second, app);
    const tabs = [page, second];

    // Both tabs navigate with the same expired session at once.
    server.clock.advance(61);
    let before = tokenRequests(server);
    await Promise.all(tabs.map((tab) => tab.goto(`${app.url}/dashboard`)));
    await Promise.all(tabs.map((tab) => expectDashboard(tab, app)));
    for (const tab of tabs) expect(await shownExpiry(tab)).toBe(serverNow() + 60);
    // Requests that overlap share one rotation (the SDK's single flight); a tab that comes later
    // already carries the new cookies. Either way Sesame never sees a refresh token again, which
    // it would answer 400 invalid_grant (and revoke the grant for).
    let rotations = tokenResponses(server).slice(before);
    expect(rotations.length).toBeGreaterThanOrEqual(1);
    expect(rotations.every((status) => status === 200)).toBe(true);

    // Both tabs call the API with the same expired session at once (each tab's helper refreshes).
    server.clock.advance(61);
    before = tokenRequests(server);
    const results = await Promise.all(tabs.map((tab) => callProtectedApi(tab)));
    for (const result of results) expect(result).toMatch(/^200 OK\n/);
    expect(takeExpected401s()).toHaveLength(2);
    rotations = tokenResponses(server).slice(before);
    expect(rotations.length).toBeGreaterThanOrEqual(1);
    expect(rotations.every((status) => status === 200)).toBe(true);

    // The grant is intact: a later refresh works, and both tabs still reach the dashboard.
    server.clock.advance(61);
    for (const tab of tabs) {
      await tab.goto(`${app.url}/dashboard`);
      await expectDashboard(tab, app);
      expect(await shownExpiry(tab)).toBe(serverNow() + 60);
    }
  });

  it('"Refresh now" rotates the tokens before they expire', async () => {
    await signIn(page, app, server);
    const firstExpiry = await shownExpiry(page);
    server.clock.advance(30);
    const before = tokenRequests(server);
    await page.getByRole('button', { name: 'Refresh now' }).click();
    await expect.poll(() => page.locator('#api-result').textContent()).toBe('Tokens refreshed.');
    expect(tokenRequests(server)).toBe(before + 1);
    expect(await shownExpiry(page)).toBe(firstExpiry + 30);
  });
});

describe('session cookies in the browser’s jar (seed Step 3: secure, HttpOnly, path-scoped)', () => {
  it('writes every SDK cookie HttpOnly and SameSite=Lax, the refresh token only for /auth/refresh and the ID token only for /auth/logout', async () => {
    await page.goto(`${app.url}/auth/login?return_to=%2Fdashboard`);
    await expectSignInPage(page, server);
    const [transaction, ...others] = await appCookies(context, app);
    expect(others).toEqual([]);
    expect(transaction).toMatchObject({
      domain: 'app.localhost',
      path: '/auth/callback',
      httpOnly: true,
      sameSite: 'Lax',
      secure: false,
    });
    expect(transaction?.name).toMatch(new RegExp(`^${cookiePrefix}_tx_[\\w-]{16}$`));

    await submitSignIn(page, server.user);
    await expectDashboard(page, app);
    const cookies = await appCookies(context, app);
    expect(cookies.map((c) => [c.name, c.path]).sort()).toEqual([
      [`${cookiePrefix}_logout`, '/auth/logout'],
      [`${cookiePrefix}_refresh`, '/auth/refresh'],
      [`${cookiePrefix}_session`, '/'],
    ]);
    for (const cookie of cookies) {
      expect(cookie).toMatchObject({ domain: 'app.localhost', httpOnly: true, sameSite: 'Lax' });
      // Plain http here: a Secure cookie is for https apps (below).
      expect(cookie.secure).toBe(false);
      // Sealed (JWE, five parts), never a raw token.
      expect(cookie.value.split('.')).toHaveLength(5);
      // Kept across browser restarts, as long as the refresh token may live.
      expect(cookie.expires).toBeGreaterThan(Date.now() / 1000 + 29 * 86400);
    }
    // HttpOnly: the page's scripts cannot read them.
    expect(await page.evaluate(() => document.cookie)).toBe('');
    // The refresh and ID-token cookies are not sent to the pages.
    const sentToDashboard = await context.cookies(`${app.url}/dashboard`);
    expect(sentToDashboard.map((c) => c.name)).toEqual([`${cookiePrefix}_session`]);
  });

  it('marks the cookies Secure when the app is served over https', async () => {
    const base = {
      envUrl: server.url,
      clientId: app.client.id,
      clientSecret: app.client.secret ?? '',
      cookieSecret: randomBytes(32).toString('base64url'),
    };
    expect(resolveOptions({ ...base, redirectUri: `${app.url}/auth/callback` }).secureCookies).toBe(false);
    expect(resolveOptions({ ...base, redirectUri: 'https://app.example/auth/callback' }).secureCookies).toBe(
      true,
    );

    // What such an app writes: the same flags, plus Secure.
    const https = new SesameAuth({ ...base, redirectUri: 'https://app.example/auth/callback' });
    const login = await https.login(new Request('https://app.example/auth/login'));
    const [cookie] = login.headers.getSetCookie();
    expect(cookie).toMatch(/; Path=\/auth\/callback; Max-Age=600; HttpOnly; Secure; SameSite=Lax$/);
  });

  it('splits a session cookie too large for one cookie into chunks and joins them back', async () => {
    // 1,200 characters put the session cookie (profile + access token) past one cookie. Much more
    // and the Cookie header /auth/logout receives (session + ID-token chunks) passes Node's 16 KB
    // header limit: a 3,000-character name gets 431 there.
    const longName = 'x'.repeat(1200);
    const person = { email: 'long.name@example.com', password: 'a long enough password' };
    await server.createUser({ ...person, name: longName });
    await signIn(page, app, server, person);

    const cookies = await appCookies(context, app);
    const sessionChunks = cookies.filter((c) => c.name.startsWith(`${cookiePrefix}_session`));
    // `webapp_session.0`, `.1`, … and no whole `webapp_session` (the name is in both tokens and the profile).
    expect(sessionChunks.length).toBeGreaterThanOrEqual(2);
    expect(sessionChunks.map((c) => c.name).sort()).toEqual(
      sessionChunks.map((_, i) => `${cookiePrefix}_session.${i}`),
    );
    for (const chunk of sessionChunks) {
      expect(chunk.value.length).toBeLessThanOrEqual(maxCookieValueLength);
      expect(chunk).toMatchObject({ path: '/', httpOnly: true, sameSite: 'Lax' });
    }
    expect(sessionChunks.reduce((n, c) => n + c.value.length, 0)).toBeGreaterThan(maxCookieValueLength);
    // The ID token carries the name too: its cookie is chunked, still scoped to the logout route.
    for (const chunk of cookies.filter((c) => c.name.startsWith(`${cookiePrefix}_logout`))) {
      expect(chunk.name).toMatch(new RegExp(`^${cookiePrefix}_logout\\.\\d$`));
      expect(chunk.path).toBe('/auth/logout');
    }

    // The chunks are joined back on every request: the dashboard shows the person.
    expect(await page.getByTestId('name').textContent()).toBe(longName);
    expect(await page.getByTestId('email').textContent()).toBe(person.email);
    await page.reload();
    await expectDashboard(page, app);
    expect(await page.getByTestId('name').textContent()).toBe(longName);
    await saveScreenshot(page, 'web-app-dashboard-long-name');

    // Signing out clears every chunk.
    await page.getByRole('link', { name: 'Sign out' }).click();
    await page.getByRole('link', { name: 'Sign in', exact: true }).waitFor();
    expect(await appCookies(context, app)).toEqual([]);
  });
});
