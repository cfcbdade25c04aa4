// The official @scalekit-sdk/node speaks gRPC to Sesame unmodified (spec: management.md, "gRPC over
// HTTP/2 … HTTP/1.1 and HTTP/2 share one port … the official SDK then fetches a token and
// retries"): every implemented method it calls, against a live server started with `listen()`.
import { create } from '@bufbuild/protobuf';
import { createClient } from '@connectrpc/connect';
import { createGrpcTransport } from '@connectrpc/connect-node';
import {
  ScalekitBadRequestException,
  ScalekitClient,
  ScalekitConflictException,
  ScalekitNotFoundException,
  ScalekitNotImplementedException,
  type ScalekitServerException,
} from '@scalekit-sdk/node';
import {
  CreateOrganizationRoleSchema,
  CreatePermissionSchema,
  CreateRoleSchema,
  UpdateRoleSchema,
} from '@scalekit-sdk/node/lib/pkg/grpc/scalekit/v1/roles/roles_pb.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createApp } from '../../src/http/app.ts';
import {
  GetOrganizationRequestSchema,
  OrganizationService,
} from '../../src/management/gen/scalekit/v1/organizations/organizations_pb.ts';
import { listen, type RunningServer } from '../../src/node-server.ts';
import { decodeClaims } from '../backchannel/receiver.ts';
import { Agent, signInAndExchange } from '../support/agent.ts';
import type { RegisteredClient, TestServer } from '../support/server.ts';
import { startTestServer } from '../support/server.ts';

let server: TestServer;
let running: RunningServer;
let base: string;
let app: RegisteredClient;
let sdk: ScalekitClient;

/** The SDK's token, which it keeps privately. */
const sdkToken = (client: ScalekitClient) =>
  (client as unknown as { coreClient: { accessToken: string | null } }).coreClient.accessToken;

const tokenRequests = () => server.logs.filter((line) => line.includes('"path":"/oauth/token"')).length;

beforeAll(async () => {
  server = await startTestServer();
  app = await server.registerClient({
    type: 'web',
    name: 'SDK Backend',
    redirectUris: ['http://localhost:4000/callback'],
    allowManagementApi: true,
  });
  // The same-port transport: HTTP/1.1 (token endpoint) and HTTP/2 (gRPC) on one port.
  running = await listen(createApp(server.ctx), { port: 0, host: '127.0.0.1' });
  base = `http://127.0.0.1:${running.port}`;
  sdk = new ScalekitClient(base, app.id, app.secret ?? '');
});
afterAll(async () => {
  await running.close();
  await server.close();
});

async function expectSdkError<T extends ScalekitServerException>(
  call: Promise<unknown>,
  type: abstract new (...args: never[]) => T,
  expected: { grpcStatus: number; errorCode: string; field?: string },
): Promise<T> {
  const error = await call.then(
    () => {
      throw new Error('expected the call to fail');
    },
    (err: unknown) => err,
  );
  expect(error).toBeInstanceOf(type);
  const e = error as T;
  expect(e.grpcStatus).toBe(expected.grpcStatus);
  expect(e.errorCode).toBe(expected.errorCode);
  if (expected.field) {
    expect(e.message).toContain(expected.field);
    const [info] = e.unpackedDetails as Array<{
      validationErrorInfo?: { fieldViolations: Array<{ field: string }> };
    }>;
    expect(info?.validationErrorInfo?.fieldViolations[0]?.field).toBe(expected.field);
  }
  return e;
}

