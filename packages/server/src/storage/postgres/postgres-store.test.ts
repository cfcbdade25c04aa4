import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createDatabase, type FreshDatabase, query, testCluster } from '../../../test/postgres/cluster.ts';
import { openStore } from '../../assemble.ts';
import { loadConfig } from '../../config/load.ts';
import { unavailableMark } from '../../protocol/errors.ts';
import { migrations } from '../sql/migrations.ts';
import { AlreadyExistsError, type Store } from '../store.ts';
import { describeStoreSuite } from '../store-suite.ts';
import { isPostgresUnavailable, openPostgresStore, PostgresUnreachableError } from './open-postgres-store.ts';

/** The advisory lock id Kysely's PostgreSQL adapter takes while migrating. */
const kyselyMigrationLockId = '3853314791062309107';

let cluster: { url: string; release(): Promise<void> };

beforeAll(async () => {
  cluster = await testCluster();
});

afterAll(async () => {
  await cluster.release();
});

/** A store on a database of its own; closing it drops the database. */
async function openFresh(): Promise<Store & { database: FreshDatabase }> {
  const database = await createDatabase(cluster.url);
  const store = await openPostgresStore({ url: database.url });
  const close = store.close.bind(store);
  return Object.assign(store, {
    database,
    close: async () => {
      await close();
      await database.drop();
    },
  });
}

// Every test gets a fresh database, so the suite's tests cannot see each other's rows.
describeStoreSuite('PostgreSQL', () => openFresh());

describe('openPostgresStore', () => {
  it('two servers migrating one empty database at once both succeed, and migrate it once', async () => {
    const database = await createDatabase(cluster.url);
    const [a, b] = await Promise.all([
      openPostgresStore({ url: database.url }),
      openPostgresStore({ url: database.url }),
    ]);
    try {
      await Promise.all([a.migrate(), b.migrate()]);
      expect((await a.roles.list(null)).map((r) => r.name).sort()).toEqual(['admin', 'member']);
      expect((await b.roles.list(null)).map((r) => r.name).sort()).toEqual(['admin', 'member']);
      const applied = await query<{ name: string }>(
        database.url,
        'SELECT name FROM kysely_migration ORDER BY name',
      );
      expect(applied.map((m) => m.name)).toEqual(Object.keys(migrations).sort());
    } finally {
      await a.close();
      await b.close();
      await database.drop();
    }
  });

  it('does not migrate by itself; kind is postgres', async () => {
    const store = await openFresh();
    try {
      expect(store.kind).toBe('postgres');
      await store.ping();
      await expect(store.users.get('usr_x')).rejects.toThrow(/does not exist/);
    } finally {
      await store.close();
    }
  });

  it('a unique violation (23505) is AlreadyExistsError naming the field, not an outage', async () => {
    const store = await openFresh();
    try {
      await store.migrate();
      const user = {
        id: 'usr_1',
        email: 'a@example.com',
        emailVerified: true,
        name: null,
        givenName: null,
        familyName: null,
        passwordHash: null,
        externalId: null,
        disabled: false,
        metadata: {},
        createdAt: new Date(0),
        updatedAt: new Date(0),
      };
      await store.users.insert(user);
      const err = await store.users.insert({ ...user, id: 'usr_2' }).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(AlreadyExistsError);
      expect((err as AlreadyExistsError).message).toContain('email');
      expect(isPostgresUnavailable((err as Error).cause)).toBe(false);
    } finally {
      await store.close();
    }
  });

  it('a statement past the statement timeout is cancelled and marked unavailable (503)', async () => {
    const database = await createDatabase(cluster.url);
    const store = await openPostgresStore({ url: database.url, pool: { statementTimeout: 200 } });
    // Another session holds the table, so the store's read waits past its timeout.
    const holder = new pg.Client({ connectionString: database.url });
    await holder.connect();
    try {
      await store.migrate();
      await holder.query('BEGIN');
      await holder.query('LOCK TABLE users IN ACCESS EXCLUSIVE MODE');
      const err = await store.users.get('usr_x').catch((e: unknown) => e);
      expect((err as { code?: string }).code).toBe('57014');
      expect((err as Record<symbol, unknown>)[unavailableMark]).toBe(true);
      await holder.query('ROLLBACK');
      expect(await store.users.get('usr_x')).toBeNull();
    } finally {
      await holder.end();
      await store.close();
      await database.drop();
    }
  });

  it("openStore migrates without the statement timeout: waiting on another server's migration lock is not cancelled", async () => {
    const database = await createDatabase(cluster.url);
    // Another server is migrating: it holds Kysely's migration lock (a PostgreSQL advisory lock).
    const other = new pg.Client({ connectionString: database.url });
    await other.connect();
    await other.query(`SELECT pg_advisory_lock(${kyselyMigrationLockId})`);
    const config = loadConfig({
      env: {
        ENV_URL: 'http://localhost:8080',
        SESAME_SECRET: 'postgres-store-secret-postgres-store-secret',
        DATABASE_URL: database.url,
        SESAME_DB_STATEMENT_TIMEOUT: '200',
      },
    });
    const opening = openStore(config);
    await new Promise((resolve) => setTimeout(resolve, 800));
    await other.query(`SELECT pg_advisory_unlock(${kyselyMigrationLockId})`);
    await other.end();
    const store = await opening;
    try {
      expect(store.kind).toBe('postgres');
      expect((await store.roles.list(null)).map((r) => r.name).sort()).toEqual(['admin', 'member']);
    } finally {
      await store.close();
      await database.drop();
    }
  });

  it('a database that does not exist fails at open with a clear message', async () => {
    const url = new URL(cluster.url);
    url.pathname = '/no_such_database';
    const err = await openPostgresStore({ url: url.toString() }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(PostgresUnreachableError);
    expect((err as Error).message).toMatch(
      new RegExp(`^Cannot reach PostgreSQL at 127\\.0\\.0\\.1:${url.port}: .*no_such_database`),
    );
    expect((err as Error & { [unavailableMark]?: boolean })[unavailableMark]).toBeUndefined();
  });
});
