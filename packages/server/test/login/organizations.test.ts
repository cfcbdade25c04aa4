import { decodeJwt } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  Agent,
  type AuthorizeParams,
  authorizeUrl,
  exchangeCode,
  formAction,
  formField,
  openHostedPage,
  redirectParams,
  submitSignIn,
} from '../support/agent.ts';
import { startTestServer, type TestServer } from '../support/server.ts';

let server: TestServer;
/** A person in two organizations: their own (admin) and Globex (member). */
const multi = { email: 'multi@example.com', password: 'multi password 1', id: '', ownOrg: '', otherOrg: '' };

beforeAll(async () => {
  server = await startTestServer();
  const owner = await server.createUser({ email: 'owner@example.com', password: 'owner password 1' });
  const created = await server.createUser({ email: multi.email, password: multi.password, name: 'Multi' });
  const now = server.clock.now();
  await server.ctx.store.organizations.update(created.organizationId, { name: 'Initech', updatedAt: now });
  await server.ctx.store.organizations.update(owner.organizationId, { name: 'Globex', updatedAt: now });
  await server.ctx.store.memberships.insert({
    organizationId: owner.organizationId,
    userId: created.id,
    roles: ['member'],
    createdAt: now,
    updatedAt: now,
  });
  Object.assign(multi, { id: created.id, ownOrg: created.organizationId, otherOrg: owner.organizationId });
});

afterAll(async () => {
  await server.close();
});

const webParams = (extra: Record<string, string> = {}): AuthorizeParams => ({
  client_id: server.web.id,
  redirect_uri: server.web.redirectUri,
  state: 'st-org',
  nonce: 'n-org',
  ...extra,
});

async function claimsOf(res: Response, client = server.web) {
  const code = redirectParams(res).get('code');
  expect(code).toBeTruthy();
  const tokens = await exchangeCode(server, client, code as string);
  expect(tokens.status).toBe(200);
  return {
    id: decodeJwt(tokens.body['id_token'] as string),
    access: decodeJwt(tokens.body['access_token'] as string),
  };
}

/** Signs in on the sign-in page reached from `params`; returns the answer to the password form. */
async function signInWith(agent: Agent, params: AuthorizeParams, who = multi): Promise<Response> {
  const { html, url } = await openHostedPage(agent, server, params);
  expect(url).toMatch(/^\/login\?/);
  return submitSignIn(agent, server, html, who);
}

/** Posts a choice on the organization page. */
function choose(agent: Agent, html: string, organizationId: string, csrf?: string | null): Promise<Response> {
  const fields: Record<string, string> = {
    interaction: formField(html, 'interaction'),
    organization_id: organizationId,
  };
  const token = csrf === undefined ? formField(html, 'csrf_token') : csrf;
  if (token !== null) fields['csrf_token'] = token;
  return agent.post(formAction(server, html), fields);
}

/** Signs `multi` in with prompt=select_account and opens the organization page. */
async function organizationPage(agent: Agent): Promise<{ res: Response; html: string; url: string }> {
  const answer = await signInWith(agent, webParams({ prompt: 'select_account' }));
  expect(answer.status).toBe(303);
  const url = answer.headers.get('location') ?? '';
  expect(url).toMatch(/^\/login\/organization\?interaction=int_/);
  const res = await agent.fetch(`${server.url}${url}`);
  return { res, html: await res.text(), url };
}

describe('organization_id (spec: GET|POST /oauth/authorize — organizations)', () => {
  it.each<[string, () => string, string]>([
    ['their own organization', () => multi.ownOrg, 'admin'],
    ['another organization they belong to', () => multi.otherOrg, 'member'],
  ])('signs the person into %s: oid in the tokens, roles of that organization', async (_n, org, role) => {
    const agent = new Agent();
    const res = await signInWith(agent, webParams({ organization_id: org() }));
    const { id, access } = await claimsOf(res);
    expect(id['oid']).toBe(org());
    expect(access['oid']).toBe(org());
    expect(access['roles']).toEqual([role]);
  });

  it.each<[string, () => string]>([
    ['an organization they do not belong to', () => server.user.organizationId],
    ['an organization that does not exist', () => 'org_doesnotexist0000'],
  ])('%s → access_denied with state and iss, no code', async (_n, org) => {
    const agent = new Agent();
    const res = await signInWith(agent, webParams({ organization_id: org() }));
    expect(res.status).toBe(303);
    expect(res.headers.get('location')?.startsWith(`${server.web.redirectUri}?`)).toBe(true);
    const params = redirectParams(res);
    expect(params.get('error')).toBe('access_denied');
    expect(params.get('state')).toBe('st-org');
    expect(params.get('iss')).toBe(server.url);
    expect(params.get('code')).toBeNull();
  });

  it('with a live session, an organization they do not belong to is access_denied at once', async () => {
    const agent = new Agent();
    await claimsOf(await signInWith(agent, webParams()));
    const res = await agent.fetch(
      authorizeUrl(server, webParams({ organization_id: server.user.organizationId })),
    );
    expect(redirectParams(res).get('error')).toBe('access_denied');
    expect(redirectParams(res).get('code')).toBeNull();
  });

  it('with a live session, organization_id switches the organization without a password', async () => {
    const agent = new Agent();
    const first = await claimsOf(await signInWith(agent, webParams({ organization_id: multi.ownOrg })));
    expect(first.id['oid']).toBe(multi.ownOrg);
    const res = await agent.fetch(authorizeUrl(server, webParams({ organization_id: multi.otherOrg })));
    const second = await claimsOf(res);
    expect(second.id['oid']).toBe(multi.otherOrg);
    expect(second.id['sid']).toBe(first.id['sid']);
  });
});

