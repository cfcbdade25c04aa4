import type { ServerContext } from '../context.ts';
import type { User } from '../storage/types.ts';
import { checkSignInLimits, clearSignInFailures, recordSignInFailure } from './sign-in-limits.ts';

/** The outcome of a password sign-in. */
export type SignInResult =
  | { kind: 'ok'; user: User }
  /** Wrong email or password: one answer for both, so it reveals nothing. */
  | { kind: 'invalid' }
  | { kind: 'limited'; retryAfterSeconds: number };

/**
 * Checks an email and password: rate limits first, then argon2id (spent even for an unknown email,
 * so both answers take the same time), then the account's state; upgrades the stored hash when the
 * parameters changed.
 */
export async function signInWithPassword(
  ctx: ServerContext,
  input: { email: string; password: string; address: string | null },
): Promise<SignInResult> {
  const email = normalizeEmail(input.email);
  const verdict = await checkSignInLimits(ctx, email, input.address);
  if (verdict.kind === 'refuse') {
    ctx.logger.warn({ address: input.address }, 'sign-in refused by rate limit');
    return { kind: 'limited', retryAfterSeconds: verdict.retryAfterSeconds };
  }
  if (verdict.delayMs > 0) await ctx.sleep(verdict.delayMs);
  const user = await ctx.store.users.getByEmail(email);
  const ok = await ctx.passwords.verify(user?.passwordHash ?? null, input.password);
  if (!ok || !user || user.disabled) {
    await recordSignInFailure(ctx, email, input.address);
    return { kind: 'invalid' };
  }
  await clearSignInFailures(ctx, email);
  if (user.passwordHash && ctx.passwords.needsRehash(user.passwordHash)) {
    const passwordHash = await ctx.passwords.hash(input.password);
    await ctx.store.users.update(user.id, { passwordHash, updatedAt: ctx.config.now() });
  }
  return { kind: 'ok', user };
}

/** Emails are compared lower-cased and trimmed. */
export function normalizeEmail(email: string): string {
  return email.trim().toLowerCase();
}

/** A pragmatic shape check (one @, a dot in the domain, no spaces), not RFC 5322. */
export function isPlausibleEmail(email: string): boolean {
  return email.length <= 254 && /^[^\s@]+@[^\s@]+\.[^\s@]+$/.test(email);
}
