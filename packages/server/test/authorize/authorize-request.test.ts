import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Agent, formField, pkcePair, redirectParams, signIn } from '../support/agent.ts';
import { startTestServer, type TestServer } from '../support/server.ts';

let server: TestServer;

beforeAll(async () => {
  server = await startTestServer();
});

afterAll(async () => {
  await server.close();
});

/** A GET of /oauth/authorize with exactly these query pairs (repeats allowed). */
function rawAuthorize(pairs: [string, string][], path = '/oauth/authorize'): Promise<Response> {
  const query = new URLSearchParams(pairs);
  return fetch(`${server.url}${path}?${query}`, { redirect: 'manual' });
}

/** The pairs of a good web-app request, with `overrides` replacing (or, when null, dropping) names. */
function webPairs(overrides: Record<string, string | null> = {}): [string, string][] {
  const base: Record<string, string | null> = {
    response_type: 'code',
    client_id: server.web.id,
    redirect_uri: server.web.redirectUri,
    scope: 'openid profile email',
    state: 'st-123',
    nonce: 'n-1',
    ...overrides,
  };
  return Object.entries(base).filter((e): e is [string, string] => e[1] !== null);
}

/** Expects the open-redirect-safe error page: HTML, 400, never a Location. */
async function expectErrorPage(res: Response, code: string): Promise<string> {
  expect(res.status).toBe(400);
  expect(res.headers.get('location')).toBeNull();
  expect(res.headers.get('content-type')).toMatch(/^text\/html/);
  const html = await res.text();
  expect(html).toContain(`<code>${code}</code>`);
  return html;
}

/** Expects an error redirected to the web app's redirect URI, with `iss` (RFC 9207). */
function expectErrorRedirect(res: Response, error: string, state: string | null = 'st-123'): URLSearchParams {
  expect(res.status).toBe(303);
  const location = res.headers.get('location') ?? '';
  expect(location.startsWith(`${server.web.redirectUri}?`)).toBe(true);
  const params = redirectParams(res);
  expect(params.get('error')).toBe(error);
  expect(params.get('error_description')).toBeTruthy();
  expect(params.get('iss')).toBe(server.url);
  expect(params.get('state')).toBe(state);
  expect(params.get('code')).toBeNull();
  return params;
}

describe('errors that are never redirected (RFC 6749 §4.1.2.1, RFC 9700 §4.1)', () => {
  it.each<[string, () => [string, string][], string]>([
    ['an unknown client_id', () => webPairs({ client_id: 'webc_doesnotexist' }), 'invalid_request'],
    ['a missing client_id', () => webPairs({ client_id: null }), 'invalid_request'],
    ['an empty client_id', () => webPairs({ client_id: '' }), 'invalid_request'],
    ['a repeated client_id', () => [...webPairs(), ['client_id', server.web.id]], 'invalid_request'],
    ['an oversized client_id', () => webPairs({ client_id: `webc_${'a'.repeat(5000)}` }), 'invalid_request'],
    [
      'an unregistered redirect_uri',
      () => webPairs({ redirect_uri: 'https://attacker.example/callback' }),
      'invalid_request',
    ],
    [
      'a redirect_uri that only differs by a trailing slash',
      () => webPairs({ redirect_uri: `${server.web.redirectUri}/` }),
      'invalid_request',
    ],
    [
      'a redirect_uri with an extra query',
      () => webPairs({ redirect_uri: `${server.web.redirectUri}?next=/admin` }),
      'invalid_request',
    ],
    [
      'another app’s redirect_uri',
      () => webPairs({ redirect_uri: server.web2.redirectUri }),
      'invalid_request',
    ],
    ['a missing redirect_uri', () => webPairs({ redirect_uri: null }), 'invalid_request'],
    [
      'a repeated redirect_uri',
      () => [...webPairs(), ['redirect_uri', server.web.redirectUri]],
      'invalid_request',
    ],
    [
      'a machine (m2m) client',
      () => webPairs({ client_id: server.m2m.id, redirect_uri: 'http://localhost:3000/auth/callback' }),
      'unauthorized_client',
    ],
  ])('%s renders an error page and does not redirect', async (_name, pairs, code) => {
    const res = await rawAuthorize(pairs());
    const html = await expectErrorPage(res, code);
    expect(html).not.toContain('attacker.example');
  });

  it('a hostile client_id or redirect_uri is not reflected into the error page', async () => {
    const res = await rawAuthorize(
      webPairs({ client_id: '<script>alert(1)</script>', redirect_uri: 'javascript:alert(2)' }),
    );
    const html = await expectErrorPage(res, 'invalid_request');
    expect(html).not.toContain('<script>alert(1)');
    expect(html).not.toContain('javascript:alert');
    const other = await rawAuthorize(webPairs({ redirect_uri: '"><script>alert(3)</script>' }));
    expect(await expectErrorPage(other, 'invalid_request')).not.toContain('<script>alert(3)');
  });

  it('an unregistered redirect_uri is refused even when every other parameter is also wrong', async () => {
    const res = await rawAuthorize(
      webPairs({ redirect_uri: 'https://attacker.example/cb', response_type: 'token', scope: 'nope' }),
    );
    await expectErrorPage(res, 'invalid_request');
  });

  it('a POST with a body that is not a form renders an error page (RFC 6749 §3.1)', async () => {
    const res = await fetch(`${server.url}/oauth/authorize`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(Object.fromEntries(webPairs())),
      redirect: 'manual',
    });
    await expectErrorPage(res, 'invalid_request');
  });

  it.each(['PUT', 'DELETE', 'PATCH'])('%s /oauth/authorize is not served and not a 500', async (method) => {
    const res = await fetch(`${server.url}/oauth/authorize?${new URLSearchParams(webPairs())}`, {
      method,
      redirect: 'manual',
    });
    expect(res.status).toBeGreaterThanOrEqual(400);
    expect(res.status).toBeLessThan(500);
    expect(res.headers.get('location')).toBeNull();
  });
});

