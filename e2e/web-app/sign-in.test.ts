import type { Browser, BrowserContext, Page } from 'playwright-core';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
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
  cookiePrefix,
  type ExampleApp,
  expectDashboard,
  shownExpiry,
  signIn,
  startExampleApp,
  tokenRequests,
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
  // Every page of the app loaded its stylesheet and scripts under its CSP, and no script failed.
  expect(pageErrors).toEqual([]);
});

/** Waits for the SDK's error page after a failed sign-in. */
async function expectErrorPage(target: Page, message: string, code: string): Promise<void> {
  await target.getByRole('heading', { level: 1, name: 'Sign-in failed' }).waitFor();
  expect(new URL(target.url()).origin).toBe(app.url);
  await expect.poll(() => target.getByText(message).isVisible()).toBe(true);
  expect(await target.locator('code').textContent()).toBe(code);
}

describe('the seed’s sign-in with the example web app (Steps 1 and 2)', () => {
  it('signs in from the home page and shows the person on the dashboard (seed Steps 1–3)', async () => {
    await page.goto(`${app.url}/`);
    await page.getByRole('heading', { level: 1, name: 'Example web app' }).waitFor();
    await saveScreenshot(page, 'web-app-home-signed-out');

    const before = tokenRequests(server);
    const navigations = recordNavigations(page);
    await page.getByRole('link', { name: 'Sign in', exact: true }).click();
    await expectSignInPage(page, server);
    const authorize = new URL(navigations.find((u) => u.includes('/oauth/authorize')) ?? '');
    expect(authorize.origin).toBe(server.url);
    expect(authorize.searchParams.get('client_id')).toBe(app.client.id);
    expect(authorize.searchParams.get('redirect_uri')).toBe(`${app.url}/auth/callback`);
    expect(authorize.searchParams.get('scope')).toBe('openid profile email offline_access');
    expect(authorize.searchParams.get('state')).toMatch(/^[\w-]{20,}$/);

    await submitSignIn(page, server.user);
    await expectDashboard(page, app);
    // One code exchange at the token endpoint, with the client secret, for this sign-in.
    expect(tokenRequests(server)).toBe(before + 1);

    expect(await page.getByTestId('name').textContent()).toBe('Ada Lovelace');
    expect(await page.getByTestId('email').textContent()).toBe(server.user.email);
    expect(await page.getByTestId('organization').textContent()).toBe(server.user.organizationId);
    expect(await page.getByTestId('roles').locator('.pill').allTextContents()).toEqual(['admin']);
    // The access token lives 60 s (the app's registration) and the page counts down from the server's clock.
    expect(await shownExpiry(page)).toBe(Math.floor(server.clock.now().getTime() / 1000) + 60);
    expect(await page.locator('#token-life').textContent()).toMatch(/^(60|59|58) s$/);
    await saveScreenshot(page, 'web-app-dashboard');

    // Home now knows the person.
    await page.getByRole('link', { name: 'Example web app' }).click();
    await page.getByRole('heading', { level: 1, name: 'Welcome back, Ada Lovelace' }).waitFor();
  });

  it('shows a friendly error when the person cancels on the login page, and Try again starts over (seed: Handle errors)', async () => {
    await page.goto(`${app.url}/`);
    await page.getByRole('link', { name: 'Sign in', exact: true }).click();
    await expectSignInPage(page, server);
    const before = tokenRequests(server);
    await page.getByRole('button', { name: 'Cancel' }).click();

    await expectErrorPage(page, 'Sign-in was cancelled.', 'access_denied');
    expect(new URL(page.url()).pathname).toBe('/auth/callback');
    expect(new URL(page.url()).searchParams.get('error')).toBe('access_denied');
    // The error came back instead of a code: nothing was exchanged, and the app logged it.
    expect(tokenRequests(server)).toBe(before);
    expect(app.logged.at(-1)?.obj).toMatchObject({ code: 'ERR_CALLBACK_ERROR', oauthError: 'access_denied' });
    const html = await page.content();
    expect(html).not.toMatch(/eyJ|refresh_token|access_token/);
    await saveScreenshot(page, 'web-app-error');

    await page.getByRole('link', { name: 'Try again' }).click();
    await expectSignInPage(page, server);
    await submitSignIn(page, server.user);
    // The retry keeps where the person was going: the dashboard.
    await expectDashboard(page, app);
  });

  it('refuses a callback whose state is tampered with or missing, without a token exchange (seed Step 2: validate state)', async () => {
    await page.goto(`${app.url}/auth/login?return_to=%2Fdashboard`);
    await expectSignInPage(page, server);
    const held = app.holdNextCallback();
    await submitSignIn(page, server.user);
    const genuine = new URL(await held);
    const state = genuine.searchParams.get('state') ?? '';
    expect(genuine.searchParams.get('code')).toBeTruthy();
    expect(state.length).toBeGreaterThan(20);
    const before = tokenRequests(server);

    const tampered = new URL(genuine);
    tampered.searchParams.set('state', `${state.slice(0, -1)}${state.endsWith('A') ? 'B' : 'A'}`);
    await page.goto(tampered.href);
    await expectErrorPage(page, 'Something went wrong while signing you in.', 'ERR_STATE_MISMATCH');

    const missing = new URL(genuine);
    missing.searchParams.delete('state');
    const response = await page.goto(missing.href);
    expect(response?.status()).toBe(400);
    // The SDK's error page brings its own policy: its inline style allowed by hash, nothing else.
    expect(response?.headers()['content-security-policy']).toMatch(
      /^default-src 'none'; style-src 'sha256-[\w+/]+={0,2}';/,
    );
    await expectErrorPage(page, 'Something went wrong while signing you in.', 'ERR_STATE_MISSING');

    // Neither reached the token endpoint ...
    expect(tokenRequests(server)).toBe(before);
    // ... and the code was good all along: the genuine callback still signs in, with one exchange.
    await page.goto(genuine.href);
    await expectDashboard(page, app);
    expect(tokenRequests(server)).toBe(before + 1);
  });

  it('finishes two sign-ins started at once in two tabs (one transaction cookie per sign-in)', async () => {
    const second = await context.newPage();
    await Promise.all([page, second].map((tab) => tab.goto(`${app.url}/auth/login?return_to=%2Fdashboard`)));
    await Promise.all([expectSignInPage(page, server), expectSignInPage(second, server)]);
    // The transaction cookies are scoped to the callback path, so read the whole jar.
    const transactionCookies = async () =>
      (await context.cookies()).filter(
        (c) => c.domain === 'app.localhost' && c.name.startsWith(`${cookiePrefix}_tx_`),
      );
    const transactions = await transactionCookies();
    expect(transactions).toHaveLength(2);
    expect(transactions.map((c) => c.path)).toEqual(['/auth/callback', '/auth/callback']);

    await Promise.all([submitSignIn(page, server.user), submitSignIn(second, server.user)]);
    await Promise.all([expectDashboard(page, app), expectDashboard(second, app)]);
    for (const tab of [page, second])
      expect(await tab.getByTestId('email').textContent()).toBe(server.user.email);
    // Each callback consumed its own transaction.
    expect(await transactionCookies()).toEqual([]);
  });
});

