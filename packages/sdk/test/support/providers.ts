import { randomBytes } from 'node:crypto';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { exportJWK, generateKeyPair } from 'jose';
import Provider from 'oidc-provider';
import { createMemoryAdapter } from 'oidc-provider/lib/adapters/memory_adapter.js';
import {
  type Agent,
  follow,
  formAction,
  formField,
  submitSignIn,
} from '../../../server/test/support/agent.ts';
import { startTestServer, type TestServer } from '../../../server/test/support/server.ts';

export type ProviderKind = 'sesame' | 'oidc-provider';

/** A clock both the provider and the app read, moved only by the test. */
export interface ProviderClock {
  now(): Date;
  advance(seconds: number): void;
}

/** An OpenID provider on 127.0.0.1 that the flow suite signs in with. */
export interface TestProvider {
  kind: ProviderKind;
  issuer: string;
  clock: ProviderClock;
  /** The person who signs in; for oidc-provider any password works. */
  user: { email: string; password: string };
  /** Registers a confidential web app (authorization code + refresh token). */
  registerApp(input: {
    redirectUri: string;
    postLogoutRedirectUri: string;
    accessTokenTtl?: number;
  }): Promise<{ clientId: string; clientSecret: string }>;
  /** How many requests the token endpoint has received so far. */
  tokenRequests(): number;
  /** How the app authenticated at each token request (oidc-provider only). */
  tokenAuthMethods?(): string[];
  /**
   * From the app's redirect to the authorization endpoint, drives the provider's pages as the
   * person would (sign-in form, consent) until the provider redirects back to the app.
   */
  signIn(agent: Agent, toProvider: Response): Promise<Response>;
  /** Whether following the app's redirect to the authorization endpoint shows the provider's sign-in form. */
  showsSignInForm(agent: Agent, toProvider: Response): Promise<boolean>;
  /**
   * Follows a redirect to the end-session endpoint (or opens it bare when none is given),
   * confirming when asked; returns the provider's last answer (a redirect to the app, or its
   * signed-out page).
   */
  endSession(agent: Agent, toProvider?: Response): Promise<Response>;
  close(): Promise<void>;
}

/**
 * How oidc-provider is set up: `conformIdTokenClaims` keeps profile claims out of the ID token
 * (its default: they are then served at userinfo), and `authMethod` is how apps authenticate at
 * its token endpoint (its default is client_secret_basic).
 */
export interface OidcProviderOptions {
  conformIdTokenClaims?: boolean;
  authMethod?: 'client_secret_post' | 'client_secret_basic';
}

/** Starts a provider of the given kind. Use one per test file. */
export function startProvider(kind: ProviderKind, options: OidcProviderOptions = {}): Promise<TestProvider> {
  return kind === 'sesame' ? startSesame() : startOidcProvider(options);
}

function location(res: Response): URL {
  const value = res.headers.get('location');
  if (res.status < 300 || res.status >= 400 || !value)
    throw new Error(`expected a redirect, got ${res.status}`);
  return new URL(value);
}

async function discover(issuer: string): Promise<{ token_endpoint: string; end_session_endpoint: string }> {
  const res = await fetch(`${issuer}/.well-known/openid-configuration`);
  return (await res.json()) as { token_endpoint: string; end_session_endpoint: string };
}

/** Follows redirects while they stay on `origin`; returns the first answer that is not one. */
async function followWithin(agent: Agent, origin: string, res: Response): Promise<Response> {
  let current = res;
  for (let hops = 0; hops < 10; hops++) {
    const value = current.headers.get('location');
    if (current.status < 300 || current.status >= 400 || !value) return current;
    const next = new URL(value, origin);
    if (next.origin !== origin) return current;
    current = await agent.fetch(next.href);
  }
  throw new Error('too many redirects');
}

