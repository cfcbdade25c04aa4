// Enforces (RFC 7662): only confidential clients may introspect (any token of this issuer, as a
// resource server would); a token that is invalid, expired, revoked or whose session ended is
// `{ "active": false }` and nothing more; an unknown token_type_hint is ignored (§2.1).
import type { ServerContext } from '../context.ts';
import { hashSecret } from '../lib/ids.ts';
import { verifyLiveAccessToken } from './access-tokens.ts';
import { OAuthError, unauthorizedClient } from './errors.ts';
import { optionalParam, type RawParams, requiredParam } from './params.ts';
import { sessionExpiry } from './sessions.ts';
import { authenticateClient } from './token/client-auth.ts';
import { epochSeconds } from './tokens.ts';

/** The introspection response. @see https://www.rfc-editor.org/rfc/rfc7662#section-2.2 */
export type IntrospectionResponse = { active: false } | ({ active: true } & Record<string, unknown>);

/** Introspects an access or refresh token. @see https://www.rfc-editor.org/rfc/rfc7662#section-2.1 */
export async function introspectToken(
  ctx: ServerContext,
  input: { params: RawParams; authorization: string | null },
): Promise<IntrospectionResponse> {
  const { method } = await authenticateClient(ctx, input.params, input.authorization);
  if (method === 'none') throw unauthorizedClient('Only confidential clients may introspect tokens');
  const token = requiredParam(input.params, 'token', 8192);
  // Read only to refuse a repeated hint; both kinds are looked up either way.
  optionalParam(input.params, 'token_type_hint', 50);
  const now = ctx.config.now();
  const refresh = await ctx.store.refreshTokens.getByHash(hashSecret(token));
  if (refresh) {
    const session = await ctx.store.sessions.get(refresh.sessionId);
    const live =
      !refresh.revokedAt &&
      !refresh.rotatedAt &&
      refresh.expiresAt > now &&
      session !== null &&
      !sessionExpiry(session, now);
    if (!live) return { active: false };
    return {
      active: true,
      token_type: 'refresh_token',
      client_id: refresh.clientId,
      sub: refresh.userId,
      scope: refresh.scope.join(' '),
      exp: epochSeconds(refresh.expiresAt),
      iat: epochSeconds(refresh.createdAt),
      iss: ctx.config.envUrl,
      sid: refresh.sessionId,
      ...(refresh.organizationId ? { oid: refresh.organizationId } : {}),
    };
  }
  try {
    const { payload } = await verifyLiveAccessToken(ctx, token);
    return { active: true, token_type: 'Bearer', ...payload };
  } catch (err) {
    if (err instanceof OAuthError && err.code === 'invalid_token') return { active: false };
    throw err;
  }
}
