// Enforces (RFC 7009): the client authenticates; a token of another client, an unknown token or
// one already revoked is answered 200 without effect; revoking a refresh token or an access token
// revokes its whole grant.
import { decodeJwt } from 'jose';
import type { ServerContext } from '../context.ts';
import { hashSecret } from '../lib/ids.ts';
import { optionalParam, type RawParams, requiredParam } from './params.ts';
import { authenticateClient } from './token/client-auth.ts';
import { grantIdFromJti } from './tokens.ts';

/** Revokes a token. @see https://www.rfc-editor.org/rfc/rfc7009#section-2.1 */
export async function revokeToken(
  ctx: ServerContext,
  input: { params: RawParams; authorization: string | null },
): Promise<void> {
  const { client } = await authenticateClient(ctx, input.params, input.authorization);
  const token = requiredParam(input.params, 'token', 8192);
  // Both kinds are looked up anyway, so the hint changes nothing; "an invalid token type hint value
  // is ignored by the authorization server" (RFC 7009 §2.2). Sent twice is still malformed.
  optionalParam(input.params, 'token_type_hint');
  const now = ctx.config.now();
  const refresh = await ctx.store.refreshTokens.getByHash(hashSecret(token));
  if (refresh) {
    if (refresh.clientId === client.id) await ctx.store.grants.revoke(refresh.grantId, now);
    return;
  }
  // An access token: only its grant can be revoked, and only if it is really ours and this client's.
  let claims: ReturnType<typeof decodeJwt>;
  try {
    claims = decodeJwt(token);
  } catch {
    return;
  }
  const grantId = typeof claims.jti === 'string' ? grantIdFromJti(claims.jti) : null;
  if (!grantId || claims['client_id'] !== client.id) return;
  try {
    await ctx.keys.verify(token, {
      issuer: ctx.config.envUrl,
      typ: 'at+jwt',
      clockToleranceSeconds: ctx.config.clockTolerance,
      allowExpired: true,
    });
  } catch {
    return;
  }
  await ctx.store.grants.revoke(grantId, now);
}
