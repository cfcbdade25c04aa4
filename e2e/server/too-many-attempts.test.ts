import type { Browser, BrowserContext, Page } from 'playwright-core';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { startTestServer, type TestServer } from '../../packages/server/test/support/server.ts';
import { collectPageErrors, launchBrowser, newContext, saveScreenshot } from '../support/browser.ts';
import { expectSignInPage, submitSignIn } from '../support/hosted-pages.ts';
import { type RelyingParty, startRelyingParty } from '../support/relying-party.ts';

let server: TestServer;
let browser: Browser;
let appA: RelyingParty;
let context: BrowserContext;
let page: Page;
let pageErrors: string[];

beforeAll(async () => {
  [server, browser] = await Promise.all([
    startTestServer({ env: { SESAME_SIGNIN_FAILURES_BEFORE_LOCKOUT: '3' } }),
    launchBrowser(),
  ]);
  appA = await startRelyingParty(server, { name: 'App A', host: 'a.localhost' });
  context = await newContext(browser);
  pageErrors = collectPageErrors(context);
  page = await context.newPage();
});

afterAll(async () => {
  await context?.close();
  await browser?.close();
  await appA?.close();
  await server?.close();
});

afterEach(() => {
  // Every page loaded its stylesheet and icons under the strict CSP, and no script failed.
  expect(pageErrors).toEqual([]);
});

describe('sign-in limits in a browser', () => {
  it('after 3 failures the 4th attempt gets the 429 page with Retry-After (spec: Hosted login pages, RFC 6585 §4)', async () => {
    await page.goto(`${appA.url}/login`);
    await expectSignInPage(page, server);
    /** Submits the form and waits for the answer to the POST and the page it shows. */
    const attempt = async (password: string) => {
      const loaded = page.waitForEvent('load');
      const response = page.waitForResponse((res) => res.request().method() === 'POST');
      await submitSignIn(page, { email: server.user.email, password });
      const res = await response;
      await loaded;
      return res;
    };
    const statuses: number[] = [];
    for (let n = 1; n <= 3; n++) {
      statuses.push((await attempt(`wrong password ${n}`)).status());
      expect(await page.getByRole('alert').textContent()).toBe('Incorrect email or password.');
    }
    expect(statuses).toEqual([401, 401, 401]);

    // Even the right password is refused now.
    const refused = await attempt(server.user.password);
    expect(refused.status()).toBe(429);
    expect(Number(await refused.headerValue('retry-after'))).toBeGreaterThan(0);
    await page.getByRole('heading', { level: 1, name: 'Too many attempts' }).waitFor();
    expect(new URL(page.url()).origin).toBe(server.url);
    await saveScreenshot(page, 'too-many-attempts');
  });
});
