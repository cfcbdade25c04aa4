import { randomUUID } from 'node:crypto';
import type { MiddlewareHandler } from 'hono';
import type { AppEnv } from '../env.ts';

const requestIdShape = /^[A-Za-z0-9._-]{1,100}$/;

/**
 * One structured log line per request, with a request id (taken from `X-Request-Id` when it is
 * sane). Only the path is logged, never the query or body: they carry codes, tokens and secrets.
 */
export function requestLog(): MiddlewareHandler<AppEnv> {
  return async (c, next) => {
    const incoming = c.req.header('x-request-id');
    const requestId = incoming && requestIdShape.test(incoming) ? incoming : randomUUID();
    c.set('requestId', requestId);
    const started = performance.now();
    try {
      await next();
    } finally {
      c.header('X-Request-Id', requestId);
      const logger = c.get('ctx').logger;
      const status = c.res.status;
      const line = {
        requestId,
        method: c.req.method,
        path: new URL(c.req.url).pathname,
        status,
        ms: Math.round((performance.now() - started) * 10) / 10,
      };
      if (status >= 500) logger.error(line, 'request');
      else logger.info(line, 'request');
    }
  };
}
