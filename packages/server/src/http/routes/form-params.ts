import type { Context } from 'hono';
import { invalidRequest } from '../../protocol/errors.ts';
import { collectParams } from '../../protocol/params.ts';
import type { AppEnv } from '../env.ts';

/**
 * The parameters of a token, revocation or introspection request: form-encoded body only
 * (RFC 6749 §3.2), and nothing in the query (credentials must not travel in URLs).
 */
export async function readTokenRequestParams(c: Context<AppEnv>): Promise<Map<string, string[]>> {
  const type = c.req.header('content-type') ?? '';
  if (!/^application\/x-www-form-urlencoded\s*(;|$)/i.test(type)) {
    throw invalidRequest('The request body must be application/x-www-form-urlencoded');
  }
  if (new URL(c.req.url).search.length > 1) {
    throw invalidRequest('Parameters must be sent in the request body, not the URL');
  }
  return collectParams(new URLSearchParams(await c.req.text()));
}
