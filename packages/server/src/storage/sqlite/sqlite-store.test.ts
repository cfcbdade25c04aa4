import { mkdtemp, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { describeStoreSuite } from '../store-suite.ts';
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
});
