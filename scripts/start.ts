// `npm start`: the identity server on SQLite under ./data with a demo app and a demo user,
// ready to sign in to within a minute. Reads the environment like `sesame start` does, with
// development defaults (ENV_URL http://localhost:8080, a server secret generated once under ./data).
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { serve } from '@hono/node-server';
import {
  createApp,
  createLogger,
  createServerContext,
  createUserWithOrganization,
  listen,
  loadConfig,
  openStore,
  registerClient,
  runUpkeep,
  type ServerContext,
  scheduleUpkeep,
  startLogoutDelivery,
} from '@sesame/server';
import { createSecondApp } from '../examples/second-app/src/app.ts';
import { createWebApp } from '../examples/web-app/src/app.ts';

const dataDir = resolve(process.env['SESAME_DATA_DIR'] ?? 'data');
mkdirSync(dataDir, { recursive: true, mode: 0o700 });

/** A value kept under ./data across restarts, created on first use. */
function persisted(name: string, create: () => string): string {
  const path = resolve(dataDir, name);
  if (existsSync(path)) return readFileSync(path, 'utf8').trim();
  const value = create();
  writeFileSync(path, `${value}\n`, { mode: 0o600 });
  return value;
}

const demo = {
  email: 'demo@example.com',
  password: 'sesame-demo-password',
  name: 'Demo Person',
  webApp: { name: 'Demo web app', port: 3000 },
  secondApp: { name: 'Second demo app', port: 3001 },
};

const env = {
  ENV_URL: 'http://localhost:8080',
  DATABASE_URL: resolve(dataDir, 'sesame.db'),
  SESAME_SECRET: persisted('secret', () => randomBytes(32).toString('base64url')),
  LOG_LEVEL: 'warn',
  ...Object.fromEntries(Object.entries(process.env).filter(([, v]) => v !== undefined && v !== '')),
};
const config = loadConfig({ env });
const logger = createLogger(config.logLevel);
const ctx = await createServerContext(config, { logger, store: await openStore(config, { logger }) });

/** The demo app's credentials, registered once and remembered under ./data. */
async function ensureDemoApp(context: ServerContext, app: { name: string; port: number }, file: string) {
  const path = resolve(dataDir, file);
  if (existsSync(path)) {
    const saved = JSON.parse(readFileSync(path, 'utf8')) as { clientId: string; clientSecret: string };
    if (await context.store.clients.get(saved.clientId)) return saved;
  }
  const origin = `http://localhost:${app.port}`;
  const { client, secret } = await registerClient(
    context.store,
    {
      type: 'web',
      name: app.name,
      redirectUris: [`${origin}/auth/callback`],
      postLogoutRedirectUris: [`${origin}/`],
      initiateLoginUri: `${origin}/auth/login`,
      backchannelLogoutUri: `${origin}/auth/backchannel-logout`,
      allowManagementApi: true,
    },
    context.config.now(),
  );
  const saved = { clientId: client.id, clientSecret: secret as string };
  writeFileSync(path, `${JSON.stringify(saved, null, 2)}\n`, { mode: 0o600 });
  return saved;
}

const webApp = await ensureDemoApp(ctx, demo.webApp, 'demo-web-app.json');
const secondApp = await ensureDemoApp(ctx, demo.secondApp, 'demo-second-app.json');
if (!(await ctx.store.users.getByEmail(demo.email))) {
  await createUserWithOrganization(ctx, {
    email: demo.email,
    name: demo.name,
    passwordHash: await ctx.passwords.hash(demo.password),
    emailVerified: true,
  });
}

await runUpkeep(ctx);
const stopUpkeep = scheduleUpkeep(ctx);
const stopDelivery = startLogoutDelivery(ctx);
const server = await listen(createApp(ctx), { port: config.port, host: config.host });

const cookieSecret = persisted('cookie-secret', () => randomBytes(32).toString('base64url'));
const webAppUrl = `http://localhost:${demo.webApp.port}`;
const webAppServer = createWebApp({
  appName: 'Sesame demo',
  auth: {
    envUrl: config.envUrl,
    clientId: webApp.clientId,
    clientSecret: webApp.clientSecret,
    redirectUri: `${webAppUrl}/auth/callback`,
    postLogoutRedirectUri: `${webAppUrl}/`,
    cookieSecret,
    cookiePrefix: 'webapp',
  },
}).listen(demo.webApp.port);
await new Promise((resolve, reject) => webAppServer.once('listening', resolve).once('error', reject));
const secondAppUrl = `http://localhost:${demo.secondApp.port}`;
const secondAppServer = serve({
  fetch: createSecondApp({
    appName: 'Second demo app',
    auth: {
      envUrl: config.envUrl,
      clientId: secondApp.clientId,
      clientSecret: secondApp.clientSecret,
      redirectUri: `${secondAppUrl}/auth/callback`,
      postLogoutRedirectUri: `${secondAppUrl}/`,
      cookieSecret,
      // localhost ports share one cookie jar: each app needs its own cookie names.
      cookiePrefix: 'secondapp',
    },
  }).fetch,
  port: demo.secondApp.port,
});

console.log(`
Sesame is running (SQLite: ${config.databaseUrl})

  Identity server   ${config.envUrl}
  Discovery         ${config.envUrl}/.well-known/openid-configuration
  Keys (JWKS)       ${config.envUrl}/keys

  Demo web app      client_id     ${webApp.clientId}
                    client_secret ${webApp.clientSecret}
  Second demo app   client_id     ${secondApp.clientId}
                    client_secret ${secondApp.clientSecret}

  Demo user         ${demo.email} / ${demo.password}

  Example web app   ${webAppUrl}   (Sign in → the hosted login page → the dashboard)
  Second app        ${secondAppUrl}   (signs in without a password once you are signed in above)

Press Ctrl+C to stop.
`);

const stop = async () => {
  stopUpkeep();
  webAppServer.close();
  secondAppServer.close();
  await server.close();
  await stopDelivery();
  await ctx.store.close();
  process.exit(0);
};
process.once('SIGINT', stop);
process.once('SIGTERM', stop);
