import { z } from 'zod';

/**
 * Every setting, its environment variable, its file key and its default. The environment wins
 * over the config file; the file wins over defaults.
 */
export const settings = {
  envUrl: { env: 'ENV_URL', doc: 'Issuer URL of this environment, no trailing slash' },
  port: { env: 'PORT', doc: 'TCP port to listen on' },
  host: { env: 'HOST', doc: 'Address to bind (default: all interfaces)' },
  databaseUrl: { env: 'DATABASE_URL', doc: 'SQLite file path or sqlite:// URL, or a postgres:// URL' },
  dbPoolMax: { env: 'SESAME_DB_POOL_MAX', doc: 'PostgreSQL connections per server process at most' },
  dbConnectTimeout: {
    env: 'SESAME_DB_CONNECT_TIMEOUT',
    doc: 'Seconds to wait for a PostgreSQL connection before the request fails (503)',
  },
  dbStatementTimeout: {
    env: 'SESAME_DB_STATEMENT_TIMEOUT',
    doc: 'Milliseconds after which PostgreSQL cancels a statement (0: never)',
  },
  secret: {
    env: 'SESAME_SECRET',
    doc: 'Server secret (32+ characters): encrypts signing keys, seals responses',
  },
  logLevel: { env: 'LOG_LEVEL', doc: 'fatal, error, warn, info, debug, trace or silent' },
  brandName: { env: 'SESAME_BRAND_NAME', doc: 'Name shown on the hosted pages' },
  brandLogoUrl: { env: 'SESAME_BRAND_LOGO_URL', doc: 'Logo on the hosted pages (https URL)' },
  brandAccentColor: { env: 'SESAME_BRAND_ACCENT_COLOR', doc: 'Accent colour of the hosted pages (#rrggbb)' },
  signingAlg: { env: 'SESAME_SIGNING_ALG', doc: 'RS256 (default) or ES256 for new signing keys' },
  sessionIdleTimeout: {
    env: 'SESAME_SESSION_IDLE_TIMEOUT',
    doc: 'Seconds of inactivity that end a sign-in session',
  },
  sessionAbsoluteTimeout: {
    env: 'SESAME_SESSION_ABSOLUTE_TIMEOUT',
    doc: 'Seconds after sign-in that end a session',
  },
  refreshTokenTtl: { env: 'SESAME_REFRESH_TOKEN_TTL', doc: 'Lifetime of a refresh token in seconds' },
  idTokenTtl: { env: 'SESAME_ID_TOKEN_TTL', doc: 'Lifetime of an ID token in seconds' },
  machineTokenTtl: {
    env: 'SESAME_MACHINE_TOKEN_TTL',
    doc: 'Lifetime of a client_credentials token in seconds',
  },
  jwksMaxAge: {
    env: 'SESAME_JWKS_MAX_AGE',
    doc: 'Cache max-age of /keys in seconds; also the pre-publish lead of a new key',
  },
  keyRotationDays: {
    env: 'SESAME_KEY_ROTATION_DAYS',
    doc: 'Days after which the signing key is rotated (0: never)',
  },
  trustProxy: { env: 'SESAME_TRUST_PROXY', doc: 'true to take the client address from X-Forwarded-For' },
  passwordHashConcurrency: {
    env: 'SESAME_PASSWORD_HASH_CONCURRENCY',
    doc: 'argon2id hashes in flight at most',
  },
  signInFailuresBeforeDelay: {
    env: 'SESAME_SIGNIN_FAILURES_BEFORE_DELAY',
    doc: 'Failed sign-ins for one account before answers slow down',
  },
  signInFailuresBeforeLockout: {
    env: 'SESAME_SIGNIN_FAILURES_BEFORE_LOCKOUT',
    doc: 'Failed sign-ins for one account before it is locked for the window',
  },
  signInFailuresPerAddress: {
    env: 'SESAME_SIGNIN_FAILURES_PER_ADDRESS',
    doc: 'Failed sign-ins from one client address before it is refused for the window',
  },
  signInFailureWindow: { env: 'SESAME_SIGNIN_FAILURE_WINDOW', doc: 'Seconds a sign-in failure counts' },
  sweepInterval: { env: 'SESAME_SWEEP_INTERVAL', doc: 'Seconds between sweeps of expired data' },
  logoutDeliveryInterval: {
    env: 'SESAME_LOGOUT_DELIVERY_INTERVAL',
    doc: 'Seconds between scans for due back-channel logout deliveries',
  },
  logoutDeliveryTimeout: {
    env: 'SESAME_LOGOUT_DELIVERY_TIMEOUT',
    doc: 'Seconds one back-channel logout POST may take',
  },
  cookiePrefix: { env: 'SESAME_COOKIE_PREFIX', doc: 'Prefix of the cookie names the server sets' },
  tlsCert: {
    env: 'SESAME_TLS_CERT',
    doc: 'PEM certificate (chain) file: serve HTTPS on PORT, HTTP/2 chosen by ALPN (gRPC needs it)',
  },
  tlsKey: { env: 'SESAME_TLS_KEY', doc: 'PEM private key file of SESAME_TLS_CERT' },
} as const;

