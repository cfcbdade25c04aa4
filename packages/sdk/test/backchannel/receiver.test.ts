// The SDK's back-channel logout receiver, `POST /auth/backchannel-logout` (SDK spec item 7; OIDC
// Back-Channel Logout 1.0 §2.6), against a live Sesame: a real logout at the provider signs the
// browser out of the app on its next request and leaves other sessions alone; every malformed or
// forged logout token is refused with 400 and ends no session.
import { randomUUID } from 'node:crypto';
import { decodeProtectedHeader, generateKeyPair, SignJWT } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { waitUntil } from '../../../server/test/backchannel/receiver.ts';
import { Agent } from '../../../server/test/support/agent.ts';
import { startTestServer, type TestServer } from '../../../server/test/support/server.ts';
import {
  authenticate,
  cookieHeader,
  type ReceiverApp,
  signInThroughApp,
  singleSignOnTo,
  startReceiverApp,
} from './receiver-app.ts';

const backchannelEvent = 'http://schemas.openid.net/event/backchannel-logout';

let server: TestServer;
let app: ReceiverApp;

beforeAll(async () => {
  server = await startTestServer();
  app = await startReceiverApp(server);
});

afterAll(async () => {
  await app?.close();
  await server?.close();
});

/** Waits until Sesame has delivered the back-channel notices of a provider session. */
async function waitForNotice(sid: string): Promise<void> {
  await waitUntil(`the notice for ${sid} is delivered`, async () => {
    const { items } = await server.store.logoutDeliveries.list({ limit: 10 }, { sessionId: sid });
    return items.length > 0 && items.every((d) => d.status === 'delivered');
  });
}

describe('after a real logout at the provider', () => {
  it('a logout in another app of the session signs this browser out of the app on its next request (Back-Channel Logout §2.7)', async () => {
    const agent = new Agent();
    const sid = await signInThroughApp(server, app, agent);
    const idToken = await singleSignOnTo(server, agent, server.web);
    const other = new Agent();
    const otherSid = await signInThroughApp(server, app, other);
    expect(otherSid).not.toBe(sid);

    // The person signs out in the other app; this app hears of it only through the back channel.
    const res = await agent.fetch(
      `${server.url}/oidc/logout?${new URLSearchParams({ id_token_hint: idToken, post_logout_redirect_uri: server.web.postLogoutRedirectUri })}`,
    );
    expect(res.status).toBe(303);
    await waitForNotice(sid);
    expect(app.backchannelAnswers.at(-1)).toBe(200);

    // The browser still holds this app's cookies; they no longer sign anyone in.
    expect(agent.cookies.has(app.auth.cookieNames.session)).toBe(true);
    expect(await authenticate(app, cookieHeader(agent))).toEqual({ status: 'anonymous' });
    expect(await (await agent.fetch(`${app.url}/`)).json()).toEqual({ status: 'anonymous', sid: null });
    // Another browser of the same person keeps its own session.
    expect(await authenticate(app, cookieHeader(other))).toMatchObject({
      status: 'authenticated',
      user: { sid: otherSid },
    });
  });

  it("the app's own logout ends the provider session, and a copy of the old cookies is signed out too (SDK spec 6, 7)", async () => {
    const agent = new Agent();
    const sid = await signInThroughApp(server, app, agent);
    const before = cookieHeader(agent);
    const toProvider = await agent.fetch(`${app.url}/auth/logout`);
    expect(toProvider.status).toBe(302);
    const res = await agent.fetch(toProvider.headers.get('location') as string);
    expect(res.status).toBe(303);
    await waitForNotice(sid);
    expect(await app.auth.revocations.isRevoked({ sid, sub: server.user.id, authTime: null })).toBe(true);
    expect(await authenticate(app, before)).toEqual({ status: 'anonymous' });
  });
});

