import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { exportJWK, exportSPKI, generateKeyPair, type JWTPayload, SignJWT } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type AuthState, SesameAuth } from '../../src/auth.ts';
import { CookieSealer } from '../../src/seal.ts';
import type { SessionUser } from '../../src/session.ts';

// The "Bad input" list: every token or cookie an attacker (or a broken proxy, or a stale
// deploy) can send is refused, the person is treated as signed out, nothing throws, and no error
// page shows a token. The provider is a minimal fake: discovery and a JWKS on 127.0.0.1.

const clientId = 'webc_bad_input';
const cookieSecret = 'bad-input-cookie-secret-0123456789abcdef';
const oldSecret = 'an-old-cookie-secret-that-was-removed-0123';
const now = new Date(Math.floor(Date.now() / 1000) * 1000);
const nowSeconds = now.getTime() / 1000;
const app = 'http://localhost:3000';

let provider: Server;
let issuer = '';
let auth: SesameAuth;
let signingKey: CryptoKey;
let otherKey: CryptoKey;
let publicKeyPem = '';
const logs: string[] = [];

beforeAll(async () => {
  const pair = await generateKeyPair('RS256', { extractable: true });
  signingKey = pair.privateKey;
  publicKeyPem = await exportSPKI(pair.publicKey);
  otherKey = (await generateKeyPair('RS256')).privateKey;
  const jwk = { ...(await exportJWK(pair.publicKey)), kid: 'k1', alg: 'RS256', use: 'sig' };
  provider = createServer((req, res) => {
    const json = (body: unknown) => {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(JSON.stringify(body));
    };
    if (req.url === '/.well-known/openid-configuration') {
      return json({
        issuer,
        authorization_endpoint: `${issuer}/authorize`,
        token_endpoint: `${issuer}/token`,
        end_session_endpoint: `${issuer}/logout`,
        jwks_uri: `${issuer}/keys`,
        response_types_supported: ['code'],
        subject_types_supported: ['public'],
        id_token_signing_alg_values_supported: ['RS256'],
      });
    }
    if (req.url === '/keys') return json({ keys: [jwk] });
    res.writeHead(404).end();
  });
  await new Promise<void>((resolve) => provider.listen(0, '127.0.0.1', resolve));
  issuer = `http://127.0.0.1:${(provider.address() as AddressInfo).port}`;
  auth = new SesameAuth({
    envUrl: issuer,
    clientId,
    clientSecret: 'client-secret',
    redirectUri: `${app}/auth/callback`,
    cookieSecret,
    now: () => now,
    logger: { warn: (_obj, msg) => logs.push(msg), error: (_obj, msg) => logs.push(msg) },
  });
});

afterAll(async () => {
  await new Promise((resolve) => provider.close(resolve));
});

const b64 = (value: unknown) => Buffer.from(JSON.stringify(value)).toString('base64url');

/** Claims of a good access token for this app, at the test's `now`. */
function goodClaims(over: JWTPayload = {}): JWTPayload {
  return {
    iss: issuer,
    aud: clientId,
    sub: 'usr_1',
    sid: 'sid_1',
    iat: nowSeconds,
    exp: nowSeconds + 300,
    roles: ['admin'],
    ...over,
  };
}

/** Signs claims as the provider would, with header and key overridable. */
function sign(
  claims: JWTPayload,
  header: { alg?: string; kid?: string; typ?: string } = {},
  key: CryptoKey | Uint8Array = signingKey,
) {
  return new SignJWT(claims)
    .setProtectedHeader({ alg: 'RS256', kid: 'k1', typ: 'at+jwt', ...header })
    .sign(key);
}

const user: SessionUser = {
  sub: 'usr_1',
  sid: 'sid_1',
  email: 'ada@example.com',
  emailVerified: true,
  name: 'Ada',
  givenName: null,
  familyName: null,
  organizationId: null,
  roles: ['admin'],
  permissions: [],
};

/** A session cookie as `#writeSession` seals it, carrying `token`. */
async function sessionCookie(
  token: string,
  expiresAt = nowSeconds + 300,
  secret = cookieSecret,
): Promise<string> {
  const sealed = await new CookieSealer([secret]).seal(
    { u: user, at: token, ate: expiresAt, t: nowSeconds - 60, ua: now.getTime() },
    3600,
    now,
  );
  return `${auth.cookieNames.session}=${sealed}`;
}

/**
 * The two ways an access token arrives. A refused Bearer token is always anonymous (its sender
 * has no session to refresh); a session whose token expired is `expired`, to be refreshed.
 */