export type SettingName = keyof typeof settings;

const seconds = (min: number, max: number) => z.coerce.number().int().min(min).max(max);

const envUrl = z
  .string()
  // abort: the refinements below parse the URL, which throws on anything `.url()` rejects.
  .url({ abort: true })
  .refine((v) => {
    const u = new URL(v);
    return (u.protocol === 'http:' || u.protocol === 'https:') && !u.search && !u.hash;
  }, 'must be an http(s) URL without query or fragment')
  .refine((v) => !v.endsWith('/'), 'must not end with a slash')
  .refine((v) => {
    const u = new URL(v);
    const loopback =
      u.hostname === 'localhost' ||
      u.hostname === '127.0.0.1' ||
      u.hostname === '[::1]' ||
      u.hostname.endsWith('.localhost');
    return u.protocol === 'https:' || loopback;
  }, 'must use https unless the host is loopback');

/** The shape of a loaded configuration, before derived values are added. */
export const configSchema = z.object({
  envUrl,
  port: z.coerce.number().int().min(0).max(65535).default(8080),
  host: z.string().min(1).optional(),
  databaseUrl: z.string().min(1).default('./data/sesame.db'),
  dbPoolMax: z.coerce.number().int().min(1).max(1000).default(10),
  dbConnectTimeout: seconds(1, 600).default(5),
  dbStatementTimeout: z.coerce.number().int().min(0).max(3_600_000).default(10_000),
  secret: z.string().min(32, 'must be at least 32 characters'),
  logLevel: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
  brandName: z.string().min(1).max(80).default('Sesame'),
  brandLogoUrl: z
    .string()
    .url()
    .refine((v) => v.startsWith('https://') || v.startsWith('http://localhost'), 'must be an https URL')
    .optional(),
  brandAccentColor: z
    .string()
    .regex(/^#[0-9a-fA-F]{6}$/, 'must be a colour like #4f46e5')
    .default('#4f46e5'),
  signingAlg: z.enum(['RS256', 'ES256']).default('RS256'),
  sessionIdleTimeout: seconds(60, 365 * 86400).default(7 * 86400),
  sessionAbsoluteTimeout: seconds(60, 365 * 86400).default(30 * 86400),
  refreshTokenTtl: seconds(60, 365 * 86400).default(30 * 86400),
  idTokenTtl: seconds(60, 86400).default(3600),
  machineTokenTtl: seconds(60, 7 * 86400).default(86400),
  jwksMaxAge: seconds(0, 86400).default(600),
  keyRotationDays: seconds(0, 3650).default(90),
  trustProxy: z
    .union([z.boolean(), z.enum(['true', 'false', '1', '0'])])
    .transform((v) => v === true || v === 'true' || v === '1')
    .default(false),
  passwordHashConcurrency: z.coerce.number().int().min(1).max(64).default(4),
  signInFailuresBeforeDelay: z.coerce.number().int().min(1).max(1000).default(3),
  signInFailuresBeforeLockout: z.coerce.number().int().min(1).max(1000).default(10),
  signInFailuresPerAddress: z.coerce.number().int().min(1).max(100000).default(100),
  signInFailureWindow: seconds(10, 86400).default(900),
  sweepInterval: seconds(1, 86400).default(60),
  logoutDeliveryInterval: seconds(1, 3600).default(2),
  logoutDeliveryTimeout: seconds(1, 60).default(5),
  cookiePrefix: z
    .string()
    .regex(/^[A-Za-z0-9_-]{1,32}$/, 'letters, digits, _ and - only')
    .default('sesame'),
  tlsCert: z.string().min(1).optional(),
  tlsKey: z.string().min(1).optional(),
});

export type ConfigInput = z.input<typeof configSchema>;
export type ParsedConfig = z.output<typeof configSchema>;
