import type { Browser, BrowserContext, Page } from 'playwright-core';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { startTestServer, type TestServer } from '../../packages/server/test/support/server.ts';
import { collectPageErrors, launchBrowser, newContext, saveScreenshot } from '../support/browser.ts';
import { expectSignedInAt, expectSignInPage, submitSignIn } from '../support/hosted-pages.ts';
import { type RelyingParty, startRelyingParty } from '../support/relying-party.ts';

let server: TestServer;
let browser: Browser;
let appA: RelyingParty;
let context: BrowserContext;
let page: Page;
let pageErrors: string[];
const grace = { email: 'grace@example.com', password: 'a long enough password' };
let ownOrganization: string;

beforeAll(async () => {
  [server, browser] = await Promise.all([startTestServer(), launchBrowser()]);
  appA = await startRelyingParty(server, { name: 'App A', host: 'a.localhost' });
  // Grace has her own organization and is also a member of Ada's.
  ({ organizationId: ownOrganization } = await server.createUser({ ...grace, name: 'Grace Hopper' }));
  const user = await server.store.users.getByEmail(grace.email);
  const now = server.clock.now();
  await server.store.memberships.insert({
    organizationId: server.user.organizationId,
    userId: user?.id ?? '',
    roles: ['member'],
    createdAt: now,
    updatedAt: now,
  });
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

describe('organization choice in a browser', () => {
  it('prompt=select_account lets a member of two organizations pick one, which becomes oid (spec: /oauth/authorize, select_account)', async () => {
    await page.goto(`${appA.url}/login?prompt=select_account`);
    await expectSignInPage(page, server);
    await submitSignIn(page, grace);
    await page.getByRole('heading', { level: 1, name: 'Choose an organization' }).waitFor();
    expect(new URL(page.url()).origin).toBe(server.url);
    const choices = page.getByRole('list', { name: 'Organizations' }).getByRole('button');
    expect(await choices.allTextContents()).toHaveLength(2);
    await saveScreenshot(page, 'select-organization');

    // The one that is not her default, so the choice is visibly honoured.
    await page.getByRole('button', { name: "Ada Lovelace's organization" }).click();
    await expectSignedInAt(page, appA, grace.email);
    expect(appA.lastClaims?.['oid']).toBe(server.user.organizationId);
    expect(appA.lastClaims?.['oid']).not.toBe(ownOrganization);
  });

  it('with a live session, select_account asks again without a password (spec: /oauth/authorize, select_account)', async () => {
    await page.goto(`${appA.url}/login?prompt=select_account`);
    await page.getByRole('heading', { level: 1, name: 'Choose an organization' }).waitFor();
    await page.getByRole('button', { name: "Grace Hopper's organization" }).click();
    await expectSignedInAt(page, appA, grace.email);
    expect(appA.lastClaims?.['oid']).toBe(ownOrganization);
  });
});
