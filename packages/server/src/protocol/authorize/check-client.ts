// Enforces: client_id is present, sent once and names a registered app that may use the
// authorization endpoint (machine clients may not). Failure is never redirected: the app is unknown.
import type { Store } from '../../storage/store.ts';
import type { Client } from '../../storage/types.ts';
import { invalidRequest, OAuthError } from '../errors.ts';
import { type RawParams, requiredParam } from '../params.ts';

/** Finds the client of an authorization request. @see https://www.rfc-editor.org/rfc/rfc6749#section-4.1.2.1 */
export async function checkClient(store: Store, params: RawParams): Promise<Client> {
  const clientId = requiredParam(params, 'client_id', 200);
  const client = await store.clients.get(clientId);
  if (!client) throw invalidRequest('The client_id is not registered', `unknown client ${clientId}`);
  if (client.type === 'm2m') {
    throw new OAuthError('unauthorized_client', 'This client may not use the authorization endpoint');
  }
  return client;
}
