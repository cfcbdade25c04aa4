// Management API, REST form, roles and permissions (spec: management.md, "Resources": roles,
// permissions, organization roles).
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

beforeAll(async () => {
  m = await startManagementServer();
  org = (await m.api('POST', '/api/v1/organizations', { display_name: 'Acme' })).body.organization;
  for (const [name, description] of [
    ['invoices:read', 'Read invoices'],
    ['invoices:write', 'Write invoices'],
    ['invoices:approve', 'Approve invoices'],
  ]) {
    await m.api('POST', '/api/v1/permissions', { name, description });
  }
  await m.api('POST', '/api/v1/roles', {
    name: 'accountant',
    display_name: 'Accountant',
    permissions: ['invoices:read'],
  });
});
afterAll(() => m.close());

const names = (list: Array<{ name: string }>) => list.map((x) => x.name);

describe('permissions over REST', () => {
  it('POST /api/v1/permissions creates one: 201', async () => {
    const res = await m.api('POST', '/api/v1/permissions', {
      name: 'ledger:close',
      description: 'Close the books',
    });
    expect(res.status).toBe(201);
    expect(res.body.permission).toMatchObject({
      name: 'ledger:close',
      description: 'Close the books',
      is_scalekit_permission: false,
    });
    expect(res.body.permission.id).toMatch(/^perm_/);
    expect(res.body.permission.create_time).toMatch(rfc3339);
  });

  it('GET /api/v1/permissions/{permission_name} reads one', async () => {
    const res = await m.api('GET', '/api/v1/permissions/invoices:read');
    expect(res.status).toBe(200);
    expect(res.body.permission).toMatchObject({ name: 'invoices:read', description: 'Read invoices' });
  });

  it('PUT /api/v1/permissions/{permission_name} changes the description', async () => {
    await m.api('POST', '/api/v1/permissions', { name: 'tmp:edit', description: 'before' });
    const res = await m.api('PUT', '/api/v1/permissions/tmp:edit', { description: 'after' });
    expect(res.status).toBe(200);
    expect(res.body.permission.description).toBe('after');
    expect((await m.server.store.roles.getPermission('tmp:edit'))?.description).toBe('after');
  });

  it('GET /api/v1/permissions pages by name with next and previous tokens', async () => {
    const first = await m.api('GET', '/api/v1/permissions?page_size=2');
    expect(first.status).toBe(200);
    const all = (await m.server.store.roles.listPermissions()).map((p) => p.name);
    expect(first.body.total_size).toBe(all.length);
    expect(names(first.body.permissions)).toEqual(all.slice(0, 2));
    expect(first.body.prev_page_token).toBe('');
    const second = await m.api(
      'GET',
      `/api/v1/permissions?page_size=2&page_token=${first.body.next_page_token}`,
    );
    expect(names(second.body.permissions)).toEqual(all.slice(2, 4));
    const back = await m.api(
      'GET',
      `/api/v1/permissions?page_size=2&page_token=${second.body.prev_page_token}`,
    );
    expect(names(back.body.permissions)).toEqual(all.slice(0, 2));
    const scalekit = await m.api('GET', '/api/v1/permissions?type=SCALEKIT');
    expect(scalekit.body.permissions).toEqual([]);
  });

  it('DELETE /api/v1/permissions/{permission_name} removes it, and from every role', async () => {
    await m.api('POST', '/api/v1/permissions', { name: 'doomed:perm', description: '' });
    await m.api('POST', '/api/v1/roles', {
      name: 'doomed_holder',
      display_name: 'Holder',
      permissions: ['doomed:perm'],
    });
    const res = await m.api('DELETE', '/api/v1/permissions/doomed:perm');
    expect(res.status).toBe(200);
    expect(res.body).toEqual({});
    expect(await m.server.store.roles.getPermission('doomed:perm')).toBeNull();
    expect((await m.server.store.roles.getByName('doomed_holder'))?.permissions).toEqual([]);
  });
});

