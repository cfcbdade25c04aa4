import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { hashSecret, newId, newSecret } from '../lib/ids.ts';
import { AlreadyExistsError, type Store, TooManySecretsError } from './store.ts';
import type {
  AuthorizationCode,
  Client,
  Grant,
  Interaction,
  Organization,
  RefreshToken,
  Role,
  Session,
  SigningKey,
  User,
} from './types.ts';

// Every time is derived from one fixed instant: the suite never reads the clock.
const epoch = Date.UTC(2030, 0, 1);
const day = 24 * 60 * 60;

/** The instant `seconds` after the suite's epoch. */
function at(seconds: number): Date {
  return new Date(epoch + seconds * 1000);
}

function makeClient(over: Partial<Client> = {}): Client {
  return {
    id: newId('webc'),
    type: 'web',
    name: 'Web app',
    redirectUris: ['https://app.example/callback'],
    postLogoutRedirectUris: ['https://app.example/'],
    backchannelLogoutUri: null,
    initiateLoginUri: null,
    accessTokenTtl: 300,
    allowedScopes: ['openid', 'profile', 'email', 'offline_access'],
    allowManagementApi: false,
    organizationId: null,
    createdAt: at(0),
    updatedAt: at(0),
    ...over,
  };
}

let userSeq = 0;
function makeUser(over: Partial<User> = {}): User {
  userSeq++;
  return {
    id: newId('usr'),
    email: `user${userSeq}@example.com`,
    emailVerified: true,
    name: `User ${userSeq}`,
    givenName: 'User',
    familyName: `${userSeq}`,
    passwordHash: null,
    externalId: null,
    disabled: false,
    metadata: {},
    createdAt: at(0),
    updatedAt: at(0),
    ...over,
  };
}

function makeOrganization(over: Partial<Organization> = {}): Organization {
  return {
    id: newId('org'),
    name: 'Acme',
    externalId: null,
    metadata: {},
    createdAt: at(0),
    updatedAt: at(0),
    ...over,
  };
}

function makeRole(over: Partial<Role> = {}): Role {
  return {
    id: newId('role'),
    name: 'editor',
    displayName: 'Editor',
    description: '',
    permissions: [],
    organizationId: null,
    isDefaultCreator: false,
    isDefaultMember: false,
    createdAt: at(0),
    updatedAt: at(0),
    ...over,
  };
}

function makeSession(userId: string, over: Partial<Session> = {}): Session {
  return {
    id: newId('ses'),
    tokenHash: hashSecret(newSecret()),
    userId,
    organizationId: null,
    authTime: at(0),
    amr: ['pwd'],
    userAgent: 'test',
    ipAddress: '127.0.0.1',
    createdAt: at(0),
    lastActiveAt: at(0),
    idleExpiresAt: at(day),
    absoluteExpiresAt: at(30 * day),
    endedAt: null,
    endReason: null,
    clientIds: [],
    ...over,
  };
}

function makeGrant(clientId: string, userId: string, sessionId: string, over: Partial<Grant> = {}): Grant {
  return {
    id: newId('grt'),
    clientId,
    userId,
    sessionId,
    createdAt: at(0),
    expiresAt: at(30 * day),
    revokedAt: null,
    ...over,
  };
}

function makeCode(grant: Grant, sessionId: string, over: Partial<AuthorizationCode> = {}): AuthorizationCode {
  return {
    codeHash: hashSecret(newSecret()),
    grantId: grant.id,
    clientId: grant.clientId,
    redirectUri: 'https://app.example/callback',
    scope: ['openid', 'email'],
    nonce: 'n-0S6_WzA2Mj',
    codeChallenge: 'E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM',
    codeChallengeMethod: 'S256',
    userId: grant.userId!,
    organizationId: null,
    sessionId,
    authTime: at(0),
    amr: ['pwd'],
    createdAt: at(0),
    expiresAt: at(60),
    consumedAt: null,
    ...over,
  };
}

function makeRefreshToken(grant: Grant, sessionId: string, over: Partial<RefreshToken> = {}): RefreshToken {
  return {
    id: newId('tkn'),
    tokenHash: hashSecret(newSecret()),
    grantId: grant.id,
    clientId: grant.clientId,
    userId: grant.userId!,
    organizationId: null,
    sessionId,
    scope: ['openid', 'offline_access'],
    authTime: at(0),
    amr: ['pwd'],
    createdAt: at(0),
    expiresAt: at(14 * day),
    rotatedAt: null,
    successorSealed: null,
    revokedAt: null,
    ...over,
  };
}

function makeInteraction(over: Partial<Interaction> = {}): Interaction {
  return {
    id: newId('int'),
    request: {
      clientId: 'webc_x',
      redirectUri: 'https://app.example/callback',
      scope: ['openid'],
      state: 'af0ifjsldkj',
      nonce: null,
      codeChallenge: 'E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM',
      codeChallengeMethod: 'S256',
      prompt: ['login'],
      loginHint: null,
      organizationId: null,
      maxAge: null,
      responseMode: 'query',
    },
    userId: null,
    sessionId: null,
    createdAt: at(0),
    expiresAt: at(600),
    completedAt: null,
    ...over,
  };
}

function makeKey(over: Partial<SigningKey> = {}): SigningKey {
  return {
    id: newId('snk'),
    alg: 'ES256',
    publicJwk: { kty: 'EC', crv: 'P-256', x: 'x', y: 'y' },
    privateJwkEncrypted: 'sealed',
    createdAt: at(0),
    activatesAt: at(0),
    retiresAt: null,
    expiresAt: null,
    ...over,
  };
}

/** Awaits `promise` and returns what it rejected with, failing if it resolved. */
async function rejection(promise: Promise<unknown>): Promise<unknown> {
  try {
    await promise;
  } catch (err) {
    return err;
  }
  throw new Error('expected a rejection');
}

async function expectAlreadyExists(promise: Promise<unknown>, field: string): Promise<void> {
  const err = await rejection(promise);
  expect(err).toBeInstanceOf(AlreadyExistsError);
  expect((err as AlreadyExistsError).field).toBe(field);
}

/** Collects every item of a paged listing, checking each page's size and total on the way. */
async function allPages<T>(
  list: (cursor: string | null) => Promise<{ items: T[]; nextCursor: string | null; totalSize: number }>,
  limit: number,
  totalSize: number,
): Promise<T[]> {
  const items: T[] = [];
  let cursor: string | null = null;
  for (let pages = 0; pages < 100; pages++) {
    const page = await list(cursor);
    expect(page.totalSize).toBe(totalSize);
    expect(page.items.length).toBeLessThanOrEqual(limit);
    items.push(...page.items);
    cursor = page.nextCursor;
    if (cursor === null) return items;
  }
  throw new Error('pagination did not end');
}

/**
 * The behaviour every `Store` implementation must have. `open` returns a fresh, empty, unmigrated
 * store for each test; the suite migrates and closes it.
 */
