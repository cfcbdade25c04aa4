// The two example apps as the browser meets them: `createWebApp` (Express) and `createSecondApp`
// (Hono), each on a loopback port, registered at Sesame with a back-channel logout URI.
import { randomBytes } from 'node:crypto';
import { createServer, type RequestListener, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { getRequestListener } from '@hono/node-server';
import { createSecondApp } from '../../examples/second-app/src/app.ts';
import { createWebApp } from '../../examples/web-app/src/app.ts';
import type { SesameAuthOptions } from '../../packages/sdk/src/options.ts';
import { MemoryRevocationStore } from '../../packages/sdk/src/revocation-store-memory.ts';
import type { RegisteredClient, TestServer } from '../../packages/server/test/support/server.ts';

/** One example app on 127.0.0.1, reached by the browser at `http://<host>:<port>`. */
export interface ExampleApp {
  /** The origin the browser uses (`*.localhost`: its own site, apart from Sesame's 127.0.0.1). */
  url: string;
  port: number;
  client: RegisteredClient;
  /** The app's back-channel logout record (the SDK's default store, handed in to be looked at). */
  revocations: MemoryRevocationStore;
  /** Stops listening (the port stays reserved for `start`). */
  stop(): Promise<void>;
  /** Listens again on the same port, as a restarted process would. */
  start(): Promise<void>;
  close(): Promise<void>;
}

/**
 * Starts an example app. Sesame posts its back-channel notices from Node, which does not resolve
 * `*.localhost`, so the back-channel logout URI names 127.0.0.1 while the browser uses `host`.
 * Access tokens live an hour: within a test only the back channel can sign the browser out.
 */
export async function startExampleApp(
  server: TestServer,
  kind: 'web' | 'second',
  host: string,
): Promise<ExampleApp> {
  let listener: RequestListener | null = null;
  let node: Server | null = null;
  let port = 0;
  const listen = async () => {
    const next = createServer((req, res) => {
      if (listener) listener(req, res);
      else res.writeHead(503).end();
    });
    await new Promise<void>((resolve, reject) => {
      next.once('error', reject);
      next.listen(port, '127.0.0.1', () => resolve());
    });
    node = next;
    port = (next.address() as AddressInfo).port;
  };
  const stop = () =>
    new Promise<void>((resolve) => {
      const current = node;
      node = null;
      if (!current) return resolve();
      current.close(() => resolve());
      current.closeAllConnections();
    });
  await listen();
  const url = `http://${host}:${port}`;
  const client = await server.registerClient({
    type: 'web',
    name: kind === 'web' ? 'Sesame demo' : 'Second app',
    redirectUris: [`${url}/auth/callback`],
    postLogoutRedirectUris: [`${url}/`],
    backchannelLogoutUri: `http://127.0.0.1:${port}/auth/backchannel-logout`,
    accessTokenTtl: 3600,
  });
  const revocations = new MemoryRevocationStore();
  const auth: SesameAuthOptions = {
    envUrl: server.url,
    clientId: client.id,
    clientSecret: client.secret ?? '',
    redirectUri: `${url}/auth/callback`,
    postLogoutRedirectUri: `${url}/`,
    cookieSecret: randomBytes(32).toString('base64url'),
    cookiePrefix: kind === 'web' ? 'webapp' : 'secondapp',
    revocationStore: revocations,
    now: server.clock.now,
    logger: { warn: () => {}, error: () => {} },
  };
  listener = kind === 'web' ? createWebApp({ auth }) : getRequestListener(createSecondApp({ auth }).fetch);
  return { url, port, client, revocations, stop, start: listen, close: stop };
}
