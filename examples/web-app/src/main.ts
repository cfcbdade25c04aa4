// Runs the example web app: `ENV_URL`, `CLIENT_ID`, `CLIENT_SECRET`, `COOKIE_SECRET` (and
// optionally `PORT`, `APP_URL`, `APP_NAME`, `COOKIE_PREFIX`) from the environment.
import { optionsFromEnv } from '@sesame/sdk';
import { createWebApp } from './app.ts';

const port = Number(process.env['PORT'] ?? 3000);
const appUrl = process.env['APP_URL'] ?? `http://localhost:${port}`;
const app = createWebApp({
  appName: process.env['APP_NAME'] ?? 'Sesame demo',
  auth: optionsFromEnv(process.env, {
    redirectUri: process.env['REDIRECT_URI'] ?? `${appUrl}/auth/callback`,
    postLogoutRedirectUri: process.env['POST_LOGOUT_REDIRECT_URI'] ?? `${appUrl}/`,
  }),
});
app.listen(port, () => console.log(`Example web app on ${appUrl}`));
