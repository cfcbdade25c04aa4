import { deliverDueLogouts } from './backchannel/deliver.ts';
import type { ServerContext } from './context.ts';
import { endSession } from './protocol/sessions.ts';

/** Rows a sweep touches per kind at most, so a sweep never holds the database for long. */
const sweepBatch = 500;

/**
 * One round of background upkeep: end sessions past their idle or absolute timeout (with every
 * effect of a logout, back-channel notices included), delete expired artifacts in bounded
 * batches, rotate the signing key when due, and pick up keys other nodes wrote.
 */
export async function runUpkeep(ctx: ServerContext): Promise<void> {
  const now = ctx.config.now();
  const expired = await ctx.store.sessions.listExpired(now, sweepBatch);
  for (const session of expired) {
    await endSession(ctx, session.id, session.absoluteExpiresAt <= now ? 'absolute_timeout' : 'idle_timeout');
  }
  const swept = await ctx.store.sweep(now, sweepBatch);
  const total = Object.values(swept).reduce((a, b) => a + b, 0);
  if (total > 0) ctx.logger.info({ swept }, 'expired data swept');
  await ctx.keys.load();
  const rotated = await ctx.keys.rotateIfDue();
  if (rotated)
    ctx.logger.info({ kid: rotated.id, activatesAt: rotated.activatesAt }, 'signing key rotation scheduled');
}

/** Runs upkeep on a timer, off the request path; returns a function that stops it. */
export function scheduleUpkeep(ctx: ServerContext): () => void {
  let running = false;
  const timer = setInterval(() => {
    if (running) return;
    running = true;
    runUpkeep(ctx)
      .catch((err) => ctx.logger.error({ err }, 'upkeep failed'))
      .finally(() => {
        running = false;
      });
  }, ctx.config.sweepInterval * 1000);
  timer.unref();
  return () => clearInterval(timer);
}

/**
 * Delivers back-channel logout notices off the request path: a round whenever a session ends
 * (woken) and every `SESAME_LOGOUT_DELIVERY_INTERVAL` for retries and for notices queued by other
 * nodes. Returns a function that stops it once the round in flight is done.
 */
export function startLogoutDelivery(
  ctx: ServerContext,
  options: { fetch?: typeof fetch } = {},
): () => Promise<void> {
  let stopped = false;
  const loop = (async () => {
    while (!stopped) {
      try {
        // A full batch means more may be due: go again without waiting.
        const round = await deliverDueLogouts(ctx, {
          batchSize: 50,
          timeoutMs: ctx.config.logoutDeliveryTimeout * 1000,
          ...(options.fetch ? { fetch: options.fetch } : {}),
        });
        if (round.delivered + round.retrying + round.failed >= 50) continue;
      } catch (err) {
        ctx.logger.error({ err }, 'back-channel logout round failed');
      }
      if (!stopped) await ctx.logoutDeliveryWakeup.wait(ctx.config.logoutDeliveryInterval * 1000);
    }
  })();
  return async () => {
    stopped = true;
    ctx.logoutDeliveryWakeup.kick();
    await loop;
  };
}
