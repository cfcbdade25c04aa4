import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import {
  Agent,
  type AuthorizeParams,
  openHostedPage,
  redirectParams,
  submitSignIn,
} from '../support/agent.ts';
import { startTestServer, type TestServer } from '../support/server.ts';

const webParams = (server: TestServer): AuthorizeParams => ({
  client_id: server.web.id,
  redirect_uri: server.web.redirectUri,
  state: 'st-limit',
});

/** One sign-in attempt from a fresh page; returns the answer. */
async function attempt(server: TestServer, email: string, password: string): Promise<Response> {
  const agent = new Agent();
  const { html } = await openHostedPage(agent, server, webParams(server));
  return submitSignIn(agent, server, html, { email, password });
}

let people = 0;
/** A new account, so each test counts its own failures. */
async function newPerson(server: TestServer): Promise<{ email: string; password: string }> {
  people += 1;
  const person = { email: `limited-${people}@example.com`, password: `the right password ${people}` };
  await server.createUser(person);
  return person;
}

function expect429(res: Response): number {
  expect(res.status).toBe(429);
  expect(res.headers.get('location')).toBeNull();
  const retryAfter = Number(res.headers.get('retry-after'));
  expect(Number.isInteger(retryAfter)).toBe(true);
  expect(retryAfter).toBeGreaterThan(0);
  expect(res.headers.get('content-security-policy')).toContain("frame-ancestors 'none'");
  expect(res.headers.get('x-content-type-options')).toBe('nosniff');
  expect(res.headers.get('referrer-policy')).toBe('no-referrer');
  expect(res.headers.get('cache-control')).toBe('no-store');
  return retryAfter;
}

