/**
 * The OAuth 2.0 / OpenID Connect error model: one error class, a closed union of codes, and the
 * single table that maps a code to its HTTP status.
 * @see https://www.rfc-editor.org/rfc/rfc6749#section-5.2
 * @see https://openid.net/specs/openid-connect-core-1_0.html#AuthError
 */

/** Every error code the server can put on the wire. */
export type OAuthErrorCode =
  | 'invalid_request'
  | 'invalid_client'
  | 'invalid_grant'
  | 'unauthorized_client'
  | 'unsupported_grant_type'
  | 'unsupported_response_type'
  | 'invalid_scope'
  | 'access_denied'
  | 'login_required'
  | 'consent_required'
  | 'interaction_required'
  | 'account_selection_required'
  | 'invalid_token'
  | 'insufficient_scope'
  | 'unsupported_token_type'
  | 'slow_down'
  | 'server_error'
  | 'temporarily_unavailable';

/** The HTTP status each code is answered with when it is not carried by a redirect. */
export const oauthErrorStatus: Record<OAuthErrorCode, number> = {
  invalid_request: 400,
  invalid_client: 401,
  invalid_grant: 400,
  unauthorized_client: 400,
  unsupported_grant_type: 400,
  unsupported_response_type: 400,
  invalid_scope: 400,
  access_denied: 403,
  login_required: 400,
  consent_required: 400,
  interaction_required: 400,
  account_selection_required: 400,
  invalid_token: 401,
  insufficient_scope: 403,
  unsupported_token_type: 400,
  slow_down: 429,
  server_error: 500,
  temporarily_unavailable: 503,
};

/**
 * A protocol error. `description` is safe to show to the client; `detail` is for logs only.
 */
export class OAuthError extends Error {
  readonly code: OAuthErrorCode;
  readonly description: string;
  readonly detail: string | undefined;

  constructor(code: OAuthErrorCode, description: string, options?: { detail?: string; cause?: unknown }) {
    super(`${code}: ${description}`, options?.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'OAuthError';
    this.code = code;
    this.description = description;
    this.detail = options?.detail;
  }

  get status(): number {
    return oauthErrorStatus[this.code];
  }

  /** The RFC 6749 §5.2 JSON body. */
  toJSON(): { error: OAuthErrorCode; error_description: string } {
    return { error: this.code, error_description: this.description };
  }
}

/** Shorthands so throw sites read like the RFC. */
export const invalidRequest = (description: string, detail?: string) =>
  new OAuthError('invalid_request', description, detail === undefined ? undefined : { detail });
export const invalidClient = (description: string, detail?: string) =>
  new OAuthError('invalid_client', description, detail === undefined ? undefined : { detail });
export const invalidGrant = (description: string, detail?: string) =>
  new OAuthError('invalid_grant', description, detail === undefined ? undefined : { detail });
export const invalidScope = (description: string) => new OAuthError('invalid_scope', description);
export const unauthorizedClient = (description: string) => new OAuthError('unauthorized_client', description);

/**
 * Turns anything thrown into an OAuthError. Unknown failures become `server_error` (with the cause
 * kept for the log); a storage outage becomes `temporarily_unavailable`.
 */
export function toOAuthError(err: unknown): OAuthError {
  if (err instanceof OAuthError) return err;
  if (isUnavailable(err)) {
    return new OAuthError(
      'temporarily_unavailable',
      'The service is temporarily unavailable, try again shortly',
      {
        cause: err,
      },
    );
  }
  return new OAuthError('server_error', 'An unexpected error occurred', { cause: err });
}

/** A storage backend that cannot be reached marks its errors with this symbol. */
export const unavailableMark: unique symbol = Symbol.for('sesame.unavailable');

function isUnavailable(err: unknown): boolean {
  return (
    typeof err === 'object' && err !== null && (err as Record<symbol, unknown>)[unavailableMark] === true
  );
}
