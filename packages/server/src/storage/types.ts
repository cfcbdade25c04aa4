/**
 * Domain objects the server keeps, as the protocol sees them (not as rows). Times are `Date`s;
 * lists are arrays; absent values are `null`.
 */

export type ClientType = 'web' | 'spa' | 'native' | 'm2m';

/** A registered application (an OAuth client). */
export interface Client {
  id: string;
  type: ClientType;
  name: string;
  /** Exact-match redirect URIs (at most 5). */
  redirectUris: string[];
  postLogoutRedirectUris: string[];
  backchannelLogoutUri: string | null;
  initiateLoginUri: string | null;
  /** Access-token lifetime in seconds (default 300). */
  accessTokenTtl: number;
  allowedScopes: string[];
  /** Web apps only: may use `client_credentials` for the management API. */
  allowManagementApi: boolean;
  /** The organization a machine client belongs to, if any. */
  organizationId: string | null;
  createdAt: Date;
  updatedAt: Date;
}

/** A client secret, stored as a SHA-256 hash; a client has at most 2 active ones. */
export interface ClientSecret {
  id: string;
  clientId: string;
  secretHash: string;
  /** The last four characters, so an operator can tell secrets apart. */
  hint: string;
  createdAt: Date;
  expiresAt: Date | null;
}

export interface User {
  id: string;
  /** Lower-cased. */
  email: string;
  emailVerified: boolean;
  name: string | null;
  givenName: string | null;
  familyName: string | null;
  /** argon2id PHC string, `null` for users who cannot sign in with a password. */
  passwordHash: string | null;
  externalId: string | null;
  disabled: boolean;
  metadata: Record<string, string>;
  createdAt: Date;
  updatedAt: Date;
}

export interface Organization {
  id: string;
  name: string;
  externalId: string | null;
  metadata: Record<string, string>;
  createdAt: Date;
  updatedAt: Date;
}

export interface Membership {
  organizationId: string;
  userId: string;
  /** Role names held in this organization. */
  roles: string[];
  createdAt: Date;
  updatedAt: Date;
}

export interface Role {
  id: string;
  name: string;
  displayName: string;
  description: string;
  /** Permission names (`resource:action`). */
  permissions: string[];
  /** The organization that owns the role; `null` for environment-wide roles. */
  organizationId: string | null;
  /** The role given to a new member of an organization (`member`), or to its creator (`admin`). */
  isDefaultCreator: boolean;
  isDefaultMember: boolean;
  createdAt: Date;
  updatedAt: Date;
}

export interface Permission {
  id: string;
  name: string;
  description: string;
  createdAt: Date;
  updatedAt: Date;
}

export type SessionEndReason =
  | 'logout'
  | 'revoked'
  | 'idle_timeout'
  | 'absolute_timeout'
  | 'user_deleted'
  | 'user_disabled'
  | 'replaced';

/** A browser's sign-in session at the server (single sign-on). */
export interface Session {
  id: string;
  /** SHA-256 of the cookie value; rotated at every sign-in. */
  tokenHash: string;
  userId: string;
  organizationId: string | null;
  authTime: Date;
  amr: string[];
  userAgent: string | null;
  ipAddress: string | null;
  createdAt: Date;
  lastActiveAt: Date;
  idleExpiresAt: Date;
  absoluteExpiresAt: Date;
  endedAt: Date | null;
  endReason: SessionEndReason | null;
  /** Every app that received tokens in this session. */
  clientIds: string[];
}

/** The validated authorization request, kept while the person signs in. */
export interface AuthorizationRequest {
  clientId: string;
  redirectUri: string;
  scope: string[];
  state: string | null;
  nonce: string | null;
  codeChallenge: string | null;
  codeChallengeMethod: 'S256' | null;
  prompt: Array<'none' | 'login' | 'create' | 'select_account'>;
  loginHint: string | null;
  organizationId: string | null;
  maxAge: number | null;
  responseMode: 'query' | 'form_post';
}

/** A pending sign-in: the hosted pages carry its id, never the raw parameters. */
export interface Interaction {
  id: string;
  request: AuthorizationRequest;
  /** Set once the person has signed in but still has to choose an organization. */
  userId: string | null;
  sessionId: string | null;
  createdAt: Date;
  expiresAt: Date;
  completedAt: Date | null;
}

/** A grant groups everything issued from one authorization (code, tokens), so it can be revoked whole. */
export interface Grant {
  id: string;
  clientId: string;
  userId: string | null;
  sessionId: string | null;
  createdAt: Date;
  expiresAt: Date;
  revokedAt: Date | null;
}

export interface AuthorizationCode {
  codeHash: string;
  grantId: string;
  clientId: string;
  redirectUri: string;
  scope: string[];
  nonce: string | null;
  codeChallenge: string | null;
  codeChallengeMethod: 'S256' | null;
  userId: string;
  organizationId: string | null;
  sessionId: string;
  authTime: Date;
  amr: string[];
  createdAt: Date;
  expiresAt: Date;
  consumedAt: Date | null;
}

export interface RefreshToken {
  id: string;
  tokenHash: string;
  grantId: string;
  clientId: string;
  userId: string;
  organizationId: string | null;
  sessionId: string;
  scope: string[];
  authTime: Date;
  amr: string[];
  createdAt: Date;
  expiresAt: Date;
  /** When it was exchanged for a successor; a rotated token is only good within the grace window. */
  rotatedAt: Date | null;
  /** The successor's token response, sealed with the server key, kept for the grace window. */
  successorSealed: string | null;
  revokedAt: Date | null;
}

export type SigningAlg = 'RS256' | 'ES256';

/** A signing key. The private half is encrypted at rest with a key derived from the server secret. */
export interface SigningKey {
  id: string;
  alg: SigningAlg;
  publicJwk: Record<string, unknown>;
  privateJwkEncrypted: string;
  createdAt: Date;
  /** Published from creation; signs from this moment on. */
  activatesAt: Date;
  /** Stops signing from this moment (when its successor activates). */
  retiresAt: Date | null;
  /** Leaves the JWKS from this moment (every token it signed has expired). */
  expiresAt: Date | null;
}

export interface AuditEvent {
  id: string;
  actor: string;
  action: string;
  targetType: string;
  targetId: string | null;
  detail: Record<string, unknown>;
  createdAt: Date;
}

/** One page of a listing; `nextCursor` is `null` on the last page. */
export interface Page<T> {
  items: T[];
  nextCursor: string | null;
  totalSize: number;
}

export type LogoutDeliveryStatus = 'pending' | 'delivered' | 'failed';

/**
 * One back-channel logout notice owed to one app for one ended session: written in the same
 * transaction that ends the session, delivered (and retried) off the request path.
 */
export interface LogoutDelivery {
  id: string;
  sessionId: string;
  userId: string;
  clientId: string;
  /** The app's back-channel logout URI when the session ended. */
  uri: string;
  status: LogoutDeliveryStatus;
  attempts: number;
  nextAttemptAt: Date;
  /** A node that claimed it owns it until then (so one delivery is sent once across nodes). */
  lockedUntil: Date | null;
  lastError: string | null;
  lastStatusCode: number | null;
  createdAt: Date;
  /** Retries stop after this moment. */
  giveUpAt: Date;
  deliveredAt: Date | null;
}
