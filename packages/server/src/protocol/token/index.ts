import type { ServerContext } from '../../context.ts';
import { OAuthError, unauthorizedClient } from '../errors.ts';
import { type RawParams, requiredParam } from '../params.ts';
import { exchangeAuthorizationCode } from './authorization-code.ts';
import { authenticateClient } from './client-auth.ts';
import { exchangeClientCredentials } from './client-credentials.ts';
import type { TokenResponse } from './issue-user-tokens.ts';
import { exchangeRefreshToken } from './refresh-token.ts';

/** Every grant the token endpoint serves, and who may use it. */
const grants = {
  authorization_code: { handler: exchangeAuthorizationCode, clientTypes: ['web', 'spa', 'native'] },
  refresh_token: { handler: exchangeRefreshToken, clientTypes: ['web', 'spa', 'native'] },
  client_credentials: { handler: exchangeClientCredentials, clientTypes: ['web', 'm2m'] },
} as const;

export type GrantType = keyof typeof grants;
export const supportedGrantTypes = Object.keys(grants) as GrantType[];

/**
 * The token endpoint: authenticates the client, then runs the grant.
 * @see https://www.rfc-editor.org/rfc/rfc6749#section-3.2
 */
export async function handleTokenRequest(
  ctx: ServerContext,
  input: { params: RawParams; authorization: string | null },
): Promise<TokenResponse> {
  const grantType = requiredParam(input.params, 'grant_type', 100);
  if (!Object.hasOwn(grants, grantType)) {
    throw new OAuthError('unsupported_grant_type', `Unsupported grant_type: ${grantType}`);
  }
  const grant = grants[grantType as GrantType];
  const { client } = await authenticateClient(ctx, input.params, input.authorization);
  if (!(grant.clientTypes as readonly string[]).includes(client.type)) {
    throw unauthorizedClient(`This client may not use the ${grantType} grant`);
  }
  return grant.handler(ctx, client, input.params);
}

export type { TokenResponse };
