import type { ServerContext } from '../context.ts';
import { verifyLiveAccessToken } from './access-tokens.ts';
import { type UserClaims, userClaims } from './claims.ts';
import { OAuthError } from './errors.ts';

/**
 * The UserInfo response for a bearer access token: `sub` plus the claims its scopes grant.
 * @see https://openid.net/specs/openid-connect-core-1_0.html#UserInfo
 */
export async function getUserInfo(
  ctx: ServerContext,
  accessToken: string,
): Promise<UserClaims & { sub: string; oid?: string }> {
  const { payload } = await verifyLiveAccessToken(ctx, accessToken);
  const scope = typeof payload.scope === 'string' ? payload.scope.split(' ') : [];
  if (!scope.includes('openid'))
    throw new OAuthError('insufficient_scope', 'The access token lacks the openid scope');
  const user = payload.sub ? await ctx.store.users.get(payload.sub) : null;
  if (!user || user.disabled)
    throw new OAuthError('invalid_token', 'The user of this token is no longer active');
  const info: UserClaims & { sub: string; oid?: string } = { sub: user.id, ...userClaims(user, scope) };
  if (typeof payload['oid'] === 'string') info.oid = payload['oid'];
  return info;
}
