import SqliteDatabase from 'better-sqlite3';

/** An open better-sqlite3 database. */
export type Database = SqliteDatabase.Database;

/** What the SQLite stores share: where the rows are and what time it is. */
export interface SqliteStoreOptions {
  /** The table's name; give each store its own when several share a database. */
  table?: string;
  /** The clock that decides what has expired (tests). */
  now?: () => Date;
}

/** Expired rows deleted per write: bounded, so no single request pays for a large backlog. */
export const pruneBatchSize = 100;

/**
 * Opens a database file for a store (WAL, so several app processes can share it), or takes an
 * open one as is. `owned` says whether the store should close it.
 */
export function openSqliteDatabase(database: string | Database): { db: Database; owned: boolean } {
  if (typeof database !== 'string') return { db: database, owned: false };
  if (database.length === 0)
    throw new TypeError('Sesame SDK SQLite store needs a file path or an open Database');
  const db = new SqliteDatabase(database);
  try {
    db.pragma('journal_mode = WAL');
    db.pragma('synchronous = NORMAL');
    // Instances of the app that share the file wait for each other's writes instead of failing.
    db.pragma('busy_timeout = 5000');
  } catch (err) {
    db.close();
    throw err;
  }
  return { db, owned: true };
}

/** Checks a table name option: it is spliced into SQL, so only a plain identifier is allowed. */
export function tableName(value: string | undefined, fallback: string): string {
  const name = value ?? fallback;
  if (!/^[A-Za-z_][A-Za-z0-9_]{0,62}$/.test(name)) {
    throw new TypeError(
      `Sesame SDK option "table" must be a plain SQL identifier, got ${JSON.stringify(name)}`,
    );
  }
  return name;
}
