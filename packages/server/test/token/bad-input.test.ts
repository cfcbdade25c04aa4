import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Agent, authorizationCode, basicAuth, tokenRequest } from '../support/agent.ts';
import { startTestServer, type TestServer } from '../support/server.ts';

let server: TestServer;
let agent: Agent;

beforeAll(async () => {
  server = await startTestServer();
  agent = new Agent();
});

afterAll(async () => {
  await server.close();
});

const form = 'application/x-www-form-urlencoded';

function freshCode(): Promise<string> {
  return authorizationCode(agent, server, { client_id: server.web.id, redirect_uri: server.web.redirectUri });
}

/** A complete, valid authorization_code request for `code`. */
function valid(code: string): Record<string, string> {
  return {
    grant_type: 'authorization_code',
    code,
    redirect_uri: server.web.redirectUri,
    client_id: server.web.id,
    client_secret: server.web.secret ?? '',
  };
}

function without(fields: Record<string, string>, ...names: string[]): Record<string, string> {
  return Object.fromEntries(Object.entries(fields).filter(([k]) => !names.includes(k)));
}

/** A form body where `name` appears a second time. */
function twice(fields: Record<string, string>, name: string, second?: string): string {
  const params = new URLSearchParams(fields);
  params.append(name, second ?? fields[name] ?? 'x');
  return params.toString();
}

interface BadRequest {
  query?: string;
  headers?: Record<string, string>;
  body?: BodyInit;
}

/** Expects an RFC 6749 §5.2 error: exact status and code, JSON, no-store, nothing else leaked. */
async function expectOAuthError(res: Response, status: number, error: string): Promise<void> {
  const text = await res.text();
  expect({ status: res.status, text }).toMatchObject({ status });
  expect(res.headers.get('content-type')).toMatch(/^application\/json/);
  expect(res.headers.get('cache-control')).toBe('no-store');
  const body = JSON.parse(text) as Record<string, unknown>;
  expect(Object.keys(body).sort()).toEqual(['error', 'error_description']);
  expect(body['error']).toBe(error);
  expect(body['error_description']).toEqual(expect.any(String));
  expect(text).not.toMatch(/\bat .+\.ts:\d+|stack|Error:/);
}