async function startSesame(): Promise<TestProvider> {
  const server: TestServer = await startTestServer();
  const metadata = await discover(server.url);
  const tokenPath = new URL(metadata.token_endpoint).pathname;
  const open = async (agent: Agent, toProvider: Response) =>
    follow(agent, server, await agent.fetch(location(toProvider).href));
  return {
    kind: 'sesame',
    issuer: server.url,
    clock: server.clock,
    user: { email: server.user.email, password: server.user.password },
    async registerApp(input) {
      const client = await server.registerClient({
        type: 'web',
        name: `Flow app ${randomBytes(3).toString('hex')}`,
        redirectUris: [input.redirectUri],
        postLogoutRedirectUris: [input.postLogoutRedirectUri],
        ...(input.accessTokenTtl ? { accessTokenTtl: input.accessTokenTtl } : {}),
      });
      return { clientId: client.id, clientSecret: client.secret ?? '' };
    },
    tokenRequests: () =>
      server.logs.filter((line) => {
        const entry = JSON.parse(line) as { msg?: string; path?: string };
        return entry.msg === 'request' && entry.path === tokenPath;
      }).length,
    async signIn(agent, toProvider) {
      const page = await open(agent, toProvider);
      if (page.status !== 200) return page;
      const html = await page.text();
      if (!html.includes('name="password"'))
        throw new Error(`expected the sign-in page, got:\n${html.slice(0, 1500)}`);
      return follow(agent, server, await submitSignIn(agent, server, html, server.user));
    },
    async showsSignInForm(agent, toProvider) {
      const page = await open(agent, toProvider);
      return page.status === 200 && (await page.text()).includes('name="password"');
    },
    async endSession(agent, toProvider) {
      const start = toProvider ? location(toProvider).href : metadata.end_session_endpoint;
      const page = await follow(agent, server, await agent.fetch(start));
      if (page.status !== 200) return page;
      const html = await page.text();
      if (!html.includes('name="confirm"'))
        return new Response(html, { status: page.status, headers: page.headers });
      const fields: Record<string, string> = { csrf_token: formField(html, 'csrf_token'), confirm: 'yes' };
      for (const name of ['client_id', 'post_logout_redirect_uri', 'state']) {
        if (html.includes(`name="${name}"`)) fields[name] = formField(html, name);
      }
      return follow(agent, server, await agent.post(formAction(server, html), fields));
    },
    close: () => server.close(),
  };
}

/**
 * oidc-provider has no clock option: it reads `Date.now()` everywhere. The test clock moves that
 * (and only that) while the provider runs; the app's SDK reads the same clock through `now`.
 */
function installDateNowClock(): { clock: ProviderClock; restore(): void } {
  const realNow = Date.now;
  let offsetMs = 0;
  Date.now = () => realNow.call(Date) + offsetMs;
  return {
    clock: {
      now: () => new Date(Date.now()),
      advance: (seconds) => {
        offsetMs += seconds * 1000;
      },
    },
    restore: () => {
      Date.now = realNow;
    },
  };
}

