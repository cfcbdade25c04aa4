// Durable delivery of back-channel logout notices (spec: "Back-channel logout": "written to an
// outbox in the same transaction that ends the session, sent off the request path with a timeout,
// retried with backoff for at least 24 h, survives a restart, and its status is visible to
// operators"; issue 4: "delivered once even when several server processes run").
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { runCli } from '../../src/cli/main.ts';
import { logoutDeliveryRetryWindowMs } from '../../src/storage/store.ts';
import type { LogoutDelivery } from '../../src/storage/types.ts';
import type { RegisteredClient, TestServer } from '../support/server.ts';
import { startTestServer } from '../support/server.ts';
import {
  decodeClaims,
  deliveriesOf,
  deliverNow,
  logout,
  type Receiver,
  registerApp,
  type SignedInBrowser,
  signInToApps,
  startReceiver,
  verifyLogoutToken,
  waitForDeliveries,
} from './receiver.ts';

const hour = 3600;
const cleanups: (() => Promise<void> | void)[] = [];

afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

/** A server (1 s delivery timeout) and a receiver, closed after the test. */
async function setup(
  options: { databaseUrl?: string; env?: Record<string, string> } = {},
): Promise<{ server: TestServer; receiver: Receiver; app: RegisteredClient }> {
  const [server, receiver] = await Promise.all([
    startTestServer({
      ...(options.databaseUrl ? { databaseUrl: options.databaseUrl } : {}),
      env: { SESAME_LOGOUT_DELIVERY_TIMEOUT: '1', ...options.env },
    }),
    startReceiver(),
  ]);
  // Closed receiver first (cleanups run last to first): a POST hanging on it ends at once.
  cleanups.push(() => server.close());
  cleanups.push(() => receiver.close());
  const app = await registerApp(server, 'Notified App', receiver.uri('app'));
  return { server, receiver, app };
}

/** A fresh SQLite file, removed after the test. */
function databaseFile(): string {
  const dir = mkdtempSync(join(tmpdir(), 'sesame-bcl-'));
  cleanups.unshift(() => rmSync(dir, { recursive: true, force: true }));
  return join(dir, 'sesame.db');
}

/** Signs a browser in to the app and logs it out; returns the browser once the logout answered. */
async function signInAndLogOut(
  server: TestServer,
  app: RegisteredClient,
  credentials: { email: string; password: string } = server.user,
) {
  const browser = await signInToApps(server, [app], credentials);
  expect((await logout(server, browser, app)).status).toBe(303);
  return browser;
}

/** Waits until the session's one delivery has been attempted `attempts` times and is settled as `status`. */
function waitForAttempt(
  server: TestServer,
  browser: SignedInBrowser,
  attempts: number,
  status: LogoutDelivery['status'],
): Promise<LogoutDelivery[]> {
  return waitForDeliveries(
    server,
    browser.sid,
    (ds) => ds[0]?.attempts === attempts && ds[0].status === status && ds[0].lockedUntil === null,
    `attempt ${attempts} ends ${status}`,
  );
}

/** Moves the test clock past a delivery's retry time and wakes the worker, as its next scan would. */
function retryNow(server: TestServer, delivery: LogoutDelivery): void {
  server.clock.advance(
    Math.ceil((delivery.nextAttemptAt.getTime() - server.clock.now().getTime()) / 1000) + 1,
  );
  server.ctx.logoutDeliveryWakeup.kick();
}

/** The parsed JSON log lines of a server. */
function logLines(server: TestServer): Record<string, unknown>[] {
  return server.logs.map((line) => JSON.parse(line) as Record<string, unknown>);
}