describe('errors redirected to the verified redirect_uri with state and iss (RFC 6749 §4.1.2.1, RFC 9207)', () => {
  const { challenge } = pkcePair();
  it.each<[string, () => [string, string][], string, string | null]>([
    ['a missing response_type', () => webPairs({ response_type: null }), 'invalid_request', 'st-123'],
    [
      'response_type=token',
      () => webPairs({ response_type: 'token' }),
      'unsupported_response_type',
      'st-123',
    ],
    [
      'response_type=code id_token',
      () => webPairs({ response_type: 'code id_token' }),
      'unsupported_response_type',
      'st-123',
    ],
    [
      'a repeated response_type',
      () => [...webPairs(), ['response_type', 'code']],
      'invalid_request',
      'st-123',
    ],
    ['an unknown scope', () => webPairs({ scope: 'openid admin:all' }), 'invalid_scope', 'st-123'],
    ['a repeated scope', () => [...webPairs(), ['scope', 'openid']], 'invalid_request', 'st-123'],
    [
      'an oversized scope',
      () => webPairs({ scope: `openid ${'x'.repeat(2000)}` }),
      'invalid_request',
      'st-123',
    ],
    [
      'code_challenge_method=plain',
      () => webPairs({ code_challenge: challenge, code_challenge_method: 'plain' }),
      'invalid_request',
      'st-123',
    ],
    [
      'a code_challenge without a method (RFC 7636 defaults to plain)',
      () => webPairs({ code_challenge: challenge }),
      'invalid_request',
      'st-123',
    ],
    [
      'a malformed code_challenge',
      () => webPairs({ code_challenge: 'too-short', code_challenge_method: 'S256' }),
      'invalid_request',
      'st-123',
    ],
    [
      'a code_challenge with characters outside base64url',
      () => webPairs({ code_challenge: `${challenge.slice(0, 42)}=`, code_challenge_method: 'S256' }),
      'invalid_request',
      'st-123',
    ],
    [
      'a code_challenge_method without a challenge',
      () => webPairs({ code_challenge_method: 'S256' }),
      'invalid_request',
      'st-123',
    ],
    ['prompt=none login', () => webPairs({ prompt: 'none login' }), 'invalid_request', 'st-123'],
    ['an unknown prompt', () => webPairs({ prompt: 'consent_everything' }), 'invalid_request', 'st-123'],
    ['a repeated prompt value', () => webPairs({ prompt: 'login login' }), 'invalid_request', 'st-123'],
    ['max_age=-1', () => webPairs({ max_age: '-1' }), 'invalid_request', 'st-123'],
    ['max_age=abc', () => webPairs({ max_age: 'abc' }), 'invalid_request', 'st-123'],
    ['max_age=1.5', () => webPairs({ max_age: '1.5' }), 'invalid_request', 'st-123'],
    ['an oversized max_age', () => webPairs({ max_age: '9'.repeat(40) }), 'invalid_request', 'st-123'],
    ['response_mode=fragment', () => webPairs({ response_mode: 'fragment' }), 'invalid_request', 'st-123'],
    ['response_mode=jwt', () => webPairs({ response_mode: 'jwt' }), 'invalid_request', 'st-123'],
    [
      'a malformed organization_id',
      () => webPairs({ organization_id: 'not-an-org' }),
      'invalid_request',
      'st-123',
    ],
    ['a repeated nonce', () => [...webPairs(), ['nonce', 'n-2']], 'invalid_request', 'st-123'],
    // An ambiguous state cannot be echoed: the error still arrives, without a state.
    ['a repeated state', () => [...webPairs(), ['state', 'other']], 'invalid_request', null],
  ])('%s is redirected to the client as an error', async (_name, pairs, error, state) => {
    const res = await rawAuthorize(pairs());
    expectErrorRedirect(res, error, state);
  });

  it.each<[string, string]>([
    ['spa', 'spa'],
    ['native', 'native'],
  ])(
    'a %s app without code_challenge gets invalid_request (RFC 7636 §4.4.1, RFC 9700 §2.1.1)',
    async (_n, kind) => {
      const client = kind === 'spa' ? server.spa : server.native;
      const res = await rawAuthorize([
        ['response_type', 'code'],
        ['client_id', client.id],
        ['redirect_uri', client.redirectUri],
        ['scope', 'openid'],
        ['state', 'pk'],
      ]);
      expect(res.status).toBe(303);
      const location = new URL(res.headers.get('location') ?? '');
      expect(`${location.origin}${location.pathname}`).toBe(client.redirectUri);
      expect(location.searchParams.get('error')).toBe('invalid_request');
      expect(location.searchParams.get('state')).toBe('pk');
      expect(location.searchParams.get('iss')).toBe(server.url);
    },
  );

  it('a scope the client is not allowed is invalid_scope (RFC 6749 §3.3)', async () => {
    const narrow = await server.registerClient({
      type: 'web',
      name: 'Narrow',
      redirectUris: ['http://localhost:3005/cb'],
      allowedScopes: ['openid'],
    });
    const res = await rawAuthorize([
      ['response_type', 'code'],
      ['client_id', narrow.id],
      ['redirect_uri', narrow.redirectUri],
      ['scope', 'openid offline_access'],
      ['state', 'nar'],
    ]);
    expect(res.status).toBe(303);
    const params = redirectParams(res);
    expect(params.get('error')).toBe('invalid_scope');
    expect(params.get('state')).toBe('nar');
    expect(params.get('iss')).toBe(server.url);
  });

  it('errors keep the redirect_uri’s own query parameters', async () => {
    const withQuery = await server.registerClient({
      type: 'web',
      name: 'With query',
      redirectUris: ['http://localhost:3006/cb?tenant=acme'],
    });
    const res = await rawAuthorize([
      ['response_type', 'token'],
      ['client_id', withQuery.id],
      ['redirect_uri', withQuery.redirectUri],
      ['state', 'q'],
    ]);
    const params = redirectParams(res);
    expect(params.get('tenant')).toBe('acme');
    expect(params.get('error')).toBe('unsupported_response_type');
  });
});

