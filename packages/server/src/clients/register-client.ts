import { hashSecret, newId, newSecret } from '../lib/ids.ts';
import type { Store } from '../storage/store.ts';
import type { Client, ClientType } from '../storage/types.ts';

/** A client registration was refused; the message names the field. */
export class ClientRegistrationError extends Error {
  readonly field: string;
  constructor(field: string, message: string) {
    super(`${field}: ${message}`);
    this.name = 'ClientRegistrationError';
    this.field = field;
  }
}

export interface RegisterClientInput {
  type: ClientType;
  name: string;
  redirectUris?: string[];
  postLogoutRedirectUris?: string[];
  backchannelLogoutUri?: string | null;
  initiateLoginUri?: string | null;
  accessTokenTtl?: number;
  allowedScopes?: string[];
  allowManagementApi?: boolean;
  organizationId?: string | null;
}

const idPrefixes = { web: 'webc', spa: 'spac', native: 'ntvc', m2m: 'm2m' } as const;
const maxRedirectUris = 5;

/**
 * Registers an app. Confidential apps (web, m2m) get a secret, returned here once and stored only
 * as a hash.
 */
export async function registerClient(
  store: Store,
  input: RegisterClientInput,
  now: Date,
): Promise<{ client: Client; secret: string | null }> {
  const name = input.name.trim();
  if (name.length === 0 || name.length > 100)
    throw new ClientRegistrationError('name', 'must be 1 to 100 characters');
  const redirectUris = input.redirectUris ?? [];
  if (redirectUris.length > maxRedirectUris) {
    throw new ClientRegistrationError('redirect_uris', `at most ${maxRedirectUris} are allowed`);
  }
  if (input.type === 'm2m' && redirectUris.length > 0) {
    throw new ClientRegistrationError('redirect_uris', 'machine clients have no redirect URIs');
  }
  if (input.type !== 'm2m' && redirectUris.length === 0) {
    throw new ClientRegistrationError('redirect_uris', 'at least one is required');
  }
  for (const uri of redirectUris) checkUri('redirect_uris', uri, input.type);
  const postLogoutRedirectUris = input.postLogoutRedirectUris ?? [];
  for (const uri of postLogoutRedirectUris) checkUri('post_logout_redirect_uris', uri, input.type);
  if (input.backchannelLogoutUri) checkUri('backchannel_logout_uri', input.backchannelLogoutUri, 'web');
  if (input.initiateLoginUri) checkUri('initiate_login_uri', input.initiateLoginUri, 'web');
  if (input.allowManagementApi && input.type !== 'web') {
    throw new ClientRegistrationError(
      'allow_management_api',
      'only web apps may be allowed the management API',
    );
  }
  const accessTokenTtl = input.accessTokenTtl ?? 300;
  if (!Number.isInteger(accessTokenTtl) || accessTokenTtl < 30 || accessTokenTtl > 86400) {
    throw new ClientRegistrationError(
      'access_token_ttl',
      'must be a whole number of seconds from 30 to 86400',
    );
  }
  const client: Client = {
    id: newId(idPrefixes[input.type]),
    type: input.type,
    name,
    redirectUris,
    postLogoutRedirectUris,
    backchannelLogoutUri: input.backchannelLogoutUri ?? null,
    initiateLoginUri: input.initiateLoginUri ?? null,
    accessTokenTtl,
    allowedScopes:
      input.allowedScopes ?? (input.type === 'm2m' ? [] : ['openid', 'profile', 'email', 'offline_access']),
    allowManagementApi: input.allowManagementApi ?? false,
    organizationId: input.organizationId ?? null,
    createdAt: now,
    updatedAt: now,
  };
  const confidential = input.type === 'web' || input.type === 'm2m';
  const secret = confidential ? newSecret() : null;
  await store.transaction(async (tx) => {
    await tx.clients.insert(client);
    if (secret) {
      await tx.clients.insertSecret({
        id: newId('sec'),
        clientId: client.id,
        secretHash: hashSecret(secret),
        hint: secret.slice(-4),
        createdAt: now,
        expiresAt: null,
      });
    }
  });
  return { client, secret };
}

/**
 * Adds a new secret to a confidential app. The previous one keeps working until it is deleted or
 * `previousExpiresAt` passes, so deployments can switch without downtime; at most two live at once.
 */
export async function rotateClientSecret(
  store: Store,
  clientId: string,
  now: Date,
  previousExpiresAt: Date | null,
): Promise<{ secret: string; secretId: string }> {
  return store.transaction(async (tx) => {
    const client = await tx.clients.get(clientId);
    if (!client) throw new ClientRegistrationError('client_id', `no app ${clientId}`);
    if (client.type !== 'web' && client.type !== 'm2m') {
      throw new ClientRegistrationError('client_id', 'public clients have no secret');
    }
    const active = await tx.clients.activeSecrets(clientId, now);
    // Keep only the newest existing secret alongside the new one.
    for (const old of active.slice(1)) await tx.clients.deleteSecret(clientId, old.id);
    const newest = active[0];
    if (newest && previousExpiresAt) await tx.clients.expireSecret(clientId, newest.id, previousExpiresAt);
    const secret = newSecret();
    const secretId = newId('sec');
    await tx.clients.insertSecret({
      id: secretId,
      clientId,
      secretHash: hashSecret(secret),
      hint: secret.slice(-4),
      createdAt: now,
      expiresAt: null,
    });
    return { secret, secretId };
  });
}

function checkUri(field: string, uri: string, type: ClientType): void {
  let url: URL;
  try {
    url = new URL(uri);
  } catch {
    throw new ClientRegistrationError(field, `${uri} is not an absolute URL`);
  }
  if (url.hash) throw new ClientRegistrationError(field, `${uri} must not have a fragment`);
  const loopback =
    ['localhost', '127.0.0.1', '[::1]'].includes(url.hostname) || url.hostname.endsWith('.localhost');
  if (url.protocol === 'https:') return;
  if (url.protocol === 'http:' && loopback) return;
  // Native apps may use private-use schemes (RFC 8252 §7.1): reverse-domain names with a dot.
  if (type === 'native' && /^[a-z][a-z0-9+.-]*\.[a-z0-9+.-]+:$/i.test(url.protocol)) return;
  throw new ClientRegistrationError(field, `${uri} must use https (http only for localhost)`);
}
