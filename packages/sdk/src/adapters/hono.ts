import type { MiddlewareHandler } from 'hono';
import { type AuthState, SesameAuth } from '../auth.ts';
import type { SesameAuthOptions } from '../options.ts';

/** What the middleware puts on the Hono context. */
export interface SesameVariables {
  auth: AuthState;
  sesame: SesameAuth;
}

/**
 * Mounts the SDK in a Hono app: serves the auth routes and authenticates every other request
 * (`c.get('auth')`).
 */
export function sesame(
  options: SesameAuthOptions | SesameAuth,
): MiddlewareHandler<{ Variables: SesameVariables }> {
  const auth = options instanceof SesameAuth ? options : new SesameAuth(options);
  return async (c, next) => {
    const handled = await auth.handle(c.req.raw.clone());
    if (handled) return handled;
    c.set('sesame', auth);
    c.set('auth', await auth.authenticate(c.req.raw));
    await next();
  };
}

function guard(
  check: (state: AuthState) => string | null,
): MiddlewareHandler<{ Variables: SesameVariables }> {
  return async (c, next) => {
    const auth = c.get('sesame');
    const state = c.get('auth');
    if (!auth || !state) throw new TypeError('requireAuth() needs app.use(sesame(...)) before it');
    if (state.status !== 'authenticated') return auth.unauthenticatedResponse(c.req.raw, state);
    const missing = check(state);
    if (missing) return auth.forbiddenResponse(c.req.raw, missing);
    await next();
  };
}

/** Lets only signed-in people through: a page goes to sign-in (or refresh), an API call gets 401. */
export const requireAuth = () => guard(() => null);
/** Lets only people holding `role` in their current organization through (403 otherwise). */
export const requireRole = (role: string) =>
  guard((s) => (s.status === 'authenticated' && s.user.roles.includes(role) ? null : `role ${role}`));
/** Lets only people holding `permission` through (403 otherwise). */
export const requirePermission = (permission: string) =>
  guard((s) =>
    s.status === 'authenticated' && s.user.permissions.includes(permission)
      ? null
      : `permission ${permission}`,
  );

export { SesameAuth };
