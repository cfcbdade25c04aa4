import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { describeRevocationStoreSuite } from './revocation-store-suite.ts';
import { describeSessionStoreSuite, makeSession } from './session-store-suite.ts';
import { SqliteRevocationStore, SqliteSessionStore } from './sqlite-session-store.ts';

let dir = '';
let files = 0;
const opened: { close(): void }[] = [];

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'sesame-sdk-sqlite-'));
});

afterAll(async () => {
  for (const store of opened) store.close();
  await rm(dir, { recursive: true, force: true });
});

/** A fresh database file per store. */
function file(): string {
  return join(dir, `stores-${++files}.db`);
}

function track<T extends { close(): void }>(store: T): T {
  opened.push(store);
  return store;
}

describeSessionStoreSuite('SQLite file', () => track(new SqliteSessionStore(file())));
describeRevocationStoreSuite('SQLite file', () => track(new SqliteRevocationStore(file())));

/** A clock that moves only when told. */
function testClock(start = Date.UTC(2030, 0, 1)) {
  let current = start;
  return {
    now: () => new Date(current),
    advance: (ms: number) => {
      current += ms;
    },
  };
}

describe('SqliteSessionStore', () => {
  it('a session expires when the clock passes its expiry, without a write', async () => {
    const clock = testClock();
    const store = track(new SqliteSessionStore(file(), { now: clock.now }));
    await store.set('s1', makeSession(1), new Date(clock.now().getTime() + 60_000));
    clock.advance(59_999);
    expect(await store.get('s1')).not.toBeNull();
    clock.advance(1);
    expect(await store.get('s1')).toBeNull();
  });

  it('an expired row does not block a write of an older session', async () => {
    const clock = testClock();
    const store = track(new SqliteSessionStore(file(), { now: clock.now }));
    await store.set('s1', makeSession(2_000), new Date(clock.now().getTime() + 1_000));
    clock.advance(1_000);
    await store.set('s1', makeSession(1_000), new Date(clock.now().getTime() + 1_000));
    expect((await store.get('s1'))?.updatedAt).toBe(1_000);
  });

  it('expired rows are deleted in bounded batches on write', async () => {
    const clock = testClock();
    const db = new Database(':memory:');
    const store = new SqliteSessionStore(db, { now: clock.now });
    const soon = new Date(clock.now().getTime() + 1_000);
    for (let i = 0; i < 250; i++) await store.set(`old-${i}`, makeSession(1), soon);
    const count = () => (db.prepare('SELECT count(*) AS n FROM sesame_sessions').get() as { n: number }).n;
    expect(count()).toBe(250);
    clock.advance(1_000);
    await store.set('fresh', makeSession(1), new Date(clock.now().getTime() + 60_000));
    expect(count()).toBe(151);
    await store.set('fresh', makeSession(2), new Date(clock.now().getTime() + 60_000));
    await store.set('fresh', makeSession(3), new Date(clock.now().getTime() + 60_000));
    expect(count()).toBe(1);
    db.close();
  });

  it('two stores on one file see each other’s sessions (instances of one app)', async () => {
    const path = file();
    const a = track(new SqliteSessionStore(path));
    const b = track(new SqliteSessionStore(path));
    await a.set('s1', makeSession(2_000), new Date(Date.now() + 60_000));
    await b.set('s1', makeSession(1_000), new Date(Date.now() + 60_000));
    expect((await b.get('s1'))?.updatedAt).toBe(2_000);
  });

  it('keeps to its own table, named by the table option, in a database the app opened and still owns', async () => {
    const db = new Database(':memory:');
    const store = new SqliteSessionStore(db, { table: 'app_sessions' });
    await store.set('s1', makeSession(1), new Date(Date.now() + 60_000));
    store.close();
    expect(db.open).toBe(true);
    expect(db.prepare('SELECT count(*) AS n FROM app_sessions').get()).toEqual({ n: 1 });
    db.close();
  });

  it('a table option that is not a plain identifier is a TypeError naming it', () => {
    expect(() => new SqliteSessionStore(':memory:', { table: 'x; DROP TABLE users' })).toThrow(/"table"/);
  });

  it('an unreadable row reads as no session', async () => {
    const db = new Database(':memory:');
    const store = new SqliteSessionStore(db);
    await store.set('s1', makeSession(1), new Date(Date.now() + 60_000));
    db.prepare(`UPDATE sesame_sessions SET data = '{not json'`).run();
    expect(await store.get('s1')).toBeNull();
    db.close();
  });
});