describe('response_mode=form_post (OAuth 2.0 Form Post Response Mode)', () => {
  function formPostFields(html: string): Record<string, string> {
    const fields: Record<string, string> = {};
    for (const m of html.matchAll(/<input type="hidden" name="([^"]+)" value="([^"]*)">/g)) {
      fields[m[1] as string] = formField(html, m[1] as string);
    }
    return fields;
  }

  function expectAutoSubmit(res: Response, html: string, action: string): void {
    expect(res.status).toBe(200);
    expect(res.headers.get('location')).toBeNull();
    expect(res.headers.get('cache-control')).toBe('no-store');
    const csp = res.headers.get('content-security-policy') ?? '';
    const nonce = /script-src 'nonce-([^']+)'/.exec(csp)?.[1];
    expect(nonce).toBeTruthy();
    expect(html).toContain(`<form id="form-post" method="post" action="${action}">`);
    expect(html).toContain(`<script nonce="${nonce}">`);
    expect(html).toMatch(
      /<script nonce="[^"]+">document\.getElementById\('form-post'\)\.submit\(\);<\/script>/,
    );
  }

  it('delivers an error as an auto-submitting form whose script nonce matches the CSP', async () => {
    const res = await rawAuthorize(webPairs({ response_mode: 'form_post', scope: 'openid bogus' }));
    const html = await res.text();
    expectAutoSubmit(res, html, server.web.redirectUri);
    const fields = formPostFields(html);
    expect(fields['error']).toBe('invalid_scope');
    expect(fields['error_description']).toBeTruthy();
    expect(fields['state']).toBe('st-123');
    expect(fields['iss']).toBe(server.url);
  });

  it('delivers the code as an auto-submitting form after sign-in', async () => {
    const agent = new Agent();
    const res = await signIn(agent, server, {
      client_id: server.web.id,
      redirect_uri: server.web.redirectUri,
      state: 'fp-state',
      response_mode: 'form_post',
    });
    const html = await res.text();
    expectAutoSubmit(res, html, server.web.redirectUri);
    const fields = formPostFields(html);
    expect(fields['code']).toMatch(/^[A-Za-z0-9_-]{40,}$/);
    expect(fields['state']).toBe('fp-state');
    expect(fields['iss']).toBe(server.url);
    expect(html).not.toContain('?code=');
  });

  it('each form_post response gets a fresh nonce', async () => {
    const a = await rawAuthorize(webPairs({ response_mode: 'form_post', response_type: 'token' }));
    const b = await rawAuthorize(webPairs({ response_mode: 'form_post', response_type: 'token' }));
    const nonceOf = (r: Response) =>
      /'nonce-([^']+)'/.exec(r.headers.get('content-security-policy') ?? '')?.[1];
    expect(nonceOf(a)).toBeTruthy();
    expect(nonceOf(a)).not.toBe(nonceOf(b));
  });

  it('escapes a hostile state inside the hidden field', async () => {
    const res = await rawAuthorize(
      webPairs({ response_mode: 'form_post', response_type: 'token', state: '"><script>alert(1)</script>' }),
    );
    const html = await res.text();
    expect(html).not.toContain('<script>alert(1)</script>');
    expect(formField(html, 'state')).toBe('"><script>alert(1)</script>');
  });
});

