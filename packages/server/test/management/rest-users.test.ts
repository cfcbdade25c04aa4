// Management API, REST form, users, memberships and user roles (spec: management.md, "Resources":
// users, memberships, user roles).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  type ApiResponse,
  auditCount,
  expectStatusError,
  grpc,
  type ManagementServer,
  rfc3339,
  startManagementServer,
} from './management-helpers.ts';

let m: ManagementServer;
let org: { id: string };
let other: { id: string };
let grace: { id: string };

beforeAll(async () => {
  m = await startManagementServer();
  org = (await m.api('POST', '/api/v1/organizations', { display_name: 'Acme' })).body.organization;
  other = (await m.api('POST', '/api/v1/organizations', { display_name: 'Other' })).body.organization;
  await m.api('POST', '/api/v1/permissions', { name: 'reports:read', description: 'Read reports' });
  await m.api('POST', '/api/v1/permissions', { name: 'reports:write', description: 'Write reports' });
  await m.api('POST', '/api/v1/roles', {
    name: 'analyst',
    display_name: 'Analyst',
    permissions: ['reports:read'],
  });
  await m.api('POST', '/api/v1/roles', {
    name: 'editor',
    display_name: 'Editor',
    permissions: ['reports:read', 'reports:write'],
  });
  const res = await m.api('POST', `/api/v1/organizations/${org.id}/users`, {
    email: 'grace@example.com',
    external_id: 'grace-1',
    user_profile: { first_name: 'Grace', last_name: 'Hopper' },
    metadata: { team: 'compilers' },
    membership: { roles: [{ name: 'analyst' }] },
  });
  grace = res.body.user;
});
afterAll(() => m.close());

const createUser = async (email: string, organizationId = org.id, extra: Record<string, unknown> = {}) =>
  (await m.api('POST', `/api/v1/organizations/${organizationId}/users`, { email, ...extra })).body.user as {
    id: string;
  };

