// Runs the second example app: `ENV_URL`, `CLIENT_ID`, `CLIENT_SECRET`, `COOKIE_SECRET` (and
// optionally `PORT`, `APP_URL`) from the environment.
import { serve } from '@hono/node-server';
import { optionsFromEnv } from '@sesame/sdk';
import { createSecondApp } from './app.ts';

const port = Number(process.env['PORT'] ?? 3001);
const appUrl = process.env['APP_URL'] ?? `http://localhost:${port}`;
const app = createSecondApp({
  auth: optionsFromEnv(process.env, {
    redirectUri: `${appUrl}/auth/callback`,
    postLogoutRedirectUri: `${appUrl}/`,
    cookiePrefix: process.env['COOKIE_PREFIX'] ?? 'secondapp',
  }),
});
serve({ fetch: app.fetch, port }, () => console.log(`Second app on ${appUrl}`));
