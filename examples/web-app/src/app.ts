import { fileURLToPath } from 'node:url';
import { browserRefreshHelper, type SesameAuthOptions } from '@sesame/sdk';
import { requireAuth, SesameAuth, sesame } from '@sesame/sdk/express';
import express from 'express';
import { dashboardPage, homePage } from './pages.ts';

export interface WebAppOptions {
  /** The SDK's options: the seed's ENV_URL, client id and secret, callback URL, cookie secret. */
  auth: SesameAuthOptions;
  appName?: string;
}

/** The seed's web application, step by step. */
export function createWebApp(options: WebAppOptions): express.Express {
  const appName = options.appName ?? 'Sesame demo';
  const now = options.auth.now ?? (() => new Date());
  const app = express();
  app.disable('x-powered-by');
  app.use((_req, res, next) => {
    res.setHeader(
      'Content-Security-Policy',
      "default-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'",
    );
    res.setHeader('X-Content-Type-Options', 'nosniff');
    res.setHeader('Referrer-Policy', 'no-referrer');
    next();
  });
  app.use(express.static(fileURLToPath(new URL('../public', import.meta.url)), { index: false }));
  app.get('/sesame.js', (_req, res) => {
    res.type('application/javascript').send(browserRefreshHelper());
  });

  // Steps 1–4 of the seed: /auth/login, /auth/callback, /auth/refresh, /auth/logout (and the
  // back-channel logout receiver) are served by the SDK; every other request is authenticated.
  const auth = new SesameAuth(options.auth);
  app.use(sesame(auth));

  app.get('/', (req, res) => {
    res.type('html').send(homePage(appName, req.auth?.status === 'authenticated' ? req.auth.user : null));
  });

  // Step 3: validate the access token on each request (requireAuth refreshes or signs in as needed).
  app.get('/dashboard', requireAuth(), (req, res) => {
    const state = req.auth;
    if (state?.status !== 'authenticated') return;
    res.setHeader('Cache-Control', 'no-store');
    res
      .type('html')
      .send(dashboardPage(appName, state.user, state.expiresAt, Math.floor(now().getTime() / 1000)));
  });

  // A protected JSON route: 401 `token_expired` makes the browser helper refresh and retry.
  app.get('/api/me', requireAuth(), (req, res) => {
    const state = req.auth;
    if (state?.status !== 'authenticated') return;
    res.setHeader('Cache-Control', 'no-store');
    const expiresIn = state.expiresAt - Math.floor(now().getTime() / 1000);
    res.json({
      user: state.user,
      access_token_expires_at: state.expiresAt,
      access_token_expires_in: expiresIn,
    });
  });

  return app;
}
