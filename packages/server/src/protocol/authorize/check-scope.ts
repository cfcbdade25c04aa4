// Enforces: every requested scope is one the server supports and the client is allowed; a request
// without scope gets `openid`.
import { invalidScope } from '../errors.ts';
import { optionalParam, parseScope } from '../params.ts';
import type { AuthorizeCheck } from './check.ts';

/** Scopes this server understands. */
export const supportedScopes = ['openid', 'profile', 'email', 'offline_access'] as const;

/** @see https://www.rfc-editor.org/rfc/rfc6749#section-3.3 */
export const checkScope: AuthorizeCheck = ({ params, client }, request) => {
  const requested = parseScope(optionalParam(params, 'scope', 1000));
  const scope = requested.length > 0 ? requested : ['openid'];
  const unknown = scope.filter((s) => !(supportedScopes as readonly string[]).includes(s));
  if (unknown.length > 0) throw invalidScope(`Unsupported scope: ${unknown.join(' ')}`);
  const notAllowed = scope.filter((s) => !client.allowedScopes.includes(s));
  if (notAllowed.length > 0) throw invalidScope(`Scope not allowed for this client: ${notAllowed.join(' ')}`);
  request.scope = scope;
};
