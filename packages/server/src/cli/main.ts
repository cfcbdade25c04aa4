import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { PasswordHasher, passwordMinLength } from '../accounts/passwords.ts';
import { isPlausibleEmail, normalizeEmail } from '../accounts/sign-in.ts';
import { createUserWithOrganization } from '../accounts/sign-up.ts';
import { deleteUser, disableUser, enableUser } from '../accounts/user-lifecycle.ts';
import { createKeyRing, createServerContext, openStore } from '../assemble.ts';
import { ClientRegistrationError, registerClient, rotateClientSecret } from '../clients/register-client.ts';
import type { Config } from '../config/config.ts';
import { ConfigError, loadConfig } from '../config/load.ts';
import { createApp } from '../http/app.ts';
import { runUpkeep, scheduleUpkeep, startLogoutDelivery } from '../jobs.ts';
import { SealError } from '../keys/secret-box.ts';
import { createLogger } from '../logger.ts';
import { listen } from '../node-server.ts';
import { endSession } from '../protocol/sessions.ts';
import { AlreadyExistsError, type Store } from '../storage/store.ts';
import type { ClientType } from '../storage/types.ts';
import { type CliOutput, formatTable } from './output.ts';

const usage = `Usage: sesame <command> [options]

Commands:
  start [--port N] [--env-url URL] [--host ADDR]   run the identity server
  migrate                                          apply database migrations
  apps create --type web|spa|native|m2m --name NAME [--redirect-uri URI]...
              [--post-logout-redirect-uri URI]... [--backchannel-logout-uri URI]
              [--initiate-login-uri URI] [--access-token-ttl SECONDS]
              [--allow-management-api] [--json]    register an app (its secret is shown once)
  apps list [--json]                               list apps
  apps secret rotate CLIENT_ID [--keep-previous SECONDS] [--json]
                                                   add a new secret; the previous one keeps working
                                                   for SECONDS (default: until rotated again)
  users create --email EMAIL --password PASSWORD [--name NAME]
               [--organization ORG_ID] [--role ROLE] [--json]
  users list [--json]
  users disable USER_ID | users enable USER_ID | users delete USER_ID
                                                   disabling or deleting ends the user's sessions
  keys list [--json]                               signing keys and their status
  keys rotate                                      publish a new signing key (signs after the JWKS max-age)
  sessions list [--user USER_ID] [--json]          live sign-in sessions
  sessions revoke SESSION_ID                       end a session (refresh tokens die with it,
                                                   back-channel logout notices go out)
  logout-deliveries [--status pending|delivered|failed] [--json]
                                                   back-channel logout deliveries and their state
  audit [--limit N] [--json]                       management API writes (who, what, when), oldest first

Settings come from the environment (ENV_URL, PORT, DATABASE_URL, SESAME_SECRET, LOG_LEVEL, ...)
and the JSON file named by SESAME_CONFIG; see .env.example.`;

/** A mistake in how the command was called; printed with the usage. */
class UsageError extends Error {}

/**
 * Runs the `sesame` command. Returns the exit code; `start` resolves only when the server stops.
 */
export async function runCli(
  argv: string[],
  env: Record<string, string | undefined>,
  io: CliOutput,
): Promise<number> {
  const [command, ...rest] = argv;
  try {
    switch (command) {
      case 'start':
        return await start(rest, env, io);
      case 'migrate':
        return await withStore(env, async (store) => {
          io.out(`Database ${store.kind} is up to date.`);
          return 0;
        });
      case 'apps':
        return await apps(rest, env, io);
      case 'users':
        return await users(rest, env, io);
      case 'keys':
        return await keys(rest, env, io);
      case 'sessions':
        return await sessions(rest, env, io);
      case 'logout-deliveries':
        return await logoutDeliveries(rest, env, io);
      case 'audit':
        return await audit(rest, env, io);
      case undefined:
      case 'help':
      case '--help':
      case '-h':
        io.out(usage);
        return command === undefined ? 1 : 0;
      default:
        throw new UsageError(`Unknown command: ${command}`);
    }
  } catch (err) {
    if (err instanceof UsageError) {
      io.err(`${err.message}\n\n${usage}`);
      return 2;
    }
    if (
      err instanceof ConfigError ||
      err instanceof ClientRegistrationError ||
      err instanceof AlreadyExistsError
    ) {
      io.err(err.message);
      return 1;
    }
    // A stored signing key that will not open means the server secret changed: a wrong setting.
    if (err instanceof Error && err.cause instanceof SealError) {
      io.err(`${err.message}. Set SESAME_SECRET to the secret this database was created with.`);
      return 1;
    }
    if (err instanceof Error && 'code' in err && err.code === 'ERR_PARSE_ARGS_UNKNOWN_OPTION') {
      io.err(`${err.message}\n\n${usage}`);
      return 2;
    }
    throw err;
  }
}

