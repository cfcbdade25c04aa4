import SqliteDatabase from 'better-sqlite3';
import { Kysely, SqliteDialect } from 'kysely';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { queryTemplate } from './query-template.ts';
import type { Database } from './schema.ts';

let db: Kysely<Database>;

beforeEach(async () => {
  db = new Kysely<Database>({ dialect: new SqliteDialect({ database: new SqliteDatabase(':memory:') }) });
  await db.schema
    .createTable('organizations')
    .addColumn('id', 'text', (c) => c.primaryKey())
    .addColumn('name', 'text', (c) => c.notNull())
    .addColumn('external_id', 'text')
    .addColumn('metadata', 'text', (c) => c.notNull())
    .addColumn('created_at', 'integer', (c) => c.notNull())
    .addColumn('updated_at', 'integer', (c) => c.notNull())
    .execute();
  for (const [id, name, at] of [
    ['org_a', 'Acme', 1],
    ['org_b', 'Globex', 2],
    ['org_c', 'Initech', 3],
  ] as const) {
    await db
      .insertInto('organizations')
      .values({ id, name, external_id: null, metadata: '{}', created_at: at, updated_at: at })
      .execute();
  }
});

afterEach(async () => {
  await db.destroy();
});

describe('queryTemplate', () => {
  it('builds and compiles once, then runs with each call’s values', async () => {
    let builds = 0;
    const byName = queryTemplate((k, p: { name: string }) => {
      builds++;
      return k.selectFrom('organizations').select('id').where('name', '=', p.name);
    });
    expect((await byName.run(db, { name: 'Acme' })).rows).toEqual([{ id: 'org_a' }]);
    expect((await byName.run(db, { name: 'Initech' })).rows).toEqual([{ id: 'org_c' }]);
    expect((await byName.run(db, { name: 'nobody' })).rows).toEqual([]);
    expect(builds).toBe(1);
  });

  it('keeps the constants of the query and binds the parameters wherever they appear', async () => {
    const template = queryTemplate((k, p: { after: number; before: number }) =>
      k
        .selectFrom('organizations')
        .select('id')
        .where('created_at', '>', p.after)
        .where('created_at', '<', p.before)
        .where('name', '!=', 'Globex')
        .orderBy('id'),
    );
    expect((await template.run(db, { after: 0, before: 10 })).rows).toEqual([
      { id: 'org_a' },
      { id: 'org_c' },
    ]);
    expect((await template.run(db, { after: 1, before: 3 })).rows).toEqual([]);
  });

  it('runs inside a transaction with the compiled query of its connection', async () => {
    const rename = queryTemplate((k, p: { id: string; name: string }) =>
      k.updateTable('organizations').set({ name: p.name }).where('id', '=', p.id),
    );
    await rename.run(db, { id: 'org_a', name: 'Acme 1' });
    await expect(
      db.transaction().execute(async (trx) => {
        const result = await rename.run(trx, { id: 'org_b', name: 'Globex 2' });
        expect(result.numAffectedRows).toBe(1n);
        throw new Error('roll back');
      }),
    ).rejects.toThrow('roll back');
    const names = await db.selectFrom('organizations').select('name').orderBy('id').execute();
    expect(names.map((r) => r.name)).toEqual(['Acme 1', 'Globex', 'Initech']);
  });

  it('refuses a call without a parameter the query uses', async () => {
    const byName = queryTemplate((k, p: { name: string }) =>
      k.selectFrom('organizations').select('id').where('name', '=', p.name),
    );
    await byName.run(db, { name: 'Acme' });
    await expect(byName.run(db, {} as { name: string })).rejects.toThrow('query parameter "name" is missing');
  });
});
