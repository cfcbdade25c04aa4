// Domain objects as management API messages (one function per message). Users carry their
// memberships with resolved roles and effective permissions; a `RoleResolver` reads each
// organization's roles once per request.
import type { MessageInitShape } from '@bufbuild/protobuf';
import { timestampFromDate } from '@bufbuild/protobuf/wkt';
import { sessionExpiry } from '../protocol/sessions.ts';
import type { Store } from '../storage/store.ts';
import type { Membership, Organization, Permission, Role, Session, User } from '../storage/types.ts';
import { MembershipStatus, type RoleSchema as RoleRefSchema } from './gen/scalekit/v1/commons/commons_pb.ts';
import type { OrganizationSchema } from './gen/scalekit/v1/organizations/organizations_pb.ts';
import type {
  RolePermissionSchema,
  RoleSchema,
  PermissionSchema as RolesPermissionSchema,
} from './gen/scalekit/v1/roles/roles_pb.ts';
import type {
  RevokedSessionDetailsSchema,
  SessionDetailsSchema,
} from './gen/scalekit/v1/sessions/sessions_pb.ts';
import type {
  PermissionSchema as UserPermissionSchema,
  UserSchema,
} from './gen/scalekit/v1/users/users_pb.ts';

const ts = timestampFromDate;

export function organizationView(org: Organization): MessageInitShape<typeof OrganizationSchema> {
  return {
    id: org.id,
    createTime: ts(org.createdAt),
    updateTime: ts(org.updatedAt),
    displayName: org.name,
    metadata: org.metadata,
    ...(org.externalId === null ? {} : { externalId: org.externalId }),
  };
}

/**
 * The roles usable in each organization (its own and the environment's), read once per request.
 * An organization's own role shadows the environment role of the same name, as in tokens.
 */
export class RoleResolver {
  readonly #store: Store;
  readonly #byOrganization = new Map<string, Promise<Map<string, Role>>>();

  constructor(store: Store) {
    this.#store = store;
  }

  /** The role a name means in an organization, or `null`. */
  async resolve(organizationId: string, name: string): Promise<Role | null> {
    return (await this.#roles(organizationId)).get(name) ?? null;
  }

  /** The role with this id usable in an organization, or `null`. */
  async resolveId(organizationId: string, id: string): Promise<Role | null> {
    for (const role of (await this.#roles(organizationId)).values()) if (role.id === id) return role;
    return null;
  }

  #roles(organizationId: string): Promise<Map<string, Role>> {
    let roles = this.#byOrganization.get(organizationId);
    if (!roles) {
      roles = this.#store.roles.list(organizationId).then((list) => {
        const byName = new Map<string, Role>();
        for (const role of list) {
          if (!byName.has(role.name) || role.organizationId !== null) byName.set(role.name, role);
        }
        return byName;
      });
      this.#byOrganization.set(organizationId, roles);
    }
    return roles;
  }
}

export function roleRefView(role: Role): MessageInitShape<typeof RoleRefSchema> {
  return { id: role.id, name: role.name, displayName: role.displayName };
}

/** A user with their memberships, as `scalekit.v1.users.User`. */
export async function userView(
  store: Store,
  user: User,
  roles: RoleResolver,
): Promise<MessageInitShape<typeof UserSchema>> {
  const memberships = await store.memberships.listForUser(user.id);
  const views = [];
  for (const membership of memberships) {
    const org = await store.organizations.get(membership.organizationId);
    views.push(await membershipView(membership, org, roles));
  }
  return {
    id: user.id,
    environmentId: '',
    createTime: ts(user.createdAt),
    updateTime: ts(user.updatedAt),
    email: user.email,
    ...(user.externalId === null ? {} : { externalId: user.externalId }),
    memberships: views,
    userProfile: {
      id: user.id,
      givenName: user.givenName ?? '',
      familyName: user.familyName ?? '',
      firstName: user.givenName ?? '',
      lastName: user.familyName ?? '',
      name: user.name ?? [user.givenName, user.familyName].filter(Boolean).join(' '),
      emailVerified: user.emailVerified,
    },
    metadata: user.metadata,
  };
}

