// Enforces (RFC 6749 §4.1.3, RFC 7636 §4.6, RFC 9700 §2.1.1): the code is known, unexpired,
// unused and issued to this client for this redirect_uri; a replayed code revokes everything
// issued from it; the PKCE verifier matches the challenge, and a verifier without a challenge is
// refused (downgrade); the sign-in session is still live.
import type { ServerContext } from '../../context.ts';
import { hashSecret } from '../../lib/ids.ts';
import type { Client } from '../../storage/types.ts';
import { invalidGrant, invalidRequest } from '../errors.ts';
import { optionalParam, type RawParams, requiredParam } from '../params.ts';
import { verifyPkce } from '../pkce.ts';
import { sessionExpiry } from '../sessions.ts';
import { activeUser, membershipAccess, mintUserTokens, type TokenResponse } from './issue-user-tokens.ts';

/** Exchanges an authorization code. @see https://www.rfc-editor.org/rfc/rfc6749#section-4.1.3 */
export async function exchangeAuthorizationCode(
  ctx: ServerContext,
  client: Client,
  params: RawParams,
): Promise<TokenResponse> {
  const code = requiredParam(params, 'code', 512);
  const redirectUri = requiredParam(params, 'redirect_uri', 2000);
  const verifier = optionalParam(params, 'code_verifier', 256);
  const now = ctx.config.now();

  const redeemed = await ctx.store.codes.consume(hashSecret(code), now);
  if (!redeemed) throw invalidGrant('The authorization code is invalid');
  const { code: stored, replayed } = redeemed;
  if (replayed) {
    await ctx.store.grants.revoke(stored.grantId, now);
    ctx.logger.warn(
      { clientId: client.id, grantId: stored.grantId },
      'authorization code replayed; grant revoked',
    );
    throw invalidGrant('The authorization code has already been used');
  }
  if (stored.clientId !== client.id)
    throw invalidGrant('The authorization code was issued to another client');
  if (stored.expiresAt <= now) throw invalidGrant('The authorization code has expired');
  if (stored.redirectUri !== redirectUri)
    throw invalidGrant('redirect_uri does not match the authorization request');
  if (stored.codeChallenge !== null) {
    if (verifier === null) throw invalidRequest('code_verifier is required');
    if (!verifyPkce(verifier, stored.codeChallenge))
      throw invalidGrant('code_verifier does not match the code_challenge');
  } else if (verifier !== null) {
    throw invalidGrant('code_verifier sent for a code issued without a code_challenge');
  }

  // The grant, its session, user, organization and membership come in one read.
  const context = await ctx.store.grants.getWithContext(stored.grantId, {
    sessionId: stored.sessionId,
    userId: stored.userId,
    organizationId: stored.organizationId,
    clientId: client.id,
  });
  const session = context?.session;
  if (!context || !session || sessionExpiry(session, now))
    throw invalidGrant('The sign-in session has ended');
  if (context.grant.revokedAt) throw invalidGrant('The grant has been revoked');
  const user = activeUser(context.user);
  const access = await membershipAccess(ctx, context.organization, context.membershipRoles);

  const minted = await mintUserTokens(ctx, {
    client,
    user,
    organizationId: stored.organizationId,
    access,
    session,
    grantId: stored.grantId,
    grantScope: stored.scope,
    scope: stored.scope,
    nonce: stored.nonce,
  });
  await ctx.store.transaction(async (store) => {
    if (minted.refreshToken) await store.refreshTokens.insert(minted.refreshToken);
    // A replay may have revoked the grant while we minted: then nothing we made may stand.
    const latest = await store.grants.get(stored.grantId);
    if (!latest || latest.revokedAt) throw invalidGrant('The authorization code has already been used');
    if (!context.sessionHasClient) await store.sessions.addClient(session.id, client.id);
  });
  return minted.response;
}
