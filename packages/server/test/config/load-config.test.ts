// Configuration (spec: "Storage and scale"): settings come from the environment and an optional
// config file; missing or wrong settings fail at start with a message naming the variable.
import { chmodSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseDatabaseUrl } from '../../src/assemble.ts';
import { ConfigError, loadConfig } from '../../src/config/load.ts';

const secret = 'x'.repeat(32);
const base = { ENV_URL: 'http://localhost:8080', SESAME_SECRET: secret };

let dir: string;

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'sesame-config-'));
});

afterAll(() => {
  rmSync(dir, { recursive: true, force: true });
});

function configFile(name: string, content: unknown): string {
  const path = join(dir, name);
  writeFileSync(path, typeof content === 'string' ? content : JSON.stringify(content));
  return path;
}

/** The ConfigError `loadConfig` throws for this environment. */
function configError(env: Record<string, string | undefined>): ConfigError {
  try {
    loadConfig({ env });
  } catch (err) {
    expect(err).toBeInstanceOf(ConfigError);
    return err as ConfigError;
  }
  throw new Error(`expected a ConfigError for ${JSON.stringify(env)}`);
}

describe('loadConfig: valid settings', () => {
  it('reads ENV_URL as the issuer exactly and applies the documented defaults', () => {
    const config = loadConfig({ env: base });
    expect(config.envUrl).toBe('http://localhost:8080');
    expect(config.port).toBe(8080);
    expect(config.signingAlg).toBe('RS256');
    expect(config.sessionIdleTimeout).toBe(7 * 86400);
    expect(config.sessionAbsoluteTimeout).toBe(30 * 86400);
    expect(config.secureCookies).toBe(false);
  });

  it.each([
    ['https://auth.example.com', true],
    ['https://auth.example.com/tenant-a', true],
    ['http://127.0.0.1:9000', false],
    ['http://app.localhost:3000', false],
  ])('accepts ENV_URL %s (Secure cookies: %s)', (url, secure) => {
    const config = loadConfig({ env: { ...base, ENV_URL: url } });
    expect(config.envUrl).toBe(url);
    expect(config.secureCookies).toBe(secure);
  });

  it('uses the injected clock', () => {
    const fixed = new Date('2030-01-02T03:04:05Z');
    expect(loadConfig({ env: base, now: () => fixed }).now()).toEqual(fixed);
  });

  it('treats an empty variable as unset', () => {
    expect(loadConfig({ env: { ...base, PORT: '' } }).port).toBe(8080);
  });
});

describe('loadConfig: wrong settings fail naming the variable', () => {
  it.each<[string, string, Record<string, string | undefined>]>([
    ['missing ENV_URL', 'ENV_URL', { SESAME_SECRET: secret }],
    ['ENV_URL with a trailing slash', 'ENV_URL', { ...base, ENV_URL: 'http://localhost:8080/' }],
    ['ENV_URL with a query', 'ENV_URL', { ...base, ENV_URL: 'https://auth.example.com?tenant=a' }],
    ['ENV_URL with a fragment', 'ENV_URL', { ...base, ENV_URL: 'https://auth.example.com#x' }],
    ['ENV_URL over http on a public host', 'ENV_URL', { ...base, ENV_URL: 'http://auth.example.com' }],
    ['ENV_URL not a URL', 'ENV_URL', { ...base, ENV_URL: 'auth.example.com' }],
    ['ENV_URL with another scheme', 'ENV_URL', { ...base, ENV_URL: 'ftp://auth.example.com' }],
    ['missing SESAME_SECRET', 'SESAME_SECRET', { ENV_URL: base.ENV_URL }],
    ['SESAME_SECRET of 31 characters', 'SESAME_SECRET', { ...base, SESAME_SECRET: 'x'.repeat(31) }],
    ['PORT=abc', 'PORT', { ...base, PORT: 'abc' }],
    ['PORT=70000', 'PORT', { ...base, PORT: '70000' }],
    ['PORT=80.5', 'PORT', { ...base, PORT: '80.5' }],
    ['SESAME_SIGNING_ALG=HS256', 'SESAME_SIGNING_ALG', { ...base, SESAME_SIGNING_ALG: 'HS256' }],
    ['LOG_LEVEL=loud', 'LOG_LEVEL', { ...base, LOG_LEVEL: 'loud' }],
    ['SESAME_JWKS_MAX_AGE=-1', 'SESAME_JWKS_MAX_AGE', { ...base, SESAME_JWKS_MAX_AGE: '-1' }],
    [
      'SESAME_SESSION_IDLE_TIMEOUT=soon',
      'SESAME_SESSION_IDLE_TIMEOUT',
      { ...base, SESAME_SESSION_IDLE_TIMEOUT: 'soon' },
    ],
    [
      'SESAME_BRAND_ACCENT_COLOR=red',
      'SESAME_BRAND_ACCENT_COLOR',
      { ...base, SESAME_BRAND_ACCENT_COLOR: 'red' },
    ],
    [
      'SESAME_SESSION_ABSOLUTE_TIMEOUT shorter than the idle timeout',
      'SESAME_SESSION_ABSOLUTE_TIMEOUT',
      { ...base, SESAME_SESSION_IDLE_TIMEOUT: '7200', SESAME_SESSION_ABSOLUTE_TIMEOUT: '3600' },
    ],
  ])('%s → ConfigError naming %s', (_label, variable, env) => {
    const err = configError(env);
    expect(err.message).toContain(variable);
  });

  it('names every wrong variable at once', () => {
    const err = configError({ ENV_URL: 'http://example.com/', SESAME_SECRET: 'short', PORT: 'abc' });
    expect(err.message).toContain('ENV_URL');
    expect(err.message).toContain('SESAME_SECRET');
    expect(err.message).toContain('PORT');
  });

  it('never echoes the secret it refuses', () => {
    const err = configError({ ...base, SESAME_SECRET: 'hunter2-is-not-long-enough' });
    expect(err.message).not.toContain('hunter2');
  });
});

