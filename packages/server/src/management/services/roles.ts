// scalekit.v1.roles.RolesService: the environment's roles, organization roles, the permission
// catalogue and which permissions each role grants. Tokens read roles and permissions when they
// are minted, so every change here shows in a member's next token. Deleting a role takes it off
// every membership that holds it (or gives them `reassign_role_name`), so a role created later
// under the same name grants nothing by accident. Role inheritance (`extends`) is not supported.
import { Code, type HandlerContext, type ServiceImpl } from '@connectrpc/connect';
import type { ServerContext } from '../../context.ts';
import { newId } from '../../lib/ids.ts';
import { AlreadyExistsError, type Store } from '../../storage/store.ts';
import type { Organization, Permission, Role } from '../../storage/types.ts';
import { type AuditRecord, auditedWrite } from '../audited-write.ts';
import { alreadyExists, invalidField, ManagementError, notFound } from '../errors.ts';
import {
  type AddPermissionsToRoleRequest,
  type CreateOrganizationRoleRequest,
  type CreatePermissionRequest,
  type CreateRole,
  type CreateRoleRequest,
  type DeleteOrganizationRoleRequest,
  type DeletePermissionRequest,
  type DeleteRoleRequest,
  type GetOrganizationRoleRequest,
  type GetPermissionRequest,
  type GetRoleRequest,
  type ListOrganizationRolesRequest,
  type ListPermissionsRequest,
  type ListRolePermissionsRequest,
  type ListRolesRequest,
  PermissionType,
  type RemovePermissionFromRoleRequest,
  type RolesService,
  type UpdateOrganizationRoleRequest,
  type UpdatePermissionRequest,
  type UpdateRole,
  type UpdateRoleRequest,
} from '../gen/scalekit/v1/roles/roles_pb.ts';
import { memoryPage, readPageToken } from '../paging.ts';
import {
  checkString,
  pageSize,
  permissionNameRule,
  refuseUnsupported,
  requireMessage,
  requireString,
  roleNameRule,
} from '../validate.ts';
import { permissionView, roleView } from '../views.ts';
import { requireOrganization } from './organizations.ts';

const displayNameRule = { min: 1, max: 100 };
const descriptionRule = { max: 2000 };

/** `include`: "" (no permissions), "permissions" or "permissions:all" (the same: no inheritance). */
function includesPermissions(include: string | undefined): boolean {
  const value = include ?? '';
  if (!['', 'permissions', 'permissions:all'].includes(value)) {
    throw invalidField('include', 'must be "", "permissions" or "permissions:all"');
  }
  return value !== '';
}

async function catalogue(store: Store): Promise<Map<string, Permission>> {
  return new Map((await store.roles.listPermissions()).map((p) => [p.name, p]));
}

/** Checks permission names and that each exists; returns them without repeats. */
async function existingPermissions(store: Store, names: string[], field: string): Promise<string[]> {
  if (names.length > 100) throw invalidField(field, 'must have at most 100 entries');
  const known = await catalogue(store);
  for (const [i, name] of names.entries()) {
    checkString(`${field}[${i}]`, name, permissionNameRule);
    if (!known.has(name)) throw invalidField(`${field}[${i}]`, `permission ${name} does not exist`);
  }
  return [...new Set(names)].sort();
}

function roleName(field: string, value: string): string {
  return requireString(field, value, roleNameRule);
}

/** The fields of a new role, checked. */
async function newRole(
  store: Store,
  input: Pick<CreateRole, 'name' | 'displayName' | 'description' | 'extends' | 'permissions'>,
  organizationId: string | null,
  now: Date,
): Promise<Role> {
  const name = roleName('role.name', input.name);
  const displayName = requireString('role.display_name', input.displayName, displayNameRule);
  const description = checkString('role.description', input.description ?? '', descriptionRule);
  refuseUnsupported('role.extends', input.extends !== undefined && input.extends !== '');
  const permissions = await existingPermissions(store, input.permissions, 'role.permissions');
  return {
    id: newId('role'),
    name,
    displayName,
    description,
    permissions,
    organizationId,
    isDefaultCreator: false,
    isDefaultMember: false,
    createdAt: now,
    updatedAt: now,
  };
}

/** The changes an `UpdateRole` asks for, checked; permissions are replaced when some are given. */
async function rolePatch(store: Store, input: UpdateRole) {
  const patch: Partial<Pick<Role, 'displayName' | 'description' | 'permissions'>> = {};
  if (input.displayName !== undefined) {
    patch.displayName = checkString('role.display_name', input.displayName, displayNameRule);
  }
  if (input.description !== undefined) {
    patch.description = checkString('role.description', input.description, { min: 1, max: 2000 });
  }
  refuseUnsupported('role.extends', input.extends !== undefined && input.extends !== '');
  if (input.permissions.length > 0) {
    patch.permissions = await existingPermissions(store, input.permissions, 'role.permissions');
  }
  return patch;
}

