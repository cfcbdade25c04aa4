/**
 * The SDK's one error type. `code` is stable (switch on it); `kind` says who failed: the provider
 * answered with an OAuth error, the network failed, the provider's answer was malformed, or we
 * rejected what came back.
 */
export type AuthErrorCode =
  | 'ERR_CONFIG'
  | 'ERR_DISCOVERY'
  | 'ERR_STATE_MISSING'
  | 'ERR_STATE_MISMATCH'
  | 'ERR_CALLBACK_ERROR'
  | 'ERR_ISSUER_MISMATCH'
  | 'ERR_CODE_EXCHANGE'
  | 'ERR_ID_TOKEN_INVALID'
  | 'ERR_ACCESS_TOKEN_INVALID'
  | 'ERR_REFRESH_FAILED'
  | 'ERR_SESSION_INVALID'
  | 'ERR_LOGOUT_TOKEN_INVALID'
  | 'ERR_MANAGEMENT_API';

export type AuthErrorKind = 'provider' | 'network' | 'malformed' | 'validation' | 'config';

export class AuthError extends Error {
  readonly code: AuthErrorCode;
  readonly kind: AuthErrorKind;
  /** The provider's OAuth `error`, when it sent one. */
  readonly oauthError: string | undefined;
  /** The provider's `error_description`, when it sent one (safe to log, not to trust). */
  readonly oauthErrorDescription: string | undefined;

  constructor(
    code: AuthErrorCode,
    kind: AuthErrorKind,
    message: string,
    options?: { cause?: unknown; oauthError?: string; oauthErrorDescription?: string },
  ) {
    super(message, options?.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'AuthError';
    this.code = code;
    this.kind = kind;
    this.oauthError = options?.oauthError;
    this.oauthErrorDescription = options?.oauthErrorDescription;
  }
}
