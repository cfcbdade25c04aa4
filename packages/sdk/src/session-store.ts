import type { SessionData } from './session.ts';

/**
 * Server-side session storage, for apps that prefer an opaque session id in the cookie to sealed
 * tokens. Implementations: memory (one process), SQLite, Redis (shared by instances).
 */
export interface SessionStore {
  get(id: string): Promise<SessionData | null>;
  /** Stores the session until `expiresAt`. */
  set(id: string, data: SessionData, expiresAt: Date): Promise<void>;
  delete(id: string): Promise<void>;
}
