import type { Insertable, Selectable, Updateable } from 'kysely';
import type {
  AuditEvent,
  AuthorizationCode,
  AuthorizationRequest,
  Client,
  ClientSecret,
  ClientType,
  Grant,
  Interaction,
  LogoutDelivery,
  LogoutDeliveryStatus,
  Membership,
  Organization,
  Permission,
  RefreshToken,
  Role,
  Session,
  SessionEndReason,
  SigningAlg,
  SigningKey,
  User,
} from '../types.ts';
import type {
  AuditEventsTable,
  AuthorizationCodesTable,
  ClientSecretsTable,
  ClientsTable,
  GrantsTable,
  InteractionsTable,
  LogoutDeliveriesTable,
  MembershipsTable,
  OrganizationsTable,
  PermissionsTable,
  RefreshTokensTable,
  RolesTable,
  SessionsTable,
  SigningKeysTable,
  UsersTable,
} from './schema.ts';

// Each `xToRow` has two signatures: a whole domain object gives a whole row (insert), a partial one
// gives only the columns it names (update), so patches and inserts share one mapping.

/** Reads a millisecond column, whichever way the driver returns a `bigint` (number, string, bigint). */
export function toMillis(value: number | string | bigint): number {
  const ms = Number(value);
  if (!Number.isSafeInteger(ms)) throw new TypeError(`not a millisecond timestamp: ${String(value)}`);
  return ms;
}

function date(value: number | string | bigint): Date {
  return new Date(toMillis(value));
}

function dateOrNull(value: number | string | bigint | null): Date | null {
  return value === null ? null : date(value);
}

function millis(value: Date): number {
  return value.getTime();
}

function millisOrNull(value: Date | null): number | null {
  return value === null ? null : value.getTime();
}

function flag(value: boolean): number {
  return value ? 1 : 0;
}

function json(value: unknown): string {
  return JSON.stringify(value);
}

function parse<T>(text: string): T {
  return JSON.parse(text) as T;
}

/** Encodes a field a patch may leave out; `undefined` stays `undefined` so the column is untouched. */
function opt<T, R>(value: T | undefined, encode: (value: T) => R): R | undefined {
  return value === undefined ? undefined : encode(value);
}

/** Drops the columns a patch left out, so callers can tell an empty patch. */
export function definedColumns<T extends object>(row: T): Partial<T> {
  return Object.fromEntries(Object.entries(row).filter(([, value]) => value !== undefined)) as Partial<T>;
}

/** `Client` -> `clients` row. */
export function clientToRow(client: Client): Insertable<ClientsTable>;
export function clientToRow(patch: Partial<Client>): Updateable<ClientsTable>;
export function clientToRow(c: Partial<Client>): Updateable<ClientsTable> {
  return {
    id: c.id,
    type: c.type,
    name: c.name,
    redirect_uris: opt(c.redirectUris, json),
    post_logout_redirect_uris: opt(c.postLogoutRedirectUris, json),
    backchannel_logout_uri: c.backchannelLogoutUri,
    initiate_login_uri: c.initiateLoginUri,
    access_token_ttl: c.accessTokenTtl,
    allowed_scopes: opt(c.allowedScopes, json),
    allow_management_api: opt(c.allowManagementApi, flag),
    organization_id: c.organizationId,
    created_at: opt(c.createdAt, millis),
    updated_at: opt(c.updatedAt, millis),
  };
}

/** `clients` row -> `Client`. */
export function clientFromRow(r: Selectable<ClientsTable>): Client {
  return {
    id: r.id,
    type: r.type as ClientType,
    name: r.name,
    redirectUris: parse(r.redirect_uris),
    postLogoutRedirectUris: parse(r.post_logout_redirect_uris),
    backchannelLogoutUri: r.backchannel_logout_uri,
    initiateLoginUri: r.initiate_login_uri,
    accessTokenTtl: r.access_token_ttl,
    allowedScopes: parse(r.allowed_scopes),
    allowManagementApi: r.allow_management_api === 1,
    organizationId: r.organization_id,
    createdAt: date(r.created_at),
    updatedAt: date(r.updated_at),
  };
}

/** `ClientSecret` -> `client_secrets` row. */
export function clientSecretToRow(s: ClientSecret): Insertable<ClientSecretsTable> {
  return {
    id: s.id,
    client_id: s.clientId,
    secret_hash: s.secretHash,
    hint: s.hint,
    created_at: millis(s.createdAt),
    expires_at: millisOrNull(s.expiresAt),
  };
}

/** `client_secrets` row -> `ClientSecret`. */
export function clientSecretFromRow(r: Selectable<ClientSecretsTable>): ClientSecret {
  return {
    id: r.id,
    clientId: r.client_id,
    secretHash: r.secret_hash,
    hint: r.hint,
    createdAt: date(r.created_at),
    expiresAt: dateOrNull(r.expires_at),
  };
}

