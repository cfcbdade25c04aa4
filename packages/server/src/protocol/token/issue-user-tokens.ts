import type { ServerContext } from '../../context.ts';
import { hashSecret, newId, newSecret } from '../../lib/ids.ts';
import type { Client, Organization, RefreshToken, Session, User } from '../../storage/types.ts';
import { invalidGrant } from '../errors.ts';
import { mintAccessToken, mintIdToken } from '../tokens.ts';

/** The RFC 6749 §5.1 success body. */
export interface TokenResponse {
  access_token: string;
  token_type: 'Bearer';
  expires_in: number;
  scope: string;
  id_token?: string;
  refresh_token?: string;
}

/** The tokens minted for a user, and the refresh token record to store (not stored yet). */
export interface MintedUserTokens {
  response: TokenResponse;
  refreshToken: RefreshToken | null;
}

/**
 * Mints the access token, the ID token (with `openid`) and a refresh token (with
 * `offline_access`) for a user in a grant. Callers store the refresh token atomically with
 * whatever else their grant requires.
 * @see https://www.rfc-editor.org/rfc/rfc6749#section-5.1
 */
export async function mintUserTokens(
  ctx: ServerContext,
  input: {
    client: Client;
    user: User;
    organizationId: string | null;
    /** The organization and the user's entitlements in it, when the caller has read them already. */
    access?: OrganizationAccess;
    session: Omit<Session, 'clientIds'>;
    grantId: string;
    /** Scope of the grant (what the refresh token keeps). */
    grantScope: readonly string[];
    /** Scope of this access token (narrower on a scoped refresh). */
    scope: readonly string[];
    nonce: string | null;
    /** The refresh token's value, when the caller chose it (a rotation seals it beforehand). */
    refreshTokenValue?: string;
  },
): Promise<MintedUserTokens> {
  const { client, user, session, scope } = input;
  const { organization, entitlements } =
    input.access ?? (await loadOrganizationAccess(ctx, user.id, input.organizationId));
  const access = await mintAccessToken(ctx, {
    client,
    user,
    organization,
    sessionId: session.id,
    grantId: input.grantId,
    scope,
    entitlements,
  });
  const response: TokenResponse = {
    access_token: access.token,
    token_type: 'Bearer',
    expires_in: access.expiresIn,
    scope: scope.join(' '),
  };
  if (scope.includes('openid')) {
    response.id_token = await mintIdToken(ctx, {
      client,
      user,
      organizationId: organization?.id ?? null,
      sessionId: session.id,
      scope,
      authTime: session.authTime,
      amr: session.amr,
      nonce: input.nonce,
      accessToken: access.token,
    });
  }
  let refreshToken: RefreshToken | null = null;
  if (input.grantScope.includes('offline_access')) {
    const now = ctx.config.now();
    const value = input.refreshTokenValue ?? newSecret();
    // A refresh token dies with its session, so it never outlives the session's absolute expiry.
    const ttlEnd = now.getTime() + ctx.config.refreshTokenTtl * 1000;
    refreshToken = {
      id: newId('tkn'),
      tokenHash: hashSecret(value),
      grantId: input.grantId,
      clientId: client.id,
      userId: user.id,
      organizationId: organization?.id ?? null,
      sessionId: session.id,
      scope: [...input.grantScope],
      authTime: session.authTime,
      amr: session.amr,
      createdAt: now,
      expiresAt: new Date(Math.min(ttlEnd, session.absoluteExpiresAt.getTime())),
      rotatedAt: null,
      successorSealed: null,
      revokedAt: null,
    };
    response.refresh_token = value;
  }
  return { response, refreshToken };
}

/** What a user's tokens say about their organization: the organization and their roles in it. */
export interface OrganizationAccess {
  organization: Organization | null;
  entitlements: { roles: string[]; permissions: string[] };
}

/** What a user without a membership (or without an organization) is entitled to. */
function noEntitlements(): OrganizationAccess['entitlements'] {
  return { roles: [], permissions: [] };
}

/** Reads the organization of a grant (gone: none) and the user's entitlements in it. */
export async function loadOrganizationAccess(
  ctx: ServerContext,
  userId: string,
  organizationId: string | null,
): Promise<OrganizationAccess> {
  const organization = organizationId ? await ctx.store.organizations.get(organizationId) : null;
  const entitlements = organization
    ? await ctx.store.roles.entitlements(userId, organization.id)
    : noEntitlements();
  return { organization, entitlements };
}

/** The access a membership read along with its organization gives (none without either). */
export async function membershipAccess(
  ctx: ServerContext,
  organization: Organization | null,
  membershipRoles: string[] | null,
): Promise<OrganizationAccess> {
  const entitlements =
    organization && membershipRoles
      ? await ctx.store.roles.resolveEntitlements(membershipRoles, organization.id)
      : noEntitlements();
  return { organization, entitlements };
}

/** Loads the user behind a grant; a deleted or disabled user ends the grant's usefulness. */
export async function requireActiveUser(ctx: ServerContext, userId: string): Promise<User> {
  return activeUser(await ctx.store.users.get(userId));
}

/** The user of a grant as read; a deleted or disabled one is `invalid_grant`. */
export function activeUser(user: User | null): User {
  if (!user || user.disabled) throw invalidGrant('The user of this grant is no longer active');
  return user;
}