describe('loadConfig: the SESAME_CONFIG file (spec: "and an optional config file")', () => {
  it('supplies values the environment does not set', () => {
    const path = configFile('values.json', {
      envUrl: 'https://auth.example.com',
      secret,
      port: 9090,
      brandName: 'Acme Sign-in',
      sessionIdleTimeout: 3600,
    });
    const config = loadConfig({ env: { SESAME_CONFIG: path } });
    expect(config.envUrl).toBe('https://auth.example.com');
    expect(config.port).toBe(9090);
    expect(config.brandName).toBe('Acme Sign-in');
    expect(config.sessionIdleTimeout).toBe(3600);
  });

  it('loses to the environment', () => {
    const path = configFile('loses.json', {
      envUrl: 'https://file.example.com',
      port: 9090,
      brandName: 'File',
    });
    const config = loadConfig({
      env: { SESAME_CONFIG: path, ENV_URL: 'https://env.example.com', SESAME_SECRET: secret, PORT: '7070' },
    });
    expect(config.envUrl).toBe('https://env.example.com');
    expect(config.port).toBe(7070);
    expect(config.brandName).toBe('File');
  });

  it('wrong values in it still fail naming the variable', () => {
    const path = configFile('wrong.json', { port: 'abc' });
    expect(configError({ ...base, SESAME_CONFIG: path }).message).toContain('PORT');
  });

  it.each<[string, unknown, RegExp]>([
    ['an unknown key', { envUrl: 'https://a.example.com', colour: 'blue' }, /SESAME_CONFIG.*colour/s],
    ['invalid JSON', '{ "port": 80,', /SESAME_CONFIG/],
    ['a JSON array', '[1, 2]', /SESAME_CONFIG/],
    ['JSON null', 'null', /SESAME_CONFIG/],
  ])('a file with %s fails naming SESAME_CONFIG', (label, content, message) => {
    const path = configFile(`bad-${label.replace(/\W+/g, '-')}.json`, content);
    expect(configError({ ...base, SESAME_CONFIG: path }).message).toMatch(message);
  });

  it('a missing file fails naming SESAME_CONFIG and the path', () => {
    const path = join(dir, 'does-not-exist.json');
    const err = configError({ ...base, SESAME_CONFIG: path });
    expect(err.message).toContain('SESAME_CONFIG');
    expect(err.message).toContain(path);
  });

  it('a directory instead of a file fails naming SESAME_CONFIG', () => {
    expect(configError({ ...base, SESAME_CONFIG: dir }).message).toContain('SESAME_CONFIG');
  });
});

describe('parseDatabaseUrl (spec: "SQLite … is the embedded default", "PostgreSQL … for production")', () => {
  it.each([
    ['./data/sesame.db', resolve('./data/sesame.db')],
    ['data/sesame.db', resolve('data/sesame.db')],
    ['/var/lib/sesame/sesame.db', '/var/lib/sesame/sesame.db'],
    ['sqlite:./data/x.db', resolve('./data/x.db')],
    ['sqlite:///var/lib/sesame/x.db', '/var/lib/sesame/x.db'],
    ['file:./data/y.db', resolve('./data/y.db')],
    ['file:///var/lib/sesame/y.db', '/var/lib/sesame/y.db'],
    [':memory:', ':memory:'],
    ['sqlite::memory:', ':memory:'],
  ])('%s is SQLite at %s', (url, filename) => {
    expect(parseDatabaseUrl(url)).toEqual({ kind: 'sqlite', filename });
  });

  it.each([
    'postgres://sesame:pw@db.internal:5432/sesame',
    'postgresql://db.internal/sesame?sslmode=require',
  ])('%s is PostgreSQL, kept verbatim', (url) => {
    expect(parseDatabaseUrl(url)).toEqual({ kind: 'postgres', url });
  });

  it.each(['mysql://root@localhost/sesame', 'mongodb://localhost/sesame', 'sqlite:', 'file:'])(
    '%s fails naming DATABASE_URL',
    (url) => {
      let error: unknown;
      try {
        parseDatabaseUrl(url);
      } catch (err) {
        error = err;
      }
      expect(error).toBeInstanceOf(ConfigError);
      expect((error as Error).message).toContain('DATABASE_URL');
    },
  );
});
