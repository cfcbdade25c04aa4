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
    // Set before the route answers, so it is part of the response as built: a header added to a
    // finished response makes Hono rebuild it as a stream (a third of the cost of a small answer).
    c.header('X-Request-Id', requestId);
    const started = performance.now();
    try {
      await next();
    } finally {
      const logger = c.get('ctx').logger;
      const status = c.res.status;
      const level = status >= 500 ? 'error' : 'info';
      // The line is built only when it is written (production runs at warn: 2xx lines are not).
      if (logger.isLevelEnabled(level)) {
        const line = {
          requestId,
          method: c.req.method,
          path: new URL(c.req.url).pathname,
          status,
          ms: Math.round((performance.now() - started) * 10) / 10,
        };
        logger[level](line, 'request');
      }
    }
  };
}
