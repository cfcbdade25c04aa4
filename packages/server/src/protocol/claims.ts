import type { User } from '../storage/types.ts';

/** Claims of the ID token and /userinfo that depend on the scopes granted. */
export interface UserClaims {
  email?: string;
  email_verified?: boolean;
  name?: string;
  given_name?: string;
  family_name?: string;
}

/**
 * The profile and email claims a user's tokens carry, by scope, omitting absent values.
 * @see https://openid.net/specs/openid-connect-core-1_0.html#ScopeClaims
 */
export function userClaims(user: User, scope: readonly string[]): UserClaims {
  const claims: UserClaims = {};
  if (scope.includes('email')) {
    claims.email = user.email;
    claims.email_verified = user.emailVerified;
  }
  if (scope.includes('profile')) {
    const name = user.name ?? ([user.givenName, user.familyName].filter(Boolean).join(' ') || null);
    if (name) claims.name = name;
    if (user.givenName) claims.given_name = user.givenName;
    if (user.familyName) claims.family_name = user.familyName;
  }
  return claims;
}

/** Splits a display name into given and family names the way most sign-up forms mean it. */
export function splitName(name: string): { givenName: string | null; familyName: string | null } {
  const parts = name.trim().split(/\s+/).filter(Boolean);
  if (parts.length === 0) return { givenName: null, familyName: null };
  if (parts.length === 1) return { givenName: parts[0] as string, familyName: null };
  return { givenName: parts.slice(0, -1).join(' '), familyName: parts.at(-1) as string };
}