function config(
  env: Record<string, string | undefined>,
  options: { needsSecret: boolean; overrides?: Parameters<typeof loadConfig>[0]['overrides'] },
): Config {
  const filled: Record<string, string> = { ENV_URL: 'http://localhost:8080', ...stripEmpty(env) };
  // Commands that touch no key material run without the server secret.
  if (!options.needsSecret && !filled['SESAME_SECRET'])
    filled['SESAME_SECRET'] = randomBytes(32).toString('base64url');
  return loadConfig({ env: filled, ...(options.overrides ? { overrides: options.overrides } : {}) });
}

function stripEmpty(env: Record<string, string | undefined>): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(env)) if (v !== undefined && v !== '') out[k] = v;
  return out;
}

async function withStore<T>(
  env: Record<string, string | undefined>,
  work: (store: Store, config: Config) => Promise<T>,
): Promise<T> {
  const cfg = config(env, { needsSecret: false });
  const store = await openStore(cfg);
  try {
    return await work(store, cfg);
  } finally {
    await store.close();
  }
}

async function start(
  args: string[],
  env: Record<string, string | undefined>,
  io: CliOutput,
): Promise<number> {
  const { values } = parseArgs({
    args,
    options: { port: { type: 'string' }, 'env-url': { type: 'string' }, host: { type: 'string' } },
  });
  const overrides: Record<string, string> = {};
  if (values.port !== undefined) overrides['port'] = values.port;
  if (values['env-url'] !== undefined) overrides['envUrl'] = values['env-url'];
  if (values.host !== undefined) overrides['host'] = values.host;
  const cfg = config(env, { needsSecret: true, overrides });
  const logger = createLogger(cfg.logLevel);
  const ctx = await createServerContext(cfg, { logger, store: await openStore(cfg, { logger }) });
  await runUpkeep(ctx);
  const stopUpkeep = scheduleUpkeep(ctx);
  const stopDelivery = startLogoutDelivery(ctx);
  const server = await listen(createApp(ctx), { port: cfg.port, host: cfg.host, tls: readTls(cfg) });
  logger.info({ issuer: cfg.envUrl, port: server.port, database: ctx.store.kind }, 'sesame is listening');
  io.out(`Sesame identity server on ${cfg.envUrl} (listening on port ${server.port})`);
  await new Promise<void>((resolve) => {
    const stop = () => resolve();
    process.once('SIGINT', stop);
    process.once('SIGTERM', stop);
  });
  stopUpkeep();
  await server.close();
  await stopDelivery();
  await ctx.store.close();
  return 0;
}

/** The TLS certificate and key files the configuration names, read. */
function readTls(cfg: Config): { cert: Buffer; key: Buffer } | undefined {
  if (cfg.tlsCert === undefined || cfg.tlsKey === undefined) return undefined;
  const read = (path: string, variable: string) => {
    try {
      return readFileSync(path);
    } catch (err) {
      throw new ConfigError(`${variable}: cannot read ${path} (${(err as Error).message})`);
    }
  };
  return { cert: read(cfg.tlsCert, 'SESAME_TLS_CERT'), key: read(cfg.tlsKey, 'SESAME_TLS_KEY') };
}

const listOption = { type: 'string', multiple: true } as const;

