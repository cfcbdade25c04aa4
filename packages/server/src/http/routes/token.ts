import type { Hono } from 'hono';
import { introspectToken } from '../../protocol/introspection.ts';
import { revokeToken } from '../../protocol/revocation.ts';
import { handleTokenRequest } from '../../protocol/token/index.ts';
import type { AppEnv } from '../env.ts';
import { applySpaCors } from './cors.ts';
import { readTokenRequestParams } from './form-params.ts';
import { methodNotAllowed, sendJsonError } from './json-errors.ts';

/** `POST /oauth/token`, `/oauth/revoke`, `/oauth/introspect`: thin shells over the protocol. */
export function tokenRoutes(app: Hono<AppEnv>): void {
  app.on(['POST', 'OPTIONS'], '/oauth/token', async (c) => {
    const preflight = await applySpaCors(c);
    if (preflight) return preflight;
    try {
      const params = await readTokenRequestParams(c);
      const response = await handleTokenRequest(c.get('ctx'), {
        params,
        authorization: c.req.header('authorization') ?? null,
      });
      c.header('Cache-Control', 'no-store');
      c.header('Pragma', 'no-cache');
      return c.json(response);
    } catch (err) {
      return sendJsonError(c, err);
    }
  });

  app.on(['POST', 'OPTIONS'], '/oauth/revoke', async (c) => {
    const preflight = await applySpaCors(c);
    if (preflight) return preflight;
    try {
      const params = await readTokenRequestParams(c);
      await revokeToken(c.get('ctx'), { params, authorization: c.req.header('authorization') ?? null });
      c.header('Cache-Control', 'no-store');
      return c.body(null, 200);
    } catch (err) {
      return sendJsonError(c, err);
    }
  });

  app.post('/oauth/introspect', async (c) => {
    try {
      const params = await readTokenRequestParams(c);
      const response = await introspectToken(c.get('ctx'), {
        params,
        authorization: c.req.header('authorization') ?? null,
      });
      c.header('Cache-Control', 'no-store');
      return c.json(response);
    } catch (err) {
      return sendJsonError(c, err);
    }
  });

  for (const path of ['/oauth/token', '/oauth/revoke', '/oauth/introspect']) {
    app.all(path, (c) => methodNotAllowed(c, 'POST'));
  }
}
