import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { unavailableMark } from '../../src/protocol/errors.ts';
import { Agent, authorizationCode, postForm, signInAndExchange, tokenRequest } from '../support/agent.ts';
import { startTestServer, type TestServer } from '../support/server.ts';

let server: TestServer;
let agent: Agent;
const restore: Array<() => void> = [];

beforeAll(async () => {
  server = await startTestServer();
  agent = new Agent();
});

afterEach(() => {
  for (const undo of restore.splice(0)) undo();
});

afterAll(async () => {
  await server.close();
});

const secretDetail = 'SQLITE_CORRUPT: database disk image is malformed (/var/lib/sesame/db.sqlite)';

/** Replaces one method of a store object for the current test. */
function breakMethod<T extends object, K extends keyof T>(target: T, name: K, error: () => unknown): void {
  const original = target[name];
  (target as Record<K, unknown>)[name] = async () => {
    throw error();
  };
  restore.push(() => {
    (target as Record<K, unknown>)[name] = original;
  });
}

function unavailable(): Error {
  return Object.assign(new Error('connect ECONNREFUSED 10.0.0.5:5432'), { [unavailableMark]: true });
}

/** A 5xx JSON error that says nothing about the cause. */
function expectOpaque(
  res: { status: number; text: string; headers: Headers },
  status: number,
  error: string,
): void {
  expect(res.status).toBe(status);
  expect(res.headers.get('content-type')).toMatch(/^application\/json/);
  const body = JSON.parse(res.text) as Record<string, unknown>;
  expect(Object.keys(body).sort()).toEqual(['error', 'error_description']);
  expect(body['error']).toBe(error);
  for (const leak of ['SQLITE', 'ECONNREFUSED', 'sqlite', '5432', 'stack', '.ts:', 'malformed']) {
    expect(res.text).not.toContain(leak);
  }
}

async function rawToken(fields: Record<string, string>) {
  const res = await postForm(server, '/oauth/token', fields);
  return { status: res.status, text: res.text, headers: res.headers };
}

describe('storage failures answer server_error / temporarily_unavailable without details (RFC 6749 §5.2, style: Errors)', () => {
  it('a database error while redeeming a code is 500 server_error, logged with its cause', async () => {
    const code = await authorizationCode(agent, server, {
      client_id: server.web.id,
      redirect_uri: server.web.redirectUri,
    });
    breakMethod(server.ctx.store.codes, 'consume', () => new Error(secretDetail));
    const res = await rawToken({
      grant_type: 'authorization_code',
      code,
      redirect_uri: server.web.redirectUri,
      client_id: server.web.id,
      client_secret: server.web.secret ?? '',
    });
    expectOpaque(res, 500, 'server_error');
    expect(res.headers.get('cache-control')).toBe('no-store');
    expect(server.logs.some((line) => line.includes('SQLITE_CORRUPT'))).toBe(true);
  });

  it('an unreachable database is 503 temporarily_unavailable with Retry-After', async () => {
    breakMethod(server.ctx.store.clients, 'getWithActiveSecrets', unavailable);
    const res = await rawToken({
      grant_type: 'client_credentials',
      client_id: server.m2m.id,
      client_secret: server.m2m.secret ?? '',
    });
    expectOpaque(res, 503, 'temporarily_unavailable');
    expect(res.headers.get('retry-after')).toEqual(expect.stringMatching(/^\d+$/));
  });

  it('a database error during refresh is 500 server_error', async () => {
    const tokens = await signInAndExchange(new Agent(), server);
    breakMethod(server.ctx.store.refreshTokens, 'rotate', () => new Error(secretDetail));
    const res = await rawToken({
      grant_type: 'refresh_token',
      refresh_token: tokens['refresh_token'] as string,
      client_id: server.web.id,
      client_secret: server.web.secret ?? '',
    });
    expectOpaque(res, 500, 'server_error');
  });

  it('a database error at revocation is 500 server_error', async () => {
    breakMethod(server.ctx.store.refreshTokens, 'getByHash', () => new Error(secretDetail));
    const res = await postForm(server, '/oauth/revoke', {
      token: 'whatever',
      client_id: server.web.id,
      client_secret: server.web.secret ?? '',
    });
    expectOpaque(res, 500, 'server_error');
  });

  it('a database error at introspection is 500 server_error', async () => {
    breakMethod(server.ctx.store.refreshTokens, 'getByHash', () => new Error(secretDetail));
    const res = await postForm(server, '/oauth/introspect', {
      token: 'whatever',
      client_id: server.web.id,
      client_secret: server.web.secret ?? '',
    });
    expectOpaque(res, 500, 'server_error');
  });

  it('a database error at /userinfo is 500 server_error', async () => {
    const tokens = await signInAndExchange(new Agent(), server);
    breakMethod(server.ctx.store.users, 'get', () => new Error(secretDetail));
    const res = await fetch(`${server.url}/userinfo`, {
      headers: { authorization: `Bearer ${tokens['access_token'] as string}` },
    });
    expectOpaque({ status: res.status, text: await res.text(), headers: res.headers }, 500, 'server_error');
  });

  it('once the database is back, the same request works (nothing was left half-done)', async () => {
    const code = await authorizationCode(agent, server, {
      client_id: server.web.id,
      redirect_uri: server.web.redirectUri,
    });
    const fields = {
      grant_type: 'authorization_code',
      code,
      redirect_uri: server.web.redirectUri,
      client_id: server.web.id,
      client_secret: server.web.secret ?? '',
    };
    breakMethod(server.ctx.store.codes, 'consume', unavailable);
    expectOpaque(await rawToken(fields), 503, 'temporarily_unavailable');
    for (const undo of restore.splice(0)) undo();
    expect((await tokenRequest(server, fields)).status).toBe(200);
  });
});