/** `User` -> `users` row. */
export function userToRow(user: User): Insertable<UsersTable>;
export function userToRow(patch: Partial<User>): Updateable<UsersTable>;
export function userToRow(u: Partial<User>): Updateable<UsersTable> {
  return {
    id: u.id,
    email: u.email,
    email_verified: opt(u.emailVerified, flag),
    name: u.name,
    given_name: u.givenName,
    family_name: u.familyName,
    password_hash: u.passwordHash,
    external_id: u.externalId,
    disabled: opt(u.disabled, flag),
    metadata: opt(u.metadata, json),
    created_at: opt(u.createdAt, millis),
    updated_at: opt(u.updatedAt, millis),
  };
}

/** `users` row -> `User`. */
export function userFromRow(r: Selectable<UsersTable>): User {
  return {
    id: r.id,
    email: r.email,
    emailVerified: r.email_verified === 1,
    name: r.name,
    givenName: r.given_name,
    familyName: r.family_name,
    passwordHash: r.password_hash,
    externalId: r.external_id,
    disabled: r.disabled === 1,
    metadata: parse(r.metadata),
    createdAt: date(r.created_at),
    updatedAt: date(r.updated_at),
  };
}

/** `Organization` -> `organizations` row. */
export function organizationToRow(org: Organization): Insertable<OrganizationsTable>;
export function organizationToRow(patch: Partial<Organization>): Updateable<OrganizationsTable>;
export function organizationToRow(o: Partial<Organization>): Updateable<OrganizationsTable> {
  return {
    id: o.id,
    name: o.name,
    external_id: o.externalId,
    metadata: opt(o.metadata, json),
    created_at: opt(o.createdAt, millis),
    updated_at: opt(o.updatedAt, millis),
  };
}

/** `organizations` row -> `Organization`. */
export function organizationFromRow(r: Selectable<OrganizationsTable>): Organization {
  return {
    id: r.id,
    name: r.name,
    externalId: r.external_id,
    metadata: parse(r.metadata),
    createdAt: date(r.created_at),
    updatedAt: date(r.updated_at),
  };
}

/** `Membership` -> `memberships` row. */
export function membershipToRow(m: Membership): Insertable<MembershipsTable> {
  return {
    organization_id: m.organizationId,
    user_id: m.userId,
    roles: json(m.roles),
    created_at: millis(m.createdAt),
    updated_at: millis(m.updatedAt),
  };
}

/** `memberships` row -> `Membership`. */
export function membershipFromRow(r: Selectable<MembershipsTable>): Membership {
  return {
    organizationId: r.organization_id,
    userId: r.user_id,
    roles: parse(r.roles),
    createdAt: date(r.created_at),
    updatedAt: date(r.updated_at),
  };
}

/** `Role` -> `roles` row; its permissions live in `role_permissions`. */
export function roleToRow(role: Role): Insertable<RolesTable>;
export function roleToRow(patch: Partial<Role>): Updateable<RolesTable>;
export function roleToRow(r: Partial<Role>): Updateable<RolesTable> {
  return {
    id: r.id,
    organization_id: r.organizationId,
    name: r.name,
    display_name: r.displayName,
    description: r.description,
    is_default_creator: opt(r.isDefaultCreator, flag),
    is_default_member: opt(r.isDefaultMember, flag),
    created_at: opt(r.createdAt, millis),
    updated_at: opt(r.updatedAt, millis),
  };
}

/** `roles` row and its permission names -> `Role`. */
export function roleFromRow(r: Selectable<RolesTable>, permissions: string[]): Role {
  return {
    id: r.id,
    name: r.name,
    displayName: r.display_name,
    description: r.description,
    permissions,
    organizationId: r.organization_id,
    isDefaultCreator: r.is_default_creator === 1,
    isDefaultMember: r.is_default_member === 1,
    createdAt: date(r.created_at),
    updatedAt: date(r.updated_at),
  };
}

/** `Permission` -> `permissions` row. */
export function permissionToRow(p: Permission): Insertable<PermissionsTable> {
  return {
    id: p.id,
    name: p.name,
    description: p.description,
    created_at: millis(p.createdAt),
    updated_at: millis(p.updatedAt),
  };
}

/** `permissions` row -> `Permission`. */
export function permissionFromRow(r: Selectable<PermissionsTable>): Permission {
  return {
    id: r.id,
    name: r.name,
    description: r.description,
    createdAt: date(r.created_at),
    updatedAt: date(r.updated_at),
  };
}

