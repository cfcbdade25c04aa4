// The `sesame` command (style guide: "cli/ the `sesame` command: start, migrate, apps, users, keys"),
// run in-process against a SQLite file, plus one run of the real binary. Apps follow the spec's
// "Applications (clients)": secrets shown once, stored only as hashes, at most 5 redirect URIs, two
// live secrets during rotation.
import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { runCli } from '../../src/cli/main.ts';
import { openSqliteStore } from '../../src/storage/sqlite/open-sqlite-store.ts';
import { Agent, signIn, signInAndExchange, tokenRequest } from '../support/agent.ts';
import { startTestServer, type TestServer } from '../support/server.ts';

const repoRoot = resolve(import.meta.dirname, '../../../..');
const secret = 'cli-test-secret-cli-test-secret-0123456789';

const dirs: string[] = [];
let server: TestServer | undefined;

afterEach(async () => {
  await server?.close();
  server = undefined;
});

afterAll(() => {
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
});

/** A path for a fresh SQLite database. */
function newDatabase(): string {
  const dir = mkdtempSync(join(tmpdir(), 'sesame-cli-'));
  dirs.push(dir);
  return join(dir, 'sesame.db');
}

interface CliRun {
  code: number;
  out: string;
  err: string;
}

async function cli(argv: string[], env: Record<string, string | undefined>): Promise<CliRun> {
  const out: string[] = [];
  const err: string[] = [];
  const code = await runCli(argv, env, { out: (line) => out.push(line), err: (line) => err.push(line) });
  return { code, out: out.join('\n'), err: err.join('\n') };
}

/** Runs a command expected to succeed and parses its JSON output. */
async function cliJson<T>(argv: string[], env: Record<string, string | undefined>): Promise<T> {
  const run = await cli([...argv, '--json'], env);
  expect(run.err).toBe('');
  expect(run.code).toBe(0);
  return JSON.parse(run.out) as T;
}

interface AppRow {
  client_id: string;
  type: string;
  name: string;
  redirect_uris: string[];
  post_logout_redirect_uris: string[];
  backchannel_logout_uri: string | null;
  allow_management_api: boolean;
}

/** The bytes of the database and its WAL, as text, to look for anything stored in the clear. */
function databaseText(file: string): string {
  return [file, `${file}-wal`]
    .filter((f) => existsSync(f))
    .map((f) => readFileSync(f).toString('latin1'))
    .join('');
}

describe('sesame migrate', () => {
  it('creates the database and is idempotent', async () => {
    const db = newDatabase();
    const env = { DATABASE_URL: db };
    const first = await cli(['migrate'], env);
    expect(first.code).toBe(0);
    expect(first.out).toMatch(/up to date/);
    expect(existsSync(db)).toBe(true);
    expect((await cli(['migrate'], env)).code).toBe(0);
  });

  it('a mysql:// DATABASE_URL fails naming DATABASE_URL', async () => {
    const run = await cli(['migrate'], { DATABASE_URL: 'mysql://root@localhost/sesame' });
    expect(run.code).toBe(1);
    expect(run.err).toContain('DATABASE_URL');
  });
});