const rows: Array<[string, (code: string) => BadRequest, number, string]> = [
  // Wrong content types (RFC 6749 §3.2: application/x-www-form-urlencoded).
  [
    'a JSON body',
    (code) => ({ headers: { 'content-type': 'application/json' }, body: JSON.stringify(valid(code)) }),
    400,
    'invalid_request',
  ],
  [
    'a form body labelled text/plain',
    (code) => ({
      headers: { 'content-type': 'text/plain' },
      body: new URLSearchParams(valid(code)).toString(),
    }),
    400,
    'invalid_request',
  ],
  [
    'a multipart body',
    (code) => {
      const data = new FormData();
      for (const [k, v] of Object.entries(valid(code))) data.append(k, v);
      return { body: data };
    },
    400,
    'invalid_request',
  ],
  [
    'a body with no content type',
    (code) => ({ body: new Blob([new URLSearchParams(valid(code)).toString()]) }),
    400,
    'invalid_request',
  ],
  // Parameters in the URL (credentials must not travel in URLs).
  [
    'every parameter in the query string',
    (code) => ({ query: new URLSearchParams(valid(code)).toString(), body: '' }),
    400,
    'invalid_request',
  ],
  [
    'one parameter in the query string, the rest in the body',
    (code) => ({
      query: new URLSearchParams({ code }).toString(),
      body: new URLSearchParams(without(valid(code), 'code')).toString(),
    }),
    400,
    'invalid_request',
  ],
  // grant_type.
  ['an empty body', () => ({ body: '' }), 400, 'invalid_request'],
  [
    'a missing grant_type',
    (code) => ({ body: new URLSearchParams(without(valid(code), 'grant_type')).toString() }),
    400,
    'invalid_request',
  ],
  [
    'an empty grant_type',
    (code) => ({ body: new URLSearchParams({ ...valid(code), grant_type: '' }).toString() }),
    400,
    'invalid_request',
  ],
  [
    'grant_type=password',
    (code) => ({ body: new URLSearchParams({ ...valid(code), grant_type: 'password' }).toString() }),
    400,
    'unsupported_grant_type',
  ],
  [
    'grant_type=implicit',
    (code) => ({ body: new URLSearchParams({ ...valid(code), grant_type: 'implicit' }).toString() }),
    400,
    'unsupported_grant_type',
  ],
  [
    'the device_code grant',
    (code) => ({
      body: new URLSearchParams({
        ...valid(code),
        grant_type: 'urn:ietf:params:oauth:grant-type:device_code',
      }).toString(),
    }),
    400,
    'unsupported_grant_type',
  ],
  [
    'grant_type in another case',
    (code) => ({
      body: new URLSearchParams({ ...valid(code), grant_type: 'Authorization_Code' }).toString(),
    }),
    400,
    'unsupported_grant_type',
  ],
  [
    'grant_type named after an Object property',
    (code) => ({ body: new URLSearchParams({ ...valid(code), grant_type: 'constructor' }).toString() }),
    400,
    'unsupported_grant_type',
  ],
  [
    'an oversized grant_type',
    (code) => ({ body: new URLSearchParams({ ...valid(code), grant_type: 'g'.repeat(5000) }).toString() }),
    400,
    'invalid_request',
  ],
  // Repeated parameters (RFC 6749 §3.2: parameters MUST NOT be included more than once).
  ['two grant_type', (code) => ({ body: twice(valid(code), 'grant_type') }), 400, 'invalid_request'],
  ['two code', (code) => ({ body: twice(valid(code), 'code') }), 400, 'invalid_request'],
  ['two different code', (code) => ({ body: twice(valid(code), 'code', 'other') }), 400, 'invalid_request'],
  ['two redirect_uri', (code) => ({ body: twice(valid(code), 'redirect_uri') }), 400, 'invalid_request'],
  ['two client_id', (code) => ({ body: twice(valid(code), 'client_id') }), 400, 'invalid_request'],
  ['two client_secret', (code) => ({ body: twice(valid(code), 'client_secret') }), 400, 'invalid_request'],
  // Missing and oversized parameters.
  [
    'a missing code',
    (code) => ({ body: new URLSearchParams(without(valid(code), 'code')).toString() }),
    400,
    'invalid_request',
  ],
  [
    'an empty code',
    (code) => ({ body: new URLSearchParams({ ...valid(code), code: '' }).toString() }),
    400,
    'invalid_request',
  ],
  [
    'a 10 KB code',
    (code) => ({ body: new URLSearchParams({ ...valid(code), code: 'c'.repeat(10 * 1024) }).toString() }),
    400,
    'invalid_request',
  ],
  [
    'a missing redirect_uri',
    (code) => ({ body: new URLSearchParams(without(valid(code), 'redirect_uri')).toString() }),
    400,
    'invalid_request',
  ],
  [
    'an oversized redirect_uri',
    (code) => ({
      body: new URLSearchParams({
        ...valid(code),
        redirect_uri: `https://a.example/${'p'.repeat(3000)}`,
      }).toString(),
    }),
    400,
    'invalid_request',
  ],
  [
    'an oversized code_verifier',
    (code) => ({ body: new URLSearchParams({ ...valid(code), code_verifier: 'v'.repeat(1000) }).toString() }),
    400,
    'invalid_request',
  ],
  // Client authentication (RFC 6749 §2.3, §5.2).
  [
    'an unknown client_id',
    (code) => ({ body: new URLSearchParams({ ...valid(code), client_id: 'webc_unknown' }).toString() }),
    401,
    'invalid_client',
  ],
  [
    'no client_id and no Authorization header',
    (code) => ({ body: new URLSearchParams(without(valid(code), 'client_id', 'client_secret')).toString() }),
    401,
    'invalid_client',
  ],
  [
    'a missing client_secret',
    (code) => ({ body: new URLSearchParams(without(valid(code), 'client_secret')).toString() }),
    401,
    'invalid_client',
  ],
  [
    'an oversized client_secret',
    (code) => ({ body: new URLSearchParams({ ...valid(code), client_secret: 's'.repeat(5000) }).toString() }),
    400,
    'invalid_request',
  ],
  [
    'a Basic header that is not base64',
    (code) => ({
      headers: { authorization: 'Basic !!!not-base64!!!' },
      body: new URLSearchParams(without(valid(code), 'client_id', 'client_secret')).toString(),
    }),
    400,
    'invalid_request',
  ],
  [
    'an empty Basic header',
    (code) => ({
      headers: { authorization: 'Basic' },
      body: new URLSearchParams(without(valid(code), 'client_id', 'client_secret')).toString(),
    }),
    400,
    'invalid_request',
  ],
  [
    'a Basic header without a colon',
    (code) => ({
      headers: { authorization: `Basic ${Buffer.from(server.web.id).toString('base64')}` },
      body: new URLSearchParams(without(valid(code), 'client_id', 'client_secret')).toString(),
    }),
    400,
    'invalid_request',
  ],
  [
    'a Basic header with broken percent-encoding',
    (code) => ({
      headers: { authorization: `Basic ${Buffer.from(`${server.web.id}:%zz`).toString('base64')}` },
      body: new URLSearchParams(without(valid(code), 'client_id', 'client_secret')).toString(),
    }),
    400,
    'invalid_request',
  ],
  [
    'a Basic header naming another client than the body',
    (code) => ({
      headers: { authorization: basicAuth(server.web2.id, server.web2.secret ?? '') },
      body: new URLSearchParams(without(valid(code), 'client_secret')).toString(),
    }),
    400,
    'invalid_request',
  ],
  [
    'Basic and client_secret together',
    (code) => ({
      headers: { authorization: basicAuth(server.web.id, server.web.secret ?? '') },
      body: new URLSearchParams(valid(code)).toString(),
    }),
    400,
    'invalid_request',
  ],
];

