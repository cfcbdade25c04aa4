// The database work of one sign-in and one refresh, measured on PostgreSQL: every statement the
// store sends is counted through Kysely's query log. docs/scaling.md sizes the database from these
// numbers; this file pins them, so a change that adds a write fails here until the doc follows.
import type { LogEvent } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openPostgresStore } from '../../src/storage/postgres/open-postgres-store.ts';
import { Agent, authorizationCode, exchangeCode, tokenRequest } from '../support/agent.ts';
import { startTestServer, type TestServer } from '../support/server.ts';
import { createDatabase, type FreshDatabase, query, testCluster } from './cluster.ts';

let cluster: { url: string; release(): Promise<void> };
let database: FreshDatabase;
let server: TestServer;
let recording: string[] | null = null;

/** `insert sessions`, `select clients`, …: the verb and first table of a statement. */
function describeStatement(sql: string): string {
  const verb = /^\s*(\w+)/.exec(sql)?.[1]?.toLowerCase() ?? '?';
  const table = /\b(?:into|update|from)\s+"(\w+)"/i.exec(sql)?.[1] ?? '?';
  return `${verb} ${table}`;
}

const isWrite = (statement: string) => /^(insert|update|delete) /.test(statement);

/** Where PostgreSQL's write-ahead log ends now. */
async function walPosition(): Promise<string> {
  const rows = await query<{ lsn: string }>(database.url, 'SELECT pg_current_wal_insert_lsn()::text AS lsn');
  return rows[0]?.lsn as string;
}

/**
 * Runs `work` and returns the statements the store sent meanwhile, in order, and the WAL bytes
 * written meanwhile (printed for docs/scaling.md, not asserted: autovacuum may add a little).
 */
async function statementsOf(
  work: () => Promise<unknown>,
): Promise<{ writes: string[]; reads: string[]; walBytes: number }> {
  const walBefore = await walPosition();
  recording = [];
  // The server answers after its last statement, and nothing runs in the background here.
  await work();
  const seen = recording;
  recording = null;
  const [diff] = await query<{ bytes: string }>(
    database.url,
    'SELECT pg_wal_lsn_diff(pg_current_wal_insert_lsn(), $1::pg_lsn)::text AS bytes',
    [walBefore],
  );
  return {
    writes: seen.filter(isWrite),
    reads: seen.filter((s) => !isWrite(s)),
    walBytes: Number(diff?.bytes ?? Number.NaN),
  };
}

beforeAll(async () => {
  cluster = await testCluster();
  database = await createDatabase(cluster.url);
  const store = await openPostgresStore({
    url: database.url,
    log: (event: LogEvent) => {
      if (event.level === 'query') recording?.push(describeStatement(event.query.sql));
    },
  });
  await store.migrate();
  // In process, without the upkeep timer: only requests touch the database.
  server = await startTestServer({ store });
});

afterAll(async () => {
  await server?.close();
  await database?.drop();
  await cluster?.release();
});

const webParams = () => ({
  client_id: server.web.id,
  redirect_uri: server.web.redirectUri,
  state: 'st-writes',
  nonce: 'n-writes',
});

describe('database statements per grant (docs/scaling.md, "Writes per sign-in and per refresh")', () => {
  it('a password sign-in (authorize → sign-in page → password → code) and its code exchange', async () => {
    const agent = new Agent();
    let code = '';
    const signIn = await statementsOf(async () => {
      code = await authorizationCode(agent, server, webParams());
    });
    const exchange = await statementsOf(async () => {
      const res = await exchangeCode(server, server.web, code);
      expect(res.status).toBe(200);
    });
    console.info(
      `sign-in: ${signIn.writes.length} writes [${signIn.writes.join(', ')}], ${signIn.reads.length} reads, ${signIn.walBytes} WAL bytes\n` +
        `code exchange: ${exchange.writes.length} writes [${exchange.writes.join(', ')}], ${exchange.reads.length} reads, ${exchange.walBytes} WAL bytes`,
    );
    expect(signIn.writes).toEqual([
      'insert interactions',
      'delete rate_limits',
      'insert sessions',
      'update interactions',
      'insert grants',
      'insert authorization_codes',
      'update sessions',
    ]);
    expect(exchange.writes).toEqual([
      'update authorization_codes',
      'insert refresh_tokens',
      'insert session_clients',
    ]);
    expect(signIn.reads.length).toBeLessThanOrEqual(10);
    // The client with its secrets, the grant with its session, user, organization and membership, the roles,
    // and the grant again inside the transaction (a replay may have revoked it meanwhile).
    expect(exchange.reads.length).toBeLessThanOrEqual(4);
  });

  it('a refresh (rotation) writes at most 3 statements: 2 at once, 3 at the usual cadence (RFC 6749 §6)', async () => {
    const agent = new Agent();
    const code = await authorizationCode(agent, server, webParams());
    const { body } = await exchangeCode(server, server.web, code);
    const refresh = (refreshToken: string) =>
      statementsOf(async () => {
        const res = await tokenRequest(server, {
          grant_type: 'refresh_token',
          refresh_token: refreshToken,
          client_id: server.web.id,
          client_secret: server.web.secret ?? '',
        });
        expect(res.status).toBe(200);
        next = res.body['refresh_token'] as string;
      });
    let next = '';

    // At once: the rotation (one transaction), the session was touched less than a minute ago.
    const immediate = await refresh(body['refresh_token'] as string);
    // When the access token (300 s) has run out: the rotation, and the session's idle clock slides.
    server.clock.advance(300);
    const usual = await refresh(next);
    console.info(
      `refresh at once: ${immediate.writes.length} writes [${immediate.writes.join(', ')}], ${immediate.reads.length} reads, ${immediate.walBytes} WAL bytes\n` +
        `refresh after 300 s: ${usual.writes.length} writes [${usual.writes.join(', ')}], ${usual.reads.length} reads, ${usual.walBytes} WAL bytes`,
    );
    expect(immediate.writes).toEqual(['update refresh_tokens', 'insert refresh_tokens']);
    expect(usual.writes).toEqual(['update refresh_tokens', 'insert refresh_tokens', 'update sessions']);
    expect(usual.writes.length).toBeLessThanOrEqual(3);
    // The client with its secrets, the token with its session, user, organization and membership, the roles.
    expect(usual.reads.length).toBeLessThanOrEqual(3);
  });

  it('single sign-on to a second app (session cookie, no password)', async () => {
    const agent = new Agent();
    await authorizationCode(agent, server, webParams());
    let code = '';
    const sso = await statementsOf(async () => {
      code = await authorizationCode(agent, server, {
        client_id: server.web2.id,
        redirect_uri: server.web2.redirectUri,
        state: 'st-sso',
      });
    });
    console.info(
      `single sign-on: ${sso.writes.length} writes [${sso.writes.join(', ')}], ${sso.reads.length} reads, ${sso.walBytes} WAL bytes`,
    );
    expect(sso.writes).toEqual(['insert grants', 'insert authorization_codes']);
    expect(sso.reads.length).toBeLessThanOrEqual(5);
    expect((await exchangeCode(server, server.web2, code)).status).toBe(200);
  });
});
