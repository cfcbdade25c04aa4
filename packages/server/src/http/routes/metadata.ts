import type { Context, Hono } from 'hono';
import { MissingTokenError } from '../../protocol/access-tokens.ts';
import { discoveryDocument } from '../../protocol/discovery.ts';
import { OAuthError } from '../../protocol/errors.ts';
import { collectParams, optionalParam } from '../../protocol/params.ts';
import { getUserInfo } from '../../protocol/userinfo.ts';
import type { AppEnv } from '../env.ts';
import { applySpaCors } from './cors.ts';
import { methodNotAllowed, sendJsonError } from './json-errors.ts';

/** Discovery, `/keys`, `/userinfo` and the health check. */
export function metadataRoutes(app: Hono<AppEnv>): void {
  const discovery = (c: Context<AppEnv>) => {
    c.header('Cache-Control', 'public, max-age=300');
    c.header('Access-Control-Allow-Origin', '*');
    return c.json(discoveryDocument(c.get('ctx').config));
  };
  app.get('/.well-known/openid-configuration', discovery);
  app.get('/.well-known/oauth-authorization-server', discovery);

  app.get('/keys', (c) => {
    const { keys, config } = c.get('ctx');
    c.header('Cache-Control', `public, max-age=${config.jwksMaxAge}`);
    c.header('Access-Control-Allow-Origin', '*');
    c.header('Content-Type', 'application/jwk-set+json; charset=utf-8');
    return c.body(JSON.stringify(keys.jwks()));
  });

  app.on(['GET', 'POST', 'OPTIONS'], '/userinfo', async (c) => {
    const preflight = await applySpaCors(c);
    if (preflight) return preflight;
    try {
      const token = await bearerToken(
        c.req.header('authorization') ?? null,
        c.req.method === 'POST' ? c : null,
      );
      const info = await getUserInfo(c.get('ctx'), token);
      c.header('Cache-Control', 'no-store');
      return c.json(info);
    } catch (err) {
      return sendJsonError(c, err);
    }
  });

  app.get('/health', async (c) => {
    c.header('Cache-Control', 'no-store');
    try {
      await c.get('ctx').store.ping();
      return c.json({ status: 'ok' });
    } catch (err) {
      c.get('ctx').logger.error({ err }, 'health check failed');
      return c.json({ status: 'unavailable' }, 503);
    }
  });

  for (const path of [
    '/.well-known/openid-configuration',
    '/.well-known/oauth-authorization-server',
    '/keys',
    '/health',
  ]) {
    app.all(path, (c) => methodNotAllowed(c, 'GET'));
  }
  app.all('/userinfo', (c) => methodNotAllowed(c, 'GET, POST'));
}

/**
 * The bearer token of a request: the Authorization header, or (POST) the `access_token` form
 * field — never both, never the query.
 * @see https://www.rfc-editor.org/rfc/rfc6750#section-2
 */
async function bearerToken(
  authorization: string | null,
  form: { req: { header(name: string): string | undefined; text(): Promise<string> } } | null,
): Promise<string> {
  let fromBody: string | null = null;
  if (form && /^application\/x-www-form-urlencoded\b/i.test(form.req.header('content-type') ?? '')) {
    fromBody = optionalParam(collectParams(new URLSearchParams(await form.req.text())), 'access_token', 8192);
  }
  const match = authorization ? /^Bearer\s+([A-Za-z0-9\-._~+/]+=*)\s*$/i.exec(authorization) : null;
  if (authorization && !match) throw new OAuthError('invalid_token', 'Malformed Authorization header');
  if (match && fromBody) throw new OAuthError('invalid_request', 'Send the access token one way only');
  const token = match?.[1] ?? fromBody;
  if (!token) throw new MissingTokenError();
  return token;
}
