import type { ServerContext } from '../context.ts';

/** Whether a sign-in attempt may proceed, and how long to hold it back first. */
export type LimitVerdict = { kind: 'allow'; delayMs: number } | { kind: 'refuse'; retryAfterSeconds: number };

const accountKey = (email: string) => `signin:account:${email}`;
const addressKey = (address: string) => `signin:address:${address}`;

/** Longest a slowed-down answer is held back. */
const maxDelayMs = 8000;

/**
 * Counts failures in fixed windows, reading the current and the previous window so a burst at a
 * window's edge is not forgiven. One account: slowed past a first threshold, refused past a
 * second. One client address: refused past its threshold. Counters live in the store, so every
 * server node honours them.
 * @see https://cheatsheetseries.owasp.org/cheatsheets/Authentication_Cheat_Sheet.html#protect-against-automated-attacks
 */
export async function checkSignInLimits(
  ctx: ServerContext,
  email: string,
  address: string | null,
): Promise<LimitVerdict> {
  const { config } = ctx;
  const { current, previous, retryAfterSeconds } = windows(ctx);
  const count = async (key: string) =>
    (await ctx.store.rateLimits.peek(key, current)) + (await ctx.store.rateLimits.peek(key, previous));
  const accountFailures = await count(accountKey(email));
  if (accountFailures >= config.signInFailuresBeforeLockout) return { kind: 'refuse', retryAfterSeconds };
  if (address !== null && (await count(addressKey(address))) >= config.signInFailuresPerAddress) {
    return { kind: 'refuse', retryAfterSeconds };
  }
  const over = accountFailures - config.signInFailuresBeforeDelay;
  const delayMs = over < 0 ? 0 : Math.min(maxDelayMs, 500 * 2 ** over);
  return { kind: 'allow', delayMs };
}

/** Counts a failed sign-in for the account and the client address. */
export async function recordSignInFailure(
  ctx: ServerContext,
  email: string,
  address: string | null,
): Promise<void> {
  const { current } = windows(ctx);
  const expiresAt = new Date(current.getTime() + 2 * ctx.config.signInFailureWindow * 1000);
  await ctx.store.rateLimits.hit(accountKey(email), current, expiresAt);
  if (address !== null) await ctx.store.rateLimits.hit(addressKey(address), current, expiresAt);
}

/** A successful sign-in forgives the account's failures (not the address's). */
export async function clearSignInFailures(ctx: ServerContext, email: string): Promise<void> {
  await ctx.store.rateLimits.reset(accountKey(email));
}

function windows(ctx: ServerContext) {
  const windowMs = ctx.config.signInFailureWindow * 1000;
  const nowMs = ctx.config.now().getTime();
  const startMs = Math.floor(nowMs / windowMs) * windowMs;
  return {
    current: new Date(startMs),
    previous: new Date(startMs - windowMs),
    retryAfterSeconds: Math.ceil((startMs + windowMs - nowMs) / 1000) + ctx.config.signInFailureWindow,
  };
}