describe('prompt=select_account (spec: the “Choose an organization” page)', () => {
  it('lists every organization of a person in several, and the choice becomes oid', async () => {
    const agent = new Agent();
    const { res, html } = await organizationPage(agent);
    expect(res.status).toBe(200);
    expect(html).toContain('<h1>Choose an organization</h1>');
    expect(html).toContain('Initech');
    expect(html).toContain('Globex');
    expect(html).toContain(`value="${multi.ownOrg}"`);
    expect(html).toContain(`value="${multi.otherOrg}"`);
    expect(html).not.toContain(server.user.organizationId);
    expect(html).toContain(multi.email);
    expect(res.headers.get('content-security-policy')).toContain("frame-ancestors 'none'");
    expect(res.headers.get('x-content-type-options')).toBe('nosniff');
    expect(res.headers.get('referrer-policy')).toBe('no-referrer');
    expect(res.headers.get('cache-control')).toBe('no-store');

    const chosen = await choose(agent, html, multi.otherOrg);
    expect(chosen.status).toBe(303);
    const params = redirectParams(chosen);
    expect(params.get('state')).toBe('st-org');
    expect(params.get('iss')).toBe(server.url);
    const { id, access } = await claimsOf(chosen);
    expect(id['oid']).toBe(multi.otherOrg);
    expect(access['oid']).toBe(multi.otherOrg);
    expect(access['roles']).toEqual(['member']);
    // The session remembers the choice: the next app lands in the same organization.
    const next = await agent.fetch(
      authorizeUrl(server, {
        client_id: server.web2.id,
        redirect_uri: server.web2.redirectUri,
        state: 'x',
      }),
    );
    expect((await claimsOf(next, server.web2)).id['oid']).toBe(multi.otherOrg);
  });

  it.each<[string, () => string]>([
    ['an organization the person is not in', () => server.user.organizationId],
    ['an unknown organization', () => 'org_doesnotexist0000'],
    ['an empty choice', () => ''],
    ['an oversized choice', () => `org_${'a'.repeat(5000)}`],
  ])('choosing %s is refused and issues no code', async (_n, org) => {
    const agent = new Agent();
    const { html } = await organizationPage(agent);
    const refused = await choose(agent, html, org());
    expect(refused.status).toBe(400);
    expect(refused.headers.get('location')).toBeNull();
    const page = await refused.text();
    expect(page).toContain('Choose an organization');
    // The person can still choose one of theirs.
    const ok = await choose(agent, page, multi.ownOrg);
    expect((await claimsOf(ok)).id['oid']).toBe(multi.ownOrg);
  });

  it('the choice needs the CSRF token', async () => {
    const agent = new Agent();
    const { html } = await organizationPage(agent);
    const refused = await choose(agent, html, multi.otherOrg, null);
    expect(refused.status).toBe(403);
    expect(refused.headers.get('location')).toBeNull();
    const wrong = await choose(agent, html, multi.otherOrg, 'C'.repeat(43));
    expect(wrong.status).toBe(403);
  });

  it('another browser cannot make the choice for the person who signed in', async () => {
    const agent = new Agent();
    const { html, url } = await organizationPage(agent);
    const thief = new Agent();
    const seen = await thief.fetch(`${server.url}${url}`);
    expect(seen.headers.get('location')).toBe(server.web.client.initiateLoginUri);
    const posted = await choose(thief, html, multi.otherOrg, formField(html, 'csrf_token'));
    expect(posted.headers.get('location') ?? '').not.toContain('code=');
  });

  it('a choice is made once: a second submit issues no second code', async () => {
    const agent = new Agent();
    const { html } = await organizationPage(agent);
    const first = await choose(agent, html, multi.otherOrg);
    expect(redirectParams(first).get('code')).toBeTruthy();
    const again = await choose(agent, html, multi.ownOrg);
    expect(again.headers.get('location') ?? '').not.toContain('code=');
  });

  it('with a live session, select_account shows the page at once, without a password', async () => {
    const agent = new Agent();
    await claimsOf(await signInWith(agent, webParams()));
    const res = await agent.fetch(authorizeUrl(server, webParams({ prompt: 'select_account' })));
    expect(res.status).toBe(303);
    expect(res.headers.get('location')).toMatch(/^\/login\/organization\?/);
    const page = await agent.fetch(`${server.url}${res.headers.get('location')}`);
    const html = await page.text();
    expect(html).not.toContain('name="password"');
    expect((await claimsOf(await choose(agent, html, multi.ownOrg))).id['oid']).toBe(multi.ownOrg);
  });

  it('a person in a single organization is not asked: the code comes at once', async () => {
    const agent = new Agent();
    const res = await signInWith(agent, webParams({ prompt: 'select_account' }), {
      ...multi,
      email: server.user.email,
      password: server.user.password,
    });
    expect(res.headers.get('location')?.startsWith(`${server.web.redirectUri}?`)).toBe(true);
    expect((await claimsOf(res)).id['oid']).toBe(server.user.organizationId);
  });
});