describe('failed sign-ins for one account are slowed, then refused (spec: Hosted login pages — rate limits)', () => {
  let server: TestServer;
  const sleeps: number[] = [];
  const window = 900;

  beforeAll(async () => {
    server = await startTestServer({
      env: { SESAME_SIGNIN_FAILURES_BEFORE_LOCKOUT: '5', SESAME_SIGNIN_FAILURES_BEFORE_DELAY: '2' },
      onSleep: (ms) => sleeps.push(ms),
    });
  });
  afterAll(async () => {
    await server.close();
  });
  beforeEach(() => {
    sleeps.length = 0;
  });

  it('after 5 wrong passwords even the right one gets a 429 page with Retry-After; two windows later it works', async () => {
    const person = await newPerson(server);
    for (let i = 0; i < 5; i++) {
      const res = await attempt(server, person.email, 'wrong password');
      expect(res.status).toBe(401);
    }
    const refused = await attempt(server, person.email, person.password);
    const retryAfter = expect429(refused);
    expect(retryAfter).toBeGreaterThan(window);
    expect(retryAfter).toBeLessThanOrEqual(2 * window);
    const page = await refused.text();
    expect(page).toContain('Too many attempts');
    expect(page).not.toContain(person.email);
    // A refused attempt issues no code and sets no session.
    expect(refused.headers.getSetCookie().some((c) => c.startsWith('sesame_session='))).toBe(false);

    server.clock.advance(2 * window + 1);
    const ok = await attempt(server, person.email, person.password);
    expect(ok.status).toBe(303);
    expect(redirectParams(ok).get('code')).toBeTruthy();
  });

  it('Retry-After is honest: one second early is still refused, on time is allowed', async () => {
    const person = await newPerson(server);
    for (let i = 0; i < 5; i++) await attempt(server, person.email, 'wrong password');
    const retryAfter = expect429(await attempt(server, person.email, person.password));
    server.clock.advance(retryAfter - 1);
    expect429(await attempt(server, person.email, person.password));
    server.clock.advance(1);
    expect(redirectParams(await attempt(server, person.email, person.password)).get('code')).toBeTruthy();
  });

  it('a burst at a window’s edge is not forgiven by the next window', async () => {
    const person = await newPerson(server);
    for (let i = 0; i < 5; i++) await attempt(server, person.email, 'wrong password');
    server.clock.advance(window);
    expect429(await attempt(server, person.email, person.password));
  });

  it('answers slow down after SESAME_SIGNIN_FAILURES_BEFORE_DELAY failures, with growing delays', async () => {
    const person = await newPerson(server);
    const delaysPerAttempt: number[][] = [];
    for (let i = 0; i < 5; i++) {
      sleeps.length = 0;
      await attempt(server, person.email, 'wrong password');
      delaysPerAttempt.push([...sleeps]);
    }
    // Attempts 1 and 2 are answered at once; from the 3rd on each is held back longer.
    expect(delaysPerAttempt[0]).toEqual([]);
    expect(delaysPerAttempt[1]).toEqual([]);
    const delays = delaysPerAttempt.slice(2).map((d) => {
      expect(d).toHaveLength(1);
      return d[0] as number;
    });
    expect(delays[0]).toBeGreaterThan(0);
    expect(delays[1]).toBeGreaterThan(delays[0] as number);
    expect(delays[2]).toBeGreaterThan(delays[1] as number);
  });

  it('the right password during the slow phase is also held back (no shortcut for guessers)', async () => {
    const person = await newPerson(server);
    for (let i = 0; i < 3; i++) await attempt(server, person.email, 'wrong password');
    sleeps.length = 0;
    const ok = await attempt(server, person.email, person.password);
    expect(redirectParams(ok).get('code')).toBeTruthy();
    expect(sleeps).toHaveLength(1);
    expect(sleeps[0]).toBeGreaterThan(0);
  });

  it('a successful sign-in forgives the account’s earlier failures', async () => {
    const person = await newPerson(server);
    for (let i = 0; i < 4; i++) await attempt(server, person.email, 'wrong password');
    expect(redirectParams(await attempt(server, person.email, person.password)).get('code')).toBeTruthy();
    for (let i = 0; i < 4; i++) await attempt(server, person.email, 'wrong password');
    expect(redirectParams(await attempt(server, person.email, person.password)).get('code')).toBeTruthy();
  });

  it('the lockout is per account: another account signs in normally', async () => {
    const locked = await newPerson(server);
    const other = await newPerson(server);
    for (let i = 0; i < 5; i++) await attempt(server, locked.email, 'wrong password');
    expect429(await attempt(server, locked.email, locked.password));
    expect(redirectParams(await attempt(server, other.email, other.password)).get('code')).toBeTruthy();
  });

  it('the account is counted regardless of how the email is typed', async () => {
    const person = await newPerson(server);
    for (let i = 0; i < 5; i++) {
      const typed = i % 2 === 0 ? person.email.toUpperCase() : ` ${person.email} `;
      await attempt(server, typed, 'wrong password');
    }
    expect429(await attempt(server, person.email, person.password));
  });

  it('an unknown email is limited like a real one (no account enumeration through the limiter)', async () => {
    for (let i = 0; i < 5; i++) {
      expect((await attempt(server, 'ghost@example.com', 'guess')).status).toBe(401);
    }
    expect429(await attempt(server, 'ghost@example.com', 'guess'));
  });
});

describe('failed sign-ins from one client address are refused (spec: Hosted login pages — rate limits)', () => {
  let server: TestServer;
  beforeAll(async () => {
    server = await startTestServer({ env: { SESAME_SIGNIN_FAILURES_PER_ADDRESS: '3' } });
  });
  afterAll(async () => {
    await server.close();
  });

  it('after failures on three accounts from 127.0.0.1, a fourth account gets 429 even with its password', async () => {
    for (const email of ['one@example.com', 'two@example.com', 'three@example.com']) {
      expect((await attempt(server, email, 'spray password')).status).toBe(401);
    }
    expect429(await attempt(server, server.user.email, server.user.password));
    // X-Forwarded-For is not trusted by default: it cannot be used to dodge the limit.
    const agent = new Agent();
    const { html } = await openHostedPage(agent, server, webParams(server));
    const spoofed = await agent.fetch(`${server.url}/login?client_id=${server.web.id}`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded', 'x-forwarded-for': '203.0.113.9' },
      body: new URLSearchParams({
        interaction: /name="interaction" value="([^"]+)"/.exec(html)?.[1] ?? '',
        csrf_token: /name="csrf_token" value="([^"]+)"/.exec(html)?.[1] ?? '',
        email: server.user.email,
        password: server.user.password,
      }).toString(),
    });
    expect429(spoofed);
    server.clock.advance(2 * 900 + 1);
    expect(
      redirectParams(await attempt(server, server.user.email, server.user.password)).get('code'),
    ).toBeTruthy();
  });
});
