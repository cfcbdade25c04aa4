// Enforces (RFC 6749 §4.4): only machine clients and web apps allowed the management API may
// use client_credentials; requested scopes must be among the client's allowed scopes.
import type { ServerContext } from '../../context.ts';
import type { Client } from '../../storage/types.ts';
import { invalidScope, unauthorizedClient } from '../errors.ts';
import { optionalParam, parseScope, type RawParams } from '../params.ts';
import { mintMachineToken } from '../tokens.ts';
import type { TokenResponse } from './issue-user-tokens.ts';

/** Issues a machine access token. @see https://www.rfc-editor.org/rfc/rfc6749#section-4.4.2 */
export async function exchangeClientCredentials(
  ctx: ServerContext,
  client: Client,
  params: RawParams,
): Promise<TokenResponse> {
  const allowed = client.type === 'm2m' || (client.type === 'web' && client.allowManagementApi);
  if (!allowed) throw unauthorizedClient('This client may not use the client_credentials grant');
  const requested = parseScope(optionalParam(params, 'scope', 1000));
  const machineScopes = client.allowedScopes.filter(
    (s) => !['openid', 'profile', 'email', 'offline_access'].includes(s),
  );
  const notAllowed = requested.filter((s) => !machineScopes.includes(s));
  if (notAllowed.length > 0) throw invalidScope(`Scope not allowed for this client: ${notAllowed.join(' ')}`);
  const scopes = requested.length > 0 ? requested : machineScopes;
  const issued = await mintMachineToken(ctx, { client, scopes });
  return {
    access_token: issued.token,
    token_type: 'Bearer',
    expires_in: issued.expiresIn,
    scope: scopes.join(' '),
  };
}