describe('users over REST', () => {
  it('POST /api/v1/organizations/{organization_id}/users creates a member: 201 with the user and membership', async () => {
    const before = await auditCount(m.server);
    const res = await m.api('POST', `/api/v1/organizations/${org.id}/users`, {
      email: 'Alan@Example.com',
      user_profile: { given_name: 'Alan', family_name: 'Turing' },
    });
    expect(res.status).toBe(201);
    const user = res.body.user;
    expect(user.id).toMatch(/^usr_/);
    expect(user.email).toBe('alan@example.com');
    expect(user.create_time).toMatch(rfc3339);
    expect(user.user_profile).toMatchObject({
      given_name: 'Alan',
      family_name: 'Turing',
      first_name: 'Alan',
      last_name: 'Turing',
      name: 'Alan Turing',
      email_verified: false,
    });
    // Without roles, a new member gets the environment's default member role.
    expect(user.memberships).toEqual([
      expect.objectContaining({
        organization_id: org.id,
        membership_status: 'ACTIVE',
        display_name: 'Acme',
        roles: [expect.objectContaining({ name: 'member' })],
      }),
    ]);
    expect(user.memberships[0].join_time).toMatch(rfc3339);
    expect(await m.server.store.users.getByEmail('alan@example.com')).toMatchObject({ givenName: 'Alan' });
    expect(await auditCount(m.server)).toBe(before + 1);
  });

  it('GET /api/v1/users/{id} reads a user with memberships, roles and effective permissions', async () => {
    const res = await m.api('GET', `/api/v1/users/${grace.id}`);
    expect(res.status).toBe(200);
    expect(res.body.user).toMatchObject({
      id: grace.id,
      email: 'grace@example.com',
      external_id: 'grace-1',
      metadata: { team: 'compilers' },
      user_profile: { first_name: 'Grace', last_name: 'Hopper' },
      memberships: [
        {
          organization_id: org.id,
          roles: [{ name: 'analyst', display_name: 'Analyst' }],
          permissions: ['reports:read'],
        },
      ],
    });
  });

  it('GET /api/v1/users:external/{external_id} reads a user by external id', async () => {
    const res = await m.api('GET', '/api/v1/users:external/grace-1');
    expect(res.status).toBe(200);
    expect(res.body.user.id).toBe(grace.id);
  });

  it('GET /api/v1/users lists every user with a total', async () => {
    const res = await m.api('GET', '/api/v1/users?page_size=100');
    expect(res.status).toBe(200);
    const total = (await m.server.store.users.list({ limit: 1 })).totalSize;
    expect(res.body.total_size).toBe(total);
    expect(res.body.users).toHaveLength(total);
    expect(res.body.next_page_token).toBe('');
    expect(res.body.prev_page_token).toBe('');
  });

  it('GET /api/v1/users:search matches a substring of the email or name', async () => {
    const res = await m.api('GET', '/api/v1/users:search?query=hopper');
    expect(res.body.users.map((u: { id: string }) => u.id)).toEqual([grace.id]);
    const byEmail = await m.api('GET', '/api/v1/users:search?query=GRACE@example');
    expect(byEmail.body.users.map((u: { id: string }) => u.id)).toEqual([grace.id]);
  });

  it('PATCH /api/v1/users/{id} changes the profile and metadata sent', async () => {
    const user = await createUser('patch-me@example.com');
    const res = await m.api('PATCH', `/api/v1/users/${user.id}`, {
      external_id: 'pm-1',
      user_profile: { first_name: 'Pat', name: 'Pat M.' },
      metadata: { level: '3' },
    });
    expect(res.status).toBe(200);
    expect(res.body.user).toMatchObject({
      external_id: 'pm-1',
      metadata: { level: '3' },
      user_profile: { first_name: 'Pat', name: 'Pat M.' },
    });
    expect(await m.server.store.users.get(user.id)).toMatchObject({
      givenName: 'Pat',
      name: 'Pat M.',
      externalId: 'pm-1',
    });
  });

  it('PATCH /api/v1/users:external/{external_id} updates by external id', async () => {
    await createUser('ext-patch@example.com', org.id, { external_id: 'ext-patch' });
    const res = await m.api('PATCH', '/api/v1/users:external/ext-patch', {
      user_profile: { last_name: 'Changed' },
    });
    expect(res.status).toBe(200);
    expect(res.body.user.user_profile.last_name).toBe('Changed');
  });

  it('DELETE /api/v1/users/{id} answers {} and removes the user and their memberships', async () => {
    const user = await createUser('delete-me@example.com');
    const res = await m.api('DELETE', `/api/v1/users/${user.id}`);
    expect(res.status).toBe(200);
    expect(res.body).toEqual({});
    expect(await m.server.store.users.get(user.id)).toBeNull();
    expect(await m.server.store.memberships.listForUser(user.id)).toEqual([]);
  });

  it('DELETE /api/v1/users:external/{external_id} deletes by external id', async () => {
    const user = await createUser('delete-ext@example.com', org.id, { external_id: 'del-ext' });
    const res = await m.api('DELETE', '/api/v1/users:external/del-ext');
    expect(res.status).toBe(200);
    expect(await m.server.store.users.get(user.id)).toBeNull();
  });
});

