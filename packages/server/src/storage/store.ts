import type {
  AuditEvent,
  AuthorizationCode,
  Client,
  ClientSecret,
  Grant,
  Interaction,
  LogoutDelivery,
  LogoutDeliveryStatus,
  Membership,
  Organization,
  Page,
  Permission,
  RefreshToken,
  Role,
  Session,
  SessionEndReason,
  SigningKey,
  User,
} from './types.ts';

/** Cursor-based listing input; `cursor` is the opaque `nextCursor` of the previous page. */
export interface PageRequest {
  limit: number;
  cursor?: string | null;
}

export interface ClientStore {
  insert(client: Client): Promise<void>;
  get(id: string): Promise<Client | null>;
  list(): Promise<Client[]>;
  update(id: string, patch: Partial<Omit<Client, 'id' | 'type' | 'createdAt'>>): Promise<Client | null>;
  delete(id: string): Promise<boolean>;
  insertSecret(secret: ClientSecret): Promise<void>;
  /** Secrets not expired at `now`, newest first. */
  activeSecrets(clientId: string, now: Date): Promise<ClientSecret[]>;
  /** The client and its secrets not expired at `now` (newest first), in one read: client authentication. */
  getWithActiveSecrets(id: string, now: Date): Promise<{ client: Client; secrets: ClientSecret[] } | null>;
  deleteSecret(clientId: string, secretId: string): Promise<boolean>;
  /** Shortens a secret's life (rotation keeps the old one for a while). */
  expireSecret(clientId: string, secretId: string, expiresAt: Date): Promise<boolean>;
}

export interface UserStore {
  /** Throws `AlreadyExistsError` when the email (or external id) is taken. */
  insert(user: User): Promise<void>;
  get(id: string): Promise<User | null>;
  getByEmail(email: string): Promise<User | null>;
  getByExternalId(externalId: string): Promise<User | null>;
  list(page: PageRequest, filter?: { query?: string; organizationId?: string }): Promise<Page<User>>;
  update(id: string, patch: Partial<Omit<User, 'id' | 'createdAt'>>): Promise<User | null>;
  delete(id: string): Promise<boolean>;
}

export interface OrganizationStore {
  insert(org: Organization): Promise<void>;
  get(id: string): Promise<Organization | null>;
  getByExternalId(externalId: string): Promise<Organization | null>;
  list(page: PageRequest, filter?: { query?: string }): Promise<Page<Organization>>;
  update(id: string, patch: Partial<Omit<Organization, 'id' | 'createdAt'>>): Promise<Organization | null>;
  delete(id: string): Promise<boolean>;
}

export interface MembershipStore {
  /** Throws `AlreadyExistsError` when the user is already a member. */
  insert(membership: Membership): Promise<void>;
  get(organizationId: string, userId: string): Promise<Membership | null>;
  /** The user's memberships, oldest first. */
  listForUser(userId: string): Promise<Membership[]>;
  update(organizationId: string, userId: string, roles: string[], now: Date): Promise<Membership | null>;
  delete(organizationId: string, userId: string): Promise<boolean>;
  /** The memberships holding a role name (in one organization, or in any), by organization and user. */
  listWithRole(roleName: string, organizationId?: string): Promise<Membership[]>;
}

export interface RoleStore {
  /** Throws `AlreadyExistsError` when the name is taken in that scope. */
  insert(role: Role): Promise<void>;
  /** An organization's own role of that name, else the environment role. */
  getByName(name: string, organizationId?: string | null): Promise<Role | null>;
  list(organizationId?: string | null): Promise<Role[]>;
  update(id: string, patch: Partial<Omit<Role, 'id' | 'createdAt' | 'organizationId'>>): Promise<Role | null>;
  delete(id: string): Promise<boolean>;
  insertPermission(permission: Permission): Promise<void>;
  getPermission(name: string): Promise<Permission | null>;
  listPermissions(): Promise<Permission[]>;
  updatePermission(name: string, patch: { description: string; updatedAt: Date }): Promise<Permission | null>;
  deletePermission(name: string): Promise<boolean>;
  /** Role names and the union of their permissions for a user in an organization (what tokens carry). */
  entitlements(userId: string, organizationId: string): Promise<{ roles: string[]; permissions: string[] }>;
  /** What `entitlements` gives for these membership role names in an organization. */
  resolveEntitlements(
    roleNames: readonly string[],
    organizationId: string,
  ): Promise<{ roles: string[]; permissions: string[] }>;
}