/** `Session` -> `sessions` row; its client ids live in `session_clients`. */
export function sessionToRow(s: Session): Insertable<SessionsTable> {
  return {
    id: s.id,
    token_hash: s.tokenHash,
    user_id: s.userId,
    organization_id: s.organizationId,
    auth_time: millis(s.authTime),
    amr: json(s.amr),
    user_agent: s.userAgent,
    ip_address: s.ipAddress,
    created_at: millis(s.createdAt),
    last_active_at: millis(s.lastActiveAt),
    idle_expires_at: millis(s.idleExpiresAt),
    absolute_expires_at: millis(s.absoluteExpiresAt),
    ended_at: millisOrNull(s.endedAt),
    end_reason: s.endReason,
  };
}

/** `sessions` row and its client ids -> `Session`. */
export function sessionFromRow(r: Selectable<SessionsTable>, clientIds: string[]): Session {
  return {
    id: r.id,
    tokenHash: r.token_hash,
    userId: r.user_id,
    organizationId: r.organization_id,
    authTime: date(r.auth_time),
    amr: parse(r.amr),
    userAgent: r.user_agent,
    ipAddress: r.ip_address,
    createdAt: date(r.created_at),
    lastActiveAt: date(r.last_active_at),
    idleExpiresAt: date(r.idle_expires_at),
    absoluteExpiresAt: date(r.absolute_expires_at),
    endedAt: dateOrNull(r.ended_at),
    endReason: r.end_reason as SessionEndReason | null,
    clientIds,
  };
}

/** `Interaction` -> `interactions` row. */
export function interactionToRow(i: Interaction): Insertable<InteractionsTable> {
  return {
    id: i.id,
    request: json(i.request),
    user_id: i.userId,
    session_id: i.sessionId,
    created_at: millis(i.createdAt),
    expires_at: millis(i.expiresAt),
    completed_at: millisOrNull(i.completedAt),
  };
}

/** `interactions` row -> `Interaction`. */
export function interactionFromRow(r: Selectable<InteractionsTable>): Interaction {
  return {
    id: r.id,
    request: parse<AuthorizationRequest>(r.request),
    userId: r.user_id,
    sessionId: r.session_id,
    createdAt: date(r.created_at),
    expiresAt: date(r.expires_at),
    completedAt: dateOrNull(r.completed_at),
  };
}

/** `Grant` -> `grants` row. */
export function grantToRow(g: Grant): Insertable<GrantsTable> {
  return {
    id: g.id,
    client_id: g.clientId,
    user_id: g.userId,
    session_id: g.sessionId,
    created_at: millis(g.createdAt),
    expires_at: millis(g.expiresAt),
    revoked_at: millisOrNull(g.revokedAt),
  };
}

/** `grants` row -> `Grant`. */
export function grantFromRow(r: Selectable<GrantsTable>): Grant {
  return {
    id: r.id,
    clientId: r.client_id,
    userId: r.user_id,
    sessionId: r.session_id,
    createdAt: date(r.created_at),
    expiresAt: date(r.expires_at),
    revokedAt: dateOrNull(r.revoked_at),
  };
}

/** `AuthorizationCode` -> `authorization_codes` row. */
export function authorizationCodeToRow(c: AuthorizationCode): Insertable<AuthorizationCodesTable> {
  return {
    code_hash: c.codeHash,
    grant_id: c.grantId,
    client_id: c.clientId,
    redirect_uri: c.redirectUri,
    scope: json(c.scope),
    nonce: c.nonce,
    code_challenge: c.codeChallenge,
    code_challenge_method: c.codeChallengeMethod,
    user_id: c.userId,
    organization_id: c.organizationId,
    session_id: c.sessionId,
    auth_time: millis(c.authTime),
    amr: json(c.amr),
    created_at: millis(c.createdAt),
    expires_at: millis(c.expiresAt),
    consumed_at: millisOrNull(c.consumedAt),
  };
}

/** `authorization_codes` row -> `AuthorizationCode`. */
export function authorizationCodeFromRow(r: Selectable<AuthorizationCodesTable>): AuthorizationCode {
  return {
    codeHash: r.code_hash,
    grantId: r.grant_id,
    clientId: r.client_id,
    redirectUri: r.redirect_uri,
    scope: parse(r.scope),
    nonce: r.nonce,
    codeChallenge: r.code_challenge,
    codeChallengeMethod: r.code_challenge_method as 'S256' | null,
    userId: r.user_id,
    organizationId: r.organization_id,
    sessionId: r.session_id,
    authTime: date(r.auth_time),
    amr: parse(r.amr),
    createdAt: date(r.created_at),
    expiresAt: date(r.expires_at),
    consumedAt: dateOrNull(r.consumed_at),
  };
}

