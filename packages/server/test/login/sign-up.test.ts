import { decodeJwt } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  Agent,
  exchangeCode,
  formAction,
  formField,
  openHostedPage,
  redirectParams,
  submitSignIn,
} from '../support/agent.ts';
import { startTestServer, type TestServer } from '../support/server.ts';

let server: TestServer;

beforeAll(async () => {
  server = await startTestServer();
});

afterAll(async () => {
  await server.close();
});

const createParams = (extra: Record<string, string> = {}) => ({
  client_id: server.web.id,
  redirect_uri: server.web.redirectUri,
  state: 'st-signup',
  nonce: 'n-signup',
  prompt: 'create',
  ...extra,
});

/** How many users and organizations the store holds. */
async function counts(): Promise<{ users: number; organizations: number }> {
  const users = await server.ctx.store.users.list({ limit: 1000 });
  const organizations = await server.ctx.store.organizations.list({ limit: 1000 });
  return { users: users.items.length, organizations: organizations.items.length };
}

/** Submits the sign-up form of a page. */
function submitSignUp(
  agent: Agent,
  html: string,
  fields: { email?: string; password?: string; name?: string },
  override: Record<string, string | null> = {},
): Promise<Response> {
  const all: Record<string, string | null> = {
    interaction: formField(html, 'interaction'),
    csrf_token: formField(html, 'csrf_token'),
    email: fields.email ?? '',
    password: fields.password ?? '',
    name: fields.name ?? '',
    ...override,
  };
  const body = Object.fromEntries(Object.entries(all).filter((e): e is [string, string] => e[1] !== null));
  return agent.post(formAction(server, html), body);
}

/** The message shown under a field, if any. */
function fieldError(html: string, field: string): string | null {
  return new RegExp(`<p class="field-error" id="${field}-error">([^<]*)</p>`).exec(html)?.[1] ?? null;
}