export interface SessionStore {
  insert(session: Session): Promise<void>;
  get(id: string): Promise<Session | null>;
  /** The live (not ended) session whose cookie hashes to `tokenHash`. */
  getByTokenHash(tokenHash: string): Promise<Session | null>;
  /** Slides the idle timeout. */
  touch(id: string, lastActiveAt: Date, idleExpiresAt: Date): Promise<void>;
  /** New cookie value (no fixation) and a fresh authentication. */
  reauthenticate(
    id: string,
    change: { tokenHash: string; authTime: Date; amr: string[]; lastActiveAt: Date; idleExpiresAt: Date },
  ): Promise<void>;
  setOrganization(id: string, organizationId: string | null): Promise<void>;
  /** Records that an app received tokens in this session (idempotent). */
  addClient(sessionId: string, clientId: string): Promise<void>;
  /**
   * Ends a live session, atomically: revokes every grant and refresh token bound to it and
   * queues a back-channel logout delivery for every app of the session that has a back-channel
   * logout URI (retried for `logoutDeliveryRetryWindowMs`). Returns the session as it was ended, or `null` when it
   * was unknown or already ended.
   */
  end(id: string, reason: SessionEndReason, now: Date): Promise<Session | null>;
  listForUser(
    userId: string,
    page: PageRequest,
    options?: { activeOnly?: boolean; now?: Date },
  ): Promise<Page<Session>>;
  listActive(now: Date, page: PageRequest): Promise<Page<Session>>;
  /** Live sessions past their idle or absolute expiry, for the sweeper to end. */
  listExpired(now: Date, limit: number): Promise<Session[]>;
}

export interface InteractionStore {
  insert(interaction: Interaction): Promise<void>;
  get(id: string): Promise<Interaction | null>;
  /** Remembers who signed in while the person still chooses an organization. */
  setUser(id: string, userId: string, sessionId: string): Promise<void>;
  /** Marks it done; `false` when it was already completed (a double submit). */
  complete(id: string, now: Date): Promise<boolean>;
}

/** A grant read with what a code exchange needs besides it (one query). */
export interface GrantContext {
  grant: Grant;
  /** The session named, without its list of apps; `null` once deleted. */
  session: Omit<Session, 'clientIds'> | null;
  /** Whether the client named is already one of that session's apps. */
  sessionHasClient: boolean;
  user: User | null;
  /** The organization named; `null` without one or once deleted. */
  organization: Organization | null;
  /** The user's role names in that organization; `null` when not a member. */
  membershipRoles: string[] | null;
}

export interface GrantStore {
  insert(grant: Grant): Promise<void>;
  get(id: string): Promise<Grant | null>;
  /** The grant with the session, user, organization and membership an authorization code names. */
  getWithContext(
    id: string,
    named: { sessionId: string; userId: string; organizationId: string | null; clientId: string },
  ): Promise<GrantContext | null>;
  /** Revokes a grant and every refresh token in it. Returns `false` if it was already revoked. */
  revoke(id: string, now: Date): Promise<boolean>;
}

export interface CodeStore {
  insert(code: AuthorizationCode): Promise<void>;
  /**
   * Single-use redemption: atomically marks the code consumed and returns it. When the code was
   * consumed before, returns it with `replayed: true` (and does not change it).
   */
  consume(codeHash: string, now: Date): Promise<{ code: AuthorizationCode; replayed: boolean } | null>;
}

/** A refresh token read with what a refresh needs besides it (one query). */
export interface RefreshTokenContext {
  token: RefreshToken;
  /** The token's sign-in session, without its list of apps; `null` once deleted. */
  session: Omit<Session, 'clientIds'> | null;
  user: User | null;
  /** The token's organization; `null` without one or once deleted. */
  organization: Organization | null;
  /** The role names of the user's membership in that organization; `null` when not a member. */
  membershipRoles: string[] | null;
}

export interface RefreshTokenStore {
  insert(token: RefreshToken): Promise<void>;
  getByHash(tokenHash: string): Promise<RefreshToken | null>;
  /** The token by its hash, with its session, user, organization and membership. */
  getWithContext(tokenHash: string): Promise<RefreshTokenContext | null>;
  /**
   * Compare-and-swap rotation: if `currentId` is neither rotated nor revoked, marks it rotated at
   * `now` (keeping `successorSealed`, if any) and inserts `successor`, atomically. Returns `false`
   * (and writes nothing) when another request rotated or revoked it first. With `slide`, the
   * session's idle timeout slides in the same transaction (last active at `now`).
   */
  rotate(
    currentId: string,
    successor: RefreshToken,
    successorSealed: string | null,
    now: Date,
    slide?: { sessionId: string; idleExpiresAt: Date },
  ): Promise<boolean>;
  revoke(id: string, now: Date): Promise<boolean>;
}

