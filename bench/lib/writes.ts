import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import SqliteDatabase from 'better-sqlite3';
import { Kysely, SqliteDialect } from 'kysely';
import { createServerContext } from '../../packages/server/src/assemble.ts';
import { loadConfig } from '../../packages/server/src/config/load.ts';
import { createApp } from '../../packages/server/src/http/app.ts';
import { createLogger } from '../../packages/server/src/logger.ts';
import { KyselyStore } from '../../packages/server/src/storage/sql/kysely-store.ts';
import type { Database } from '../../packages/server/src/storage/sql/schema.ts';
import { seedSesame } from './sesame.ts';

/** Database writes per request of a kind, measured on a live server instance. */
export interface WriteCount {
  requests: number;
  /** INSERT / UPDATE / DELETE statements executed, per request. */
  statementsPerRequest: number;
  /** Rows those statements changed (SQLite `total_changes()`), per request. */
  rowsPerRequest: number;
  /** Commits per request: explicit transactions plus writes outside one (each its own commit). */
  commitsPerRequest: number;
  /** The write statements of one request, in order (first request of the kind). */
  example: string[];
}

const isWrite = /^\s*(insert|update|delete|replace)\b/i;

/**
 * Runs `count` refreshes (and as many code exchanges and client_credentials requests) against a
 * server instance whose SQLite connection counts every statement it executes, and reports the
 * writes per request. The instance is the real app (`createApp`) on the real store; only the
 * database handle is wrapped.
 */
export async function countWrites(count: number): Promise<Record<string, WriteCount>> {
  const dir = mkdtempSync(join(tmpdir(), 'sesame-bench-writes-'));
  try {
    const port = 9;
    const seed = await seedSesame({
      dir,
      port,
      appRedirects: { sdk: 'http://127.0.0.1:1/auth/callback', eoc: 'http://127.0.0.1:2/callback' },
      refresh: count,
      codes: count,
    });
    const database = new SqliteDatabase(seed.dbFile);
    // The pragmas open-sqlite-store.ts sets.
    database.pragma('journal_mode = WAL');
    database.pragma('synchronous = NORMAL');
    database.pragma('foreign_keys = ON');
    database.pragma('busy_timeout = 5000');
    let statements = 0;
    let commits = 0;
    let log: string[] | null = null;
    const prepare = database.prepare.bind(database);
    database.prepare = ((sql: string) => {
      const statement = prepare(sql);
      const write = isWrite.test(sql);
      const commit = /^\s*commit\b/i.test(sql);
      if (write || commit) {
        for (const method of ['run', 'get', 'all', 'iterate'] as const) {
          const original = statement[method] as (...args: unknown[]) => unknown;
          (statement as unknown as Record<string, unknown>)[method] = (...args: unknown[]) => {
            if (write) {
              statements++;
              // Outside a transaction, SQLite commits each write on its own.
              if (!database.inTransaction) commits++;
              log?.push(sql.replace(/\s+/g, ' ').slice(0, 120));
            } else commits++;
            return original.apply(statement, args);
          };
        }
      }
      return statement;
    }) as typeof database.prepare;
    const totalChanges = () => (prepare('select total_changes() as n').get() as { n: number }).n;

    const store = new KyselyStore(
      new Kysely<Database>({ dialect: new SqliteDialect({ database }) }),
      'sqlite',
    );
    const config = loadConfig({
      env: {
        ENV_URL: seed.issuer,
        SESAME_SECRET: 'bench-secret-bench-secret-bench-secret-0123456789',
        DATABASE_URL: seed.dbFile,
        LOG_LEVEL: 'warn',
      },
    });
    const ctx = await createServerContext(config, { logger: createLogger('warn'), store });
    const app = createApp(ctx);
    const post = async (fields: Record<string, string>) => {
      const res = await app.request(`${seed.issuer}/oauth/token`, {
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
        body: new URLSearchParams(fields).toString(),
      });
      if (res.status !== 200) throw new Error(`writes: ${res.status} ${await res.text()}`);
    };
    const measure = async (requests: Array<Record<string, string>>): Promise<WriteCount> => {
      const s0 = statements;
      const c0 = commits;
      const r0 = totalChanges();
      let example: string[] = [];
      for (const [i, fields] of requests.entries()) {
        log = i === 0 ? [] : null;
        await post(fields);
        if (i === 0) example = log ?? [];
      }
      log = null;
      const n = requests.length;
      return {
        requests: n,
        statementsPerRequest: (statements - s0) / n,
        rowsPerRequest: (totalChanges() - r0) / n,
        commitsPerRequest: (commits - c0) / n,
        example,
      };
    };
    const web = { client_id: seed.web.id, client_secret: seed.web.secret };
    const result = {
      refresh_token: await measure(
        seed.refreshTokens.map((token) => ({ grant_type: 'refresh_token', refresh_token: token, ...web })),
      ),
      authorization_code: await measure(
        seed.codes.map(({ code, verifier }) => ({
          grant_type: 'authorization_code',
          code,
          code_verifier: verifier,
          redirect_uri: seed.web.redirectUri,
          ...web,
        })),
      ),
      client_credentials: await measure(
        Array.from({ length: count }, () => ({
          grant_type: 'client_credentials',
          client_id: seed.m2m.id,
          client_secret: seed.m2m.secret,
          scope: 'read:users',
        })),
      ),
    };
    await store.close();
    return result;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
