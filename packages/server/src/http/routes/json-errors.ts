import type { Context } from 'hono';
import { MissingTokenError } from '../../protocol/access-tokens.ts';
import { type OAuthError, toOAuthError } from '../../protocol/errors.ts';
import { BasicAuthError } from '../../protocol/token/client-auth.ts';
import type { AppEnv } from '../env.ts';

/**
 * Answers an RFC 6749 §5.2 JSON error; unexpected failures are logged with their cause and become
 * `server_error` (or `temporarily_unavailable`) with no detail on the wire.
 */
export function sendJsonError(c: Context<AppEnv>, err: unknown): Response {
  const error: OAuthError = toOAuthError(err);
  const logger = c.get('ctx').logger;
  if (error.code === 'server_error' || error.code === 'temporarily_unavailable') {
    logger.error({ err: error.cause ?? error, requestId: c.get('requestId') }, 'request failed');
  } else {
    logger.info(
      { error: error.code, detail: error.detail ?? error.description, requestId: c.get('requestId') },
      'oauth error',
    );
  }
  c.header('Cache-Control', 'no-store');
  if (error instanceof BasicAuthError) c.header('WWW-Authenticate', 'Basic realm="sesame", charset="UTF-8"');
  if (error instanceof MissingTokenError) c.header('WWW-Authenticate', 'Bearer realm="sesame"');
  else if (error.code === 'invalid_token' || error.code === 'insufficient_scope') {
    c.header(
      'WWW-Authenticate',
      `Bearer error="${error.code}", error_description="${error.description.replace(/"/g, "'")}"`,
    );
  }
  if (error.code === 'temporarily_unavailable') c.header('Retry-After', '5');
  return c.json(error.toJSON(), error.status as 400);
}

/** 405 with `Allow`, as an OAuth-style JSON error. */
export function methodNotAllowed(c: Context<AppEnv>, allow: string): Response {
  c.header('Allow', allow);
  c.header('Cache-Control', 'no-store');
  return c.json(
    { error: 'invalid_request', error_description: `${c.req.method} is not allowed here; use ${allow}` },
    405,
  );
}