describe('memberships over REST', () => {
  it('POST /api/v1/memberships/organizations/{organization_id}/users/{id} adds a membership: 201', async () => {
    const user = await createUser('joiner@example.com');
    const res = await m.api('POST', `/api/v1/memberships/organizations/${other.id}/users/${user.id}`, {
      roles: [{ name: 'editor' }],
    });
    expect(res.status).toBe(201);
    expect(res.body.user.memberships.map((ms: { organization_id: string }) => ms.organization_id)).toEqual([
      org.id,
      other.id,
    ]);
    expect(await m.server.store.memberships.get(other.id, user.id)).toMatchObject({ roles: ['editor'] });
  });

  it('POST …/users:external/{external_id} adds a membership by external id', async () => {
    const user = await createUser('joiner-ext@example.com', org.id, { external_id: 'joiner-ext' });
    const res = await m.api(
      'POST',
      `/api/v1/memberships/organizations/${other.id}/users:external/joiner-ext`,
      {},
    );
    expect(res.status).toBe(201);
    expect(await m.server.store.memberships.get(other.id, user.id)).toMatchObject({ roles: ['member'] });
  });

  it('PATCH …/users/{id} replaces the roles of a membership', async () => {
    const user = await createUser('mover@example.com');
    const res = await m.api('PATCH', `/api/v1/memberships/organizations/${org.id}/users/${user.id}`, {
      roles: [{ name: 'analyst' }, { name: 'editor' }],
    });
    expect(res.status).toBe(200);
    expect(res.body.user.memberships[0].roles.map((r: { name: string }) => r.name)).toEqual([
      'analyst',
      'editor',
    ]);
    expect(res.body.user.memberships[0].permissions).toEqual(['reports:read', 'reports:write']);
  });

  it('PATCH …/users:external/{external_id} updates a membership by external id', async () => {
    const user = await createUser('mover-ext@example.com', org.id, { external_id: 'mover-ext' });
    const res = await m.api('PATCH', `/api/v1/memberships/organizations/${org.id}/users:external/mover-ext`, {
      roles: [{ name: 'editor' }],
    });
    expect(res.status).toBe(200);
    expect(await m.server.store.memberships.get(org.id, user.id)).toMatchObject({ roles: ['editor'] });
  });

  it('DELETE …/users/{id} removes a membership and keeps the user', async () => {
    const user = await createUser('leaver@example.com');
    const res = await m.api('DELETE', `/api/v1/memberships/organizations/${org.id}/users/${user.id}`);
    expect(res.status).toBe(200);
    expect(res.body).toEqual({});
    expect(await m.server.store.memberships.get(org.id, user.id)).toBeNull();
    expect(await m.server.store.users.get(user.id)).not.toBeNull();
  });

  it('DELETE …/users:external/{external_id}?cascade=true also deletes a user left without organizations', async () => {
    const user = await createUser('cascade@example.com', org.id, { external_id: 'cascade-1' });
    const res = await m.api(
      'DELETE',
      `/api/v1/memberships/organizations/${org.id}/users:external/cascade-1?cascade=true`,
    );
    expect(res.status).toBe(200);
    expect(await m.server.store.users.get(user.id)).toBeNull();
  });

  it('GET /api/v1/organizations/{organization_id}/users lists only that organization’s members', async () => {
    const member = await createUser('only-other@example.com', other.id);
    const res = await m.api('GET', `/api/v1/organizations/${other.id}/users`);
    expect(res.status).toBe(200);
    const ids = res.body.users.map((u: { id: string }) => u.id);
    expect(ids).toContain(member.id);
    expect(ids).not.toContain(grace.id);
    expect(res.body.total_size).toBe(ids.length);
  });
});

describe('user roles over REST', () => {
  it('GET …/users/{user_id}/roles lists the roles of the membership', async () => {
    const res = await m.api('GET', `/api/v1/organizations/${org.id}/users/${grace.id}/roles`);
    expect(res.status).toBe(200);
    expect(res.body.roles).toEqual([expect.objectContaining({ name: 'analyst', display_name: 'Analyst' })]);
    expect(res.body.roles[0].id).toMatch(/^role_/);
  });

  it('POST …/users/{user_id}/roles adds roles (the body is the list) and answers the roles held', async () => {
    const user = await createUser('assignee@example.com');
    const res = await m.api('POST', `/api/v1/organizations/${org.id}/users/${user.id}/roles`, [
      { role_name: 'editor' },
    ]);
    expect(res.status).toBe(200);
    expect(res.body.roles.map((r: { name: string }) => r.name)).toEqual(['member', 'editor']);
    expect(await m.server.store.memberships.get(org.id, user.id)).toMatchObject({
      roles: ['member', 'editor'],
    });
  });

  it('DELETE …/users/{user_id}/roles/{role_name} removes one role', async () => {
    const user = await createUser('unassign@example.com', org.id, {
      membership: { roles: [{ name: 'editor' }, { name: 'analyst' }] },
    });
    const res = await m.api('DELETE', `/api/v1/organizations/${org.id}/users/${user.id}/roles/editor`);
    expect(res.status).toBe(200);
    expect(res.body).toEqual({});
    expect(await m.server.store.memberships.get(org.id, user.id)).toMatchObject({ roles: ['analyst'] });
  });

  it('GET …/users/{user_id}/permissions lists the permissions the roles grant', async () => {
    const user = await createUser('perms@example.com', org.id, {
      membership: { roles: [{ name: 'editor' }] },
    });
    const res = await m.api('GET', `/api/v1/organizations/${org.id}/users/${user.id}/permissions`);
    expect(res.status).toBe(200);
    expect(res.body.permissions).toEqual([
      expect.objectContaining({ name: 'reports:read', description: 'Read reports' }),
      expect.objectContaining({ name: 'reports:write', description: 'Write reports' }),
    ]);
  });
});

