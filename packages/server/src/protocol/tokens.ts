import { createHash } from 'node:crypto';
import type { ServerContext } from '../context.ts';
import { newId } from '../lib/ids.ts';
import type { Client, Organization, User } from '../storage/types.ts';
import { userClaims } from './claims.ts';

/** What a user's access token says about them in their current organization. */
export interface Entitlements {
  roles: string[];
  permissions: string[];
}

/** An issued JWT and how long it lives. */
export interface IssuedToken {
  token: string;
  expiresIn: number;
  jti: string;
}

const idPartLength = 26;

/**
 * A JWT id that also names the grant the token came from, so that revoking the grant (a replayed
 * code, a revoked refresh token) can be checked at introspection without a write per token.
 */
export function accessTokenJti(grantId: string | null): string {
  const own = newId('tkn');
  if (grantId === null) return own;
  return `${own}${grantId.slice('grt_'.length)}`;
}

/** The grant id inside a `jti` made by `accessTokenJti`, if any. */
export function grantIdFromJti(jti: string): string | null {
  const body = jti.startsWith('tkn_') ? jti.slice(4) : null;
  if (body === null || body.length !== idPartLength * 2) return null;
  return `grt_${body.slice(idPartLength)}`;
}

/** Seconds since the epoch. */
export const epochSeconds = (date: Date): number => Math.floor(date.getTime() / 1000);

/**
 * A user's access token: a JWT with `typ: at+jwt`.
 * @see https://www.rfc-editor.org/rfc/rfc9068#section-2.2
 */
export async function mintAccessToken(
  ctx: ServerContext,
  input: {
    client: Client;
    user: User;
    organization: Organization | null;
    sessionId: string;
    grantId: string;
    scope: readonly string[];
    entitlements: Entitlements;
  },
): Promise<IssuedToken> {
  const now = epochSeconds(ctx.config.now());
  const expiresIn = input.client.accessTokenTtl;
  const jti = accessTokenJti(input.grantId);
  const payload: Record<string, unknown> = {
    iss: ctx.config.envUrl,
    aud: [input.client.id],
    sub: input.user.id,
    sid: input.sessionId,
    exp: now + expiresIn,
    iat: now,
    nbf: now,
    jti,
    client_id: input.client.id,
    scope: input.scope.join(' '),
    roles: input.entitlements.roles,
    permissions: input.entitlements.permissions,
  };
  if (input.organization) payload['oid'] = input.organization.id;
  if (input.user.externalId) payload['xuid'] = input.user.externalId;
  if (input.organization?.externalId) payload['xoid'] = input.organization.externalId;
  return { token: await ctx.keys.sign(payload, 'at+jwt'), expiresIn, jti };
}

/**
 * An ID token.
 * @see https://openid.net/specs/openid-connect-core-1_0.html#IDToken
 */
export async function mintIdToken(
  ctx: ServerContext,
  input: {
    client: Client;
    user: User;
    organizationId: string | null;
    sessionId: string;
    scope: readonly string[];
    authTime: Date;
    amr: readonly string[];
    nonce: string | null;
    accessToken: string;
  },
): Promise<string> {
  const now = epochSeconds(ctx.config.now());
  const payload: Record<string, unknown> = {
    iss: ctx.config.envUrl,
    aud: [input.client.id],
    azp: input.client.id,
    client_id: input.client.id,
    sub: input.user.id,
    sid: input.sessionId,
    exp: now + ctx.config.idTokenTtl,
    iat: now,
    auth_time: epochSeconds(input.authTime),
    at_hash: tokenHash(input.accessToken),
    amr: input.amr,
    ...userClaims(input.user, input.scope),
  };
  if (input.organizationId) payload['oid'] = input.organizationId;
  if (input.nonce !== null) payload['nonce'] = input.nonce;
  return ctx.keys.sign(payload, 'JWT');
}

/**
 * A machine token from `client_credentials`: `sub` is the client, `scopes` a JSON array.
 * @see https://www.rfc-editor.org/rfc/rfc6749#section-4.4
 */
export async function mintMachineToken(
  ctx: ServerContext,
  input: { client: Client; scopes: readonly string[] },
): Promise<IssuedToken> {
  const now = epochSeconds(ctx.config.now());
  const expiresIn = ctx.config.machineTokenTtl;
  const jti = accessTokenJti(null);
  const payload: Record<string, unknown> = {
    iss: ctx.config.envUrl,
    aud: [input.client.id],
    sub: input.client.id,
    client_id: input.client.id,
    exp: now + expiresIn,
    iat: now,
    nbf: now,
    jti,
    scopes: input.scopes,
  };
  if (input.client.organizationId) payload['oid'] = input.client.organizationId;
  return { token: await ctx.keys.sign(payload, 'at+jwt'), expiresIn, jti };
}

/**
 * `at_hash`: base64url of the left half of the SHA-256 of the access token (RS256 and ES256 both
 * use SHA-256).
 * @see https://openid.net/specs/openid-connect-core-1_0.html#CodeIDToken
 */
export function tokenHash(accessToken: string): string {
  const digest = createHash('sha256').update(accessToken, 'ascii').digest();
  return digest.subarray(0, digest.length / 2).toString('base64url');
}
