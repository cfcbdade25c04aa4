import { copyFile, mkdtemp, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import SqliteDatabase from 'better-sqlite3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { describeStoreSuite } from '../store-suite.ts';
import { startCheckpointer } from './checkpointer.ts';
import { openSqliteStore } from './open-sqlite-store.ts';

let dir = '';
let files = 0;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'sesame-sqlite-'));
});

afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

// A fresh file per test, in a directory that does not exist yet (openSqliteStore creates it).
describeStoreSuite('SQLite file', () =>
  openSqliteStore({ filename: join(dir, `db-${++files}`, 'sesame.db') }),
);
describeStoreSuite('SQLite :memory:', () => openSqliteStore({ filename: ':memory:' }));
describeStoreSuite('SQLite file, checkpoints on a worker thread', () =>
  openSqliteStore({
    filename: join(dir, `db-${++files}`, 'sesame.db'),
    backgroundCheckpoints: { onError: (message) => expect.fail(`checkpoint failed: ${message}`) },
  }),
);

describe('openSqliteStore', () => {
  it('opens a WAL database with foreign keys on, and does not migrate by itself', async () => {
    const filename = join(dir, 'pragmas', 'sesame.db');
    const store = await openSqliteStore({ filename });
    try {
      expect(store.kind).toBe('sqlite');
      await store.ping();
      await expect(store.users.get('usr_x')).rejects.toThrow(/no such table/);
      await store.migrate();
      expect(await store.users.get('usr_x')).toBeNull();
      expect((await stat(`${filename}-wal`)).isFile()).toBe(true);
    } finally {
      await store.close();
    }
  });

  it('keeps data across reopening the same file', async () => {
    const filename = join(dir, 'reopen', 'sesame.db');
    const first = await openSqliteStore({ filename });
    await first.migrate();
    await first.rateLimits.hit('k', new Date(0), new Date(60_000));
    await first.close();

    const second = await openSqliteStore({ filename });
    try {
      await second.migrate();
      expect(await second.rateLimits.peek('k', new Date(0))).toBe(1);
      expect((await second.roles.list(null)).map((r) => r.name).sort()).toEqual(['admin', 'member']);
    } finally {
      await second.close();
    }
  });

  it('with background checkpoints, commits reach the database file itself without the server connection checkpointing', async () => {
    const filename = join(dir, 'background', 'sesame.db');
    const errors: string[] = [];
    const store = await openSqliteStore({
      filename,
      backgroundCheckpoints: { onError: (message) => errors.push(message) },
    });
    try {
      await store.migrate();
      for (let i = 0; i < 50; i++) await store.rateLimits.hit(`key-${i}`, new Date(0), new Date(60_000));
      // A copy of the main file alone (no -wal beside it) shows what has been checkpointed.
      const snapshot = join(dir, 'background', 'snapshot.db');
      const checkpointedKeys = async () => {
        await copyFile(filename, snapshot);
        await rm(`${snapshot}-wal`, { force: true });
        const db = new SqliteDatabase(snapshot, { readonly: true });
        try {
          return (db.prepare('select count(*) as n from rate_limits').get() as { n: number }).n;
        } catch {
          return 0; // the schema itself is not in the file yet
        } finally {
          db.close();
        }
      };
      let seen = 0;
      for (let attempt = 0; attempt < 100 && seen < 50; attempt++) {
        seen = await checkpointedKeys();
        if (seen < 50) await new Promise((resolve) => setTimeout(resolve, 100));
      }
      expect(seen).toBe(50);
      expect(errors).toEqual([]);
    } finally {
      await store.close();
    }
    // The worker's connection closed first, so the server's was the last one: WAL folded in and removed.
    await expect(stat(`${filename}-wal`)).rejects.toThrow(/ENOENT/);
  });

  it('a checkpointer that cannot open the database reports why, and stops cleanly', async () => {
    let report: (message: string) => void = () => {};
    const reported = new Promise<string>((resolve) => {
      report = resolve;
    });
    const checkpointer = startCheckpointer(join(dir, 'missing', 'nothing.db'), {
      intervalMs: 10,
      onError: (message) => report(message),
    });
    expect(await reported).toMatch(/unable to open database file|does not exist/);
    await checkpointer.stop();
  });
});
