// Test support for back-channel logout: a stand-in for the apps' receivers, and the sign-in and
// logout steps the tests share.
import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createRemoteJWKSet, type JWTPayload, jwtVerify } from 'jose';
import { deliverDueLogouts } from '../../src/backchannel/deliver.ts';
import type { LogoutDelivery } from '../../src/storage/types.ts';
import { Agent, authorizationCode, exchangeCode, signInAndExchange } from '../support/agent.ts';
import type { RegisteredClient, TestServer } from '../support/server.ts';

/** How a receiver answers: 200, 503, never, by dropping the connection, or with a redirect. */
export type ReceiverMode = 'ok' | 'unavailable' | 'hang' | 'close' | 'redirect';

/** One request a receiver got, and what it answered (`null`: it hung or dropped the connection). */
export interface ReceivedRequest {
  method: string;
  path: string;
  contentType: string;
  body: string;
  /** The form's `logout_token`, if the body was a form holding one. */
  logoutToken: string | null;
  answered: number | null;
  /** `performance.now()` when the request arrived. */
  at: number;
}

/** A node:http server on 127.0.0.1 that records every request. */
export interface Receiver {
  url: string;
  requests: ReceivedRequest[];
  mode: ReceiverMode;
  /** The back-channel logout URI of one app on this receiver. */
  uri(app: string): string;
  /** Requests to one app's URI (every one, whatever was answered). */
  to(app: string): ReceivedRequest[];
  /** Requests to one app's URI that were answered 200: the deliveries. */
  deliveredTo(app: string): ReceivedRequest[];
  close(): Promise<void>;
}

/** Starts a receiver, answering `mode` (changeable at any time through `receiver.mode`). */
export async function startReceiver(mode: ReceiverMode = 'ok'): Promise<Receiver> {
  const requests: ReceivedRequest[] = [];
  const node: Server = createServer((req, res) => {
    void readBody(req).then((body) => {
      const contentType = req.headers['content-type'] ?? '';
      const entry: ReceivedRequest = {
        method: req.method ?? '',
        path: new URL(req.url ?? '/', 'http://receiver').pathname,
        contentType,
        body,
        logoutToken: contentType.startsWith('application/x-www-form-urlencoded')
          ? new URLSearchParams(body).get('logout_token')
          : null,
        answered: null,
        at: performance.now(),
      };
      requests.push(entry);
      switch (receiver.mode) {
        case 'ok':
          entry.answered = 200;
          res.writeHead(200, { 'cache-control': 'no-store' }).end();
          return;
        case 'unavailable':
          entry.answered = 503;
          res.writeHead(503, { 'content-type': 'text/plain' }).end('down for maintenance');
          return;
        case 'redirect':
          entry.answered = 302;
          res.writeHead(302, { location: `${receiver.url}/redirected` }).end();
          return;
        case 'close':
          req.socket.destroy();
          return;
        case 'hang':
          return;
      }
    });
  });
  await new Promise<void>((resolve) => node.listen(0, '127.0.0.1', resolve));
  const url = `http://127.0.0.1:${(node.address() as AddressInfo).port}`;
  const receiver: Receiver = {
    url,
    requests,
    mode,
    uri: (app) => `${url}/${app}/backchannel-logout`,
    to: (app) => requests.filter((r) => r.path === `/${app}/backchannel-logout`),
    deliveredTo: (app) => receiver.to(app).filter((r) => r.answered === 200),
    close: () =>
      new Promise<void>((resolve) => {
        node.close(() => resolve());
        node.closeAllConnections();
      }),
  };
  return receiver;
}

async function readBody(req: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}

/**
 * Waits until `check` holds, looking every 10 ms: the worker runs off the request path, so its
 * effects show up a little after the request that caused them. Fails after `timeoutMs`.
 */
export async function waitUntil(
  what: string,
  check: () => boolean | Promise<boolean>,
  timeoutMs = 5_000,
): Promise<void> {
  const deadline = performance.now() + timeoutMs;
  while (!(await check())) {
    if (performance.now() > deadline) throw new Error(`timed out waiting until ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

/** The payload of a JWT, unverified. */
export function decodeClaims(jwt: string): Record<string, unknown> {
  const payload = jwt.split('.')[1] ?? '';
  return JSON.parse(Buffer.from(payload, 'base64url').toString('utf8')) as Record<string, unknown>;
}

/** Registers a web app, with a back-channel logout URI when one is given. */
export function registerApp(
  server: TestServer,
  name: string,
  backchannelLogoutUri: string | null,
): Promise<RegisteredClient> {
  const slug = name.toLowerCase().replace(/[^a-z0-9]+/g, '-');
  return server.registerClient({
    type: 'web',
    name,
    redirectUris: [`http://${slug}.localhost:4000/auth/callback`],
    postLogoutRedirectUris: [`http://${slug}.localhost:4000/`],
    backchannelLogoutUri,
  });
}

