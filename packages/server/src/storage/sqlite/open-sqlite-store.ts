import { mkdir } from 'node:fs/promises';
import { dirname } from 'node:path';
import SqliteDatabase from 'better-sqlite3';
import { Kysely, SqliteDialect } from 'kysely';
import { KyselyStore } from '../sql/kysely-store.ts';
import type { Database } from '../sql/schema.ts';
import type { Store } from '../store.ts';

/**
 * Opens (creating if needed) a SQLite database file, or `:memory:`, as a `Store`. It does not
 * migrate: call `store.migrate()` before use.
 */
export async function openSqliteStore(options: { filename: string }): Promise<Store> {
  const { filename } = options;
  // `''` is SQLite's private temporary database; like `:memory:` it has no directory.
  if (filename !== ':memory:' && filename !== '') {
    await mkdir(dirname(filename), { recursive: true });
  }
  const database = new SqliteDatabase(filename);
  try {
    // WAL lets readers in other processes (the CLI, a backup) proceed during writes; NORMAL is
    // durable in WAL mode except for the last commits on power loss, never corrupting.
    database.pragma('journal_mode = WAL');
    database.pragma('synchronous = NORMAL');
    // SQLite leaves foreign keys off by default; the schema's cascades depend on them.
    database.pragma('foreign_keys = ON');
    database.pragma('busy_timeout = 5000');
  } catch (err) {
    database.close();
    throw err;
  }
  const db = new Kysely<Database>({ dialect: new SqliteDialect({ database }) });
  return new KyselyStore(db, 'sqlite');
}
