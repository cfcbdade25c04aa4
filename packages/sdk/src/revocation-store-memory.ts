import type { RevocationStore } from './revocation-store.ts';

/**
 * Back-channel logouts remembered in this process: enough for one instance; apps with several
 * instances use a shared store (SQLite file or Redis). Lookups are constant-time map reads.
 */
export class MemoryRevocationStore implements RevocationStore {
  readonly #sids = new Map<string, number>();
  /** Per user: the moment from which every earlier session is ended. */
  readonly #subs = new Map<string, { at: number; expiresAt: number }>();
  readonly #jtis = new Map<string, number>();
  #lastPrune = 0;

  async revoke(entry: { sid?: string; sub?: string; at: Date }, expiresAt: Date): Promise<void> {
    this.#prune();
    if (entry.sid) this.#sids.set(entry.sid, expiresAt.getTime());
    else if (entry.sub) {
      // The moment only moves forward: a late token naming an earlier one must not bring sessions back.
      const previous = this.#subs.get(entry.sub);
      this.#subs.set(entry.sub, {
        at: Math.max(entry.at.getTime(), previous?.at ?? 0),
        expiresAt: Math.max(expiresAt.getTime(), previous?.expiresAt ?? 0),
      });
    }
  }

  async isRevoked(entry: { sid: string | null; sub: string; authTime: Date | null }): Promise<boolean> {
    if (entry.sid !== null && this.#sids.has(entry.sid)) return true;
    const user = this.#subs.get(entry.sub);
    if (!user) return false;
    return entry.authTime === null || entry.authTime.getTime() <= user.at;
  }

  async rememberJti(jti: string, expiresAt: Date): Promise<boolean> {
    this.#prune();
    if (this.#jtis.has(jti)) return false;
    this.#jtis.set(jti, expiresAt.getTime());
    return true;
  }

  /** Forgets expired entries, at most once a minute. */
  #prune(): void {
    const now = Date.now();
    if (now - this.#lastPrune < 60_000) return;
    this.#lastPrune = now;
    for (const [k, exp] of this.#sids) if (exp <= now) this.#sids.delete(k);
    for (const [k, v] of this.#subs) if (v.expiresAt <= now) this.#subs.delete(k);
    for (const [k, exp] of this.#jtis) if (exp <= now) this.#jtis.delete(k);
  }
}
