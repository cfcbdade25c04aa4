import type { SessionData } from '../session.ts';
import type { SessionStore } from '../session-store.ts';

/** Sessions in this process's memory: for one instance and for tests. Expired entries are dropped when read. */
export class MemorySessionStore implements SessionStore {
  readonly #sessions = new Map<string, { data: SessionData; expiresAt: number }>();

  async get(id: string): Promise<SessionData | null> {
    const entry = this.#sessions.get(id);
    if (!entry) return null;
    if (entry.expiresAt <= Date.now()) {
      this.#sessions.delete(id);
      return null;
    }
    return structuredClone(entry.data);
  }

  async set(id: string, data: SessionData, expiresAt: Date): Promise<void> {
    const existing = this.#sessions.get(id);
    // Never replace a newer session with an older one (two refreshes finishing out of order).
    if (existing && existing.data.updatedAt > data.updatedAt) return;
    this.#sessions.set(id, { data: structuredClone(data), expiresAt: expiresAt.getTime() });
  }

  async delete(id: string): Promise<void> {
    this.#sessions.delete(id);
  }
}
