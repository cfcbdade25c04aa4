import { Hono } from 'hono';
import { bodyLimit } from 'hono/body-limit';
import type { ServerContext } from '../context.ts';
import { mountManagementApi, tooLargeForManagementApi } from '../management/index.ts';
import { toOAuthError } from '../protocol/errors.ts';
import type { AppEnv } from './env.ts';
import { loginRoutes } from './login/routes.ts';
import { clientAddress } from './middleware/client-address.ts';
import { requestLog } from './middleware/request-log.ts';
import { securityHeaders } from './middleware/security-headers.ts';
import { brandingOf, buildStylesheet, type PageChrome, sendPage } from './pages.ts';
import { authorizeRoutes } from './routes/authorize.ts';
import { sendJsonError } from './routes/json-errors.ts';
import { logoutRoutes } from './routes/logout.ts';
import { metadataRoutes } from './routes/metadata.ts';
import { tokenRoutes } from './routes/token.ts';
import { renderErrorPage } from './views/error-page.ts';

/** Endpoints that answer JSON; everything else answers HTML pages. */
const jsonPaths = /^\/(oauth\/(token|revoke|introspect)|userinfo|keys|health|\.well-known\/|api\/)/;

/**
 * The whole server as one fetch handler. Listening on a port is `main.ts`'s business; tests call
 * `app.request(...)` or serve it on a loopback port.
 */
export function createApp(ctx: ServerContext): Hono<AppEnv> {
  const stylesheet = buildStylesheet(ctx.config);
  const chrome: PageChrome = { branding: brandingOf(ctx.config), stylesheetHref: stylesheet.href };
  // Some clients build URLs by concatenation (`${ENV_URL}/oauth/authorize` with a trailing slash).
  const app = new Hono<AppEnv>({ getPath: (req) => collapseSlashes(pathOf(req.url)) });

  app.use('*', async (c, next) => {
    c.set('ctx', ctx);
    c.set('scriptNonce', undefined);
    await next();
  });
  app.use('*', requestLog());
  app.use('*', securityHeaders({ hsts: ctx.config.secureCookies }));
  app.use('*', clientAddress({ trustProxy: ctx.config.trustProxy }));
  const maxBodySize = 64 * 1024;
  const limitBody = bodyLimit({
    maxSize: maxBodySize,
    onError: (c) => {
      const path = collapseSlashes(new URL(c.req.url).pathname);
      if (path.startsWith('/api/')) return tooLargeForManagementApi(c);
      if (jsonPaths.test(path)) {
        return c.json({ error: 'invalid_request', error_description: 'The request body is too large' }, 413);
      }
      return sendPage(
        c,
        400,
        renderErrorPage,
        {
          title: 'Request too large',
          message: 'The request was too large to process.',
          code: 'invalid_request',
        },
        chrome,
      );
    },
  });
  app.use('*', (c, next) => {
    // Only a body without a declared length within bounds needs bodyLimit's stream check: reading
    // `body` turns @hono/node-server's light request into a full web Request (a fifth of the cost
    // of a small request), so GET and HEAD, and declared lengths, are checked here.
    if (c.req.method === 'GET' || c.req.method === 'HEAD') return next();
    const length = c.req.header('content-length');
    if (
      length !== undefined &&
      c.req.header('transfer-encoding') === undefined &&
      Number.parseInt(length || '0', 10) <= maxBodySize
    ) {
      return next();
    }
    return limitBody(c, next);
  });

  app.get('/assets/sesame.css', (c) => {
    c.header('Content-Type', 'text/css; charset=utf-8');
    c.header('Cache-Control', 'public, max-age=31536000, immutable');
    return c.body(stylesheet.css);
  });

  metadataRoutes(app);
  tokenRoutes(app);
  authorizeRoutes(app, chrome);
  loginRoutes(app, chrome);
  logoutRoutes(app, chrome);
  mountManagementApi(app, ctx);

  app.get('/', (c) => c.redirect('/.well-known/openid-configuration'));

  app.notFound((c) => {
    if (jsonPaths.test(c.req.path)) {
      return c.json({ error: 'invalid_request', error_description: 'Not found' }, 404);
    }
    return sendPage(
      c,
      404,
      renderErrorPage,
      { title: 'Page not found', message: 'There is nothing at this address.', code: null },
      chrome,
    );
  });

  app.onError((err, c) => {
    if (jsonPaths.test(c.req.path)) return sendJsonError(c, err);
    const error = toOAuthError(err);
    ctx.logger.error({ err: error.cause ?? err, requestId: c.get('requestId') }, 'request failed');
    const unavailable = error.code === 'temporarily_unavailable';
    if (unavailable) c.header('Retry-After', '5');
    return sendPage(
      c,
      unavailable ? 503 : 500,
      renderErrorPage,
      {
        title: unavailable ? 'Temporarily unavailable' : 'Something went wrong',
        message: unavailable
          ? 'The sign-in service is briefly unavailable. Please try again in a moment.'
          : 'An unexpected error occurred. Please go back to the app and try again.',
        code: error.code,
      },
      chrome,
    );
  });

  return app;
}

function pathOf(url: string): string {
  const start = url.indexOf('/', url.indexOf('://') + 3);
  if (start < 0) return '/';
  const end = url.search(/[?#]/);
  return end < 0 ? url.slice(start) : url.slice(start, end);
}

function collapseSlashes(path: string): string {
  return path.includes('//') ? path.replace(/\/{2,}/g, '/') : path;
}
