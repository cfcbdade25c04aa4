import type { ServerContext } from './context.ts';
import { endSession } from './protocol/sessions.ts';

/** Rows a sweep touches per kind at most, so a sweep never holds the database for long. */
const sweepBatch = 500;

/**
 * One round of background upkeep: end sessions past their idle or absolute timeout (with every
 * effect of a logout), delete expired artifacts in bounded batches, rotate the signing key when
 * due, and pick up keys other nodes wrote.
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
