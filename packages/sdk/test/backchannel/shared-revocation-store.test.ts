// Issue 4: "a revocation store shared by an app's instances". Two instances of one app, each with
// its own SqliteRevocationStore on one file (as two processes would open it): only instance A is
// the back-channel logout URI, yet instance B honours the logout A received.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { waitUntil } from '../../../server/test/backchannel/receiver.ts';
import { Agent } from '../../../server/test/support/agent.ts';
import { startTestServer, type TestServer } from '../../../server/test/support/server.ts';
import { SqliteRevocationStore } from '../../src/stores/sqlite-revocation-store.ts';
import {
  authenticate,
  cookieHeader,
  type ReceiverApp,
  signInThroughApp,
  singleSignOnTo,
  startReceiverApp,
} from './receiver-app.ts';

let dir: string;
let server: TestServer;
let storeA: SqliteRevocationStore;
let storeB: SqliteRevocationStore;
let instanceA: ReceiverApp;
let instanceB: ReceiverApp;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'sesame-sdk-revocations-'));
  const file = join(dir, 'revocations.db');
  server = await startTestServer();
  storeA = new SqliteRevocationStore(file, { now: server.clock.now });
  storeB = new SqliteRevocationStore(file, { now: server.clock.now });
  instanceA = await startReceiverApp(server, { revocationStore: storeA });
  // Same app, same cookie secret, its own connection to the shared file; not the back-channel URI.
  instanceB = await startReceiverApp(server, {
    client: instanceA.client,
    cookieSecret: instanceA.cookieSecret,
    revocationStore: storeB,
  });
});

afterAll(async () => {
  await instanceA?.close();
  await instanceB?.close();
  storeA?.close();
  storeB?.close();
  await server?.close();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

it('instance B signs out a browser whose logout only instance A received (SDK spec 7: "a revocation store shared by the app\'s instances")', async () => {
  const agent = new Agent();
  const sid = await signInThroughApp(server, instanceA, agent);
  const other = new Agent();
  const otherSid = await signInThroughApp(server, instanceA, other);
  // Either instance serves the browser: the cookies open in both.
  expect(await authenticate(instanceB, cookieHeader(agent))).toMatchObject({
    status: 'authenticated',
    user: { sid },
  });

  const idToken = await singleSignOnTo(server, agent, server.web);
  const res = await agent.fetch(
    `${server.url}/oidc/logout?${new URLSearchParams({ id_token_hint: idToken, post_logout_redirect_uri: server.web.postLogoutRedirectUri })}`,
  );
  expect(res.status).toBe(303);
  await waitUntil('instance A answers the notice', () => instanceA.backchannelAnswers.includes(200));
  expect(instanceB.backchannelAnswers).toEqual([]);

  expect(await authenticate(instanceB, cookieHeader(agent))).toEqual({ status: 'anonymous' });
  expect(await authenticate(instanceA, cookieHeader(agent))).toEqual({ status: 'anonymous' });
  expect(await authenticate(instanceB, cookieHeader(other))).toMatchObject({
    status: 'authenticated',
    user: { sid: otherSid },
  });
});

it('a logout token replayed to instance B after instance A accepted it is refused (Back-Channel Logout §2.6 step 6)', async () => {
  const token = await server.ctx.keys.sign(
    {
      iss: server.url,
      aud: [instanceA.client.id],
      iat: Math.floor(server.clock.now().getTime() / 1000),
      exp: Math.floor(server.clock.now().getTime() / 1000) + 120,
      jti: 'shared-jti-1',
      sid: 'ses_shared_replay',
      events: { 'http://schemas.openid.net/event/backchannel-logout': {} },
    },
    'logout+jwt',
  );
  const send = (app: ReceiverApp) =>
    fetch(`${app.url}/auth/backchannel-logout`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ logout_token: token }),
    });
  expect((await send(instanceA)).status).toBe(200);
  expect((await send(instanceB)).status).toBe(400);
});
