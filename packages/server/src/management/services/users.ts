// scalekit.v1.users.UserService: users, their organization memberships and the roles those grant.
// Deleting a user ends their sessions first (back-channel notices go out); role changes show in
// the user's next tokens, which read entitlements when they are minted. Profile fields Sesame does
// not store (locale, phone, picture, ...) and membership metadata are refused, not dropped.
import type { HandlerContext, ServiceImpl } from '@connectrpc/connect';
import { normalizeEmail } from '../../accounts/sign-in.ts';
import { deleteUser } from '../../accounts/user-lifecycle.ts';
import type { ServerContext } from '../../context.ts';
import { newId } from '../../lib/ids.ts';
import { AlreadyExistsError, type Store } from '../../storage/store.ts';
import type { Membership, Role, User } from '../../storage/types.ts';
import { auditedWrite } from '../audited-write.ts';
import { alreadyExists, invalidField, notFound } from '../errors.ts';
import type {
  AssignUserRolesRequest,
  CreateMembershipRequest,
  CreateUserAndMembershipRequest,
  CreateUserProfile,
  DeleteMembershipRequest,
  DeleteUserRequest,
  GetUserRequest,
  ListOrganizationUsersRequest,
  ListUserPermissionsRequest,
  ListUserRolesRequest,
  ListUsersRequest,
  RemoveUserRoleRequest,
  SearchUsersRequest,
  UpdateMembershipRequest,
  UpdateUserProfile,
  UpdateUserRequest,
  UserService,
} from '../gen/scalekit/v1/users/users_pb.ts';
import { readPageToken, storePage } from '../paging.ts';
import {
  checkEmail,
  checkMap,
  checkString,
  pageSize,
  refuseUnsupported,
  requireId,
  requireMessage,
  requireString,
  roleNameRule,
  userMetadata,
} from '../validate.ts';
import { RoleResolver, roleRefView, userPermissionView, userView } from '../views.ts';
import { requireOrganization } from './organizations.ts';

type Identities = GetUserRequest['identities'];

const externalIdRule = { min: 1, max: 510 };
const nameRule = { max: 255 };
const firstNameRule = { max: 200 };

/** The user a request names by `id` or `external_id`. */
export async function findUser(store: Store, identities: Identities): Promise<User> {
  let user: User | null;
  if (identities.case === 'id') {
    user = await store.users.get(requireId('id', identities.value, 'usr'));
  } else if (identities.case === 'externalId') {
    user = await store.users.getByExternalId(checkString('external_id', identities.value, externalIdRule));
  } else {
    throw invalidField('id', 'is required (or external_id)');
  }
  if (!user) throw notFound('user');
  return user;
}

/** A user named by id in a path (`user_id`). */
export async function requireUser(store: Store, field: string, id: string): Promise<User> {
  const user = await store.users.get(requireId(field, id, 'usr'));
  if (!user) throw notFound('user');
  return user;
}

async function requireMembership(store: Store, organizationId: string, userId: string): Promise<Membership> {
  const membership = await store.memberships.get(organizationId, userId);
  if (!membership) throw notFound('membership');
  return membership;
}

function userTaken(err: unknown, prefix: string): never {
  if (err instanceof AlreadyExistsError) {
    if (err.field === 'email') throw alreadyExists(`${prefix}email`, 'a user with this email');
    if (err.field === 'externalId')
      throw alreadyExists(`${prefix}external_id`, 'a user with this external id');
  }
  throw err;
}

/** Refuses the profile fields Sesame does not keep. */
function refuseUnstoredProfile(field: string, profile: CreateUserProfile | UpdateUserProfile): void {
  const set = (value: string | undefined) => value !== undefined && value !== '';
  refuseUnsupported(`${field}.locale`, set(profile.locale));
  refuseUnsupported(`${field}.phone_number`, set(profile.phoneNumber));
  refuseUnsupported(`${field}.preferred_username`, set(profile.preferredUsername));
  refuseUnsupported(`${field}.picture`, set(profile.picture));
  refuseUnsupported(`${field}.gender`, set(profile.gender));
  refuseUnsupported(`${field}.groups`, profile.groups.length > 0);
  refuseUnsupported(`${field}.metadata`, Object.keys(profile.metadata).length > 0);
  refuseUnsupported(`${field}.custom_attributes`, Object.keys(profile.customAttributes).length > 0);
}

