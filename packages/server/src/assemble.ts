import { mkdirSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import type { Logger } from 'pino';
import { PasswordHasher } from './accounts/passwords.ts';
import type { Config } from './config/config.ts';
import { ConfigError } from './config/load.ts';
import type { ServerContext } from './context.ts';
import { KeyRing } from './keys/key-ring.ts';
import { deriveKey } from './keys/secret-box.ts';
import { Wakeup } from './lib/wakeup.ts';
import {
  openPostgresStore,
  type PostgresPoolSettings,
  PostgresUnreachableError,
} from './storage/postgres/open-postgres-store.ts';
import { openSqliteStore } from './storage/sqlite/open-sqlite-store.ts';
import type { Store } from './storage/store.ts';

/** Where a `DATABASE_URL` points. */
export type DatabaseTarget = { kind: 'sqlite'; filename: string } | { kind: 'postgres'; url: string };

/** Reads `DATABASE_URL`: a SQLite path (`./data/sesame.db`, `sqlite:…`, `file:…`, `:memory:`) or a postgres URL. */
export function parseDatabaseUrl(databaseUrl: string): DatabaseTarget {
  if (/^postgres(ql)?:\/\//i.test(databaseUrl)) return { kind: 'postgres', url: databaseUrl };
  if (databaseUrl === ':memory:' || databaseUrl === 'sqlite::memory:')
    return { kind: 'sqlite', filename: ':memory:' };
  const path = databaseUrl.replace(/^sqlite:(\/\/)?/i, '').replace(/^file:(\/\/)?/i, '');
  if (/^[a-z][a-z0-9+.-]*:\/\//i.test(path) || path.length === 0) {
    throw new ConfigError(`DATABASE_URL must be a SQLite file path or a postgres:// URL, not ${databaseUrl}`);
  }
  return { kind: 'sqlite', filename: resolve(path) };
}

/**
 * Opens (and migrates) the store a configuration names. A long-running server passes `serving`:
 * on SQLite, checkpoints then run on a thread of their own (errors logged).
 */
export async function openStore(config: Config, serving?: { logger: Logger }): Promise<Store> {
  const target = parseDatabaseUrl(config.databaseUrl);
  if (target.kind === 'postgres') {
    const pool = {
      max: config.dbPoolMax,
      connectionTimeoutMillis: config.dbConnectTimeout * 1000,
      statementTimeout: config.dbStatementTimeout,
    };
    // Migrations get their own connection without the statement timeout: building an index on a
    // large table may rightly take longer than any request should.
    const migrator = await connectPostgres(target.url, { ...pool, max: 1, statementTimeout: 0 });
    try {
      await migrator.migrate();
    } finally {
      await migrator.close();
    }
    return connectPostgres(target.url, pool);
  }
  if (target.filename !== ':memory:') mkdirSync(dirname(target.filename), { recursive: true });
  const store = await openSqliteStore({
    filename: target.filename,
    ...(serving && {
      backgroundCheckpoints: {
        onError: (message: string) =>
          serving.logger.error({ err: message }, 'SQLite background checkpoint failed'),
      },
    }),
  });
  await store.migrate();
  return store;
}

/** Opens PostgreSQL; a database that is down at start is a setting to check, named as such. */
async function connectPostgres(url: string, pool: Partial<PostgresPoolSettings>): Promise<Store> {
  try {
    return await openPostgresStore({ url, pool });
  } catch (err) {
    if (err instanceof PostgresUnreachableError) {
      throw new ConfigError(`Cannot reach PostgreSQL at ${err.address} (DATABASE_URL): ${err.reason}`);
    }
    throw err;
  }
}

/** Builds the key ring a configuration asks for (not yet loaded). */
export function createKeyRing(config: Config, store: Store): KeyRing {
  return new KeyRing({
    store: store.keys,
    encryptionKey: deriveKey(config.secret, 'signing-keys'),
    alg: config.signingAlg,
    jwksMaxAgeSeconds: config.jwksMaxAge,
    // The longest-lived token: machine tokens, ID tokens, or the longest access-token lifetime allowed.
    maxTokenLifetimeSeconds: Math.max(config.machineTokenTtl, config.idTokenTtl, 86400),
    rotationIntervalSeconds:
      config.keyRotationDays > 0 ? config.keyRotationDays * 86400 : Number.MAX_SAFE_INTEGER,
    now: config.now,
  });
}

/**
 * Assembles everything a request needs: the store (migrated), the signing keys (loaded, one
 * created on first start), the password hasher.
 */
export async function createServerContext(
  config: Config,
  options: { logger: Logger; store?: Store; sleep?: (ms: number) => Promise<void> },
): Promise<ServerContext> {
  const store = options.store ?? (await openStore(config));
  const keys = createKeyRing(config, store);
  await keys.load();
  await keys.ensureSigningKey();
  return {
    config,
    store,
    keys,
    passwords: new PasswordHasher({ concurrency: config.passwordHashConcurrency }),
    logger: options.logger,
    sealingKey: deriveKey(config.secret, 'sealed-responses'),
    refreshSuccessorKey: deriveKey(config.secret, 'refresh-successors'),
    csrfKey: deriveKey(config.secret, 'csrf'),
    logoutDeliveryWakeup: new Wakeup(),
    sleep: options.sleep ?? ((ms) => new Promise((resolve) => setTimeout(resolve, ms))),
  };
}
