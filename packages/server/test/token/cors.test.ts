import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Agent, authorizationCode, pkcePair } from '../support/agent.ts';
import { startTestServer, type TestServer } from '../support/server.ts';

let server: TestServer;

beforeAll(async () => {
  server = await startTestServer();
});

afterAll(async () => {
  await server.close();
});

const spaOrigin = 'http://localhost:5173';

function preflight(path: string, origin: string): Promise<Response> {
  return fetch(`${server.url}${path}`, {
    method: 'OPTIONS',
    headers: {
      origin,
      'access-control-request-method': 'POST',
      'access-control-request-headers': 'content-type',
    },
  });
}

describe('CORS for browser-based apps (spec: Applications — spa; Fetch standard §3.2)', () => {
  it.each(['/oauth/token', '/oauth/revoke', '/userinfo'])(
    'a preflight to %s from the single-page app origin is 204 and echoes the origin',
    async (path) => {
      const res = await preflight(path, spaOrigin);
      expect(res.status).toBe(204);
      expect(res.headers.get('access-control-allow-origin')).toBe(spaOrigin);
      expect(res.headers.get('access-control-allow-methods')).toContain('POST');
      expect((res.headers.get('access-control-allow-headers') ?? '').toLowerCase()).toContain('content-type');
      expect(res.headers.get('vary')).toContain('Origin');
    },
  );

  it.each([
    ['an unrelated origin', 'https://evil.example'],
    ['the web app origin (a confidential client calls from its server)', 'http://localhost:3000'],
    ['the spa origin on another port', 'http://localhost:5174'],
    ['the spa origin over https', 'https://localhost:5173'],
    ['the literal null origin', 'null'],
  ])('a preflight to /oauth/token from %s is refused with no ACAO header', async (_name, origin) => {
    const res = await preflight('/oauth/token', origin);
    expect(res.status).toBe(403);
    expect(res.headers.get('access-control-allow-origin')).toBeNull();
  });

  it('the token response to the single-page app carries Access-Control-Allow-Origin', async () => {
    const agent = new Agent();
    const { verifier, challenge } = pkcePair();
    const code = await authorizationCode(agent, server, {
      client_id: server.spa.id,
      redirect_uri: server.spa.redirectUri,
      code_challenge: challenge,
      code_challenge_method: 'S256',
    });
    const res = await fetch(`${server.url}/oauth/token`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded', origin: spaOrigin },
      body: new URLSearchParams({
        grant_type: 'authorization_code',
        code,
        redirect_uri: server.spa.redirectUri,
        client_id: server.spa.id,
        code_verifier: verifier,
      }).toString(),
    });
    expect(res.status).toBe(200);
    expect(res.headers.get('access-control-allow-origin')).toBe(spaOrigin);
  });

  it('an error answer to the single-page app is readable by it (ACAO on 4xx too)', async () => {
    const res = await fetch(`${server.url}/oauth/token`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded', origin: spaOrigin },
      body: new URLSearchParams({
        grant_type: 'refresh_token',
        refresh_token: 'x',
        client_id: server.spa.id,
      }).toString(),
    });
    expect(res.status).toBe(400);
    expect(res.headers.get('access-control-allow-origin')).toBe(spaOrigin);
  });

  it('a token request from another origin gets no ACAO header', async () => {
    const res = await fetch(`${server.url}/oauth/token`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded', origin: 'https://evil.example' },
      body: new URLSearchParams({ grant_type: 'client_credentials' }).toString(),
    });
    expect(res.headers.get('access-control-allow-origin')).toBeNull();
  });

  it('introspection (confidential clients only) answers no CORS preflight', async () => {
    const res = await preflight('/oauth/introspect', spaOrigin);
    expect(res.status).not.toBe(204);
    expect(res.headers.get('access-control-allow-origin')).toBeNull();
  });

  it.each(['/keys', '/.well-known/openid-configuration', '/.well-known/oauth-authorization-server'])(
    '%s answers Access-Control-Allow-Origin: * (public metadata)',
    async (path) => {
      const res = await fetch(`${server.url}${path}`, { headers: { origin: 'https://anyone.example' } });
      expect(res.status).toBe(200);
      expect(res.headers.get('access-control-allow-origin')).toBe('*');
    },
  );
});
