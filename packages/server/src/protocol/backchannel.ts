import { newId } from '../lib/ids.ts';
import { epochSeconds } from './tokens.ts';

/** The event a logout token carries. @see https://openid.net/specs/openid-connect-backchannel-1_0.html#LogoutToken */
export const backchannelLogoutEvent = 'http://schemas.openid.net/event/backchannel-logout';

/** A logout token's lifetime: long enough to cross a slow network, short enough not to be replayable later. */
export const logoutTokenTtlSeconds = 120;

/**
 * The claims of a logout token for one app and one ended session: `iss`, `aud`, `iat`, `exp`,
 * `jti`, `sub`, `sid`, `events`, and never a `nonce`.
 * @see https://openid.net/specs/openid-connect-backchannel-1_0.html#LogoutToken
 */
export function logoutTokenClaims(input: {
  issuer: string;
  clientId: string;
  userId: string;
  sessionId: string;
  now: Date;
}): Record<string, unknown> {
  const iat = epochSeconds(input.now);
  return {
    iss: input.issuer,
    aud: [input.clientId],
    iat,
    exp: iat + logoutTokenTtlSeconds,
    jti: newId('tkn'),
    sub: input.userId,
    sid: input.sessionId,
    events: { [backchannelLogoutEvent]: {} },
  };
}

/** First retry delay; each later one doubles, up to `maxRetryDelayMs`. */
export const firstRetryDelayMs = 5_000;
export const maxRetryDelayMs = 60 * 60 * 1000;

/**
 * When to try a failed delivery again: exponential backoff (5 s, 10 s, 20 s … capped at 1 h)
 * with ±10 % jitter so a fleet of receivers coming back is not hit at once; `null` once the retry
 * window is over (the delivery has failed for good).
 */
export function nextRetryAt(
  attempts: number,
  now: Date,
  giveUpAt: Date,
  random: () => number = Math.random,
): Date | null {
  if (now >= giveUpAt) return null;
  const base = Math.min(maxRetryDelayMs, firstRetryDelayMs * 2 ** Math.max(0, attempts - 1));
  const jittered = base * (0.9 + 0.2 * random());
  return new Date(Math.min(now.getTime() + jittered, giveUpAt.getTime()));
}
