import { createHash, randomBytes } from 'node:crypto';
import { createServer, type RequestListener } from 'node:http';
import type { AddressInfo } from 'node:net';
import { getRequestListener } from '@hono/node-server';
import express from 'express';
import Fastify from 'fastify';
import { Hono } from 'hono';
import { NextRequest } from 'next/server.js';
import * as expressAdapter from '../../src/adapters/express.ts';
import * as fastifyAdapter from '../../src/adapters/fastify.ts';
import * as honoAdapter from '../../src/adapters/hono.ts';
import * as nextAdapter from '../../src/adapters/next.ts';
import { sendWebResponse, toWebRequest } from '../../src/adapters/node-request.ts';
import { type AuthState, SesameAuth } from '../../src/auth.ts';
import { escapeHtml } from '../../src/pages.ts';
import type { SessionStore } from '../../src/session-store.ts';
import type { TestProvider } from './providers.ts';

export type AdapterName = 'express' | 'hono' | 'fastify' | 'next';

/** A small app on 127.0.0.1 that mounts the SDK through one adapter. */
export interface TestApp {
  adapter: AdapterName;
  url: string;
  auth: SesameAuth;
  clientId: string;
  /** Cookie names the SDK uses in this app. */
  cookies: SesameAuth['cookieNames'];
  /** What the SDK logged (failed sign-ins, failed refreshes). */
  logs: { msg: string; obj: object }[];
  close(): Promise<void>;
}

export interface TestAppOptions {
  /** Access-token lifetime the provider gives this app, seconds. */
  accessTokenTtl?: number;
  sessionStore?: SessionStore;
}

let appCount = 0;

/** What `/` answers: the authentication status, and who when signed in. */
function statusBody(state: AuthState) {
  return { status: state.status, email: state.status === 'anonymous' ? null : state.user.email };
}

/** What `/api/private` answers: the person and a fingerprint of the access token (never the token). */
function userBody(state: AuthState) {
  if (state.status !== 'authenticated') throw new TypeError('not signed in');
  return {
    user: state.user,
    token: createHash('sha256').update(state.accessToken).digest('base64url').slice(0, 16),
    expiresAt: state.expiresAt,
  };
}

function privatePage(state: AuthState): string {
  const email = state.status === 'anonymous' ? '' : (state.user.email ?? '');
  return `<!doctype html><html><head><title>Private</title></head><body><h1>Private</h1><ul><li>${escapeHtml(email)}</li></ul></body></html>`;
}

const protectedPaths = new Set(['/private', '/api/private', '/admin', '/perm']);