export interface KeyStore {
  list(): Promise<SigningKey[]>;
  insert(key: SigningKey): Promise<void>;
  /**
   * Inserts `key` unless a key already signs at `now` (activated, neither retired nor expired),
   * atomically across servers sharing the database; whether it was inserted. For the first start:
   * servers starting at once on an empty database agree on one key.
   */
  insertFirst(key: SigningKey, now: Date): Promise<boolean>;
  update(id: string, patch: { retiresAt?: Date | null; expiresAt?: Date | null }): Promise<void>;
}

export interface RateLimitStore {
  /**
   * Counts one more event for `key` in the fixed window that starts at `windowStart`, and returns
   * the count in that window including this one.
   */
  hit(key: string, windowStart: Date, expiresAt: Date): Promise<number>;
  /** The current count without counting. */
  peek(key: string, windowStart: Date): Promise<number>;
  reset(key: string): Promise<void>;
}

export interface LogoutDeliveryStore {
  /**
   * Claims up to `limit` pending deliveries that are due and not claimed by another node, leasing
   * them until `leaseUntil` and counting the attempt. Safe across nodes: a delivery is claimed by
   * one at a time.
   */
  claimDue(now: Date, limit: number, leaseUntil: Date): Promise<LogoutDelivery[]>;
  markDelivered(id: string, now: Date, statusCode: number): Promise<void>;
  /** Records a failed attempt; `retryAt: null` gives up (status `failed`). */
  markAttemptFailed(
    id: string,
    failure: { error: string; statusCode: number | null; retryAt: Date | null },
  ): Promise<void>;
  get(id: string): Promise<LogoutDelivery | null>;
  list(
    page: PageRequest,
    filter?: { status?: LogoutDeliveryStatus; sessionId?: string },
  ): Promise<Page<LogoutDelivery>>;
  /** How many deliveries are in each status. */
  counts(): Promise<Record<LogoutDeliveryStatus, number>>;
}

export interface AuditStore {
  append(event: AuditEvent): Promise<void>;
  list(page: PageRequest): Promise<Page<AuditEvent>>;
}

/** Rows removed (or, for sealed responses, emptied) by one sweep, per kind. */
export type SweepReport = Record<
  | 'codes'
  | 'interactions'
  | 'refreshTokens'
  | 'grants'
  | 'rateLimits'
  | 'sessions'
  | 'keys'
  | 'logoutDeliveries'
  | 'sealedResponses',
  number
>;

/** The whole storage interface; one implementation per database. */
export interface Store {
  readonly kind: 'sqlite' | 'postgres';
  readonly clients: ClientStore;
  readonly users: UserStore;
  readonly organizations: OrganizationStore;
  readonly memberships: MembershipStore;
  readonly roles: RoleStore;
  readonly sessions: SessionStore;
  readonly interactions: InteractionStore;
  readonly grants: GrantStore;
  readonly codes: CodeStore;
  readonly refreshTokens: RefreshTokenStore;
  readonly keys: KeyStore;
  readonly rateLimits: RateLimitStore;
  readonly audit: AuditStore;
  readonly logoutDeliveries: LogoutDeliveryStore;
  /** Runs `work` in one database transaction; the store passed in must be used inside it. */
  transaction<T>(work: (store: Store) => Promise<T>): Promise<T>;
  /**
   * Deletes expired artifacts in batches of at most `batchSize` rows per kind (codes, interactions,
   * refresh tokens and grants past expiry, rate-limit windows, sessions ended or expired long ago,
   * keys past `expiresAt`).
   */
  sweep(now: Date, batchSize: number): Promise<SweepReport>;
  /** Applies pending migrations. */
  migrate(): Promise<void>;
  /** Cheap liveness check of the database. */
  ping(): Promise<void>;
  close(): Promise<void>;
}

/** How long a back-channel logout delivery is retried: at least 24 hours (spec), plus an hour's margin. */
export const logoutDeliveryRetryWindowMs = 25 * 60 * 60 * 1000;

/** A unique constraint was violated (an email, external id or name already taken). */
export class AlreadyExistsError extends Error {
  readonly field: string;
  constructor(field: string, options?: { cause?: unknown }) {
    super(`${field} already exists`, options);
    this.name = 'AlreadyExistsError';
    this.field = field;
  }
}

/** A client already has the maximum of two active secrets; one must expire or be deleted first. */
export class TooManySecretsError extends Error {
  readonly clientId: string;
  constructor(clientId: string) {
    super(`client ${clientId} already has two active secrets`);
    this.name = 'TooManySecretsError';
    this.clientId = clientId;
  }
}
