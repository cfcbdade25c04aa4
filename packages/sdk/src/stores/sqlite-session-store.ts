import type { SessionData } from '../session.ts';
import type { SessionStore } from '../session-store.ts';
import {
  type Database,
  openSqliteDatabase,
  pruneBatchSize,
  type SqliteStoreOptions,
  tableName,
} from './sqlite-database.ts';

export type { Database, SqliteStoreOptions } from './sqlite-database.ts';
export { SqliteRevocationStore } from './sqlite-revocation-store.ts';

interface Row {
  id: string;
  data: string;
  updatedAt: number;
  expiresAt: number;
  now: number;
}

/**
 * Sessions in a SQLite file (better-sqlite3), shared by the app's processes on one machine. The
 * session is kept as JSON: it never leaves the server, but it holds tokens, so never log a row.
 * Expired rows are ignored when read and deleted in small batches on each write.
 */
export class SqliteSessionStore implements SessionStore {
  readonly #db: Database;
  readonly #owned: boolean;
  readonly #now: () => Date;
  readonly #read: (id: string, now: number) => string | undefined;
  readonly #write: (row: Row) => void;
  readonly #remove: (id: string) => void;

  /** `database` is a file path (opened in WAL mode, closed by `close()`) or an open Database. */
  constructor(database: string | Database, options: SqliteStoreOptions = {}) {
    const table = tableName(options.table, 'sesame_sessions');
    this.#now = options.now ?? (() => new Date());
    ({ db: this.#db, owned: this.#owned } = openSqliteDatabase(database));
    this.#db.exec(`CREATE TABLE IF NOT EXISTS ${table} (
      id TEXT PRIMARY KEY,
      data TEXT NOT NULL,
      updated_at INTEGER NOT NULL,
      expires_at INTEGER NOT NULL
    ) WITHOUT ROWID;
    CREATE INDEX IF NOT EXISTS ${table}_expires_at ON ${table} (expires_at);`);
    const get = this.#db.prepare<[string, number], { data: string }>(
      `SELECT data FROM ${table} WHERE id = ? AND expires_at > ?`,
    );
    // One statement, so two writers racing (two refreshes finishing out of order) cannot interleave
    // a read and a write: the older session never replaces the newer one. An expired row counts as absent.
    const upsert = this.#db.prepare(`INSERT INTO ${table} (id, data, updated_at, expires_at)
      VALUES (@id, @data, @updatedAt, @expiresAt)
      ON CONFLICT (id) DO UPDATE SET data = excluded.data, updated_at = excluded.updated_at, expires_at = excluded.expires_at
      WHERE excluded.updated_at >= ${table}.updated_at OR ${table}.expires_at <= @now`);
    const remove = this.#db.prepare(`DELETE FROM ${table} WHERE id = ?`);
    const prune = this.#db.prepare(
      `DELETE FROM ${table} WHERE id IN (SELECT id FROM ${table} WHERE expires_at <= ? LIMIT ${pruneBatchSize})`,
    );
    this.#read = (id, now) => get.get(id, now)?.data;
    this.#write = this.#db.transaction((row: Row) => {
      prune.run(row.now);
      upsert.run(row);
    });
    this.#remove = (id) => void remove.run(id);
  }

  async get(id: string): Promise<SessionData | null> {
    const data = this.#read(id, this.#now().getTime());
    if (data === undefined) return null;
    try {
      return JSON.parse(data) as SessionData;
    } catch {
      return null;
    }
  }

  async set(id: string, data: SessionData, expiresAt: Date): Promise<void> {
    this.#write({
      id,
      data: JSON.stringify(data),
      updatedAt: data.updatedAt,
      expiresAt: expiresAt.getTime(),
      now: this.#now().getTime(),
    });
  }

  async delete(id: string): Promise<void> {
    this.#remove(id);
  }

  /** Closes the database if this store opened it. */
  close(): void {
    if (this.#owned) this.#db.close();
  }
}