/** The routes of the test app for each adapter, as a Node request listener. */
async function buildListener(
  adapter: AdapterName,
  auth: SesameAuth,
): Promise<{ listener: RequestListener; close(): Promise<void> }> {
  switch (adapter) {
    case 'express': {
      const { sesame, requireAuth, requireRole, requirePermission } = expressAdapter;
      const app = express();
      app.use(sesame(auth));
      const state = (req: express.Request) => req.auth as AuthState;
      app.get('/', (req, res) => void res.json(statusBody(state(req))));
      app.get('/private', requireAuth(), (req, res) => void res.type('html').send(privatePage(state(req))));
      app.get('/api/private', requireAuth(), (req, res) => void res.json(userBody(state(req))));
      app.get('/admin', requireRole('admin'), (_req, res) => void res.json({ ok: true }));
      app.get('/perm', requirePermission('docs:read'), (_req, res) => void res.json({ ok: true }));
      return { listener: app, close: async () => {} };
    }
    case 'hono': {
      const { sesame, requireAuth, requireRole, requirePermission } = honoAdapter;
      const app = new Hono<{ Variables: honoAdapter.SesameVariables }>();
      app.use(sesame(auth));
      app.get('/', (c) => c.json(statusBody(c.get('auth'))));
      app.get('/private', requireAuth(), (c) => c.html(privatePage(c.get('auth'))));
      app.get('/api/private', requireAuth(), (c) => c.json(userBody(c.get('auth'))));
      app.get('/admin', requireRole('admin'), (c) => c.json({ ok: true }));
      app.get('/perm', requirePermission('docs:read'), (c) => c.json({ ok: true }));
      return { listener: getRequestListener(app.fetch), close: async () => {} };
    }
    case 'fastify': {
      const { sesame, requireAuth, requireRole, requirePermission } = fastifyAdapter;
      let listener: RequestListener | null = null;
      // fastify keeps its own server: hand it a stand-in and take its request handler.
      const app = Fastify({
        serverFactory: (handler) => {
          listener = handler;
          return createServer();
        },
      });
      await app.register(sesame, auth);
      app.get('/', async (request) => statusBody(request.auth));
      app.get('/private', { preHandler: requireAuth() }, async (request, reply) =>
        reply.type('text/html').send(privatePage(request.auth)),
      );
      app.get('/api/private', { preHandler: requireAuth() }, async (request) => userBody(request.auth));
      app.get('/admin', { preHandler: requireRole('admin') }, async () => ({ ok: true }));
      app.get('/perm', { preHandler: requirePermission('docs:read') }, async () => ({ ok: true }));
      await app.ready();
      if (!listener) throw new Error('fastify did not call serverFactory');
      return { listener, close: () => app.close() };
    }
    case 'next': {
      // As Next calls them: the middleware first, then the route handler of the path, over web
      // Request/Response (NextRequest).
      const { createRouteHandlers, getAuth, requireAuth, requirePermission, requireRole, sesameMiddleware } =
        nextAdapter;
      const authRoutes = createRouteHandlers(auth);
      const middleware = sesameMiddleware(auth, { protect: (pathname) => protectedPaths.has(pathname) });
      const pages: Record<string, (request: NextRequest) => Promise<Response>> = {
        // As a server component would: from the request headers alone.
        '/': async (request) => Response.json(statusBody(await getAuth(request.headers, auth))),
        '/private': async (request) => {
          const result = await requireAuth(request, auth);
          if (!result.ok) return result.response;
          return new Response(privatePage(result.auth), {
            headers: { 'content-type': 'text/html; charset=utf-8' },
          });
        },
        '/api/private': async (request) => {
          const result = await requireAuth(request, auth);
          return result.ok ? Response.json(userBody(result.auth)) : result.response;
        },
        '/admin': async (request) => {
          const result = await requireRole(request, 'admin', auth);
          return result.ok ? Response.json({ ok: true }) : result.response;
        },
        '/perm': async (request) => {
          const result = await requirePermission(request, 'docs:read', auth);
          return result.ok ? Response.json({ ok: true }) : result.response;
        },
      };
      const listener: RequestListener = (req, res) => {
        void (async () => {
          const request = new NextRequest(
            await toWebRequest(req, { url: `http://${req.headers.host}${req.url}` }),
          );
          const early = await middleware(request.clone());
          if (early.headers.get('x-middleware-next') !== '1') return sendWebResponse(res, early);
          const { pathname } = request.nextUrl;
          let response: Response;
          if (pathname.startsWith('/auth/')) {
            const handler =
              request.method === 'GET' ? authRoutes.GET : request.method === 'POST' ? authRoutes.POST : null;
            response = handler ? await handler(request) : new Response(null, { status: 405 });
          } else {
            const page = request.method === 'GET' ? pages[pathname] : undefined;
            response = page ? await page(request) : new Response('Not found', { status: 404 });
          }
          await sendWebResponse(res, response);
        })().catch((err: unknown) => {
          res.statusCode = 500;
          res.end(String(err));
        });
      };
      return { listener, close: async () => {} };
    }
  }
}

/**
 * Starts the test app with `adapter` on 127.0.0.1, registered at `provider` for its callback:
 * `/` (public, JSON status), `/private` (signed in, HTML with the email), `/api/private` (signed
 * in, JSON), `/admin` (role admin), `/perm` (permission docs:read). The SDK reads the provider's
 * clock.
 */
export async function startAppWithAdapter(
  adapter: AdapterName,
  provider: TestProvider,
  options: TestAppOptions = {},
): Promise<TestApp> {
  let listener: RequestListener | null = null;
  const node = createServer((req, res) => {
    if (listener) listener(req, res);
    else res.writeHead(503).end();
  });
  await new Promise<void>((resolve) => node.listen(0, '127.0.0.1', resolve));
  const url = `http://127.0.0.1:${(node.address() as AddressInfo).port}`;
  const { clientId, clientSecret } = await provider.registerApp({
    redirectUri: `${url}/auth/callback`,
    postLogoutRedirectUri: `${url}/`,
    ...(options.accessTokenTtl ? { accessTokenTtl: options.accessTokenTtl } : {}),
  });
  const logs: TestApp['logs'] = [];
  const auth = new SesameAuth({
    envUrl: provider.issuer,
    clientId,
    clientSecret,
    redirectUri: `${url}/auth/callback`,
    postLogoutRedirectUri: `${url}/`,
    cookieSecret: randomBytes(32).toString('base64url'),
    // Ports share one cookie jar: every app names its cookies apart.
    cookiePrefix: `flow_${adapter}_${++appCount}`,
    now: provider.clock.now,
    logger: {
      warn: (obj, msg) => void logs.push({ msg, obj }),
      error: (obj, msg) => void logs.push({ msg, obj }),
    },
    ...(options.sessionStore ? { sessionStore: options.sessionStore } : {}),
  });
  const built = await buildListener(adapter, auth);
  listener = built.listener;
  return {
    adapter,
    url,
    auth,
    clientId,
    cookies: auth.cookieNames,
    logs,
    close: async () => {
      await built.close();
      await new Promise<void>((resolve) => {
        node.close(() => resolve());
        node.closeAllConnections();
      });
    },
  };
}