type Row = {
  name: string;
  method: string;
  path: () => string;
  body?: unknown;
  status: number;
  code: number;
  errorCode: string;
  field?: string;
};

const unknownUser = 'usr_0000000000000000000000000';
const unknownOrg = 'org_0000000000000000000000000';
const invalid = { status: 400, code: grpc.InvalidArgument, errorCode: 'INVALID_ARGUMENT' };
const missing = { status: 404, code: grpc.NotFound, errorCode: 'NOT_FOUND' };
const taken = { status: 409, code: grpc.AlreadyExists, errorCode: 'ALREADY_EXISTS' };
const orgUsers = () => `/api/v1/organizations/${org.id}/users`;

const badInput: Row[] = [
  { name: 'an unknown user id', method: 'GET', path: () => `/api/v1/users/${unknownUser}`, ...missing },
  { name: 'a malformed user id', method: 'GET', path: () => '/api/v1/users/grace', ...invalid, field: 'id' },
  { name: 'an unknown external id', method: 'GET', path: () => '/api/v1/users:external/nobody', ...missing },
  {
    name: 'an oversized external id',
    method: 'GET',
    path: () => `/api/v1/users:external/${'x'.repeat(511)}`,
    ...invalid,
    field: 'external_id',
  },
  {
    name: 'list with page_size 101',
    method: 'GET',
    path: () => '/api/v1/users?page_size=101',
    ...invalid,
    field: 'page_size',
  },
  {
    name: 'list with page_size "abc"',
    method: 'GET',
    path: () => '/api/v1/users?page_size=abc',
    ...invalid,
    field: 'page_size',
  },
  {
    name: 'a users page_token used for organizations',
    method: 'GET',
    path: () => '/api/v1/organizations?page_token=eyJrIjoidXNlcnMiLCJhIjpudWxsLCJiIjpbbnVsbF19',
    ...invalid,
    field: 'page_token',
  },
  {
    name: 'search with a 2-character query',
    method: 'GET',
    path: () => '/api/v1/users:search?query=gr',
    ...invalid,
    field: 'query',
  },
  {
    name: 'search with a 101-character query',
    method: 'GET',
    path: () => `/api/v1/users:search?query=${'g'.repeat(101)}`,
    ...invalid,
    field: 'query',
  },
  // Update
  {
    name: 'update of an unknown user',
    method: 'PATCH',
    path: () => `/api/v1/users/${unknownUser}`,
    body: { metadata: { team: 'x' } },
    ...missing,
  },
  {
    name: 'update without a body',
    method: 'PATCH',
    path: () => `/api/v1/users/${grace.id}`,
    ...invalid,
    field: 'user',
  },
  {
    name: 'update to a taken external_id',
    method: 'PATCH',
    path: () => `/api/v1/users/${grace.id}`,
    body: { external_id: 'taken-ext' },
    ...taken,
    field: 'user.external_id',
  },
  {
    name: 'update of a profile field Sesame does not store',
    method: 'PATCH',
    path: () => `/api/v1/users/${grace.id}`,
    body: { user_profile: { locale: 'fr' } },
    ...invalid,
    field: 'user.user_profile.locale',
  },
  {
    name: 'update with an unknown profile field',
    method: 'PATCH',
    path: () => `/api/v1/users/${grace.id}`,
    body: { user_profile: { nickname: 'G' } },
    ...invalid,
    field: 'user.user_profile.nickname',
  },
  {
    name: 'update with an oversized first_name',
    method: 'PATCH',
    path: () => `/api/v1/users/${grace.id}`,
    body: { user_profile: { first_name: 'g'.repeat(201) } },
    ...invalid,
    field: 'user.user_profile.first_name',
  },
  {
    name: 'update with a wrong-typed first_name',
    method: 'PATCH',
    path: () => `/api/v1/users/${grace.id}`,
    body: { user_profile: { first_name: ['G'] } },
    ...invalid,
    field: 'user.user_profile.first_name',
  },
  {
    name: 'update with 21 metadata pairs',
    method: 'PATCH',
    path: () => `/api/v1/users/${grace.id}`,
    body: { metadata: Object.fromEntries(Array.from({ length: 21 }, (_, i) => [`key${i}`, 'v'])) },
    ...invalid,
    field: 'user.metadata',
  },
  {
    name: 'update with a 257-character metadata value',
    method: 'PATCH',
    path: () => `/api/v1/users/${grace.id}`,
    body: { metadata: { team: 'v'.repeat(257) } },
    ...invalid,
    field: 'user.metadata[team]',
  },
  {
    name: 'the email (not updatable)',
    method: 'PATCH',
    path: () => `/api/v1/users/${grace.id}`,
    body: { email: 'new@example.com' },
    ...invalid,
    field: 'user.email',
  },
  // Delete
  {
    name: 'delete of an unknown user',
    method: 'DELETE',
    path: () => `/api/v1/users/${unknownUser}`,
    ...missing,
  },
  // Create with membership
  { name: 'create without a body', method: 'POST', path: orgUsers, ...invalid, field: 'user' },
  {
    name: 'create without an email',
    method: 'POST',
    path: orgUsers,
    body: { external_id: 'no-email' },
    ...invalid,
    field: 'user.email',
  },
  {
    name: 'create with a malformed email',
    method: 'POST',
    path: orgUsers,
    body: { email: 'not-an-email' },
    ...invalid,
    field: 'user.email',
  },
  {
    name: 'create with a wrong-typed email',
    method: 'POST',
    path: orgUsers,
    body: { email: 7 },
    ...invalid,
    field: 'user.email',
  },
  {
    name: 'create with a taken email',
    method: 'POST',
    path: orgUsers,
    body: { email: 'GRACE@example.com' },
    ...taken,
    field: 'user.email',
  },
  {
    name: 'create with a taken external id',
    method: 'POST',
    path: orgUsers,
    body: { email: 'new-one@example.com', external_id: 'grace-1' },
    ...taken,
    field: 'user.external_id',
  },
  {
    name: 'create with an unknown role',
    method: 'POST',
    path: orgUsers,
    body: { email: 'new-two@example.com', membership: { roles: [{ name: 'wizard' }] } },
    ...invalid,
    field: 'user.membership.roles[0].name',
  },
  {
    name: 'create with a picture (not stored)',
    method: 'POST',
    path: orgUsers,
    body: { email: 'new-three@example.com', user_profile: { picture: 'https://x/p.png' } },
    ...invalid,
    field: 'user.user_profile.picture',
  },
  {
    name: 'create in an unknown organization',
    method: 'POST',
    path: () => `/api/v1/organizations/${unknownOrg}/users`,
    body: { email: 'new-four@example.com' },
    ...missing,
  },
  {
    name: 'create in a malformed organization id',
    method: 'POST',
    path: () => '/api/v1/organizations/acme/users',
    body: { email: 'new-five@example.com' },
    ...invalid,
    field: 'organization_id',
  },
  {
    name: 'create with the organization in the body too',
    method: 'POST',
    path: orgUsers,
    body: { email: 'new-six@example.com', organization_id: unknownOrg },
    ...invalid,
    field: 'user.organization_id',
  },
  // Memberships
  {
    name: 'membership of an unknown user',
    method: 'POST',
    path: () => `/api/v1/memberships/organizations/${other.id}/users/${unknownUser}`,
    body: {},
    ...missing,
  },
  {
    name: 'membership in an unknown organization',
    method: 'POST',
    path: () => `/api/v1/memberships/organizations/${unknownOrg}/users/${grace.id}`,
    body: {},
    ...missing,
  },
  {
    name: 'a membership that exists',
    method: 'POST',
    path: () => `/api/v1/memberships/organizations/${org.id}/users/${grace.id}`,
    body: {},
    ...taken,
    field: 'organization_id',
  },
  {
    name: 'a membership without a body',
    method: 'POST',
    path: () => `/api/v1/memberships/organizations/${other.id}/users/${grace.id}`,
    ...invalid,
    field: 'membership',
  },
  {
    name: 'a membership with an unknown role',
    method: 'POST',
    path: () => `/api/v1/memberships/organizations/${other.id}/users/${grace.id}`,
    body: { roles: [{ name: 'wizard' }] },
    ...invalid,
    field: 'membership.roles[0].name',
  },
  {
    name: 'a membership with a malformed role name',
    method: 'POST',
    path: () => `/api/v1/memberships/organizations/${other.id}/users/${grace.id}`,
    body: { roles: [{ name: 'no spaces allowed' }] },
    ...invalid,
    field: 'membership.roles[0].name',
  },
  {
    name: 'a membership with metadata (not stored)',
    method: 'POST',
    path: () => `/api/v1/memberships/organizations/${other.id}/users/${grace.id}`,
    body: { metadata: { seat: '12' } },
    ...invalid,
    field: 'membership.metadata',
  },
  {
    name: 'update of a membership that does not exist',
    method: 'PATCH',
    path: () => `/api/v1/memberships/organizations/${other.id}/users/${grace.id}`,
    body: { roles: [{ name: 'editor' }] },
    ...missing,
  },
  {
    name: 'delete of a membership that does not exist',
    method: 'DELETE',
    path: () => `/api/v1/memberships/organizations/${other.id}/users/${grace.id}`,
    ...missing,
  },
  {
    name: 'delete with cascade "yes"',
    method: 'DELETE',
    path: () => `/api/v1/memberships/organizations/${org.id}/users/${grace.id}?cascade=yes`,
    ...invalid,
    field: 'cascade',
  },
  {
    name: 'members of an unknown organization',
    method: 'GET',
    path: () => `/api/v1/organizations/${unknownOrg}/users`,
    ...missing,
  },
  {
    name: 'members with page_size 101',
    method: 'GET',
    path: () => `/api/v1/organizations/${org.id}/users?page_size=101`,
    ...invalid,
    field: 'page_size',
  },
  // User roles
  {
    name: 'roles of a user who is not a member',
    method: 'GET',
    path: () => `/api/v1/organizations/${other.id}/users/${grace.id}/roles`,
    ...missing,
  },
  {
    name: 'roles of an unknown user',
    method: 'GET',
    path: () => `/api/v1/organizations/${org.id}/users/${unknownUser}/roles`,
    ...missing,
  },
  {
    name: 'assigning no roles',
    method: 'POST',
    path: () => `/api/v1/organizations/${org.id}/users/${grace.id}/roles`,
    body: [],
    ...invalid,
    field: 'roles',
  },
  {
    name: 'assigning an unknown role',
    method: 'POST',
    path: () => `/api/v1/organizations/${org.id}/users/${grace.id}/roles`,
    body: [{ role_name: 'wizard' }],
    ...invalid,
    field: 'roles[0].role_name',
  },
  {
    name: 'assigning with an object body',
    method: 'POST',
    path: () => `/api/v1/organizations/${org.id}/users/${grace.id}/roles`,
    body: { role_name: 'editor' },
    ...invalid,
    field: 'roles',
  },
  {
    name: 'assigning with an unknown field',
    method: 'POST',
    path: () => `/api/v1/organizations/${org.id}/users/${grace.id}/roles`,
    body: [{ role: 'editor' }],
    ...invalid,
    field: 'roles[0].role',
  },
  {
    name: 'removing a role not held',
    method: 'DELETE',
    path: () => `/api/v1/organizations/${org.id}/users/${grace.id}/roles/editor`,
    ...missing,
  },
  {
    name: 'permissions of a user who is not a member',
    method: 'GET',
    path: () => `/api/v1/organizations/${other.id}/users/${grace.id}/permissions`,
    ...missing,
  },
];

describe('users and memberships: bad input', () => {
  beforeAll(async () => {
    await createUser('taken-ext@example.com', other.id, { external_id: 'taken-ext' });
  });

  it.each(badInput)('$name → $status', async (row) => {
    const before = await auditCount(m.server);
    const usersBefore = (await m.server.store.users.list({ limit: 1 })).totalSize;
    const graceBefore = await m.server.store.users.get(grace.id);
    const membershipsBefore = await m.server.store.memberships.listForUser(grace.id);
    const res: ApiResponse = await m.api(row.method, row.path(), row.body);
    expectStatusError(res, row);
    expect(await auditCount(m.server)).toBe(before);
    expect((await m.server.store.users.list({ limit: 1 })).totalSize).toBe(usersBefore);
    expect(await m.server.store.users.get(grace.id)).toEqual(graceBefore);
    expect(await m.server.store.memberships.listForUser(grace.id)).toEqual(membershipsBefore);
  });
});
