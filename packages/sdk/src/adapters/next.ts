import { NextResponse } from 'next/server.js';
import { type AuthState, SesameAuth } from '../auth.ts';
import { optionsFromEnv } from '../env-options.ts';
import type { SesameAuthOptions } from '../options.ts';
import type { SessionUser } from '../session.ts';

/**
 * Next.js (App Router) bindings over web `Request`/`Response` only. Three places use them:
 * `app/auth/[...sesame]/route.ts` exports the route handlers, `middleware.ts` (`proxy.ts` since
 * Next 16) protects paths, and route handlers or server components read the person with
 * `getAuth`.
 *
 * ```ts
 * // lib/sesame.ts
 * export const auth = new SesameAuth({ envUrl, clientId, clientSecret, redirectUri, cookieSecret });
 * // app/auth/[...sesame]/route.ts
 * export const { GET, POST } = createRouteHandlers(auth);
 * // middleware.ts
 * export const middleware = sesameMiddleware(auth, { protect: (path) => path.startsWith('/dashboard') });
 * ```
 * Without an instance or options, one is built once from the environment (`ENV_URL`,
 * `CLIENT_ID`, `CLIENT_SECRET`, `REDIRECT_URI`, `COOKIE_SECRET`, …).
 */

type Handler = (request: Request) => Promise<Response>;
type Authenticated = Extract<AuthState, { status: 'authenticated' }>;

/** What a guard answers: the person, or the response to send instead (redirect, 401 or 403). */
export type GuardResult =
  | { ok: true; user: SessionUser; auth: Authenticated }
  | { ok: false; response: Response };

const envAuthKey = Symbol.for('sesame.next.auth');

/** The instance to use: the one given, one built from options, or the environment's (built once per realm). */
function resolveAuth(authOrOptions?: SesameAuth | SesameAuthOptions): SesameAuth {
  if (authOrOptions instanceof SesameAuth) return authOrOptions;
  if (authOrOptions) return new SesameAuth(authOrOptions);
  const slot = globalThis as { [envAuthKey]?: SesameAuth };
  slot[envAuthKey] ??= new SesameAuth(optionsFromEnv(process.env));
  return slot[envAuthKey];
}

/**
 * `GET` and `POST` for `app/auth/[...sesame]/route.ts`: login, callback, refresh, logout and
 * back-channel logout. Any other path under the folder answers 404.
 */
export function createRouteHandlers(authOrOptions?: SesameAuth | SesameAuthOptions): {
  GET: Handler;
  POST: Handler;
} {
  const auth = resolveAuth(authOrOptions);
  // A NextRequest reports loopback hosts as `localhost`; the SDK compares the `Origin` header with
  // the request's URL (POST refresh), so it gets a plain Request with the URL the browser used.
  const handler: Handler = async (request) =>
    (await auth.handle(new Request(request))) ?? new Response('Not found', { status: 404 });
  return { GET: handler, POST: handler };
}

/**
 * The request's authentication, for route handlers and server code. Takes the `Request`, or the
 * request headers (`await headers()` from `next/headers` in a server component): only the
 * `Cookie` and `Authorization` headers are read.
 */
export function getAuth(request: Request | Headers, auth?: SesameAuth): Promise<AuthState> {
  const sdk = auth ?? resolveAuth();
  const input = request instanceof Request ? request : new Request('http://localhost/', { headers: request });
  return sdk.authenticate(input);
}

/** Whether the state is a signed-in person holding `role` in their current organization. */
export function hasRole(state: AuthState, role: string): boolean {
  return state.status === 'authenticated' && state.user.roles.includes(role);
}

/** Whether the state is a signed-in person holding `permission`. */
export function hasPermission(state: AuthState, permission: string): boolean {
  return state.status === 'authenticated' && state.user.permissions.includes(permission);
}

async function guard(
  request: Request,
  auth: SesameAuth | undefined,
  check: (state: Authenticated) => string | null,
): Promise<GuardResult> {
  const sdk = auth ?? resolveAuth();
  const state = await sdk.authenticate(request);
  if (state.status !== 'authenticated')
    return { ok: false, response: sdk.unauthenticatedResponse(request, state) };
  const missing = check(state);
  if (missing) return { ok: false, response: sdk.forbiddenResponse(request, missing) };
  return { ok: true, user: state.user, auth: state };
}

/**
 * For a route handler: the signed-in person, or the response to return (a page goes to sign-in
 * or refresh, an API call gets 401).
 *
 * ```ts
 * const result = await requireAuth(request, auth);
 * if (!result.ok) return result.response;
 * ```
 */
export function requireAuth(request: Request, auth?: SesameAuth): Promise<GuardResult> {
  return guard(request, auth, () => null);
}

/** Like `requireAuth`, and 403 unless the person holds `role` in their current organization. */
export function requireRole(request: Request, role: string, auth?: SesameAuth): Promise<GuardResult> {
  return guard(request, auth, (state) => (hasRole(state, role) ? null : `role ${role}`));
}

/** Like `requireAuth`, and 403 unless the person holds `permission`. */
export function requirePermission(
  request: Request,
  permission: string,
  auth?: SesameAuth,
): Promise<GuardResult> {
  return guard(request, auth, (state) =>
    hasPermission(state, permission) ? null : `permission ${permission}`,
  );
}

/**
 * Middleware (`middleware.ts`, or `proxy.ts` since Next 16) that lets a request through with
 * `NextResponse.next()` unless its path is protected and nobody is signed in: then a page
 * navigation is sent to sign-in (or through refresh when the access token has expired) and an
 * API call gets 401 JSON. The SDK's own routes always pass.
 */
export function sesameMiddleware(
  authOrOptions?: SesameAuth | SesameAuthOptions,
  options: { protect?: (pathname: string) => boolean } = {},
): (request: Request) => Promise<Response> {
  const auth = resolveAuth(authOrOptions);
  const sdkPaths = new Set(Object.values(auth.options.routes));
  const protect = options.protect ?? (() => true);
  return async (request) => {
    const { pathname } = new URL(request.url);
    if (sdkPaths.has(pathname) || !protect(pathname)) return NextResponse.next();
    const state = await auth.authenticate(request);
    if (state.status === 'authenticated') return NextResponse.next();
    return auth.unauthenticatedResponse(request, state);
  };
}

export { SesameAuth };