describe('request shapes the endpoint accepts', () => {
  it('a doubled slash (//oauth/authorize) is served like /oauth/authorize', async () => {
    const res = await rawAuthorize(webPairs(), '//oauth/authorize');
    expect(res.status).toBe(303);
    expect(res.headers.get('location')).toMatch(/^\/login\?/);
  });

  it('POST /oauth/authorize with a form body starts the same sign-in (OIDC Core §3.1.2.1)', async () => {
    const agent = new Agent();
    const res = await agent.fetch(`${server.url}/oauth/authorize`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams(webPairs({ state: 'posted' })).toString(),
    });
    expect(res.status).toBe(303);
    const page = await agent.fetch(new URL(res.headers.get('location') ?? '', server.url).toString());
    const html = await page.text();
    expect(page.status).toBe(200);
    const done = await agent.post(`${server.url}/login`, {
      interaction: formField(html, 'interaction'),
      csrf_token: formField(html, 'csrf_token'),
      email: server.user.email,
      password: server.user.password,
    });
    const params = redirectParams(done);
    expect(params.get('code')).toBeTruthy();
    expect(params.get('state')).toBe('posted');
  });

  it('POSTed errors are redirected too', async () => {
    const res = await fetch(`${server.url}/oauth/authorize`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams(webPairs({ response_type: 'token' })).toString(),
      redirect: 'manual',
    });
    expectErrorRedirect(res, 'unsupported_response_type');
  });

  it('unknown parameters are ignored (RFC 6749 §3.1)', async () => {
    const res = await rawAuthorize([...webPairs(), ['foo', 'bar'], ['foo', 'baz'], ['claims_locales', 'fr']]);
    expect(res.status).toBe(303);
    expect(res.headers.get('location')).toMatch(/^\/login\?/);
  });

  it('a request without scope is served with openid (OIDC Core §3.1.2.1)', async () => {
    const res = await rawAuthorize(webPairs({ scope: null }));
    expect(res.status).toBe(303);
    expect(res.headers.get('location')).toMatch(/^\/login\?/);
  });
});