async function apps(args: string[], env: Record<string, string | undefined>, io: CliOutput): Promise<number> {
  const [sub, ...rest] = args;
  if (sub === 'create') {
    const { values } = parseArgs({
      args: rest,
      options: {
        type: { type: 'string' },
        name: { type: 'string' },
        'redirect-uri': listOption,
        'post-logout-redirect-uri': listOption,
        'backchannel-logout-uri': { type: 'string' },
        'initiate-login-uri': { type: 'string' },
        'access-token-ttl': { type: 'string' },
        'allow-management-api': { type: 'boolean' },
        json: { type: 'boolean' },
      },
    });
    const type = values.type as ClientType | undefined;
    if (!type || !['web', 'spa', 'native', 'm2m'].includes(type))
      throw new UsageError('--type must be web, spa, native or m2m');
    if (!values.name) throw new UsageError('--name is required');
    return withStore(env, async (store, cfg) => {
      const { client, secret } = await registerClient(
        store,
        {
          type,
          name: values.name as string,
          redirectUris: values['redirect-uri'] ?? [],
          postLogoutRedirectUris: values['post-logout-redirect-uri'] ?? [],
          backchannelLogoutUri: values['backchannel-logout-uri'] ?? null,
          initiateLoginUri: values['initiate-login-uri'] ?? null,
          ...(values['access-token-ttl'] ? { accessTokenTtl: Number(values['access-token-ttl']) } : {}),
          allowManagementApi: values['allow-management-api'] ?? false,
        },
        cfg.now(),
      );
      if (values.json)
        io.out(
          JSON.stringify({
            client_id: client.id,
            client_secret: secret,
            type: client.type,
            name: client.name,
          }),
        );
      else {
        io.out(`Created ${client.type} app "${client.name}"`);
        io.out(`  client_id:     ${client.id}`);
        if (secret) io.out(`  client_secret: ${secret}   (shown once: store it now)`);
      }
      return 0;
    });
  }
  if (sub === 'list') {
    const { values } = parseArgs({ args: rest, options: { json: { type: 'boolean' } } });
    return withStore(env, async (store) => {
      const list = await store.clients.list();
      if (values.json) {
        io.out(
          JSON.stringify(
            list.map((c) => ({
              client_id: c.id,
              type: c.type,
              name: c.name,
              redirect_uris: c.redirectUris,
              post_logout_redirect_uris: c.postLogoutRedirectUris,
              backchannel_logout_uri: c.backchannelLogoutUri,
              allow_management_api: c.allowManagementApi,
            })),
          ),
        );
      } else {
        io.out(
          formatTable(
            list.map((c) => ({
              client_id: c.id,
              type: c.type,
              name: c.name,
              redirect_uris: c.redirectUris.join(' '),
            })),
          ),
        );
      }
      return 0;
    });
  }
  if (sub === 'secret' && rest[0] === 'rotate') {
    const { values, positionals } = parseArgs({
      args: rest.slice(1),
      allowPositionals: true,
      options: { 'keep-previous': { type: 'string' }, json: { type: 'boolean' } },
    });
    const clientId = positionals[0];
    if (!clientId) throw new UsageError('apps secret rotate needs a CLIENT_ID');
    const keep = values['keep-previous'];
    if (keep !== undefined && !/^\d+$/.test(keep))
      throw new UsageError('--keep-previous takes a number of seconds');
    return withStore(env, async (store, cfg) => {
      const now = cfg.now();
      const until = keep === undefined ? null : new Date(now.getTime() + Number(keep) * 1000);
      const { secret } = await rotateClientSecret(store, clientId, now, until);
      if (values.json) io.out(JSON.stringify({ client_id: clientId, client_secret: secret }));
      else io.out(`New client_secret for ${clientId}: ${secret}   (shown once: store it now)`);
      return 0;
    });
  }
  throw new UsageError('apps takes: create, list, secret rotate');
}

