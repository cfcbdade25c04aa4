import {
  type DatabaseConnection,
  type Driver,
  Kysely,
  type LogConfig,
  PostgresDialect,
  type QueryResult,
  type TransactionSettings,
} from 'kysely';
import pg from 'pg';
import { unavailableMark } from '../../protocol/errors.ts';
import { KyselyStore } from '../sql/kysely-store.ts';
import type { Database } from '../sql/schema.ts';

/** Connection pool settings of {@link openPostgresStore}. */
export interface PostgresPoolSettings {
  /** Connections per server process at most. */
  max: number;
  /** An idle connection is closed after this long. */
  idleTimeoutMillis: number;
  /** Waiting for a connection (new or from a full pool) fails after this long. */
  connectionTimeoutMillis: number;
  /** The server cancels a statement running longer than this (0: never). */
  statementTimeout: number;
}

/** Options of {@link openPostgresStore}. */
export interface PostgresStoreOptions {
  /** A `postgres://` or `postgresql://` connection URL. */
  url: string;
  pool?: Partial<PostgresPoolSettings>;
  /** Kysely's query log (metrics, debugging): called for every statement sent. */
  log?: LogConfig;
  /** Told when a pooled connection breaks while idle; the pool drops it and opens another when needed. */
  onIdleConnectionError?: (err: Error) => void;
}

const defaults: PostgresPoolSettings = {
  max: 10,
  idleTimeoutMillis: 30_000,
  connectionTimeoutMillis: 5_000,
  statementTimeout: 10_000,
};

/** The database could not be reached when the store was opened. */
export class PostgresUnreachableError extends Error {
  /** `host:port` from the URL (never its credentials). */
  readonly address: string;
  /** What the driver said. */
  readonly reason: string;

  constructor(address: string, reason: string, options?: { cause?: unknown }) {
    super(`Cannot reach PostgreSQL at ${address}: ${reason}`, options);
    this.name = 'PostgresUnreachableError';
    this.address = address;
    this.reason = reason;
  }
}

/**
 * Opens a PostgreSQL database as a `Store`: Kysely's `PostgresDialect` over a `pg.Pool`. One
 * connection is made at once, so a database that is down fails here with
 * {@link PostgresUnreachableError}; once open, a lost database makes store calls throw errors
 * marked `unavailableMark` (answered 503 `temporarily_unavailable`), and the pool reconnects by
 * itself when it is back. It does not migrate: call `store.migrate()` before use.
 */
export async function openPostgresStore(options: PostgresStoreOptions): Promise<KyselyStore> {
  const settings = { ...defaults, ...options.pool };
  const pool = new pg.Pool({
    connectionString: options.url,
    max: settings.max,
    idleTimeoutMillis: settings.idleTimeoutMillis,
    connectionTimeoutMillis: settings.connectionTimeoutMillis,
    ...(settings.statementTimeout > 0 ? { statement_timeout: settings.statementTimeout } : {}),
    application_name: 'sesame',
  });
  // Without a listener, an idle connection that breaks (database restarted, network cut) is an
  // unhandled 'error' event and ends the process; the pool has already dropped that client.
  pool.on('error', (err) => options.onIdleConnectionError?.(err));

  try {
    const client = await pool.connect();
    client.release();
  } catch (err) {
    await pool.end().catch(() => {});
    throw new PostgresUnreachableError(addressOf(options.url), reasonOf(err), { cause: err });
  }

  const dialect = new UnavailableMarkingDialect({ pool });
  const db = new Kysely<Database>({ dialect, ...(options.log ? { log: options.log } : {}) });
  return new KyselyStore(db, 'postgres');
}

/**
 * Whether an error means the database cannot serve right now (rather than that the statement is
 * wrong): the connection could not be made or broke, the server is shutting down or starting up,
 * has no connection slots or resources left, or cancelled a statement that ran too long.
 * @see https://www.postgresql.org/docs/current/errcodes-appendix.html
 */
