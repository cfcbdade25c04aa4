import type { FastifyPluginAsync, FastifyReply, FastifyRequest, preHandlerAsyncHookHandler } from 'fastify';
import { type AuthState, SesameAuth } from '../auth.ts';
import type { SesameAuthOptions } from '../options.ts';
import type { SessionUser } from '../session.ts';
import { toWebRequest } from './node-request.ts';

declare module 'fastify' {
  interface FastifyInstance {
    /** The SDK core the `sesame` plugin was registered with. */
    sesame: SesameAuth;
  }
  interface FastifyRequest {
    /** Set by the `sesame` plugin: the request's authentication. */
    auth: AuthState;
    /** The signed-in person, when there is one with a valid access token; otherwise `null`. */
    user: SessionUser | null;
  }
}

/** A web `Request` carrying the request's URL and headers (no body: authentication needs none). */
function webRequest(request: FastifyRequest): Request {
  const headers = new Headers();
  for (const [name, value] of Object.entries(request.headers)) {
    if (value === undefined) continue;
    if (Array.isArray(value)) for (const v of value) headers.append(name, v);
    else headers.set(name, value);
  }
  return new Request(webUrl(request), { method: request.method, headers });
}

function webUrl(request: FastifyRequest): string {
  return `${request.protocol}://${request.host}${request.url}`;
}

/** Sends a web `Response` through fastify (every `Set-Cookie` kept). */
async function sendWebResponse(reply: FastifyReply, response: Response): Promise<FastifyReply> {
  reply.code(response.status);
  for (const [name, value] of response.headers) {
    if (name !== 'set-cookie') reply.header(name, value);
  }
  const cookies = response.headers.getSetCookie();
  if (cookies.length > 0) reply.header('set-cookie', cookies);
  return reply.send(response.body ? Buffer.from(await response.arrayBuffer()) : null);
}

/**
 * The fastify plugin: serves the SDK's routes (login, callback, refresh, logout, back-channel
 * logout) and authenticates every other request (`request.auth`, `request.user`). It skips
 * fastify's encapsulation, so the decorations and the hook reach the routes of the app that
 * registers it.
 *
 * ```ts
 * await app.register(sesame, { envUrl, clientId, clientSecret, redirectUri, cookieSecret });
 * app.get('/dashboard', { preHandler: requireAuth() }, async (request) => request.user?.email);
 * ```
 */
export const sesame: FastifyPluginAsync<SesameAuthOptions | SesameAuth> = async (fastify, options) => {
  const auth = options instanceof SesameAuth ? options : new SesameAuth(options);
  const { routes } = auth.options;
  const sdkPaths = new Set(Object.values(routes));
  fastify.decorate('sesame', auth);
  fastify.decorateRequest('auth', null, []);
  fastify.decorateRequest('user', null);
  fastify.addHook('onRequest', async (request) => {
    if (sdkPaths.has(request.url.split('?', 1)[0] ?? '')) return;
    request.auth = await auth.authenticate(webRequest(request));
    request.user = request.auth.status === 'authenticated' ? request.auth.user : null;
  });
  // The SDK's routes read their bodies themselves (the back-channel logout is a form post): in
  // their own context every body arrives raw, whatever parsers the app has registered.
  await fastify.register(async (child) => {
    child.removeAllContentTypeParsers();
    child.addContentTypeParser('*', { parseAs: 'buffer' }, (_request, body, done) => done(null, body));
    const handler = async (request: FastifyRequest, reply: FastifyReply) => {
      const response = await auth.handle(
        await toWebRequest(request.raw, { url: webUrl(request), parsedBody: request.body }),
      );
      if (!response) return reply.callNotFound();
      return sendWebResponse(reply, response);
    };
    child.route({ method: 'GET', url: routes.login, handler });
    child.route({ method: 'GET', url: routes.callback, handler });
    child.route({ method: ['GET', 'POST'], url: routes.refresh, handler });
    child.route({ method: ['GET', 'POST'], url: routes.logout, handler });
    child.route({ method: 'POST', url: routes.backchannelLogout, handler });
  });
};
Object.assign(sesame, {
  [Symbol.for('skip-override')]: true,
  [Symbol.for('fastify.display-name')]: 'sesame',
});

function guard(check: (state: AuthState) => string | null): preHandlerAsyncHookHandler {
  return async function sesameGuard(request, reply) {
    const auth = request.server.sesame as SesameAuth | undefined;
    if (!auth || !request.auth)
      throw new TypeError('requireAuth() needs app.register(sesame, ...) before it');
    if (request.auth.status !== 'authenticated')
      return sendWebResponse(reply, auth.unauthenticatedResponse(webRequest(request), request.auth));
    const missing = check(request.auth);
    if (missing) return sendWebResponse(reply, auth.forbiddenResponse(webRequest(request), missing));
  };
}

/** A preHandler that lets only signed-in people through: a page goes to sign-in (or refresh), an API call gets 401. */
export const requireAuth = (): preHandlerAsyncHookHandler => guard(() => null);

/** A preHandler that lets only people holding `role` in their current organization through (403 otherwise). */
export const requireRole = (role: string): preHandlerAsyncHookHandler =>
  guard((s) => (s.status === 'authenticated' && s.user.roles.includes(role) ? null : `role ${role}`));

/** A preHandler that lets only people holding `permission` through (403 otherwise). */
export const requirePermission = (permission: string): preHandlerAsyncHookHandler =>
  guard((s) =>
    s.status === 'authenticated' && s.user.permissions.includes(permission)
      ? null
      : `permission ${permission}`,
  );

export { SesameAuth };