const transports: [string, (token: string, exp: number) => Promise<Request>, 'bearer' | 'cookie'][] = [
  [
    'as an Authorization: Bearer token',
    async (token) => new Request(`${app}/dashboard`, { headers: { authorization: `Bearer ${token}` } }),
    'bearer',
  ],
  [
    'inside a sealed session cookie',
    async (token, exp) =>
      new Request(`${app}/dashboard`, { headers: { cookie: await sessionCookie(token, exp) } }),
    'cookie',
  ],
];

/** The bad tokens of the list, each with what a session carrying it should be treated as. */
const badTokens: [string, () => Promise<{ token: string; exp: number }>, AuthState['status']][] = [
  [
    'a forged signature (another key, same kid)',
    async () => ({ token: await sign(goodClaims(), {}, otherKey), exp: nowSeconds + 300 }),
    'anonymous',
  ],
  [
    'an expired token',
    async () => ({
      token: await sign(goodClaims({ iat: nowSeconds - 600, exp: nowSeconds - 60 })),
      exp: nowSeconds - 60,
    }),
    'expired',
  ],
  [
    'an expired token in a session that claims it is still valid',
    async () => ({
      token: await sign(goodClaims({ iat: nowSeconds - 600, exp: nowSeconds - 60 })),
      exp: nowSeconds + 300,
    }),
    'expired',
  ],
  [
    'a wrong iss',
    async () => ({ token: await sign(goodClaims({ iss: 'https://evil.example' })), exp: nowSeconds + 300 }),
    'anonymous',
  ],
  [
    'a wrong aud',
    async () => ({ token: await sign(goodClaims({ aud: 'another-client' })), exp: nowSeconds + 300 }),
    'anonymous',
  ],
  [
    'alg: none',
    async () => ({
      token: `${b64({ alg: 'none', typ: 'at+jwt', kid: 'k1' })}.${b64(goodClaims())}.`,
      exp: nowSeconds + 300,
    }),
    'anonymous',
  ],
  [
    'HS256 signed with the public key as the secret',
    async () => ({
      token: await sign(goodClaims(), { alg: 'HS256' }, new TextEncoder().encode(publicKeyPem)),
      exp: nowSeconds + 300,
    }),
    'anonymous',
  ],
  [
    'an unknown kid',
    async () => ({ token: await sign(goodClaims(), { kid: 'k-unknown' }), exp: nowSeconds + 300 }),
    'anonymous',
  ],
  [
    'an ID token (typ JWT) where an access token is expected',
    async () => ({
      token: await sign(goodClaims({ nonce: 'n', auth_time: nowSeconds - 60, email: 'ada@example.com' }), {
        typ: 'JWT',
      }),
      exp: nowSeconds + 300,
    }),
    'anonymous',
  ],
  [
    'a token issued in the future',
    async () => ({
      token: await sign(goodClaims({ iat: nowSeconds + 3600, exp: nowSeconds + 7200 })),
      exp: nowSeconds + 300,
    }),
    'anonymous',
  ],
  [
    'a token without exp',
    async () => ({ token: await sign(goodClaims({ exp: undefined })), exp: nowSeconds + 300 }),
    'anonymous',
  ],
];

describe.each(transports)('access tokens %s', (_transport, request, kind) => {
  it('a good token authenticates (so each refusal below is the check at work)', async () => {
    const token = await sign(goodClaims());
    const state = await auth.authenticate(await request(token, nowSeconds + 300));
    expect(state).toMatchObject({ status: 'authenticated', user: { sub: 'usr_1' } });
  });

  it.each(badTokens)('%s is refused', async (_name, make, expected) => {
    const { token, exp } = await make();
    const state = await auth.authenticate(await request(token, exp));
    expect(state.status).toBe(kind === 'bearer' ? 'anonymous' : expected);
  });
});

describe('Authorization headers that are not a usable Bearer token', () => {
  it.each([
    ['no token', 'Bearer'],
    ['blank', 'Bearer    '],
    ['three empty parts', 'Bearer ..'],
    ['garbage parts', 'Bearer a.b.c'],
    ['not base64', 'Bearer %%%.$$$.###'],
    ['JSON that is not a JWT header', `Bearer ${b64([1, 2])}.${b64('x')}.sig`],
    ['an enormous token', `Bearer ${'a'.repeat(50_000)}.${'b'.repeat(50_000)}.c`],
  ])('%s → anonymous', async (_name, authorization) => {
    const state = await auth.authenticate(new Request(`${app}/dashboard`, { headers: { authorization } }));
    expect(state.status).toBe('anonymous');
  });
});

