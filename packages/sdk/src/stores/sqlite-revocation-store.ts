import type { RevocationStore } from '../revocation-store.ts';
import {
  type Database,
  openSqliteDatabase,
  pruneBatchSize,
  type SqliteStoreOptions,
  tableName,
} from './sqlite-database.ts';

/**
 * Back-channel logouts in a SQLite file (better-sqlite3), shared by the app's processes on one
 * machine. One row per ended session (`sid`), per user (`sub`, with the moment up to which their
 * sessions are ended) and per seen logout token (`jti`); each lookup is a primary-key read.
 * Expired rows are ignored when read and deleted in small batches on each write.
 */
export class SqliteRevocationStore implements RevocationStore {
  readonly #db: Database;
  readonly #owned: boolean;
  readonly #now: () => Date;
  readonly #revoke: (row: {
    kind: 'sid' | 'sub';
    key: string;
    at: number;
    expiresAt: number;
    now: number;
  }) => void;
  readonly #lookup: (row: { sid: string | null; sub: string; now: number }) => { kind: string; at: number }[];
  readonly #rememberJti: (row: { jti: string; expiresAt: number; now: number }) => boolean;

  /** `database` is a file path (opened in WAL mode, closed by `close()`) or an open Database. */
  constructor(database: string | Database, options: SqliteStoreOptions = {}) {
    const table = tableName(options.table, 'sesame_revocations');
    this.#now = options.now ?? (() => new Date());
    ({ db: this.#db, owned: this.#owned } = openSqliteDatabase(database));
    this.#db.exec(`CREATE TABLE IF NOT EXISTS ${table} (
      kind TEXT NOT NULL,
      key TEXT NOT NULL,
      at INTEGER NOT NULL,
      expires_at INTEGER NOT NULL,
      PRIMARY KEY (kind, key)
    ) WITHOUT ROWID;
    CREATE INDEX IF NOT EXISTS ${table}_expires_at ON ${table} (expires_at);`);
    // A user's moment only moves forward: a late logout token naming an earlier moment must not
    // bring back sessions that a newer one ended.
    const upsert =
      this.#db.prepare(`INSERT INTO ${table} (kind, key, at, expires_at) VALUES (@kind, @key, @at, @expiresAt)
      ON CONFLICT (kind, key) DO UPDATE SET
        at = CASE WHEN ${table}.expires_at <= @now THEN excluded.at ELSE max(${table}.at, excluded.at) END,
        expires_at = CASE WHEN ${table}.expires_at <= @now THEN excluded.expires_at ELSE max(${table}.expires_at, excluded.expires_at) END`);
    // `key = NULL` matches nothing, so a session without a sid is only looked up by user.
    const lookup = this.#db.prepare<
      [{ sid: string | null; sub: string; now: number }],
      { kind: string; at: number }
    >(
      `SELECT kind, at FROM ${table} WHERE kind = 'sid' AND key = @sid AND expires_at > @now
       UNION ALL SELECT kind, at FROM ${table} WHERE kind = 'sub' AND key = @sub AND expires_at > @now`,
    );
    // Inserted, or replacing an expired row: one statement, so two instances never both accept a jti.
    const insertJti =
      this.#db.prepare(`INSERT INTO ${table} (kind, key, at, expires_at) VALUES ('jti', @jti, @now, @expiresAt)
      ON CONFLICT (kind, key) DO UPDATE SET at = excluded.at, expires_at = excluded.expires_at WHERE ${table}.expires_at <= @now`);
    const prune = this.#db.prepare(
      `DELETE FROM ${table} WHERE (kind, key) IN (SELECT kind, key FROM ${table} WHERE expires_at <= ? LIMIT ${pruneBatchSize})`,
    );
    this.#revoke = this.#db.transaction(
      (row: { kind: 'sid' | 'sub'; key: string; at: number; expiresAt: number; now: number }) => {
        prune.run(row.now);
        upsert.run(row);
      },
    );
    this.#lookup = (row) => lookup.all(row);
    this.#rememberJti = this.#db.transaction((row: { jti: string; expiresAt: number; now: number }) => {
      prune.run(row.now);
      return insertJti.run(row).changes === 1;
    });
  }

  async revoke(entry: { sid?: string; sub?: string; at: Date }, expiresAt: Date): Promise<void> {
    // A sid names one session; only a logout without one ends all of the user's sessions.
    const target = entry.sid
      ? { kind: 'sid' as const, key: entry.sid }
      : entry.sub
        ? { kind: 'sub' as const, key: entry.sub }
        : null;
    if (!target) return;
    this.#revoke({
      ...target,
      at: entry.at.getTime(),
      expiresAt: expiresAt.getTime(),
      now: this.#now().getTime(),
    });
  }

  async isRevoked(entry: { sid: string | null; sub: string; authTime: Date | null }): Promise<boolean> {
    for (const row of this.#lookup({ sid: entry.sid, sub: entry.sub, now: this.#now().getTime() })) {
      if (row.kind === 'sid') return true;
      if (entry.authTime === null || entry.authTime.getTime() <= row.at) return true;
    }
    return false;
  }

  async rememberJti(jti: string, expiresAt: Date): Promise<boolean> {
    return this.#rememberJti({ jti, expiresAt: expiresAt.getTime(), now: this.#now().getTime() });
  }

  /** Closes the database if this store opened it. */
  close(): void {
    if (this.#owned) this.#db.close();
  }
}
