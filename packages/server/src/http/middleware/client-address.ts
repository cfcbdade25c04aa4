import { getConnInfo } from '@hono/node-server/conninfo';
import type { MiddlewareHandler } from 'hono';
import type { AppEnv } from '../env.ts';

/**
 * The client's address for rate limits: the socket's, or with `trustProxy` the left-most
 * X-Forwarded-For entry (set by a proxy that the operator trusts).
 */
export function clientAddress(options: { trustProxy: boolean }): MiddlewareHandler<AppEnv> {
  return async (c, next) => {
    let address: string | null = null;
    if (options.trustProxy) {
      address = c.req.header('x-forwarded-for')?.split(',')[0]?.trim() || null;
    }
    if (address === null) {
      try {
        address = getConnInfo(c).remote.address ?? null;
      } catch {
        address = null; // not served by @hono/node-server (in-process tests)
      }
    }
    c.set('clientAddress', address && address.length <= 64 ? address : null);
    await next();
  };
}
