import type { RevocationStore } from './revocation-store.ts';
import type { SessionStore } from './session-store.ts';

/** How an app configures the SDK. Every option has a safe default except the credentials. */
export interface SesameAuthOptions {
  /** The provider's issuer URL (the seed's `ENV_URL`). */
  envUrl: string;
  clientId: string;
  clientSecret: string;
  /** Absolute URL of this app's callback route, registered at the provider. */
  redirectUri: string;
  /** Where the provider sends the browser after logout (registered at the provider). */
  postLogoutRedirectUri?: string;
  /** Default `openid profile email offline_access`. */
  scopes?: string[];
  /** 32+ characters; a list rotates secrets (the first seals, all open). */
  cookieSecret: string | string[];
  /** Cookie names start with this (default `sesame`); give each app its own. */
  cookiePrefix?: string;
  /** Paths of the routes the SDK serves (defaults under `/auth`). */
  routes?: Partial<RouteOptions>;
  /** Where to send a person after sign-in when no `return_to` was given (default `/`). */
  defaultReturnTo?: string;
  /** Refresh this many seconds before the access token expires (default 15). */
  refreshLeewaySeconds?: number;
  /** Clock tolerance for token validation, seconds (default 15). */
  clockToleranceSeconds?: number;
  /** Keep tokens server-side and only an opaque id in the cookie. */
  sessionStore?: SessionStore;
  /** Where back-channel logouts are recorded, shared by the app's instances (default: memory). */
  revocationStore?: RevocationStore;
  /** A fetch for every call to the provider (custom DNS, proxies, tests). */
  fetch?: typeof fetch;
  /** The clock (tests). */
  now?: () => Date;
  /** How the app authenticates at the token endpoint; default: `client_secret_post` if the provider lists it, else `client_secret_basic`. */
  tokenEndpointAuthMethod?: 'client_secret_post' | 'client_secret_basic';
  /** Allows an http:// provider that is not on a loopback address. Never in production. */
  dangerouslyAllowInsecureHttp?: boolean;
  /** Logs what goes wrong (callback errors, failed refreshes); default: console.warn/error. */
  logger?: { warn(obj: object, msg: string): void; error(obj: object, msg: string): void };
}

export interface RouteOptions {
  login: string;
  callback: string;
  refresh: string;
  logout: string;
  backchannelLogout: string;
}

/** Options after defaults and checks. */
export interface ResolvedOptions {
  issuer: URL;
  clientId: string;
  clientSecret: string;
  redirectUri: URL;
  postLogoutRedirectUri: URL | null;
  scopes: string[];
  cookieSecrets: string[];
  cookiePrefix: string;
  routes: RouteOptions;
  defaultReturnTo: string;
  refreshLeewaySeconds: number;
  clockToleranceSeconds: number;
  secureCookies: boolean;
  sessionStore: SessionStore | null;
  revocationStore: RevocationStore | null;
  fetch: typeof fetch;
  now: () => Date;
  allowInsecureHttp: boolean;
  tokenEndpointAuthMethod: 'client_secret_post' | 'client_secret_basic' | null;
  logger: NonNullable<SesameAuthOptions['logger']>;
}

const loopbackHosts = new Set(['localhost', '127.0.0.1', '[::1]']);

/** Whether a URL's host is a loopback address (where plain http is acceptable for development). */
export function isLoopback(url: URL): boolean {
  return (
    loopbackHosts.has(url.hostname) ||
    url.hostname.endsWith('.localhost') ||
    /^127\.\d+\.\d+\.\d+$/.test(url.hostname)
  );
}

function fail(option: string, message: string): never {
  throw new TypeError(`Sesame SDK option "${option}" ${message}`);
}

function parseUrl(option: string, value: unknown): URL {
  if (typeof value !== 'string' || value.length === 0) fail(option, 'is required (an absolute URL)');
  try {
    return new URL(value);
  } catch {
    fail(option, `must be an absolute URL, got ${JSON.stringify(value)}`);
  }
}

function path(option: string, value: string): string {
  if (!/^\/[A-Za-z0-9\-._~/]*$/.test(value))
    fail(option, `must be a path starting with /, got ${JSON.stringify(value)}`);
  return value;
}

/**
 * Checks options once, at start-up, and fills defaults. Mistakes are `TypeError`s naming the
 * option, never a failure at the first request.
 */
