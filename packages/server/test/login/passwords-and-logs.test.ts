import { hash } from '@node-rs/argon2';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  Agent,
  type AuthorizeParams,
  exchangeCode,
  openHostedPage,
  redirectParams,
  submitSignIn,
  tokenRequest,
} from '../support/agent.ts';
import { startTestServer, type TestServer } from '../support/server.ts';

let server: TestServer;

beforeAll(async () => {
  server = await startTestServer();
});

afterAll(async () => {
  await server.close();
});

const webParams = (): AuthorizeParams => ({
  client_id: server.web.id,
  redirect_uri: server.web.redirectUri,
  state: 'st-pw',
  nonce: 'n-pw',
});

async function signInAs(credentials: { email: string; password: string }): Promise<Response> {
  const agent = new Agent();
  const { html } = await openHostedPage(agent, server, webParams());
  return submitSignIn(agent, server, html, credentials);
}

const owaspParams = /^\$argon2id\$v=19\$m=19456,t=2,p=1\$/;

describe('password hashing (spec: Hosted login pages — argon2id, OWASP parameters, rehash on login)', () => {
  it.each<[string, Parameters<typeof hash>[1]]>([
    ['argon2id with weaker parameters', { memoryCost: 4096, timeCost: 1, parallelism: 1, algorithm: 2 }],
    ['argon2i with the same cost', { memoryCost: 19456, timeCost: 2, parallelism: 1, algorithm: 1 }],
    ['argon2id with more parallelism', { memoryCost: 19456, timeCost: 2, parallelism: 2, algorithm: 2 }],
  ])('a stored hash made with %s is rehashed with OWASP parameters at sign-in', async (_name, options) => {
    const person = {
      email: `rehash-${options?.algorithm}-${options?.parallelism}-${options?.memoryCost}@example.com`,
      password: 'old hash password',
    };
    const { id } = await server.createUser(person);
    const old = await hash(person.password, options);
    await server.ctx.store.users.update(id, { passwordHash: old });

    // A failed attempt changes nothing.
    await signInAs({ email: person.email, password: 'wrong password' });
    expect((await server.ctx.store.users.get(id))?.passwordHash).toBe(old);

    const res = await signInAs(person);
    expect(redirectParams(res).get('code')).toBeTruthy();
    const stored = (await server.ctx.store.users.get(id))?.passwordHash;
    expect(stored).not.toBe(old);
    expect(stored).toMatch(owaspParams);
    // The new hash still holds the same password.
    expect(redirectParams(await signInAs(person)).get('code')).toBeTruthy();
  });

  it('a hash that already has the OWASP parameters is left alone', async () => {
    const before = (await server.ctx.store.users.get(server.user.id))?.passwordHash;
    expect(before).toMatch(owaspParams);
    expect(redirectParams(await signInAs(server.user)).get('code')).toBeTruthy();
    expect((await server.ctx.store.users.get(server.user.id))?.passwordHash).toBe(before);
  });

  it('a person without a password (e.g. created by an administrator) cannot sign in with any password', async () => {
    const person = { email: 'nopassword@example.com', password: 'anything at all' };
    const { id } = await server.createUser(person);
    await server.ctx.store.users.update(id, { passwordHash: null });
    const res = await signInAs(person);
    expect(res.status).toBe(401);
    const empty = await signInAs({ email: person.email, password: ' ' });
    expect(empty.status).toBe(401);
  });
});

