import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { endSession } from '../../../server/src/protocol/sessions.ts';
import { Agent, signInAndExchange } from '../../../server/test/support/agent.ts';
import { startTestServer, type TestServer } from '../../../server/test/support/server.ts';
import { SesameAuth } from '../../src/auth.ts';
import { AuthError } from '../../src/errors.ts';

// The SDK's management client (spec: SDK item 8) against a live Sesame: typed REST calls with a
// cached client_credentials token.
describe('sdk.management against Sesame', () => {
  let server: TestServer;
  let auth: SesameAuth;
  let tokenRequests: () => number;

  beforeAll(async () => {
    server = await startTestServer();
    const app = await server.registerClient({
      type: 'web',
      name: 'Admin console',
      redirectUris: ['http://localhost:4000/auth/callback'],
      allowManagementApi: true,
    });
    let calls = 0;
    tokenRequests = () => calls;
    auth = new SesameAuth({
      envUrl: server.url,
      clientId: app.id,
      clientSecret: app.secret as string,
      redirectUri: 'http://localhost:4000/auth/callback',
      cookieSecret: 'a-cookie-secret-of-at-least-32-characters',
      now: server.clock.now,
      fetch: async (input, init) => {
        if (String(input instanceof Request ? input.url : input).endsWith('/oauth/token')) calls++;
        return fetch(input, init);
      },
    });
  });
  afterAll(async () => {
    await server?.close();
  });

  it('creates, reads, lists, updates and deletes an organization', async () => {
    const created = await auth.management.organizations.create({
      display_name: 'Acme Corp',
      external_id: 'acme-1',
    });
    expect(created.id).toMatch(/^org_/);
    expect(created.display_name).toBe('Acme Corp');
    expect((await auth.management.organizations.get(created.id)).external_id).toBe('acme-1');
    expect((await auth.management.organizations.getByExternalId('acme-1')).id).toBe(created.id);
    const updated = await auth.management.organizations.update(created.id, { display_name: 'Acme Inc' });
    expect(updated.display_name).toBe('Acme Inc');
    const names: string[] = [];
    for await (const org of auth.management.all((page) => auth.management.organizations.list(page), 1)) {
      names.push(org.display_name ?? '');
    }
    expect(names).toContain('Acme Inc');
    await auth.management.organizations.delete(created.id);
    await expect(auth.management.organizations.get(created.id)).rejects.toMatchObject({
      code: 'ERR_MANAGEMENT_API',
      status: 404,
      grpcCode: 5,
    });
  });

  it('caches the client_credentials token across calls (one token request for many calls)', async () => {
    const before = tokenRequests();
    await auth.management.roles.list();
    await auth.management.roles.list();
    await auth.management.permissions.list();
    expect(tokenRequests() - before).toBe(0);
  });

  it('renews the token shortly before it expires', async () => {
    const before = tokenRequests();
    server.clock.advance(86_400 - 30);
    await auth.management.roles.list();
    expect(tokenRequests() - before).toBe(1);
  });

  it('manages users in an organization, their roles and the permissions those roles grant', async () => {
    const org = await auth.management.organizations.create({ display_name: 'Team' });
    const user = await auth.management.users.createInOrganization(org.id, {
      email: 'grace@example.com',
      user_profile: { given_name: 'Grace', family_name: 'Hopper' },
    });
    expect(user.email).toBe('grace@example.com');
    const members = await auth.management.users.listForOrganization(org.id);
    expect(members.items.map((u) => u.id)).toContain(user.id);
    await auth.management.permissions.create({ name: 'docs:read', description: 'Read documents' });
    await auth.management.roles.create({
      name: 'reader',
      display_name: 'Reader',
      permissions: ['docs:read'],
    });
    const roles = await auth.management.userRoles.assign(org.id, user.id, ['reader']);
    expect(roles.map((r) => r.name)).toContain('reader');
    const permissions = await auth.management.userRoles.permissions(org.id, user.id);
    expect(permissions.map((p) => p.name)).toContain('docs:read');
    await auth.management.userRoles.remove(org.id, user.id, 'reader');
    expect((await auth.management.userRoles.list(org.id, user.id)).map((r) => r.name)).not.toContain(
      'reader',
    );
    await auth.management.users.delete(user.id);
    await expect(auth.management.users.get(user.id)).rejects.toBeInstanceOf(AuthError);
  });

  it("revokes a person's session: their refresh token stops working", async () => {
    const agent = new Agent();
    const tokens = await signInAndExchange(agent, server);
    const sessions = await auth.management.sessions.listForUser(server.user.id);
    const live = sessions.items.find((s) => s.status === 'ACTIVE' || !s.logout_at);
    expect(live).toBeDefined();
    await auth.management.sessions.revoke(live!.session_id);
    const res = await fetch(`${server.url}/oauth/token`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({
        grant_type: 'refresh_token',
        refresh_token: String(tokens['refresh_token']),
        client_id: server.web.id,
        client_secret: server.web.secret ?? '',
      }),
    });
    expect(res.status).toBe(400);
    expect(await endSession(server.ctx, live!.session_id, 'revoked')).toBeNull();
  });

  it('a validation error carries the status, the gRPC code and the message naming the field', async () => {
    const err = await auth.management.organizations.create({ display_name: '' }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(AuthError);
    expect(err).toMatchObject({ kind: 'provider', status: 400, grpcCode: 3 });
    expect((err as AuthError).message).toContain('display_name');
  });

  it('an app without management access gets a provider error, never a crash', async () => {
    const plain = new SesameAuth({
      envUrl: server.url,
      clientId: server.web.id,
      clientSecret: server.web.secret as string,
      redirectUri: server.web.redirectUri,
      cookieSecret: 'a-cookie-secret-of-at-least-32-characters',
      now: server.clock.now,
    });
    await expect(plain.management.roles.list()).rejects.toMatchObject({
      code: 'ERR_MANAGEMENT_API',
      kind: 'provider',
      oauthError: 'unauthorized_client',
    });
  });
});