describe('roles over REST', () => {
  it('POST /api/v1/roles creates a role with its permissions: 201', async () => {
    const res = await m.api('POST', '/api/v1/roles', {
      name: 'auditor',
      display_name: 'Auditor',
      description: 'Reads everything',
      permissions: ['invoices:read', 'invoices:approve'],
    });
    expect(res.status).toBe(201);
    expect(res.body.role).toMatchObject({
      name: 'auditor',
      display_name: 'Auditor',
      description: 'Reads everything',
      default_creator: false,
      default_member: false,
      is_org_role: false,
    });
    expect(res.body.role.id).toMatch(/^role_/);
    expect(res.body.role.permissions).toEqual([
      expect.objectContaining({ name: 'invoices:approve', role_name: 'auditor' }),
      expect.objectContaining({ name: 'invoices:read', role_name: 'auditor' }),
    ]);
  });

  it('GET /api/v1/roles/{role_name} reads a role; its permissions with include=permissions', async () => {
    const plain = await m.api('GET', '/api/v1/roles/accountant');
    expect(plain.status).toBe(200);
    expect(plain.body.role).toMatchObject({
      name: 'accountant',
      display_name: 'Accountant',
      permissions: [],
    });
    const full = await m.api('GET', '/api/v1/roles/accountant?include=permissions');
    expect(names(full.body.role.permissions)).toEqual(['invoices:read']);
  });

  it('GET /api/v1/roles lists the environment roles, the seeded defaults flagged', async () => {
    const res = await m.api('GET', '/api/v1/roles');
    expect(res.status).toBe(200);
    const byName = Object.fromEntries(res.body.roles.map((r: { name: string }) => [r.name, r]));
    expect(byName['admin']).toMatchObject({ default_creator: true });
    expect(byName['member']).toMatchObject({ default_member: true });
    expect(byName['accountant']).toBeDefined();
  });

  it('PUT /api/v1/roles/{role_name} updates display name, description and replaces permissions', async () => {
    await m.api('POST', '/api/v1/roles', {
      name: 'clerk',
      display_name: 'Clerk',
      permissions: ['invoices:read'],
    });
    const res = await m.api('PUT', '/api/v1/roles/clerk', {
      display_name: 'Senior Clerk',
      description: 'Keeps the books',
      permissions: ['invoices:write'],
    });
    expect(res.status).toBe(200);
    expect(res.body.role).toMatchObject({ display_name: 'Senior Clerk', description: 'Keeps the books' });
    expect(names(res.body.role.permissions)).toEqual(['invoices:write']);
  });

  it('DELETE /api/v1/roles/{role_name} removes the role and takes it off its members', async () => {
    await m.api('POST', '/api/v1/roles', { name: 'temp_role', display_name: 'Temp' });
    const user = (
      await m.api('POST', `/api/v1/organizations/${org.id}/users`, {
        email: 'temp@example.com',
        membership: { roles: [{ name: 'temp_role' }, { name: 'member' }] },
      })
    ).body.user;
    const res = await m.api('DELETE', '/api/v1/roles/temp_role');
    expect(res.status).toBe(200);
    expect(res.body).toEqual({});
    expect(await m.server.store.roles.getByName('temp_role')).toBeNull();
    expect((await m.server.store.memberships.get(org.id, user.id))?.roles).toEqual(['member']);
  });

  it('DELETE with reassign_role_name gives the members the other role instead', async () => {
    await m.api('POST', '/api/v1/roles', { name: 'old_role', display_name: 'Old' });
    const user = (
      await m.api('POST', `/api/v1/organizations/${org.id}/users`, {
        email: 'reassigned@example.com',
        membership: { roles: [{ name: 'old_role' }] },
      })
    ).body.user;
    const res = await m.api('DELETE', '/api/v1/roles/old_role?reassign_role_name=accountant');
    expect(res.status).toBe(200);
    expect((await m.server.store.memberships.get(org.id, user.id))?.roles).toEqual(['accountant']);
  });

  it('GET /api/v1/roles/{role_name}/permissions lists what the role grants', async () => {
    const res = await m.api('GET', '/api/v1/roles/accountant/permissions');
    expect(res.status).toBe(200);
    expect(res.body.permissions).toEqual([
      expect.objectContaining({ name: 'invoices:read', description: 'Read invoices' }),
    ]);
  });

  it('POST /api/v1/roles/{role_name}/permissions adds permissions (body is the whole request)', async () => {
    await m.api('POST', '/api/v1/roles', {
      name: 'grower',
      display_name: 'Grower',
      permissions: ['invoices:read'],
    });
    const res = await m.api('POST', '/api/v1/roles/grower/permissions', {
      permission_names: ['invoices:write'],
    });
    expect(res.status).toBe(200);
    expect(names(res.body.permissions).sort()).toEqual(['invoices:read', 'invoices:write']);
    expect((await m.server.store.roles.getByName('grower'))?.permissions.sort()).toEqual([
      'invoices:read',
      'invoices:write',
    ]);
  });

  it('DELETE /api/v1/roles/{role_name}/permissions/{permission_name} removes one', async () => {
    await m.api('POST', '/api/v1/roles', {
      name: 'shrinker',
      display_name: 'Shrinker',
      permissions: ['invoices:read', 'invoices:write'],
    });
    const res = await m.api('DELETE', '/api/v1/roles/shrinker/permissions/invoices:write');
    expect(res.status).toBe(200);
    expect(res.body).toEqual({});
    expect((await m.server.store.roles.getByName('shrinker'))?.permissions).toEqual(['invoices:read']);
  });
});

