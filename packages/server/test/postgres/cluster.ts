// The PostgreSQL server the tests run on: the one `npm test` provisions (SESAME_TEST_POSTGRES_URL),
// or, when a file runs on its own, a throwaway cluster it starts itself with scripts/postgres.mjs.
// Tests never skip for want of a database.
import { randomBytes } from 'node:crypto';
import pg from 'pg';

/** A running throwaway cluster (scripts/postgres.mjs). */
export interface PostgresCluster {
  url: string;
  port: number;
  bin: string;
  dataDir: string;
  /** Stops the server (fast shutdown), keeping its data and port. */
  pause(): Promise<void>;
  /** Starts it again. */
  resume(): Promise<void>;
  /** Stops it and deletes its data. */
  stop(): Promise<void>;
}

interface PostgresScript {
  startPostgres(options?: { log?: (line: string) => void }): Promise<PostgresCluster>;
  freePort(): Promise<number>;
}

// A computed specifier: the script is plain JavaScript without type declarations.
const scriptUrl = new URL('../../../../scripts/postgres.mjs', import.meta.url).href;

/** scripts/postgres.mjs, typed. */
export async function postgresScript(): Promise<PostgresScript> {
  return (await import(scriptUrl)) as PostgresScript;
}

/** A cluster of this file's own (for tests that stop and start the server). */
export async function startOwnCluster(): Promise<PostgresCluster> {
  return (await postgresScript()).startPostgres();
}

/** A free loopback TCP port. */
export async function freePort(): Promise<number> {
  return (await postgresScript()).freePort();
}

/**
 * The shared server's URL: `SESAME_TEST_POSTGRES_URL`, else a cluster started for this file.
 * `release()` stops that cluster (and does nothing to the shared one).
 */
export async function testCluster(): Promise<{ url: string; release(): Promise<void> }> {
  const shared = process.env['SESAME_TEST_POSTGRES_URL'];
  if (shared) return { url: shared, release: async () => {} };
  const own = await startOwnCluster();
  return { url: own.url, release: () => own.stop() };
}

/** A database of its own on a cluster, and how to drop it. */
export interface FreshDatabase {
  url: string;
  name: string;
  drop(): Promise<void>;
}

/** Creates an empty database `t_<random>` on the cluster at `clusterUrl`. */
export async function createDatabase(clusterUrl: string): Promise<FreshDatabase> {
  const name = `t_${randomBytes(8).toString('hex')}`;
  await admin(clusterUrl, `CREATE DATABASE ${name}`);
  const url = new URL(clusterUrl);
  url.pathname = `/${name}`;
  return {
    url: url.toString(),
    name,
    // FORCE ends sessions a test left open (PostgreSQL 13+).
    drop: () => admin(clusterUrl, `DROP DATABASE IF EXISTS ${name} WITH (FORCE)`),
  };
}

async function admin(clusterUrl: string, statement: string): Promise<void> {
  const client = new pg.Client({ connectionString: clusterUrl });
  await client.connect();
  try {
    await client.query(statement);
  } finally {
    await client.end();
  }
}

/** Runs one query on a database (for tests that move a row's time or read what was stored). */
export async function query<R extends pg.QueryResultRow = Record<string, unknown>>(
  url: string,
  text: string,
  values: unknown[] = [],
): Promise<R[]> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    return (await client.query<R>(text, values)).rows;
  } finally {
    await client.end();
  }
}
