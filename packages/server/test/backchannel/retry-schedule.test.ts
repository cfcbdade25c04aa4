// The back-channel logout retry schedule (`nextRetryAt`, spec: "retried with backoff for at least
// 24 h"): exponential from 5 s, doubling, capped at 1 h, with ±10 % jitter, never past the delivery's
// give-up time, and together covering the whole retry window.
import { describe, expect, it } from 'vitest';
import { firstRetryDelayMs, maxRetryDelayMs, nextRetryAt } from '../../src/protocol/backchannel.ts';
import { logoutDeliveryRetryWindowMs } from '../../src/storage/store.ts';

const t0 = new Date('2025-01-01T00:00:00Z');
const farAway = new Date(t0.getTime() + 365 * 86400_000);
const noJitter = () => 0.5;
const second = 1000;
const hour = 3600 * second;

/** The delay after the `attempts`-th failed attempt, with the given randomness. */
function delayAfter(attempts: number, random: () => number = noJitter): number {
  const at = nextRetryAt(attempts, t0, farAway, random);
  if (!at) throw new Error('no retry');
  return at.getTime() - t0.getTime();
}

/**
 * Replays a delivery that always fails: each attempt at its retry time, until `nextRetryAt` gives
 * up. Returns the delays between attempts.
 */
function simulate(random: () => number): number[] {
  const giveUpAt = new Date(t0.getTime() + logoutDeliveryRetryWindowMs);
  const delays: number[] = [];
  let now = t0;
  for (let attempts = 1; attempts < 1000; attempts++) {
    const next = nextRetryAt(attempts, now, giveUpAt, random);
    if (!next) return delays;
    delays.push(next.getTime() - now.getTime());
    now = next;
  }
  throw new Error('never gave up');
}

describe('nextRetryAt', () => {
  it.each([
    [1, 5],
    [2, 10],
    [3, 20],
    [4, 40],
    [5, 80],
    [6, 160],
    [7, 320],
    [8, 640],
    [9, 1280],
    [10, 2560],
    [11, 3600],
    [12, 3600],
    [30, 3600],
    [500, 3600],
  ])(
    'after attempt %i the next comes %i s later: doubling from 5 s, capped at 1 h (exponential backoff)',
    (attempts, seconds) => {
      expect(delayAfter(attempts)).toBe(seconds * second);
    },
  );

  it('the schedule constants are 5 s and 1 h', () => {
    expect(firstRetryDelayMs).toBe(5 * second);
    expect(maxRetryDelayMs).toBe(hour);
  });

  it.each([1, 2, 5, 11, 20])(
    'jitter keeps the delay after attempt %i within ±10 % and actually varies it',
    (attempts) => {
      const base = delayAfter(attempts);
      expect(delayAfter(attempts, () => 0)).toBe(Math.round(base * 0.9));
      expect(delayAfter(attempts, () => 0.999_999)).toBeLessThanOrEqual(base * 1.1);
      expect(delayAfter(attempts, () => 0.999_999)).toBeGreaterThan(base * 1.09);
      const seen = new Set<number>();
      for (let i = 0; i < 500; i++) {
        const delay = delayAfter(attempts, Math.random);
        expect(delay).toBeGreaterThanOrEqual(base * 0.9);
        expect(delay).toBeLessThanOrEqual(base * 1.1);
        seen.add(delay);
      }
      expect(seen.size).toBeGreaterThan(50);
    },
  );

  it('never schedules past the give-up time, and gives up once it is reached', () => {
    const giveUpAt = new Date(t0.getTime() + 2 * second);
    expect(nextRetryAt(1, t0, giveUpAt, noJitter)?.getTime()).toBe(giveUpAt.getTime());
    expect(nextRetryAt(1, giveUpAt, giveUpAt, noJitter)).toBeNull();
    expect(nextRetryAt(1, new Date(giveUpAt.getTime() + 1), giveUpAt, noJitter)).toBeNull();
  });

  it.each([
    ['shortest', () => 0],
    ['unjittered', noJitter],
    ['longest', () => 0.999_999],
  ])(
    'with the %s jitter the retries before giving up cover at least 24 h (spec: Back-channel logout)',
    (_name, random) => {
      const delays = simulate(random);
      const total = delays.reduce((a, b) => a + b, 0);
      expect(logoutDeliveryRetryWindowMs).toBeGreaterThanOrEqual(24 * hour);
      expect(total).toBeGreaterThanOrEqual(24 * hour);
      expect(total).toBe(logoutDeliveryRetryWindowMs);
      expect(Math.max(...delays)).toBeLessThanOrEqual(1.1 * hour);
      // Reported in the closing note: the schedule without jitter.
      if (random === noJitter) {
        console.log(
          `retry schedule: ${delays.length + 1} attempts over ${total / hour} h; delays (s): ${delays.map((d) => d / second).join(', ')}`,
        );
      }
    },
  );
});
