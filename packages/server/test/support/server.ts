import type { AddressInfo } from 'node:net';
import { Writable } from 'node:stream';
import { serve } from '@hono/node-server';
import { createUserWithOrganization } from '../../src/accounts/sign-up.ts';
import { createServerContext } from '../../src/assemble.ts';
import { registerClient } from '../../src/clients/register-client.ts';
import type { Config } from '../../src/config/config.ts';
import { loadConfig } from '../../src/config/load.ts';
import type { ServerContext } from '../../src/context.ts';
import { createApp } from '../../src/http/app.ts';
import { startLogoutDelivery } from '../../src/jobs.ts';
import { createLogger } from '../../src/logger.ts';
import type { Store } from '../../src/storage/store.ts';
import type { Client } from '../../src/storage/types.ts';

/** A test clock: starts at the real time, moves only when told. */
export interface TestClock {
  now(): Date;
  advance(seconds: number): void;
}

export interface RegisteredClient {
  id: string;
  secret: string | null;
  redirectUri: string;
  postLogoutRedirectUri: string;
  client: Client;
}

/** A live Sesame server on a loopback port, with a fake clock and captured logs. */
export interface TestServer {
  url: string;
  ctx: ServerContext;
  config: Config;
  store: Store;
  clock: TestClock;
  logs: string[];
  web: RegisteredClient;
  web2: RegisteredClient;
  spa: RegisteredClient;
  native: RegisteredClient;
  m2m: RegisteredClient;
  user: { id: string; email: string; password: string; organizationId: string };
  registerClient(input: Parameters<typeof registerClient>[1]): Promise<RegisteredClient>;
  createUser(input: {
    email: string;
    password: string;
    name?: string;
    organizationId?: string;
    role?: string;
  }): Promise<{ id: string; organizationId: string }>;
  close(): Promise<void>;
}

const secret = 'test-secret-test-secret-test-secret-0123456789';

/**
 * Starts a server on 127.0.0.1 with SQLite (in memory unless `databaseUrl` says otherwise), a demo
 * user and one app of each kind.
 */
export async function startTestServer(
  options: {
    env?: Record<string, string>;
    databaseUrl?: string;
    store?: Store;
    /** Called with each delay a slowed-down sign-in asks for (the sleep itself stays instant). */
    onSleep?: (ms: number) => void;
  } = {},
): Promise<TestServer> {
  let current = new Date(Math.floor(Date.now() / 1000) * 1000);
  const clock: TestClock = {
    now: () => new Date(current.getTime()),
    advance: (seconds) => {
      current = new Date(current.getTime() + seconds * 1000);
    },
  };
  // The node bindings (`env`) are passed on as in production, so the app sees the client's address.
  let handler: ((req: Request, env: object) => Response | Promise<Response>) | null = null;
  const node = serve({
    fetch: (req, env) => (handler ? handler(req, env) : new Response('starting', { status: 503 })),
    port: 0,
    hostname: '127.0.0.1',
  });
  const port = await new Promise<number>((resolve) => {
    if (node.listening) resolve((node.address() as AddressInfo).port);
    else node.once('listening', () => resolve((node.address() as AddressInfo).port));
  });
  const url = `http://127.0.0.1:${port}`;
  const config = loadConfig({
    env: {
      ENV_URL: url,
      SESAME_SECRET: secret,
      DATABASE_URL: options.databaseUrl ?? ':memory:',
      LOG_LEVEL: 'info',
      SESAME_JWKS_MAX_AGE: '60',
      ...options.env,
    },
    now: clock.now,
  });
  const logs: string[] = [];
  const sink = new Writable({
    write(chunk, _enc, done) {
      logs.push(...String(chunk).split('\n').filter(Boolean));
      done();
    },
  });
  const ctx = await createServerContext(config, {
    logger: createLogger(config.logLevel, sink),
    sleep: async (ms: number) => {
      options.onSleep?.(ms);
    },
    ...(options.store ? { store: options.store } : {}),
  });
  const app = createApp(ctx);
  handler = (req, env) => app.fetch(req, env);
  // Back-channel logout notices go out as in production: a worker woken when a session ends.
  const stopDelivery = startLogoutDelivery(ctx);

  const register = async (input: Parameters<typeof registerClient>[1]): Promise<RegisteredClient> => {
    const { client, secret: clientSecret } = await registerClient(ctx.store, input, clock.now());
    return {
      id: client.id,
      secret: clientSecret,
      redirectUri: client.redirectUris[0] ?? '',
      postLogoutRedirectUri: client.postLogoutRedirectUris[0] ?? '',
      client,
    };
  };
  const createUser = async (input: {
    email: string;
    password: string;
    name?: string;
    organizationId?: string;
    role?: string;
  }) => {
    const passwordHash = await ctx.passwords.hash(input.password);
    const { user, organizationId } = await createUserWithOrganization(ctx, {
      email: input.email,
      name: input.name ?? 'Test Person',
      passwordHash,
      emailVerified: true,
      ...(input.organizationId ? { organizationId: input.organizationId } : {}),
      ...(input.role ? { role: input.role } : {}),
    });
    return { id: user.id, organizationId };
  };

  const web = await register({
    type: 'web',
    name: 'Web App',
    redirectUris: ['http://localhost:3000/auth/callback'],
    postLogoutRedirectUris: ['http://localhost:3000/'],
    initiateLoginUri: 'http://localhost:3000/auth/login',
  });
  const web2 = await register({
    type: 'web',
    name: 'Second App',
    redirectUris: ['http://localhost:3001/auth/callback'],
    postLogoutRedirectUris: ['http://localhost:3001/'],
  });
  const spa = await register({
    type: 'spa',
    name: 'Single Page App',
    redirectUris: ['http://localhost:5173/callback'],
    postLogoutRedirectUris: ['http://localhost:5173/'],
  });
  const native = await register({
    type: 'native',
    name: 'Native App',
    redirectUris: ['http://127.0.0.1/callback', 'com.example.app:/callback'],
  });
  const m2m = await register({ type: 'm2m', name: 'Machine', allowedScopes: ['read:users', 'write:users'] });
  const password = 'correct horse battery staple';
  const created = await createUser({ email: 'ada@example.com', password, name: 'Ada Lovelace' });

  return {
    url,
    ctx,
    config,
    store: ctx.store,
    clock,
    logs,
    web,
    web2,
    spa,
    native,
    m2m,
    user: { id: created.id, email: 'ada@example.com', password, organizationId: created.organizationId },
    registerClient: register,
    createUser,
    close: async () => {
      await new Promise<void>((resolve) => {
        node.close(() => resolve());
        if ('closeAllConnections' in node) (node as { closeAllConnections(): void }).closeAllConnections();
      });
      await stopDelivery();
      await ctx.store.close();
    },
  };
}
