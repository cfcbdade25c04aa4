import { type ChildProcess, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { createServer } from 'node:net';
import { createClient } from 'redis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RedisRevocationStore, RedisSessionStore } from './redis-session-store.ts';
import { describeRevocationStoreSuite } from './revocation-store-suite.ts';
import { describeSessionStoreSuite, makeSession } from './session-store-suite.ts';

const redisServer = '/usr/bin/redis-server';
type Client = ReturnType<typeof createClient>;

let server: ChildProcess | null = null;
let url = '';
const clients: Client[] = [];

/** A free port on 127.0.0.1, as the OS hands one out. */
function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const probe = createServer();
    probe.once('error', reject);
    probe.listen(0, '127.0.0.1', () => {
      const address = probe.address();
      probe.close(() =>
        typeof address === 'object' && address ? resolve(address.port) : reject(new Error('no port')),
      );
    });
  });
}

/** Starts a throwaway redis-server (no persistence) and resolves once it accepts connections. */
async function startRedis(): Promise<{ child: ChildProcess; url: string }> {
  if (!existsSync(redisServer)) {
    throw new Error(
      `${redisServer} is missing: the Redis store tests need it (apt-get install -y redis-server)`,
    );
  }
  const port = await freePort();
  const child = spawn(
    redisServer,
    ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'],
    {
      stdio: ['ignore', 'pipe', 'pipe'],
    },
  );
  let output = '';
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(
      () => reject(new Error(`redis-server did not start within 10 s:\n${output}`)),
      10_000,
    );
    const onData = (chunk: Buffer) => {
      output += chunk;
      if (output.includes('Ready to accept connections')) {
        clearTimeout(timer);
        resolve();
      }
    };
    child.stdout?.on('data', onData);
    child.stderr?.on('data', onData);
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`redis-server exited with ${code}:\n${output}`));
    });
  });
  return { child, url: `redis://127.0.0.1:${port}` };
}

async function connect(): Promise<Client> {
  const client = createClient({ url });
  await client.connect();
  clients.push(client);
  return client;
}

let shared: Client;

beforeAll(async () => {
  ({ child: server, url } = await startRedis());
  shared = await connect();
});

afterAll(async () => {
  for (const client of clients) await client.close().catch(() => client.destroy());
  server?.kill('SIGKILL');
});

/** A key prefix no other test uses, so each test starts from an empty store. */
const freshPrefix = () => `test:${randomBytes(6).toString('hex')}:`;

describeSessionStoreSuite('Redis', () => new RedisSessionStore(shared, { keyPrefix: freshPrefix() }));
describeRevocationStoreSuite('Redis', () => new RedisRevocationStore(shared, { keyPrefix: freshPrefix() }));

describe('RedisSessionStore', () => {
  it('the key expires at the session’s expiry (PXAT)', async () => {
    const prefix = freshPrefix();
    const store = new RedisSessionStore(shared, { keyPrefix: prefix });
    const expiresAt = Date.now() + 60_000;
    await store.set('s1', makeSession(1), new Date(expiresAt));
    expect(Number(await shared.sendCommand(['PEXPIRETIME', `${prefix}s1`]))).toBe(expiresAt);
  });

  it('keys carry the prefix, so two apps on one Redis do not see each other’s sessions', async () => {
    const a = new RedisSessionStore(shared, { keyPrefix: 'app-a:' });
    const b = new RedisSessionStore(shared, { keyPrefix: 'app-b:' });
    await a.set('same-id', makeSession(1), new Date(Date.now() + 60_000));
    expect(await b.get('same-id')).toBeNull();
    expect(await shared.exists('app-a:same-id')).toBe(1);
  });

  it('the newer session wins between two instances writing at once', async () => {
    const prefix = freshPrefix();
    const a = new RedisSessionStore(shared, { keyPrefix: prefix });
    const b = new RedisSessionStore(await connect(), { keyPrefix: prefix });
    const expiresAt = new Date(Date.now() + 60_000);
    for (let round = 0; round < 10; round++) {
      await Promise.all([
        a.set(`s${round}`, makeSession(2_000), expiresAt),
        b.set(`s${round}`, makeSession(1_000), expiresAt),
      ]);
      expect((await b.get(`s${round}`))?.updatedAt).toBe(2_000);
    }
  });

  it('an unreadable value reads as no session', async () => {
    const prefix = freshPrefix();
    await shared.set(`${prefix}s1`, '{not json');
    expect(await new RedisSessionStore(shared, { keyPrefix: prefix }).get('s1')).toBeNull();
  });
});

describe('RedisRevocationStore', () => {
  it('a jti is accepted by exactly one of several instances (SET NX)', async () => {
    const prefix = freshPrefix();
    const instances = [
      new RedisRevocationStore(shared, { keyPrefix: prefix }),
      new RedisRevocationStore(await connect(), { keyPrefix: prefix }),
      new RedisRevocationStore(await connect(), { keyPrefix: prefix }),
    ];
    const expiresAt = new Date(Date.now() + 60_000);
    const results = await Promise.all(
      instances.flatMap((store) => [
        store.rememberJti('jti', expiresAt),
        store.rememberJti('jti', expiresAt),
      ]),
    );
    expect(results.filter(Boolean)).toHaveLength(1);
  });

  it('a logout recorded by one instance is seen by another', async () => {
    const prefix = freshPrefix();
    const a = new RedisRevocationStore(shared, { keyPrefix: prefix });
    const b = new RedisRevocationStore(await connect(), { keyPrefix: prefix });
    await a.revoke({ sub: 'usr_a', at: new Date(2_000) }, new Date(Date.now() + 60_000));
    expect(await b.isRevoked({ sid: 'sid_a', sub: 'usr_a', authTime: new Date(1_000) })).toBe(true);
  });

  it('each entry lives under its own key and expires with it', async () => {
    const prefix = freshPrefix();
    const store = new RedisRevocationStore(shared, { keyPrefix: prefix });
    const expiresAt = Date.now() + 60_000;
    await store.revoke({ sid: 'sid_a', at: new Date(5_000) }, new Date(expiresAt));
    await store.revoke({ sub: 'usr_a', at: new Date(5_000) }, new Date(expiresAt));
    await store.rememberJti('jti_a', new Date(expiresAt));
    expect(await shared.mGet([`${prefix}sid:sid_a`, `${prefix}sub:usr_a`, `${prefix}jti:jti_a`])).toEqual([
      '1',
      '5000',
      '1',
    ]);
    for (const key of ['sid:sid_a', 'sub:usr_a', 'jti:jti_a']) {
      expect(Number(await shared.sendCommand(['PEXPIRETIME', `${prefix}${key}`]))).toBe(expiresAt);
    }
  });

  it('a revocation whose expiry has passed is forgotten', async () => {
    const store = new RedisRevocationStore(shared, { keyPrefix: freshPrefix() });
    const past = new Date(Date.now() - 1_000);
    await store.revoke({ sid: 'sid_a', at: new Date(5_000) }, past);
    await store.revoke({ sub: 'usr_a', at: new Date(5_000) }, past);
    expect(await store.isRevoked({ sid: 'sid_a', sub: 'usr_a', authTime: null })).toBe(false);
    expect(await store.rememberJti('jti_a', past)).toBe(true);
    expect(await store.rememberJti('jti_a', new Date(Date.now() + 60_000))).toBe(true);
  });
});