function nameTaken(err: unknown): never {
  if (err instanceof AlreadyExistsError) throw alreadyExists('role.name', 'a role with this name');
  throw err;
}

/** An environment role by name. */
async function requireRole(store: Store, name: string): Promise<Role> {
  const role = await store.roles.getByName(name, null);
  if (!role) throw notFound(`role ${name}`);
  return role;
}

/** An organization's own role by name (an environment role is not the organization's to change). */
async function requireOwnRole(store: Store, org: Organization, name: string): Promise<Role> {
  const role = await store.roles.getByName(name, org.id);
  if (!role || role.organizationId !== org.id) throw notFound(`role ${name} of this organization`);
  return role;
}

/**
 * Takes a deleted role off the memberships that hold it, or gives them `replacement` instead. An
 * environment role is left alone in organizations whose own role of that name shadows it.
 */
async function releaseRole(store: Store, role: Role, replacement: string | null, now: Date): Promise<number> {
  const holders = await store.memberships.listWithRole(role.name, role.organizationId ?? undefined);
  let changed = 0;
  for (const membership of holders) {
    if (role.organizationId === null) {
      const effective = await store.roles.getByName(role.name, membership.organizationId);
      if (effective && effective.id !== role.id) continue;
    }
    const names = membership.roles.filter((name) => name !== role.name);
    if (replacement !== null && !names.includes(replacement)) names.push(replacement);
    await store.memberships.update(membership.organizationId, membership.userId, names, now);
    changed++;
  }
  return changed;
}

function refuseDefaultRole(role: Role): void {
  if (role.isDefaultCreator || role.isDefaultMember) {
    throw new ManagementError(
      Code.FailedPrecondition,
      `role_name: ${role.name} is a default role (given to new organizations or members) and cannot be deleted`,
      { field: 'role_name', description: 'a default role cannot be deleted' },
    );
  }
}

function roleAudit(role: Role, detail: Record<string, unknown>): AuditRecord {
  return { targetType: 'role', targetId: role.id, detail: { name: role.name, ...detail } };
}

