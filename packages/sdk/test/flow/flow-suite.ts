import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import type { Agent } from '../../../server/test/support/agent.ts';
import { SesameAuth } from '../../src/auth.ts';
import { MemorySessionStore } from '../../src/stores/memory-session-store.ts';
import { type AdapterName, startAppWithAdapter, type TestApp } from '../support/apps.ts';
import { BrowserAgent } from '../support/browser-agent.ts';
import { type ProviderKind, startProvider, type TestProvider } from '../support/providers.ts';

/** Headers of a top-level page navigation, as a browser sends them. */
const navigation = { accept: 'text/html,application/xhtml+xml', 'sec-fetch-mode': 'navigate' };
/** Headers of an API call from a page's script. */
const api = { accept: 'application/json', 'sec-fetch-mode': 'cors' };
/** The app's access tokens live 60 s, so the clock can make them expire. */
const accessTokenTtl = 60;

export interface FlowSuiteOptions {
  /** Keep sessions server-side: the cookie holds only an opaque id. */
  sessionStore?: boolean;
}

/** A parsed `Set-Cookie` line. */
interface SetCookie {
  name: string;
  value: string;
  attrs: Map<string, string>;
}

function setCookies(res: Response): SetCookie[] {
  return res.headers.getSetCookie().map((line) => {
    const [pair = '', ...rest] = line.split(';');
    const eq = pair.indexOf('=');
    const attrs = new Map<string, string>();
    for (const attr of rest) {
      const [key = '', ...value] = attr.trim().split('=');
      attrs.set(key.toLowerCase(), value.join('='));
    }
    return { name: pair.slice(0, eq).trim(), value: pair.slice(eq + 1).trim(), attrs };
  });
}

function cookieNamed(res: Response, name: string): SetCookie {
  const cookie = setCookies(res).find((c) => c.name === name);
  if (!cookie) throw new Error(`no Set-Cookie for ${name} in ${res.headers.getSetCookie().join(' | ')}`);
  return cookie;
}

function locationOf(res: Response): string {
  expect(res.status, `expected a redirect, got ${res.status}`).toBeGreaterThanOrEqual(300);
  expect(res.status).toBeLessThan(400);
  return res.headers.get('location') ?? '';
}

/** A copy of an agent's cookie jar: the same browser, seen from another tab's request. */
function cloneAgent(agent: Agent): Agent {
  const copy = new BrowserAgent();
  for (const [name, value] of agent.cookies) copy.cookies.set(name, value);
  return copy;
}

/**
 * The seed's flow and its edges, driven over HTTP with a cookie-keeping agent, for one adapter
 * and one provider. Every adapter × provider pair runs it.
 */
