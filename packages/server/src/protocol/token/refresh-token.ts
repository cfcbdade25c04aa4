// Enforces (RFC 6749 §6, RFC 9700 §4.14.2): the refresh token is known, unexpired, unrevoked and
// issued to this client; every use rotates it by compare-and-swap; presenting the just-rotated
// token again within the grace window returns the same successor refresh token (two tabs agree),
// with access and ID tokens minted afresh; later reuse revokes the whole family; a narrower scope
// is allowed, a wider one is `invalid_scope`; the token dies with its sign-in session.
//
// The successor's value is an HMAC of the presented value under a key derived from the server
// secret: as unguessable as a random one to anyone without the secret, and the same whenever the
// same token is presented again, so nothing about it has to be stored for the grace window.
import { createHmac } from 'node:crypto';
import type { ServerContext } from '../../context.ts';
import { SealError, unseal } from '../../keys/secret-box.ts';
import { hashSecret } from '../../lib/ids.ts';
import type { Client, RefreshToken } from '../../storage/types.ts';
import { invalidGrant, invalidScope } from '../errors.ts';
import { optionalParam, parseScope, type RawParams, requiredParam } from '../params.ts';
import { sessionExpiry, slidIdleExpiry } from '../sessions.ts';
import {
  activeUser,
  membershipAccess,
  mintUserTokens,
  requireActiveUser,
  type TokenResponse,
} from './issue-user-tokens.ts';

/** Exchanges a refresh token, rotating it. @see https://www.rfc-editor.org/rfc/rfc6749#section-6 */
export async function exchangeRefreshToken(
  ctx: ServerContext,
  client: Client,
  params: RawParams,
): Promise<TokenResponse> {
  const presented = requiredParam(params, 'refresh_token', 512);
  const requestedScope = optionalParam(params, 'scope', 1000);
  const now = ctx.config.now();

  // The token, its session, user, organization and membership come in one read.
  const found = await ctx.store.refreshTokens.getWithContext(hashSecret(presented));
  if (!found || found.token.clientId !== client.id) throw invalidGrant('The refresh token is invalid');
  const current = found.token;
  if (current.revokedAt) throw invalidGrant('The refresh token has been revoked');
  if (current.expiresAt <= now) throw invalidGrant('The refresh token has expired');

  const scope = requestedScope === null ? current.scope : parseScope(requestedScope);
  const wider = scope.filter((s) => !current.scope.includes(s));
  if (wider.length > 0) throw invalidScope(`Scope exceeds the original grant: ${wider.join(' ')}`);
  if (current.rotatedAt) return replayWithinGrace(ctx, client, current, presented, scope);

  const { session } = found;
  if (!session || sessionExpiry(session, now)) {
    await ctx.store.grants.revoke(current.grantId, now);
    throw invalidGrant('The sign-in session has ended');
  }
  const user = activeUser(found.user);
  const access = await membershipAccess(ctx, found.organization, found.membershipRoles);
  const minted = await mintUserTokens(ctx, {
    client,
    user,
    organizationId: current.organizationId,
    access,
    session,
    grantId: current.grantId,
    grantScope: current.scope,
    scope,
    nonce: null,
    refreshTokenValue: successorOf(ctx, presented),
  });
  const successor = minted.refreshToken;
  if (!successor) throw invalidGrant('The grant no longer allows refresh tokens');
  // The session is in use: its idle timeout slides in the rotation's transaction (one commit).
  const idleExpiresAt = slidIdleExpiry(ctx, session, now);
  const slide = idleExpiresAt ? { sessionId: session.id, idleExpiresAt } : undefined;
  const rotated = await ctx.store.refreshTokens.rotate(current.id, successor, null, now, slide);
  if (!rotated) {
    // Another request rotated it between our read and our write: answer as it did, if in time.
    const latest = await ctx.store.refreshTokens.getByHash(current.tokenHash);
    if (!latest || latest.revokedAt || !latest.rotatedAt) throw invalidGrant('The refresh token is invalid');
    return replayWithinGrace(ctx, client, latest, presented, scope);
  }
  return minted.response;
}

/** The value of the refresh token that succeeds `presented` when it rotates. */
function successorOf(ctx: ServerContext, presented: string): string {
  return createHmac('sha256', ctx.refreshSuccessorKey).update(presented).digest('base64url');
}

async function replayWithinGrace(
  ctx: ServerContext,
  client: Client,
  token: RefreshToken,
  presented: string,
  scope: readonly string[],
): Promise<TokenResponse> {
  const now = ctx.config.now();
  const rotatedAt = token.rotatedAt as Date;
  const withinGrace = now.getTime() - rotatedAt.getTime() <= ctx.config.refreshGrace * 1000;
  if (withinGrace) {
    const session = await ctx.store.sessions.get(token.sessionId);
    const grant = await ctx.store.grants.get(token.grantId);
    if (!session || sessionExpiry(session, now) || !grant || grant.revokedAt) {
      throw invalidGrant('The refresh token has been revoked');
    }
    // The user may have been disabled since the rotation.
    const user = await requireActiveUser(ctx, token.userId);
    // Rotations by earlier versions sealed their whole response: it is answered as it was.
    if (token.successorSealed) return openSealedResponse(ctx, token);
    const successorValue = successorOf(ctx, presented);
    const successor = await ctx.store.refreshTokens.getByHash(hashSecret(successorValue));
    if (!successor || successor.grantId !== token.grantId) {
      ctx.logger.error({ grantId: token.grantId }, 'refresh successor not found (server secret changed?)');
      throw invalidGrant('The refresh token has already been used');
    }
    const minted = await mintUserTokens(ctx, {
      client,
      user,
      organizationId: token.organizationId,
      session,
      grantId: token.grantId,
      grantScope: token.scope,
      scope,
      nonce: null,
      refreshTokenValue: successorValue,
    });
    return minted.response;
  }
  await ctx.store.grants.revoke(token.grantId, now);
  ctx.logger.warn(
    { clientId: token.clientId, grantId: token.grantId },
    'refresh token reused; family revoked',
  );
  throw invalidGrant('The refresh token has already been used');
}

async function openSealedResponse(ctx: ServerContext, token: RefreshToken): Promise<TokenResponse> {
  try {
    return await unseal<TokenResponse>(token.successorSealed as string, ctx.sealingKey);
  } catch (err) {
    if (!(err instanceof SealError)) throw err;
    ctx.logger.error(
      { grantId: token.grantId },
      'sealed successor could not be opened (server secret changed?)',
    );
    throw invalidGrant('The refresh token has already been used');
  }
}