async function membershipView(membership: Membership, org: Organization | null, roles: RoleResolver) {
  const resolved: Role[] = [];
  for (const name of new Set(membership.roles)) {
    const role = await roles.resolve(membership.organizationId, name);
    if (role) resolved.push(role);
  }
  const permissions = new Set(resolved.flatMap((role) => role.permissions));
  return {
    organizationId: membership.organizationId,
    joinTime: ts(membership.createdAt),
    createdAt: ts(membership.createdAt),
    membershipStatus: MembershipStatus.ACTIVE,
    roles: resolved.map(roleRefView),
    ...(org ? { name: org.name, displayName: org.name } : {}),
    metadata: {},
    permissions: [...permissions].sort(),
  };
}

/** A role as `scalekit.v1.roles.Role`; its permissions only when asked (`include`). */
export function roleView(
  role: Role,
  options: { permissions: Map<string, Permission> | null },
): MessageInitShape<typeof RoleSchema> {
  const { permissions } = options;
  return {
    id: role.id,
    name: role.name,
    displayName: role.displayName,
    description: role.description,
    defaultCreator: role.isDefaultCreator,
    defaultMember: role.isDefaultMember,
    isOrgRole: role.organizationId !== null,
    dependentRolesCount: 0,
    permissions: permissions
      ? role.permissions.flatMap((name) => {
          const permission = permissions.get(name);
          return permission ? [rolePermissionView(permission, role.name)] : [];
        })
      : [],
  };
}

function rolePermissionView(
  permission: Permission,
  roleName: string,
): MessageInitShape<typeof RolePermissionSchema> {
  return {
    id: permission.id,
    name: permission.name,
    description: permission.description,
    createTime: ts(permission.createdAt),
    updateTime: ts(permission.updatedAt),
    roleName,
  };
}

export function permissionView(permission: Permission): MessageInitShape<typeof RolesPermissionSchema> {
  return {
    id: permission.id,
    name: permission.name,
    description: permission.description,
    createTime: ts(permission.createdAt),
    updateTime: ts(permission.updatedAt),
    isScalekitPermission: false,
  };
}

export function userPermissionView(permission: Permission): MessageInitShape<typeof UserPermissionSchema> {
  return { id: permission.id, name: permission.name, description: permission.description, tags: [] };
}

/** The documented session states: "active", "expired", "revoked", "logout". */
export function sessionStatus(session: Session, now: Date): 'active' | 'expired' | 'revoked' | 'logout' {
  const over = sessionExpiry(session, now);
  switch (over) {
    case null:
      return 'active';
    case 'idle_timeout':
    case 'absolute_timeout':
      return 'expired';
    case 'logout':
    case 'replaced':
      return 'logout';
    default:
      return 'revoked';
  }
}

/** When an expired session expired (its end, or the timeout it is past but not yet swept). */
function expiredAt(session: Session, now: Date): Date | null {
  if (session.endedAt) {
    return session.endReason === 'idle_timeout' || session.endReason === 'absolute_timeout'
      ? session.endedAt
      : null;
  }
  if (sessionStatus(session, now) !== 'expired') return null;
  return new Date(Math.min(session.idleExpiresAt.getTime(), session.absoluteExpiresAt.getTime()));
}

function sessionTimes(session: Session, now: Date) {
  const status = sessionStatus(session, now);
  const expired = expiredAt(session, now);
  return {
    sessionId: session.id,
    userId: session.userId,
    createdAt: ts(session.createdAt),
    updatedAt: ts(session.lastActiveAt),
    idleExpiresAt: ts(session.idleExpiresAt),
    absoluteExpiresAt: ts(session.absoluteExpiresAt),
    lastActiveAt: ts(session.lastActiveAt),
    status,
    ...(expired ? { expiredAt: ts(expired) } : {}),
    ...(session.endedAt && (status === 'logout' || status === 'revoked')
      ? { logoutAt: ts(session.endedAt) }
      : {}),
  };
}

export function sessionView(session: Session, now: Date): MessageInitShape<typeof SessionDetailsSchema> {
  return {
    ...sessionTimes(session, now),
    organizationId: session.organizationId ?? '',
    authenticatedOrganizations: session.organizationId ? [session.organizationId] : [],
    device: { userAgent: session.userAgent ?? '', ip: session.ipAddress ?? '' },
    authenticatedClients: session.clientIds.map((clientId) => ({
      clientId,
      organizationId: session.organizationId ?? '',
    })),
  };
}

export function revokedSessionView(
  session: Session,
  now: Date,
): MessageInitShape<typeof RevokedSessionDetailsSchema> {
  return sessionTimes(session, now);
}