describe('no secret in logs (spec: Errors — detail is for logs; style: pino with redaction)', () => {
  /** An Agent that remembers every X-Request-Id the server answered with. */
  class CountingAgent extends Agent {
    readonly requestIds: string[] = [];
    override async fetch(url: string, init: RequestInit = {}): Promise<Response> {
      const res = await super.fetch(url, init);
      this.requestIds.push(res.headers.get('x-request-id') ?? '(none)');
      return res;
    }
  }

  it('a full sign-in, code exchange and refresh log no password, code, secret or token; every request logs its requestId', async () => {
    server.logs.length = 0;
    const agent = new CountingAgent();
    const wrongPassword = 'Wrong-Password-Hunter2';
    const first = await openHostedPage(agent, server, { ...webParams(), scope: 'openid offline_access' });
    const failed = await submitSignIn(agent, server, first.html, {
      email: server.user.email,
      password: wrongPassword,
    });
    expect(failed.status).toBe(401);
    const res = await submitSignIn(agent, server, await failed.text(), server.user);
    const code = redirectParams(res).get('code') as string;
    expect(code).toBeTruthy();
    const tokens = await exchangeCode(server, server.web, code);
    expect(tokens.status).toBe(200);
    const refreshed = await tokenRequest(server, {
      grant_type: 'refresh_token',
      refresh_token: tokens.body['refresh_token'] as string,
      client_id: server.web.id,
      client_secret: server.web.secret as string,
    });
    expect(refreshed.status).toBe(200);
    // A replayed code is logged as an incident, still without the code itself.
    const replay = await exchangeCode(server, server.web, code);
    expect(replay.status).toBe(400);
    const requestIds = [
      ...agent.requestIds,
      tokens.headers.get('x-request-id'),
      refreshed.headers.get('x-request-id'),
      replay.headers.get('x-request-id'),
    ];

    const secrets: Record<string, string> = {
      password: server.user.password,
      'wrong password': wrongPassword,
      code,
      'client secret': server.web.secret as string,
      'access token': tokens.body['access_token'] as string,
      'id token': tokens.body['id_token'] as string,
      'refresh token': tokens.body['refresh_token'] as string,
      'rotated refresh token': refreshed.body['refresh_token'] as string,
      'rotated access token': refreshed.body['access_token'] as string,
      'session cookie': agent.cookies.get('sesame_session') as string,
    };
    expect(server.logs.length).toBeGreaterThan(0);
    for (const [what, value] of Object.entries(secrets)) {
      expect(value, what).toBeTruthy();
      const leaks = server.logs.filter((line) => line.includes(value));
      expect(leaks, `${what} leaked into the logs`).toEqual([]);
    }
    // Access tokens are JWTs: not even their signature part may appear.
    const signature = (tokens.body['access_token'] as string).split('.')[2] as string;
    expect(server.logs.some((line) => line.includes(signature))).toBe(false);

    const requestLines = server.logs
      .map((line) => JSON.parse(line) as Record<string, unknown>)
      .filter((entry) => entry['msg'] === 'request');
    expect(requestLines).toHaveLength(requestIds.length);
    for (const id of requestIds) {
      expect(id).toMatch(/^[A-Za-z0-9._-]{1,100}$/);
      const line = requestLines.find((entry) => entry['requestId'] === id);
      expect(line, `request ${id} was not logged`).toBeTruthy();
      expect(line?.['path']).toBeTypeOf('string');
      expect(String(line?.['path'])).not.toContain('?');
    }
    expect(new Set(requestIds).size).toBe(requestIds.length);
  });

  it('a sane X-Request-Id from the caller is kept and logged; an unsafe one is replaced', async () => {
    server.logs.length = 0;
    const kept = await fetch(`${server.url}/login?interaction=int_x`, {
      headers: { 'x-request-id': 'trace-abc.123' },
    });
    expect(kept.headers.get('x-request-id')).toBe('trace-abc.123');
    const replaced = await fetch(`${server.url}/login?interaction=int_x`, {
      headers: { 'x-request-id': 'bad id\twith spaces' },
    });
    const id = replaced.headers.get('x-request-id');
    expect(id).not.toContain(' ');
    expect(id).toMatch(/^[A-Za-z0-9._-]+$/);
    const logged = server.logs.map((l) => JSON.parse(l) as Record<string, unknown>);
    expect(logged.some((e) => e['requestId'] === 'trace-abc.123')).toBe(true);
    expect(logged.some((e) => e['requestId'] === id)).toBe(true);
    expect(server.logs.some((l) => l.includes('bad id'))).toBe(false);
  });
});