describe('the seed’s logout with the example web app (Step 4)', () => {
  it('signs out at the provider too, lands on the signed-out home, and the dashboard asks for sign-in again', async () => {
    await signIn(page, app, server);
    const navigations = recordNavigations(page);
    await page.getByRole('link', { name: 'Sign out' }).click();
    await page.getByRole('link', { name: 'Sign in', exact: true }).waitFor();
    // Sesame sends the browser back to the registered post-logout URL (with the logout's state).
    expect(page.url().split('?')[0]).toBe(`${app.url}/`);
    await page.getByRole('heading', { level: 1, name: 'Example web app' }).waitFor();
    await saveScreenshot(page, 'web-app-signed-out');

    // A browser redirect through Sesame's end-session endpoint, with the ID token as hint.
    const endSession = new URL(navigations.find((u) => u.startsWith(`${server.url}/oidc/logout`)) ?? '');
    expect(endSession.searchParams.get('id_token_hint')).toMatch(/^eyJ/);
    expect(endSession.searchParams.get('post_logout_redirect_uri')).toBe(`${app.url}/`);
    // Every SDK cookie is gone, whatever its path.
    const left = (await context.cookies()).filter((c) => c.domain === 'app.localhost');
    expect(left.map((c) => c.name)).toEqual([]);

    // Sesame's session ended as well: the dashboard sends the browser to the sign-in form
    // (with a live provider session it would come straight back signed in).
    await page.goto(`${app.url}/dashboard`);
    await expectSignInPage(page, server);
  });
});
