// Issue 4 in a browser: the example web app (Express) and the second app (Hono) share one Sesame
// sign-in session; ending it anywhere — signing out of one app, the idle timeout, while an app is
// down, across a Sesame restart — signs the browser out of every app through OIDC Back-Channel
// Logout, and Sesame asks for the password again.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { runUpkeep } from '../../packages/server/src/jobs.ts';
import type { LogoutDelivery } from '../../packages/server/src/storage/types.ts';
import { startTestServer, type TestServer } from '../../packages/server/test/support/server.ts';
import { launchBrowser, newContext, recordNavigations, saveScreenshot } from '../support/browser.ts';
import { expectSignInPage, submitSignIn } from '../support/hosted-pages.ts';
import { type ExampleApp, startExampleApp } from './example-apps.ts';

const idleTimeout = 600;

let browser: Browser;
let context: BrowserContext;
let page: Page;

beforeAll(async () => {
  browser = await launchBrowser();
});

afterAll(async () => {
  await browser?.close();
});

beforeEach(async () => {
  context = await newContext(browser);
  page = await context.newPage();
});

afterEach(async () => {
  await context?.close();
});

/** Waits until Sesame's outbox rows of a session satisfy `check` (the worker runs off the request path). */
async function waitForDeliveries(
  server: TestServer,
  sid: string,
  check: (deliveries: LogoutDelivery[]) => boolean,
  what: string,
): Promise<LogoutDelivery[]> {
  const deadline = performance.now() + 10_000;
  for (;;) {
    const { items } = await server.store.logoutDeliveries.list({ limit: 10 }, { sessionId: sid });
    if (check(items)) return items;
    if (performance.now() > deadline)
      throw new Error(`timed out waiting until ${what}: ${JSON.stringify(items)}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

/** The delivery of one app among a session's outbox rows. */
function deliveryTo(deliveries: LogoutDelivery[], app: ExampleApp): LogoutDelivery | undefined {
  return deliveries.find((d) => d.clientId === app.client.id);
}

/** Moves Sesame's clock past a delivery's retry time and wakes its worker, as the next scan would. */
function retryNow(server: TestServer, delivery: LogoutDelivery): void {
  server.clock.advance(
    Math.ceil((delivery.nextAttemptAt.getTime() - server.clock.now().getTime()) / 1000) + 1,
  );
  server.ctx.logoutDeliveryWakeup.kick();
}

/** Signs in to the web app with the password, landing on its dashboard. */
async function signInToWebApp(server: TestServer, web: ExampleApp): Promise<void> {
  await page.goto(`${web.url}/dashboard`);
  await expectSignInPage(page, server);
  await submitSignIn(page, server.user);
  await page.getByRole('heading', { level: 1, name: 'Dashboard' }).waitFor();
  expect(new URL(page.url()).origin).toBe(web.url);
  await expect(page.getByTestId('email').textContent()).resolves.toBe(server.user.email);
}

/** Opens the second app's profile (single sign-on when the session is live); returns the `sid` it shows. */
async function openSecondAppProfile(second: ExampleApp): Promise<string> {
  await page.goto(`${second.url}/profile`);
  await page.getByRole('heading', { level: 1, name: 'Profile' }).waitFor();
  expect(new URL(page.url()).origin).toBe(second.url);
  return (await page.getByTestId('sid').textContent()) ?? '';
}

/** Whether the app's back-channel record says this browser's provider session has ended. */
function told(app: ExampleApp, server: TestServer, sid: string): Promise<boolean> {
  return app.revocations.isRevoked({ sid, sub: server.user.id, authTime: null });
}

describe('two example apps on one Sesame', () => {
  let server: TestServer;
  let web: ExampleApp;
  let second: ExampleApp;

  beforeAll(async () => {
    server = await startTestServer({ env: { SESAME_SESSION_IDLE_TIMEOUT: String(idleTimeout) } });
    web = await startExampleApp(server, 'web', 'a.localhost');
    second = await startExampleApp(server, 'second', 'b.localhost');
  });

  afterAll(async () => {
    await web?.close();
    await second?.close();
    await server?.close();
  });

  it('signed in to the web app, the second app signs the person in without a password (spec: Sessions, single sign-on)', async () => {
    await signInToWebApp(server, web);
    const navigations = recordNavigations(page);
    const sid = await openSecondAppProfile(second);
    expect(sid).toMatch(/^ses_/);
    await expect(page.getByTestId('email').textContent()).resolves.toBe(server.user.email);
    // Through authorize straight back to the app: no hosted page was shown.
    const hosted = navigations
      .filter((u) => new URL(u).origin === server.url)
      .map((u) => new URL(u).pathname);
    expect(hosted).toEqual(['/oauth/authorize']);
    const session = await server.store.sessions.get(sid);
    expect(session?.clientIds.slice().sort()).toEqual([web.client.id, second.client.id].sort());
  });

  it('signing out in the second app signs the web app out on its next request, and Sesame asks for the password again (Back-Channel Logout §2.7)', async () => {
    await signInToWebApp(server, web);
    const sid = await openSecondAppProfile(second);

    await page.getByRole('link', { name: 'Sign out' }).click();
    await page.getByRole('link', { name: 'Sign in' }).waitFor();
    expect(new URL(page.url()).pathname).toBe('/');
    expect(new URL(page.url()).origin).toBe(second.url);
    const deliveries = await waitForDeliveries(
      server,
      sid,
      (ds) => ds.length === 2 && ds.every((d) => d.status === 'delivered'),
      'both apps are told',
    );
    expect(deliveries.map((d) => d.clientId).sort()).toEqual([web.client.id, second.client.id].sort());
    expect(await told(web, server, sid)).toBe(true);

    // The web app's cookies are still in the browser, and its access token has most of an hour
    // left: only the back-channel notice can have signed it out.
    expect((await context.cookies(web.url)).some((c) => c.name.startsWith('webapp_session'))).toBe(true);
    await page.goto(`${web.url}/dashboard`);
    await expectSignInPage(page, server);
    await saveScreenshot(page, 'backchannel-password-asked-again');
    await submitSignIn(page, server.user);
    await page.getByRole('heading', { level: 1, name: 'Dashboard' }).waitFor();
  });

  it('when the idle timeout ends the session, both apps are told and sign the browser out (spec: Sessions, idle timeout)', async () => {
    await signInToWebApp(server, web);
    const sid = await openSecondAppProfile(second);
    server.clock.advance(idleTimeout + 1);
    await runUpkeep(server.ctx);
    await waitForDeliveries(
      server,
      sid,
      (ds) => ds.length === 2 && ds.every((d) => d.status === 'delivered'),
      'both apps are told',
    );
    expect((await server.store.sessions.get(sid))?.endReason).toBe('idle_timeout');
    expect(await told(web, server, sid)).toBe(true);
    expect(await told(second, server, sid)).toBe(true);

    await page.goto(`${second.url}/profile`);
    await expectSignInPage(page, server);
    await page.goto(`${web.url}/dashboard`);
    await expectSignInPage(page, server);
  });

  it('the second app, down during a logout, is told once it is back and then signs the browser out (spec: Back-channel logout, retried with backoff)', async () => {
    await signInToWebApp(server, web);
    const sid = await openSecondAppProfile(second);
    await second.stop();

    await page.goto(`${web.url}/dashboard`);
    await page.locator('#sign-out').click();
    await page.getByRole('link', { name: 'Sign in' }).waitFor();
    expect(new URL(page.url()).pathname).toBe('/');
    expect(new URL(page.url()).origin).toBe(web.url);
    const failed = await waitForDeliveries(
      server,
      sid,
      (ds) =>
        deliveryTo(ds, web)?.status === 'delivered' &&
        deliveryTo(ds, second)?.attempts === 1 &&
        deliveryTo(ds, second)?.lockedUntil === null,
      'the web app is told and the attempt at the second app has failed',
    );
    const pending = deliveryTo(failed, second) as LogoutDelivery;
    expect(pending.status).toBe('pending');
    expect(pending.lastError).toBeTruthy();

    await second.start();
    // Back, but not told yet: the browser is still signed in there.
    expect(await told(second, server, sid)).toBe(false);
    await openSecondAppProfile(second);

    retryNow(server, pending);
    await waitForDeliveries(
      server,
      sid,
      (ds) => deliveryTo(ds, second)?.status === 'delivered',
      'the retry arrives',
    );
    expect(await told(second, server, sid)).toBe(true);
    await page.goto(`${second.url}/profile`);
    await expectSignInPage(page, server);
  });
});

describe('a Sesame restart with a notice pending', () => {
  let dir: string;
  let first: TestServer;
  let restarted: TestServer | undefined;
  let web: ExampleApp;
  let second: ExampleApp;

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'sesame-e2e-bcl-'));
    first = await startTestServer({ databaseUrl: join(dir, 'sesame.db') });
    web = await startExampleApp(first, 'web', 'a.localhost');
    second = await startExampleApp(first, 'second', 'b.localhost');
  });

  afterAll(async () => {
    await web?.close();
    await second?.close();
    await restarted?.close();
    await first?.close().catch(() => {});
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('a notice pending when Sesame stops is delivered by the restarted Sesame (spec: Back-channel logout, survives a restart)', async () => {
    await signInToWebApp(first, web);
    const sid = await openSecondAppProfile(second);
    await second.stop();
    await page.goto(`${web.url}/dashboard`);
    await page.locator('#sign-out').click();
    await page.getByRole('link', { name: 'Sign in' }).waitFor();
    const failed = await waitForDeliveries(
      first,
      sid,
      (ds) => deliveryTo(ds, second)?.attempts === 1 && deliveryTo(ds, second)?.lockedUntil === null,
      'the attempt at the second app has failed',
    );
    expect(deliveryTo(failed, second)?.status).toBe('pending');

    // Sesame stops with the notice in its outbox; the restarted one seeds its own demo user, so
    // the address is freed for it. Same database, same issuer.
    await first.store.users.update(first.user.id, { email: 'ada+before-restart@example.com' });
    await first.close();
    await second.start();
    expect(await told(second, first, sid)).toBe(false);
    // Back, but not told yet: the browser is still signed in there.
    await page.goto(`${second.url}/`);
    await expect(page.getByTestId('email').textContent()).resolves.toBe(first.user.email);

    restarted = await startTestServer({ databaseUrl: join(dir, 'sesame.db'), env: { ENV_URL: first.url } });
    const [pending] = (
      await restarted.store.logoutDeliveries.list({ limit: 10 }, { sessionId: sid })
    ).items.filter((d) => d.clientId === second.client.id);
    expect(pending?.status).toBe('pending');
    retryNow(restarted, pending as LogoutDelivery);
    await waitForDeliveries(
      restarted,
      sid,
      (ds) => deliveryTo(ds, second)?.status === 'delivered',
      'the restarted Sesame delivers it',
    );
    expect(await told(second, first, sid)).toBe(true);
    // The second app's next request is signed out: its home page offers to sign in. (Not a
    // protected page: that would send the browser to the stopped Sesame's address.)
    await page.goto(`${second.url}/`);
    await page.getByRole('link', { name: 'Sign in' }).waitFor();
    expect(await page.getByTestId('email').count()).toBe(0);
  });
});
