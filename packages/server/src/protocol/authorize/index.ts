import type { Config } from '../../config/config.ts';
import type { Store } from '../../storage/store.ts';
import type { AuthorizationRequest, Client } from '../../storage/types.ts';
import { OAuthError, toOAuthError } from '../errors.ts';
import type { RawParams } from '../params.ts';
import type { AuthorizeCheck } from './check.ts';
import { checkClient } from './check-client.ts';
import { checkHints } from './check-hints.ts';
import { checkMaxAge } from './check-max-age.ts';
import { checkPkce } from './check-pkce.ts';
import { checkPrompt } from './check-prompt.ts';
import { checkRedirectUri } from './check-redirect-uri.ts';
import { checkResponseMode } from './check-response-mode.ts';
import { checkResponseType } from './check-response-type.ts';
import { checkScope } from './check-scope.ts';
import { checkState } from './check-state.ts';

/**
 * The checks that run once the client and its redirect URI are verified, in order. Their errors
 * are redirected to the client.
 */
export const authorizeChecks: ReadonlyArray<readonly [string, AuthorizeCheck]> = [
  ['state', checkState],
  ['response_mode', checkResponseMode],
  ['response_type', checkResponseType],
  ['scope', checkScope],
  ['pkce', checkPkce],
  ['prompt', checkPrompt],
  ['max_age', checkMaxAge],
  ['hints', checkHints],
];

/** The outcome of validating an authorization request. */
export type AuthorizeValidation =
  | { ok: true; client: Client; request: AuthorizationRequest }
  /** Client or redirect URI not verified: render an error page, never redirect. */
  | { ok: false; redirectable: false; error: OAuthError; client: Client | null }
  /** Redirect the error to the verified redirect URI. */
  | {
      ok: false;
      redirectable: true;
      error: OAuthError;
      client: Client;
      redirectUri: string;
      state: string | null;
      responseMode: 'query' | 'form_post';
    };

/**
 * Validates an authorization request: client, then redirect URI (errors rendered), then the rest
 * (errors redirected).
 * @see https://www.rfc-editor.org/rfc/rfc6749#section-4.1.2.1
 */
export async function validateAuthorizationRequest(
  store: Store,
  config: Config,
  params: RawParams,
): Promise<AuthorizeValidation> {
  let client: Client | null = null;
  let redirectUri: string;
  try {
    client = await checkClient(store, params);
    redirectUri = checkRedirectUri(client, params);
  } catch (err) {
    return { ok: false, redirectable: false, error: toOAuthError(err), client };
  }
  const request: Partial<AuthorizationRequest> = { clientId: client.id, redirectUri };
  for (const [, check] of authorizeChecks) {
    try {
      check({ params, client, config }, request);
    } catch (err) {
      const error = toOAuthError(err);
      return {
        ok: false,
        redirectable: true,
        error,
        client,
        redirectUri,
        state: safeState(params),
        responseMode: request.responseMode ?? 'query',
      };
    }
  }
  return { ok: true, client, request: request as AuthorizationRequest };
}

/** The state to echo on an error: only a single, sane value. */
function safeState(params: RawParams): string | null {
  const values = params.get('state');
  if (values?.length !== 1) return null;
  const value = values[0] as string;
  return value.length > 0 && value.length <= 2048 ? value : null;
}

export { OAuthError };
