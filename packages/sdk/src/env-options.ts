import type { SesameAuthOptions } from './options.ts';

/**
 * Options from environment variables, named as in the seed: `ENV_URL`, `CLIENT_ID`,
 * `CLIENT_SECRET`, `REDIRECT_URI`, `POST_LOGOUT_REDIRECT_URI`, `COOKIE_SECRET` (comma-separated
 * for rotation), `SCOPES` (space-separated), `COOKIE_PREFIX`. Explicit options win.
 */
export function optionsFromEnv(
  env: Record<string, string | undefined>,
  overrides: Partial<SesameAuthOptions> = {},
): SesameAuthOptions {
  const pick = (name: string) => (env[name] === undefined || env[name] === '' ? undefined : env[name]);
  const secret = pick('COOKIE_SECRET');
  const fromEnv: Partial<SesameAuthOptions> = {
    ...(pick('ENV_URL') ? { envUrl: pick('ENV_URL') as string } : {}),
    ...(pick('CLIENT_ID') ? { clientId: pick('CLIENT_ID') as string } : {}),
    ...(pick('CLIENT_SECRET') ? { clientSecret: pick('CLIENT_SECRET') as string } : {}),
    ...(pick('REDIRECT_URI') ? { redirectUri: pick('REDIRECT_URI') as string } : {}),
    ...(pick('POST_LOGOUT_REDIRECT_URI')
      ? { postLogoutRedirectUri: pick('POST_LOGOUT_REDIRECT_URI') as string }
      : {}),
    ...(secret ? { cookieSecret: secret.includes(',') ? secret.split(',') : secret } : {}),
    ...(pick('SCOPES') ? { scopes: (pick('SCOPES') as string).split(' ').filter(Boolean) } : {}),
    ...(pick('COOKIE_PREFIX') ? { cookiePrefix: pick('COOKIE_PREFIX') as string } : {}),
  };
  return { ...fromEnv, ...overrides } as SesameAuthOptions;
}