/** A browser signed in to some apps through one sign-in (single sign-on for all but the first). */
export interface SignedInBrowser {
  agent: Agent;
  /** The provider session id (the ID tokens' `sid`). */
  sid: string;
  /** Each app's ID token, by client id. */
  idTokens: Map<string, string>;
}

/** Signs in to the first app with a password, then to the others by single sign-on. */
export async function signInToApps(
  server: TestServer,
  apps: RegisteredClient[],
  credentials: { email: string; password: string } = server.user,
): Promise<SignedInBrowser> {
  const [first, ...others] = apps;
  if (!first) throw new TypeError('signInToApps needs at least one app');
  const agent = new Agent();
  const idTokens = new Map<string, string>();
  if (credentials === server.user) {
    const tokens = await signInAndExchange(agent, server, { client: first });
    idTokens.set(first.id, tokens['id_token'] as string);
  } else {
    const code = await authorizationCode(agent, server, appParams(first), credentials);
    const { body } = await exchangeCode(server, first, code);
    idTokens.set(first.id, body['id_token'] as string);
  }
  for (const app of others) {
    // The session cookie is sent along: no password this time.
    const code = await authorizationCode(agent, server, appParams(app));
    const { status, body } = await exchangeCode(server, app, code);
    if (status !== 200) throw new Error(`token exchange failed: ${JSON.stringify(body)}`);
    idTokens.set(app.id, body['id_token'] as string);
  }
  const sid = decodeClaims(idTokens.get(first.id) as string)['sid'] as string;
  return { agent, sid, idTokens };
}

function appParams(app: RegisteredClient) {
  return { client_id: app.id, redirect_uri: app.redirectUri, state: 'st', nonce: 'n-0S6_WzA2Mj' };
}

/** RP-initiated logout with an ID token hint, as the app would send the browser; returns the answer. */
export async function logout(
  server: TestServer,
  browser: SignedInBrowser,
  app: RegisteredClient,
): Promise<Response> {
  const query = new URLSearchParams({
    id_token_hint: browser.idTokens.get(app.id) as string,
    post_logout_redirect_uri: app.postLogoutRedirectUri,
  });
  return browser.agent.fetch(`${server.url}/oidc/logout?${query}`);
}

/** The outbox rows of one session. */
export async function deliveriesOf(server: TestServer, sessionId: string): Promise<LogoutDelivery[]> {
  return (await server.store.logoutDeliveries.list({ limit: 100 }, { sessionId })).items;
}

/** Waits until every outbox row of a session is settled the given way. */
export async function waitForDeliveries(
  server: TestServer,
  sessionId: string,
  check: (deliveries: LogoutDelivery[]) => boolean,
  what = 'the deliveries settle',
  timeoutMs = 5_000,
): Promise<LogoutDelivery[]> {
  let last: LogoutDelivery[] = [];
  await waitUntil(
    what,
    async () => {
      last = await deliveriesOf(server, sessionId);
      return check(last);
    },
    timeoutMs,
  );
  return last;
}

/**
 * Runs one delivery round in the test itself and awaits it: whatever is due now is sent before
 * this returns, so "nothing more arrives" can be asserted without waiting on a timer.
 */
export function deliverNow(server: TestServer) {
  return deliverDueLogouts(server.ctx, {
    batchSize: 50,
    timeoutMs: server.config.logoutDeliveryTimeout * 1000,
  });
}

/**
 * Verifies a logout token against the server's published keys (`/keys`), as an app would, at
 * `at` (default: the server's clock now).
 */
export async function verifyLogoutToken(
  server: TestServer,
  token: string,
  clientId: string,
  at: Date = server.clock.now(),
): Promise<{ payload: JWTPayload; typ: string | undefined }> {
  const jwks = createRemoteJWKSet(new URL(`${server.url}/keys`));
  const { payload, protectedHeader } = await jwtVerify(token, jwks, {
    issuer: server.config.envUrl,
    audience: clientId,
    typ: 'logout+jwt',
    currentDate: at,
  });
  return { payload, typ: protectedHeader.typ };
}
