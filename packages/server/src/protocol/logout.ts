// Enforces (OIDC RP-Initiated Logout 1.0 §2–§3): a valid id_token_hint (signature checked,
// expiry not) whose sid is this browser's session ends it without asking; otherwise the person
// confirms first (logout CSRF); post_logout_redirect_uri is honoured only when registered for
// the app the hint (or client_id) names, and never otherwise redirected to. One that comes with
// no way to tell the app (no valid hint, no client_id) does not stop the sign-out: the person
// signs out and stays on the signed-out page, told why.
import { type JWTPayload, errors as joseErrors } from 'jose';
import type { ServerContext } from '../context.ts';
import type { Client, Session } from '../storage/types.ts';
import { invalidRequest, OAuthError } from './errors.ts';
import { optionalParam, type RawParams } from './params.ts';
import { endSession } from './sessions.ts';

/** A parsed logout request. */
export interface LogoutRequest {
  hint: JWTPayload | null;
  client: Client | null;
  /** Registered for `client`: where to go afterwards. */
  postLogoutRedirectUri: string | null;
  /** Sent without an app to check it against: never redirected to (§3), kept to say why. */
  unverifiedRedirectUri: string | null;
  state: string | null;
}

/** What the logout endpoint does next. */
export type LogoutOutcome =
  | { kind: 'redirect'; location: string; ended: Session | null }
  | { kind: 'signed-out'; ended: Session | null; unverifiedRedirect: boolean }
  | { kind: 'confirm'; request: LogoutRequest };

/**
 * Validates the parameters of a logout request. An invalid hint is not an error (it only means
 * the person is asked), but a mismatched client or an unregistered redirect URI is.
 * @see https://openid.net/specs/openid-connect-rpinitiated-1_0.html#RPLogout
 */
export async function parseLogoutRequest(ctx: ServerContext, params: RawParams): Promise<LogoutRequest> {
  const rawHint = optionalParam(params, 'id_token_hint', 8192);
  const clientId = optionalParam(params, 'client_id', 200);
  const postLogoutRedirectUri = optionalParam(params, 'post_logout_redirect_uri', 2000);
  const state = optionalParam(params, 'state', 2048);

  let hint: JWTPayload | null = null;
  if (rawHint !== null) {
    try {
      ({ payload: hint } = await ctx.keys.verify(rawHint, {
        issuer: ctx.config.envUrl,
        clockToleranceSeconds: ctx.config.clockTolerance,
        allowExpired: true,
        typ: 'JWT',
      }));
    } catch (err) {
      if (!(err instanceof joseErrors.JOSEError)) throw err;
      ctx.logger.info({ reason: err.code }, 'logout with an invalid id_token_hint');
    }
  }
  const audiences = hint ? (Array.isArray(hint.aud) ? hint.aud : hint.aud ? [hint.aud] : []) : [];
  if (clientId !== null && hint && !audiences.includes(clientId)) {
    throw invalidRequest('client_id does not match the id_token_hint');
  }
  const appId = clientId ?? audiences[0] ?? null;
  const client = appId ? await ctx.store.clients.get(appId) : null;
  if (clientId !== null && !client) throw invalidRequest('The client_id is not registered');
  if (postLogoutRedirectUri !== null && !client) {
    ctx.logger.info('logout: post_logout_redirect_uri without id_token_hint or client_id, not redirecting');
    return { hint, client, postLogoutRedirectUri: null, unverifiedRedirectUri: postLogoutRedirectUri, state };
  }
  if (postLogoutRedirectUri !== null && !client?.postLogoutRedirectUris.includes(postLogoutRedirectUri)) {
    throw invalidRequest('post_logout_redirect_uri is not registered for this client');
  }
  return { hint, client, postLogoutRedirectUri, unverifiedRedirectUri: null, state };
}

/**
 * Decides and, when allowed, performs a logout for the browser's session. `confirmed` is true
 * only for the CSRF-checked confirmation form.
 */
export async function performLogout(
  ctx: ServerContext,
  input: { request: LogoutRequest; session: Session | null; confirmed: boolean },
): Promise<LogoutOutcome> {
  const { request, session } = input;
  const hintMatches = session !== null && request.hint !== null && request.hint['sid'] === session.id;
  if (session !== null && !hintMatches && !input.confirmed) return { kind: 'confirm', request };
  const ended = session ? await endSession(ctx, session.id, 'logout') : null;
  if (request.postLogoutRedirectUri) {
    const url = new URL(request.postLogoutRedirectUri);
    if (request.state !== null) url.searchParams.set('state', request.state);
    return { kind: 'redirect', location: url.toString(), ended };
  }
  return { kind: 'signed-out', ended, unverifiedRedirect: request.unverifiedRedirectUri !== null };
}

export { OAuthError };
