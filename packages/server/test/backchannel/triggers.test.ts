// What ends a session and so sends back-channel logout notices (spec: "Sessions": "Ending a session
// — logout, revocation, idle or absolute expiry, user deleted or disabled — revokes every refresh
// token bound to it and triggers back-channel logout"). Each trigger is driven the way an operator
// or the clock drives it, and each must produce one verified notice naming the ended session.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { deleteUser, disableUser } from '../../src/accounts/user-lifecycle.ts';
import { runCli } from '../../src/cli/main.ts';
import { runUpkeep } from '../../src/jobs.ts';
import type { SessionEndReason } from '../../src/storage/types.ts';
import { Agent, authorizationCode, tokenRequest } from '../support/agent.ts';
import type { RegisteredClient, TestServer } from '../support/server.ts';
import { startTestServer } from '../support/server.ts';
import {
  decodeClaims,
  type Receiver,
  registerApp,
  type SignedInBrowser,
  startReceiver,
  verifyLogoutToken,
  waitForDeliveries,
} from './receiver.ts';

const idleTimeout = 600;
const absoluteTimeout = 900;

let dir: string;
let databaseUrl: string;
let server: TestServer;
let receiver: Receiver;
let app: RegisteredClient;
let people = 0;

beforeAll(async () => {
  // A file, so the `sesame` command (another process in production) shares the server's database.
  dir = mkdtempSync(join(tmpdir(), 'sesame-bcl-triggers-'));
  databaseUrl = join(dir, 'sesame.db');
  [server, receiver] = await Promise.all([
    startTestServer({
      databaseUrl,
      env: {
        SESAME_SESSION_IDLE_TIMEOUT: String(idleTimeout),
        SESAME_SESSION_ABSOLUTE_TIMEOUT: String(absoluteTimeout),
      },
    }),
    startReceiver(),
  ]);
  app = await registerApp(server, 'Notified App', receiver.uri('app'));
});

