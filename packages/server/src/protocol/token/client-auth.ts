// Enforces: exactly one client authentication method per request (RFC 6749 §2.3); Basic
// credentials are form-urlencoded before base64 (§2.3.1); secrets compared in constant time
// against every active secret (rotation keeps two); public clients send only client_id.
import { timingSafeEqual } from 'node:crypto';
import type { ServerContext } from '../../context.ts';
import { hashSecret } from '../../lib/ids.ts';
import type { Client } from '../../storage/types.ts';
import { invalidClient, invalidRequest, OAuthError } from '../errors.ts';
import { optionalParam, type RawParams } from '../params.ts';

export type ClientAuthMethod = 'client_secret_basic' | 'client_secret_post' | 'none';

/** The authenticated client of a token, revocation or introspection request. */
export interface AuthenticatedClient {
  client: Client;
  method: ClientAuthMethod;
}

/** Raised for `invalid_client` when Basic was used, so the route adds `WWW-Authenticate`. */
export class BasicAuthError extends OAuthError {}

/**
 * Authenticates the client from the Authorization header or the form body.
 * @see https://www.rfc-editor.org/rfc/rfc6749#section-2.3.1
 */
export async function authenticateClient(
  ctx: ServerContext,
  params: RawParams,
  authorization: string | null,
): Promise<AuthenticatedClient> {
  const basic = authorization !== null ? parseBasic(authorization) : null;
  const bodyId = optionalParam(params, 'client_id', 200);
  const bodySecret = optionalParam(params, 'client_secret', 512);
  if (basic && bodySecret !== null) {
    throw invalidRequest('Use one client authentication method, not both Basic and client_secret');
  }
  if (basic && bodyId !== null && bodyId !== basic.id) {
    throw invalidRequest('client_id in the body does not match the Authorization header');
  }
  const clientId = basic?.id ?? bodyId;
  const fail = (detail: string) =>
    basic
      ? new BasicAuthError('invalid_client', 'Client authentication failed', { detail })
      : invalidClient('Client authentication failed', detail);
  if (clientId === null) throw invalidClient('Client authentication is required (client_id is missing)');
  const found = await ctx.store.clients.getWithActiveSecrets(clientId, ctx.config.now());
  if (!found) throw fail(`unknown client ${clientId}`);
  const { client, secrets } = found;

  const presented = basic?.secret ?? bodySecret;
  if (client.type === 'spa' || client.type === 'native') {
    if (presented !== null) throw fail('a public client presented a secret');
    return { client, method: 'none' };
  }
  if (presented === null) throw fail('confidential client sent no secret');
  const presentedHash = Buffer.from(hashSecret(presented));
  let matched = false;
  for (const secret of secrets) {
    const stored = Buffer.from(secret.secretHash);
    // Both are base64url SHA-256 digests of equal length; compare every one, match or not.
    if (stored.length === presentedHash.length && timingSafeEqual(stored, presentedHash)) matched = true;
  }
  if (!matched) throw fail('wrong client secret');
  return { client, method: basic ? 'client_secret_basic' : 'client_secret_post' };
}

function parseBasic(header: string): { id: string; secret: string } | null {
  const match = /^Basic\s+([A-Za-z0-9+/=_-]+)\s*$/i.exec(header);
  if (!match) {
    if (/^Basic\b/i.test(header)) throw invalidRequest('Malformed Basic authorization header');
    return null;
  }
  const decoded = Buffer.from(match[1] as string, 'base64').toString('utf8');
  const colon = decoded.indexOf(':');
  if (colon < 0) throw invalidRequest('Malformed Basic authorization header');
  try {
    return {
      id: decodeURIComponent(decoded.slice(0, colon).replace(/\+/g, ' ')),
      secret: decodeURIComponent(decoded.slice(colon + 1).replace(/\+/g, ' ')),
    };
  } catch {
    throw invalidRequest('Malformed Basic authorization header');
  }
}
