// A PostgreSQL outage (spec: "Storage and scale"; RFC 6749 §4.1.2.1/§5.2 temporarily_unavailable):
// a database that is down at start fails with a message naming DATABASE_URL; one that goes down
// while serving is answered 503 `temporarily_unavailable` (no detail on the wire), and service
// resumes by itself when it is back. The real server is stopped and started on a cluster of this
// file's own.
import { execFile } from 'node:child_process';
import { createServer, type Server, type Socket } from 'node:net';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openStore } from '../../src/assemble.ts';
import { ConfigError, loadConfig } from '../../src/config/load.ts';
import { openPostgresStore } from '../../src/storage/postgres/open-postgres-store.ts';
import { Agent, authorizeUrl, signInAndExchange, tokenRequest } from '../support/agent.ts';
import { startTestServer, type TestServer } from '../support/server.ts';
import { freePort, type PostgresCluster, query, startOwnCluster } from './cluster.ts';
import { eventually, nodeEnv } from './nodes.ts';

const run = promisify(execFile);
const bin = fileURLToPath(new URL('../../bin/sesame.js', import.meta.url));

let cluster: PostgresCluster;
let server: TestServer;

beforeAll(async () => {
  cluster = await startOwnCluster();
  const store = await openPostgresStore({
    url: cluster.url,
    pool: { max: 4, connectionTimeoutMillis: 2000 },
  });
  await store.migrate();
  server = await startTestServer({ store });
});

afterAll(async () => {
  await server?.close();
  await cluster?.stop();
});

function refresh(refreshToken: string) {
  return tokenRequest(server, {
    grant_type: 'refresh_token',
    refresh_token: refreshToken,
    client_id: server.web.id,
    client_secret: server.web.secret ?? '',
  });
}

describe('the database goes down while serving, and comes back', () => {
  it('answers 503 temporarily_unavailable while PostgreSQL is stopped, then serves again without a restart', async () => {
    const tokens = await signInAndExchange(new Agent(), server);
    const refreshToken = tokens['refresh_token'] as string;
    expect((await fetch(`${server.url}/health`)).status).toBe(200);

    await cluster.pause();
    try {
      const token = await refresh(refreshToken);
      expect(token.status).toBe(503);
      expect(token.headers.get('content-type')).toMatch(/^application\/json/);
      expect(token.headers.get('retry-after')).toBe('5');
      expect(token.headers.get('cache-control')).toContain('no-store');
      // RFC 6749 §5.2 fields only; the driver's words stay in the log.
      expect(Object.keys(token.body).sort()).toEqual(['error', 'error_description']);
      expect(token.body['error']).toBe('temporarily_unavailable');
      expect(JSON.stringify(token.body)).not.toMatch(/ECONNREFUSED|terminat|postgres|127\.0\.0\.1/i);

      const health = await fetch(`${server.url}/health`);
      expect(health.status).toBe(503);
      expect(await health.json()).toEqual({ status: 'unavailable' });

      // A hosted page says so too, in HTML, rather than a 500.
      const page = await new Agent().fetch(
        authorizeUrl(server, { client_id: server.web.id, redirect_uri: server.web.redirectUri, state: 's' }),
      );
      expect(page.status).toBe(503);
      expect(page.headers.get('content-type')).toMatch(/^text\/html/);
      expect(await page.text()).toContain('Temporarily unavailable');

      expect(server.logs.some((line) => /request failed/.test(line) && /ECONNREFUSED/.test(line))).toBe(true);
    } finally {
      await cluster.resume();
    }

    // The pool reconnects on its own: bounded polling, no restart of Sesame.
    await eventually('/health to answer 200 again', async () =>
      (await fetch(`${server.url}/health`)).status === 200 ? true : undefined,
    );
    const again = await refresh(refreshToken);
    expect(again.status).toBe(200);
    expect(typeof again.body['refresh_token']).toBe('string');
  });

  it('connections cut while idle (failover, proxy restart) neither crash the process nor answer 500', async () => {
    const tokens = await signInAndExchange(new Agent(), server);
    const terminated = await query<{ pid: number }>(
      cluster.url,
      // CASE fixes the order: only the server's connections, never this one.
      `SELECT pid FROM pg_stat_activity WHERE CASE
         WHEN application_name = 'sesame' AND pid <> pg_backend_pid() THEN pg_terminate_backend(pid)
         ELSE false END`,
    );
    expect(terminated.length).toBeGreaterThan(0);

    // The pool drops a connection whose server went away ('error' on the pool, handled); a request
    // that caught one just before is told to retry.
    let current = tokens['refresh_token'] as string;
    const first = await refresh(current);
    expect([200, 503]).toContain(first.status);
    if (first.status === 503) expect(first.body['error']).toBe('temporarily_unavailable');
    else current = first.body['refresh_token'] as string;
    const later = await eventually('a refresh to succeed', async () => {
      const res = await refresh(current);
      return res.status === 200 ? res : undefined;
    });
    expect(typeof later.body['refresh_token']).toBe('string');
  });
});

