import type { ServerContext } from '../../context.ts';
import { hashSecret, newId, newSecret } from '../../lib/ids.ts';
import type { AuthorizationRequest, Session } from '../../storage/types.ts';
import { type AuthorizationResponse, buildAuthorizationResponse } from './respond.ts';

/**
 * Issues a single-use authorization code (10-minute life) bound to the client, redirect URI,
 * scope, nonce, PKCE challenge, user, organization, session and `auth_time`, under a new grant,
 * and builds the response that carries it.
 * @see https://www.rfc-editor.org/rfc/rfc6749#section-4.1.2
 */
export async function issueAuthorizationCode(
  ctx: ServerContext,
  input: { request: AuthorizationRequest; session: Session; organizationId: string | null },
): Promise<AuthorizationResponse> {
  const { request, session } = input;
  const now = ctx.config.now();
  const code = newSecret();
  const grantId = newId('grt');
  const expiresAt = new Date(now.getTime() + ctx.config.codeTtl * 1000);
  await ctx.store.transaction(async (store) => {
    await store.grants.insert({
      id: grantId,
      clientId: request.clientId,
      userId: session.userId,
      sessionId: session.id,
      createdAt: now,
      expiresAt: session.absoluteExpiresAt > expiresAt ? session.absoluteExpiresAt : expiresAt,
      revokedAt: null,
    });
    await store.codes.insert({
      codeHash: hashSecret(code),
      grantId,
      clientId: request.clientId,
      redirectUri: request.redirectUri,
      scope: request.scope,
      nonce: request.nonce,
      codeChallenge: request.codeChallenge,
      codeChallengeMethod: request.codeChallengeMethod,
      userId: session.userId,
      organizationId: input.organizationId,
      sessionId: session.id,
      authTime: session.authTime,
      amr: session.amr,
      createdAt: now,
      expiresAt,
      consumedAt: null,
    });
    if (session.organizationId !== input.organizationId) {
      await store.sessions.setOrganization(session.id, input.organizationId);
    }
  });
  return buildAuthorizationResponse({
    redirectUri: request.redirectUri,
    responseMode: request.responseMode,
    issuer: ctx.config.envUrl,
    params: { code, state: request.state },
  });
}
