import type {
  Request as ExpressRequest,
  Response as ExpressResponse,
  NextFunction,
  RequestHandler,
} from 'express';
import { type AuthState, SesameAuth } from '../auth.ts';
import type { SesameAuthOptions } from '../options.ts';
import type { SessionUser } from '../session.ts';
import { sendWebResponse, toWebRequest } from './node-request.ts';

declare global {
  namespace Express {
    interface Request {
      /** Set by `sesame()`: the request's authentication. */
      auth?: AuthState;
      /** The signed-in person, when there is one with a valid access token. */
      user?: SessionUser;
    }
  }
}

const authKey = Symbol.for('sesame.auth');

function webUrl(req: ExpressRequest): string {
  return `${req.protocol}://${req.get('host') ?? 'localhost'}${req.originalUrl}`;
}

/** A request header as web `Headers.get` reads it (Node has already joined repeated values). */
function headerOf(req: ExpressRequest, name: string): string | null {
  const value = req.headers[name.toLowerCase()];
  if (value === undefined) return null;
  return Array.isArray(value) ? value.join(', ') : value;
}

/**
 * Mounts the SDK in an Express app: serves the auth routes and authenticates every other request
 * (`req.auth`, `req.user`).
 *
 * ```ts
 * app.use(sesame({ envUrl, clientId, clientSecret, redirectUri, cookieSecret }));
 * app.get('/dashboard', requireAuth(), (req, res) => res.send(req.user!.email));
 * ```
 */
export function sesame(options: SesameAuthOptions | SesameAuth): RequestHandler {
  const auth = options instanceof SesameAuth ? options : new SesameAuth(options);
  return async (req, res, next) => {
    try {
      (req as unknown as Record<symbol, SesameAuth>)[authKey] = auth;
      const url = webUrl(req);
      if (auth.ownsPath(new URL(url).pathname)) {
        const request = await toWebRequest(req, { url, parsedBody: req.body });
        const handled = await auth.handle(request);
        if (handled) return await sendWebResponse(res, handled);
        req.auth = await auth.authenticate(request);
      } else {
        // Any other request is authenticated from its headers alone: no web Request to build.
        req.auth = await auth.authenticate({ headers: { get: (name) => headerOf(req, name) } });
      }
      if (req.auth.status === 'authenticated') req.user = req.auth.user;
      next();
    } catch (err) {
      next(err);
    }
  };
}

function guard(check: (state: AuthState) => string | null): RequestHandler {
  return async (req: ExpressRequest, res: ExpressResponse, next: NextFunction) => {
    try {
      const auth = (req as unknown as Record<symbol, SesameAuth | undefined>)[authKey];
      if (!auth || !req.auth) throw new TypeError('requireAuth() needs app.use(sesame(...)) before it');
      // Built only to answer a refusal: a request let through needs none.
      const request = () =>
        new Request(webUrl(req), {
          method: req.method,
          headers: req.headers as Record<string, string>,
        });
      if (req.auth.status !== 'authenticated')
        return await sendWebResponse(res, auth.unauthenticatedResponse(request(), req.auth));
      const missing = check(req.auth);
      if (missing) return await sendWebResponse(res, auth.forbiddenResponse(request(), missing));
      next();
    } catch (err) {
      next(err);
    }
  };
}

/** Lets only signed-in people through: a page goes to sign-in (or refresh), an API call gets 401. */
export const requireAuth = (): RequestHandler => guard(() => null);

/** Lets only people holding `role` in their current organization through (403 otherwise). */
export const requireRole = (role: string): RequestHandler =>
  guard((s) => (s.status === 'authenticated' && s.user.roles.includes(role) ? null : `role ${role}`));

/** Lets only people holding `permission` through (403 otherwise). */
export const requirePermission = (permission: string): RequestHandler =>
  guard((s) =>
    s.status === 'authenticated' && s.user.permissions.includes(permission)
      ? null
      : `permission ${permission}`,
  );

export { SesameAuth };
