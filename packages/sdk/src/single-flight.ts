/**
 * Runs one job per key at a time: callers with the same key while it runs share its promise, and
 * its result stays shared for `rememberMs` after it settles (so a request that arrives late with
 * the same old refresh token gets the same successor instead of starting another rotation).
 */
export class SingleFlight<T> {
  readonly #inFlight = new Map<string, { promise: Promise<T>; settledAt: number | null }>();
  readonly #rememberMs: number;
  readonly #maxEntries: number;

  constructor(options: { rememberMs: number; maxEntries?: number }) {
    this.#rememberMs = options.rememberMs;
    this.#maxEntries = options.maxEntries ?? 10_000;
  }

  run(key: string, job: () => Promise<T>): Promise<T> {
    const nowMs = performance.now();
    const existing = this.#inFlight.get(key);
    if (existing && (existing.settledAt === null || nowMs - existing.settledAt < this.#rememberMs))
      return existing.promise;
    this.#prune(nowMs);
    const entry: { promise: Promise<T>; settledAt: number | null } = { promise: job(), settledAt: null };
    entry.promise.then(
      () => {
        entry.settledAt = performance.now();
      },
      () => {
        // Failures are not remembered: the next caller tries again.
        if (this.#inFlight.get(key) === entry) this.#inFlight.delete(key);
      },
    );
    this.#inFlight.set(key, entry);
    return entry.promise;
  }

  #prune(nowMs: number): void {
    if (this.#inFlight.size < this.#maxEntries) return;
    for (const [key, entry] of this.#inFlight) {
      if (entry.settledAt !== null && nowMs - entry.settledAt >= this.#rememberMs) this.#inFlight.delete(key);
    }
  }
}