describe('a receiver that does not answer 2xx', () => {
  it('a 503 leaves the delivery pending with the error, retried after the backoff and then delivered exactly once (Back-Channel Logout §2.8)', async () => {
    const { server, receiver, app } = await setup();
    receiver.mode = 'unavailable';
    const browser = await signInAndLogOut(server, app);
    const [failed] = await waitForAttempt(server, browser, 1, 'pending');
    expect(failed).toMatchObject({ lastError: 'HTTP 503', lastStatusCode: 503, deliveredAt: null });
    // First retry 5 s (± 10 %) later.
    const delay = (failed as LogoutDelivery).nextAttemptAt.getTime() - server.clock.now().getTime();
    expect(delay).toBeGreaterThanOrEqual(4_500);
    expect(delay).toBeLessThanOrEqual(5_500);
    expect(logLines(server)).toContainEqual(
      expect.objectContaining({ msg: 'back-channel logout failed; will retry', deliveryId: failed?.id }),
    );

    receiver.mode = 'ok';
    // Not due yet: a round now sends nothing.
    expect(await deliverNow(server)).toEqual({ delivered: 0, retrying: 0, failed: 0 });
    expect(receiver.to('app')).toHaveLength(1);

    retryNow(server, failed as LogoutDelivery);
    const [delivered] = await waitForAttempt(server, browser, 2, 'delivered');
    expect(delivered).toMatchObject({ lastError: null, lastStatusCode: 200 });
    expect(receiver.to('app').map((r) => r.answered)).toEqual([503, 200]);
    // The retry carries a freshly signed token for the same session.
    const [first, second] = receiver.to('app').map((r) => decodeClaims(r.logoutToken as string));
    expect(second?.['sid']).toBe(browser.sid);
    expect(second?.['jti']).not.toBe(first?.['jti']);
    await verifyLogoutToken(server, receiver.to('app')[1]?.logoutToken as string, app.id);

    // Delivered is final: later rounds, however late, send nothing more.
    server.clock.advance(2 * hour);
    expect(await deliverNow(server)).toEqual({ delivered: 0, retrying: 0, failed: 0 });
    expect(receiver.deliveredTo('app')).toHaveLength(1);
  });

  it('a dropped connection leaves the delivery pending with the error (Back-Channel Logout §2.8)', async () => {
    const { server, receiver, app } = await setup();
    receiver.mode = 'close';
    const browser = await signInAndLogOut(server, app);
    const [failed] = await waitForAttempt(server, browser, 1, 'pending');
    expect(failed?.lastError).toBeTruthy();
    expect(failed?.lastStatusCode).toBeNull();
    receiver.mode = 'ok';
    retryNow(server, failed as LogoutDelivery);
    await waitForAttempt(server, browser, 2, 'delivered');
    expect(receiver.deliveredTo('app')).toHaveLength(1);
  });

  it('a receiver that hangs is given up on after SESAME_LOGOUT_DELIVERY_TIMEOUT and retried (spec: "sent … with a timeout")', async () => {
    const { server, receiver, app } = await setup();
    receiver.mode = 'hang';
    const browser = await signInAndLogOut(server, app);
    const [failed] = await waitForAttempt(server, browser, 1, 'pending');
    expect(failed?.lastError).toBe('timed out after 1000 ms');
    expect(failed?.lastStatusCode).toBeNull();
    expect(receiver.to('app')).toHaveLength(1);
    expect(receiver.to('app')[0]?.answered).toBeNull();
    receiver.mode = 'ok';
    retryNow(server, failed as LogoutDelivery);
    await waitForAttempt(server, browser, 2, 'delivered');
  });

  it('the logout answers the browser without waiting for a hanging receiver (spec: "off the request path")', async () => {
    const { server, receiver, app } = await setup({ env: { SESAME_LOGOUT_DELIVERY_TIMEOUT: '30' } });
    receiver.mode = 'hang';
    const browser = await signInToApps(server, [app]);
    const res = await logout(server, browser, app);
    expect(res.status).toBe(303);
    // The POST is under way (or about to be) and hangs for up to 30 s; the logout has answered.
    await waitForDeliveries(server, browser.sid, (ds) => ds[0]?.attempts === 1);
    expect((await server.store.sessions.get(browser.sid))?.endReason).toBe('logout');
    expect(receiver.deliveredTo('app')).toEqual([]);
  });

  it('a 302 answer is not a delivery, and the redirect is not followed (Back-Channel Logout §2.8: 200 means success)', async () => {
    const { server, receiver, app } = await setup();
    receiver.mode = 'redirect';
    const browser = await signInAndLogOut(server, app);
    const [failed] = await waitForAttempt(server, browser, 1, 'pending');
    expect(failed).toMatchObject({ lastError: 'HTTP 302', lastStatusCode: 302, deliveredAt: null });
    expect(receiver.requests.map((r) => r.path)).toEqual(['/app/backchannel-logout']);
  });

  it('retries go on for at least 24 hours, then the delivery fails with an error log line (spec: "retried with backoff for at least 24 h")', async () => {
    const { server, receiver, app } = await setup();
    receiver.mode = 'unavailable';
    const browser = await signInAndLogOut(server, app);
    const [first] = await waitForAttempt(server, browser, 1, 'pending');
    const giveUpAt = (first as LogoutDelivery).giveUpAt.getTime();
    expect(giveUpAt - (first as LogoutDelivery).createdAt.getTime()).toBeGreaterThanOrEqual(24 * hour * 1000);

    // Still retrying a full day later.
    server.clock.advance(24 * hour);
    server.ctx.logoutDeliveryWakeup.kick();
    const [dayLater] = await waitForAttempt(server, browser, 2, 'pending');
    expect(dayLater?.nextAttemptAt.getTime()).toBeLessThanOrEqual(giveUpAt);

    // Past the window: one last attempt, then failed for good.
    server.clock.advance(hour + 60);
    server.ctx.logoutDeliveryWakeup.kick();
    const [gaveUp] = await waitForAttempt(server, browser, 3, 'failed');
    expect(gaveUp).toMatchObject({ lastError: 'HTTP 503', deliveredAt: null });
    const errorLine = logLines(server).find(
      (l) =>
        l['msg'] === 'back-channel logout gave up after the retry window' && l['deliveryId'] === gaveUp?.id,
    );
    expect(errorLine).toMatchObject({
      level: 50,
      clientId: app.id,
      sessionId: browser.sid,
      error: 'HTTP 503',
    });

    // Failed is final, even if the receiver comes back.
    receiver.mode = 'ok';
    server.clock.advance(hour);
    expect(await deliverNow(server)).toEqual({ delivered: 0, retrying: 0, failed: 0 });
    expect(receiver.deliveredTo('app')).toEqual([]);
    expect(receiver.to('app')).toHaveLength(3);
  });
});

