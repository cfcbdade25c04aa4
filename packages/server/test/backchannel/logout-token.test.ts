// OIDC Back-Channel Logout 1.0 from the server's side (spec: "Back-channel logout", "Sessions"):
// when a session ends through RP-initiated logout, every app that received tokens in it and
// registered a back-channel logout URI gets exactly one POST of a form holding a `logout_token`,
// a JWT with `typ: logout+jwt` verifiable against `/keys`, carrying iss, aud, iat, exp (+2 min),
// jti, sub, sid and the back-channel logout event, and never a nonce.
import { decodeProtectedHeader } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RegisteredClient, TestServer } from '../support/server.ts';
import { startTestServer } from '../support/server.ts';
import {
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

const backchannelEvent = 'http://schemas.openid.net/event/backchannel-logout';

let server: TestServer;
let receiver: Receiver;
/** Received tokens in the session and has a back-channel logout URI. */
let withUri: RegisteredClient;
/** Received tokens in the session, no back-channel logout URI. */
let withoutUri: RegisteredClient;
/** Has a back-channel logout URI but never received tokens in the session. */
let bystander: RegisteredClient;

beforeAll(async () => {
  [server, receiver] = await Promise.all([startTestServer(), startReceiver()]);
  receiver.mode = 'ok';
  withUri = await registerApp(server, 'With URI', receiver.uri('with-uri'));
  withoutUri = await registerApp(server, 'Without URI', null);
  bystander = await registerApp(server, 'Bystander', receiver.uri('bystander'));
});

afterAll(async () => {
  await server?.close();
  await receiver?.close();
});

describe('RP-initiated logout of a session shared by two apps', () => {
  let browser: SignedInBrowser;
  let logoutStatus: number;
  let logoutLocation: string | null;

  beforeAll(async () => {
    browser = await signInToApps(server, [withUri, withoutUri]);
    const res = await logout(server, browser, withUri);
    logoutStatus = res.status;
    logoutLocation = res.headers.get('location');
    await waitForDeliveries(
      server,
      browser.sid,
      (ds) => ds.length > 0 && ds.every((d) => d.status === 'delivered'),
    );
  });

  it('the session records every app that received tokens in it (spec: Sessions)', async () => {
    const session = await server.store.sessions.get(browser.sid);
    expect(session?.clientIds.slice().sort()).toEqual([withUri.id, withoutUri.id].sort());
    expect(session?.endReason).toBe('logout');
    expect(logoutStatus).toBe(303);
    expect(logoutLocation).toBe(withUri.postLogoutRedirectUri);
  });

  it('exactly one POST reaches each app of the session that has a back-channel URI (Back-Channel Logout §2.5)', async () => {
    expect(receiver.to('with-uri')).toHaveLength(1);
    expect(receiver.to('with-uri')[0]?.method).toBe('POST');
    // One outbox row: the app without a URI has nothing to receive.
    const deliveries = (await server.store.logoutDeliveries.list({ limit: 10 }, { sessionId: browser.sid }))
      .items;
    expect(deliveries.map((d) => d.clientId)).toEqual([withUri.id]);
    expect(deliveries[0]).toMatchObject({ status: 'delivered', attempts: 1, lastStatusCode: 200 });
    // A later round sends nothing again.
    expect(await deliverNow(server)).toEqual({ delivered: 0, retrying: 0, failed: 0 });
    expect(receiver.to('with-uri')).toHaveLength(1);
  });

  it('an app that never received tokens in the session is not told (Back-Channel Logout §2.1: RPs "in the session")', async () => {
    expect((await server.store.sessions.get(browser.sid))?.clientIds).not.toContain(bystander.id);
    const deliveries = await server.store.logoutDeliveries.list({ limit: 10 }, { sessionId: browser.sid });
    expect(deliveries.items.map((d) => d.clientId)).not.toContain(bystander.id);
    expect(receiver.to('bystander')).toEqual([]);
    expect(receiver.requests.map((r) => r.path)).toEqual(['/with-uri/backchannel-logout']);
  });

  it('the POST is an application/x-www-form-urlencoded form holding only logout_token (Back-Channel Logout §2.5)', () => {
    const [post] = receiver.to('with-uri');
    expect(post?.contentType).toMatch(/^application\/x-www-form-urlencoded\b/);
    const form = new URLSearchParams(post?.body);
    expect([...form.keys()]).toEqual(['logout_token']);
    expect(form.get('logout_token')).toMatch(/^[\w-]+\.[\w-]+\.[\w-]+$/);
  });

  it('the logout_token verifies against /keys and is typed logout+jwt (Back-Channel Logout §2.4, RFC 8725 §3.11)', async () => {
    const token = receiver.to('with-uri')[0]?.logoutToken as string;
    expect(decodeProtectedHeader(token)).toMatchObject({ typ: 'logout+jwt', alg: 'RS256' });
    const { typ } = await verifyLogoutToken(server, token, withUri.id);
    expect(typ).toBe('logout+jwt');
    // Not valid for another app.
    await expect(verifyLogoutToken(server, token, withoutUri.id)).rejects.toThrow(/aud/);
  });

  it('the claims are iss, aud = [client_id], iat, exp = iat + 120, jti, sub, sid and the event, without a nonce (Back-Channel Logout §2.4)', async () => {
    const token = receiver.to('with-uri')[0]?.logoutToken as string;
    const { payload } = await verifyLogoutToken(server, token, withUri.id);
    const now = Math.floor(server.clock.now().getTime() / 1000);
    expect(payload.iss).toBe(server.url);
    expect(payload.aud).toEqual([withUri.id]);
    expect(payload.iat).toBe(now);
    expect(payload.exp).toBe((payload.iat as number) + 120);
    expect(payload.jti).toEqual(expect.any(String));
    expect((payload.jti as string).length).toBeGreaterThanOrEqual(16);
    expect(payload.sub).toBe(server.user.id);
    expect(payload.sid).toBe(browser.sid);
    expect(payload['events']).toEqual({ [backchannelEvent]: {} });
    expect(payload).not.toHaveProperty('nonce');
    expect(Object.keys(payload).sort()).toEqual(['aud', 'events', 'exp', 'iat', 'iss', 'jti', 'sid', 'sub']);
  });

  it('the sid is the one the ID tokens of the session carried (Back-Channel Logout §2.4, OIDC Front-Channel Logout §3)', () => {
    const token = receiver.to('with-uri')[0]?.logoutToken as string;
    for (const idToken of browser.idTokens.values()) {
      const idClaims = JSON.parse(Buffer.from(idToken.split('.')[1] ?? '', 'base64url').toString()) as {
        sid: string;
      };
      expect(idClaims.sid).toBe(browser.sid);
    }
    const logoutClaims = JSON.parse(Buffer.from(token.split('.')[1] ?? '', 'base64url').toString()) as {
      sid: string;
    };
    expect(logoutClaims.sid).toMatch(/^ses_/);
    expect(logoutClaims.sid).toBe(browser.sid);
  });
});

describe('each logout token is its own', () => {
  it('two sessions ending give two tokens with distinct jti and sid (Back-Channel Logout §2.4: jti unique)', async () => {
    const before = receiver.deliveredTo('with-uri').length;
    const one = await signInToApps(server, [withUri]);
    const two = await signInToApps(server, [withUri]);
    expect(one.sid).not.toBe(two.sid);
    expect((await logout(server, one, withUri)).status).toBe(303);
    expect((await logout(server, two, withUri)).status).toBe(303);
    for (const b of [one, two]) await waitForDeliveries(server, b.sid, (ds) => ds[0]?.status === 'delivered');
    const tokens = receiver.deliveredTo('with-uri').slice(before);
    expect(tokens).toHaveLength(2);
    const claims = await Promise.all(
      tokens.map(async (t) => (await verifyLogoutToken(server, t.logoutToken as string, withUri.id)).payload),
    );
    expect(new Set(claims.map((c) => c.jti)).size).toBe(2);
    expect(claims.map((c) => c['sid']).sort()).toEqual([one.sid, two.sid].sort());
  });

  it('a browser whose session ended by logout gets no second notice when it logs out again (Back-Channel Logout §2.5)', async () => {
    const b = await signInToApps(server, [withUri]);
    await logout(server, b, withUri);
    await waitForDeliveries(server, b.sid, (ds) => ds[0]?.status === 'delivered');
    const count = receiver.requests.length;
    // The session is over: a second logout ends nothing and queues nothing.
    await logout(server, b, withUri);
    expect(await deliverNow(server)).toEqual({ delivered: 0, retrying: 0, failed: 0 });
    expect(receiver.requests.length).toBe(count);
    expect(await server.store.logoutDeliveries.list({ limit: 10 }, { sessionId: b.sid })).toMatchObject({
      totalSize: 1,
    });
  });
});