describe('POST /oauth/token: bad input (RFC 6749 §3.2, §5.2)', () => {
  it.each(rows)('%s is refused without spending the code', async (_name, build, status, error) => {
    const code = await freshCode();
    const request = build(code);
    const body = request.body;
    const res = await fetch(`${server.url}/oauth/token${request.query ? `?${request.query}` : ''}`, {
      method: 'POST',
      headers: {
        ...(typeof body === 'string' ? { 'content-type': form } : {}),
        ...request.headers,
      },
      ...(body === undefined ? {} : { body }),
    });
    await expectOAuthError(res, status, error);
    // Nothing in the database changed: the code is still good for one proper exchange.
    const ok = await tokenRequest(server, valid(code));
    expect(ok.status).toBe(200);
  });

  it.each(['GET', 'PUT', 'DELETE', 'PATCH'])('%s is 405 with Allow: POST', async (method) => {
    const res = await fetch(`${server.url}/oauth/token`, { method });
    expect(res.status).toBe(405);
    expect(res.headers.get('allow')).toBe('POST');
    const body = (await res.json()) as Record<string, unknown>;
    expect(body['error']).toBe('invalid_request');
  });

  it('a body over 64 KiB is 413 as a JSON error, and the code is still good', async () => {
    const code = await freshCode();
    const res = await fetch(`${server.url}/oauth/token`, {
      method: 'POST',
      headers: { 'content-type': form },
      body: new URLSearchParams({ ...valid(code), padding: 'p'.repeat(65 * 1024) }).toString(),
    });
    expect(res.status).toBe(413);
    const body = (await res.json()) as Record<string, unknown>;
    expect(body['error']).toBe('invalid_request');
    expect((await tokenRequest(server, valid(code))).status).toBe(200);
  });

  it('a streamed (chunked) body over 64 KiB is 413 too', async () => {
    const chunk = new TextEncoder().encode(`padding=${'p'.repeat(16 * 1024)}&`);
    let sent = 0;
    const stream = new ReadableStream<Uint8Array>({
      pull(controller) {
        if (sent++ < 6) controller.enqueue(chunk);
        else controller.close();
      },
    });
    const res = await fetch(`${server.url}/oauth/token`, {
      method: 'POST',
      headers: { 'content-type': form },
      body: stream,
      duplex: 'half',
    } as RequestInit);
    expect(res.status).toBe(413);
    expect(((await res.json()) as Record<string, unknown>)['error']).toBe('invalid_request');
  });

  it('a doubled slash in the path still reaches the token endpoint (spec: tolerate //)', async () => {
    const code = await freshCode();
    const res = await fetch(`${server.url}//oauth/token`, {
      method: 'POST',
      headers: { 'content-type': form },
      body: new URLSearchParams(valid(code)).toString(),
    });
    expect(res.status).toBe(200);
  });

  it('a content type with a charset parameter is accepted', async () => {
    const code = await freshCode();
    const res = await fetch(`${server.url}/oauth/token`, {
      method: 'POST',
      headers: { 'content-type': `${form}; charset=UTF-8` },
      body: new URLSearchParams(valid(code)).toString(),
    });
    expect(res.status).toBe(200);
  });

  it.each([
    ['junk separators', '=&&==&grant_type'],
    ['invalid percent-encoding', 'grant_type=%zz%&code=%E0%A4%A'],
    ['a NUL byte', 'grant_type=authorization_code%00&code=x'],
    ['lone surrogates', 'grant_type=%ED%A0%80'],
  ])('a body with %s is a 4xx JSON error, never a 500', async (_name, body) => {
    const res = await fetch(`${server.url}/oauth/token`, {
      method: 'POST',
      headers: { 'content-type': form },
      body,
    });
    expect(res.status).toBeGreaterThanOrEqual(400);
    expect(res.status).toBeLessThan(500);
    const json = (await res.json()) as Record<string, unknown>;
    expect(Object.keys(json).sort()).toEqual(['error', 'error_description']);
  });
});