export function isPostgresUnavailable(err: unknown): boolean {
  if (typeof err !== 'object' || err === null) return false;
  const { code, message } = err as { code?: unknown; message?: unknown };
  if (typeof code === 'string') {
    // Class 08: connection exception; 57P01–57P03: admin/crash shutdown, cannot connect now;
    // class 53: insufficient resources (too many connections, out of memory, disk full);
    // 57014: statement timeout.
    if (/^(08|53)/.test(code) || /^57P0[1-3]$/.test(code) || code === '57014') return true;
    if (/^(ECONNREFUSED|ECONNRESET|ETIMEDOUT|EPIPE|EHOSTUNREACH|ENETUNREACH|ENOTFOUND|EAI_AGAIN)$/.test(code))
      return true;
  }
  if (err instanceof AggregateError) return err.errors.some(isPostgresUnavailable);
  // pg's own messages when the socket ends or the pool cannot hand out a connection in time.
  return (
    typeof message === 'string' &&
    /Connection terminated|timeout exceeded when trying to connect|is not queryable|Connection ended/i.test(
      message,
    )
  );
}

/** Marks `err` (in place, keeping its code and message) when it means the database is unavailable. */
function markIfUnavailable(err: unknown): unknown {
  if (isPostgresUnavailable(err)) Object.defineProperty(err, unavailableMark, { value: true });
  return err;
}

async function marking<T>(work: () => Promise<T>): Promise<T> {
  try {
    return await work();
  } catch (err) {
    throw markIfUnavailable(err);
  }
}

/** `PostgresDialect` whose driver marks every error that means the database is unavailable. */
class UnavailableMarkingDialect extends PostgresDialect {
  override createDriver(): Driver {
    return new UnavailableMarkingDriver(super.createDriver());
  }
}

/**
 * Delegates to Kysely's `PostgresDriver`, handing it back its own connection objects (it keeps
 * private state on them) and marking what fails.
 */
class UnavailableMarkingDriver implements Driver {
  readonly #inner: Driver;

  constructor(inner: Driver) {
    this.#inner = inner;
  }

  init(): Promise<void> {
    return this.#inner.init();
  }

  async acquireConnection(): Promise<DatabaseConnection> {
    return new MarkingConnection(await marking(() => this.#inner.acquireConnection()));
  }

  beginTransaction(connection: DatabaseConnection, settings: TransactionSettings): Promise<void> {
    return marking(() => this.#inner.beginTransaction(unwrap(connection), settings));
  }

  commitTransaction(connection: DatabaseConnection): Promise<void> {
    return marking(() => this.#inner.commitTransaction(unwrap(connection)));
  }

  rollbackTransaction(connection: DatabaseConnection): Promise<void> {
    return marking(() => this.#inner.rollbackTransaction(unwrap(connection)));
  }

  releaseConnection(connection: DatabaseConnection): Promise<void> {
    return this.#inner.releaseConnection(unwrap(connection));
  }

  destroy(): Promise<void> {
    return this.#inner.destroy();
  }
}

class MarkingConnection implements DatabaseConnection {
  readonly inner: DatabaseConnection;

  constructor(inner: DatabaseConnection) {
    this.inner = inner;
  }

  executeQuery<R>(compiledQuery: Parameters<DatabaseConnection['executeQuery']>[0]): Promise<QueryResult<R>> {
    return marking(() => this.inner.executeQuery<R>(compiledQuery));
  }

  streamQuery<R>(
    compiledQuery: Parameters<DatabaseConnection['streamQuery']>[0],
    chunkSize?: number,
  ): AsyncIterableIterator<QueryResult<R>> {
    return this.inner.streamQuery<R>(compiledQuery, chunkSize);
  }
}

function unwrap(connection: DatabaseConnection): DatabaseConnection {
  return connection instanceof MarkingConnection ? connection.inner : connection;
}

/** `host:port` of a connection URL, without user or password. */
function addressOf(url: string): string {
  try {
    const parsed = new URL(url);
    return `${parsed.hostname || 'localhost'}:${parsed.port || '5432'}`;
  } catch {
    return 'an unparseable URL';
  }
}

function reasonOf(err: unknown): string {
  if (err instanceof AggregateError && err.errors.length > 0) {
    return [...new Set(err.errors.map(reasonOf))].join('; ');
  }
  if (err instanceof Error) {
    const code = (err as { code?: unknown }).code;
    return err.message || (typeof code === 'string' ? code : err.name);
  }
  return String(err);
}