describe('the database is down at start', () => {
  it('openStore fails at once naming host:port and DATABASE_URL when nothing listens', async () => {
    const port = await freePort();
    const config = loadConfig({
      env: {
        ENV_URL: 'http://localhost:8080',
        SESAME_SECRET: 'outage-secret-outage-secret-outage-secret',
        DATABASE_URL: `postgresql://sesame:hunter2@127.0.0.1:${port}/sesame`,
      },
    });
    const started = Date.now();
    const err = await openStore(config).catch((e: unknown) => e);
    expect(Date.now() - started).toBeLessThan(3000);
    expect(err).toBeInstanceOf(ConfigError);
    expect((err as Error).message).toBe(
      `Cannot reach PostgreSQL at 127.0.0.1:${port} (DATABASE_URL): connect ECONNREFUSED 127.0.0.1:${port}`,
    );
    // The password in the URL is never repeated.
    expect((err as Error).message).not.toContain('hunter2');
  });

  it('a database that accepts but never answers fails after SESAME_DB_CONNECT_TIMEOUT', async () => {
    const sockets: Socket[] = [];
    const silent: Server = createServer((socket) => sockets.push(socket));
    await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve));
    const port = (silent.address() as { port: number }).port;
    try {
      const config = loadConfig({
        env: {
          ENV_URL: 'http://localhost:8080',
          SESAME_SECRET: 'outage-secret-outage-secret-outage-secret',
          DATABASE_URL: `postgres://127.0.0.1:${port}/sesame`,
          SESAME_DB_CONNECT_TIMEOUT: '1',
        },
      });
      const started = Date.now();
      const err = await openStore(config).catch((e: unknown) => e);
      const elapsed = Date.now() - started;
      expect(elapsed).toBeGreaterThanOrEqual(900);
      expect(elapsed).toBeLessThan(5000);
      expect((err as Error).message).toMatch(
        new RegExp(`^Cannot reach PostgreSQL at 127\\.0\\.0\\.1:${port} \\(DATABASE_URL\\): .*timeout`, 'i'),
      );
    } finally {
      for (const socket of sockets) socket.destroy();
      await new Promise<void>((resolve) => silent.close(() => resolve()));
    }
  });

  it('`sesame start` prints the message and exits 1, without a stack trace', async () => {
    const port = await freePort();
    const env = nodeEnv({
      ENV_URL: 'http://127.0.0.1:8080',
      DATABASE_URL: `postgresql://postgres@127.0.0.1:${port}/postgres`,
    });
    const result = await run(process.execPath, [bin, 'start', '--port', '0'], { env, timeout: 30_000 }).then(
      () => ({ code: 0, stderr: '' }),
      (e: { code?: number; stderr?: string }) => ({ code: e.code, stderr: e.stderr ?? '' }),
    );
    expect(result.code).toBe(1);
    expect(result.stderr.trim()).toBe(
      `Cannot reach PostgreSQL at 127.0.0.1:${port} (DATABASE_URL): connect ECONNREFUSED 127.0.0.1:${port}`,
    );
  });
});