describe('organization roles over REST', () => {
  it('POST /api/v1/organizations/{org_id}/roles creates an organization role: 201', async () => {
    const res = await m.api('POST', `/api/v1/organizations/${org.id}/roles`, {
      name: 'approver',
      display_name: 'Approver',
      permissions: ['invoices:approve'],
    });
    expect(res.status).toBe(201);
    expect(res.body.role).toMatchObject({ name: 'approver', is_org_role: true });
    expect((await m.server.store.roles.getByName('approver', org.id))?.organizationId).toBe(org.id);
    expect(await m.server.store.roles.getByName('approver', null)).toBeNull();
  });

  it('GET /api/v1/organizations/{org_id}/roles/{role_name} reads it', async () => {
    await m.api('POST', `/api/v1/organizations/${org.id}/roles`, {
      name: 'reader_org',
      display_name: 'Reader',
    });
    const res = await m.api('GET', `/api/v1/organizations/${org.id}/roles/reader_org`);
    expect(res.status).toBe(200);
    expect(res.body.role).toMatchObject({ name: 'reader_org', is_org_role: true });
  });

  it('GET /api/v1/organizations/{org_id}/roles lists its own roles and the environment’s', async () => {
    const res = await m.api('GET', `/api/v1/organizations/${org.id}/roles`);
    expect(res.status).toBe(200);
    const listed = names(res.body.roles);
    expect(listed).toEqual(expect.arrayContaining(['approver', 'admin', 'member', 'accountant']));
  });

  it('PUT /api/v1/organizations/{org_id}/roles/{role_name} updates it', async () => {
    await m.api('POST', `/api/v1/organizations/${org.id}/roles`, {
      name: 'org_editor',
      display_name: 'Editor',
    });
    const res = await m.api('PUT', `/api/v1/organizations/${org.id}/roles/org_editor`, {
      display_name: 'Chief Editor',
    });
    expect(res.status).toBe(200);
    expect(res.body.role.display_name).toBe('Chief Editor');
  });

  it('DELETE /api/v1/organizations/{org_id}/roles/{role_name} deletes it', async () => {
    await m.api('POST', `/api/v1/organizations/${org.id}/roles`, { name: 'org_temp', display_name: 'Temp' });
    const res = await m.api('DELETE', `/api/v1/organizations/${org.id}/roles/org_temp`);
    expect(res.status).toBe(200);
    expect(res.body).toEqual({});
    expect(await m.server.store.roles.getByName('org_temp', org.id)).toBeNull();
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

const invalid = { status: 400, code: grpc.InvalidArgument, errorCode: 'INVALID_ARGUMENT' };
const missing = { status: 404, code: grpc.NotFound, errorCode: 'NOT_FOUND' };
const taken = { status: 409, code: grpc.AlreadyExists, errorCode: 'ALREADY_EXISTS' };
const unknownOrg = 'org_0000000000000000000000000';
const role = (over: Record<string, unknown>) => ({ name: 'new_role', display_name: 'New', ...over });

const badInput: Row[] = [
  // Roles
  { name: 'a role without a body', method: 'POST', path: () => '/api/v1/roles', ...invalid, field: 'role' },
  {
    name: 'a role without a name',
    method: 'POST',
    path: () => '/api/v1/roles',
    body: role({ name: '' }),
    ...invalid,
    field: 'role.name',
  },
  {
    name: 'a role name with spaces',
    method: 'POST',
    path: () => '/api/v1/roles',
    body: role({ name: 'new role' }),
    ...invalid,
    field: 'role.name',
  },
  {
    name: 'a role name of 65 characters',
    method: 'POST',
    path: () => '/api/v1/roles',
    body: role({ name: 'r'.repeat(65) }),
    ...invalid,
    field: 'role.name',
  },
  {
    name: 'a role without a display name',
    method: 'POST',
    path: () => '/api/v1/roles',
    body: role({ display_name: '' }),
    ...invalid,
    field: 'role.display_name',
  },
  {
    name: 'a display name of 101 characters',
    method: 'POST',
    path: () => '/api/v1/roles',
    body: role({ display_name: 'd'.repeat(101) }),
    ...invalid,
    field: 'role.display_name',
  },
  {
    name: 'a description of 2001 characters',
    method: 'POST',
    path: () => '/api/v1/roles',
    body: role({ description: 'd'.repeat(2001) }),
    ...invalid,
    field: 'role.description',
  },
  {
    name: 'a role that extends another (not supported)',
    method: 'POST',
    path: () => '/api/v1/roles',
    body: role({ extends: 'member' }),
    ...invalid,
    field: 'role.extends',
  },
  {
    name: 'an unknown permission',
    method: 'POST',
    path: () => '/api/v1/roles',
    body: role({ permissions: ['invoices:read', 'nope:nope'] }),
    ...invalid,
    field: 'role.permissions[1]',
  },
  {
    name: 'wrong-typed permissions',
    method: 'POST',
    path: () => '/api/v1/roles',
    body: role({ permissions: 'invoices:read' }),
    ...invalid,
    field: 'role.permissions',
  },
  {
    name: 'a taken role name',
    method: 'POST',
    path: () => '/api/v1/roles',
    body: role({ name: 'accountant' }),
    ...taken,
    field: 'role.name',
  },
  { name: 'an unknown role', method: 'GET', path: () => '/api/v1/roles/nobody', ...missing },
  {
    name: 'a malformed role name in the path',
    method: 'GET',
    path: () => '/api/v1/roles/no%20body',
    ...invalid,
    field: 'role_name',
  },
  {
    name: 'an unknown include',
    method: 'GET',
    path: () => '/api/v1/roles/accountant?include=everything',
    ...invalid,
    field: 'include',
  },
  {
    name: 'update of an unknown role',
    method: 'PUT',
    path: () => '/api/v1/roles/nobody',
    body: { display_name: 'X' },
    ...missing,
  },
  {
    name: 'update to an empty display name',
    method: 'PUT',
    path: () => '/api/v1/roles/accountant',
    body: { display_name: '' },
    ...invalid,
    field: 'role.display_name',
  },
  {
    name: 'update with an unknown permission',
    method: 'PUT',
    path: () => '/api/v1/roles/accountant',
    body: { permissions: ['nope:nope'] },
    ...invalid,
    field: 'role.permissions[0]',
  },
  { name: 'delete of an unknown role', method: 'DELETE', path: () => '/api/v1/roles/nobody', ...missing },
  {
    name: 'delete of the default member role',
    method: 'DELETE',
    path: () => '/api/v1/roles/member',
    status: 400,
    code: grpc.FailedPrecondition,
    errorCode: 'FAILED_PRECONDITION',
    field: 'role_name',
  },
  {
    name: 'delete reassigning to an unknown role',
    method: 'DELETE',
    path: () => '/api/v1/roles/accountant?reassign_role_name=nobody',
    ...invalid,
    field: 'reassign_role_name',
  },
  {
    name: 'delete reassigning to itself',
    method: 'DELETE',
    path: () => '/api/v1/roles/accountant?reassign_role_name=accountant',
    ...invalid,
    field: 'reassign_role_name',
  },
  // Role permissions
  {
    name: 'adding no permissions',
    method: 'POST',
    path: () => '/api/v1/roles/accountant/permissions',
    body: { permission_names: [] },
    ...invalid,
    field: 'permission_names',
  },
  {
    name: 'adding an unknown permission',
    method: 'POST',
    path: () => '/api/v1/roles/accountant/permissions',
    body: { permission_names: ['nope:nope'] },
    ...invalid,
    field: 'permission_names[0]',
  },
  {
    name: 'adding with a query parameter (body is the whole request)',
    method: 'POST',
    path: () => '/api/v1/roles/accountant/permissions?permission_names=invoices:write',
    body: {},
    ...invalid,
    field: 'permission_names',
  },
  {
    name: 'adding with the role name in the body too',
    method: 'POST',
    path: () => '/api/v1/roles/accountant/permissions',
    body: { role_name: 'nobody', permission_names: ['invoices:write'] },
    ...invalid,
    field: 'role_name',
  },
  {
    name: 'adding to an unknown role',
    method: 'POST',
    path: () => '/api/v1/roles/nobody/permissions',
    body: { permission_names: ['invoices:write'] },
    ...missing,
  },
  {
    name: 'removing a permission the role lacks',
    method: 'DELETE',
    path: () => '/api/v1/roles/accountant/permissions/invoices:write',
    ...missing,
  },
  {
    name: 'permissions of an unknown role',
    method: 'GET',
    path: () => '/api/v1/roles/nobody/permissions',
    ...missing,
  },
  // Permissions
  {
    name: 'a permission without a name',
    method: 'POST',
    path: () => '/api/v1/permissions',
    body: { description: 'x' },
    ...invalid,
    field: 'permission.name',
  },
  {
    name: 'a permission name with a space',
    method: 'POST',
    path: () => '/api/v1/permissions',
    body: { name: 'read all' },
    ...invalid,
    field: 'permission.name',
  },
  {
    name: 'a permission name of 65 characters',
    method: 'POST',
    path: () => '/api/v1/permissions',
    body: { name: 'p'.repeat(65) },
    ...invalid,
    field: 'permission.name',
  },
  {
    name: 'a taken permission name',
    method: 'POST',
    path: () => '/api/v1/permissions',
    body: { name: 'invoices:read' },
    ...taken,
    field: 'permission.name',
  },
  {
    name: 'an unknown permission by name',
    method: 'GET',
    path: () => '/api/v1/permissions/nope:nope',
    ...missing,
  },
  {
    name: 'renaming a permission',
    method: 'PUT',
    path: () => '/api/v1/permissions/invoices:read',
    body: { name: 'invoices:view' },
    ...invalid,
    field: 'permission.name',
  },
  {
    name: 'update of an unknown permission',
    method: 'PUT',
    path: () => '/api/v1/permissions/nope:nope',
    body: { description: 'x' },
    ...missing,
  },
  {
    name: 'delete of an unknown permission',
    method: 'DELETE',
    path: () => '/api/v1/permissions/nope:nope',
    ...missing,
  },
  {
    name: 'permissions with page_size 0 (1 to 100 here)',
    method: 'GET',
    path: () => '/api/v1/permissions?page_size=0',
    ...invalid,
    field: 'page_size',
  },
  {
    name: 'permissions with page_size 101',
    method: 'GET',
    path: () => '/api/v1/permissions?page_size=101',
    ...invalid,
    field: 'page_size',
  },
  {
    name: 'permissions of an unknown type',
    method: 'GET',
    path: () => '/api/v1/permissions?type=BUILTIN',
    ...invalid,
    field: 'type',
  },
  // Organization roles
  {
    name: 'a role in an unknown organization',
    method: 'POST',
    path: () => `/api/v1/organizations/${unknownOrg}/roles`,
    body: role({}),
    ...missing,
  },
  {
    name: 'a taken organization role name',
    method: 'POST',
    path: () => `/api/v1/organizations/${org.id}/roles`,
    body: role({ name: 'org_fixed' }),
    ...taken,
    field: 'role.name',
  },
  {
    name: 'updating an environment role through an organization',
    method: 'PUT',
    path: () => `/api/v1/organizations/${org.id}/roles/accountant`,
    body: { display_name: 'X' },
    ...missing,
  },
  {
    name: 'deleting an environment role through an organization',
    method: 'DELETE',
    path: () => `/api/v1/organizations/${org.id}/roles/admin`,
    ...missing,
  },
  {
    name: 'an unknown organization role',
    method: 'GET',
    path: () => `/api/v1/organizations/${org.id}/roles/nobody`,
    ...missing,
  },
  {
    name: 'roles of an unknown organization',
    method: 'GET',
    path: () => `/api/v1/organizations/${unknownOrg}/roles`,
    ...missing,
  },
];

describe('roles and permissions: bad input', () => {
  beforeAll(async () => {
    await m.api('POST', `/api/v1/organizations/${org.id}/roles`, {
      name: 'org_fixed',
      display_name: 'Fixed',
    });
  });

  it.each(badInput)('$name → $status', async (row) => {
    const before = await auditCount(m.server);
    const rolesBefore = await m.server.store.roles.list();
    const permissionsBefore = await m.server.store.roles.listPermissions();
    const res: ApiResponse = await m.api(row.method, row.path(), row.body);
    expectStatusError(res, row);
    expect(await auditCount(m.server)).toBe(before);
    expect(await m.server.store.roles.list()).toEqual(rolesBefore);
    expect(await m.server.store.roles.listPermissions()).toEqual(permissionsBefore);
  });
});