describe('cookies that do not open', () => {
  const session = 'sesame_session';
  const cookies: [string, () => Promise<string>][] = [
    ['a garbage session cookie', async () => `${session}=garbage`],
    ['a session cookie of dots', async () => `${session}=....`],
    ['a truncated session cookie', async () => (await sessionCookie(await sign(goodClaims()))).slice(0, -20)],
    [
      'a session cookie cut in half',
      async () => {
        const whole = await sessionCookie(await sign(goodClaims()));
        return whole.slice(0, Math.floor(whole.length / 2));
      },
    ],
    [
      'a session cookie sealed with a removed secret',
      async () => sessionCookie(await sign(goodClaims()), nowSeconds + 300, oldSecret),
    ],
    ['garbage session chunks', async () => `${session}.0=abc; ${session}.1=def`],
    ['a 100 KB session cookie', async () => `${session}=${'A'.repeat(100_000)}`],
    ['garbage refresh and logout cookies', async () => `${session}=x; sesame_refresh=y; sesame_logout=z`],
    ['a cookie header of separators', async () => ';;==;; ;='],
    [
      'sealed content of the wrong shape',
      async () => {
        const sealed = await new CookieSealer([cookieSecret]).seal({ u: 'nobody', at: 42 }, 3600, now);
        return `${session}=${sealed}`;
      },
    ],
  ];

  it.each(cookies)('%s → anonymous', async (_name, cookie) => {
    const state = await auth.authenticate(
      new Request(`${app}/dashboard`, { headers: { cookie: await cookie() } }),
    );
    expect(state.status).toBe('anonymous');
  });

  it.each(cookies)('%s never makes an SDK route answer 5xx', async (_name, cookie) => {
    const value = await cookie();
    const requests = [
      new Request(`${app}/auth/refresh?return_to=/dashboard`, { headers: { cookie: value } }),
      new Request(`${app}/auth/refresh`, { method: 'POST', headers: { cookie: value } }),
      new Request(`${app}/auth/logout`, { headers: { cookie: value } }),
      new Request(`${app}/auth/callback?code=c&state=s`, {
        headers: { cookie: `sesame_tx_${'a'.repeat(16)}=junk; ${value}` },
      }),
    ];
    for (const request of requests) {
      const response = await auth.handle(request);
      expect(response?.status, `${request.method} ${request.url}`).toBeLessThan(500);
    }
  });

  it('a refresh with an unreadable session signs the person out and clears the cookies', async () => {
    const response = await auth.handle(
      new Request(`${app}/auth/refresh`, { method: 'POST', headers: { cookie: `${session}=garbage` } }),
    );
    expect(response?.status).toBe(401);
    expect(await response?.json()).toMatchObject({ error: 'login_required' });
    expect(
      response?.headers.getSetCookie().some((c) => c.startsWith(`${session}=;`) && c.includes('Max-Age=0')),
    ).toBe(true);
  });
});

describe('the callback error page never shows a token', () => {
  it('error_description is logged, not echoed, even when it holds a token', async () => {
    const jwt = await sign(goodClaims());
    const url = `${app}/auth/callback?error=server_error&error_description=${encodeURIComponent(jwt)}`;
    const response = await auth.handle(new Request(url, { headers: { accept: 'text/html' } }));
    expect(response?.status).toBe(400);
    const page = await response?.text();
    expect(page).toContain('Try again');
    expect(page).toContain('server_error');
    for (const part of jwt.split('.')) expect(page).not.toContain(part.slice(0, 20));
  });

  it('an error code that is a token is not echoed', async () => {
    const jwt = await sign(goodClaims());
    const response = await auth.handle(
      new Request(`${app}/auth/callback?error=${encodeURIComponent(jwt)}&state=s`),
    );
    expect(response?.status).toBe(400);
    const page = await response?.text();
    expect(page).toContain('Try again');
    for (const part of jwt.split('.')) expect(page).not.toContain(part.slice(0, 20));
  });

  it('text or markup in an error code is neither echoed nor rendered', async () => {
    const response = await auth.handle(
      new Request(`${app}/auth/callback?error=${encodeURIComponent('<script>alert(1)</script>')}`),
    );
    const page = await response?.text();
    expect(page).not.toContain('<script>');
    expect(page).not.toContain('alert(1)');
    expect(page).toContain('unknown_error');
  });

  it('tokens sent alongside an error (access_token, id_token in the query) are not echoed', async () => {
    const jwt = await sign(goodClaims());
    const response = await auth.handle(
      new Request(`${app}/auth/callback?error=access_denied&access_token=${jwt}&id_token=${jwt}&code=${jwt}`),
    );
    const page = await response?.text();
    expect(page).toContain('Sign-in was cancelled.');
    for (const part of jwt.split('.')) expect(page).not.toContain(part.slice(0, 20));
  });
});
