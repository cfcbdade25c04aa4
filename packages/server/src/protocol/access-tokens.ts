import { type JWTPayload, errors as joseErrors } from 'jose';
import type { ServerContext } from '../context.ts';
import { OAuthError } from './errors.ts';
import { sessionExpiry } from './sessions.ts';
import { grantIdFromJti } from './tokens.ts';

/** A request without any access token (RFC 6750 §3.1: answered without an error code). */
export class MissingTokenError extends OAuthError {
  constructor() {
    super('invalid_token', 'An access token is required');
  }
}

/** A verified access token that is still live: signature, expiry, grant and session all hold. */
export interface LiveAccessToken {
  payload: JWTPayload & { client_id?: string; scope?: string; sid?: string; scopes?: string[] };
}

/**
 * Verifies one of our access tokens and checks it has not been revoked since it was issued (its
 * grant revoked, its session ended). Throws `invalid_token`.
 * @see https://www.rfc-editor.org/rfc/rfc9068#section-4
 */
export async function verifyLiveAccessToken(ctx: ServerContext, token: string): Promise<LiveAccessToken> {
  let payload: JWTPayload;
  try {
    ({ payload } = await ctx.keys.verify(token, {
      issuer: ctx.config.envUrl,
      typ: 'at+jwt',
      clockToleranceSeconds: ctx.config.clockTolerance,
    }));
  } catch (err) {
    if (err instanceof joseErrors.JOSEError) {
      throw new OAuthError('invalid_token', 'The access token is invalid or expired', { detail: err.code });
    }
    throw err;
  }
  const now = ctx.config.now();
  const grantId = typeof payload.jti === 'string' ? grantIdFromJti(payload.jti) : null;
  if (grantId) {
    const grant = await ctx.store.grants.get(grantId);
    if (grant?.revokedAt) throw new OAuthError('invalid_token', 'The access token has been revoked');
  }
  if (typeof payload['sid'] === 'string') {
    const session = await ctx.store.sessions.get(payload['sid']);
    if (!session || sessionExpiry(session, now)) {
      throw new OAuthError('invalid_token', 'The sign-in session of this token has ended');
    }
  }
  return { payload: payload as LiveAccessToken['payload'] };
}