async function users(
  args: string[],
  env: Record<string, string | undefined>,
  io: CliOutput,
): Promise<number> {
  const [sub, ...rest] = args;
  if (sub === 'create') {
    const { values } = parseArgs({
      args: rest,
      options: {
        email: { type: 'string' },
        password: { type: 'string' },
        name: { type: 'string' },
        organization: { type: 'string' },
        role: { type: 'string' },
        json: { type: 'boolean' },
      },
    });
    const email = normalizeEmail(values.email ?? '');
    if (!isPlausibleEmail(email)) throw new UsageError('--email must be an email address');
    if (!values.password || values.password.length < passwordMinLength) {
      throw new UsageError(`--password must have at least ${passwordMinLength} characters`);
    }
    return withStore(env, async (store, cfg) => {
      if (values.organization && !(await store.organizations.get(values.organization))) {
        throw new ConfigError(`--organization ${values.organization} does not exist`);
      }
      if (values.role && !(await store.roles.getByName(values.role, values.organization ?? null))) {
        throw new ConfigError(`--role ${values.role} does not exist`);
      }
      const hasher = new PasswordHasher({ concurrency: 1 });
      const passwordHash = await hasher.hash(values.password as string);
      const fakeCtx = { config: cfg, store } as Parameters<typeof createUserWithOrganization>[0];
      const { user, organizationId } = await createUserWithOrganization(fakeCtx, {
        email,
        name: values.name ?? null,
        passwordHash,
        emailVerified: true,
        ...(values.organization ? { organizationId: values.organization } : {}),
        ...(values.role ? { role: values.role } : {}),
      });
      if (values.json)
        io.out(JSON.stringify({ user_id: user.id, email: user.email, organization_id: organizationId }));
      else io.out(`Created user ${user.email} (${user.id}) in organization ${organizationId}`);
      return 0;
    });
  }
  if (sub === 'list') {
    const { values } = parseArgs({ args: rest, options: { json: { type: 'boolean' } } });
    return withStore(env, async (store) => {
      const all = [];
      let cursor: string | null = null;
      do {
        const page = await store.users.list({ limit: 100, cursor });
        all.push(...page.items);
        cursor = page.nextCursor;
      } while (cursor);
      if (values.json)
        io.out(
          JSON.stringify(
            all.map((u) => ({ user_id: u.id, email: u.email, name: u.name, disabled: u.disabled })),
          ),
        );
      else
        io.out(
          formatTable(
            all.map((u) => ({
              user_id: u.id,
              email: u.email,
              name: u.name ?? '',
              disabled: u.disabled ? 'yes' : '',
            })),
          ),
        );
      return 0;
    });
  }
  if (sub === 'disable' || sub === 'enable' || sub === 'delete') {
    const { positionals } = parseArgs({ args: rest, allowPositionals: true, options: {} });
    const userId = positionals[0];
    if (!userId) throw new UsageError(`users ${sub} needs a USER_ID`);
    const cfg = config(env, { needsSecret: true });
    const ctx = await createServerContext(cfg, {
      logger: createLogger(cfg.logLevel === 'info' ? 'warn' : cfg.logLevel),
    });
    try {
      const done = await { disable: disableUser, enable: enableUser, delete: deleteUser }[sub](ctx, userId);
      if (!done) {
        io.err(`No user ${userId}`);
        return 1;
      }
      io.out(
        `${{ disable: 'Disabled', enable: 'Enabled', delete: 'Deleted' }[sub]} ${userId}${sub === 'enable' ? '' : '; their sessions have ended'}.`,
      );
      return 0;
    } finally {
      await ctx.store.close();
    }
  }
  throw new UsageError('users takes: create, list, disable, enable, delete');
}

async function keys(args: string[], env: Record<string, string | undefined>, io: CliOutput): Promise<number> {
  const [sub, ...rest] = args;
  const { values } = parseArgs({ args: rest, options: { json: { type: 'boolean' } } });
  if (sub !== 'list' && sub !== 'rotate') throw new UsageError('keys takes: list, rotate');
  const cfg = config(env, { needsSecret: true });
  const store = await openStore(cfg);
  try {
    const ring = createKeyRing(cfg, store);
    await ring.load();
    if (sub === 'rotate') {
      await ring.ensureSigningKey();
      const key = await ring.rotate();
      io.out(`Published ${key.id} (${key.alg}); it signs from ${key.activatesAt.toISOString()}`);
      return 0;
    }
    const list = ring.describe();
    if (values.json) io.out(JSON.stringify(list));
    else
      io.out(
        formatTable(
          list.map((k) => ({
            kid: k.id,
            alg: k.alg,
            status: k.status,
            activates: k.activatesAt.toISOString(),
            retires: k.retiresAt?.toISOString() ?? '',
            unpublished: k.expiresAt?.toISOString() ?? '',
          })),
        ),
      );
    return 0;
  } finally {
    await store.close();
  }
}

