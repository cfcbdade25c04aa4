import type { Browser, BrowserContext, Page } from 'playwright-core';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { startTestServer, type TestServer } from '../../packages/server/test/support/server.ts';
import {
  collectPageErrors,
  focusedElement,
  launchBrowser,
  newContext,
  recordNavigations,
  saveScreenshot,
  waitForText,
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
  appA = await startRelyingParty(server, { name: 'App A', host: 'a.localhost', initiateLogin: true });
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

describe('hosted sign-in in a browser', () => {
  it('signs up a new person and returns them signed in to the app (spec: Hosted login pages, sign up)', async () => {
    await page.goto(`${appA.url}/login`);
    await expectSignInPage(page, server);
    await page.getByRole('link', { name: 'Create an account' }).click();
    await page.getByRole('heading', { level: 1, name: 'Create your account' }).waitFor();
    expect(new URL(page.url()).pathname).toBe('/signup');
    await saveScreenshot(page, 'sign-up');

    // Attempts the server refuses field by field: no name, then an email already taken.
    await page.getByLabel('Email', { exact: true }).fill('grace@example.com');
    await page.getByLabel('Password', { exact: true }).fill('a long enough password');
    await page.getByRole('button', { name: 'Create account' }).click();
    await waitForText(page, 'Enter your name.');
    expect(await page.getByLabel('Name', { exact: true }).getAttribute('aria-invalid')).toBe('true');
    expect(await page.getByLabel('Email', { exact: true }).inputValue()).toBe('grace@example.com');
    await saveScreenshot(page, 'sign-up-errors');

    await page.getByLabel('Email', { exact: true }).fill(server.user.email);
    await page.getByLabel('Password', { exact: true }).fill('a long enough password');
    await page.getByLabel('Name', { exact: true }).fill('Grace Hopper');
    await page.getByRole('button', { name: 'Create account' }).click();
    await waitForText(page, 'An account with this email already exists');
    expect(await page.getByLabel('Email', { exact: true }).getAttribute('aria-invalid')).toBe('true');
    await saveScreenshot(page, 'sign-up-email-taken');

    const email = 'grace@example.com';
    await page.getByLabel('Email', { exact: true }).fill(email);
    await page.getByLabel('Password', { exact: true }).fill('a long enough password');
    await page.getByLabel('Name', { exact: true }).fill('Grace Hopper');
    await page.getByRole('button', { name: 'Create account' }).click();
    await expectSignedInAt(page, appA, email);
    expect(appA.lastClaims?.['name']).toBe('Grace Hopper');
    expect(await server.store.users.getByEmail(email)).not.toBeNull();
  });

  it('signs in the demo user and returns to the app (spec: Hosted login pages, sign in)', async () => {
    await page.goto(`${appA.url}/login`);
    await expectSignInPage(page, server);
    await saveScreenshot(page, 'sign-in');
    await submitSignIn(page, server.user);
    await expectSignedInAt(page, appA, server.user.email);
    expect(appA.lastClaims?.['sub']).toBe(server.user.id);
  });

  it('a wrong password shows one message and stays on Sesame, then the right one works (spec: Hosted login pages)', async () => {
    await page.goto(`${appA.url}/login`);
    await expectSignInPage(page, server);
    const responses: number[] = [];
    page.on('response', (res) => {
      if (res.request().method() === 'POST') responses.push(res.status());
    });
    await submitSignIn(page, { email: server.user.email, password: 'not the password' });
    await page.getByRole('alert').waitFor();
    expect(await page.getByRole('alert').textContent()).toBe('Incorrect email or password.');
    await expectSignInPage(page, server);
    expect(responses).toEqual([401]);
    // The email is kept, the password never is.
    expect(await page.getByLabel('Email', { exact: true }).inputValue()).toBe(server.user.email);
    expect(await page.getByLabel('Password', { exact: true }).inputValue()).toBe('');
    await saveScreenshot(page, 'sign-in-error');

    await submitSignIn(page, server.user);
    await expectSignedInAt(page, appA, server.user.email);
  });

  it('Cancel returns access_denied to the app, whose Try again leads back to sign-in (RFC 6749 §4.1.2.1)', async () => {
    await page.goto(`${appA.url}/login`);
    await expectSignInPage(page, server);
    await page.getByRole('button', { name: 'Cancel' }).click();
    await page.getByRole('heading', { name: 'Sign-in failed: access_denied' }).waitFor();
    expect(new URL(page.url()).origin).toBe(appA.url);
    expect(new URL(page.url()).searchParams.get('error')).toBe('access_denied');

    await page.getByRole('link', { name: 'Try again' }).click();
    await expectSignInPage(page, server);
  });

  it('the sign-in form is reached by Tab in the order Email, Password, Sign in (spec: Hosted login pages, focus order)', async () => {
    await page.goto(`${appA.url}/login`);
    await expectSignInPage(page, server);
    // `autofocus` puts the cursor in the first field.
    expect(await focusedElement(page)).toBe('input[name=email]');
    // Start sequential navigation from the heading, above every control.
    await page.getByRole('heading', { level: 1, name: 'Sign in' }).click();
    expect(await focusedElement(page)).toBe('body');
    const stops: string[] = [];
    for (let i = 0; i < 4; i++) {
      await page.keyboard.press('Tab');
      stops.push(await focusedElement(page));
    }
    expect(stops).toEqual(['input[name=email]', 'input[name=password]', 'button:Sign in', 'button:Cancel']);

    // And the keyboard alone signs in: type, Tab, type, Enter.
    await page.keyboard.press('Shift+Tab');
    await page.keyboard.press('Shift+Tab');
    await page.keyboard.press('Shift+Tab');
    await page.keyboard.type(server.user.email);
    await page.keyboard.press('Tab');
    await page.keyboard.type(server.user.password);
    await page.keyboard.press('Enter');
    await expectSignedInAt(page, appA, server.user.email);
  });

  it('signs in with JavaScript disabled (spec: Hosted login pages, readable without JavaScript)', async () => {
    const noScript = await newContext(browser, { javaScriptEnabled: false });
    const noScriptErrors = collectPageErrors(noScript);
    try {
      const p = await noScript.newPage();
      await p.goto(`${appA.url}/login`);
      await expectSignInPage(p, server);
      await saveScreenshot(p, 'sign-in-no-javascript');
      await submitSignIn(p, server.user);
      await expectSignedInAt(p, appA, server.user.email);
      expect(noScriptErrors).toEqual([]);
    } finally {
      await noScript.close();
    }
  });

  it('an expired sign-in page sends the browser to the app’s initiate-login URI (spec: /oauth/authorize, expired interaction)', async () => {
    await page.goto(`${appA.url}/login`);
    await expectSignInPage(page, server);
    const expired = page.url();
    const navigations = recordNavigations(page);
    server.clock.advance(31 * 60);
    await submitSignIn(page, server.user);
    // App A's /login starts a new sign-in, so the person lands on a fresh sign-in page.
    await page.waitForURL(
      (url) => url.origin === server.url && url.pathname === '/login' && url.href !== expired,
    );
    await expectSignInPage(page, server);
    expect(navigations.some((u) => u.startsWith(`${appA.url}/login`))).toBe(true);
    await submitSignIn(page, server.user);
    await expectSignedInAt(page, appA, server.user.email);
  });

  it('an expired sign-in page of an app without an initiate-login URI shows "start again" (spec: /oauth/authorize, expired interaction)', async () => {
    await page.goto(`${appB.url}/login`);
    await expectSignInPage(page, server);
    server.clock.advance(31 * 60);
    const response = page.waitForResponse((res) => res.request().method() === 'POST');
    await submitSignIn(page, server.user);
    expect((await response).status()).toBe(400);
    await page.getByRole('heading', { name: 'This sign-in link has expired' }).waitFor();
    await waitForText(page, 'App B');
    expect(new URL(page.url()).origin).toBe(server.url);
    await saveScreenshot(page, 'start-again');
  });

  it('a sign-in link for an unknown app shows an error page, never a redirect (RFC 6749 §4.1.2.1)', async () => {
    const query = new URLSearchParams({
      response_type: 'code',
      client_id: 'webc_unknown',
      redirect_uri: `${appA.url}/auth/callback`,
      scope: 'openid',
      state: 's',
    });
    const res = await page.goto(`${server.url}/oauth/authorize?${query}`);
    expect(res?.status()).toBe(400);
    await page.getByRole('heading', { name: 'This sign-in link is not valid' }).waitFor();
    expect(new URL(page.url()).origin).toBe(server.url);
    await saveScreenshot(page, 'error-page');
  });
});
