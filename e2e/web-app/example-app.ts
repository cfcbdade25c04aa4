import { randomBytes } from 'node:crypto';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { BrowserContext, Page } from 'playwright-core';
import { expect } from 'vitest';
import { createWebApp } from '../../examples/web-app/src/app.ts';
import type { RegisteredClient, TestServer } from '../../packages/server/test/support/server.ts';
import { expectSignInPage, submitSignIn } from '../support/hosted-pages.ts';

/** The example app's cookie names start with this, as in the root `npm start`. */
export const cookiePrefix = 'webapp';

/** The example web app (`examples/web-app`) on loopback, registered at a test Sesame. */
export interface ExampleApp {
  /** `http://app.localhost:<port>`: the origin the browser uses, another site than Sesame's 127.0.0.1. */
  url: string;
  client: RegisteredClient;
  /** What the SDK logged (`logger.warn` and `logger.error`), e.g. `{ code: 'ERR_STATE_MISMATCH' }`. */
  logged: Array<{ level: 'warn' | 'error'; msg: string; obj: Record<string, unknown> }>;
  /**
   * Answers the next request to `/auth/callback` with a blank page instead of the app, and
   * resolves with its URL as the browser sent it: the code is left unused, so a test can replay
   * the callback as it likes (tampered) and then as it was.
   */
  holdNextCallback(): Promise<string>;
  close(): Promise<void>;
}

/**
 * Starts `createWebApp` on 127.0.0.1 with the seed's registration: callback and post-logout URL on
 * `app.localhost`, back-channel logout on `127.0.0.1` (Node cannot resolve `*.localhost`), and a
 * 60-second access token so that tests can let it expire with `server.clock`.
 */
export async function startExampleApp(server: TestServer): Promise<ExampleApp> {
  let handler: ((req: IncomingMessage, res: ServerResponse) => void) | null = null;
  let held: ((url: string) => void) | null = null;
  const node = createServer((req, res) => {
    const path = (req.url ?? '/').split('?')[0];
    if (held && path === '/auth/callback') {
      held(`${app.url}${req.url}`);
      held = null;
      res.writeHead(200, { 'content-type': 'text/html; charset=utf-8', 'cache-control': 'no-store' });
      res.end('<!doctype html><title>Held</title><p>Callback held by the test.</p>');
      return;
    }
    if (handler) handler(req, res);
    else res.writeHead(503).end('starting');
  });
  await new Promise<void>((resolve) => node.listen(0, '127.0.0.1', resolve));
  const port = (node.address() as AddressInfo).port;
  const url = `http://app.localhost:${port}`;
  const client = await server.registerClient({
    type: 'web',
    name: 'Example web app',
    redirectUris: [`${url}/auth/callback`],
    postLogoutRedirectUris: [`${url}/`],
    accessTokenTtl: 60,
    backchannelLogoutUri: `http://127.0.0.1:${port}/auth/backchannel-logout`,
  });
  const logged: ExampleApp['logged'] = [];
  handler = createWebApp({
    appName: 'Example web app',
    auth: {
      envUrl: server.url,
      clientId: client.id,
      clientSecret: client.secret ?? '',
      redirectUri: `${url}/auth/callback`,
      postLogoutRedirectUri: `${url}/`,
      cookieSecret: randomBytes(32).toString('base64url'),
      cookiePrefix,
      now: server.clock.now,
      logger: {
        warn: (obj, msg) => logged.push({ level: 'warn', msg, obj: obj as Record<string, unknown> }),
        error: (obj, msg) => logged.push({ level: 'error', msg, obj: obj as Record<string, unknown> }),
      },
    },
  });

  const app: ExampleApp = {
    url,
    client,
    logged,
    holdNextCallback: () =>
      new Promise<string>((resolve) => {
        held = resolve;
      }),
    close: () =>
      new Promise<void>((resolve) => {
        node.close(() => resolve());
        node.closeAllConnections();
      }),
  };
  return app;
}

/** The statuses of every answer of Sesame's token endpoint so far, in order (from its request log). */
export function tokenResponses(server: TestServer): number[] {
  const statuses: number[] = [];
  for (const line of server.logs) {
    try {
      const entry = JSON.parse(line) as { path?: unknown; status?: unknown };
      if (entry.path === '/oauth/token') statuses.push(Number(entry.status));
    } catch {
      // Not a JSON line (nothing else is expected, but a stray line must not break the count).
    }
  }
  return statuses;
}

/** How many requests Sesame's token endpoint has answered so far. */
export function tokenRequests(server: TestServer): number {
  return tokenResponses(server).length;
}

/** Signs in from the app's home page through Sesame's hosted page, ending on the dashboard. */
export async function signIn(
  page: Page,
  app: ExampleApp,
  server: TestServer,
  credentials: { email: string; password: string } = server.user,
): Promise<void> {
  await page.goto(`${app.url}/`);
  await page.getByRole('link', { name: 'Sign in', exact: true }).click();
  await expectSignInPage(page, server);
  await submitSignIn(page, credentials);
  await expectDashboard(page, app);
}

/** Waits for the dashboard and checks it is the app's, at `/dashboard`. */
export async function expectDashboard(page: Page, app: ExampleApp): Promise<void> {
  await page.getByRole('heading', { level: 1, name: 'Dashboard' }).waitFor();
  const url = new URL(page.url());
  expect(url.origin).toBe(app.url);
  expect(url.pathname).toBe('/dashboard');
}

/** The access token's expiry (epoch seconds) the dashboard shows. */
export async function shownExpiry(page: Page): Promise<number> {
  return Number(await page.locator('#token-life').getAttribute('data-expires-at'));
}

/** The SDK's cookies in the browser's jar for the app's host, whatever their path. */
export async function appCookies(context: BrowserContext, app: ExampleApp) {
  const host = new URL(app.url).hostname;
  const cookies = await context.cookies();
  return cookies.filter((c) => c.domain === host && c.name.startsWith(`${cookiePrefix}_`));
}
