import type { ColumnType } from 'kysely';

/**
 * Column types shared by SQLite and PostgreSQL. Times are milliseconds since the epoch in a
 * `bigint` column, which node-postgres reads back as a string, so reads accept every shape.
 */
export type Millis = ColumnType<number | string | bigint, number, number>;
/** Booleans are integers 0/1: PostgreSQL has no implicit cast from integer to boolean. */
export type Flag = number;
/** Lists and objects are stored as JSON text, so no JSON column type is needed. */
export type Json = string;

/** Table `clients`. */
export interface ClientsTable {
  id: string;
  type: string;
  name: string;
  redirect_uris: Json;
  post_logout_redirect_uris: Json;
  backchannel_logout_uri: string | null;
  initiate_login_uri: string | null;
  access_token_ttl: number;
  allowed_scopes: Json;
  allow_management_api: Flag;
  organization_id: string | null;
  created_at: Millis;
  updated_at: Millis;
}

/** Table `client_secrets`. */
export interface ClientSecretsTable {
  id: string;
  client_id: string;
  secret_hash: string;
  hint: string;
  created_at: Millis;
  expires_at: Millis | null;
}

/** Table `users`. */
export interface UsersTable {
  id: string;
  email: string;
  email_verified: Flag;
  name: string | null;
  given_name: string | null;
  family_name: string | null;
  password_hash: string | null;
  external_id: string | null;
  disabled: Flag;
  metadata: Json;
  created_at: Millis;
  updated_at: Millis;
}

/** Table `organizations`. */
export interface OrganizationsTable {
  id: string;
  name: string;
  external_id: string | null;
  metadata: Json;
  created_at: Millis;
  updated_at: Millis;
}

/** Table `memberships`; `roles` is a JSON list of role names. */
export interface MembershipsTable {
  organization_id: string;
  user_id: string;
  roles: Json;
  created_at: Millis;
  updated_at: Millis;
}

/** Table `roles`; `organization_id` is `null` for environment roles. */
export interface RolesTable {
  id: string;
  organization_id: string | null;
  name: string;
  display_name: string;
  description: string;
  is_default_creator: Flag;
  is_default_member: Flag;
  created_at: Millis;
  updated_at: Millis;
}

/** Table `permissions`. */
export interface PermissionsTable {
  id: string;
  name: string;
  description: string;
  created_at: Millis;
  updated_at: Millis;
}

/** Table `role_permissions`: which permission names a role grants. */
export interface RolePermissionsTable {
  role_id: string;
  permission_name: string;
}

/** Table `sessions`. */
export interface SessionsTable {
  id: string;
  token_hash: string;
  user_id: string;
  organization_id: string | null;
  auth_time: Millis;
  amr: Json;
  user_agent: string | null;
  ip_address: string | null;
  created_at: Millis;
  last_active_at: Millis;
  idle_expires_at: Millis;
  absolute_expires_at: Millis;
  ended_at: Millis | null;
  end_reason: string | null;
}

/** Table `session_clients`: the apps that received tokens in a session. */
export interface SessionClientsTable {
  session_id: string;
  client_id: string;
}

/** Table `interactions`; `request` is the validated authorization request as JSON. */
export interface InteractionsTable {
  id: string;
  request: Json;
  user_id: string | null;
  session_id: string | null;
  created_at: Millis;
  expires_at: Millis;
  completed_at: Millis | null;
}

/** Table `grants`. */
export interface GrantsTable {
  id: string;
  client_id: string;
  user_id: string | null;
  session_id: string | null;
  created_at: Millis;
  expires_at: Millis;
  revoked_at: Millis | null;
}

/** Table `authorization_codes`, keyed by the code's hash. */
export interface AuthorizationCodesTable {
  code_hash: string;
  grant_id: string;
  client_id: string;
  redirect_uri: string;
  scope: Json;
  nonce: string | null;
  code_challenge: string | null;
  code_challenge_method: string | null;
  user_id: string;
  organization_id: string | null;
  session_id: string;
  auth_time: Millis;
  amr: Json;
  created_at: Millis;
  expires_at: Millis;
  consumed_at: Millis | null;
}

/** Table `refresh_tokens`. */
export interface RefreshTokensTable {
  id: string;
  token_hash: string;
  grant_id: string;
  client_id: string;
  user_id: string;
  organization_id: string | null;
  session_id: string;
  scope: Json;
  auth_time: Millis;
  amr: Json;
  created_at: Millis;
  expires_at: Millis;
  rotated_at: Millis | null;
  successor_sealed: string | null;
  revoked_at: Millis | null;
}

/** Table `signing_keys`. */
export interface SigningKeysTable {
  id: string;
  alg: string;
  public_jwk: Json;
  private_jwk_encrypted: string;
  created_at: Millis;
  activates_at: Millis;
  retires_at: Millis | null;
  expires_at: Millis | null;
}

/** Table `rate_limits`: one row per key and fixed window. */
export interface RateLimitsTable {
  key: string;
  window_start: Millis;
  count: number;
  expires_at: Millis;
}

/** Table `audit_events`. */
export interface AuditEventsTable {
  id: string;
  actor: string;
  action: string;
  target_type: string;
  target_id: string | null;
  detail: Json;
  created_at: Millis;
}

/** The whole database as Kysely sees it. */
export interface Database {
  clients: ClientsTable;
  client_secrets: ClientSecretsTable;
  users: UsersTable;
  organizations: OrganizationsTable;
  memberships: MembershipsTable;
  roles: RolesTable;
  permissions: PermissionsTable;
  role_permissions: RolePermissionsTable;
  sessions: SessionsTable;
  session_clients: SessionClientsTable;
  interactions: InteractionsTable;
  grants: GrantsTable;
  authorization_codes: AuthorizationCodesTable;
  refresh_tokens: RefreshTokensTable;
  signing_keys: SigningKeysTable;
  rate_limits: RateLimitsTable;
  audit_events: AuditEventsTable;
  logout_deliveries: LogoutDeliveriesTable;
}

/** Table `logout_deliveries`: the back-channel logout outbox. No foreign keys: it outlives sessions. */
export interface LogoutDeliveriesTable {
  id: string;
  session_id: string;
  user_id: string;
  client_id: string;
  uri: string;
  status: string;
  attempts: number;
  next_attempt_at: Millis;
  locked_until: Millis | null;
  last_error: string | null;
  last_status_code: number | null;
  created_at: Millis;
  give_up_at: Millis;
  delivered_at: Millis | null;
}