describe('durability across processes', () => {
  it('a delivery pending when the server stops is delivered by the next server on the same database (spec: "survives a restart")', async () => {
    const databaseUrl = databaseFile();
    const { server: first, receiver, app } = await setup({ databaseUrl });
    receiver.mode = 'unavailable';
    const browser = await signInAndLogOut(first, app);
    await waitForAttempt(first, browser, 1, 'pending');
    // The next server seeds its own demo user; free the address for it.
    await first.store.users.update(first.user.id, { email: 'ada+first@example.com' });
    await first.close();

    receiver.mode = 'ok';
    // Same database, same issuer: a restart, not a new deployment.
    const second = await startTestServer({ databaseUrl, env: { ENV_URL: first.url } });
    cleanups.push(() => second.close());
    const [pending] = await deliveriesOf(second, browser.sid);
    expect(pending).toMatchObject({ status: 'pending', attempts: 1 });
    retryNow(second, pending as LogoutDelivery);
    await waitForAttempt(second, browser, 2, 'delivered');
    expect(receiver.deliveredTo('app')).toHaveLength(1);
    const token = receiver.deliveredTo('app')[0]?.logoutToken as string;
    // Signed with the key the first server published (keys live in the database).
    const { payload } = await verifyLogoutToken(second, token, app.id);
    expect(payload.iss).toBe(first.url);
    expect(payload['sid']).toBe(browser.sid);
  });

  it('two servers with workers on one database deliver each notice exactly once (issue 4: "delivered once even when several server processes run")', async () => {
    const databaseUrl = databaseFile();
    const { server: one, receiver, app } = await setup({ databaseUrl });
    await one.store.users.update(one.user.id, { email: 'ada+one@example.com' });
    const two = await startTestServer({
      databaseUrl,
      env: { ENV_URL: one.url, SESAME_LOGOUT_DELIVERY_TIMEOUT: '1' },
    });
    cleanups.push(() => two.close());
    const credentials = { email: 'ada+one@example.com', password: one.user.password };

    // One session first, with the receiver up: one POST while both workers run.
    const single = await signInAndLogOut(one, app, credentials);
    two.ctx.logoutDeliveryWakeup.kick();
    await waitForDeliveries(one, single.sid, (ds) => ds[0]?.status === 'delivered');
    await Promise.all([deliverNow(one), deliverNow(two)]);
    expect(receiver.deliveredTo('app')).toHaveLength(1);

    // Then many notices due at the same moment for both workers, and two more rounds racing them.
    receiver.mode = 'unavailable';
    const browsers: SignedInBrowser[] = [];
    for (let i = 0; i < 8; i++) browsers.push(await signInAndLogOut(one, app, credentials));
    for (const b of browsers) await waitForAttempt(one, b, 1, 'pending');
    receiver.mode = 'ok';
    one.clock.advance(60);
    two.clock.advance(60);
    one.ctx.logoutDeliveryWakeup.kick();
    two.ctx.logoutDeliveryWakeup.kick();
    await Promise.all([deliverNow(one), deliverNow(two)]);
    for (const b of browsers) await waitForAttempt(one, b, 2, 'delivered');

    const delivered = receiver.deliveredTo('app').map((r) => decodeClaims(r.logoutToken as string)['sid']);
    expect(delivered.slice().sort()).toEqual([single.sid, ...browsers.map((b) => b.sid)].sort());
    for (const server of [one, two]) {
      expect(logLines(server).filter((l) => (l['level'] as number) >= 50)).toEqual([]);
    }
  });
});