describe('SqliteRevocationStore', () => {
  it('a revocation is forgotten once it expires', async () => {
    const clock = testClock();
    const store = track(new SqliteRevocationStore(file(), { now: clock.now }));
    const expiresAt = new Date(clock.now().getTime() + 60_000);
    await store.revoke({ sid: 'sid_a', at: clock.now() }, expiresAt);
    await store.revoke({ sub: 'usr_b', at: clock.now() }, expiresAt);
    expect(await store.isRevoked({ sid: 'sid_a', sub: 'usr_a', authTime: null })).toBe(true);
    expect(await store.isRevoked({ sid: null, sub: 'usr_b', authTime: null })).toBe(true);
    clock.advance(60_000);
    expect(await store.isRevoked({ sid: 'sid_a', sub: 'usr_a', authTime: null })).toBe(false);
    expect(await store.isRevoked({ sid: null, sub: 'usr_b', authTime: null })).toBe(false);
  });

  it('an expired user revocation is replaced, not merged, by a new one', async () => {
    const clock = testClock();
    const store = track(new SqliteRevocationStore(file(), { now: clock.now }));
    await store.revoke(
      { sub: 'usr_a', at: new Date(clock.now().getTime() + 10_000) },
      new Date(clock.now().getTime() + 1_000),
    );
    clock.advance(1_000);
    await store.revoke(
      { sub: 'usr_a', at: new Date(clock.now().getTime() - 5_000) },
      new Date(clock.now().getTime() + 60_000),
    );
    expect(await store.isRevoked({ sid: null, sub: 'usr_a', authTime: clock.now() })).toBe(false);
  });

  it('a jti can be used again once its replay window has passed', async () => {
    const clock = testClock();
    const store = track(new SqliteRevocationStore(file(), { now: clock.now }));
    const expiresAt = new Date(clock.now().getTime() + 60_000);
    expect(await store.rememberJti('jti-1', expiresAt)).toBe(true);
    clock.advance(59_999);
    expect(await store.rememberJti('jti-1', expiresAt)).toBe(false);
    clock.advance(1);
    expect(await store.rememberJti('jti-1', new Date(clock.now().getTime() + 60_000))).toBe(true);
  });

  it('a jti is accepted by exactly one of two instances sharing the file', async () => {
    const path = file();
    const a = track(new SqliteRevocationStore(path));
    const b = track(new SqliteRevocationStore(path));
    const expiresAt = new Date(Date.now() + 60_000);
    const results = await Promise.all([
      a.rememberJti('jti-shared', expiresAt),
      b.rememberJti('jti-shared', expiresAt),
    ]);
    expect(results.sort()).toEqual([false, true]);
  });

  it('a logout recorded by one instance is seen by another', async () => {
    const path = file();
    const a = track(new SqliteRevocationStore(path));
    const b = track(new SqliteRevocationStore(path));
    await a.revoke({ sid: 'sid_a', at: new Date() }, new Date(Date.now() + 60_000));
    expect(await b.isRevoked({ sid: 'sid_a', sub: 'usr_a', authTime: null })).toBe(true);
  });

  it('expired rows are deleted in bounded batches on write', async () => {
    const clock = testClock();
    const db = new Database(':memory:');
    const store = new SqliteRevocationStore(db, { now: clock.now });
    const soon = new Date(clock.now().getTime() + 1_000);
    for (let i = 0; i < 150; i++) await store.rememberJti(`jti-${i}`, soon);
    const count = () => (db.prepare('SELECT count(*) AS n FROM sesame_revocations').get() as { n: number }).n;
    clock.advance(1_000);
    await store.revoke({ sid: 'sid_a', at: clock.now() }, new Date(clock.now().getTime() + 60_000));
    expect(count()).toBe(51);
    db.close();
  });

  it('lookups read the primary key, not the whole table', () => {
    const db = new Database(':memory:');
    new SqliteRevocationStore(db);
    const plan = db
      .prepare(
        `EXPLAIN QUERY PLAN SELECT kind, at FROM sesame_revocations WHERE kind = 'sid' AND key = 'a' AND expires_at > 0
         UNION ALL SELECT kind, at FROM sesame_revocations WHERE kind = 'sub' AND key = 'b' AND expires_at > 0`,
      )
      .all() as { detail: string }[];
    expect(
      plan.map((row) => row.detail).filter((d) => d.startsWith('SEARCH') || d.startsWith('SCAN')),
    ).toEqual([
      expect.stringMatching(/^SEARCH sesame_revocations USING PRIMARY KEY/),
      expect.stringMatching(/^SEARCH sesame_revocations USING PRIMARY KEY/),
    ]);
    db.close();
  });
});
