import type { ServerContext } from '../context.ts';
import { endSession } from '../protocol/sessions.ts';
import type { SessionEndReason } from '../storage/types.ts';

/** Ends every live session of a user (each with every effect of a logout). Returns how many ended. */
export async function endUserSessions(
  ctx: ServerContext,
  userId: string,
  reason: SessionEndReason,
): Promise<number> {
  let ended = 0;
  // Ending sessions removes them from the active listing, so the first page is re-read each time.
  for (;;) {
    const page = await ctx.store.sessions.listForUser(userId, { limit: 100 }, { activeOnly: true });
    if (page.items.length === 0) return ended;
    for (const session of page.items) if (await endSession(ctx, session.id, reason)) ended++;
  }
}

/** Disables a user: they can no longer sign in, and their sessions end now. */
export async function disableUser(ctx: ServerContext, userId: string): Promise<boolean> {
  const updated = await ctx.store.users.update(userId, { disabled: true, updatedAt: ctx.config.now() });
  if (!updated) return false;
  await endUserSessions(ctx, userId, 'user_disabled');
  return true;
}

/** Enables a disabled user again. */
export async function enableUser(ctx: ServerContext, userId: string): Promise<boolean> {
  return (await ctx.store.users.update(userId, { disabled: false, updatedAt: ctx.config.now() })) !== null;
}

/** Deletes a user after ending their sessions, so their apps are told (back-channel) first. */
export async function deleteUser(ctx: ServerContext, userId: string): Promise<boolean> {
  if (!(await ctx.store.users.get(userId))) return false;
  await endUserSessions(ctx, userId, 'user_deleted');
  return ctx.store.users.delete(userId);
}