export function rolesService(ctx: ServerContext): ServiceImpl<typeof RolesService> {
  const now = () => ctx.config.now();
  const view = async (role: Role, include: boolean) =>
    roleView(role, { permissions: include ? await catalogue(ctx.store) : null });
  const permissionsOf = async (role: Role) => {
    const known = await catalogue(ctx.store);
    return role.permissions.flatMap((name) => {
      const permission = known.get(name);
      return permission ? [permissionView(permission)] : [];
    });
  };

  return {
    async createRole(req: CreateRoleRequest, context: HandlerContext) {
      const input = requireMessage('role', req.role);
      const role = await auditedWrite(ctx, context, async (tx, record) => {
        const created = await newRole(tx.store, input, null, now());
        if (await tx.store.roles.getByName(created.name, null))
          throw alreadyExists('role.name', 'a role with this name');
        await tx.store.roles.insert(created).catch(nameTaken);
        record(roleAudit(created, { display_name: created.displayName, permissions: created.permissions }));
        return created;
      });
      return { role: await view(role, true) };
    },

    async updateRole(req: UpdateRoleRequest, context: HandlerContext) {
      const name = roleName('role_name', req.roleName);
      const input = requireMessage('role', req.role);
      const role = await auditedWrite(ctx, context, async (tx, record) => {
        const current = await requireRole(tx.store, name);
        const patch = await rolePatch(tx.store, input);
        const updated = await tx.store.roles.update(current.id, { ...patch, updatedAt: now() });
        if (!updated) throw notFound(`role ${name}`);
        record(roleAudit(updated, patch));
        return updated;
      });
      return { role: await view(role, true) };
    },

    async getRole(req: GetRoleRequest) {
      const include = includesPermissions(req.include);
      return { role: await view(await requireRole(ctx.store, roleName('role_name', req.roleName)), include) };
    },

    async listRoles(req: ListRolesRequest) {
      const include = includesPermissions(req.include);
      const known = include ? await catalogue(ctx.store) : null;
      return {
        roles: (await ctx.store.roles.list(null)).map((role) => roleView(role, { permissions: known })),
      };
    },

    async deleteRole(req: DeleteRoleRequest, context: HandlerContext) {
      const name = roleName('role_name', req.roleName);
      const reassignName = req.reassignRoleName ? roleName('reassign_role_name', req.reassignRoleName) : null;
      await auditedWrite(ctx, context, async (tx, record) => {
        const role = await requireRole(tx.store, name);
        refuseDefaultRole(role);
        let replacement: string | null = null;
        if (reassignName !== null || req.reassignRoleId) {
          const field = reassignName !== null ? 'reassign_role_name' : 'reassign_role_id';
          const target =
            reassignName !== null
              ? await tx.store.roles.getByName(reassignName, null)
              : ((await tx.store.roles.list(null)).find((r) => r.id === req.reassignRoleId) ?? null);
          if (!target) throw invalidField(field, 'names no role');
          if (target.id === role.id) throw invalidField(field, 'must be another role');
          replacement = target.name;
        }
        const members = await releaseRole(tx.store, role, replacement, now());
        await tx.store.roles.delete(role.id);
        record(roleAudit(role, { reassigned_to: replacement, memberships_changed: members }));
      });
      return {};
    },

    async createOrganizationRole(req: CreateOrganizationRoleRequest, context: HandlerContext) {
      const input = requireMessage('role', req.role);
      const role = await auditedWrite(ctx, context, async (tx, record) => {
        const org = await requireOrganization(tx.store, 'org_id', req.orgId);
        const created = await newRole(tx.store, input, org.id, now());
        const existing = await tx.store.roles.getByName(created.name, org.id);
        if (existing?.organizationId === org.id) throw alreadyExists('role.name', 'a role with this name');
        await tx.store.roles.insert(created).catch(nameTaken);
        record(roleAudit(created, { organization_id: org.id, display_name: created.displayName }));
        return created;
      });
      return { role: await view(role, true) };
    },

    async updateOrganizationRole(req: UpdateOrganizationRoleRequest, context: HandlerContext) {
      const name = roleName('role_name', req.roleName);
      const input = requireMessage('role', req.role);
      const role = await auditedWrite(ctx, context, async (tx, record) => {
        const org = await requireOrganization(tx.store, 'org_id', req.orgId);
        const current = await requireOwnRole(tx.store, org, name);
        const patch = await rolePatch(tx.store, input);
        const updated = await tx.store.roles.update(current.id, { ...patch, updatedAt: now() });
        if (!updated) throw notFound(`role ${name}`);
        record(roleAudit(updated, { organization_id: org.id, ...patch }));
        return updated;
      });
      return { role: await view(role, true) };
    },

    async getOrganizationRole(req: GetOrganizationRoleRequest) {
      const include = includesPermissions(req.include);
      const name = roleName('role_name', req.roleName);
      const org = await requireOrganization(ctx.store, 'org_id', req.orgId);
      const role = await ctx.store.roles.getByName(name, org.id);
      if (!role) throw notFound(`role ${name}`);
      return { role: await view(role, include) };
    },

    async listOrganizationRoles(req: ListOrganizationRolesRequest) {
      const include = includesPermissions(req.include);
      const org = await requireOrganization(ctx.store, 'org_id', req.orgId);
      const all = await ctx.store.roles.list(org.id);
      // The organization's own role hides the environment role of the same name.
      const own = new Set(all.filter((r) => r.organizationId !== null).map((r) => r.name));
      const usable = all.filter((r) => r.organizationId !== null || !own.has(r.name));
      const known = include ? await catalogue(ctx.store) : null;
      return { roles: usable.map((role) => roleView(role, { permissions: known })) };
    },

    async deleteOrganizationRole(req: DeleteOrganizationRoleRequest, context: HandlerContext) {
      const name = roleName('role_name', req.roleName);
      const reassignName = req.reassignRoleName ? roleName('reassign_role_name', req.reassignRoleName) : null;
      await auditedWrite(ctx, context, async (tx, record) => {
        const org = await requireOrganization(tx.store, 'org_id', req.orgId);
        const role = await requireOwnRole(tx.store, org, name);
        let replacement: string | null = null;
        if (reassignName !== null) {
          if (reassignName === name) throw invalidField('reassign_role_name', 'must be another role');
          const target = await tx.store.roles.getByName(reassignName, org.id);
          if (!target) throw invalidField('reassign_role_name', 'names no role');
          replacement = target.name;
        }
        const members = await releaseRole(tx.store, role, replacement, now());
        await tx.store.roles.delete(role.id);
        record(
          roleAudit(role, {
            organization_id: org.id,
            reassigned_to: replacement,
            memberships_changed: members,
          }),
        );
      });
      return {};
    },

    async createPermission(req: CreatePermissionRequest, context: HandlerContext) {
      const input = requireMessage('permission', req.permission);
      const name = requireString('permission.name', input.name, permissionNameRule);
      const description = checkString('permission.description', input.description, descriptionRule);
      const permission = await auditedWrite(ctx, context, async (tx, record) => {
        const created: Permission = {
          id: newId('perm'),
          name,
          description,
          createdAt: now(),
          updatedAt: now(),
        };
        if (await tx.store.roles.getPermission(name))
          throw alreadyExists('permission.name', 'a permission with this name');
        await tx.store.roles.insertPermission(created).catch((err) => {
          if (err instanceof AlreadyExistsError)
            throw alreadyExists('permission.name', 'a permission with this name');
          throw err;
        });
        record({ targetType: 'permission', targetId: created.id, detail: { name, description } });
        return created;
      });
      return { permission: permissionView(permission) };
    },

    async getPermission(req: GetPermissionRequest) {
      const name = requireString('permission_name', req.permissionName, permissionNameRule);
      const permission = await ctx.store.roles.getPermission(name);
      if (!permission) throw notFound(`permission ${name}`);
      return { permission: permissionView(permission) };
    },

    async updatePermission(req: UpdatePermissionRequest, context: HandlerContext) {
      const name = requireString('permission_name', req.permissionName, permissionNameRule);
      const input = requireMessage('permission', req.permission);
      if (input.name !== '' && input.name !== name) {
        throw invalidField('permission.name', 'a permission cannot be renamed');
      }
      const description = checkString('permission.description', input.description, descriptionRule);
      const permission = await auditedWrite(ctx, context, async (tx, record) => {
        const updated = await tx.store.roles.updatePermission(name, { description, updatedAt: now() });
        if (!updated) throw notFound(`permission ${name}`);
        record({ targetType: 'permission', targetId: updated.id, detail: { name, description } });
        return updated;
      });
      return { permission: permissionView(permission) };
    },

    async listPermissions(req: ListPermissionsRequest) {
      const size = pageSize('page_size', req.pageSize, { min: 1 });
      const position = readPageToken('page_token', req.pageToken ?? '', `permissions/${req.type}`);
      // Sesame has no built-in permissions of its own: SCALEKIT lists none.
      const all = req.type === PermissionType.SCALEKIT ? [] : await ctx.store.roles.listPermissions();
      const page = memoryPage(position, all, (p) => p.name, size);
      return { ...page.tokens, permissions: page.items.map(permissionView) };
    },

    async deletePermission(req: DeletePermissionRequest, context: HandlerContext) {
      const name = requireString('permission_name', req.permissionName, permissionNameRule);
      await auditedWrite(ctx, context, async (tx, record) => {
        const permission = await tx.store.roles.getPermission(name);
        if (!permission || !(await tx.store.roles.deletePermission(name)))
          throw notFound(`permission ${name}`);
        record({ targetType: 'permission', targetId: permission.id, detail: { name } });
      });
      return {};
    },

    async listRolePermissions(req: ListRolePermissionsRequest) {
      const role = await requireRole(ctx.store, roleName('role_name', req.roleName));
      return { permissions: await permissionsOf(role) };
    },

    async addPermissionsToRole(req: AddPermissionsToRoleRequest, context: HandlerContext) {
      const name = roleName('role_name', req.roleName);
      if (req.permissionNames.length === 0) throw invalidField('permission_names', 'is required');
      const role = await auditedWrite(ctx, context, async (tx, record) => {
        const current = await requireRole(tx.store, name);
        const names = await existingPermissions(tx.store, req.permissionNames, 'permission_names');
        const added = names.filter((n) => !current.permissions.includes(n));
        if (added.length === 0) return current;
        const updated = await tx.store.roles.update(current.id, {
          permissions: [...current.permissions, ...added],
          updatedAt: now(),
        });
        if (!updated) throw notFound(`role ${name}`);
        record(roleAudit(updated, { added_permissions: added }));
        return updated;
      });
      return { permissions: await permissionsOf(role) };
    },

    async removePermissionFromRole(req: RemovePermissionFromRoleRequest, context: HandlerContext) {
      const name = roleName('role_name', req.roleName);
      const permission = requireString('permission_name', req.permissionName, permissionNameRule);
      await auditedWrite(ctx, context, async (tx, record) => {
        const current = await requireRole(tx.store, name);
        if (!current.permissions.includes(permission))
          throw notFound(`permission ${permission} of role ${name}`);
        await tx.store.roles.update(current.id, {
          permissions: current.permissions.filter((p) => p !== permission),
          updatedAt: now(),
        });
        record(roleAudit(current, { removed_permission: permission }));
      });
      return {};
    },
  };
}