describe('what operators see', () => {
  it('`sesame logout-deliveries --json` counts pending, delivered and failed deliveries and lists them (spec: "status visible to operators")', async () => {
    const databaseUrl = databaseFile();
    const { server, receiver, app } = await setup({ databaseUrl });
    const downReceiver = await startReceiver('unavailable');
    cleanups.push(() => downReceiver.close());
    const downApp = await registerApp(server, 'Down App', downReceiver.uri('down'));

    // Failed: the receiver stayed down for the whole retry window.
    const failedBrowser = await signInAndLogOut(server, downApp);
    await waitForAttempt(server, failedBrowser, 1, 'pending');
    server.clock.advance(logoutDeliveryRetryWindowMs / 1000 + 60);
    server.ctx.logoutDeliveryWakeup.kick();
    await waitForAttempt(server, failedBrowser, 2, 'failed');
    // Delivered.
    const deliveredBrowser = await signInAndLogOut(server, app);
    await waitForAttempt(server, deliveredBrowser, 1, 'delivered');
    // Pending: the receiver is still down.
    const pendingBrowser = await signInAndLogOut(server, downApp);
    await waitForAttempt(server, pendingBrowser, 1, 'pending');
    expect(receiver.requests).toHaveLength(1);

    const run = async (args: string[]) => {
      const out: string[] = [];
      const err: string[] = [];
      const code = await runCli(
        ['logout-deliveries', ...args],
        { DATABASE_URL: databaseUrl },
        { out: (l) => out.push(l), err: (l) => err.push(l) },
      );
      expect(err).toEqual([]);
      expect(code).toBe(0);
      return out.join('\n');
    };
    const all = JSON.parse(await run(['--json'])) as {
      counts: Record<string, number>;
      deliveries: Record<string, string>[];
    };
    expect(all.counts).toEqual({ pending: 1, delivered: 1, failed: 1 });
    const bySession = new Map(all.deliveries.map((d) => [d['session_id'], d]));
    expect(bySession.get(failedBrowser.sid)).toMatchObject({
      status: 'failed',
      client_id: downApp.id,
      attempts: '2',
      last_error: 'HTTP 503',
    });
    expect(bySession.get(deliveredBrowser.sid)).toMatchObject({
      status: 'delivered',
      client_id: app.id,
      attempts: '1',
    });
    expect(bySession.get(pendingBrowser.sid)).toMatchObject({
      status: 'pending',
      client_id: downApp.id,
      last_error: 'HTTP 503',
    });
    expect(bySession.get(pendingBrowser.sid)?.['next_attempt']).toMatch(/^\d{4}-\d\d-\d\dT/);

    const failedOnly = JSON.parse(await run(['--status', 'failed', '--json'])) as {
      deliveries: { session_id: string }[];
    };
    expect(failedOnly.deliveries.map((d) => d.session_id)).toEqual([failedBrowser.sid]);
    expect((await run([])).split('\n')[0]).toBe('pending 1, delivered 1, failed 1');
  });
});