export function describeFlowSuite(
  adapter: AdapterName,
  kind: ProviderKind,
  options: FlowSuiteOptions = {},
): void {
  describe(`${adapter} × ${kind}${options.sessionStore ? ' (server-side sessions)' : ''}`, () => {
    let provider: TestProvider;
    let app: TestApp;

    beforeAll(async () => {
      provider = await startProvider(kind);
      app = await startAppWithAdapter(adapter, provider, {
        accessTokenTtl,
        ...(options.sessionStore ? { sessionStore: new MemorySessionStore() } : {}),
      });
    });
    afterAll(async () => {
      await app?.close();
      await provider?.close();
    });

    /** `/auth/login` for a return path: the 302 to the provider. */
    const startLogin = async (agent: Agent, returnTo?: string) => {
      const res = await agent.fetch(
        `${app.url}/auth/login${returnTo === undefined ? '' : `?return_to=${encodeURIComponent(returnTo)}`}`,
        { headers: navigation },
      );
      expect(locationOf(res).startsWith(provider.issuer)).toBe(true);
      return res;
    };

    /** Login → provider → callback: the callback's answer. */
    const signIn = async (agent: Agent, returnTo?: string) => {
      const back = await provider.signIn(agent, await startLogin(agent, returnTo));
      const callback = locationOf(back);
      expect(callback.startsWith(`${app.url}/auth/callback?`)).toBe(true);
      return agent.fetch(callback, { headers: navigation });
    };

    const signedInAgent = async () => {
      const agent = new BrowserAgent();
      const res = await signIn(agent, '/private');
      expect(res.status).toBe(302);
      return agent;
    };

    const tokenOf = async (agent: Agent) => {
      const res = await agent.fetch(`${app.url}/api/private`, { headers: api });
      expect(res.status).toBe(200);
      return ((await res.json()) as { token: string }).token;
    };

    test('sign-in returns to return_to with the person signed in (seed steps 1–2)', async () => {
      const agent = new BrowserAgent();
      const callback = await signIn(agent, '/private');
      expect(callback.status).toBe(302);
      expect(locationOf(callback)).toBe('/private');
      const page = await agent.fetch(`${app.url}/private`, { headers: navigation });
      expect(page.status).toBe(200);
      expect(await page.text()).toContain(`<li>${provider.user.email}</li>`);
      const json = await agent.fetch(`${app.url}/api/private`, { headers: api });
      expect(json.status).toBe(200);
      const body = (await json.json()) as { user: { email: string; sub: string } };
      expect(body.user.email).toBe(provider.user.email);
      expect(body.user.sub).toBeTruthy();
      const home = await agent.fetch(`${app.url}/`, { headers: api });
      expect(await home.json()).toEqual({ status: 'authenticated', email: provider.user.email });
    });

    test('a return_to that leaves the origin is ignored: absolute, protocol-relative, /\\ (open redirect)', async () => {
      const agent = new BrowserAgent();
      for (const returnTo of ['https://evil.example/', '//evil.example', '/\\evil']) {
        const callback = await signIn(agent, returnTo);
        expect(callback.status).toBe(302);
        expect(locationOf(callback), returnTo).toBe('/');
      }
    });

    test('a provider error at the callback shows a friendly page with Try again, without a token exchange', async () => {
      const agent = new BrowserAgent();
      const login = await startLogin(agent, '/private');
      const state = new URL(locationOf(login)).searchParams.get('state') ?? '';
      const before = provider.tokenRequests();
      const res = await agent.fetch(
        `${app.url}/auth/callback?error=access_denied&error_description=${encodeURIComponent('The person cancelled')}&state=${encodeURIComponent(state)}`,
        { headers: navigation },
      );
      expect(res.status).toBe(400);
      expect(res.headers.get('content-type')).toContain('text/html');
      const html = await res.text();
      expect(html).toContain('Try again');
      expect(html).toContain(`href="/auth/login?return_to=${encodeURIComponent('/private')}"`);
      expect(html).not.toMatch(/eyJ[\w-]+\.[\w-]+/);
      expect(provider.tokenRequests()).toBe(before);
      expect(
        app.logs.some(
          (l) =>
            (l.obj as { oauthError?: string; description?: string }).oauthError === 'access_denied' &&
            (l.obj as { description?: string }).description === 'The person cancelled',
        ),
      ).toBe(true);
    });

    test('a missing, tampered or foreign state is refused before any token exchange (CSRF, RFC 6749 §10.12)', async () => {
      const agent = new BrowserAgent();
      const back = await provider.signIn(agent, await startLogin(agent, '/private'));
      const callback = new URL(locationOf(back));
      const state = callback.searchParams.get('state') ?? '';
      const code = callback.searchParams.get('code') ?? '';
      const other = new BrowserAgent();
      const foreignState = new URL(locationOf(await startLogin(other))).searchParams.get('state') ?? '';
      const before = provider.tokenRequests();
      const attempts = {
        missing: `code=${encodeURIComponent(code)}`,
        tampered: `code=${encodeURIComponent(code)}&state=${encodeURIComponent(`${state.slice(0, -2)}xy`)}`,
        foreign: `code=${encodeURIComponent(code)}&state=${encodeURIComponent(foreignState)}`,
      };
      for (const [name, query] of Object.entries(attempts)) {
        const res = await agent.fetch(`${app.url}/auth/callback?${query}`, { headers: navigation });
        expect(res.status, name).toBe(400);
        const html = await res.text();
        expect(html, name).toContain('Try again');
        expect(
          setCookies(res).some((c) => c.name === app.cookies.session && c.value !== ''),
          name,
        ).toBe(false);
      }
      expect(provider.tokenRequests()).toBe(before);
      // The counter does count: the genuine callback exchanges the code once.
      const ok = await agent.fetch(callback.href, { headers: navigation });
      expect(locationOf(ok)).toBe('/private');
      expect(provider.tokenRequests()).toBe(before + 1);
    });

    test('two sign-ins started in parallel both finish, callbacks in reverse order (one transaction cookie each)', async () => {
      const agent = new BrowserAgent();
      const first = await startLogin(agent, '/private');
      const second = await startLogin(agent, '/api/private');
      const txCookies = [...agent.cookies.keys()].filter((name) =>
        name.startsWith(`${app.cookies.transaction}_`),
      );
      expect(txCookies).toHaveLength(2);
      const backFirst = locationOf(await provider.signIn(agent, first));
      const backSecond = locationOf(await provider.signIn(agent, second));
      const secondDone = await agent.fetch(backSecond, { headers: navigation });
      expect(locationOf(secondDone)).toBe('/api/private');
      const firstDone = await agent.fetch(backFirst, { headers: navigation });
      expect(locationOf(firstDone)).toBe('/private');
      const page = await agent.fetch(`${app.url}/private`, { headers: navigation });
      expect(page.status).toBe(200);
    });

    test('signed out: a page navigation goes to sign-in and back, an API call gets 401 login_required', async () => {
      const agent = new BrowserAgent();
      const page = await agent.fetch(`${app.url}/private`, { headers: navigation });
      expect(page.status).toBe(302);
      expect(locationOf(page)).toBe('/auth/login?return_to=%2Fprivate');
      const call = await agent.fetch(`${app.url}/api/private`, { headers: api });
      expect(call.status).toBe(401);
      expect(((await call.json()) as { error: string }).error).toBe('login_required');
      const home = await agent.fetch(`${app.url}/`, { headers: api });
      expect(await home.json()).toEqual({ status: 'anonymous', email: null });
    });

    test('an expired access token: a page navigation goes through /auth/refresh and back with a new token', async () => {
      const agent = await signedInAgent();
      const oldToken = await tokenOf(agent);
      provider.clock.advance(accessTokenTtl + 1);
      const page = await agent.fetch(`${app.url}/private?tab=2`, { headers: navigation });
      expect(page.status).toBe(302);
      const refresh = locationOf(page);
      expect(refresh).toBe(`/auth/refresh?return_to=${encodeURIComponent('/private?tab=2')}`);
      const back = await agent.fetch(`${app.url}${refresh}`, { headers: navigation });
      expect(locationOf(back)).toBe('/private?tab=2');
      const again = await agent.fetch(`${app.url}/private?tab=2`, { headers: navigation });
      expect(again.status).toBe(200);
      expect(await again.text()).toContain(provider.user.email);
      expect(await tokenOf(agent)).not.toBe(oldToken);
    });

    test('an expired access token: an API call gets 401 token_expired, POST /auth/refresh answers 200 and the retry works', async () => {
      const agent = await signedInAgent();
      provider.clock.advance(accessTokenTtl + 1);
      const call = await agent.fetch(`${app.url}/api/private`, { headers: api });
      expect(call.status).toBe(401);
      expect(((await call.json()) as { error: string }).error).toBe('token_expired');
      const refresh = await agent.fetch(`${app.url}/auth/refresh`, {
        method: 'POST',
        headers: { ...api, origin: app.url },
      });
      expect(refresh.status).toBe(200);
      expect(((await refresh.json()) as { ok: boolean }).ok).toBe(true);
      const retry = await agent.fetch(`${app.url}/api/private`, { headers: api });
      expect(retry.status).toBe(200);
    });

    test('two concurrent refreshes of one session share one rotation and set the same new session (single-flight)', async () => {
      const agent = await signedInAgent();
      const oldToken = await tokenOf(agent);
      provider.clock.advance(accessTokenTtl + 1);
      const tabs = [cloneAgent(agent), cloneAgent(agent)];
      const before = provider.tokenRequests();
      const answers = await Promise.all(
        tabs.map((tab) =>
          tab.fetch(`${app.url}/auth/refresh`, { method: 'POST', headers: { ...api, origin: app.url } }),
        ),
      );
      expect(answers.map((r) => r.status)).toEqual([200, 200]);
      expect(provider.tokenRequests()).toBe(before + 1);
      const tokens = await Promise.all(tabs.map((tab) => tokenOf(tab)));
      expect(tokens[0]).toBe(tokens[1]);
      expect(tokens[0]).not.toBe(oldToken);
    });

    test('after the provider session ends, a refresh answers 401 login_required and clears the cookies', async () => {
      const agent = await signedInAgent();
      // The person signs out at the provider (another app, or its own page): the app's cookies stay.
      await provider.endSession(agent);
      provider.clock.advance(accessTokenTtl + 1);
      const refresh = await agent.fetch(`${app.url}/auth/refresh`, {
        method: 'POST',
        headers: { ...api, origin: app.url },
      });
      expect(refresh.status).toBe(401);
      expect(((await refresh.json()) as { error: string }).error).toBe('login_required');
      for (const name of [app.cookies.session, app.cookies.refresh, app.cookies.logout]) {
        expect(cookieNamed(refresh, name).attrs.get('max-age'), name).toBe('0');
      }
      const page = await agent.fetch(`${app.url}/private`, { headers: navigation });
      expect(locationOf(page)).toBe('/auth/login?return_to=%2Fprivate');
    });

    test('logout clears every SDK cookie at its path and sends the browser to end_session (RP-Initiated Logout)', async () => {
      const agent = await signedInAgent();
      const res = await agent.fetch(`${app.url}/auth/logout`, { headers: navigation });
      expect(res.status).toBe(302);
      const paths = {
        [app.cookies.session]: '/',
        [app.cookies.refresh]: '/auth/refresh',
        [app.cookies.logout]: '/auth/logout',
      };
      for (const [name, path] of Object.entries(paths)) {
        const cookie = cookieNamed(res, name);
        expect(cookie.value, name).toBe('');
        expect(cookie.attrs.get('max-age'), name).toBe('0');
        expect(cookie.attrs.get('path'), name).toBe(path);
      }
      const target = new URL(locationOf(res));
      const metadata = (await (
        await fetch(`${provider.issuer}/.well-known/openid-configuration`)
      ).json()) as { end_session_endpoint: string };
      expect(`${target.origin}${target.pathname}`).toBe(metadata.end_session_endpoint);
      expect(target.searchParams.get('id_token_hint')).toMatch(/^eyJ[\w-]+\.[\w-]+\.[\w-]+$/);
      expect(target.searchParams.get('post_logout_redirect_uri')).toBe(`${app.url}/`);
      const state = target.searchParams.get('state');
      expect(state).toBeTruthy();
      const back = await provider.endSession(agent, res);
      const home = new URL(locationOf(back));
      expect(`${home.origin}${home.pathname}`).toBe(`${app.url}/`);
      expect(home.searchParams.get('state')).toBe(state);
      expect(await provider.showsSignInForm(agent, await startLogin(agent, '/private'))).toBe(true);
      const page = await agent.fetch(`${app.url}/private`, { headers: navigation });
      expect(locationOf(page)).toBe('/auth/login?return_to=%2Fprivate');
    });

    test('cookies carry the seed flags: HttpOnly, SameSite=Lax, scoped paths, a 10-minute transaction', async () => {
      const agent = new BrowserAgent();
      const login = await startLogin(agent, '/private');
      const [tx] = setCookies(login).filter((c) => c.name.startsWith(`${app.cookies.transaction}_`));
      expect(tx).toBeDefined();
      expect(tx?.attrs.get('path')).toBe('/auth/callback');
      expect(tx?.attrs.get('max-age')).toBe('600');
      expect(tx?.attrs.has('httponly')).toBe(true);
      expect(tx?.attrs.get('samesite')).toBe('Lax');
      expect(tx?.attrs.has('secure')).toBe(false);
      const callback = await agent.fetch(locationOf(await provider.signIn(agent, login)), {
        headers: navigation,
      });
      const session = cookieNamed(callback, app.cookies.session);
      expect(session.attrs.get('path')).toBe('/');
      expect(session.attrs.has('httponly')).toBe(true);
      expect(session.attrs.get('samesite')).toBe('Lax');
      expect(session.attrs.has('secure')).toBe(false);
      if (options.sessionStore) {
        // Only an opaque id travels: no tokens in cookies at all.
        expect(session.value.length).toBeLessThan(400);
        expect(setCookies(callback).map((c) => c.name)).not.toContain(app.cookies.refresh);
        expect(setCookies(callback).map((c) => c.name)).not.toContain(app.cookies.logout);
      } else {
        expect(cookieNamed(callback, app.cookies.refresh).attrs.get('path')).toBe('/auth/refresh');
        expect(cookieNamed(callback, app.cookies.logout).attrs.get('path')).toBe('/auth/logout');
        for (const name of [app.cookies.refresh, app.cookies.logout]) {
          const cookie = cookieNamed(callback, name);
          expect(cookie.attrs.has('httponly'), name).toBe(true);
          expect(cookie.attrs.get('samesite'), name).toBe('Lax');
        }
      }
    });

    test('cookies are Secure when the redirect URI is https', async () => {
      const secure = new SesameAuth({
        envUrl: provider.issuer,
        clientId: app.clientId,
        clientSecret: 'unused-here',
        redirectUri: 'https://app.example/auth/callback',
        cookieSecret: 'a'.repeat(32),
        cookiePrefix: 'flow_secure',
        now: provider.clock.now,
      });
      expect(secure.options.secureCookies).toBe(true);
      const login = await secure.handle(new Request('https://app.example/auth/login'));
      const logout = await secure.handle(new Request('https://app.example/auth/logout'));
      const lines = [...(login?.headers.getSetCookie() ?? []), ...(logout?.headers.getSetCookie() ?? [])];
      expect(lines.length).toBeGreaterThanOrEqual(4);
      for (const line of lines) expect(line).toMatch(/; Secure(;|$)/);
      expect(app.auth.options.secureCookies).toBe(false);
    });

    test('the back-channel logout route gets its form body through the adapter', async () => {
      const res = await fetch(`${app.url}/auth/backchannel-logout`, {
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
        body: new URLSearchParams({ logout_token: 'not.a.jwt' }).toString(),
      });
      expect(res.status).toBe(400);
      expect(((await res.json()) as { error: string }).error).toBe('invalid_request');
      // Only a token read from the body reaches validation.
      expect(app.logs.some((l) => l.msg === 'logout token rejected')).toBe(true);
    });

    test('roles and permissions from the access token: /admin for an admin → 200, /perm without docs:read → 403', async () => {
      const agent = await signedInAgent();
      const admin = await agent.fetch(`${app.url}/admin`, { headers: api });
      expect(admin.status).toBe(200);
      const perm = await agent.fetch(`${app.url}/perm`, { headers: api });
      expect(perm.status).toBe(403);
      expect(((await perm.json()) as { error: string }).error).toBe('forbidden');
      const permPage = await agent.fetch(`${app.url}/perm`, { headers: navigation });
      expect(permPage.status).toBe(403);
      const anonymous = await new BrowserAgent().fetch(`${app.url}/admin`, { headers: api });
      expect(anonymous.status).toBe(401);
    });
  });
}
