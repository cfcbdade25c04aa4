import { mkdir } from 'node:fs/promises';
import { dirname } from 'node:path';
import SqliteDatabase from 'better-sqlite3';
import { Kysely, SqliteDialect } from 'kysely';
import { KyselyStore } from '../sql/kysely-store.ts';
import type { Database } from '../sql/schema.ts';
import type { Store } from '../store.ts';
import { type Checkpointer, startCheckpointer } from './checkpointer.ts';

/** WAL pages after which the server's own connection checkpoints when the background one has not. */
const fallbackCheckpointPages = 10_000;
/** How often the background checkpointer copies the WAL into the database file. */
const checkpointIntervalMs = 250;

/**
 * Opens (creating if needed) a SQLite database file, or `:memory:`, as a `Store`. It does not
 * migrate: call `store.migrate()` before use. With `backgroundCheckpoints` (a long-running server
 * on a file), WAL checkpoints run on a worker thread (see checkpointer.ts) and its errors go to
 * `onError`.
 */
export async function openSqliteStore(options: {
  filename: string;
  backgroundCheckpoints?: { onError: (message: string) => void };
}): Promise<Store> {
  const { filename } = options;
  // `''` is SQLite's private temporary database; like `:memory:` it has no directory.
  const onDisk = filename !== ':memory:' && filename !== '';
  if (onDisk) await mkdir(dirname(filename), { recursive: true });
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
  let checkpointer: Checkpointer | null = null;
  if (onDisk && options.backgroundCheckpoints) {
    database.pragma(`wal_autocheckpoint = ${fallbackCheckpointPages}`);
    checkpointer = startCheckpointer(filename, {
      intervalMs: checkpointIntervalMs,
      onError: options.backgroundCheckpoints.onError,
    });
  }
  const db = new Kysely<Database>({ dialect: new SqliteDialect({ database: withStatementCache(database) }) });
  // The checkpointer's connection closes first, so that closing the server's (the last one)
  // checkpoints what is left and removes the WAL file.
  return new KyselyStore(db, 'sqlite', { beforeClose: async () => checkpointer?.stop() });
}

/** Distinct statements kept prepared; the store issues a few dozen shapes, so this is never reached in practice. */
const statementCacheSize = 500;

/**
 * Kysely prepares every query anew; preparing is most of a small query's cost in SQLite. The
 * store's queries are few distinct SQL strings with bound parameters, so each is prepared once and
 * reused. Safe because better-sqlite3 runs a statement to completion before the next one starts
 * (Kysely's streaming `iterate` is the exception: it gets a fresh statement).
 */
function withStatementCache(database: SqliteDatabase.Database) {
  type Prepared = {
    readonly reader: boolean;
    all(parameters: ReadonlyArray<unknown>): unknown[];
    run(parameters: ReadonlyArray<unknown>): SqliteDatabase.RunResult;
    iterate(parameters: ReadonlyArray<unknown>): IterableIterator<unknown>;
  };
  const prepared = new Map<string, Prepared>();
  return {
    close: () => {
      prepared.clear();
      database.close();
    },
    prepare: (sql: string): Prepared => {
      const cached = prepared.get(sql);
      if (cached) return cached;
      const statement = database.prepare(sql);
      const wrapper: Prepared = {
        reader: statement.reader,
        all: (parameters) => statement.all(parameters),
        run: (parameters) => statement.run(parameters),
        iterate: (parameters) => database.prepare(sql).iterate(parameters) as IterableIterator<unknown>,
      };
      if (prepared.size >= statementCacheSize) prepared.delete(prepared.keys().next().value as string);
      prepared.set(sql, wrapper);
      return wrapper;
    },
  };
}