async function startOidcProvider(options: OidcProviderOptions): Promise<TestProvider> {
  const { clock, restore } = installDateNowClock();
  const node = createServer();
  await new Promise<void>((resolve) => node.listen(0, '127.0.0.1', resolve));
  const issuer = `http://127.0.0.1:${(node.address() as AddressInfo).port}`;
  const { privateKey } = await generateKeyPair('RS256', { extractable: true });
  const jwk = { ...(await exportJWK(privateKey)), kid: 'flow-test-key', alg: 'RS256', use: 'sig' };

  const clients = new Map<string, Record<string, unknown>>();
  const accessTokenTtls = new Map<string, number>();
  const memory = createMemoryAdapter();
  const clientAdapter = {
    find: async (id: string) => clients.get(id),
    upsert: async () => {},
    destroy: async () => {},
    consume: async () => {},
    findByUid: async () => undefined,
    findByUserCode: async () => undefined,
    revokeByGrantId: async () => {},
  };
  const user = { email: 'ada@example.com', password: 'any password works' };
  const provider = new Provider(issuer, {
    adapter: (model: string) => (model === 'Client' ? clientAdapter : memory(model)),
    jwks: { keys: [jwk] },
    cookies: { keys: [randomBytes(32).toString('base64url')] },
    findAccount: (_ctx: unknown, id: string) => ({
      accountId: id,
      claims: async () => ({ sub: id, email: id, email_verified: true, name: 'Ada Lovelace' }),
    }),
    claims: { openid: ['sub'], email: ['email', 'email_verified'], profile: ['name'] },
    scopes: ['openid', 'offline_access', 'email', 'profile'],
    // Profile claims in the ID token, as many providers do: the SDK reads the person from it.
    conformIdTokenClaims: options.conformIdTokenClaims ?? false,
    ttl: {
      Interaction: 600,
      Session: 86_400,
      Grant: 86_400,
      IdToken: 3600,
      RefreshToken: 86_400,
      AccessToken: (_ctx: unknown, token: { resourceServer?: { accessTokenTTL?: number } }) =>
        token.resourceServer?.accessTokenTTL ?? 300,
    },
    features: {
      devInteractions: { enabled: true },
      rpInitiatedLogout: {
        enabled: true,
        logoutSource: (ctx: { body: string }, form: string) => {
          ctx.body = `<!doctype html><title>Sign out</title>${form}<button form="op.logoutForm" name="logout" value="yes">Sign out</button>`;
        },
        postLogoutSuccessSource: (ctx: { body: string }) => {
          ctx.body = '<!doctype html><title>Signed out</title><p>Signed out</p>';
        },
      },
      // JWT access tokens for the app itself (aud = client_id), so the SDK validates them locally.
      resourceIndicators: {
        enabled: true,
        defaultResource: () => 'urn:sesame:flow-app',
        useGrantedResource: () => true,
        getResourceServerInfo: (_ctx: unknown, _resource: string, client: { clientId: string }) => ({
          scope: 'openid',
          audience: client.clientId,
          accessTokenFormat: 'jwt',
          accessTokenTTL: accessTokenTtls.get(client.clientId) ?? 300,
          jwt: { sign: { alg: 'RS256' } },
        }),
      },
    },
    // Roles travel in the access token, as at Sesame.
    extraTokenClaims: () => ({ roles: ['admin'], permissions: [] }),
    pkce: { required: () => true },
    issueRefreshToken: () => true,
    // Tokens end with the provider's session (as at Sesame), so a refresh after logout fails.
    expiresWithSession: () => true,
  });
  let tokenRequests = 0;
  const tokenAuthMethods: string[] = [];
  provider.use(async (ctx, next) => {
    if (ctx.method === 'POST' && ctx.path === '/token') {
      tokenRequests++;
      tokenAuthMethods.push(
        ctx.get('authorization').startsWith('Basic ') ? 'client_secret_basic' : 'client_secret_post',
      );
    }
    await next();
  });
  node.on('request', provider.callback());
  const metadata = await discover(issuer);

  /** Drives the dev interactions (sign-in, then consent) until the provider redirects elsewhere. */
  const drive = async (agent: Agent, res: Response): Promise<Response> => {
    let current = await followWithin(agent, issuer, res);
    for (let step = 0; step < 4; step++) {
      if (current.status !== 200) return current;
      const html = await current.text();
      const action = /<form[^>]*action="([^"]+)"[^>]*method="post"/.exec(html)?.[1];
      const prompt = /name="prompt" value="([a-z]+)"/.exec(html)?.[1];
      if (!action || !prompt) throw new Error(`unexpected provider page:\n${html.slice(0, 1500)}`);
      const fields: Record<string, string> =
        prompt === 'login' ? { prompt, login: user.email, password: user.password } : { prompt };
      current = await followWithin(agent, issuer, await agent.post(new URL(action, issuer).href, fields));
    }
    throw new Error('the provider kept asking');
  };

  return {
    kind: 'oidc-provider',
    issuer,
    clock,
    user,
    async registerApp(input) {
      const clientId = `flow-${randomBytes(6).toString('hex')}`;
      const clientSecret = randomBytes(32).toString('base64url');
      clients.set(clientId, {
        client_id: clientId,
        client_secret: clientSecret,
        redirect_uris: [input.redirectUri],
        post_logout_redirect_uris: [input.postLogoutRedirectUri],
        grant_types: ['authorization_code', 'refresh_token'],
        response_types: ['code'],
        token_endpoint_auth_method: options.authMethod ?? 'client_secret_post',
      });
      if (input.accessTokenTtl) accessTokenTtls.set(clientId, input.accessTokenTtl);
      return { clientId, clientSecret };
    },
    tokenRequests: () => tokenRequests,
    tokenAuthMethods: () => [...tokenAuthMethods],
    signIn: async (agent, toProvider) => drive(agent, await agent.fetch(location(toProvider).href)),
    async showsSignInForm(agent, toProvider) {
      const page = await followWithin(agent, issuer, await agent.fetch(location(toProvider).href));
      return page.status === 200 && (await page.text()).includes('name="login"');
    },
    async endSession(agent, toProvider) {
      const start = toProvider ? location(toProvider).href : metadata.end_session_endpoint;
      const page = await followWithin(agent, issuer, await agent.fetch(start));
      if (page.status !== 200) return page;
      const html = await page.text();
      const action = /<form[^>]*action="([^"]+)"/.exec(html)?.[1];
      if (!action || !html.includes('name="xsrf"'))
        return new Response(html, { status: page.status, headers: page.headers });
      return followWithin(
        agent,
        issuer,
        await agent.post(new URL(action, issuer).href, { xsrf: formField(html, 'xsrf'), logout: 'yes' }),
      );
    },
    close: async () => {
      await new Promise<void>((resolve) => {
        node.close(() => resolve());
        node.closeAllConnections();
      });
      restore();
    },
  };
}
