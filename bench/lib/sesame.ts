import { createHash, randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { createUserWithOrganization } from '../../packages/server/src/accounts/sign-up.ts';
import { createServerContext } from '../../packages/server/src/assemble.ts';
import { registerClient } from '../../packages/server/src/clients/register-client.ts';
import { loadConfig } from '../../packages/server/src/config/load.ts';
import type { ServerContext } from '../../packages/server/src/context.ts';
import { hashSecret, newId, newSecret } from '../../packages/server/src/lib/ids.ts';
import { createLogger } from '../../packages/server/src/logger.ts';
import type { Store } from '../../packages/server/src/storage/store.ts';
import type { Session } from '../../packages/server/src/storage/types.ts';
import { type Child, startChild } from './processes.ts';

/** The scope every pre-minted code and refresh token carries (what the example web app asks for). */
export const userScope = ['openid', 'profile', 'email', 'offline_access'];
export const benchUser = {
  email: 'ada@example.com',
  password: 'correct horse battery staple',
  name: 'Ada Lovelace',
};
const secret = 'bench-secret-bench-secret-bench-secret-0123456789';

/** A confidential app registered for the benchmark. */
export interface BenchClient {
  id: string;
  secret: string;
  redirectUri: string;
}

/** A pre-minted authorization code and what its exchange must send. */
export interface MintedCode {
  code: string;
  verifier: string;
}

/** What a seeded Sesame database holds for the scenarios. */
export interface SesameSeed {
  issuer: string;
  port: number;
  dbFile: string;
  m2m: BenchClient;
  web: BenchClient;
  sdkApp: BenchClient;
  eocApp: BenchClient;
  refreshTokens: string[];
  codes: MintedCode[];
}

function benchConfig(issuer: string, dbFile: string) {
  return loadConfig({
    env: { ENV_URL: issuer, SESAME_SECRET: secret, DATABASE_URL: dbFile, LOG_LEVEL: 'warn' },
  });
}

/** The environment a benchmark Sesame process runs with. */
export function sesameEnv(issuer: string, port: number, dbFile: string): Record<string, string> {
  return {
    ENV_URL: issuer,
    PORT: String(port),
    HOST: '127.0.0.1',
    DATABASE_URL: dbFile,
    SESAME_SECRET: secret,
    SESAME_SIGNING_ALG: 'RS256',
    LOG_LEVEL: 'warn',
    // The sign-in scenario signs one person in many times from one address: no failures, so no limit.
    SESAME_SIGNIN_FAILURES_PER_ADDRESS: '100000',
  };
}

/** Opens a benchmark database with the server's own context (store migrated, signing key created). */
export async function openBenchContext(issuer: string, dbFile: string): Promise<ServerContext> {
  const config = benchConfig(issuer, dbFile);
  return createServerContext(config, { logger: createLogger('warn') });
}

/**
 * Creates the benchmark's apps and person in a fresh SQLite file, and pre-mints `refresh` refresh
 * tokens and `codes` authorization codes, each in its own sign-in session and grant, straight
 * through the store API (values known here, only their hashes stored).
 */
export async function seedSesame(input: {
  dir: string;
  port: number;
  appRedirects: { sdk: string; eoc: string };
  refresh: number;
  codes: number;
}): Promise<SesameSeed> {
  const issuer = `http://127.0.0.1:${input.port}`;
  const dbFile = join(input.dir, 'sesame.db');
  const ctx = await openBenchContext(issuer, dbFile);
  try {
    const now = ctx.config.now();
    const register = async (
      type: 'web' | 'm2m',
      name: string,
      redirectUri: string | null,
      extra: { allowedScopes?: string[] } = {},
    ): Promise<BenchClient> => {
      const { client, secret: clientSecret } = await registerClient(
        ctx.store,
        { type, name, redirectUris: redirectUri ? [redirectUri] : [], postLogoutRedirectUris: [], ...extra },
        now,
      );
      return { id: client.id, secret: clientSecret ?? '', redirectUri: redirectUri ?? '' };
    };
    const m2m = await register('m2m', 'Bench machine', null, { allowedScopes: ['read:users'] });
    const web = await register('web', 'Bench web app', 'http://127.0.0.1:9/callback');
    const sdkApp = await register('web', 'Bench SDK app', input.appRedirects.sdk);
    const eocApp = await register('web', 'Bench express-openid-connect app', input.appRedirects.eoc);
    const { user, organizationId } = await createUserWithOrganization(ctx, {
      email: benchUser.email,
      name: benchUser.name,
      passwordHash: await ctx.passwords.hash(benchUser.password),
      emailVerified: true,
    });
    const refreshTokens = await mintRefreshTokens(ctx.store, {
      count: input.refresh,
      clientId: web.id,
      userId: user.id,
      organizationId,
      now,
    });
    const codes = await mintCodes(ctx.store, {
      count: input.codes,
      client: web,
      userId: user.id,
      organizationId,
      now,
    });
    return { issuer, port: input.port, dbFile, m2m, web, sdkApp, eocApp, refreshTokens, codes };
  } finally {
    await ctx.store.close();
  }
}

/**
 * A live session signed in five minutes ago and idle since, as when an app refreshes its access
 * token (300 s lifetime): so every refresh also slides the session's idle timeout, a real write.
 */
function liveSession(userId: string, organizationId: string, clientId: string, now: Date): Session {
  const signedIn = new Date(now.getTime() - 5 * 60_000);
  return {
    id: newId('ses'),
    tokenHash: hashSecret(newSecret()),
    userId,
    organizationId,
    authTime: signedIn,
    amr: ['pwd'],
    userAgent: 'bench',
    ipAddress: '127.0.0.1',
    createdAt: signedIn,
    lastActiveAt: signedIn,
    idleExpiresAt: new Date(now.getTime() + 7 * 86_400_000),
    absoluteExpiresAt: new Date(signedIn.getTime() + 30 * 86_400_000),
    endedAt: null,
    endReason: null,
    clientIds: [clientId],
  };
}

/** Inserts `count` refresh tokens, each with its own live session and grant; returns their values. */
export async function mintRefreshTokens(
  store: Store,
  input: { count: number; clientId: string; userId: string; organizationId: string; now: Date },
): Promise<string[]> {
  const values: string[] = [];
  const batch = 1000;
  for (let start = 0; start < input.count; start += batch) {
    await store.transaction(async (trx) => {
      for (let i = start; i < Math.min(input.count, start + batch); i++) {
        const session = liveSession(input.userId, input.organizationId, input.clientId, input.now);
        const grantId = newId('grt');
        await trx.sessions.insert(session);
        await trx.grants.insert({
          id: grantId,
          clientId: input.clientId,
          userId: input.userId,
          sessionId: session.id,
          createdAt: session.authTime,
          expiresAt: session.absoluteExpiresAt,
          revokedAt: null,
        });
        const value = newSecret();
        await trx.refreshTokens.insert({
          id: newId('tkn'),
          tokenHash: hashSecret(value),
          grantId,
          clientId: input.clientId,
          userId: input.userId,
          organizationId: input.organizationId,
          sessionId: session.id,
          scope: userScope,
          authTime: session.authTime,
          amr: session.amr,
          createdAt: session.authTime,
          expiresAt: new Date(input.now.getTime() + 29 * 86_400_000),
          rotatedAt: null,
          successorSealed: null,
          revokedAt: null,
        });
        values.push(value);
      }
    });
  }
  return values;
}

/** Inserts `count` authorization codes (PKCE S256), each with its own live session and grant. */
async function mintCodes(
  store: Store,
  input: { count: number; client: BenchClient; userId: string; organizationId: string; now: Date },
): Promise<MintedCode[]> {
  const codes: MintedCode[] = [];
  const batch = 1000;
  for (let start = 0; start < input.count; start += batch) {
    await store.transaction(async (trx) => {
      for (let i = start; i < Math.min(input.count, start + batch); i++) {
        const session = liveSession(input.userId, input.organizationId, input.client.id, input.now);
        session.clientIds = [];
        const grantId = newId('grt');
        await trx.sessions.insert(session);
        await trx.grants.insert({
          id: grantId,
          clientId: input.client.id,
          userId: input.userId,
          sessionId: session.id,
          createdAt: input.now,
          expiresAt: session.absoluteExpiresAt,
          revokedAt: null,
        });
        const code = newSecret();
        const verifier = randomBytes(32).toString('base64url');
        await trx.codes.insert({
          codeHash: hashSecret(code),
          grantId,
          clientId: input.client.id,
          redirectUri: input.client.redirectUri,
          scope: userScope,
          nonce: randomBytes(8).toString('hex'),
          codeChallenge: createHash('sha256').update(verifier).digest('base64url'),
          codeChallengeMethod: 'S256',
          userId: input.userId,
          organizationId: input.organizationId,
          sessionId: session.id,
          authTime: session.authTime,
          amr: session.amr,
          createdAt: input.now,
          // Longer than the server's ten minutes, so that codes minted before a long run stay good.
          expiresAt: new Date(input.now.getTime() + 3 * 3_600_000),
          consumedAt: null,
        });
        codes.push({ code, verifier });
      }
    });
  }
  return codes;
}

/** Starts `sesame start` on the seeded database (optionally under `--cpu-prof`). */
export function startSesame(seed: SesameSeed, options: { profileDir?: string | null } = {}): Promise<Child> {
  return startChild({
    name: 'sesame',
    script: 'packages/server/bin/sesame.js',
    args: ['start'],
    nodeArgs: options.profileDir ? ['--cpu-prof', `--cpu-prof-dir=${options.profileDir}`] : [],
    env: sesameEnv(seed.issuer, seed.port, seed.dbFile),
    ready: /listening on port/,
  });
}
