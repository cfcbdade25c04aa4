// Who may call the management API: an app allowed management access (a machine app, or a web app
// with `allowManagementApi`), presenting a live access token it got from `client_credentials`.
// A user's access token (its `sub` is the user, not the app), a token of an app not allowed, a
// token of a deleted app, or anything unverifiable is `Unauthenticated`.
import { type ContextValues, createContextKey, type HandlerContext } from '@connectrpc/connect';
import { errors as joseErrors } from 'jose';
import type { ServerContext } from '../context.ts';
import type { Client } from '../storage/types.ts';
import { unauthenticated } from './errors.ts';

/** The authenticated caller of a management method: the app's client id. */
export const callerKey = createContextKey<string | null>(null, { description: 'management API caller' });

/** Whether an app may use the management API at all. */
export function mayManage(client: Client): boolean {
  return client.type === 'm2m' || (client.type === 'web' && client.allowManagementApi);
}

/**
 * Checks `Authorization: Bearer <token>` and returns the calling app's client id.
 * @see https://www.rfc-editor.org/rfc/rfc6750#section-2.1
 */
export async function authenticateCaller(ctx: ServerContext, authorization: string | null): Promise<string> {
  if (!authorization) throw unauthenticated();
  const match = /^Bearer[ ]+([A-Za-z0-9._~+/-]+=*)\s*$/i.exec(authorization);
  if (!match) throw unauthenticated('The Authorization header must be a Bearer token');
  let payload: Record<string, unknown>;
  try {
    ({ payload } = await ctx.keys.verify(match[1] as string, {
      issuer: ctx.config.envUrl,
      typ: 'at+jwt',
      clockToleranceSeconds: ctx.config.clockTolerance,
    }));
  } catch (err) {
    if (err instanceof joseErrors.JOSEError) throw unauthenticated('The access token is invalid or expired');
    throw err;
  }
  const clientId = payload['client_id'];
  // A machine token names the app as its subject; a user's token names the user.
  if (typeof clientId !== 'string' || payload['sub'] !== clientId) {
    throw unauthenticated('A client_credentials access token is required');
  }
  const client = await ctx.store.clients.get(clientId);
  if (!client || !mayManage(client)) {
    throw unauthenticated('This app is not allowed to use the management API');
  }
  return client.id;
}

/** The caller a handler runs for (set by the auth step of either form). */
export function callerOf(context: HandlerContext): string {
  const caller = context.values.get(callerKey);
  if (!caller) throw unauthenticated();
  return caller;
}

/** Context values carrying an authenticated caller. */
export function withCaller(values: ContextValues, clientId: string): ContextValues {
  return values.set(callerKey, clientId);
}