describe('native apps: loopback redirect URIs (RFC 8252 §7.3)', () => {
  const nativePairs = (redirectUri: string): [string, string][] => [
    ['response_type', 'code'],
    ['client_id', server.native.id],
    ['redirect_uri', redirectUri],
    ['scope', 'openid'],
    ['state', 'nat'],
    ['code_challenge', pkcePair().challenge],
    ['code_challenge_method', 'S256'],
  ];

  it.each(['http://127.0.0.1:51234/callback', 'http://127.0.0.1:1/callback', 'http://127.0.0.1/callback'])(
    'a loopback redirect URI with any port matches: %s',
    async (uri) => {
      const res = await rawAuthorize(nativePairs(uri));
      expect(res.status).toBe(303);
      expect(res.headers.get('location')).toMatch(/^\/login\?/);
    },
  );

  it('the code goes back to the very port the app asked for', async () => {
    const agent = new Agent();
    const { challenge } = pkcePair();
    const res = await signIn(agent, server, {
      client_id: server.native.id,
      redirect_uri: 'http://127.0.0.1:49152/callback',
      code_challenge: challenge,
      code_challenge_method: 'S256',
      scope: 'openid',
      state: 'port',
    });
    const location = new URL(res.headers.get('location') ?? '');
    expect(location.origin).toBe('http://127.0.0.1:49152');
    expect(location.pathname).toBe('/callback');
    expect(location.searchParams.get('code')).toBeTruthy();
  });

  it.each([
    'http://localhost:51234/callback',
    'http://127.0.0.2:51234/callback',
    'https://127.0.0.1:51234/callback',
    'http://127.0.0.1:51234/other',
    'http://127.0.0.1:51234/callback?x=1',
    'http://attacker.example:51234/callback',
    'com.example.app:/other',
  ])('other hosts, schemes or paths do not match: %s', async (uri) => {
    const res = await rawAuthorize(nativePairs(uri));
    await expectErrorPage(res, 'invalid_request');
  });

  it('the any-port rule is for native apps only: a web app’s loopback URI matches exactly', async () => {
    const loopbackWeb = await server.registerClient({
      type: 'web',
      name: 'Loopback web',
      redirectUris: ['http://127.0.0.1:4000/cb'],
    });
    const ok = await rawAuthorize([
      ['response_type', 'code'],
      ['client_id', loopbackWeb.id],
      ['redirect_uri', 'http://127.0.0.1:4000/cb'],
    ]);
    expect(ok.status).toBe(303);
    const other = await rawAuthorize([
      ['response_type', 'code'],
      ['client_id', loopbackWeb.id],
      ['redirect_uri', 'http://127.0.0.1:4001/cb'],
    ]);
    await expectErrorPage(other, 'invalid_request');
  });

  it('a private-use scheme redirect URI registered for the app matches exactly', async () => {
    const res = await rawAuthorize(nativePairs('com.example.app:/callback'));
    expect(res.status).toBe(303);
    expect(res.headers.get('location')).toMatch(/^\/login\?/);
  });
});

describe('no 500 on hostile input', () => {
  it.each<[string, [string, string][], string]>([
    ['a NUL byte in state', [['state', 'a\u0000b']], 'login'],
    ['a large unknown parameter', [['x', 'y'.repeat(6000)]], 'login'],
    ['a unicode scope', [['scope', 'openid 🔑']], 'invalid_scope'],
    ['a scope of only spaces', [['scope', '   ']], 'login'],
  ])('%s is answered, not crashed on', async (_name, extra, outcome) => {
    const res = await rawAuthorize([...webPairs({ state: null, scope: null }), ...extra]);
    expect(res.status).toBe(303);
    const location = res.headers.get('location') ?? '';
    if (outcome === 'login') expect(location).toMatch(/^\/login\?/);
    else expect(new URL(location).searchParams.get('error')).toBe(outcome);
  });
});