describe('sesame apps (spec: "Applications (clients)")', () => {
  it('apps create prints client_id and client_secret once; apps list shows the app without any secret', async () => {
    const db = newDatabase();
    const env = { DATABASE_URL: db };
    const created = await cliJson<{ client_id: string; client_secret: string; type: string; name: string }>(
      [
        'apps',
        'create',
        '--type',
        'web',
        '--name',
        'Billing',
        '--redirect-uri',
        'https://billing.example.com/auth/callback',
        '--redirect-uri',
        'http://localhost:3000/auth/callback',
        '--post-logout-redirect-uri',
        'https://billing.example.com/',
        '--backchannel-logout-uri',
        'https://billing.example.com/auth/backchannel-logout',
        '--initiate-login-uri',
        'https://billing.example.com/auth/login',
        '--allow-management-api',
      ],
      env,
    );
    expect(created.client_id).toMatch(/^webc_/);
    expect(created.client_secret).toMatch(/^[A-Za-z0-9_-]{43,}$/);
    expect(created).toMatchObject({ type: 'web', name: 'Billing' });

    const listRun = await cli(['apps', 'list', '--json'], env);
    expect(listRun.code).toBe(0);
    expect(listRun.out).not.toContain(created.client_secret);
    expect(listRun.out).not.toMatch(/secret/i);
    const list = JSON.parse(listRun.out) as AppRow[];
    expect(list).toEqual([
      {
        client_id: created.client_id,
        type: 'web',
        name: 'Billing',
        redirect_uris: ['https://billing.example.com/auth/callback', 'http://localhost:3000/auth/callback'],
        post_logout_redirect_uris: ['https://billing.example.com/'],
        backchannel_logout_uri: 'https://billing.example.com/auth/backchannel-logout',
        allow_management_api: true,
      },
    ]);
    // Stored only as a SHA-256 hash (spec: "Identifiers").
    expect(databaseText(db)).not.toContain(created.client_secret);
    const plain = await cli(['apps', 'list'], env);
    expect(plain.out).toContain(created.client_id);
    expect(plain.out).not.toContain(created.client_secret);
  });

  it('without --json the secret is printed once with a warning to store it', async () => {
    const run = await cli(
      ['apps', 'create', '--type', 'web', '--name', 'X', '--redirect-uri', 'https://x.example.com/cb'],
      { DATABASE_URL: newDatabase() },
    );
    expect(run.code).toBe(0);
    expect(run.out).toMatch(/client_id:\s+webc_/);
    expect(run.out).toMatch(/client_secret:\s+\S{43,}\s+\(shown once/);
  });

  it('apps create --type m2m makes a machine client with a secret', async () => {
    const env = { DATABASE_URL: newDatabase() };
    const created = await cliJson<{ client_id: string; client_secret: string }>(
      ['apps', 'create', '--type', 'm2m', '--name', 'Nightly job'],
      env,
    );
    expect(created.client_id).toMatch(/^m2m_/);
    expect(created.client_secret).toMatch(/^[A-Za-z0-9_-]{43,}$/);
    const list = await cliJson<AppRow[]>(['apps', 'list'], env);
    expect(list.map((a) => [a.client_id, a.type, a.redirect_uris])).toEqual([[created.client_id, 'm2m', []]]);
  });

  it.each([
    ['spa', /^spac_/],
    ['native', /^ntvc_/],
  ])('apps create --type %s makes a public client with no secret', async (type, prefix) => {
    const created = await cliJson<{ client_id: string; client_secret: string | null }>(
      [
        'apps',
        'create',
        '--type',
        type,
        '--name',
        'Public',
        '--redirect-uri',
        'http://localhost:5173/callback',
      ],
      { DATABASE_URL: newDatabase() },
    );
    expect(created.client_id).toMatch(prefix);
    expect(created.client_secret).toBeNull();
  });

  const sixUris = [1, 2, 3, 4, 5, 6].flatMap((n) => ['--redirect-uri', `https://app.example.com/cb${n}`]);
  it.each<[string, string[], number, string]>([
    [
      'an http redirect URI on a public host',
      ['--type', 'web', '--name', 'X', '--redirect-uri', 'http://app.example.com/cb'],
      1,
      'redirect_uris',
    ],
    ['more than 5 redirect URIs', ['--type', 'web', '--name', 'X', ...sixUris], 1, 'redirect_uris'],
    [
      'a redirect URI with a fragment',
      ['--type', 'web', '--name', 'X', '--redirect-uri', 'https://app.example.com/cb#frag'],
      1,
      'redirect_uris',
    ],
    [
      'a relative redirect URI',
      ['--type', 'web', '--name', 'X', '--redirect-uri', '/auth/callback'],
      1,
      'redirect_uris',
    ],
    ['a web app without redirect URI', ['--type', 'web', '--name', 'X'], 1, 'redirect_uris'],
    [
      'an m2m client with a redirect URI',
      ['--type', 'm2m', '--name', 'X', '--redirect-uri', 'https://app.example.com/cb'],
      1,
      'redirect_uris',
    ],
    [
      'an http post-logout redirect URI on a public host',
      [
        '--type',
        'web',
        '--name',
        'X',
        '--redirect-uri',
        'https://app.example.com/cb',
        '--post-logout-redirect-uri',
        'http://app.example.com/',
      ],
      1,
      'post_logout_redirect_uris',
    ],
    [
      'an http back-channel logout URI on a public host',
      [
        '--type',
        'web',
        '--name',
        'X',
        '--redirect-uri',
        'https://app.example.com/cb',
        '--backchannel-logout-uri',
        'http://app.example.com/bcl',
      ],
      1,
      'backchannel_logout_uri',
    ],
    [
      'management API access for a SPA',
      [
        '--type',
        'spa',
        '--name',
        'X',
        '--redirect-uri',
        'https://app.example.com/cb',
        '--allow-management-api',
      ],
      1,
      'allow_management_api',
    ],
    [
      'an access-token TTL of 5 s',
      [
        '--type',
        'web',
        '--name',
        'X',
        '--redirect-uri',
        'https://app.example.com/cb',
        '--access-token-ttl',
        '5',
      ],
      1,
      'access_token_ttl',
    ],
    [
      'a non-numeric access-token TTL',
      [
        '--type',
        'web',
        '--name',
        'X',
        '--redirect-uri',
        'https://app.example.com/cb',
        '--access-token-ttl',
        'abc',
      ],
      1,
      'access_token_ttl',
    ],
    ['a name of 101 characters', ['--type', 'm2m', '--name', 'n'.repeat(101)], 1, 'name'],
    ['missing --type', ['--name', 'X', '--redirect-uri', 'https://app.example.com/cb'], 2, '--type'],
    [
      'an unknown --type',
      ['--type', 'desktop', '--name', 'X', '--redirect-uri', 'https://app.example.com/cb'],
      2,
      '--type',
    ],
    ['missing --name', ['--type', 'web', '--redirect-uri', 'https://app.example.com/cb'], 2, '--name'],
    ['an unknown option', ['--type', 'm2m', '--name', 'X', '--colour', 'blue'], 2, '--colour'],
  ])('apps create with %s exits %i naming %s, and registers nothing', async (_label, args, code, field) => {
    const env = { DATABASE_URL: newDatabase() };
    const run = await cli(['apps', 'create', ...args], env);
    expect(run.code).toBe(code);
    expect(run.err).toContain(field);
    expect(run.out).toBe('');
    expect(await cliJson<AppRow[]>(['apps', 'list'], env)).toEqual([]);
  });

  it('apps secret rotate: old and new secrets both work, and a third rotation leaves at most two working', async () => {
    const db = newDatabase();
    const env = { DATABASE_URL: db };
    const created = await cliJson<{ client_id: string; client_secret: string }>(
      [
        'apps',
        'create',
        '--type',
        'web',
        '--name',
        'Rotating',
        '--redirect-uri',
        'https://rotating.example.com/cb',
        '--allow-management-api',
      ],
      env,
    );
    server = await startTestServer({ databaseUrl: db });
    const s = server;
    const works = async (clientSecret: string) => {
      const { status, body } = await tokenRequest(s, {
        grant_type: 'client_credentials',
        client_id: created.client_id,
        client_secret: clientSecret,
      });
      if (status === 200) return true;
      expect(status).toBe(401);
      expect(body['error']).toBe('invalid_client');
      return false;
    };
    expect(await works(created.client_secret)).toBe(true);
    expect(await works('not-the-secret')).toBe(false);

    const second = await cliJson<{ client_id: string; client_secret: string }>(
      ['apps', 'secret', 'rotate', created.client_id],
      env,
    );
    expect(second.client_id).toBe(created.client_id);
    expect(second.client_secret).not.toBe(created.client_secret);
    expect(await works(created.client_secret)).toBe(true);
    expect(await works(second.client_secret)).toBe(true);

    const third = await cliJson<{ client_secret: string }>(
      ['apps', 'secret', 'rotate', created.client_id],
      env,
    );
    const working = [];
    for (const candidate of [created.client_secret, second.client_secret, third.client_secret]) {
      if (await works(candidate)) working.push(candidate);
    }
    expect(working).toHaveLength(2);
    expect(working).toContain(third.client_secret);
    expect(working).not.toContain(created.client_secret);
    expect(databaseText(db)).not.toContain(third.client_secret);
  });

  it.each<[string, string[], number, string]>([
    ['an unknown app', ['webc_doesnotexist'], 1, 'client_id'],
    ['no CLIENT_ID', [], 2, 'CLIENT_ID'],
    ['a non-numeric --keep-previous', ['webc_x', '--keep-previous', 'soon'], 2, '--keep-previous'],
  ])('apps secret rotate with %s exits %i naming %s', async (_label, args, code, field) => {
    const run = await cli(['apps', 'secret', 'rotate', ...args], { DATABASE_URL: newDatabase() });
    expect(run.code).toBe(code);
    expect(run.err).toContain(field);
  });

  it('apps secret rotate refuses a public app, which has no secret', async () => {
    const env = { DATABASE_URL: newDatabase() };
    const spa = await cliJson<{ client_id: string }>(
      ['apps', 'create', '--type', 'spa', '--name', 'SPA', '--redirect-uri', 'http://localhost:5173/cb'],
      env,
    );
    const run = await cli(['apps', 'secret', 'rotate', spa.client_id], env);
    expect(run.code).toBe(1);
    expect(run.err).toContain('client_id');
  });
});

describe('sesame users', () => {
  it('users create then users list shows the user (and never a password hash)', async () => {
    const env = { DATABASE_URL: newDatabase() };
    const created = await cliJson<{ user_id: string; email: string; organization_id: string }>(
      [
        'users',
        'create',
        '--email',
        'Grace@Example.com',
        '--password',
        'a long enough password',
        '--name',
        'Grace Hopper',
      ],
      env,
    );
    expect(created.user_id).toMatch(/^usr_/);
    expect(created.organization_id).toMatch(/^org_/);
    expect(created.email).toBe('grace@example.com');
    const listRun = await cli(['users', 'list', '--json'], env);
    expect(listRun.code).toBe(0);
    expect(listRun.out).not.toMatch(/argon2|password/i);
    expect(JSON.parse(listRun.out)).toEqual([
      { user_id: created.user_id, email: 'grace@example.com', name: 'Grace Hopper', disabled: false },
    ]);
  });

  it('a user created by the CLI can sign in, as the creator (admin) of their organization', async () => {
    const db = newDatabase();
    const env = { DATABASE_URL: db };
    const created = await cliJson<{ user_id: string; organization_id: string }>(
      [
        'users',
        'create',
        '--email',
        'linus@example.com',
        '--password',
        'penguins all the way',
        '--name',
        'Linus',
      ],
      env,
    );
    server = await startTestServer({ databaseUrl: db });
    const res = await signIn(
      new Agent(),
      server,
      { client_id: server.web.id, redirect_uri: server.web.redirectUri, state: 'cli' },
      { email: 'linus@example.com', password: 'penguins all the way' },
    );
    expect(res.headers.get('location')).toMatch(/^http:\/\/localhost:3000\/auth\/callback\?code=/);
    const membership = await server.store.memberships.get(created.organization_id, created.user_id);
    expect(membership?.roles).toEqual(['admin']);
  });

  it('a duplicate email exits non-zero with a clear message and creates nothing', async () => {
    const env = { DATABASE_URL: newDatabase() };
    const args = ['users', 'create', '--email', 'dup@example.com', '--password', 'a long enough password'];
    expect((await cli(args, env)).code).toBe(0);
    const again = await cli([...args.slice(0, 3), 'DUP@example.com', ...args.slice(4)], env);
    expect(again.code).toBe(1);
    expect(again.err).toMatch(/email already exists/i);
    expect(await cliJson<unknown[]>(['users', 'list'], env)).toHaveLength(1);
  });

  it.each<[string, string[], string]>([
    ['a short password', ['--email', 'a@example.com', '--password', 'short'], '--password'],
    ['no password', ['--email', 'a@example.com'], '--password'],
    ['no email', ['--password', 'a long enough password'], '--email'],
    ['an invalid email', ['--email', 'not-an-email', '--password', 'a long enough password'], '--email'],
    [
      'an unknown option',
      ['--email', 'a@example.com', '--password', 'a long enough password', '--admin'],
      '--admin',
    ],
  ])('users create with %s is a usage error (exit 2) naming %s', async (_label, args, field) => {
    const env = { DATABASE_URL: newDatabase() };
    const run = await cli(['users', 'create', ...args], env);
    expect(run.code).toBe(2);
    expect(run.err).toContain(field);
    expect(run.err).toContain('Usage: sesame');
    expect(await cliJson<unknown[]>(['users', 'list'], env)).toEqual([]);
  });

  it('users create --organization ORG --role member adds the user to that organization', async () => {
    const db = newDatabase();
    const env = { DATABASE_URL: db };
    const owner = await cliJson<{ user_id: string; organization_id: string }>(
      ['users', 'create', '--email', 'owner@example.com', '--password', 'a long enough password'],
      env,
    );
    const member = await cliJson<{ user_id: string; organization_id: string }>(
      [
        'users',
        'create',
        '--email',
        'member@example.com',
        '--password',
        'a long enough password',
        '--organization',
        owner.organization_id,
        '--role',
        'member',
      ],
      env,
    );
    expect(member.organization_id).toBe(owner.organization_id);
    const store = await openSqliteStore({ filename: db });
    try {
      expect((await store.memberships.get(owner.organization_id, member.user_id))?.roles).toEqual(['member']);
      expect((await store.memberships.get(owner.organization_id, owner.user_id))?.roles).toEqual(['admin']);
      expect(await store.memberships.listForUser(member.user_id)).toHaveLength(1);
    } finally {
      await store.close();
    }
  });

  it.each([
    ['an organization that does not exist', ['--organization', 'org_missing'], '--organization'],
    ['a role that does not exist', ['--role', 'overlord'], '--role'],
  ])('users create naming %s exits 1 naming %s', async (_label, extra, field) => {
    const env = { DATABASE_URL: newDatabase() };
    const run = await cli(
      ['users', 'create', '--email', 'x@example.com', '--password', 'a long enough password', ...extra],
      env,
    );
    expect(run.code).toBe(1);
    expect(run.err).toContain(field);
    expect(await cliJson<unknown[]>(['users', 'list'], env)).toEqual([]);
  });
});

describe('sesame keys (spec: "Rotation runs on a schedule and by command")', () => {
  interface KeyRow {
    id: string;
    alg: string;
    status: 'pending' | 'active' | 'retired';
  }

  it('keys rotate publishes a pending key next to the active one; keys list shows both', async () => {
    const env = { DATABASE_URL: newDatabase(), SESAME_SECRET: secret };
    expect(await cliJson<KeyRow[]>(['keys', 'list'], env)).toEqual([]);
    const rotate = await cli(['keys', 'rotate'], env);
    expect(rotate.code).toBe(0);
    expect(rotate.out).toMatch(/Published snk_\w+ \(RS256\)/);
    const keys = await cliJson<KeyRow[]>(['keys', 'list'], env);
    expect(keys.map((k) => k.status).sort()).toEqual(['active', 'pending']);
    for (const key of keys) {
      expect(key.id).toMatch(/^snk_/);
      expect(key.alg).toBe('RS256');
      expect(JSON.stringify(key)).not.toMatch(/"d"|private/i);
    }
    const pending = keys.find((k) => k.status === 'pending');
    expect(rotate.out).toContain(pending?.id);
  });

  it('a key rotated by the CLI is published by a server on the same database after its next key load', async () => {
    const db = newDatabase();
    server = await startTestServer({ databaseUrl: db });
    const env = { DATABASE_URL: db, SESAME_SECRET: server.config.secret };
    const rotate = await cli(['keys', 'rotate'], env);
    expect(rotate.code).toBe(0);
    const keys = await cliJson<KeyRow[]>(['keys', 'list'], env);
    const pending = keys.find((k) => k.status === 'pending');
    if (!pending) throw new Error('no pending key');
    await server.ctx.keys.load();
    const jwks = (await (await fetch(`${server.url}/keys`)).json()) as { keys: Array<{ kid: string }> };
    expect(jwks.keys.map((k) => k.kid)).toContain(pending.id);
  });

  it.each([
    ['keys list', ['keys', 'list']],
    ['keys rotate', ['keys', 'rotate']],
  ])('%s without SESAME_SECRET exits non-zero naming SESAME_SECRET', async (_label, argv) => {
    const run = await cli(argv, { DATABASE_URL: newDatabase() });
    expect(run.code).not.toBe(0);
    expect(run.err).toContain('SESAME_SECRET');
  });

  it('keys list with another SESAME_SECRET than the keys were sealed with exits 1 naming SESAME_SECRET', async () => {
    const db = newDatabase();
    expect((await cli(['keys', 'rotate'], { DATABASE_URL: db, SESAME_SECRET: secret })).code).toBe(0);
    const run = await cli(['keys', 'list'], { DATABASE_URL: db, SESAME_SECRET: `${secret}-but-another-one` });
    expect(run.code).toBe(1);
    expect(run.err).toContain('SESAME_SECRET');
  });

  it('keys list with a secret shorter than 32 characters exits non-zero naming SESAME_SECRET', async () => {
    const run = await cli(['keys', 'list'], { DATABASE_URL: newDatabase(), SESAME_SECRET: 'short' });
    expect(run.code).toBe(1);
    expect(run.err).toContain('SESAME_SECRET');
  });
});

describe('sesame sessions (spec: "Sessions": revocation ends the session and its refresh tokens)', () => {
  it('sessions list shows a live session; sessions revoke ends it and its refresh token', async () => {
    const db = newDatabase();
    server = await startTestServer({ databaseUrl: db });
    const agent = new Agent();
    const tokens = await signInAndExchange(agent, server);
    const idToken = tokens['id_token'] as string;
    const sid = (
      JSON.parse(Buffer.from(idToken.split('.')[1] ?? '', 'base64url').toString()) as { sid: string }
    ).sid;
    const env = { DATABASE_URL: db, SESAME_SECRET: server.config.secret, LOG_LEVEL: 'silent' };

    const sessions = await cliJson<Array<{ session_id: string; user_id: string; apps: string }>>(
      ['sessions', 'list'],
      env,
    );
    const row = sessions.find((s) => s.session_id === sid);
    expect(row).toMatchObject({ user_id: server.user.id });
    expect(row?.apps).toContain(server.web.id);
    const forUser = await cliJson<Array<{ session_id: string }>>(
      ['sessions', 'list', '--user', server.user.id],
      env,
    );
    expect(forUser.map((s) => s.session_id)).toContain(sid);

    const revoke = await cli(['sessions', 'revoke', sid], env);
    expect(revoke.code).toBe(0);
    expect(revoke.out).toContain(sid);

    const refresh = await tokenRequest(server, {
      grant_type: 'refresh_token',
      refresh_token: tokens['refresh_token'] as string,
      client_id: server.web.id,
      client_secret: server.web.secret ?? '',
    });
    expect(refresh.status).toBe(400);
    expect(refresh.body['error']).toBe('invalid_grant');
    const after = await cliJson<Array<{ session_id: string }>>(['sessions', 'list'], env);
    expect(after.map((s) => s.session_id)).not.toContain(sid);

    const again = await cli(['sessions', 'revoke', sid], env);
    expect(again.code).toBe(1);
    expect(again.err).toContain(sid);
  });

  it('sessions revoke without an id is a usage error', async () => {
    const run = await cli(['sessions', 'revoke'], { DATABASE_URL: newDatabase(), SESAME_SECRET: secret });
    expect(run.code).toBe(2);
    expect(run.err).toContain('SESSION_ID');
  });
});

describe('usage', () => {
  it.each([
    ['an unknown command', ['frobnicate'], 'Unknown command: frobnicate'],
    ['an unknown apps subcommand', ['apps', 'delete'], 'apps takes'],
    ['an unknown users subcommand', ['users', 'promote'], 'users takes'],
    ['an unknown keys subcommand', ['keys', 'delete'], 'keys takes'],
    ['an unknown sessions subcommand', ['sessions', 'kill'], 'sessions takes'],
  ])('%s exits 2 with the usage', async (_label, argv, message) => {
    const run = await cli(argv, { DATABASE_URL: newDatabase(), SESAME_SECRET: secret });
    expect(run.code).toBe(2);
    expect(run.err).toContain(message);
    expect(run.err).toContain('Usage: sesame <command>');
  });

  it('no command prints the usage and exits 1; help exits 0', async () => {
    const none = await cli([], {});
    expect(none.code).toBe(1);
    expect(none.out).toContain('Usage: sesame');
    const help = await cli(['help'], {});
    expect(help.code).toBe(0);
    expect(help.out).toContain('Usage: sesame');
  });
});

describe('the sesame binary', () => {
  it('node packages/server/bin/sesame.js apps list --json works', async () => {
    const db = newDatabase();
    const created = await cliJson<{ client_id: string }>(
      ['apps', 'create', '--type', 'm2m', '--name', 'From the binary'],
      { DATABASE_URL: db },
    );
    const { stdout } = await promisify(execFile)(
      process.execPath,
      ['packages/server/bin/sesame.js', 'apps', 'list', '--json'],
      {
        cwd: repoRoot,
        env: { PATH: process.env['PATH'] ?? '', HOME: process.env['HOME'] ?? '', DATABASE_URL: db },
      },
    );
    const list = JSON.parse(stdout) as AppRow[];
    expect(list.map((a) => [a.client_id, a.name])).toEqual([[created.client_id, 'From the binary']]);
  });

  it('exits 2 on an unknown command', async () => {
    const run = promisify(execFile)(process.execPath, ['packages/server/bin/sesame.js', 'frobnicate'], {
      cwd: repoRoot,
      env: { PATH: process.env['PATH'] ?? '', HOME: process.env['HOME'] ?? '' },
    });
    await expect(run).rejects.toMatchObject({ code: 2, stderr: expect.stringContaining('Unknown command') });
  });
});