export function resolveOptions(input: SesameAuthOptions): ResolvedOptions {
  if (typeof input !== 'object' || input === null) throw new TypeError('Sesame SDK options are required');
  const issuer = parseUrl('envUrl', input.envUrl);
  const allowInsecureHttp = input.dangerouslyAllowInsecureHttp === true;
  if (
    issuer.protocol !== 'https:' &&
    !(issuer.protocol === 'http:' && (isLoopback(issuer) || allowInsecureHttp))
  ) {
    fail('envUrl', 'must use https (http only for loopback, or with dangerouslyAllowInsecureHttp)');
  }
  if (typeof input.clientId !== 'string' || input.clientId.length === 0) fail('clientId', 'is required');
  if (typeof input.clientSecret !== 'string' || input.clientSecret.length === 0)
    fail('clientSecret', 'is required');
  const redirectUri = parseUrl('redirectUri', input.redirectUri);
  const postLogoutRedirectUri = input.postLogoutRedirectUri
    ? parseUrl('postLogoutRedirectUri', input.postLogoutRedirectUri)
    : null;
  const cookieSecrets = Array.isArray(input.cookieSecret) ? input.cookieSecret : [input.cookieSecret];
  if (cookieSecrets.length === 0) fail('cookieSecret', 'is required (32+ characters)');
  for (const secret of cookieSecrets) {
    if (typeof secret !== 'string' || secret.length < 32)
      fail('cookieSecret', 'must be at least 32 characters');
  }
  const cookiePrefix = input.cookiePrefix ?? 'sesame';
  if (!/^[A-Za-z0-9_-]{1,32}$/.test(cookiePrefix))
    fail('cookiePrefix', 'must be 1-32 letters, digits, _ or -');
  const routes: RouteOptions = {
    login: path('routes.login', input.routes?.login ?? '/auth/login'),
    callback: path('routes.callback', input.routes?.callback ?? redirectUri.pathname),
    refresh: path('routes.refresh', input.routes?.refresh ?? '/auth/refresh'),
    logout: path('routes.logout', input.routes?.logout ?? '/auth/logout'),
    backchannelLogout: path(
      'routes.backchannelLogout',
      input.routes?.backchannelLogout ?? '/auth/backchannel-logout',
    ),
  };
  if (routes.callback !== redirectUri.pathname)
    fail('routes.callback', `must be the path of redirectUri (${redirectUri.pathname})`);
  const scopes = input.scopes ?? ['openid', 'profile', 'email', 'offline_access'];
  if (!scopes.includes('openid')) fail('scopes', 'must include openid');
  const defaultReturnTo = input.defaultReturnTo ?? '/';
  if (!isSafeReturnTo(defaultReturnTo)) fail('defaultReturnTo', 'must be a same-origin path starting with /');
  const refreshLeewaySeconds = input.refreshLeewaySeconds ?? 15;
  if (!Number.isFinite(refreshLeewaySeconds) || refreshLeewaySeconds < 0)
    fail('refreshLeewaySeconds', 'must be ≥ 0');
  const method = input.tokenEndpointAuthMethod;
  if (method !== undefined && method !== 'client_secret_post' && method !== 'client_secret_basic') {
    fail('tokenEndpointAuthMethod', 'must be client_secret_post or client_secret_basic');
  }
  const clockToleranceSeconds = input.clockToleranceSeconds ?? 15;
  if (!Number.isFinite(clockToleranceSeconds) || clockToleranceSeconds < 0 || clockToleranceSeconds > 300) {
    fail('clockToleranceSeconds', 'must be between 0 and 300');
  }
  return {
    issuer,
    clientId: input.clientId,
    clientSecret: input.clientSecret,
    redirectUri,
    postLogoutRedirectUri,
    scopes,
    cookieSecrets,
    cookiePrefix,
    routes,
    defaultReturnTo,
    refreshLeewaySeconds,
    clockToleranceSeconds,
    secureCookies: redirectUri.protocol === 'https:',
    sessionStore: input.sessionStore ?? null,
    revocationStore: input.revocationStore ?? null,
    fetch: input.fetch ?? globalThis.fetch,
    now: input.now ?? (() => new Date()),
    allowInsecureHttp,
    tokenEndpointAuthMethod: method ?? null,
    logger: input.logger ?? {
      warn: (obj, msg) => console.warn(`[sesame] ${msg}`, obj),
      error: (obj, msg) => console.error(`[sesame] ${msg}`, obj),
    },
  };
}

/**
 * Whether a `return_to` is a path on this origin: starts with one slash, no scheme, no `//` or
 * `/\` (which browsers treat as another host), no control characters.
 */
export function isSafeReturnTo(value: string): boolean {
  return (
    value.length > 0 &&
    value.length <= 2000 &&
    value.startsWith('/') &&
    !value.startsWith('//') &&
    !value.startsWith('/\\') &&
    !/[\p{Cc}\\]/u.test(value)
  );
}
