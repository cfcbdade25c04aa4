import type { ServerContext } from '../context.ts';
import { logoutTokenClaims, nextRetryAt } from '../protocol/backchannel.ts';
import type { LogoutDelivery } from '../storage/types.ts';

/** How the delivery worker behaves. */
export interface DeliveryOptions {
  /** Deliveries claimed per round. */
  batchSize: number;
  /** Give up on one POST after this long. */
  timeoutMs: number;
  /** The HTTP client (tests may wrap it). */
  fetch?: typeof fetch;
}

/** What one round did. */
export interface DeliveryRound {
  delivered: number;
  retrying: number;
  failed: number;
}

/**
 * One round of back-channel logout delivery: claims due deliveries (leased, so each is sent by one
 * node), POSTs a freshly signed logout token to each app, and records the outcome — delivered on
 * 2xx, otherwise retried with backoff until the retry window closes.
 * @see https://openid.net/specs/openid-connect-backchannel-1_0.html#BCRequest
 */
export async function deliverDueLogouts(
  ctx: ServerContext,
  options: DeliveryOptions,
): Promise<DeliveryRound> {
  const now = ctx.config.now();
  // The lease outlives every POST of the batch; a node that dies mid-batch frees them after it.
  const leaseUntil = new Date(now.getTime() + options.timeoutMs * 2 + 10_000);
  const due = await ctx.store.logoutDeliveries.claimDue(now, options.batchSize, leaseUntil);
  const round: DeliveryRound = { delivered: 0, retrying: 0, failed: 0 };
  await Promise.all(
    due.map(async (delivery) => {
      const outcome = await deliverOne(ctx, delivery, options);
      round[outcome]++;
    }),
  );
  return round;
}

async function deliverOne(
  ctx: ServerContext,
  delivery: LogoutDelivery,
  options: DeliveryOptions,
): Promise<keyof DeliveryRound> {
  const started = performance.now();
  const log = {
    deliveryId: delivery.id,
    clientId: delivery.clientId,
    sessionId: delivery.sessionId,
    attempt: delivery.attempts,
  };
  let statusCode: number | null = null;
  let error: string;
  try {
    const token = await ctx.keys.sign(
      logoutTokenClaims({
        issuer: ctx.config.envUrl,
        clientId: delivery.clientId,
        userId: delivery.userId,
        sessionId: delivery.sessionId,
        now: ctx.config.now(),
      }),
      'logout+jwt',
    );
    const response = await (options.fetch ?? fetch)(delivery.uri, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded', 'cache-control': 'no-store' },
      body: new URLSearchParams({ logout_token: token }).toString(),
      // A redirect is not a delivery: the spec's receiver answers 200 itself.
      redirect: 'manual',
      signal: AbortSignal.timeout(options.timeoutMs),
    });
    statusCode = response.status;
    await response.body?.cancel();
    if (response.status >= 200 && response.status < 300) {
      await ctx.store.logoutDeliveries.markDelivered(delivery.id, ctx.config.now(), response.status);
      ctx.logger.info(
        { ...log, status: response.status, ms: Math.round(performance.now() - started) },
        'back-channel logout delivered',
      );
      return 'delivered';
    }
    error = `HTTP ${response.status}`;
  } catch (err) {
    error =
      err instanceof Error
        ? err.name === 'TimeoutError'
          ? `timed out after ${options.timeoutMs} ms`
          : err.message
        : String(err);
  }
  const retryAt = nextRetryAt(delivery.attempts, ctx.config.now(), delivery.giveUpAt);
  await ctx.store.logoutDeliveries.markAttemptFailed(delivery.id, { error, statusCode, retryAt });
  if (retryAt) {
    ctx.logger.warn(
      { ...log, error, retryAt: retryAt.toISOString() },
      'back-channel logout failed; will retry',
    );
    return 'retrying';
  }
  ctx.logger.error({ ...log, error }, 'back-channel logout gave up after the retry window');
  return 'failed';
}
