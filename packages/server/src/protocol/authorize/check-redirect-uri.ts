// Enforces: redirect_uri is present and matches a registered URI exactly (string comparison, no
// normalisation); native apps' loopback URIs match with any port (RFC 8252 §7.3). Failure is never
// redirected (open-redirect rule, RFC 9700 §4.1).
import type { Client } from '../../storage/types.ts';
import { invalidRequest } from '../errors.ts';
import { type RawParams, requiredParam } from '../params.ts';

/**
 * Returns the verified redirect URI of an authorization request.
 * @see https://www.rfc-editor.org/rfc/rfc9700#section-4.1.3
 * @see https://www.rfc-editor.org/rfc/rfc8252#section-7.3
 */
export function checkRedirectUri(client: Client, params: RawParams): string {
  const redirectUri = requiredParam(params, 'redirect_uri', 2000);
  if (isRegisteredRedirectUri(client, redirectUri)) return redirectUri;
  throw invalidRequest('The redirect_uri is not registered for this client', `unregistered ${redirectUri}`);
}

/** Exact match, plus the loopback any-port rule for native apps. */
export function isRegisteredRedirectUri(client: Client, redirectUri: string): boolean {
  if (client.redirectUris.includes(redirectUri)) return true;
  if (client.type !== 'native') return false;
  const candidate = parseLoopback(redirectUri);
  if (!candidate) return false;
  return client.redirectUris.some((registered) => {
    const r = parseLoopback(registered);
    return r !== null && r.host === candidate.host && r.rest === candidate.rest;
  });
}

function parseLoopback(uri: string): { host: string; rest: string } | null {
  let url: URL;
  try {
    url = new URL(uri);
  } catch {
    return null;
  }
  if (url.protocol !== 'http:') return null;
  if (url.hostname !== '127.0.0.1' && url.hostname !== '[::1]') return null;
  return { host: url.hostname, rest: `${url.pathname}${url.search}` };
}
