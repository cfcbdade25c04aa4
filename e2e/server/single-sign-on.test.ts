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
import { expectSignedInAt, expectSignInPage, submitSignIn } from '../support/hosted-pages.ts';
import { type RelyingParty, startRelyingParty } from '../support/relying-party.ts';

let server: TestServer;
let browser: Browser;
let appA: RelyingParty;
let appB: RelyingParty;
let context: BrowserContext;
let page: Page;
let pageErrors: string[];

beforeAll(async () => {
  [server, browser] = await Promise.all([startTestServer(), launchBrowser()]);
  appA = await startRelyingParty(server, { name: 'App A', host: 'a.localhost' });
  appB = await startRelyingParty(server, { name: 'App B', host: 'b.localhost' });
});

afterAll(async () => {
  await browser?.close();
  await Promise.all([appA?.close(), appB?.close()]);
  await server?.close();
});

beforeEach(async () => {
  context = await newContext(browser);
  pageErrors = collectPageErrors(context);
  page = await context.newPage();
});

afterEach(async () => {
  await context.close();
  // Every page loaded its stylesheet and icons under the strict CSP, and no script failed.
  expect(pageErrors).toEqual([]);
});

/** Signs the demo user in to app A through the hosted sign-in page. */
async function signInToAppA(): Promise<void> {
  await page.goto(`${appA.url}/login`);
  await expectSignInPage(page, server);
  await submitSignIn(page, server.user);
  await expectSignedInAt(page, appA, server.user.email);
}

/** Whether the browser holds a Sesame session cookie. */
async function hasSessionCookie(): Promise<boolean> {
  const cookies = await context.cookies(server.url);
  return cookies.some((c) => c.name === `${server.config.cookiePrefix}_session` && c.value !== '');
}

describe('single sign-on and logout in a browser', () => {
  it('a second app signs the person in without a password page (spec: Sessions, single sign-on)', async () => {
    await signInToAppA();
    const sid = appA.lastClaims?.['sid'];
    expect(sid).toMatch(/^ses_/);

    const navigations = recordNavigations(page);
    await page.goto(`${appB.url}/login`);
    await expectSignedInAt(page, appB, server.user.email);
    // Straight through authorize to the callback: no hosted page was shown.
    const hosted = navigations
      .filter((u) => new URL(u).origin === server.url)
      .map((u) => new URL(u).pathname);
    expect(hosted).toEqual(['/oauth/authorize']);
    expect(appB.lastClaims?.['sid']).toBe(sid);
  });

  it('logout with an ID token hint returns to the app and ends the shared session (OIDC RP-Initiated Logout §2, §3)', async () => {
    await signInToAppA();
    expect(await hasSessionCookie()).toBe(true);
    await page.getByRole('link', { name: 'Sign out' }).click();
    await page.getByRole('heading', { name: 'Signed out home' }).waitFor();
    expect(page.url()).toBe(`${appA.url}/`);
    expect(await hasSessionCookie()).toBe(false);

    await page.goto(`${appB.url}/login`);
    await expectSignInPage(page, server);
  });

  it('logout without a hint asks first, then signs out everywhere (OIDC RP-Initiated Logout §2, logout CSRF)', async () => {
    await signInToAppA();
    await page.goto(`${server.url}/oidc/logout`);
    await page.getByRole('heading', { level: 1, name: 'Sign out?' }).waitFor();
    // Nothing ended yet: showing the question must not sign anyone out.
    expect(await hasSessionCookie()).toBe(true);
    await saveScreenshot(page, 'logout-confirm');

    await page.getByRole('button', { name: 'Sign out', exact: true }).click();
    await page.getByRole('heading', { name: 'You are signed out' }).waitFor();
    expect(new URL(page.url()).origin).toBe(server.url);
    expect(await hasSessionCookie()).toBe(false);
    await saveScreenshot(page, 'signed-out');

    await page.goto(`${appB.url}/login`);
    await expectSignInPage(page, server);
  });

  it('"Stay signed in" on the logout question keeps the session (OIDC RP-Initiated Logout §2)', async () => {
    await signInToAppA();
    await page.goto(`${server.url}/oidc/logout?client_id=${encodeURIComponent(appA.client.id)}`);
    await page.getByRole('heading', { level: 1, name: 'Sign out of App A?' }).waitFor();
    await page.getByRole('button', { name: 'Stay signed in' }).click();
    await page.getByRole('heading', { name: 'You are still signed in' }).waitFor();
    await saveScreenshot(page, 'still-signed-in');

    await page.goto(`${appB.url}/login`);
    await expectSignedInAt(page, appB, server.user.email);
  });
});