/** `RefreshToken` -> `refresh_tokens` row. */
export function refreshTokenToRow(t: RefreshToken): Insertable<RefreshTokensTable> {
  return {
    id: t.id,
    token_hash: t.tokenHash,
    grant_id: t.grantId,
    client_id: t.clientId,
    user_id: t.userId,
    organization_id: t.organizationId,
    session_id: t.sessionId,
    scope: json(t.scope),
    auth_time: millis(t.authTime),
    amr: json(t.amr),
    created_at: millis(t.createdAt),
    expires_at: millis(t.expiresAt),
    rotated_at: millisOrNull(t.rotatedAt),
    successor_sealed: t.successorSealed,
    revoked_at: millisOrNull(t.revokedAt),
  };
}

/** `refresh_tokens` row -> `RefreshToken`. */
export function refreshTokenFromRow(r: Selectable<RefreshTokensTable>): RefreshToken {
  return {
    id: r.id,
    tokenHash: r.token_hash,
    grantId: r.grant_id,
    clientId: r.client_id,
    userId: r.user_id,
    organizationId: r.organization_id,
    sessionId: r.session_id,
    scope: parse(r.scope),
    authTime: date(r.auth_time),
    amr: parse(r.amr),
    createdAt: date(r.created_at),
    expiresAt: date(r.expires_at),
    rotatedAt: dateOrNull(r.rotated_at),
    successorSealed: r.successor_sealed,
    revokedAt: dateOrNull(r.revoked_at),
  };
}

/** `SigningKey` -> `signing_keys` row. */
export function signingKeyToRow(key: SigningKey): Insertable<SigningKeysTable>;
export function signingKeyToRow(patch: Partial<SigningKey>): Updateable<SigningKeysTable>;
export function signingKeyToRow(k: Partial<SigningKey>): Updateable<SigningKeysTable> {
  return {
    id: k.id,
    alg: k.alg,
    public_jwk: opt(k.publicJwk, json),
    private_jwk_encrypted: k.privateJwkEncrypted,
    created_at: opt(k.createdAt, millis),
    activates_at: opt(k.activatesAt, millis),
    retires_at: opt(k.retiresAt, millisOrNull),
    expires_at: opt(k.expiresAt, millisOrNull),
  };
}

/** `signing_keys` row -> `SigningKey`. */
export function signingKeyFromRow(r: Selectable<SigningKeysTable>): SigningKey {
  return {
    id: r.id,
    alg: r.alg as SigningAlg,
    publicJwk: parse(r.public_jwk),
    privateJwkEncrypted: r.private_jwk_encrypted,
    createdAt: date(r.created_at),
    activatesAt: date(r.activates_at),
    retiresAt: dateOrNull(r.retires_at),
    expiresAt: dateOrNull(r.expires_at),
  };
}

/** `AuditEvent` -> `audit_events` row. */
export function auditEventToRow(e: AuditEvent): Insertable<AuditEventsTable> {
  return {
    id: e.id,
    actor: e.actor,
    action: e.action,
    target_type: e.targetType,
    target_id: e.targetId,
    detail: json(e.detail),
    created_at: millis(e.createdAt),
  };
}

/** `audit_events` row -> `AuditEvent`. */
export function auditEventFromRow(r: Selectable<AuditEventsTable>): AuditEvent {
  return {
    id: r.id,
    actor: r.actor,
    action: r.action,
    targetType: r.target_type,
    targetId: r.target_id,
    detail: parse(r.detail),
    createdAt: date(r.created_at),
  };
}

/** `LogoutDelivery` -> `logout_deliveries` row. */
export function logoutDeliveryToRow(d: LogoutDelivery): Insertable<LogoutDeliveriesTable> {
  return {
    id: d.id,
    session_id: d.sessionId,
    user_id: d.userId,
    client_id: d.clientId,
    uri: d.uri,
    status: d.status,
    attempts: d.attempts,
    next_attempt_at: millis(d.nextAttemptAt),
    locked_until: d.lockedUntil ? millis(d.lockedUntil) : null,
    last_error: d.lastError,
    last_status_code: d.lastStatusCode,
    created_at: millis(d.createdAt),
    give_up_at: millis(d.giveUpAt),
    delivered_at: d.deliveredAt ? millis(d.deliveredAt) : null,
  };
}

/** `logout_deliveries` row -> `LogoutDelivery`. */
export function logoutDeliveryFromRow(r: Selectable<LogoutDeliveriesTable>): LogoutDelivery {
  return {
    id: r.id,
    sessionId: r.session_id,
    userId: r.user_id,
    clientId: r.client_id,
    uri: r.uri,
    status: r.status as LogoutDeliveryStatus,
    attempts: Number(r.attempts),
    nextAttemptAt: date(r.next_attempt_at),
    lockedUntil: dateOrNull(r.locked_until),
    lastError: r.last_error,
    lastStatusCode: r.last_status_code === null ? null : Number(r.last_status_code),
    createdAt: date(r.created_at),
    giveUpAt: date(r.give_up_at),
    deliveredAt: dateOrNull(r.delivered_at),
  };
}