describe('the hosted sign-up page (spec: Hosted login pages; OIDC prompt=create)', () => {
  it('prompt=create goes to /signup with an interaction id', async () => {
    const agent = new Agent();
    const { res, url, html } = await openHostedPage(agent, server, createParams());
    expect(res.status).toBe(200);
    expect(url).toMatch(/^\/signup\?interaction=int_/);
    expect(html).toMatch(/<label class="label" for="email">Email<\/label>/);
    expect(html).toMatch(/<label class="label" for="password">Password<\/label>/);
    expect(html).toMatch(/<label class="label" for="name">Name<\/label>/);
    expect(html).toMatch(/<button[^>]*type="submit">Create account<\/button>/);
    expect(html).toMatch(/<button [^>]*form="cancel-sign-in">Cancel<\/button>/);
    expect(html).toMatch(
      /<form id="cancel-sign-in" method="post" action="\/login\/cancel\?client_id=[^"]*">/,
    );
    expect(html).toMatch(/<a [^>]*href="\/login\?interaction=int_[^"]*">Sign in<\/a>/);
  });

  it('the sign-up link of the sign-in page opens the sign-up form of the same interaction', async () => {
    const agent = new Agent();
    const signIn = await openHostedPage(agent, server, { ...createParams(), prompt: undefined });
    const href = /href="(\/signup\?[^"]*)"/.exec(signIn.html)?.[1]?.replace(/&amp;/g, '&');
    expect(href).toBeTruthy();
    const page = await agent.fetch(`${server.url}${href}`);
    expect(page.status).toBe(200);
    const html = await page.text();
    expect(formField(html, 'interaction')).toBe(formField(signIn.html, 'interaction'));
    const res = await submitSignUp(agent, html, {
      email: 'linked@example.com',
      password: 'a long enough password',
      name: 'Linked Person',
    });
    expect(redirectParams(res).get('code')).toBeTruthy();
    expect(redirectParams(res).get('state')).toBe('st-signup');
  });

  it('login_hint pre-fills the sign-up email', async () => {
    const agent = new Agent();
    const { html } = await openHostedPage(agent, server, createParams({ login_hint: 'new@example.com' }));
    expect(html).toMatch(/name="email" value="new@example.com"/);
  });

  it('creates the person and an organization in which they are admin; tokens carry roles and oid', async () => {
    const agent = new Agent();
    const before = await counts();
    const { html } = await openHostedPage(agent, server, createParams());
    const res = await submitSignUp(agent, html, {
      email: 'Grace.Hopper@Example.com',
      password: 'cobol forever 1959',
      name: '  Grace   Hopper ',
    });
    expect(res.status).toBe(303);
    const params = redirectParams(res);
    expect(params.get('state')).toBe('st-signup');
    expect(params.get('iss')).toBe(server.url);
    const code = params.get('code');
    expect(code).toBeTruthy();

    const after = await counts();
    expect(after.users).toBe(before.users + 1);
    expect(after.organizations).toBe(before.organizations + 1);
    const user = await server.ctx.store.users.getByEmail('grace.hopper@example.com');
    expect(user?.name).toBe('Grace Hopper');
    expect(user?.passwordHash).toMatch(/^\$argon2id\$v=19\$m=19456,t=2,p=1\$/);
    const memberships = await server.ctx.store.memberships.listForUser(user?.id as string);
    expect(memberships).toHaveLength(1);
    expect(memberships[0]?.roles).toEqual(['admin']);

    const tokens = await exchangeCode(server, server.web, code as string);
    expect(tokens.status).toBe(200);
    const access = decodeJwt(tokens.body['access_token'] as string);
    const id = decodeJwt(tokens.body['id_token'] as string);
    expect(access.sub).toBe(user?.id);
    expect(access['roles']).toContain('admin');
    expect(access['oid']).toBe(memberships[0]?.organizationId);
    expect(access['oid']).toMatch(/^org_/);
    expect(id['oid']).toBe(access['oid']);
    expect(id['email']).toBe('grace.hopper@example.com');
    expect(id['name']).toBe('Grace Hopper');
    // The new account is signed in: a second app gets a code by single sign-on.
    const sso = await agent.fetch(
      `${server.url}/oauth/authorize?${new URLSearchParams({
        response_type: 'code',
        client_id: server.web2.id,
        redirect_uri: server.web2.redirectUri,
        scope: 'openid',
      })}`,
    );
    expect(redirectParams(sso).get('code')).toBeTruthy();
  });

  it('the new password works on the sign-in page', async () => {
    const agent = new Agent();
    const { html } = await openHostedPage(agent, server, createParams());
    await submitSignUp(agent, html, {
      email: 'later@example.com',
      password: 'remember me 123',
      name: 'Later',
    });
    const other = new Agent();
    const page = await openHostedPage(other, server, { ...createParams(), prompt: undefined });
    const res = await submitSignIn(other, server, page.html, {
      email: 'later@example.com',
      password: 'remember me 123',
    });
    expect(redirectParams(res).get('code')).toBeTruthy();
  });

  it.each<[string, string]>([
    ['the same email', 'ada@example.com'],
    ['the same email in other case', 'ADA@Example.COM'],
  ])('%s as an existing account is a 409 page and creates nothing', async (_name, email) => {
    const agent = new Agent();
    const before = await counts();
    const { html } = await openHostedPage(agent, server, createParams());
    const res = await submitSignUp(agent, html, { email, password: 'another password', name: 'Impostor' });
    expect(res.status).toBe(409);
    expect(res.headers.get('location')).toBeNull();
    const page = await res.text();
    expect(fieldError(page, 'email')).toMatch(/already exists/);
    expect(await counts()).toEqual(before);
    expect(agent.cookies.has('sesame_session')).toBe(false);
    // The existing account is untouched: its password still works.
    const existing = await server.ctx.store.users.getByEmail('ada@example.com');
    expect(existing?.name).toBe('Ada Lovelace');
  });

  it.each<[string, { email: string; password: string; name: string }, Record<string, RegExp>]>([
    [
      'an invalid email',
      { email: 'not-an-email', password: 'long enough pw', name: 'X' },
      { email: /valid email/ },
    ],
    [
      'an email with spaces',
      { email: 'a b@example.com', password: 'long enough pw', name: 'X' },
      { email: /./ },
    ],
    [
      'a short password',
      { email: 'short@example.com', password: 'Pw7#xq', name: 'X' },
      { password: /at least 8/ },
    ],
    [
      'an oversized password',
      { email: 'big@example.com', password: 'p'.repeat(300), name: 'X' },
      { password: /at most/ },
    ],
    [
      'a missing name',
      { email: 'noname@example.com', password: 'long enough pw', name: '' },
      { name: /name/ },
    ],
    [
      'a name of only spaces',
      { email: 'spaces@example.com', password: 'long enough pw', name: '   ' },
      { name: /./ },
    ],
    [
      'a too long name',
      { email: 'longname@example.com', password: 'long enough pw', name: 'n'.repeat(150) },
      { name: /at most/ },
    ],
    [
      'everything wrong at once',
      { email: '', password: '', name: '' },
      { email: /./, password: /./, name: /./ },
    ],
  ])('%s is a 400 page with field messages and creates nothing', async (_name, fields, messages) => {
    const agent = new Agent();
    const before = await counts();
    const { html } = await openHostedPage(agent, server, createParams());
    const res = await submitSignUp(agent, html, fields);
    expect(res.status).toBe(400);
    expect(res.headers.get('location')).toBeNull();
    const page = await res.text();
    for (const [field, pattern] of Object.entries(messages)) {
      expect(fieldError(page, field)).toMatch(pattern);
      expect(page).toMatch(new RegExp(`id="${field}"[^>]*aria-invalid="true"`));
    }
    // Values come back for correction, never the password.
    if (fields.password) expect(page).not.toContain(fields.password);
    expect(await counts()).toEqual(before);
    expect(agent.cookies.has('sesame_session')).toBe(false);
    // The form can be corrected and sent again.
    const fixed = await submitSignUp(agent, page, {
      email: `fixed-${Math.random().toString(36).slice(2)}@example.com`,
      password: 'a good password',
      name: 'Fixed',
    });
    expect(redirectParams(fixed).get('code')).toBeTruthy();
  });

  it.each<[string, Record<string, string | null>]>([
    ['without csrf_token', { csrf_token: null }],
    ['with a wrong csrf_token', { csrf_token: 'B'.repeat(43) }],
  ])('POST /signup %s is refused (403) and creates nothing', async (_name, override) => {
    const agent = new Agent();
    const before = await counts();
    const { html } = await openHostedPage(agent, server, createParams());
    const res = await submitSignUp(
      agent,
      html,
      { email: 'csrf@example.com', password: 'long enough pw', name: 'Csrf' },
      override,
    );
    expect(res.status).toBe(403);
    expect(await counts()).toEqual(before);
    expect(await server.ctx.store.users.getByEmail('csrf@example.com')).toBeNull();
  });

  it('a sign-up form whose interaction expired creates nothing and goes back to the app', async () => {
    const agent = new Agent();
    const before = await counts();
    const { html } = await openHostedPage(agent, server, createParams());
    server.clock.advance(30 * 60 + 1);
    const res = await submitSignUp(agent, html, {
      email: 'expired@example.com',
      password: 'long enough pw',
      name: 'Expired',
    });
    expect(res.status).toBe(303);
    expect(res.headers.get('location')).toBe(server.web.client.initiateLoginUri);
    expect(await counts()).toEqual(before);
  });

  it('the sign-up page sends the secure headers', async () => {
    const { res } = await openHostedPage(new Agent(), server, createParams());
    expect(res.headers.get('content-security-policy')).toContain("frame-ancestors 'none'");
    expect(res.headers.get('x-content-type-options')).toBe('nosniff');
    expect(res.headers.get('referrer-policy')).toBe('no-referrer');
    expect(res.headers.get('cache-control')).toBe('no-store');
  });
});