describe('bad input at the receiver', () => {
  /** A browser signed in to the app: a bad token names its session, which must survive. */
  let victim: { agent: Agent; sid: string };
  let kid: string;

  beforeAll(async () => {
    const agent = new Agent();
    victim = { agent, sid: await signInThroughApp(server, app, agent) };
    kid = decodeProtectedHeader(await server.ctx.keys.sign({}, 'logout+jwt')).kid as string;
  });

  /** Claims of a valid logout token for the victim's session; `undefined` removes a claim. */
  function claims(overrides: Record<string, unknown> = {}): Record<string, unknown> {
    const iat = Math.floor(server.clock.now().getTime() / 1000);
    const all: Record<string, unknown> = {
      iss: server.url,
      aud: [app.client.id],
      iat,
      exp: iat + 120,
      jti: randomUUID(),
      sub: server.user.id,
      sid: victim.sid,
      events: { [backchannelEvent]: {} },
      ...overrides,
    };
    for (const [k, v] of Object.entries(all)) if (v === undefined) delete all[k];
    return all;
  }

  /** A logout token signed with the server's own key ring: only what `overrides` says is wrong. */
  function token(overrides: Record<string, unknown> = {}): Promise<string> {
    return server.ctx.keys.sign(claims(overrides), 'logout+jwt');
  }

  const form = (logoutToken: string) => new URLSearchParams({ logout_token: logoutToken }).toString();

  async function post(body: string, contentType = 'application/x-www-form-urlencoded') {
    const res = await fetch(`${app.url}/auth/backchannel-logout`, {
      method: 'POST',
      headers: { 'content-type': contentType },
      body,
    });
    const text = await res.text();
    return {
      status: res.status,
      body: text ? (JSON.parse(text) as Record<string, unknown>) : {},
      headers: res.headers,
    };
  }

  /** Nothing was revoked: neither the victim's session nor (by `sub`) the person's sessions. */
  async function expectVictimUntouched(): Promise<void> {
    expect(
      await app.auth.revocations.isRevoked({ sid: victim.sid, sub: server.user.id, authTime: null }),
    ).toBe(false);
    expect(await authenticate(app, cookieHeader(victim.agent))).toMatchObject({ status: 'authenticated' });
  }

  const iatNow = () => Math.floor(server.clock.now().getTime() / 1000);

  it.each<[string, string, () => Promise<{ body: string; contentType?: string }>]>([
    [
      'wrong signature (a foreign key under the server’s kid)',
      'ERR_JWS_SIGNATURE_VERIFICATION_FAILED',
      async () => {
        const { privateKey } = await generateKeyPair('RS256');
        const jwt = await new SignJWT(claims())
          .setProtectedHeader({ alg: 'RS256', kid, typ: 'logout+jwt' })
          .sign(privateKey);
        return { body: form(jwt) };
      },
    ],
    [
      'a signature by a key the provider never published',
      'ERR_JWKS_NO_MATCHING_KEY',
      async () => {
        const { privateKey } = await generateKeyPair('RS256');
        const jwt = await new SignJWT(claims())
          .setProtectedHeader({ alg: 'RS256', kid: 'not-a-sesame-key', typ: 'logout+jwt' })
          .sign(privateKey);
        return { body: form(jwt) };
      },
    ],
    [
      'alg none (unsigned)',
      'ERR_JOSE_ALG_NOT_ALLOWED',
      async () => {
        const enc = (o: object) => Buffer.from(JSON.stringify(o)).toString('base64url');
        return { body: form(`${enc({ alg: 'none', typ: 'logout+jwt' })}.${enc(claims())}.`) };
      },
    ],
    [
      'wrong aud',
      'ERR_JWT_CLAIM_VALIDATION_FAILED',
      async () => ({ body: form(await token({ aud: ['webc_someone_else'] })) }),
    ],
    [
      'wrong iss',
      'ERR_JWT_CLAIM_VALIDATION_FAILED',
      async () => ({ body: form(await token({ iss: 'https://evil.example' })) }),
    ],
    [
      'missing events',
      'no back-channel logout event',
      async () => ({ body: form(await token({ events: undefined })) }),
    ],
    [
      'events without the back-channel logout event',
      'no back-channel logout event',
      async () => ({ body: form(await token({ events: { 'http://schemas.openid.net/event/other': {} } })) }),
    ],
    [
      'events as a string',
      'no back-channel logout event',
      async () => ({ body: form(await token({ events: backchannelEvent })) }),
    ],
    [
      'a nonce present',
      'must not contain a nonce',
      async () => ({ body: form(await token({ nonce: 'n-0S6_WzA2Mj' })) }),
    ],
    [
      'neither sid nor sub',
      'neither sid nor sub',
      async () => ({ body: form(await token({ sid: undefined, sub: undefined })) }),
    ],
    [
      'empty sid and sub',
      'neither sid nor sub',
      async () => ({ body: form(await token({ sid: '', sub: '' })) }),
    ],
    [
      'expired',
      'ERR_JWT_EXPIRED',
      async () => ({ body: form(await token({ iat: iatNow() - 600, exp: iatNow() - 480 })) }),
    ],
    [
      'issued in the future',
      'issued in the future',
      async () => ({ body: form(await token({ iat: iatNow() + 3600, exp: iatNow() + 3720 })) }),
    ],
    [
      'missing iat',
      'ERR_JWT_CLAIM_VALIDATION_FAILED',
      async () => ({ body: form(await token({ iat: undefined })) }),
    ],
    [
      'missing jti',
      'ERR_JWT_CLAIM_VALIDATION_FAILED',
      async () => ({ body: form(await token({ jti: undefined })) }),
    ],
    ['not a JWT', 'ERR_JWS_INVALID', async () => ({ body: form('not-a-jwt') })],
    [
      'a JWT with a garbage payload',
      'ERR_JWS_SIGNATURE_VERIFICATION_FAILED',
      async () => ({ body: form('eyJhbGciOiJSUzI1NiJ9.bm90IGpzb24.c2ln') }),
    ],
    ['no logout_token', 'Exactly one logout_token', async () => ({ body: 'token=x' })],
    ['an empty body', 'Exactly one logout_token', async () => ({ body: '' })],
    [
      'two logout_token parameters',
      'Exactly one logout_token',
      async () => {
        const jwt = await token();
        return { body: `${form(jwt)}&${form(jwt)}` };
      },
    ],
    [
      'wrong content type (JSON)',
      'must be application/x-www-form-urlencoded',
      async () => ({
        body: JSON.stringify({ logout_token: await token() }),
        contentType: 'application/json',
      }),
    ],
    [
      'wrong content type (text/plain with a form body)',
      'must be application/x-www-form-urlencoded',
      async () => ({ body: form(await token()), contentType: 'text/plain' }),
    ],
    [
      'wrong content type (multipart)',
      'must be application/x-www-form-urlencoded',
      async () => ({ body: form(await token()), contentType: 'multipart/form-data; boundary=x' }),
    ],
    [
      'an oversized body',
      'too large',
      async () => ({ body: `${form(await token())}&pad=${'x'.repeat(20_000)}` }),
    ],
  ])('refuses %s with 400 and touches no session (Back-Channel Logout §2.6)', async (_name, why, build) => {
    const { body, contentType } = await build();
    const before = app.logs.length;
    const res = await post(body, contentType);
    expect(res.status).toBe(400);
    expect(res.body['error']).toBe('invalid_request');
    // Refused for the reason under test: the answer says why, or (for what jose rejects) the log does.
    const reasons = app.logs.slice(before).map((l) => String(l.obj['reason']));
    expect([String(res.body['error_description']), ...reasons].join(' ')).toContain(why);
    expect(res.headers.get('cache-control')).toBe('no-store');
    await expectVictimUntouched();
  });

  it('a replayed jti is refused with 400 and touches no session (Back-Channel Logout §2.6 step 6)', async () => {
    const jti = randomUUID();
    // First use, for another session: accepted.
    const first = await post(form(await token({ jti, sid: 'ses_someone_else' })));
    expect(first.status).toBe(200);
    expect(
      await app.auth.revocations.isRevoked({ sid: 'ses_someone_else', sub: server.user.id, authTime: null }),
    ).toBe(true);
    // The same jti again, now naming the victim's session: a replay.
    const replay = await post(form(await token({ jti })));
    expect(replay.status).toBe(400);
    expect(replay.body['error']).toBe('invalid_request');
    await expectVictimUntouched();
  });

  it('GET is not allowed at the receiver (405, Allow: POST)', async () => {
    const res = await fetch(`${app.url}/auth/backchannel-logout`);
    expect(res.status).toBe(405);
    expect(res.headers.get('allow')).toBe('POST');
    await expectVictimUntouched();
  });

  it('a well-formed token signed by the provider is accepted: the control for the table above (Back-Channel Logout §2.8)', async () => {
    // A fresh browser, so the victim stays signed in for the other tests.
    const agent = new Agent();
    const sid = await signInThroughApp(server, app, agent);
    const res = await post(form(await token({ sid })));
    expect(res.status).toBe(200);
    expect(await authenticate(app, cookieHeader(agent))).toEqual({ status: 'anonymous' });
    await expectVictimUntouched();
  });
});
