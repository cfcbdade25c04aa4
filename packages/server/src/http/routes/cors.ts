import type { Context } from 'hono';
import type { ServerContext } from '../../context.ts';
import type { AppEnv } from '../env.ts';

const cacheMs = 10_000;
let cached: { at: number; store: unknown; origins: Set<string> } | null = null;

/** Origins of single-page apps' redirect URIs: the only ones allowed to call the token endpoint. */
async function spaOrigins(ctx: ServerContext): Promise<Set<string>> {
  const now = Date.now();
  if (cached && cached.store === ctx.store && now - cached.at < cacheMs) return cached.origins;
  const origins = new Set<string>();
  for (const client of await ctx.store.clients.list()) {
    if (client.type !== 'spa') continue;
    for (const uri of client.redirectUris) {
      try {
        origins.add(new URL(uri).origin);
      } catch {
        // Registered URIs are validated at creation; an unparsable one cannot match an Origin.
      }
    }
  }
  cached = { at: now, store: ctx.store, origins };
  return origins;
}

/**
 * Adds CORS headers for a browser-based client's origin, on the endpoints a single-page app calls
 * directly (token, revocation, userinfo). Returns a preflight answer for OPTIONS.
 * @see https://fetch.spec.whatwg.org/#http-cors-protocol
 */
export async function applySpaCors(c: Context<AppEnv>): Promise<Response | null> {
  c.header('Vary', 'Origin');
  const origin = c.req.header('origin');
  if (!origin) return null;
  const allowed = (await spaOrigins(c.get('ctx'))).has(origin);
  if (allowed) {
    c.header('Access-Control-Allow-Origin', origin);
    c.header('Access-Control-Expose-Headers', 'WWW-Authenticate');
  }
  if (c.req.method === 'OPTIONS') {
    if (!allowed) return c.body(null, 403);
    c.header('Access-Control-Allow-Methods', 'GET, POST, OPTIONS');
    c.header('Access-Control-Allow-Headers', 'Authorization, Content-Type, DPoP');
    c.header('Access-Control-Max-Age', '600');
    return c.body(null, 204);
  }
  return null;
}
