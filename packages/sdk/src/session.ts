import type { JWTPayload } from 'jose';

/** The signed-in person, as handlers see them. */
export interface SessionUser {
  /** The provider's subject (`usr_…` at Sesame). */
  sub: string;
  /** The provider's session id (`sid`), used for back-channel logout. */
  sid: string | null;
  email: string | null;
  emailVerified: boolean | null;
  name: string | null;
  givenName: string | null;
  familyName: string | null;
  /** Current organization (`oid`). */
  organizationId: string | null;
  roles: string[];
  permissions: string[];
}

/** Everything a session holds. In cookie mode it is split across path-scoped cookies. */
export interface SessionData {
  user: SessionUser;
  accessToken: string;
  /** Epoch seconds. */
  accessTokenExpiresAt: number;
  refreshToken: string | null;
  idToken: string | null;
  /** Epoch seconds of the sign-in at the provider, when known. */
  authTime: number | null;
  /** Epoch milliseconds of the write: a newer session is never replaced by an older one. */
  updatedAt: number;
}

const stringOrNull = (v: unknown): string | null => (typeof v === 'string' && v.length > 0 ? v : null);
const strings = (v: unknown): string[] =>
  Array.isArray(v) ? v.filter((x): x is string => typeof x === 'string') : [];

/**
 * The user from the ID token's claims, completed with the access token's (`roles`,
 * `permissions`, `oid`) when the access token is a JWT.
 */
export function userFromClaims(idClaims: JWTPayload, accessClaims: JWTPayload | null): SessionUser {
  const pick = (name: string) => idClaims[name] ?? accessClaims?.[name];
  return {
    sub: String(idClaims.sub),
    sid: stringOrNull(pick('sid')),
    email: stringOrNull(idClaims['email']),
    emailVerified: typeof idClaims['email_verified'] === 'boolean' ? idClaims['email_verified'] : null,
    name: stringOrNull(idClaims['name']),
    givenName: stringOrNull(idClaims['given_name']),
    familyName: stringOrNull(idClaims['family_name']),
    organizationId: stringOrNull(pick('oid')),
    roles: strings(accessClaims?.['roles'] ?? idClaims['roles']),
    permissions: strings(accessClaims?.['permissions'] ?? idClaims['permissions']),
  };
}
