import type { ServerContext } from '../context.ts';
import { hashSecret, newId, newSecret } from '../lib/ids.ts';
import type { Session, SessionEndReason } from '../storage/types.ts';

/** Idle-timeout slides are written at most this often, to keep writes off every request. */
const touchEverySeconds = 60;

/**
 * The live sign-in session a browser's cookie names, or `null`. A session found past its idle or
 * absolute timeout is ended on the spot (with every effect of a logout).
 */
export async function findLiveSession(
  ctx: ServerContext,
  cookieValue: string | null,
): Promise<Session | null> {
  if (!cookieValue || cookieValue.length > 200) return null;
  const session = await ctx.store.sessions.getByTokenHash(hashSecret(cookieValue));
  if (!session) return null;
  const now = ctx.config.now();
  const expiry = sessionExpiry(session, now);
  if (expiry) {
    await endSession(ctx, session.id, expiry);
    return null;
  }
  return session;
}

/** Why a session is over at `now`, if it is. */
export function sessionExpiry(
  session: Pick<Session, 'endedAt' | 'endReason' | 'absoluteExpiresAt' | 'idleExpiresAt'>,
  now: Date,
): SessionEndReason | null {
  if (session.endedAt) return session.endReason ?? 'logout';
  if (session.absoluteExpiresAt <= now) return 'absolute_timeout';
  if (session.idleExpiresAt <= now) return 'idle_timeout';
  return null;
}

/** Slides the idle timeout of a session in use (throttled). */
export async function touchSession(ctx: ServerContext, session: Session): Promise<void> {
  const now = ctx.config.now();
  const idleExpiresAt = slidIdleExpiry(ctx, session, now);
  if (idleExpiresAt) await ctx.store.sessions.touch(session.id, now, idleExpiresAt);
}

/**
 * The idle expiry a session in use at `now` slides to, or `null` when its last slide is recent
 * enough to skip the write.
 */
export function slidIdleExpiry(
  ctx: ServerContext,
  session: Pick<Session, 'lastActiveAt' | 'absoluteExpiresAt'>,
  now: Date,
): Date | null {
  if (now.getTime() - session.lastActiveAt.getTime() < touchEverySeconds * 1000) return null;
  return new Date(
    Math.min(now.getTime() + ctx.config.sessionIdleTimeout * 1000, session.absoluteExpiresAt.getTime()),
  );
}

/**
 * Records a successful sign-in. The cookie value is always new (no session fixation): the same
 * person signing in again keeps their session (and its apps) with a rotated cookie and a fresh
 * `auth_time`; anyone else gets a new session and the previous one is ended.
 * @see https://www.rfc-editor.org/rfc/rfc9700#section-4.1
 */
export async function startSession(
  ctx: ServerContext,
  input: {
    userId: string;
    organizationId: string | null;
    amr: string[];
    previous: Session | null;
    userAgent: string | null;
    ipAddress: string | null;
  },
): Promise<{ session: Session; cookieValue: string }> {
  const now = ctx.config.now();
  const cookieValue = newSecret();
  const tokenHash = hashSecret(cookieValue);
  const idleExpiresAt = new Date(now.getTime() + ctx.config.sessionIdleTimeout * 1000);
  const { previous } = input;
  if (previous && previous.userId === input.userId && !sessionExpiry(previous, now)) {
    await ctx.store.sessions.reauthenticate(previous.id, {
      tokenHash,
      authTime: now,
      amr: input.amr,
      lastActiveAt: now,
      idleExpiresAt: new Date(Math.min(idleExpiresAt.getTime(), previous.absoluteExpiresAt.getTime())),
    });
    const session = await ctx.store.sessions.get(previous.id);
    if (session) return { session, cookieValue };
  }
  if (previous) await endSession(ctx, previous.id, 'replaced');
  const session: Session = {
    id: newId('ses'),
    tokenHash,
    userId: input.userId,
    organizationId: input.organizationId,
    authTime: now,
    amr: input.amr,
    userAgent: input.userAgent?.slice(0, 512) ?? null,
    ipAddress: input.ipAddress,
    createdAt: now,
    lastActiveAt: now,
    idleExpiresAt,
    absoluteExpiresAt: new Date(now.getTime() + ctx.config.sessionAbsoluteTimeout * 1000),
    endedAt: null,
    endReason: null,
    clientIds: [],
  };
  await ctx.store.sessions.insert(session);
  return { session, cookieValue };
}

/**
 * Ends a session: its refresh tokens and grants are revoked, and back-channel logout notices are
 * queued for its apps, in the same transaction. Returns the ended session, or `null` if it was
 * already over.
 */
export async function endSession(
  ctx: ServerContext,
  sessionId: string,
  reason: SessionEndReason,
): Promise<Session | null> {
  const ended = await ctx.store.sessions.end(sessionId, reason, ctx.config.now());
  if (ended) {
    ctx.logger.info({ sessionId, userId: ended.userId, reason }, 'session ended');
    // The back-channel notices were queued with the end; wake the worker rather than wait for its next scan.
    ctx.logoutDeliveryWakeup.kick();
  }
  return ended;
}
