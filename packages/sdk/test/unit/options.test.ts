import { describe, expect, it } from 'vitest';
import { isSafeReturnTo, resolveOptions, type SesameAuthOptions } from '../../src/options.ts';

const valid: SesameAuthOptions = {
  envUrl: 'https://id.example.com',
  clientId: 'webc_123',
  clientSecret: 'secret',
  redirectUri: 'https://app.example.com/auth/callback',
  cookieSecret: 'c'.repeat(32),
};

/** Expects `resolveOptions` to throw a TypeError whose message names `option`. */
function expectRejected(over: Partial<Record<keyof SesameAuthOptions, unknown>>, option: string) {
  const input = { ...valid, ...over } as SesameAuthOptions;
  for (const [key, value] of Object.entries(over))
    if (value === undefined) delete (input as unknown as Record<string, unknown>)[key];
  let thrown: unknown;
  try {
    resolveOptions(input);
  } catch (err) {
    thrown = err;
  }
  expect(thrown).toBeInstanceOf(TypeError);
  expect((thrown as TypeError).message).toContain(`"${option}"`);
}

describe('resolveOptions', () => {
  it('valid options get safe defaults', () => {
    const resolved = resolveOptions(valid);
    expect(resolved.scopes).toEqual(['openid', 'profile', 'email', 'offline_access']);
    expect(resolved.cookiePrefix).toBe('sesame');
    expect(resolved.routes).toEqual({
      login: '/auth/login',
      callback: '/auth/callback',
      refresh: '/auth/refresh',
      logout: '/auth/logout',
      backchannelLogout: '/auth/backchannel-logout',
    });
    expect(resolved.defaultReturnTo).toBe('/');
    expect(resolved.secureCookies).toBe(true);
    expect(resolved.allowInsecureHttp).toBe(false);
    expect(resolved.cookieSecrets).toEqual([valid.cookieSecret]);
  });

  it.each([
    ['envUrl', { envUrl: undefined }],
    ['envUrl', { envUrl: '' }],
    ['envUrl', { envUrl: 'not a url' }],
    ['clientId', { clientId: undefined }],
    ['clientId', { clientId: '' }],
    ['clientSecret', { clientSecret: undefined }],
    ['clientSecret', { clientSecret: '' }],
    ['redirectUri', { redirectUri: undefined }],
    ['redirectUri', { redirectUri: '/auth/callback' }],
    ['cookieSecret', { cookieSecret: undefined }],
    ['cookieSecret', { cookieSecret: [] }],
    ['postLogoutRedirectUri', { postLogoutRedirectUri: 'relative/path' }],
  ] as const)('a missing or malformed %s is a TypeError naming it', (option, over) => {
    expectRejected(over, option);
  });

  it('a cookie secret shorter than 32 characters is refused, also as a rotation entry', () => {
    expectRejected({ cookieSecret: 'x'.repeat(31) }, 'cookieSecret');
    expectRejected({ cookieSecret: ['c'.repeat(32), 'short'] }, 'cookieSecret');
    expect(() => resolveOptions({ ...valid, cookieSecret: 'x'.repeat(32) })).not.toThrow();
  });

  it('an http provider off loopback is refused unless dangerouslyAllowInsecureHttp', () => {
    expectRejected({ envUrl: 'http://id.example.com' }, 'envUrl');
    expectRejected({ envUrl: 'ftp://id.example.com' }, 'envUrl');
    expectRejected({ envUrl: 'ftp://id.example.com', dangerouslyAllowInsecureHttp: true }, 'envUrl');
    expect(
      resolveOptions({ ...valid, envUrl: 'http://id.example.com', dangerouslyAllowInsecureHttp: true })
        .allowInsecureHttp,
    ).toBe(true);
  });

  it.each([
    'http://localhost:8080',
    'http://127.0.0.1:8080',
    'http://127.0.0.2',
    'http://[::1]:8080',
    'http://idp.localhost',
  ])('an http provider on loopback (%s) is allowed for development', (envUrl) => {
    expect(() => resolveOptions({ ...valid, envUrl })).not.toThrow();
  });

  it.each(['', 'has space', 'semi;colon', 'x'.repeat(33), 'eq=al'])(
    'cookiePrefix %j is refused',
    (cookiePrefix) => {
      expectRejected({ cookiePrefix }, 'cookiePrefix');
    },
  );

  it('routes.callback must be the path of redirectUri', () => {
    expectRejected({ routes: { callback: '/other/callback' } }, 'routes.callback');
    expect(resolveOptions({ ...valid, redirectUri: 'https://app.example.com/oidc/cb' }).routes.callback).toBe(
      '/oidc/cb',
    );
  });

  it.each(['login', 'refresh', 'logout', 'backchannelLogout'] as const)(
    'routes.%s must be a path',
    (route) => {
      expectRejected({ routes: { [route]: 'https://evil.example/x' } }, `routes.${route}`);
      expectRejected({ routes: { [route]: 'auth/x' } }, `routes.${route}`);
    },
  );

  it('scopes without openid are refused', () => {
    expectRejected({ scopes: ['profile', 'email'] }, 'scopes');
  });

  it.each(['https://evil.example/', '//evil.example', '/\\evil.example', 'dashboard', ''])(
    'an unsafe defaultReturnTo (%j) is refused',
    (defaultReturnTo) => {
      expectRejected({ defaultReturnTo }, 'defaultReturnTo');
    },
  );

  it('numeric options out of range are refused', () => {
    expectRejected({ refreshLeewaySeconds: -1 }, 'refreshLeewaySeconds');
    expectRejected({ refreshLeewaySeconds: Number.NaN }, 'refreshLeewaySeconds');
    expectRejected({ clockToleranceSeconds: 301 }, 'clockToleranceSeconds');
    expectRejected({ clockToleranceSeconds: -1 }, 'clockToleranceSeconds');
  });

  it('cookies are Secure when the app is served over https, not over http on loopback', () => {
    expect(
      resolveOptions({ ...valid, redirectUri: 'http://localhost:3000/auth/callback' }).secureCookies,
    ).toBe(false);
  });

  it('no options at all is a TypeError', () => {
    expect(() => resolveOptions(undefined as unknown as SesameAuthOptions)).toThrow(TypeError);
  });
});

describe('isSafeReturnTo', () => {
  it.each(['/', '/dashboard', '/a/b?c=d#e', '/search?q=%2F%2Fevil', '/path//double'])(
    '%j is a same-origin path',
    (value) => {
      expect(isSafeReturnTo(value)).toBe(true);
    },
  );

  it.each([
    ['an absolute URL', 'https://evil.example/'],
    ['a scheme', 'javascript:alert(1)'],
    ['a protocol-relative URL', '//evil.example'],
    ['a backslash host', '/\\evil.example'],
    ['a backslash anywhere', '/a\\b'],
    ['a relative path', 'dashboard'],
    ['an empty string', ''],
    ['a tab (browsers strip it: /\t/evil)', '/\t/evil.example'],
    ['a newline', '/a\nb'],
    ['a NUL', '/a\u0000'],
    ['DEL', '/a\u007f'],
    ['over 2000 characters', `/${'a'.repeat(2000)}`],
  ])('%s is refused', (_name, value) => {
    expect(isSafeReturnTo(value)).toBe(false);
  });
});