describe('the official SDK over gRPC', () => {
  it('the first call goes without a token, gets UNAUTHENTICATED, and is retried with a fresh token', async () => {
    expect(sdkToken(sdk)).toBeNull();
    const before = tokenRequests();
    const list = await sdk.organization.listOrganization({ pageSize: 10 });
    expect(list.organizations.map((o) => o.id)).toContain(server.user.organizationId);
    expect(tokenRequests()).toBe(before + 1);
    expect(
      server.logs.some((l) => l.includes('"status":"UNAUTHENTICATED"') && l.includes('ListOrganization')),
    ).toBe(true);
    const token = sdkToken(sdk);
    expect(decodeClaims(token as string)).toMatchObject({ sub: app.id, client_id: app.id });
    // Later calls reuse the token.
    await sdk.organization.listOrganization();
    expect(tokenRequests()).toBe(before + 1);
  });

  it('an expired token is replaced the same way', async () => {
    await sdk.organization.listOrganization();
    const old = sdkToken(sdk);
    server.clock.advance(server.config.machineTokenTtl + server.config.clockTolerance + 1);
    await sdk.organization.listOrganization();
    expect(sdkToken(sdk)).not.toBe(old);
  });

  it('organizations: create, get (by id and external id), update, list, search, delete', async () => {
    const created = await sdk.organization.createOrganization('Stark Industries', { externalId: 'stark-1' });
    const org = created.organization!;
    expect(org).toMatchObject({ displayName: 'Stark Industries', externalId: 'stark-1' });
    expect(org.id).toMatch(/^org_/);
    expect(org.createTime).toBeDefined();

    expect((await sdk.organization.getOrganization(org.id)).organization?.displayName).toBe(
      'Stark Industries',
    );
    expect((await sdk.organization.getOrganizationByExternalId('stark-1')).organization?.id).toBe(org.id);

    const updated = await sdk.organization.updateOrganization(org.id, {
      displayName: 'Stark Enterprises',
      metadata: { sector: 'defense' },
    });
    expect(updated.organization).toMatchObject({
      displayName: 'Stark Enterprises',
      metadata: { sector: 'defense' },
    });
    const byExternal = await sdk.organization.updateOrganizationByExternalId('stark-1', {
      displayName: 'Stark Intl',
    });
    expect(byExternal.organization?.displayName).toBe('Stark Intl');

    const page = await sdk.organization.listOrganization({ pageSize: 1 });
    expect(page.organizations).toHaveLength(1);
    expect(page.totalSize).toBeGreaterThanOrEqual(2);
    const next = await sdk.organization.listOrganization({ pageSize: 1, pageToken: page.nextPageToken });
    expect(next.organizations[0]?.id).not.toBe(page.organizations[0]?.id);
    expect(next.prevPageToken).not.toBe('');

    const found = await sdk.organization.searchOrganization('stark');
    expect(found.organizations.map((o) => o.id)).toEqual([org.id]);

    await sdk.organization.deleteOrganization(org.id);
    await expectSdkError(sdk.organization.getOrganization(org.id), ScalekitNotFoundException, {
      grpcStatus: 5,
      errorCode: 'NOT_FOUND',
    });
  });

  it('GetOrganizationByExternalId, the RPC the SDK reaches through getOrganization, answers too', async () => {
    await sdk.organization.createOrganization('Wayne Corp', { externalId: 'wayne-1' });
    const client = createClient(OrganizationService, createGrpcTransport({ baseUrl: base }));
    const headers = { authorization: `Bearer ${sdkToken(sdk)}` };
    const res = await client.getOrganizationByExternalId(
      create(GetOrganizationRequestSchema, { identities: { case: 'externalId', value: 'wayne-1' } }),
      { headers },
    );
    expect(res.organization?.displayName).toBe('Wayne Corp');
  });

  it('permissions and roles: create, get, list, update, role permissions, organization roles, delete', async () => {
    const permission = await sdk.permission.createPermission(
      create(CreatePermissionSchema, { name: 'docs:read', description: 'Read docs' }),
    );
    expect(permission.permission).toMatchObject({ name: 'docs:read', description: 'Read docs' });
    await sdk.permission.createPermission(
      create(CreatePermissionSchema, { name: 'docs:write', description: 'Write docs' }),
    );
    expect((await sdk.permission.getPermission('docs:read')).permission?.id).toMatch(/^perm_/);
    const updatedPermission = await sdk.permission.updatePermission(
      'docs:write',
      create(CreatePermissionSchema, {
        name: 'docs:write',
        description: 'Edit docs',
      }),
    );
    expect(updatedPermission.permission?.description).toBe('Edit docs');
    const listed = await sdk.permission.listPermissions(undefined, 1);
    expect(listed.permissions).toHaveLength(1);
    expect(listed.totalSize).toBe(2);
    const rest = await sdk.permission.listPermissions(listed.nextPageToken, 1);
    expect(rest.permissions[0]?.name).not.toBe(listed.permissions[0]?.name);

    const role = await sdk.role.createRole(
      create(CreateRoleSchema, { name: 'writer', displayName: 'Writer', permissions: ['docs:read'] }),
    );
    expect(role.role).toMatchObject({ name: 'writer', displayName: 'Writer' });
    expect((await sdk.role.getRole('writer')).role?.displayName).toBe('Writer');
    expect((await sdk.role.listRoles()).roles.map((r) => r.name)).toEqual(
      expect.arrayContaining(['admin', 'member', 'writer']),
    );
    const renamed = await sdk.role.updateRole(
      'writer',
      create(UpdateRoleSchema, { displayName: 'Author', permissions: [] }),
    );
    expect(renamed.role?.displayName).toBe('Author');

    const added = await sdk.permission.addPermissionsToRole('writer', ['docs:write']);
    expect(added.permissions.map((p) => p.name).sort()).toEqual(['docs:read', 'docs:write']);
    expect((await sdk.permission.listRolePermissions('writer')).permissions).toHaveLength(2);
    await sdk.permission.removePermissionFromRole('writer', 'docs:read');
    expect((await sdk.permission.listRolePermissions('writer')).permissions.map((p) => p.name)).toEqual([
      'docs:write',
    ]);

    const orgId = server.user.organizationId;
    const orgRole = await sdk.role.createOrganizationRole(
      orgId,
      create(CreateOrganizationRoleSchema, { name: 'org_reviewer', displayName: 'Reviewer' }),
    );
    expect(orgRole.role).toMatchObject({ name: 'org_reviewer', isOrgRole: true });
    expect((await sdk.role.getOrganizationRole(orgId, 'org_reviewer')).role?.displayName).toBe('Reviewer');
    expect((await sdk.role.listOrganizationRoles(orgId)).roles.map((r) => r.name)).toContain('org_reviewer');
    const orgUpdated = await sdk.role.updateOrganizationRole(
      orgId,
      'org_reviewer',
      create(UpdateRoleSchema, { displayName: 'Lead Reviewer' }),
    );
    expect(orgUpdated.role?.displayName).toBe('Lead Reviewer');
    await sdk.role.deleteOrganizationRole(orgId, 'org_reviewer');
    await expectSdkError(sdk.role.getOrganizationRole(orgId, 'org_reviewer'), ScalekitNotFoundException, {
      grpcStatus: 5,
      errorCode: 'NOT_FOUND',
    });

    await sdk.role.deleteRole('writer');
    await sdk.permission.deletePermission('docs:read');
    await expectSdkError(sdk.permission.getPermission('docs:read'), ScalekitNotFoundException, {
      grpcStatus: 5,
      errorCode: 'NOT_FOUND',
    });
  });

  it('users and memberships: create, get, update, list, search, memberships, roles, permissions, delete', async () => {
    const orgId = server.user.organizationId;
    const other = (await sdk.organization.createOrganization('Oscorp')).organization!.id;
    await sdk.permission.createPermission(
      create(CreatePermissionSchema, { name: 'labs:enter', description: 'Enter the labs' }),
    );
    await sdk.role.createRole(
      create(CreateRoleSchema, { name: 'scientist', displayName: 'Scientist', permissions: ['labs:enter'] }),
    );

    const created = await sdk.user.createUserAndMembership(orgId, {
      email: 'peter@example.com',
      externalId: 'peter-1',
      userProfile: { firstName: 'Peter', lastName: 'Parker' },
      metadata: { team: 'web' },
    });
    const user = created.user!;
    expect(user).toMatchObject({
      email: 'peter@example.com',
      externalId: 'peter-1',
      metadata: { team: 'web' },
    });
    expect(user.userProfile).toMatchObject({ firstName: 'Peter', lastName: 'Parker' });
    expect(user.memberships.map((ms) => ms.organizationId)).toEqual([orgId]);

    expect((await sdk.user.getUser(user.id)).user?.email).toBe('peter@example.com');
    expect((await sdk.user.getUserByExternalId('peter-1')).user?.id).toBe(user.id);
    const listed = await sdk.user.listUsers({ pageSize: 100 });
    expect(listed.users.map((u) => u.id)).toContain(user.id);
    expect(listed.totalSize).toBe(listed.users.length);
    expect((await sdk.user.searchUsers('parker')).users.map((u) => u.id)).toEqual([user.id]);

    const updated = await sdk.user.updateUser(user.id, {
      userProfile: { firstName: 'Pete' },
      metadata: { team: 'mobile' },
    });
    expect(updated.user).toMatchObject({ userProfile: { firstName: 'Pete' }, metadata: { team: 'mobile' } });
    const byExternal = await sdk.user.updateUserByExternalId('peter-1', { userProfile: { lastName: 'P.' } });
    expect(byExternal.user?.userProfile?.lastName).toBe('P.');

    const joined = await sdk.user.createMembership(other, user.id, { roles: ['scientist'] });
    expect(joined.user?.memberships.map((ms) => ms.organizationId)).toEqual([orgId, other]);
    const moved = await sdk.user.updateMembership(other, user.id, { roles: ['member'] });
    expect(
      moved.user?.memberships.find((ms) => ms.organizationId === other)?.roles.map((r) => r.name),
    ).toEqual(['member']);
    expect((await sdk.user.listOrganizationUsers(other)).users.map((u) => u.id)).toEqual([user.id]);
    await sdk.user.deleteMembership(other, user.id);
    await sdk.user.createMembershipByExternalId(other, 'peter-1', { roles: ['member'] });
    await sdk.user.updateMembershipByExternalId(other, 'peter-1', { roles: ['scientist'] });
    expect((await sdk.user.listUserRoles(other, user.id)).roles.map((r) => r.name)).toEqual(['scientist']);
    await sdk.user.deleteMembershipByExternalId(other, 'peter-1');
    expect((await sdk.user.getUser(user.id)).user?.memberships.map((ms) => ms.organizationId)).toEqual([
      orgId,
    ]);

    const assigned = await sdk.user.assignUserRoles(orgId, user.id, ['scientist']);
    expect(assigned.roles.map((r) => r.name)).toEqual(['member', 'scientist']);
    expect((await sdk.user.listUserRoles(orgId, user.id)).roles.map((r) => r.name)).toEqual([
      'member',
      'scientist',
    ]);
    expect((await sdk.user.listUserPermissions(orgId, user.id)).permissions.map((p) => p.name)).toEqual([
      'labs:enter',
    ]);
    await sdk.user.removeUserRole(orgId, user.id, 'scientist');
    expect((await sdk.user.listUserPermissions(orgId, user.id)).permissions).toEqual([]);

    await sdk.user.deleteUser(user.id);
    await expectSdkError(sdk.user.getUser(user.id), ScalekitNotFoundException, {
      grpcStatus: 5,
      errorCode: 'NOT_FOUND',
    });
    await sdk.user.createUserAndMembership(orgId, { email: 'miles@example.com', externalId: 'miles-1' });
    await sdk.user.deleteUserByExternalId('miles-1');
    await expectSdkError(sdk.user.getUserByExternalId('miles-1'), ScalekitNotFoundException, {
      grpcStatus: 5,
      errorCode: 'NOT_FOUND',
    });
  });

  it('sessions: get, list a user’s, revoke one, revoke all', async () => {
    const first = await signInAndExchange(new Agent(), server);
    const second = await signInAndExchange(new Agent(), server);
    const sid = decodeClaims(first['id_token'] as string)['sid'] as string;
    const sid2 = decodeClaims(second['id_token'] as string)['sid'] as string;

    const session = await sdk.session.getSession(sid);
    expect(session).toMatchObject({ sessionId: sid, userId: server.user.id, status: 'active' });
    const listed = await sdk.session.getUserSessions(server.user.id, { filter: { status: ['active'] } });
    expect(listed.sessions.map((s) => s.sessionId).sort()).toEqual([sid, sid2].sort());

    const revoked = await sdk.session.revokeSession(sid);
    expect(revoked.revokedSession).toMatchObject({ sessionId: sid, status: 'revoked' });
    const all = await sdk.session.revokeAllUserSessions(server.user.id);
    expect(all.totalRevoked).toBe(1);
    expect(all.revokedSessions.map((s) => s.sessionId)).toEqual([sid2]);
    expect((await server.store.sessions.get(sid2))?.endReason).toBe('revoked');
  });

  it('errors map to the SDK’s exception classes with the error_code and the field', async () => {
    await expectSdkError(sdk.organization.createOrganization(''), ScalekitBadRequestException, {
      grpcStatus: 3,
      errorCode: 'INVALID_ARGUMENT',
      field: 'organization.display_name',
    });
    await sdk.organization.createOrganization('Dup', { externalId: 'dup-1' });
    await expectSdkError(
      sdk.organization.createOrganization('Dup again', { externalId: 'dup-1' }),
      ScalekitConflictException,
      { grpcStatus: 6, errorCode: 'ALREADY_EXISTS', field: 'organization.external_id' },
    );
    await expectSdkError(sdk.user.getUser('usr_0000000000000000000000000'), ScalekitNotFoundException, {
      grpcStatus: 5,
      errorCode: 'NOT_FOUND',
    });
  });

  it('a method the SDK has but Sesame does not implement answers UNIMPLEMENTED', async () => {
    const error = await sdk.organization
      .generatePortalLink(server.user.organizationId)
      .catch((err: unknown) => err);
    expect(error).toBeInstanceOf(ScalekitNotImplementedException);
    expect((error as ScalekitServerException).grpcStatus).toBe(12);
  });

  it('a user’s own access token is refused: the SDK’s retry then uses its own', async () => {
    const userTokens = await signInAndExchange(new Agent(), server);
    const intruder = new ScalekitClient(base, app.id, app.secret ?? '');
    (intruder as unknown as { coreClient: { accessToken: string | null } }).coreClient.accessToken =
      userTokens['access_token'] as string;
    const before = tokenRequests();
    await intruder.organization.listOrganization();
    expect(tokenRequests()).toBe(before + 1);
    expect(sdkToken(intruder)).not.toBe(userTokens['access_token']);
  });
});