export function describeStoreSuite(name: string, open: () => Promise<Store>): void {
  describe(`Store (${name})`, () => {
    let store: Store;

    beforeEach(async () => {
      store = await open();
      await store.migrate();
    });

    afterEach(async () => {
      await store.close();
    });

    /** A user signed in to a web app: the chain every grant, code and token hangs from. */
    async function signedIn(over: { user?: Partial<User>; session?: Partial<Session> } = {}) {
      const client = makeClient();
      await store.clients.insert(client);
      const user = makeUser(over.user);
      await store.users.insert(user);
      const session = makeSession(user.id, over.session);
      await store.sessions.insert(session);
      const grant = makeGrant(client.id, user.id, session.id);
      await store.grants.insert(grant);
      return { client, user, session, grant };
    }

    describe('lifecycle', () => {
      it('migrate is idempotent and seeds the admin and member environment roles', async () => {
        await store.migrate();
        const roles = await store.roles.list(null);
        expect(roles.map((r) => r.name).sort()).toEqual(['admin', 'member']);
        const admin = roles.find((r) => r.name === 'admin')!;
        const member = roles.find((r) => r.name === 'member')!;
        expect(admin).toMatchObject({ displayName: 'Admin', isDefaultCreator: true, isDefaultMember: false });
        expect(member).toMatchObject({
          displayName: 'Member',
          isDefaultCreator: false,
          isDefaultMember: true,
        });
        for (const role of roles) {
          expect(role.id).toMatch(/^role_/);
          expect(role.organizationId).toBeNull();
        }
        expect(admin.id).not.toBe(member.id);
      });

      it('ping answers', async () => {
        await expect(store.ping()).resolves.toBeUndefined();
      });
    });

    describe('clients', () => {
      it('inserts, reads, lists, updates and deletes', async () => {
        const client = makeClient({
          backchannelLogoutUri: 'https://app.example/bcl',
          allowManagementApi: true,
        });
        const other = makeClient({ name: 'Other' });
        await store.clients.insert(client);
        await store.clients.insert(other);
        expect(await store.clients.get(client.id)).toEqual(client);
        expect(await store.clients.get('webc_missing')).toBeNull();
        expect((await store.clients.list()).map((c) => c.id)).toEqual([client.id, other.id]);

        const updated = await store.clients.update(client.id, {
          name: 'Renamed',
          redirectUris: ['https://app.example/cb2'],
          backchannelLogoutUri: null,
          updatedAt: at(10),
        });
        expect(updated).toEqual({
          ...client,
          name: 'Renamed',
          redirectUris: ['https://app.example/cb2'],
          backchannelLogoutUri: null,
          updatedAt: at(10),
        });
        expect(await store.clients.get(client.id)).toEqual(updated);
        expect(await store.clients.update(client.id, {})).toEqual(updated);
        expect(await store.clients.update('webc_missing', { name: 'x' })).toBeNull();

        expect(await store.clients.delete(client.id)).toBe(true);
        expect(await store.clients.delete(client.id)).toBe(false);
        expect(await store.clients.get(client.id)).toBeNull();
      });

      it('keeps at most two active secrets, newest first', async () => {
        const client = makeClient();
        await store.clients.insert(client);
        const secret = (createdAt: Date, expiresAt: Date | null = null) => ({
          id: newId('sec'),
          clientId: client.id,
          secretHash: hashSecret(newSecret()),
          hint: 'abcd',
          createdAt,
          expiresAt,
        });
        const first = secret(at(0));
        const second = secret(at(10));
        await store.clients.insertSecret(first);
        await store.clients.insertSecret(second);
        expect(await store.clients.activeSecrets(client.id, at(20))).toEqual([second, first]);
        expect(await store.clients.getWithActiveSecrets(client.id, at(20))).toEqual({
          client,
          secrets: [second, first],
        });

        const third = secret(at(20));
        await expect(store.clients.insertSecret(third)).rejects.toBeInstanceOf(TooManySecretsError);
        expect(await store.clients.activeSecrets(client.id, at(20))).toHaveLength(2);

        // Rotation: the old secret lives on briefly, and once expired no longer counts.
        expect(await store.clients.expireSecret(client.id, first.id, at(30))).toBe(true);
        expect(await store.clients.expireSecret('webc_other', second.id, at(30))).toBe(false);
        const fourth = secret(at(40));
        await store.clients.insertSecret(fourth);
        expect(await store.clients.activeSecrets(client.id, at(40))).toEqual([fourth, second]);
        expect((await store.clients.activeSecrets(client.id, at(29))).map((s) => s.id)).toContain(first.id);
        expect(await store.clients.getWithActiveSecrets(client.id, at(40))).toEqual({
          client,
          secrets: [fourth, second],
        });

        expect(await store.clients.deleteSecret('webc_other', second.id)).toBe(false);
        expect(await store.clients.deleteSecret(client.id, second.id)).toBe(true);
        expect(await store.clients.activeSecrets(client.id, at(40))).toEqual([fourth]);
        expect(await store.clients.getWithActiveSecrets(client.id, at(100_000))).toEqual({
          client,
          secrets: [fourth],
        });
        await store.clients.expireSecret(client.id, fourth.id, at(50));
        expect(await store.clients.getWithActiveSecrets(client.id, at(60))).toEqual({ client, secrets: [] });
        expect(await store.clients.getWithActiveSecrets('webc_missing', at(60))).toBeNull();

        // Secrets cannot outlive their client.
        await store.clients.delete(client.id);
        expect(await store.clients.activeSecrets(client.id, at(0))).toEqual([]);
      });
    });

    describe('users', () => {
      it('inserts, reads by id, email and external id, updates and deletes', async () => {
        const user = makeUser({
          externalId: 'ext-1',
          metadata: { plan: 'pro' },
          passwordHash: '$argon2id$x',
        });
        await store.users.insert(user);
        expect(await store.users.get(user.id)).toEqual(user);
        expect(await store.users.getByEmail(user.email)).toEqual(user);
        expect(await store.users.getByExternalId('ext-1')).toEqual(user);
        expect(await store.users.getByEmail('nobody@example.com')).toBeNull();
        expect(await store.users.getByExternalId('nope')).toBeNull();

        const updated = await store.users.update(user.id, {
          name: null,
          disabled: true,
          metadata: { plan: 'free' },
          updatedAt: at(5),
        });
        expect(updated).toEqual({
          ...user,
          name: null,
          disabled: true,
          metadata: { plan: 'free' },
          updatedAt: at(5),
        });
        expect(await store.users.update('usr_missing', { name: 'x' })).toBeNull();

        expect(await store.users.delete(user.id)).toBe(true);
        expect(await store.users.delete(user.id)).toBe(false);
        expect(await store.users.get(user.id)).toBeNull();
      });

      it('a taken email or external id is AlreadyExistsError naming the field', async () => {
        const user = makeUser({ externalId: 'ext-1' });
        await store.users.insert(user);
        await expectAlreadyExists(store.users.insert(makeUser({ email: user.email })), 'email');
        await expectAlreadyExists(store.users.insert(makeUser({ externalId: 'ext-1' })), 'externalId');
        await expectAlreadyExists(store.users.insert({ ...makeUser(), id: user.id }), 'id');

        // Users without an external id do not collide with each other.
        await store.users.insert(makeUser());
        await store.users.insert(makeUser());

        const other = makeUser();
        await store.users.insert(other);
        await expectAlreadyExists(store.users.update(other.id, { email: user.email }), 'email');
        expect((await store.users.get(other.id))?.email).toBe(other.email);
      });

      it('pages by id with opaque cursors, and counts the whole listing', async () => {
        const users = Array.from({ length: 5 }, () => makeUser());
        for (const user of users) await store.users.insert(user);

        const first = await store.users.list({ limit: 2 });
        expect(first.items.map((u) => u.id)).toEqual([users[0]!.id, users[1]!.id]);
        expect(first.totalSize).toBe(5);
        expect(first.nextCursor).not.toBeNull();
        expect(first.nextCursor).not.toContain(users[1]!.id);

        const listed = await allPages((cursor) => store.users.list({ limit: 2, cursor }), 2, 5);
        expect(listed.map((u) => u.id)).toEqual(users.map((u) => u.id));

        const exact = await store.users.list({ limit: 5 });
        expect(exact.items).toHaveLength(5);
        expect(exact.nextCursor).toBeNull();
      });

      it('filters by a case-insensitive substring of email or name, wildcards taken literally', async () => {
        const ada = makeUser({ email: 'ada@lovelace.example', name: 'Ada Lovelace' });
        const alan = makeUser({ email: 'alan@turing.example', name: 'Alan Turing' });
        const percent = makeUser({ email: 'hundred%@example.com', name: null });
        const under = makeUser({ email: 'a_b@example.com', name: 'Under Score' });
        const axb = makeUser({ email: 'axb@example.com', name: null });
        for (const user of [ada, alan, percent, under, axb]) await store.users.insert(user);

        const ids = async (query: string) =>
          (await store.users.list({ limit: 10 }, { query })).items.map((u) => u.id);
        expect(await ids('LOVELACE')).toEqual([ada.id]);
        expect(await ids('turing.EX')).toEqual([alan.id]);
        expect(await ids('%')).toEqual([percent.id]);
        expect(await ids('a_b')).toEqual([under.id]);
        expect(await ids('nobody')).toEqual([]);
        expect((await store.users.list({ limit: 1 }, { query: 'a' })).totalSize).toBe(5);
      });

      it('filters to the members of an organization', async () => {
        const org = makeOrganization();
        await store.organizations.insert(org);
        const members = [makeUser(), makeUser(), makeUser()];
        const outsider = makeUser({ name: 'Member Not' });
        for (const user of [...members, outsider]) await store.users.insert(user);
        for (const user of members) {
          await store.memberships.insert({
            organizationId: org.id,
            userId: user.id,
            roles: ['member'],
            createdAt: at(0),
            updatedAt: at(0),
          });
        }
        const listed = await allPages(
          (cursor) => store.users.list({ limit: 2, cursor }, { organizationId: org.id }),
          2,
          3,
        );
        expect(listed.map((u) => u.id)).toEqual(members.map((u) => u.id));
        const both = await store.users.list(
          { limit: 10 },
          { organizationId: org.id, query: members[1]!.email },
        );
        expect(both.items.map((u) => u.id)).toEqual([members[1]!.id]);
      });

      it('deleting a user removes their memberships, sessions, grants and tokens', async () => {
        const { user, session, grant } = await signedIn();
        const org = makeOrganization();
        await store.organizations.insert(org);
        await store.memberships.insert({
          organizationId: org.id,
          userId: user.id,
          roles: ['member'],
          createdAt: at(0),
          updatedAt: at(0),
        });
        const token = makeRefreshToken(grant, session.id);
        await store.refreshTokens.insert(token);

        expect(await store.users.delete(user.id)).toBe(true);
        expect(await store.memberships.get(org.id, user.id)).toBeNull();
        expect(await store.sessions.get(session.id)).toBeNull();
        expect(await store.grants.get(grant.id)).toBeNull();
        expect(await store.refreshTokens.getByHash(token.tokenHash)).toBeNull();
      });
    });

    describe('organizations', () => {
      it('inserts, reads, lists, updates and deletes', async () => {
        const acme = makeOrganization({ name: 'Acme', externalId: 'acme', metadata: { tier: 'gold' } });
        const globex = makeOrganization({ name: 'Globex' });
        const initech = makeOrganization({ name: 'Initech' });
        for (const org of [acme, globex, initech]) await store.organizations.insert(org);

        expect(await store.organizations.get(acme.id)).toEqual(acme);
        expect(await store.organizations.getByExternalId('acme')).toEqual(acme);
        expect(await store.organizations.getByExternalId('none')).toBeNull();

        const listed = await allPages((cursor) => store.organizations.list({ limit: 2, cursor }), 2, 3);
        expect(listed.map((o) => o.id)).toEqual([acme.id, globex.id, initech.id]);
        const found = await store.organizations.list({ limit: 10 }, { query: 'GLOB' });
        expect(found).toEqual({ items: [globex], nextCursor: null, totalSize: 1 });

        const updated = await store.organizations.update(acme.id, { name: 'Acme Corp', updatedAt: at(3) });
        expect(updated).toEqual({ ...acme, name: 'Acme Corp', updatedAt: at(3) });
        expect(await store.organizations.update('org_missing', { name: 'x' })).toBeNull();

        expect(await store.organizations.delete(acme.id)).toBe(true);
        expect(await store.organizations.delete(acme.id)).toBe(false);
      });

      it('a taken external id is AlreadyExistsError', async () => {
        await store.organizations.insert(makeOrganization({ externalId: 'acme' }));
        await expectAlreadyExists(
          store.organizations.insert(makeOrganization({ externalId: 'acme' })),
          'externalId',
        );
        const other = makeOrganization();
        await store.organizations.insert(other);
        await store.organizations.insert(makeOrganization());
        await expectAlreadyExists(store.organizations.update(other.id, { externalId: 'acme' }), 'externalId');
      });

      it('deleting an organization removes its memberships and roles', async () => {
        const org = makeOrganization();
        await store.organizations.insert(org);
        const user = makeUser();
        await store.users.insert(user);
        await store.memberships.insert({
          organizationId: org.id,
          userId: user.id,
          roles: ['member'],
          createdAt: at(0),
          updatedAt: at(0),
        });
        const role = makeRole({ organizationId: org.id });
        await store.roles.insert(role);

        await store.organizations.delete(org.id);
        expect(await store.memberships.listForUser(user.id)).toEqual([]);
        expect(await store.roles.getByName(role.name, org.id)).toBeNull();
        expect(await store.users.get(user.id)).not.toBeNull();
      });
    });

    describe('memberships', () => {
      it('inserts, reads, lists oldest first, updates roles and deletes', async () => {
        const user = makeUser();
        await store.users.insert(user);
        const older = makeOrganization();
        const newer = makeOrganization();
        await store.organizations.insert(older);
        await store.organizations.insert(newer);
        const second = {
          organizationId: newer.id,
          userId: user.id,
          roles: ['member'],
          createdAt: at(20),
          updatedAt: at(20),
        };
        const first = { ...second, organizationId: older.id, roles: ['admin', 'member'], createdAt: at(10) };
        await store.memberships.insert(second);
        await store.memberships.insert(first);

        expect(await store.memberships.get(older.id, user.id)).toEqual(first);
        expect(await store.memberships.get(older.id, 'usr_missing')).toBeNull();
        expect(await store.memberships.listForUser(user.id)).toEqual([first, second]);

        await expectAlreadyExists(store.memberships.insert(first), 'membership');

        const updated = await store.memberships.update(newer.id, user.id, ['admin'], at(30));
        expect(updated).toEqual({ ...second, roles: ['admin'], updatedAt: at(30) });
        expect(await store.memberships.update(newer.id, 'usr_missing', ['admin'], at(30))).toBeNull();

        expect(await store.memberships.delete(newer.id, user.id)).toBe(true);
        expect(await store.memberships.delete(newer.id, user.id)).toBe(false);
        expect(await store.memberships.listForUser(user.id)).toEqual([first]);
      });
    });

    describe('memberships by role', () => {
      it('lists the memberships holding a role name exactly, in one organization or in all', async () => {
        const [ann, bob] = [makeUser(), makeUser()];
        await store.users.insert(ann);
        await store.users.insert(bob);
        const [one, two] = [makeOrganization(), makeOrganization()];
        await store.organizations.insert(one);
        await store.organizations.insert(two);
        const membership = (org: Organization, user: User, roles: string[]) => ({
          organizationId: org.id,
          userId: user.id,
          roles,
          createdAt: at(0),
          updatedAt: at(0),
        });
        const annOne = membership(one, ann, ['admin', 'report_viewer']);
        const bobOne = membership(one, bob, ['report_viewers']);
        const annTwo = membership(two, ann, ['REPORT_VIEWER', 'member']);
        const bobTwo = membership(two, bob, ['member', 'report_viewer']);
        for (const m of [annOne, bobOne, annTwo, bobTwo]) await store.memberships.insert(m);

        const sorted = (list: Array<{ organizationId: string; userId: string }>) =>
          [...list].sort((x, y) =>
            x.organizationId === y.organizationId
              ? Number(x.userId > y.userId) - Number(x.userId < y.userId)
              : Number(x.organizationId > y.organizationId) - Number(x.organizationId < y.organizationId),
          );
        expect(await store.memberships.listWithRole('report_viewer')).toEqual(sorted([annOne, bobTwo]));
        expect(await store.memberships.listWithRole('report_viewer', two.id)).toEqual([bobTwo]);
        expect(await store.memberships.listWithRole('report%')).toEqual([]);
        expect(await store.memberships.listWithRole('missing')).toEqual([]);
      });
    });

    describe('roles and permissions', () => {
      async function permission(name: string) {
        const p = { id: newId('perm'), name, description: `may ${name}`, createdAt: at(0), updatedAt: at(0) };
        await store.roles.insertPermission(p);
        return p;
      }

      it('manages permissions by name', async () => {
        const write = await permission('docs:write');
        const read = await permission('docs:read');
        expect(await store.roles.getPermission('docs:read')).toEqual(read);
        expect(await store.roles.getPermission('docs:none')).toBeNull();
        expect(await store.roles.listPermissions()).toEqual([read, write]);
        await expectAlreadyExists(permission('docs:read'), 'name');

        const updated = await store.roles.updatePermission('docs:read', {
          description: 'read docs',
          updatedAt: at(9),
        });
        expect(updated).toEqual({ ...read, description: 'read docs', updatedAt: at(9) });
        expect(
          await store.roles.updatePermission('docs:none', { description: 'x', updatedAt: at(9) }),
        ).toBeNull();

        const role = makeRole({ permissions: ['docs:read', 'docs:write'] });
        await store.roles.insert(role);
        expect(await store.roles.deletePermission('docs:write')).toBe(true);
        expect(await store.roles.deletePermission('docs:write')).toBe(false);
        expect((await store.roles.getByName('editor'))?.permissions).toEqual(['docs:read']);
      });

      it('role names are unique per organization and among environment roles', async () => {
        const acme = makeOrganization();
        const globex = makeOrganization();
        await store.organizations.insert(acme);
        await store.organizations.insert(globex);

        await expectAlreadyExists(store.roles.insert(makeRole({ name: 'admin' })), 'name');
        await store.roles.insert(makeRole({ name: 'admin', organizationId: acme.id }));
        await store.roles.insert(makeRole({ name: 'admin', organizationId: globex.id }));
        await expectAlreadyExists(
          store.roles.insert(makeRole({ name: 'admin', organizationId: acme.id })),
          'name',
        );

        const viewer = makeRole({ name: 'viewer' });
        await store.roles.insert(viewer);
        await expectAlreadyExists(store.roles.update(viewer.id, { name: 'member' }), 'name');
      });

      it('an organization role shadows the environment role of the same name', async () => {
        await permission('billing:manage');
        const org = makeOrganization();
        await store.organizations.insert(org);
        const own = makeRole({ name: 'admin', organizationId: org.id, permissions: ['billing:manage'] });
        await store.roles.insert(own);

        expect(await store.roles.getByName('admin', org.id)).toEqual(own);
        const env = await store.roles.getByName('admin');
        expect(env).toMatchObject({ name: 'admin', organizationId: null });
        expect(await store.roles.getByName('admin', null)).toEqual(env);
        expect(await store.roles.getByName('member', org.id)).toMatchObject({
          name: 'member',
          organizationId: null,
        });
        expect(await store.roles.getByName('nobody', org.id)).toBeNull();
      });

      it('lists all roles, environment roles, or the roles usable in an organization', async () => {
        const acme = makeOrganization();
        const globex = makeOrganization();
        await store.organizations.insert(acme);
        await store.organizations.insert(globex);
        const acmeRole = makeRole({ name: 'auditor', organizationId: acme.id });
        const globexRole = makeRole({ name: 'auditor', organizationId: globex.id });
        await store.roles.insert(acmeRole);
        await store.roles.insert(globexRole);

        const names = (roles: Role[]) => roles.map((r) => `${r.name}@${r.organizationId ?? 'env'}`).sort();
        expect(names(await store.roles.list(null))).toEqual(['admin@env', 'member@env']);
        expect(names(await store.roles.list(acme.id))).toEqual(
          [`auditor@${acme.id}`, 'admin@env', 'member@env'].sort(),
        );
        expect(await store.roles.list()).toHaveLength(4);
      });

      it('updates a role, replacing its permissions, and deletes it', async () => {
        await permission('a:read');
        await permission('a:write');
        const role = makeRole({ permissions: ['a:read'] });
        await store.roles.insert(role);
        expect(await store.roles.getByName('editor')).toEqual(role);

        const renamed = await store.roles.update(role.id, {
          displayName: 'Writer',
          permissions: ['a:write', 'a:read'],
          isDefaultMember: true,
          updatedAt: at(4),
        });
        expect(renamed).toEqual({
          ...role,
          displayName: 'Writer',
          permissions: ['a:read', 'a:write'],
          isDefaultMember: true,
          updatedAt: at(4),
        });
        expect(await store.roles.update(role.id, { permissions: [] })).toEqual({
          ...renamed,
          permissions: [],
        });
        expect(await store.roles.update('role_missing', { displayName: 'x' })).toBeNull();

        expect(await store.roles.delete(role.id)).toBe(true);
        expect(await store.roles.delete(role.id)).toBe(false);
        expect(await store.roles.getByName('editor')).toBeNull();
      });

      it('entitlements are the resolved roles and the union of their permissions', async () => {
        for (const name of ['docs:read', 'docs:write', 'billing:read', 'billing:manage', 'env:only']) {
          await permission(name);
        }
        const org = makeOrganization();
        const elsewhere = makeOrganization();
        await store.organizations.insert(org);
        await store.organizations.insert(elsewhere);
        const user = makeUser();
        await store.users.insert(user);

        // Environment `member` is shadowed in `org` by its own `member`; `reader` is environment-wide.
        const envMember = (await store.roles.getByName('member'))!;
        await store.roles.update(envMember.id, { permissions: ['env:only'] });
        await store.roles.insert(makeRole({ name: 'reader', permissions: ['docs:read'] }));
        await store.roles.insert(
          makeRole({ name: 'member', organizationId: org.id, permissions: ['docs:read', 'docs:write'] }),
        );
        await store.roles.insert(
          makeRole({ name: 'billing', organizationId: org.id, permissions: ['billing:read'] }),
        );
        await store.roles.insert(
          makeRole({ name: 'billing', organizationId: elsewhere.id, permissions: ['billing:manage'] }),
        );
        await store.memberships.insert({
          organizationId: org.id,
          userId: user.id,
          roles: ['member', 'reader', 'billing', 'deleted-role'],
          createdAt: at(0),
          updatedAt: at(0),
        });

        expect(await store.roles.entitlements(user.id, org.id)).toEqual({
          roles: ['member', 'reader', 'billing'],
          permissions: ['billing:read', 'docs:read', 'docs:write'],
        });
        expect(await store.roles.entitlements(user.id, elsewhere.id)).toEqual({ roles: [], permissions: [] });
        expect(await store.roles.resolveEntitlements(['billing', 'member', 'billing'], org.id)).toEqual({
          roles: ['billing', 'member'],
          permissions: ['billing:read', 'docs:read', 'docs:write'],
        });
        expect(await store.roles.resolveEntitlements(['billing'], elsewhere.id)).toEqual({
          roles: ['billing'],
          permissions: ['billing:manage'],
        });
        expect(await store.roles.resolveEntitlements([], org.id)).toEqual({ roles: [], permissions: [] });
      });
    });

    describe('sessions', () => {
      it('inserts and reads a session with its clients', async () => {
        const { client, session } = await signedIn();
        expect(await store.sessions.get(session.id)).toEqual(session);
        expect(await store.sessions.getByTokenHash(session.tokenHash)).toEqual(session);
        expect(await store.sessions.get('ses_missing')).toBeNull();
        expect(await store.sessions.getByTokenHash('missing')).toBeNull();

        const user = makeUser();
        await store.users.insert(user);
        const withClient = makeSession(user.id, { clientIds: [client.id] });
        await store.sessions.insert(withClient);
        expect(await store.sessions.get(withClient.id)).toEqual(withClient);
      });

      it('slides, re-authenticates with a new cookie, and switches organization', async () => {
        const { session } = await signedIn();
        await store.sessions.touch(session.id, at(100), at(day + 100));
        expect(await store.sessions.get(session.id)).toMatchObject({
          lastActiveAt: at(100),
          idleExpiresAt: at(day + 100),
        });

        const tokenHash = hashSecret(newSecret());
        await store.sessions.reauthenticate(session.id, {
          tokenHash,
          authTime: at(200),
          amr: ['pwd', 'otp'],
          lastActiveAt: at(200),
          idleExpiresAt: at(day + 200),
        });
        expect(await store.sessions.getByTokenHash(session.tokenHash)).toBeNull();
        expect(await store.sessions.getByTokenHash(tokenHash)).toMatchObject({
          id: session.id,
          authTime: at(200),
          amr: ['pwd', 'otp'],
          idleExpiresAt: at(day + 200),
        });

        const org = makeOrganization();
        await store.organizations.insert(org);
        await store.sessions.setOrganization(session.id, org.id);
        expect((await store.sessions.get(session.id))?.organizationId).toBe(org.id);
        await store.sessions.setOrganization(session.id, null);
        expect((await store.sessions.get(session.id))?.organizationId).toBeNull();
      });

      it('records each client once', async () => {
        const { client, session } = await signedIn();
        const second = makeClient();
        await store.clients.insert(second);
        await store.sessions.addClient(session.id, client.id);
        await store.sessions.addClient(session.id, client.id);
        await store.sessions.addClient(session.id, second.id);
        expect((await store.sessions.get(session.id))?.clientIds.sort()).toEqual(
          [client.id, second.id].sort(),
        );
      });

      it('ending a session revokes its grants and refresh tokens, once', async () => {
        const { client, user, session, grant } = await signedIn();
        await store.sessions.addClient(session.id, client.id);
        const token = makeRefreshToken(grant, session.id);
        const alreadyRevoked = makeRefreshToken(grant, session.id, { revokedAt: at(1) });
        await store.refreshTokens.insert(token);
        await store.refreshTokens.insert(alreadyRevoked);

        const otherSession = makeSession(user.id);
        await store.sessions.insert(otherSession);
        const otherGrant = makeGrant(client.id, user.id, otherSession.id);
        await store.grants.insert(otherGrant);
        const otherToken = makeRefreshToken(otherGrant, otherSession.id);
        await store.refreshTokens.insert(otherToken);

        const ended = await store.sessions.end(session.id, 'logout', at(50));
        expect(ended).toEqual({ ...session, endedAt: at(50), endReason: 'logout', clientIds: [client.id] });
        expect((await store.grants.get(grant.id))?.revokedAt).toEqual(at(50));
        expect((await store.refreshTokens.getByHash(token.tokenHash))?.revokedAt).toEqual(at(50));
        expect((await store.refreshTokens.getByHash(alreadyRevoked.tokenHash))?.revokedAt).toEqual(at(1));
        expect(await store.sessions.getByTokenHash(session.tokenHash)).toBeNull();
        expect((await store.sessions.get(session.id))?.endReason).toBe('logout');

        expect(await store.sessions.end(session.id, 'revoked', at(60))).toBeNull();
        expect((await store.sessions.get(session.id))?.endedAt).toEqual(at(50));
        expect(await store.sessions.end('ses_missing', 'logout', at(60))).toBeNull();

        expect((await store.grants.get(otherGrant.id))?.revokedAt).toBeNull();
        expect((await store.refreshTokens.getByHash(otherToken.tokenHash))?.revokedAt).toBeNull();
      });

      it('lists a user’s sessions, the active ones, and the expired ones', async () => {
        const { user, session: live } = await signedIn();
        const ended = makeSession(user.id);
        const idle = makeSession(user.id, { idleExpiresAt: at(100) });
        const old = makeSession(user.id, { absoluteExpiresAt: at(200) });
        const later = makeSession(user.id);
        for (const s of [ended, idle, old, later]) await store.sessions.insert(s);
        await store.sessions.end(ended.id, 'logout', at(10));
        const stranger = makeUser();
        await store.users.insert(stranger);
        const strangers = makeSession(stranger.id);
        await store.sessions.insert(strangers);

        const all = await allPages(
          (cursor) => store.sessions.listForUser(user.id, { limit: 2, cursor }),
          2,
          5,
        );
        expect(all.map((s) => s.id)).toEqual([live.id, ended.id, idle.id, old.id, later.id]);

        const notEnded = await store.sessions.listForUser(user.id, { limit: 10 }, { activeOnly: true });
        expect(notEnded.items.map((s) => s.id)).toEqual([live.id, idle.id, old.id, later.id]);
        const active = await store.sessions.listForUser(
          user.id,
          { limit: 10 },
          { activeOnly: true, now: at(300) },
        );
        expect(active.items.map((s) => s.id)).toEqual([live.id, later.id]);
        expect(active.totalSize).toBe(2);

        const everyone = await allPages(
          (cursor) => store.sessions.listActive(at(300), { limit: 2, cursor }),
          2,
          3,
        );
        expect(everyone.map((s) => s.id)).toEqual([live.id, later.id, strangers.id]);

        expect((await store.sessions.listExpired(at(300), 10)).map((s) => s.id)).toEqual([idle.id, old.id]);
        expect((await store.sessions.listExpired(at(150), 10)).map((s) => s.id)).toEqual([idle.id]);
        expect(await store.sessions.listExpired(at(300), 1)).toHaveLength(1);
        expect(await store.sessions.listExpired(at(50), 10)).toEqual([]);
      });
    });

    describe('interactions', () => {
      it('keeps the request, remembers the user, and completes once', async () => {
        const { user, session } = await signedIn();
        const interaction = makeInteraction();
        await store.interactions.insert(interaction);
        expect(await store.interactions.get(interaction.id)).toEqual(interaction);
        expect(await store.interactions.get('int_missing')).toBeNull();

        await store.interactions.setUser(interaction.id, user.id, session.id);
        expect(await store.interactions.get(interaction.id)).toMatchObject({
          userId: user.id,
          sessionId: session.id,
        });

        expect(await store.interactions.complete(interaction.id, at(30))).toBe(true);
        expect(await store.interactions.complete(interaction.id, at(31))).toBe(false);
        expect((await store.interactions.get(interaction.id))?.completedAt).toEqual(at(30));
        expect(await store.interactions.complete('int_missing', at(31))).toBe(false);
      });
    });

    describe('grants', () => {
      it('revoking a grant revokes every refresh token in it, once (RFC 6749 §10.4)', async () => {
        const { client, user, session, grant } = await signedIn();
        expect(await store.grants.get(grant.id)).toEqual(grant);
        expect(await store.grants.get('grt_missing')).toBeNull();

        const tokens = [makeRefreshToken(grant, session.id), makeRefreshToken(grant, session.id)];
        const earlier = makeRefreshToken(grant, session.id, { revokedAt: at(5) });
        for (const t of [...tokens, earlier]) await store.refreshTokens.insert(t);
        const otherGrant = makeGrant(client.id, user.id, session.id);
        await store.grants.insert(otherGrant);
        const otherToken = makeRefreshToken(otherGrant, session.id);
        await store.refreshTokens.insert(otherToken);

        expect(await store.grants.revoke(grant.id, at(10))).toBe(true);
        expect((await store.grants.get(grant.id))?.revokedAt).toEqual(at(10));
        for (const t of tokens)
          expect((await store.refreshTokens.getByHash(t.tokenHash))?.revokedAt).toEqual(at(10));
        expect((await store.refreshTokens.getByHash(earlier.tokenHash))?.revokedAt).toEqual(at(5));
        expect((await store.refreshTokens.getByHash(otherToken.tokenHash))?.revokedAt).toBeNull();

        expect(await store.grants.revoke(grant.id, at(20))).toBe(false);
        expect((await store.grants.get(grant.id))?.revokedAt).toEqual(at(10));
        expect(await store.grants.revoke('grt_missing', at(20))).toBe(false);
      });
    });

    describe('authorization codes', () => {
      it('a code is consumed once; a second redemption is flagged as replayed (RFC 6749 §4.1.2)', async () => {
        const { session, grant } = await signedIn();
        const code = makeCode(grant, session.id);
        await store.codes.insert(code);

        expect(await store.codes.consume(code.codeHash, at(10))).toEqual({
          code: { ...code, consumedAt: at(10) },
          replayed: false,
        });
        expect(await store.codes.consume(code.codeHash, at(11))).toEqual({
          code: { ...code, consumedAt: at(10) },
          replayed: true,
        });
        expect(await store.codes.consume('unknown', at(12))).toBeNull();
      });

      it('two concurrent redemptions: exactly one wins', async () => {
        const { session, grant } = await signedIn();
        const code = makeCode(grant, session.id);
        await store.codes.insert(code);
        const results = await Promise.all([
          store.codes.consume(code.codeHash, at(10)),
          store.codes.consume(code.codeHash, at(10)),
        ]);
        expect(results.map((r) => r?.replayed).sort()).toEqual([false, true]);
      });

      it('an expired code is still returned: the token endpoint judges expiry', async () => {
        const { session, grant } = await signedIn();
        const code = makeCode(grant, session.id, { expiresAt: at(60) });
        await store.codes.insert(code);
        const result = await store.codes.consume(code.codeHash, at(600));
        expect(result?.replayed).toBe(false);
        expect(result?.code.expiresAt).toEqual(at(60));
      });
    });

    describe('refresh tokens', () => {
      it('rotation marks the token rotated and stores its successor', async () => {
        const { session, grant } = await signedIn();
        const token = makeRefreshToken(grant, session.id);
        await store.refreshTokens.insert(token);
        expect(await store.refreshTokens.getByHash(token.tokenHash)).toEqual(token);
        expect(await store.refreshTokens.getByHash('unknown')).toBeNull();

        const successor = makeRefreshToken(grant, session.id, { createdAt: at(10) });
        expect(await store.refreshTokens.rotate(token.id, successor, 'sealed-response', at(10))).toBe(true);
        expect(await store.refreshTokens.getByHash(token.tokenHash)).toEqual({
          ...token,
          rotatedAt: at(10),
          successorSealed: 'sealed-response',
        });
        expect(await store.refreshTokens.getByHash(successor.tokenHash)).toEqual(successor);

        const late = makeRefreshToken(grant, session.id);
        expect(await store.refreshTokens.rotate(token.id, late, 'other', at(11))).toBe(false);
        expect(await store.refreshTokens.getByHash(late.tokenHash)).toBeNull();
        expect((await store.refreshTokens.getByHash(token.tokenHash))?.successorSealed).toBe(
          'sealed-response',
        );
      });

      it('a rotation can slide the session idle timeout in its transaction; a lost race slides nothing', async () => {
        const { session, grant } = await signedIn();
        const token = makeRefreshToken(grant, session.id);
        await store.refreshTokens.insert(token);
        const successor = makeRefreshToken(grant, session.id, { createdAt: at(70) });
        const slide = { sessionId: session.id, idleExpiresAt: at(5000) };
        expect(await store.refreshTokens.rotate(token.id, successor, null, at(70), slide)).toBe(true);
        expect(await store.refreshTokens.getByHash(token.tokenHash)).toEqual({
          ...token,
          rotatedAt: at(70),
          successorSealed: null,
        });
        const slid = await store.sessions.get(session.id);
        expect(slid?.lastActiveAt).toEqual(at(70));
        expect(slid?.idleExpiresAt).toEqual(at(5000));

        const late = makeRefreshToken(grant, session.id);
        const later = { sessionId: session.id, idleExpiresAt: at(9000) };
        expect(await store.refreshTokens.rotate(token.id, late, 'other', at(80), later)).toBe(false);
        expect(await store.sessions.get(session.id)).toEqual(slid);
      });

      it('reads a grant with the session, user, organization and membership a code names, and whether the app is in the session', async () => {
        const org = makeOrganization();
        await store.organizations.insert(org);
        const { client, session, user, grant } = await signedIn();
        await store.memberships.insert({
          organizationId: org.id,
          userId: user.id,
          roles: ['member'],
          createdAt: at(0),
          updatedAt: at(0),
        });
        const named = { sessionId: session.id, userId: user.id, organizationId: org.id, clientId: client.id };
        const { clientIds: _apps, ...sessionFields } = session;
        expect(await store.grants.getWithContext(grant.id, named)).toEqual({
          grant,
          session: sessionFields,
          sessionHasClient: false,
          user,
          organization: org,
          membershipRoles: ['member'],
        });
        await store.sessions.addClient(session.id, client.id);
        expect(await store.grants.getWithContext(grant.id, named)).toMatchObject({ sessionHasClient: true });
        expect(
          await store.grants.getWithContext(grant.id, {
            ...named,
            organizationId: null,
            clientId: 'webc_other',
          }),
        ).toMatchObject({ organization: null, membershipRoles: null, sessionHasClient: false });
        expect(
          await store.grants.getWithContext(grant.id, {
            ...named,
            sessionId: 'ses_gone',
            userId: 'usr_gone',
          }),
        ).toMatchObject({ session: null, user: null, membershipRoles: null });
        expect(await store.grants.getWithContext('grt_missing', named)).toBeNull();
      });

      it('reads a token with its session, user, organization and membership in one go', async () => {
        const org = makeOrganization({ externalId: 'acme' });
        await store.organizations.insert(org);
        const { session, user, grant } = await signedIn();
        await store.memberships.insert({
          organizationId: org.id,
          userId: user.id,
          roles: ['admin', 'member'],
          createdAt: at(0),
          updatedAt: at(0),
        });
        const token = makeRefreshToken(grant, session.id, { organizationId: org.id });
        await store.refreshTokens.insert(token);
        const { clientIds: _apps, ...sessionFields } = session;
        expect(await store.refreshTokens.getWithContext(token.tokenHash)).toEqual({
          token,
          session: sessionFields,
          user,
          organization: org,
          membershipRoles: ['admin', 'member'],
        });

        // Without an organization, or once the membership is gone: no membership roles.
        const plain = makeRefreshToken(grant, session.id);
        await store.refreshTokens.insert(plain);
        expect(await store.refreshTokens.getWithContext(plain.tokenHash)).toMatchObject({
          token: plain,
          organization: null,
          membershipRoles: null,
        });
        await store.memberships.delete(org.id, user.id);
        expect(await store.refreshTokens.getWithContext(token.tokenHash)).toMatchObject({
          organization: org,
          membershipRoles: null,
        });
        expect(await store.refreshTokens.getWithContext('unknown')).toBeNull();
      });

      it('two concurrent rotations of one token: exactly one succeeds (RFC 9700 §4.14.2)', async () => {
        const { session, grant } = await signedIn();
        const token = makeRefreshToken(grant, session.id);
        await store.refreshTokens.insert(token);
        const a = makeRefreshToken(grant, session.id);
        const b = makeRefreshToken(grant, session.id);
        const results = await Promise.all([
          store.refreshTokens.rotate(token.id, a, 'sealed-a', at(10)),
          store.refreshTokens.rotate(token.id, b, 'sealed-b', at(10)),
        ]);
        expect(results.filter(Boolean)).toHaveLength(1);
        const stored = await Promise.all([a, b].map((t) => store.refreshTokens.getByHash(t.tokenHash)));
        expect(stored.filter((t) => t !== null)).toHaveLength(1);
        const winner = results[0] ? 'sealed-a' : 'sealed-b';
        expect((await store.refreshTokens.getByHash(token.tokenHash))?.successorSealed).toBe(winner);
      });

      it('a rotation whose successor cannot be stored leaves the current token untouched', async () => {
        const { session, grant } = await signedIn();
        const token = makeRefreshToken(grant, session.id);
        await store.refreshTokens.insert(token);
        const clash = makeRefreshToken(grant, session.id, { tokenHash: token.tokenHash });
        await rejection(store.refreshTokens.rotate(token.id, clash, 'sealed', at(10)));
        expect(await store.refreshTokens.getByHash(token.tokenHash)).toEqual(token);
        const successor = makeRefreshToken(grant, session.id);
        expect(await store.refreshTokens.rotate(token.id, successor, 'sealed', at(11))).toBe(true);
      });

      it('a revoked token is revoked once and cannot rotate', async () => {
        const { session, grant } = await signedIn();
        const token = makeRefreshToken(grant, session.id);
        await store.refreshTokens.insert(token);
        expect(await store.refreshTokens.revoke(token.id, at(5))).toBe(true);
        expect(await store.refreshTokens.revoke(token.id, at(6))).toBe(false);
        expect((await store.refreshTokens.getByHash(token.tokenHash))?.revokedAt).toEqual(at(5));
        expect(await store.refreshTokens.revoke('tkn_missing', at(6))).toBe(false);

        const successor = makeRefreshToken(grant, session.id);
        expect(await store.refreshTokens.rotate(token.id, successor, 'sealed', at(7))).toBe(false);
        expect(await store.refreshTokens.getByHash(successor.tokenHash)).toBeNull();
      });
    });

    describe('sealed successor responses', () => {
      it("sweep drops a rotated token's sealed successor after the grace window, keeping the row for reuse detection", async () => {
        const { session, grant } = await signedIn();
        const first = makeRefreshToken(grant, session.id);
        await store.refreshTokens.insert(first);
        const second = makeRefreshToken(grant, session.id);
        expect(await store.refreshTokens.rotate(first.id, second, 'sealed-response', at(10))).toBe(true);
        expect((await store.sweep(at(10 + 60), 100)).sealedResponses).toBe(0);
        expect((await store.refreshTokens.getByHash(first.tokenHash))!.successorSealed).toBe(
          'sealed-response',
        );
        expect((await store.sweep(at(10 + 300), 100)).sealedResponses).toBe(1);
        const kept = (await store.refreshTokens.getByHash(first.tokenHash))!;
        expect(kept.successorSealed).toBeNull();
        expect(kept.rotatedAt).toEqual(at(10));
      });
    });

    describe('signing keys', () => {
      it('lists keys by activation and updates their retirement and expiry', async () => {
        const next = makeKey({ activatesAt: at(100) });
        const current = makeKey({ alg: 'RS256', publicJwk: { kty: 'RSA', n: 'n', e: 'AQAB' } });
        await store.keys.insert(next);
        await store.keys.insert(current);
        expect(await store.keys.list()).toEqual([current, next]);

        await store.keys.update(current.id, { retiresAt: at(100), expiresAt: at(500) });
        await store.keys.update(next.id, {});
        expect(await store.keys.list()).toEqual([
          { ...current, retiresAt: at(100), expiresAt: at(500) },
          next,
        ]);
        await store.keys.update(current.id, { expiresAt: null });
        expect((await store.keys.list())[0]).toEqual({ ...current, retiresAt: at(100), expiresAt: null });
      });

      it('insertFirst stores a key only while none signs: retired, expired or pending keys do not count', async () => {
        await store.keys.insert(makeKey({ activatesAt: at(0), retiresAt: at(50), expiresAt: at(500) }));
        await store.keys.insert(makeKey({ activatesAt: at(0), retiresAt: at(10), expiresAt: at(20) }));
        await store.keys.insert(makeKey({ activatesAt: at(1000) }));
        const first = makeKey({ activatesAt: at(60) });
        expect(await store.keys.insertFirst(first, at(60))).toBe(true);
        expect(await store.keys.insertFirst(makeKey({ activatesAt: at(61) }), at(61))).toBe(false);
        expect((await store.keys.list()).filter((k) => k.id === first.id)).toEqual([first]);
        expect(await store.keys.list()).toHaveLength(4);
      });

      it('insertFirst from many servers at once on an empty store: exactly one key', async () => {
        const candidates = Array.from({ length: 6 }, () => makeKey({ activatesAt: at(0) }));
        const results = await Promise.all(candidates.map((key) => store.keys.insertFirst(key, at(0))));
        expect(results.filter(Boolean)).toHaveLength(1);
        const stored = await store.keys.list();
        expect(stored).toHaveLength(1);
        expect(stored[0]?.id).toBe(candidates[results.indexOf(true)]?.id);
      });
    });

    describe('rate limits', () => {
      it('counts hits per key and fixed window', async () => {
        const w1 = at(0);
        const w2 = at(60);
        expect(await store.rateLimits.peek('login:ip', w1)).toBe(0);
        expect(await store.rateLimits.hit('login:ip', w1, at(60))).toBe(1);
        expect(await store.rateLimits.hit('login:ip', w1, at(60))).toBe(2);
        expect(await store.rateLimits.hit('login:ip', w1, at(60))).toBe(3);
        expect(await store.rateLimits.peek('login:ip', w1)).toBe(3);

        expect(await store.rateLimits.hit('login:ip', w2, at(120))).toBe(1);
        expect(await store.rateLimits.hit('login:other', w1, at(60))).toBe(1);
        expect(await store.rateLimits.peek('login:ip', w2)).toBe(1);

        const concurrent = await Promise.all(
          Array.from({ length: 5 }, () => store.rateLimits.hit('burst', w1, at(60))),
        );
        expect(concurrent.sort()).toEqual([1, 2, 3, 4, 5]);

        await store.rateLimits.reset('login:ip');
        expect(await store.rateLimits.peek('login:ip', w1)).toBe(0);
        expect(await store.rateLimits.peek('login:ip', w2)).toBe(0);
        expect(await store.rateLimits.peek('login:other', w1)).toBe(1);
      });
    });

    describe('audit events', () => {
      it('appends and pages events', async () => {
        const events = Array.from({ length: 3 }, (_, i) => ({
          id: newId('evt'),
          actor: 'usr_admin',
          action: 'user.created',
          targetType: 'user',
          targetId: i === 0 ? null : `usr_${i}`,
          detail: { n: i, nested: { ok: true } },
          createdAt: at(i),
        }));
        for (const event of events) await store.audit.append(event);
        expect(await allPages((cursor) => store.audit.list({ limit: 2, cursor }), 2, 3)).toEqual(events);
      });

      it('rejects a page limit below one', async () => {
        await expect(store.audit.list({ limit: 0 })).rejects.toBeInstanceOf(TypeError);
      });
    });

    describe('transactions', () => {
      it('commits the work of the callback', async () => {
        const user = makeUser();
        const result = await store.transaction(async (tx) => {
          await tx.users.insert(user);
          return 'done';
        });
        expect(result).toBe('done');
        expect(await store.users.get(user.id)).toEqual(user);
      });

      it('rolls everything back when the callback throws', async () => {
        const user = makeUser();
        const org = makeOrganization();
        const boom = new Error('boom');
        const err = await rejection(
          store.transaction(async (tx) => {
            await tx.users.insert(user);
            await tx.organizations.insert(org);
            expect(await tx.users.get(user.id)).toEqual(user);
            throw boom;
          }),
        );
        expect(err).toBe(boom);
        expect(await store.users.get(user.id)).toBeNull();
        expect(await store.organizations.get(org.id)).toBeNull();
      });

      it('a nested transaction joins the outer one, and atomic methods run inside it', async () => {
        const { session, grant } = await signedIn();
        const token = makeRefreshToken(grant, session.id);
        await store.refreshTokens.insert(token);
        const user = makeUser();
        const undo = new Error('undo');
        const err = await rejection(
          store.transaction(async (tx) => {
            await tx.transaction(async (inner) => {
              expect(inner).toBe(tx);
              await inner.users.insert(user);
            });
            expect(await tx.grants.revoke(grant.id, at(5))).toBe(true);
            expect(await tx.sessions.end(session.id, 'logout', at(5))).not.toBeNull();
            throw undo;
          }),
        );
        expect(err).toBe(undo);
        expect(await store.users.get(user.id)).toBeNull();
        expect((await store.grants.get(grant.id))?.revokedAt).toBeNull();
        expect((await store.refreshTokens.getByHash(token.tokenHash))?.revokedAt).toBeNull();
        expect((await store.sessions.get(session.id))?.endedAt).toBeNull();
      });
    });

    describe('back-channel logout outbox', () => {
      /** A session two apps received tokens in; only `withUri` has a back-channel logout URI. */
      async function sessionWithApps() {
        const { client: withoutUri, user, session } = await signedIn();
        const withUri = makeClient({ backchannelLogoutUri: 'https://app.example/backchannel' });
        await store.clients.insert(withUri);
        await store.sessions.addClient(session.id, withoutUri.id);
        await store.sessions.addClient(session.id, withUri.id);
        return { user, session, withUri };
      }

      it('ending a session queues one delivery per app with a back-channel URI, in the same step', async () => {
        const { user, session, withUri } = await sessionWithApps();
        await store.sessions.end(session.id, 'logout', at(10));
        const { items } = await store.logoutDeliveries.list({ limit: 10 }, { sessionId: session.id });
        expect(items).toHaveLength(1);
        expect(items[0]).toMatchObject({
          sessionId: session.id,
          userId: user.id,
          clientId: withUri.id,
          uri: 'https://app.example/backchannel',
          status: 'pending',
          attempts: 0,
        });
        expect(items[0]!.id).toMatch(/^evt_/);
        expect(items[0]!.nextAttemptAt).toEqual(at(10));
        expect(items[0]!.giveUpAt.getTime() - at(10).getTime()).toBeGreaterThanOrEqual(24 * 3600 * 1000);
      });

      it('ending an already ended session queues nothing more', async () => {
        const { session } = await sessionWithApps();
        await store.sessions.end(session.id, 'logout', at(10));
        await store.sessions.end(session.id, 'revoked', at(11));
        expect((await store.logoutDeliveries.list({ limit: 10 })).totalSize).toBe(1);
      });

      it('a failed session end (rolled back) leaves no delivery behind', async () => {
        const { session } = await sessionWithApps();
        await expect(
          store.transaction(async (tx) => {
            await tx.sessions.end(session.id, 'logout', at(10));
            throw new Error('boom');
          }),
        ).rejects.toThrow('boom');
        expect((await store.logoutDeliveries.list({ limit: 10 })).totalSize).toBe(0);
        expect((await store.sessions.get(session.id))!.endedAt).toBeNull();
      });

      it('claimDue leases a due delivery once; a concurrent claim gets nothing until the lease ends', async () => {
        const { session } = await sessionWithApps();
        await store.sessions.end(session.id, 'logout', at(10));
        const [first, second] = await Promise.all([
          store.logoutDeliveries.claimDue(at(10), 10, at(40)),
          store.logoutDeliveries.claimDue(at(10), 10, at(40)),
        ]);
        expect(first!.length + second!.length).toBe(1);
        const claimed = [...first!, ...second!][0]!;
        expect(claimed.attempts).toBe(1);
        expect(await store.logoutDeliveries.claimDue(at(39), 10, at(70))).toEqual([]);
        // The claimer died: after the lease the delivery is claimable again.
        const again = await store.logoutDeliveries.claimDue(at(40), 10, at(70));
        expect(again.map((d) => d.id)).toEqual([claimed.id]);
        expect(again[0]!.attempts).toBe(2);
      });

      it('a delivery not yet due is not claimed', async () => {
        const { session } = await sessionWithApps();
        await store.sessions.end(session.id, 'logout', at(10));
        expect(await store.logoutDeliveries.claimDue(at(9), 10, at(40))).toEqual([]);
      });

      it('markDelivered and markAttemptFailed settle a delivery; counts and status filters follow', async () => {
        const { session } = await sessionWithApps();
        await store.sessions.end(session.id, 'logout', at(10));
        const [claimed] = await store.logoutDeliveries.claimDue(at(10), 10, at(40));
        await store.logoutDeliveries.markAttemptFailed(claimed!.id, {
          error: 'HTTP 503',
          statusCode: 503,
          retryAt: at(20),
        });
        let stored = (await store.logoutDeliveries.get(claimed!.id))!;
        expect(stored).toMatchObject({
          status: 'pending',
          lastError: 'HTTP 503',
          lastStatusCode: 503,
          lockedUntil: null,
        });
        expect(stored.nextAttemptAt).toEqual(at(20));
        expect(await store.logoutDeliveries.claimDue(at(19), 10, at(50))).toEqual([]);
        const [retry] = await store.logoutDeliveries.claimDue(at(20), 10, at(50));
        await store.logoutDeliveries.markDelivered(retry!.id, at(21), 200);
        stored = (await store.logoutDeliveries.get(claimed!.id))!;
        expect(stored).toMatchObject({
          status: 'delivered',
          attempts: 2,
          lastStatusCode: 200,
          lastError: null,
        });
        expect(stored.deliveredAt).toEqual(at(21));
        expect(await store.logoutDeliveries.counts()).toEqual({ pending: 0, delivered: 1, failed: 0 });
        expect((await store.logoutDeliveries.list({ limit: 10 }, { status: 'delivered' })).totalSize).toBe(1);
        expect((await store.logoutDeliveries.list({ limit: 10 }, { status: 'pending' })).totalSize).toBe(0);
      });

      it('giving up marks the delivery failed and it is never claimed again', async () => {
        const { session } = await sessionWithApps();
        await store.sessions.end(session.id, 'logout', at(10));
        const [claimed] = await store.logoutDeliveries.claimDue(at(10), 10, at(40));
        await store.logoutDeliveries.markAttemptFailed(claimed!.id, {
          error: 'timeout',
          statusCode: null,
          retryAt: null,
        });
        expect((await store.logoutDeliveries.get(claimed!.id))!.status).toBe('failed');
        expect(await store.logoutDeliveries.claimDue(at(10 + 2 * day), 10, at(3 * day))).toEqual([]);
        expect(await store.logoutDeliveries.counts()).toEqual({ pending: 0, delivered: 0, failed: 1 });
      });

      it('deliveries outlive the session rows they were written for', async () => {
        const { session } = await sessionWithApps();
        await store.sessions.end(session.id, 'logout', at(10));
        await store.sweep(at(10 + 8 * day), 100);
        expect(await store.sessions.get(session.id)).toBeNull();
        // Pending: kept whatever its age, until the worker settles it.
        expect((await store.logoutDeliveries.list({ limit: 10 })).totalSize).toBe(1);
      });

      it('sweep deletes settled deliveries after a week, never pending ones', async () => {
        const { session } = await sessionWithApps();
        await store.sessions.end(session.id, 'logout', at(10));
        const [claimed] = await store.logoutDeliveries.claimDue(at(10), 10, at(40));
        await store.logoutDeliveries.markDelivered(claimed!.id, at(11), 204);
        expect((await store.sweep(at(10 + 6 * day), 100)).logoutDeliveries).toBe(0);
        expect((await store.sweep(at(10 + 7 * day), 100)).logoutDeliveries).toBe(1);
      });
    });

    describe('sweep', () => {
      it('deletes only expired artifacts of each kind', async () => {
        const now = at(10 * day);
        const { client, user, session, grant } = await signedIn({
          session: { absoluteExpiresAt: at(60 * day) },
        });

        const expiredCode = makeCode(grant, session.id, { expiresAt: now });
        const liveCode = makeCode(grant, session.id, { expiresAt: at(10 * day + 1) });
        const expiredInteraction = makeInteraction({ expiresAt: at(day) });
        const liveInteraction = makeInteraction({ expiresAt: at(11 * day) });
        const expiredToken = makeRefreshToken(grant, session.id, { expiresAt: at(day) });
        const liveToken = makeRefreshToken(grant, session.id, { expiresAt: at(20 * day) });
        for (const c of [expiredCode, liveCode]) await store.codes.insert(c);
        for (const i of [expiredInteraction, liveInteraction]) await store.interactions.insert(i);
        for (const t of [expiredToken, liveToken]) await store.refreshTokens.insert(t);

        // An expired grant goes once its last token has gone, even in the same sweep.
        const spentGrant = makeGrant(client.id, user.id, session.id, { expiresAt: at(day) });
        const heldGrant = makeGrant(client.id, user.id, session.id, { expiresAt: at(day) });
        await store.grants.insert(spentGrant);
        await store.grants.insert(heldGrant);
        await store.refreshTokens.insert(
          makeRefreshToken(spentGrant, session.id, { expiresAt: at(2 * day) }),
        );
        const heldToken = makeRefreshToken(heldGrant, session.id, { expiresAt: at(20 * day) });
        await store.refreshTokens.insert(heldToken);

        await store.rateLimits.hit('old', at(0), at(60));
        await store.rateLimits.hit('old', at(60), at(120));
        await store.rateLimits.hit('current', now, at(10 * day + 60));

        const endedLongAgo = makeSession(user.id, { absoluteExpiresAt: at(60 * day) });
        const endedRecently = makeSession(user.id, { absoluteExpiresAt: at(60 * day) });
        const expiredLongAgo = makeSession(user.id, { absoluteExpiresAt: at(2 * day) });
        const expiredRecently = makeSession(user.id, { absoluteExpiresAt: at(5 * day) });
        for (const s of [endedLongAgo, endedRecently, expiredLongAgo, expiredRecently])
          await store.sessions.insert(s);
        await store.sessions.end(endedLongAgo.id, 'logout', at(2 * day));
        await store.sessions.end(endedRecently.id, 'logout', at(4 * day));

        const goneKey = makeKey({ expiresAt: at(day) });
        const retiringKey = makeKey({ retiresAt: at(day), expiresAt: at(11 * day) });
        const currentKey = makeKey();
        for (const k of [goneKey, retiringKey, currentKey]) await store.keys.insert(k);

        expect(await store.sweep(now, 100)).toEqual({
          codes: 1,
          interactions: 1,
          refreshTokens: 2,
          grants: 1,
          rateLimits: 2,
          sessions: 2,
          keys: 1,
          logoutDeliveries: 0,
          sealedResponses: 0,
        });

        expect(await store.codes.consume(expiredCode.codeHash, now)).toBeNull();
        expect(await store.codes.consume(liveCode.codeHash, now)).not.toBeNull();
        expect(await store.interactions.get(expiredInteraction.id)).toBeNull();
        expect(await store.interactions.get(liveInteraction.id)).not.toBeNull();
        expect(await store.refreshTokens.getByHash(expiredToken.tokenHash)).toBeNull();
        expect(await store.refreshTokens.getByHash(liveToken.tokenHash)).not.toBeNull();
        expect(await store.grants.get(spentGrant.id)).toBeNull();
        expect(await store.grants.get(heldGrant.id)).not.toBeNull();
        expect(await store.grants.get(grant.id)).not.toBeNull();
        expect(await store.rateLimits.peek('old', at(0))).toBe(0);
        expect(await store.rateLimits.peek('current', now)).toBe(1);
        expect(await store.sessions.get(endedLongAgo.id)).toBeNull();
        expect(await store.sessions.get(expiredLongAgo.id)).toBeNull();
        expect(await store.sessions.get(endedRecently.id)).not.toBeNull();
        expect(await store.sessions.get(expiredRecently.id)).not.toBeNull();
        expect(await store.sessions.get(session.id)).not.toBeNull();
        expect((await store.keys.list()).map((k) => k.id).sort()).toEqual(
          [retiringKey.id, currentKey.id].sort(),
        );

        expect(Object.values(await store.sweep(now, 100)).every((n) => n === 0)).toBe(true);
      });

      it('deletes at most batchSize rows of each kind per call', async () => {
        const now = at(day);
        const { session, grant } = await signedIn();
        for (let i = 0; i < 5; i++) {
          await store.codes.insert(makeCode(grant, session.id, { expiresAt: at(60) }));
          await store.rateLimits.hit(`k${i}`, at(0), at(60));
        }
        const live = makeCode(grant, session.id, { expiresAt: at(2 * day) });
        await store.codes.insert(live);

        const counts: number[][] = [];
        for (let i = 0; i < 4; i++) {
          const report = await store.sweep(now, 2);
          counts.push([report.codes, report.rateLimits]);
        }
        expect(counts).toEqual([
          [2, 2],
          [2, 2],
          [1, 1],
          [0, 0],
        ]);
        expect(await store.codes.consume(live.codeHash, now)).not.toBeNull();
      });
    });
  });
}