async function logoutDeliveries(
  args: string[],
  env: Record<string, string | undefined>,
  io: CliOutput,
): Promise<number> {
  const { values } = parseArgs({ args, options: { status: { type: 'string' }, json: { type: 'boolean' } } });
  const status = values.status;
  if (status !== undefined && status !== 'pending' && status !== 'delivered' && status !== 'failed') {
    throw new UsageError('--status must be pending, delivered or failed');
  }
  return withStore(env, async (store) => {
    const page = await store.logoutDeliveries.list({ limit: 100 }, status ? { status } : {});
    const counts = await store.logoutDeliveries.counts();
    const rows = page.items.map((d) => ({
      delivery_id: d.id,
      status: d.status,
      client_id: d.clientId,
      session_id: d.sessionId,
      attempts: String(d.attempts),
      next_attempt: d.status === 'pending' ? d.nextAttemptAt.toISOString() : '',
      last_error: d.lastError ?? '',
      delivered: d.deliveredAt?.toISOString() ?? '',
    }));
    if (values.json) io.out(JSON.stringify({ counts, deliveries: rows }));
    else {
      io.out(`pending ${counts.pending}, delivered ${counts.delivered}, failed ${counts.failed}`);
      io.out(formatTable(rows));
    }
    return 0;
  });
}

/** Lists the audit log in the order events were recorded (by id, which is time-ordered). */
async function audit(
  args: string[],
  env: Record<string, string | undefined>,
  io: CliOutput,
): Promise<number> {
  const { values } = parseArgs({ args, options: { limit: { type: 'string' }, json: { type: 'boolean' } } });
  if (values.limit !== undefined && !/^[1-9]\d*$/.test(values.limit)) {
    throw new UsageError('--limit takes a positive number of events');
  }
  const limit = values.limit === undefined ? Number.POSITIVE_INFINITY : Number(values.limit);
  return withStore(env, async (store) => {
    const events = [];
    let cursor: string | null = null;
    do {
      const page = await store.audit.list({ limit: 100, cursor });
      events.push(...page.items);
      cursor = page.nextCursor;
    } while (cursor && events.length < limit);
    const shown = events.slice(0, limit);
    if (values.json) {
      io.out(
        JSON.stringify(
          shown.map((e) => ({
            id: e.id,
            at: e.createdAt.toISOString(),
            actor: e.actor,
            action: e.action,
            target_type: e.targetType,
            target_id: e.targetId,
            detail: e.detail,
          })),
        ),
      );
    } else {
      io.out(
        formatTable(
          shown.map((e) => ({
            at: e.createdAt.toISOString(),
            actor: e.actor,
            action: e.action,
            target: e.targetId ? `${e.targetType} ${e.targetId}` : e.targetType,
            detail: JSON.stringify(e.detail),
          })),
        ),
      );
    }
    return 0;
  });
}

async function sessions(
  args: string[],
  env: Record<string, string | undefined>,
  io: CliOutput,
): Promise<number> {
  const [sub, ...rest] = args;
  if (sub === 'list') {
    const { values } = parseArgs({
      args: rest,
      options: { user: { type: 'string' }, json: { type: 'boolean' } },
    });
    return withStore(env, async (store, cfg) => {
      const now = cfg.now();
      const page = values.user
        ? await store.sessions.listForUser(values.user, { limit: 100 }, { activeOnly: true, now })
        : await store.sessions.listActive(now, { limit: 100 });
      const rows = page.items.map((s) => ({
        session_id: s.id,
        user_id: s.userId,
        organization_id: s.organizationId ?? '',
        signed_in: s.authTime.toISOString(),
        last_active: s.lastActiveAt.toISOString(),
        apps: s.clientIds.join(' '),
      }));
      io.out(values.json ? JSON.stringify(rows) : formatTable(rows));
      if (!values.json && page.totalSize > page.items.length)
        io.out(`(${page.totalSize - page.items.length} more)`);
      return 0;
    });
  }
  if (sub === 'revoke') {
    const { positionals } = parseArgs({ args: rest, allowPositionals: true, options: {} });
    const sessionId = positionals[0];
    if (!sessionId) throw new UsageError('sessions revoke needs a SESSION_ID');
    const cfg = config(env, { needsSecret: true });
    const ctx = await createServerContext(cfg, {
      logger: createLogger(cfg.logLevel === 'info' ? 'warn' : cfg.logLevel),
    });
    try {
      const ended = await endSession(ctx, sessionId, 'revoked');
      if (!ended) {
        io.err(`No live session ${sessionId}`);
        return 1;
      }
      io.out(`Revoked ${sessionId}; its refresh tokens no longer work.`);
      return 0;
    } finally {
      await ctx.store.close();
    }
  }
  throw new UsageError('sessions takes: list, revoke');
}