afterAll(async () => {
  await server?.close();
  await receiver?.close();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

/** A person of their own (disabling or deleting one must not spoil the others), signed in to the app. */
async function signedInPerson(): Promise<{ browser: SignedInBrowser; userId: string; refreshToken: string }> {
  const credentials = { email: `person${++people}@example.com`, password: 'a long enough password 42' };
  const { id } = await server.createUser(credentials);
  const agent = new Agent();
  const code = await authorizationCode(
    agent,
    server,
    { client_id: app.id, redirect_uri: app.redirectUri, state: 'st', nonce: 'n' },
    credentials,
  );
  const { body } = await tokenRequest(server, {
    grant_type: 'authorization_code',
    code,
    redirect_uri: app.redirectUri,
    client_id: app.id,
    client_secret: app.secret ?? '',
  });
  const idToken = body['id_token'] as string;
  const sid = JSON.parse(Buffer.from(idToken.split('.')[1] ?? '', 'base64url').toString())['sid'] as string;
  return {
    browser: { agent, sid, idTokens: new Map([[app.id, idToken]]) },
    userId: id,
    refreshToken: body['refresh_token'] as string,
  };
}

/**
 * Waits for the session's notice, then checks: the session ended for `reason`, its refresh token
 * is dead, and the app got exactly one verified logout token naming the session and the person.
 */
async function expectNotified(
  person: { browser: SignedInBrowser; userId: string; refreshToken: string },
  reason: SessionEndReason,
): Promise<void> {
  const { sid } = person.browser;
  const [delivery] = await waitForDeliveries(server, sid, (ds) => ds[0]?.status === 'delivered');
  expect(delivery?.clientId).toBe(app.id);
  const session = await server.store.sessions.get(sid);
  // A deleted user's sessions may go with them; any that remains says why it ended.
  if (session || reason !== 'user_deleted') expect(session?.endReason).toBe(reason);
  const posts = receiver
    .deliveredTo('app')
    .filter((p) => decodeClaims(p.logoutToken as string)['sid'] === sid);
  expect(posts).toHaveLength(1);
  const token = posts[0]?.logoutToken as string;
  const { payload } = await verifyLogoutToken(server, token, app.id, delivery?.deliveredAt ?? undefined);
  expect(payload['sid']).toBe(sid);
  expect(payload.sub).toBe(person.userId);
  const refreshed = await tokenRequest(server, {
    grant_type: 'refresh_token',
    refresh_token: person.refreshToken,
    client_id: app.id,
    client_secret: app.secret ?? '',
  });
  expect(refreshed.status).toBe(400);
  expect(refreshed.body['error']).toBe('invalid_grant');
}

it('RP-initiated logout sends the notice (OIDC RP-Initiated Logout §2; Back-Channel Logout §2.5)', async () => {
  const person = await signedInPerson();
  const res = await person.browser.agent.fetch(
    `${server.url}/oidc/logout?${new URLSearchParams({ id_token_hint: person.browser.idTokens.get(app.id) as string })}`,
  );
  expect(res.status).toBeLessThan(500);
  await expectNotified(person, 'logout');
});

it('`sesame sessions revoke` in another process sends the notice through the server’s worker (spec: Sessions, revocation)', async () => {
  const person = await signedInPerson();
  const out: string[] = [];
  const err: string[] = [];
  const code = await runCli(
    ['sessions', 'revoke', person.browser.sid],
    {
      DATABASE_URL: databaseUrl,
      SESAME_SECRET: server.config.secret,
      ENV_URL: server.url,
      LOG_LEVEL: 'warn',
    },
    { out: (line) => out.push(line), err: (line) => err.push(line) },
  );
  expect(err).toEqual([]);
  expect(code).toBe(0);
  expect(out.join('\n')).toContain(person.browser.sid);
  // The command runs on the wall clock and queued the notice "now"; the server's test clock
  // catches up, then its worker (which no one in this process kicked) picks it up on its scan.
  server.clock.advance(5);
  await waitForDeliveries(
    server,
    person.browser.sid,
    (ds) => ds[0]?.status === 'delivered',
    'the server worker delivers the notice queued by the CLI',
    server.config.logoutDeliveryInterval * 1000 + 5_000,
  );
  await expectNotified(person, 'revoked');
});

it('the idle timeout ending a session sends the notice (spec: Sessions, idle timeout; a sweeper)', async () => {
  const person = await signedInPerson();
  server.clock.advance(idleTimeout + 1);
  await runUpkeep(server.ctx);
  await expectNotified(person, 'idle_timeout');
});

it('the absolute timeout ending an active session sends the notice (spec: Sessions, absolute timeout)', async () => {
  const person = await signedInPerson();
  // Kept active: single sign-on halfway through slides the idle timeout, not the absolute one.
  server.clock.advance(absoluteTimeout - 400);
  await authorizationCode(person.browser.agent, server, {
    client_id: app.id,
    redirect_uri: app.redirectUri,
    state: 'st',
    nonce: 'n',
  });
  expect((await server.store.sessions.get(person.browser.sid))?.endedAt).toBeNull();
  server.clock.advance(401);
  await runUpkeep(server.ctx);
  await expectNotified(person, 'absolute_timeout');
});

it('disabling the user sends the notice for each of their sessions (spec: Sessions, user disabled)', async () => {
  const person = await signedInPerson();
  expect(await disableUser(server.ctx, person.userId)).toBe(true);
  await expectNotified(person, 'user_disabled');
});

it('deleting the user sends the notice, even though the user is gone when it is delivered (spec: Sessions, user deleted)', async () => {
  const person = await signedInPerson();
  expect(await deleteUser(server.ctx, person.userId)).toBe(true);
  expect(await server.store.users.get(person.userId)).toBeNull();
  await expectNotified(person, 'user_deleted');
});