/** Given and family names from either spelling (`first_name` wins over `given_name`). */
function profileNames(
  field: string,
  profile: { givenName?: string; familyName?: string; firstName?: string; lastName?: string; name?: string },
) {
  const pick = (
    first: string | undefined,
    firstField: string,
    given: string | undefined,
    givenField: string,
  ) => {
    if (first !== undefined && first !== '')
      return checkString(`${field}.${firstField}`, first, firstNameRule);
    if (given !== undefined) return checkString(`${field}.${givenField}`, given, nameRule);
    return undefined;
  };
  return {
    givenName: pick(profile.firstName, 'first_name', profile.givenName, 'given_name'),
    familyName: pick(profile.lastName, 'last_name', profile.familyName, 'family_name'),
    name: profile.name === undefined ? undefined : checkString(`${field}.name`, profile.name, nameRule),
  };
}

/** Resolves role references (by name, else by id) in an organization; unknown ones name the field. */
async function resolveRoles(
  roles: RoleResolver,
  organizationId: string,
  refs: Array<{ name: string; id: string }>,
  field: (index: number) => string,
): Promise<Role[]> {
  const resolved: Role[] = [];
  for (const [index, ref] of refs.entries()) {
    let role: Role | null;
    if (ref.name !== '') {
      checkString(field(index), ref.name, { ...roleNameRule, max: 100 });
      role = await roles.resolve(organizationId, ref.name);
    } else if (ref.id !== '') {
      role = await roles.resolveId(organizationId, ref.id);
    } else {
      throw invalidField(field(index), 'is required');
    }
    if (!role)
      throw invalidField(field(index), `role ${ref.name || ref.id} does not exist in this organization`);
    if (!resolved.some((r) => r.name === role.name)) resolved.push(role);
  }
  return resolved;
}

async function defaultMemberRoles(store: Store): Promise<string[]> {
  const role = (await store.roles.list(null)).find((r) => r.isDefaultMember);
  return role ? [role.name] : [];
}

const membershipTarget = (organizationId: string, userId: string) => ({
  targetType: 'membership',
  targetId: `${organizationId}/${userId}`,
});

