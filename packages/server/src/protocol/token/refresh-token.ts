// Enforces (RFC 6749 §6, RFC 9700 §4.14.2): the refresh token is known, unexpired, unrevoked and
// issued to this client; every use rotates it by compare-and-swap; presenting the just-rotated
// token again within the grace window returns the same successor refresh token (two tabs agree),
// with access and ID tokens minted afresh; later reuse revokes the whole family; a narrower scope
// is allowed, a wider one is `invalid_scope`; the token dies with its sign-in session.
import type { ServerContext } from '../../context.ts';
import { SealError, seal, unseal } from '../../keys/secret-box.ts';
import { hashSecret, newSecret } from '../../lib/ids.ts';
import type { Client, RefreshToken } from '../../storage/types.ts';
import { invalidGrant, invalidScope } from '../errors.ts';
import { optionalParam, parseScope, type RawParams, requiredParam } from '../params.ts';
import { sessionExpiry, slidIdleExpiry } from '../sessions.ts';
import { activeUser, mintUserTokens, requireActiveUser, type TokenResponse } from './issue-user-tokens.ts';

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
  if (current.rotatedAt) return replayWithinGrace(ctx, client, current, scope);

  const { session, organization, membershipRoles } = found;
  if (!session || sessionExpiry(session, now)) {
    await ctx.store.grants.revoke(current.grantId, now);
    throw invalidGrant('The sign-in session has ended');
  }
  const user = activeUser(found.user);
  const entitlements =
    organization && membershipRoles
      ? await ctx.store.roles.resolveEntitlements(membershipRoles, organization.id)
      : { roles: [], permissions: [] };
  // Only the successor's value is kept (sealed) for a replay within the grace window; sealing it
  // runs alongside the signatures.
  const successorValue = newSecret();
  const [minted, sealed] = await Promise.all([
    mintUserTokens(ctx, {
      client,
      user,
      organizationId: current.organizationId,
      access: { organization, entitlements },
      session,
      grantId: current.grantId,
      grantScope: current.scope,
      scope,
      nonce: null,
      refreshTokenValue: successorValue,
    }),
    seal({ refresh_token: successorValue } satisfies SealedSuccessor, ctx.sealingKey),
  ]);
  const successor = minted.refreshToken;
  if (!successor) throw invalidGrant('The grant no longer allows refresh tokens');
  // The session is in use: its idle timeout slides in the rotation's transaction (one commit).
  const idleExpiresAt = slidIdleExpiry(ctx, session, now);
  const slide = idleExpiresAt ? { sessionId: session.id, idleExpiresAt } : undefined;
  const rotated = await ctx.store.refreshTokens.rotate(current.id, successor, sealed, now, slide);
  if (!rotated) {
    // Another request rotated it between our read and our write: answer as it did, if in time.
    const latest = await ctx.store.refreshTokens.getByHash(current.tokenHash);
    if (!latest || latest.revokedAt || !latest.rotatedAt) throw invalidGrant('The refresh token is invalid');
    return replayWithinGrace(ctx, client, latest, scope);
  }
  return minted.response;
}

/** What a rotated token keeps of its successor, sealed: the successor's value. */
interface SealedSuccessor {
  refresh_token: string;
}

async function replayWithinGrace(
  ctx: ServerContext,
  client: Client,
  token: RefreshToken,
  scope: readonly string[],
): Promise<TokenResponse> {
  const now = ctx.config.now();
  const rotatedAt = token.rotatedAt as Date;
  const withinGrace = now.getTime() - rotatedAt.getTime() <= ctx.config.refreshGrace * 1000;
  if (withinGrace && token.successorSealed) {
    const session = await ctx.store.sessions.get(token.sessionId);
    const grant = await ctx.store.grants.get(token.grantId);
    if (!session || sessionExpiry(session, now) || !grant || grant.revokedAt) {
      throw invalidGrant('The refresh token has been revoked');
    }
    // The successor was sealed while the user was active; they may have been disabled since.
    const user = await requireActiveUser(ctx, token.userId);
    let opened: SealedSuccessor | TokenResponse;
    try {
      opened = await unseal<SealedSuccessor | TokenResponse>(token.successorSealed, ctx.sealingKey);
    } catch (err) {
      if (!(err instanceof SealError)) throw err;
      ctx.logger.error(
        { grantId: token.grantId },
        'sealed successor could not be opened (server secret changed?)',
      );
      throw invalidGrant('The refresh token has already been used');
    }
    // Rotations by earlier versions sealed the whole response: it is answered as it was.
    if ('access_token' in opened) return opened;
    const minted = await mintUserTokens(ctx, {
      client,
      user,
      organizationId: token.organizationId,
      session,
      grantId: token.grantId,
      grantScope: token.scope,
      scope,
      nonce: null,
      refreshTokenValue: opened.refresh_token,
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
