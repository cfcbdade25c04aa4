import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { startAppWithAdapter, type TestApp } from '../support/apps.ts';
import { BrowserAgent } from '../support/browser-agent.ts';
import { startProvider, type TestProvider } from '../support/providers.ts';

const navigation = { accept: 'text/html', 'sec-fetch-mode': 'navigate' };

// oidc-provider close to its defaults: the ID token carries only `sub` (profile claims are served
// at userinfo), and the app is registered for client_secret_basic.
describe('express × oidc-provider with its defaults', () => {
  let provider: TestProvider;
  let app: TestApp;

  beforeAll(async () => {
    provider = await startProvider('oidc-provider', {
      conformIdTokenClaims: true,
      authMethod: 'client_secret_basic',
    });
    app = await startAppWithAdapter('express', provider);
  });
  afterAll(async () => {
    await app?.close();
    await provider?.close();
  });

  test("the code exchange authenticates with client_secret_post, the seed's form, when the provider lists it", async () => {
    const agent = new BrowserAgent();
    const toProvider = await agent.fetch(`${app.url}/auth/login?return_to=%2Fprivate`, {
      headers: navigation,
    });
    const back = await provider.signIn(agent, toProvider);
    const callback = await agent.fetch(back.headers.get('location') ?? '', { headers: navigation });
    expect(callback.status).toBe(302);
    expect(callback.headers.get('location')).toBe('/private');
    expect(provider.tokenAuthMethods?.()).toEqual(['client_secret_post']);
  });

  test('a profile missing from the ID token is completed from userinfo at sign-in (OIDC Core §5.3)', async () => {
    const agent = new BrowserAgent();
    const toProvider = await agent.fetch(`${app.url}/auth/login`, { headers: navigation });
    const back = await provider.signIn(agent, toProvider);
    await agent.fetch(back.headers.get('location') ?? '', { headers: navigation });
    const res = await agent.fetch(`${app.url}/api/private`, { headers: { accept: 'application/json' } });
    const body = (await res.json()) as { user: { email: string | null; name: string | null } };
    expect(body.user.email).toBe(provider.user.email);
    expect(body.user.name).toBe('Ada Lovelace');
  });
});