export function userService(ctx: ServerContext): ServiceImpl<typeof UserService> {
  const view = (user: User) => userView(ctx.store, user, new RoleResolver(ctx.store));
  const listView = async (users: User[]) => {
    const roles = new RoleResolver(ctx.store);
    const out = [];
    for (const user of users) out.push(await userView(ctx.store, user, roles));
    return out;
  };

  return {
    async getUser(req: GetUserRequest) {
      return { user: await view(await findUser(ctx.store, req.identities)) };
    },

    async listUsers(req: ListUsersRequest) {
      const size = pageSize('page_size', req.pageSize);
      const position = readPageToken('page_token', req.pageToken, 'users');
      const page = storePage(position, await ctx.store.users.list({ limit: size, cursor: position.after }));
      return { ...page.tokens, users: await listView(page.items) };
    },

    async searchUsers(req: SearchUsersRequest) {
      const query = requireString('query', req.query.trim(), { min: 3, max: 100 });
      const size = pageSize('page_size', req.pageSize, { max: 30 });
      const position = readPageToken('page_token', req.pageToken, `users?${query}`);
      const page = storePage(
        position,
        await ctx.store.users.list({ limit: size, cursor: position.after }, { query }),
      );
      return { ...page.tokens, users: await listView(page.items) };
    },

    async updateUser(req: UpdateUserRequest, context: HandlerContext) {
      const input = requireMessage('user', req.user);
      const patch: Partial<Omit<User, 'id' | 'createdAt'>> = {};
      if (input.externalId !== undefined) {
        patch.externalId =
          input.externalId === '' ? null : checkString('user.external_id', input.externalId, externalIdRule);
      }
      if (Object.keys(input.metadata).length > 0) {
        patch.metadata = checkMap('user.metadata', input.metadata, userMetadata);
      }
      if (input.userProfile) {
        refuseUnstoredProfile('user.user_profile', input.userProfile);
        const names = profileNames('user.user_profile', input.userProfile);
        if (names.givenName !== undefined) patch.givenName = names.givenName || null;
        if (names.familyName !== undefined) patch.familyName = names.familyName || null;
        if (names.name !== undefined) patch.name = names.name || null;
      }
      const updated = await auditedWrite(ctx, context, async (tx, record) => {
        const user = await findUser(tx.store, req.identities);
        const result = await tx.store.users
          .update(user.id, { ...patch, updatedAt: ctx.config.now() })
          .catch((err) => userTaken(err, 'user.'));
        if (!result) throw notFound('user');
        record({ targetType: 'user', targetId: user.id, detail: auditDetail(patch) });
        return result;
      });
      return { user: await view(updated) };
    },

    async deleteUser(req: DeleteUserRequest, context: HandlerContext) {
      await auditedWrite(ctx, context, async (tx, record) => {
        const user = await findUser(tx.store, req.identities);
        if (!(await deleteUser(tx, user.id))) throw notFound('user');
        record({ targetType: 'user', targetId: user.id, detail: { email: user.email } });
      });
      return {};
    },

    async createMembership(req: CreateMembershipRequest, context: HandlerContext) {
      const input = requireMessage('membership', req.membership);
      refuseUnsupported('membership.metadata', Object.keys(input.metadata).length > 0);
      refuseUnsupported(
        'membership.inviter_email',
        input.inviterEmail !== undefined && input.inviterEmail !== '',
      );
      const userId = await auditedWrite(ctx, context, async (tx, record) => {
        const org = await requireOrganization(tx.store, 'organization_id', req.organizationId);
        const user = await findUser(tx.store, req.identities);
        const roles = await resolveRoles(
          new RoleResolver(tx.store),
          org.id,
          input.roles,
          (i) => `membership.roles[${i}].name`,
        );
        if (await tx.store.memberships.get(org.id, user.id)) {
          throw alreadyExists('organization_id', 'a membership of this user in this organization');
        }
        const names = roles.length > 0 ? roles.map((r) => r.name) : await defaultMemberRoles(tx.store);
        const now = ctx.config.now();
        await tx.store.memberships.insert({
          organizationId: org.id,
          userId: user.id,
          roles: names,
          createdAt: now,
          updatedAt: now,
        });
        record({ ...membershipTarget(org.id, user.id), detail: { roles: names } });
        return user.id;
      });
      return { user: await view(await requireUser(ctx.store, 'id', userId)) };
    },

    async deleteMembership(req: DeleteMembershipRequest, context: HandlerContext) {
      await auditedWrite(ctx, context, async (tx, record) => {
        const org = await requireOrganization(tx.store, 'organization_id', req.organizationId);
        const user = await findUser(tx.store, req.identities);
        if (!(await tx.store.memberships.delete(org.id, user.id))) throw notFound('membership');
        record({ ...membershipTarget(org.id, user.id), detail: {} });
        // `cascade`: a user left without any organization is deleted too.
        if (req.cascade && (await tx.store.memberships.listForUser(user.id)).length === 0) {
          await deleteUser(tx, user.id);
          record({ targetType: 'user', targetId: user.id, detail: { email: user.email, cascade: true } });
        }
      });
      return {};
    },

    async updateMembership(req: UpdateMembershipRequest, context: HandlerContext) {
      const input = requireMessage('membership', req.membership);
      refuseUnsupported('membership.metadata', Object.keys(input.metadata).length > 0);
      const userId = await auditedWrite(ctx, context, async (tx, record) => {
        const org = await requireOrganization(tx.store, 'organization_id', req.organizationId);
        const user = await findUser(tx.store, req.identities);
        const current = await requireMembership(tx.store, org.id, user.id);
        // Roles are replaced when some are given; an empty list leaves them as they are.
        if (input.roles.length > 0) {
          const roles = await resolveRoles(
            new RoleResolver(tx.store),
            org.id,
            input.roles,
            (i) => `membership.roles[${i}].name`,
          );
          const names = roles.map((r) => r.name);
          await tx.store.memberships.update(org.id, user.id, names, ctx.config.now());
          record({
            ...membershipTarget(org.id, user.id),
            detail: { roles: names, previous_roles: current.roles },
          });
        }
        return user.id;
      });
      return { user: await view(await requireUser(ctx.store, 'id', userId)) };
    },

    async createUserAndMembership(req: CreateUserAndMembershipRequest, context: HandlerContext) {
      const input = requireMessage('user', req.user);
      const email = normalizeEmail(checkEmail('user.email', input.email.trim()));
      const externalId =
        input.externalId === undefined || input.externalId === ''
          ? null
          : checkString('user.external_id', input.externalId, externalIdRule);
      const metadata = checkMap('user.metadata', input.metadata, userMetadata);
      const profile = input.userProfile;
      if (profile) refuseUnstoredProfile('user.user_profile', profile);
      const names = profile
        ? profileNames('user.user_profile', profile)
        : { givenName: undefined, familyName: undefined, name: undefined };
      const membership = input.membership;
      if (membership) {
        refuseUnsupported('user.membership.metadata', Object.keys(membership.metadata).length > 0);
        refuseUnsupported(
          'user.membership.inviter_email',
          membership.inviterEmail !== undefined && membership.inviterEmail !== '',
        );
      }
      const user = await auditedWrite(ctx, context, async (tx, record) => {
        const org = await requireOrganization(tx.store, 'organization_id', req.organizationId);
        const roles = await resolveRoles(
          new RoleResolver(tx.store),
          org.id,
          membership?.roles ?? [],
          (i) => `user.membership.roles[${i}].name`,
        );
        const now = ctx.config.now();
        const givenName = names.givenName || null;
        const familyName = names.familyName || null;
        const created: User = {
          id: newId('usr'),
          email,
          emailVerified: false,
          name: names.name || [givenName, familyName].filter(Boolean).join(' ') || null,
          givenName,
          familyName,
          passwordHash: null,
          externalId,
          disabled: false,
          metadata,
          createdAt: now,
          updatedAt: now,
        };
        await tx.store.users.insert(created).catch((err) => userTaken(err, 'user.'));
        const roleNames = roles.length > 0 ? roles.map((r) => r.name) : await defaultMemberRoles(tx.store);
        await tx.store.memberships.insert({
          organizationId: org.id,
          userId: created.id,
          roles: roleNames,
          createdAt: now,
          updatedAt: now,
        });
        record({
          targetType: 'user',
          targetId: created.id,
          detail: { email, external_id: externalId, organization_id: org.id, roles: roleNames },
        });
        return created;
      });
      return { user: await view(user) };
    },

    async listOrganizationUsers(req: ListOrganizationUsersRequest) {
      const org = await requireOrganization(ctx.store, 'organization_id', req.organizationId);
      const size = pageSize('page_size', req.pageSize);
      const position = readPageToken('page_token', req.pageToken, `organizations/${org.id}/users`);
      const page = storePage(
        position,
        await ctx.store.users.list({ limit: size, cursor: position.after }, { organizationId: org.id }),
      );
      return { ...page.tokens, users: await listView(page.items) };
    },

    async listUserRoles(req: ListUserRolesRequest) {
      const org = await requireOrganization(ctx.store, 'organization_id', req.organizationId);
      const user = await requireUser(ctx.store, 'user_id', req.userId);
      const membership = await requireMembership(ctx.store, org.id, user.id);
      return { roles: (await heldRoles(ctx.store, membership)).map(roleRefView) };
    },

    async assignUserRoles(req: AssignUserRolesRequest, context: HandlerContext) {
      if (req.roles.length === 0) throw invalidField('roles', 'is required');
      const membership = await auditedWrite(ctx, context, async (tx, record) => {
        const org = await requireOrganization(tx.store, 'organization_id', req.organizationId);
        const user = await requireUser(tx.store, 'user_id', req.userId);
        const current = await requireMembership(tx.store, org.id, user.id);
        const roles = await resolveRoles(
          new RoleResolver(tx.store),
          org.id,
          req.roles.map((r) => ({ name: r.roleName, id: r.id })),
          (i) => `roles[${i}].role_name`,
        );
        const added = roles.map((r) => r.name).filter((name) => !current.roles.includes(name));
        if (added.length === 0) return current;
        const updated = await tx.store.memberships.update(
          org.id,
          user.id,
          [...current.roles, ...added],
          ctx.config.now(),
        );
        if (!updated) throw notFound('membership');
        record({ ...membershipTarget(org.id, user.id), detail: { added_roles: added } });
        return updated;
      });
      return { roles: (await heldRoles(ctx.store, membership)).map(roleRefView) };
    },

    async removeUserRole(req: RemoveUserRoleRequest, context: HandlerContext) {
      const roleName = requireString('role_name', req.roleName, { ...roleNameRule, max: 100 });
      await auditedWrite(ctx, context, async (tx, record) => {
        const org = await requireOrganization(tx.store, 'organization_id', req.organizationId);
        const user = await requireUser(tx.store, 'user_id', req.userId);
        const current = await requireMembership(tx.store, org.id, user.id);
        if (!current.roles.includes(roleName)) throw notFound(`role ${roleName} of this membership`);
        await tx.store.memberships.update(
          org.id,
          user.id,
          current.roles.filter((name) => name !== roleName),
          ctx.config.now(),
        );
        record({ ...membershipTarget(org.id, user.id), detail: { removed_role: roleName } });
      });
      return {};
    },

    async listUserPermissions(req: ListUserPermissionsRequest) {
      const org = await requireOrganization(ctx.store, 'organization_id', req.organizationId);
      const user = await requireUser(ctx.store, 'user_id', req.userId);
      await requireMembership(ctx.store, org.id, user.id);
      // The same rule as the `permissions` claim of the user's tokens.
      const { permissions } = await ctx.store.roles.entitlements(user.id, org.id);
      const catalogue = new Map((await ctx.store.roles.listPermissions()).map((p) => [p.name, p]));
      return {
        permissions: permissions.flatMap((name) => {
          const permission = catalogue.get(name);
          return permission ? [userPermissionView(permission)] : [];
        }),
      };
    },
  };
}

/** The roles a membership holds that still exist, in the order they were given. */
async function heldRoles(store: Store, membership: Membership): Promise<Role[]> {
  const roles = new RoleResolver(store);
  const held: Role[] = [];
  for (const name of new Set(membership.roles)) {
    const role = await roles.resolve(membership.organizationId, name);
    if (role) held.push(role);
  }
  return held;
}

function auditDetail(patch: Partial<User>): Record<string, unknown> {
  const detail: Record<string, unknown> = {};
  if (patch.externalId !== undefined) detail['external_id'] = patch.externalId;
  if (patch.metadata !== undefined) detail['metadata'] = patch.metadata;
  if (patch.givenName !== undefined) detail['given_name'] = patch.givenName;
  if (patch.familyName !== undefined) detail['family_name'] = patch.familyName;
  if (patch.name !== undefined) detail['name'] = patch.name;
  return detail;
}
