// Test support for the SDK's back-channel logout receiver: a tiny app on node:http that hands every
// request to `SesameAuth.handle()`, registered at a live Sesame with its receiver as back-channel
// logout URI; and a browser stand-in that signs in through it.
import { randomBytes } from 'node:crypto';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import {
  type Agent,
  follow,
  formField,
  redirectParams,
  tokenRequest,
} from '../../../server/test/support/agent.ts';
import type { RegisteredClient, TestServer } from '../../../server/test/support/server.ts';
import { sendWebResponse, toWebRequest } from '../../src/adapters/node-request.ts';
import { type AuthState, SesameAuth } from '../../src/auth.ts';
import type { RevocationStore } from '../../src/revocation-store.ts';

/** One app instance on 127.0.0.1 mounting the SDK. */
export interface ReceiverApp {
  url: string;
  auth: SesameAuth;
  client: RegisteredClient;
  cookieSecret: string;
  /** The status of every answer its back-channel logout route gave. */
  backchannelAnswers: number[];
  /** What the SDK logged (a rejected logout token's reason among them). */
  logs: { msg: string; obj: Record<string, unknown> }[];
  close(): Promise<void>;
}

let apps = 0;

/**
 * Starts an app instance. Without `client` it registers a new web app whose back-channel logout
 * URI is this instance's `/auth/backchannel-logout`; with one (and its `cookieSecret`) it is another
 * instance of that app. The SDK reads the server's test clock.
 */
export async function startReceiverApp(
  server: TestServer,
  options: { client?: RegisteredClient; cookieSecret?: string; revocationStore?: RevocationStore } = {},
): Promise<ReceiverApp> {
  let auth: SesameAuth | null = null;
  const backchannelAnswers: number[] = [];
  const logs: ReceiverApp['logs'] = [];
  const node = createServer((req, res) => {
    void (async () => {
      if (!auth) return void res.writeHead(503).end();
      const request = await toWebRequest(req, { url: `${url}${req.url ?? '/'}` });
      const handled = await auth.handle(request);
      if (handled) {
        if (new URL(request.url).pathname === auth.options.routes.backchannelLogout)
          backchannelAnswers.push(handled.status);
        return sendWebResponse(res, handled);
      }
      const state = await auth.authenticate(request);
      return sendWebResponse(res, Response.json(describe(state)));
    })().catch((err: unknown) => {
      res.statusCode = 500;
      res.end(String(err));
    });
  });
  await new Promise<void>((resolve) => node.listen(0, '127.0.0.1', resolve));
  const url = `http://127.0.0.1:${(node.address() as AddressInfo).port}`;
  const client =
    options.client ??
    (await server.registerClient({
      type: 'web',
      name: `SDK App ${++apps}`,
      redirectUris: [`${url}/auth/callback`],
      postLogoutRedirectUris: [`${url}/`],
      backchannelLogoutUri: `${url}/auth/backchannel-logout`,
    }));
  const cookieSecret = options.cookieSecret ?? randomBytes(32).toString('base64url');
  auth = new SesameAuth({
    envUrl: server.url,
    clientId: client.id,
    clientSecret: client.secret ?? '',
    redirectUri: client.redirectUri,
    postLogoutRedirectUri: client.postLogoutRedirectUri,
    cookieSecret,
    // Not the server's own prefix: the test agent keeps one cookie jar for every host.
    cookiePrefix: 'bclapp',
    now: server.clock.now,
    logger: {
      warn: (obj, msg) => void logs.push({ msg, obj: obj as Record<string, unknown> }),
      error: (obj, msg) => void logs.push({ msg, obj: obj as Record<string, unknown> }),
    },
    ...(options.revocationStore ? { revocationStore: options.revocationStore } : {}),
  });
  return {
    url,
    auth,
    client,
    cookieSecret,
    backchannelAnswers,
    logs,
    close: () =>
      new Promise<void>((resolve) => {
        node.close(() => resolve());
        node.closeAllConnections();
      }),
  };
}

function describe(state: AuthState) {
  return { status: state.status, sid: state.status === 'anonymous' ? null : state.user.sid };
}

/** The agent's cookies as a `Cookie` header (a snapshot: what the browser would send now). */
export function cookieHeader(agent: Agent): string {
  return [...agent.cookies].map(([k, v]) => `${k}=${v}`).join('; ');
}

/** Authenticates a request carrying these cookies, as the app's middleware does on every request. */
export function authenticate(app: ReceiverApp, cookies: string): Promise<AuthState> {
  return app.auth.authenticate(new Request(`${app.url}/`, { headers: { cookie: cookies } }));
}

/**
 * Signs in through the app (`/auth/login` → Sesame → `/auth/callback`), with the password when
 * Sesame asks for it. Returns the provider session id the app now holds.
 */
export async function signInThroughApp(
  server: TestServer,
  app: ReceiverApp,
  agent: Agent,
  credentials: { email: string; password: string } = server.user,
): Promise<string> {
  const login = await agent.fetch(`${app.url}/auth/login`);
  const authorize = login.headers.get('location');
  if (login.status !== 302 || !authorize) throw new Error(`login answered ${login.status}`);
  let res = await follow(agent, server, await agent.fetch(authorize));
  if (res.status === 200) {
    const html = await res.text();
    res = await follow(
      agent,
      server,
      await agent.post(`${server.url}/login`, {
        interaction: formField(html, 'interaction'),
        csrf_token: formField(html, 'csrf_token'),
        email: credentials.email,
        password: credentials.password,
      }),
    );
  }
  const callback = res.headers.get('location');
  if (!callback?.startsWith(`${app.url}/auth/callback`))
    throw new Error(`no callback: ${res.status} ${callback}`);
  const done = await agent.fetch(callback);
  if (done.status !== 302) throw new Error(`callback answered ${done.status}: ${await done.text()}`);
  const state = await authenticate(app, cookieHeader(agent));
  if (state.status !== 'authenticated' || !state.user.sid) throw new Error(`not signed in: ${state.status}`);
  return state.user.sid;
}

/** In the same browser, signs in to another (plain) app by single sign-on; returns its ID token. */
export async function singleSignOnTo(
  server: TestServer,
  agent: Agent,
  client: RegisteredClient,
): Promise<string> {
  const query = new URLSearchParams({
    response_type: 'code',
    client_id: client.id,
    redirect_uri: client.redirectUri,
    scope: 'openid',
    state: 'st',
    nonce: 'nn',
  });
  const res = await follow(agent, server, await agent.fetch(`${server.url}/oauth/authorize?${query}`));
  const code = redirectParams(res).get('code');
  if (!code) throw new Error(`no single sign-on: ${res.status}`);
  const { body } = await tokenRequest(server, {
    grant_type: 'authorization_code',
    code,
    redirect_uri: client.redirectUri,
    client_id: client.id,
    client_secret: client.secret ?? '',
  });
  return body['id_token'] as string;
}
