import {
  type Expression,
  type ExpressionBuilder,
  type Kysely,
  Migrator,
  type Selectable,
  type SqlBool,
  sql,
} from 'kysely';
import { newId } from '../../lib/ids.ts';
import {
  type AuditStore,
  type ClientStore,
  type CodeStore,
  type GrantContext,
  type GrantStore,
  type InteractionStore,
  type KeyStore,
  type LogoutDeliveryStore,
  logoutDeliveryRetryWindowMs,
  type MembershipStore,
  type OrganizationStore,
  type PageRequest,
  type RateLimitStore,
  type RefreshTokenContext,
  type RefreshTokenStore,
  type RoleStore,
  type SessionStore,
  type Store,
  type SweepReport,
  TooManySecretsError,
  type UserStore,
} from '../store.ts';
import type {
  AuditEvent,
  AuthorizationCode,
  Client,
  ClientSecret,
  Grant,
  Interaction,
  LogoutDelivery,
  LogoutDeliveryStatus,
  Membership,
  Organization,
  Page,
  Permission,
  RefreshToken,
  Role,
  Session,
  SessionEndReason,
  SigningKey,
  User,
} from '../types.ts';
import { migrationProvider } from './migrations.ts';
import { keysetPage } from './paging.ts';
import { queryTemplate } from './query-template.ts';
import {
  auditEventFromRow,
  auditEventToRow,
  authorizationCodeFromRow,
  authorizationCodeToRow,
  clientFromRow,
  clientSecretFromRow,
  clientSecretToRow,
  clientToRow,
  definedColumns,
  grantFromRow,
  grantToRow,
  interactionFromRow,
  interactionToRow,
  logoutDeliveryFromRow,
  logoutDeliveryToRow,
  membershipFromRow,
  membershipToRow,
  organizationFromRow,
  organizationToRow,
  permissionFromRow,
  permissionToRow,
  refreshTokenFromRow,
  refreshTokenToRow,
  roleFromRow,
  roleToRow,
  sessionFromRow,
  sessionToRow,
  signingKeyFromRow,
  signingKeyToRow,
  userFromRow,
  userToRow,
} from './rows.ts';
import type {
  Database,
  GrantsTable,
  OrganizationsTable,
  RefreshTokensTable,
  SessionsTable,
  UsersTable,
} from './schema.ts';
import { translateUniqueViolation, type UniqueField } from './unique-violation.ts';

type Db = Kysely<Database>;
type Kind = Store['kind'];

/** How long ended or expired sessions are kept before the sweeper deletes them (for audit and support). */
const sessionRetentionMs = 7 * 24 * 60 * 60 * 1000;
/** Sealed successor responses outlive the 30 s refresh grace window by this much, then go. */
const sealedSuccessorRetentionMs = 5 * 60 * 1000;
/** Finished back-channel deliveries are kept this long, for operators. */
const deliveryRetentionMs = 7 * 24 * 60 * 60 * 1000;

/** Every column of a table, checked against its schema type so that none is forgotten. */
function columnsOf<T>(columns: Record<keyof T & string, true>): Array<keyof T & string> {
  return Object.keys(columns) as Array<keyof T & string>;
}

const sessionColumns = columnsOf<SessionsTable>({
  id: true,
  token_hash: true,
  user_id: true,
  organization_id: true,
  auth_time: true,
  amr: true,
  user_agent: true,
  ip_address: true,
  created_at: true,
  last_active_at: true,
  idle_expires_at: true,
  absolute_expires_at: true,
  ended_at: true,
  end_reason: true,
});
const userColumns = columnsOf<UsersTable>({
  id: true,
  email: true,
  email_verified: true,
  name: true,
  given_name: true,
  family_name: true,
  password_hash: true,
  external_id: true,
  disabled: true,
  metadata: true,
  created_at: true,
  updated_at: true,
});
const organizationColumns = columnsOf<OrganizationsTable>({
  id: true,
  name: true,
  external_id: true,
  metadata: true,
  created_at: true,
  updated_at: true,
});

/** A joined table's columns, selected as `alias__column` since joined tables share column names. */
interface Prefixed {
  alias: string;
  /** [column, its name in the result row] */
  names: ReadonlyArray<readonly [string, string]>;
}

function prefixed(alias: string, columns: readonly string[]): Prefixed {
  return { alias, names: columns.map((column) => [column, `${alias}__${column}`] as const) };
}

function prefixedColumns({ alias, names }: Prefixed) {
  return names.map(([column, as]) => sql`${sql.ref(`${alias}.${column}`)}`.as(as));
}

/** The row of one joined table out of a prefixed result row; `null` when the join found none. */
function unprefixed<T>(row: Record<string, unknown>, { names }: Prefixed): T | null {
  const out: Record<string, unknown> = {};
  for (const [column, as] of names) out[column] = row[as];
  return out['id'] === null || out['id'] === undefined ? null : (out as T);
}

/** The session, user, organization and membership roles joined into a row (aliases s, u, o, m). */
function joinedRows(row: Record<string, unknown>): {
  session: Omit<Session, 'clientIds'> | null;
  user: User | null;
  organization: Organization | null;
  membershipRoles: string[] | null;
} {
  const sessionRow = unprefixed<Selectable<SessionsTable>>(row, joinedSession);
  const userRow = unprefixed<Selectable<UsersTable>>(row, joinedUser);
  const organizationRow = unprefixed<Selectable<OrganizationsTable>>(row, joinedOrganization);
  const roles = row['m__roles'];
  let session: Omit<Session, 'clientIds'> | null = null;
  if (sessionRow) {
    const { clientIds: _notRead, ...rest } = sessionFromRow(sessionRow, []);
    session = rest;
  }
  return {
    session,
    user: userRow ? userFromRow(userRow) : null,
    organization: organizationRow ? organizationFromRow(organizationRow) : null,
    membershipRoles: typeof roles === 'string' ? (JSON.parse(roles) as string[]) : null,
  };
}

const joinedSession = prefixed('s', sessionColumns);
const joinedUser = prefixed('u', userColumns);
const joinedOrganization = prefixed('o', organizationColumns);

/** Role lists up to this long get a compiled query per length; longer ones are built each time. */
const maxTemplatedRoleNames = 16;
const rolesNamedTemplates = new Map<number, ReturnType<typeof buildRolesNamedTemplate>>();

function buildRolesNamedTemplate(count: number) {
  return queryTemplate((db, p: Record<string, string>) =>
    db
      .selectFrom('roles')
      .leftJoin('role_permissions', 'role_permissions.role_id', 'roles.id')
      .select(['roles.id', 'roles.name', 'roles.organization_id', 'role_permissions.permission_name'])
      .where(
        'roles.name',
        'in',
        Array.from({ length: count }, (_, i) => p[`name${i}`] as string),
      )
      .where((eb) =>
        eb.or([
          eb('roles.organization_id', '=', p['organizationId'] as string),
          eb('roles.organization_id', 'is', null),
        ]),
      ),
  );
}

/** The roles (of an organization, or environment-wide) with any of `count` names, with their permissions. */
function rolesNamedTemplate(count: number) {
  if (count > maxTemplatedRoleNames) return buildRolesNamedTemplate(count);
  let template = rolesNamedTemplates.get(count);
  if (!template) {
    template = buildRolesNamedTemplate(count);
    rolesNamedTemplates.set(count, template);
  }
  return template;
}

// The queries of every token request, compiled once (see query-template.ts); the rest of the store
// builds its queries per call.
const hot = {
  refreshTokenWithContext: queryTemplate((db, p: { tokenHash: string }) =>
    db
      .selectFrom('refresh_tokens as t')
      .leftJoin('sessions as s', 's.id', 't.session_id')
      .leftJoin('users as u', 'u.id', 't.user_id')
      .leftJoin('organizations as o', 'o.id', 't.organization_id')
      .leftJoin('memberships as m', (join) =>
        join.onRef('m.organization_id', '=', 't.organization_id').onRef('m.user_id', '=', 't.user_id'),
      )
      .selectAll('t')
      .select([
        ...prefixedColumns(joinedSession),
        ...prefixedColumns(joinedUser),
        ...prefixedColumns(joinedOrganization),
        'm.roles as m__roles',
      ])
      .where('t.token_hash', '=', p.tokenHash),
  ),
  client: queryTemplate((db, p: { id: string }) =>
    db.selectFrom('clients').selectAll().where('id', '=', p.id),
  ),
  activeSecrets: queryTemplate((db, p: { clientId: string; now: number }) =>
    db
      .selectFrom('client_secrets')
      .selectAll()
      .where('client_id', '=', p.clientId)
      .where((eb) => eb.or([eb('expires_at', 'is', null), eb('expires_at', '>', p.now)]))
      .orderBy('created_at', 'desc')
      .orderBy('id', 'desc'),
  ),
  clientWithActiveSecrets: queryTemplate((db, p: { id: string; now: number }) =>
    db
      .selectFrom('clients as c')
      .leftJoin('client_secrets as s', (join) =>
        join
          .onRef('s.client_id', '=', 'c.id')
          .on((eb) => eb.or([eb('s.expires_at', 'is', null), eb('s.expires_at', '>', p.now)])),
      )
      .selectAll('c')
      .select([
        's.id as secret_id',
        's.secret_hash as secret_hash',
        's.hint as secret_hint',
        's.created_at as secret_created_at',
        's.expires_at as secret_expires_at',
      ])
      // Two secrets at most: sorted here, not by a temporary B-tree per request.
      .where('c.id', '=', p.id),
  ),
  user: queryTemplate((db, p: { id: string }) => db.selectFrom('users').selectAll().where('id', '=', p.id)),
  organization: queryTemplate((db, p: { id: string }) =>
    db.selectFrom('organizations').selectAll().where('id', '=', p.id),
  ),
  membershipRoles: queryTemplate((db, p: { organizationId: string; userId: string }) =>
    db
      .selectFrom('memberships')
      .select('roles')
      .where('organization_id', '=', p.organizationId)
      .where('user_id', '=', p.userId),
  ),
  session: queryTemplate((db, p: { id: string }) =>
    db.selectFrom('sessions').selectAll().where('id', '=', p.id),
  ),
  sessionClients: queryTemplate((db, p: { sessionId: string }) =>
    db
      .selectFrom('session_clients')
      .select('client_id')
      .where('session_id', '=', p.sessionId)
      .orderBy('client_id'),
  ),
  touchSession: queryTemplate((db, p: { id: string; lastActiveAt: number; idleExpiresAt: number }) =>
    db
      .updateTable('sessions')
      .set({ last_active_at: p.lastActiveAt, idle_expires_at: p.idleExpiresAt })
      .where('id', '=', p.id),
  ),
  addSessionClient: queryTemplate((db, p: { sessionId: string; clientId: string }) =>
    db
      .insertInto('session_clients')
      .values({ session_id: p.sessionId, client_id: p.clientId })
      .onConflict((oc) => oc.columns(['session_id', 'client_id']).doNothing()),
  ),
  grant: queryTemplate((db, p: { id: string }) => db.selectFrom('grants').selectAll().where('id', '=', p.id)),
  grantWithContext: queryTemplate(
    (
      db,
      p: { id: string; sessionId: string; userId: string; organizationId: string | null; clientId: string },
    ) =>
      db
        .selectFrom('grants as g')
        .leftJoin('sessions as s', (join) => join.on('s.id', '=', p.sessionId))
        .leftJoin('users as u', (join) => join.on('u.id', '=', p.userId))
        .leftJoin('organizations as o', (join) => join.on('o.id', '=', p.organizationId))
        .leftJoin('memberships as m', (join) =>
          join.on('m.organization_id', '=', p.organizationId).on('m.user_id', '=', p.userId),
        )
        .selectAll('g')
        .select((eb) => [
          ...prefixedColumns(joinedSession),
          ...prefixedColumns(joinedUser),
          ...prefixedColumns(joinedOrganization),
          'm.roles as m__roles',
          eb
            .exists(
              eb
                .selectFrom('session_clients as sc')
                .select('sc.client_id')
                .where('sc.session_id', '=', p.sessionId)
                .where('sc.client_id', '=', p.clientId),
            )
            .as('session_has_client'),
        ])
        .where('g.id', '=', p.id),
  ),
  consumeCode: queryTemplate((db, p: { codeHash: string; now: number }) =>
    db
      .updateTable('authorization_codes')
      .set({ consumed_at: p.now })
      .where('code_hash', '=', p.codeHash)
      .where('consumed_at', 'is', null)
      .returningAll(),
  ),
  code: queryTemplate((db, p: { codeHash: string }) =>
    db.selectFrom('authorization_codes').selectAll().where('code_hash', '=', p.codeHash),
  ),
  refreshToken: queryTemplate((db, p: { tokenHash: string }) =>
    db.selectFrom('refresh_tokens').selectAll().where('token_hash', '=', p.tokenHash),
  ),
  insertRefreshToken: queryTemplate((db, row: ReturnType<typeof refreshTokenToRow>) =>
    db.insertInto('refresh_tokens').values(row),
  ),
  markRotated: queryTemplate((db, p: { id: string; now: number; successorSealed: string | null }) =>
    db
      .updateTable('refresh_tokens')
      .set({ rotated_at: p.now, successor_sealed: p.successorSealed })
      .where('id', '=', p.id)
      .where('rotated_at', 'is', null)
      .where('revoked_at', 'is', null),
  ),
};
/** A client may hold two active secrets: the current one and the one being rotated out. */
const maxActiveSecrets = 2;

/** Runs `work` in its own transaction, or inside the caller's when `db` already is one. */
function atomic<T>(db: Db, work: (db: Db) => Promise<T>): Promise<T> {
  return db.isTransaction ? work(db) : db.transaction().execute(work);
}

function changed(result: { numUpdatedRows?: bigint; numDeletedRows?: bigint }): boolean {
  return (result.numUpdatedRows ?? result.numDeletedRows ?? 0n) > 0n;
}

/** Runs a `count(*) as n` query; PostgreSQL returns the bigint count as a string. */
async function countRows(query: { executeTakeFirstOrThrow(): Promise<{ n: number | string | bigint }> }) {
  return Number((await query.executeTakeFirstOrThrow()).n);
}

/** A case-insensitive substring match; `%`, `_` and `\` in the needle match themselves. */
function containsIgnoringCase(column: Expression<string | null>, needle: string): Expression<SqlBool> {
  const pattern = `%${needle.toLowerCase().replace(/[\\%_]/g, (c) => `\\${c}`)}%`;
  // PostgreSQL's LIKE is case-sensitive and SQLite's is not, so both sides are lower-cased.
  return sql<SqlBool>`lower(${column}) like ${pattern} escape '\\'`;
}

const userUniqueFields: UniqueField[] = [
  { field: 'email', names: ['users_email_unique'], columns: 'users.email' },
  { field: 'externalId', names: ['users_external_id_unique'], columns: 'users.external_id' },
  { field: 'id', names: ['users_pkey'], columns: 'users.id' },
];
const organizationUniqueFields: UniqueField[] = [
  { field: 'externalId', names: ['organizations_external_id_unique'], columns: 'organizations.external_id' },
  { field: 'id', names: ['organizations_pkey'], columns: 'organizations.id' },
];
const membershipUniqueFields: UniqueField[] = [
  {
    field: 'membership',
    names: ['memberships_pk'],
    columns: 'memberships.organization_id, memberships.user_id',
  },
];
const roleUniqueFields: UniqueField[] = [
  { field: 'name', names: ['roles_env_name_unique'], columns: 'roles.name' },
  { field: 'name', names: ['roles_org_name_unique'], columns: 'roles.organization_id, roles.name' },
  { field: 'id', names: ['roles_pkey'], columns: 'roles.id' },
];
const permissionUniqueFields: UniqueField[] = [
  { field: 'name', names: ['permissions_name_unique'], columns: 'permissions.name' },
  { field: 'id', names: ['permissions_pkey'], columns: 'permissions.id' },
];

/**
 * The `Store` on Kysely, in SQL that SQLite and PostgreSQL both accept. Constructed on a
 * `Transaction`, every sub-store runs inside it.
 */
export class KyselyStore implements Store {
  readonly kind: Kind;
  readonly clients: ClientStore;
  readonly users: UserStore;
  readonly organizations: OrganizationStore;
  readonly memberships: MembershipStore;
  readonly roles: RoleStore;
  readonly sessions: SessionStore;
  readonly interactions: InteractionStore;
  readonly grants: GrantStore;
  readonly codes: CodeStore;
  readonly refreshTokens: RefreshTokenStore;
  readonly keys: KeyStore;
  readonly rateLimits: RateLimitStore;
  readonly audit: AuditStore;
  readonly logoutDeliveries: LogoutDeliveryStore;
  readonly #db: Db;
  readonly #beforeClose: (() => Promise<void>) | undefined;

  /** `beforeClose` runs before the connection is closed (a SQLite store stops its checkpointer). */
  constructor(db: Db, kind: Kind, options: { beforeClose?: () => Promise<void> } = {}) {
    this.#db = db;
    this.kind = kind;
    this.#beforeClose = options.beforeClose;
    this.clients = new SqlClientStore(db, kind);
    this.users = new SqlUserStore(db);
    this.organizations = new SqlOrganizationStore(db);
    this.memberships = new SqlMembershipStore(db);
    this.roles = new SqlRoleStore(db);
    this.sessions = new SqlSessionStore(db);
    this.interactions = new SqlInteractionStore(db);
    this.grants = new SqlGrantStore(db);
    this.codes = new SqlCodeStore(db);
    this.refreshTokens = new SqlRefreshTokenStore(db);
    this.keys = new SqlKeyStore(db, kind);
    this.rateLimits = new SqlRateLimitStore(db);
    this.audit = new SqlAuditStore(db);
    this.logoutDeliveries = new SqlLogoutDeliveryStore(db, kind);
  }

  transaction<T>(work: (store: Store) => Promise<T>): Promise<T> {
    // Already in one: a nested BEGIN would fail on both databases, and savepoints are not needed.
    if (this.#db.isTransaction) return work(this);
    return this.#db.transaction().execute((trx) => work(new KyselyStore(trx, this.kind)));
  }

  async sweep(now: Date, batchSize: number): Promise<SweepReport> {
    if (!Number.isSafeInteger(batchSize) || batchSize < 1) {
      throw new TypeError(`sweep batchSize must be a positive integer, got ${batchSize}`);
    }
    const db = this.#db;
    const t = now.getTime();
    const cutoff = t - sessionRetentionMs;
    const deleted = (result: { numDeletedRows: bigint }) => Number(result.numDeletedRows);

    // Each kind deletes `IN (SELECT ... LIMIT n)`: both databases accept it, neither has a
    // portable `DELETE ... LIMIT`. Tokens go before grants so emptied grants are swept at once.
    const codes = await db
      .deleteFrom('authorization_codes')
      .where(
        'code_hash',
        'in',
        db
          .selectFrom('authorization_codes')
          .select('code_hash')
          .where('expires_at', '<=', t)
          .limit(batchSize),
      )
      .executeTakeFirstOrThrow();
    const interactions = await db
      .deleteFrom('interactions')
      .where(
        'id',
        'in',
        db.selectFrom('interactions').select('id').where('expires_at', '<=', t).limit(batchSize),
      )
      .executeTakeFirstOrThrow();
    const refreshTokens = await db
      .deleteFrom('refresh_tokens')
      .where(
        'id',
        'in',
        db.selectFrom('refresh_tokens').select('id').where('expires_at', '<=', t).limit(batchSize),
      )
      .executeTakeFirstOrThrow();
    const grants = await db
      .deleteFrom('grants')
      .where(
        'id',
        'in',
        db
          .selectFrom('grants as g')
          .select('g.id')
          .where('g.expires_at', '<=', t)
          .where(({ exists, not, selectFrom }) =>
            not(exists(selectFrom('refresh_tokens as r').select('r.id').whereRef('r.grant_id', '=', 'g.id'))),
          )
          .limit(batchSize),
      )
      .executeTakeFirstOrThrow();
    const rateLimits = await db
      .deleteFrom('rate_limits')
      .where(({ eb, refTuple }) =>
        eb(
          refTuple('key', 'window_start'),
          'in',
          db
            .selectFrom('rate_limits')
            .select(['key', 'window_start'])
            .where('expires_at', '<=', t)
            .limit(batchSize)
            .$asTuple('key', 'window_start'),
        ),
      )
      .executeTakeFirstOrThrow();
    const sessions = await db
      .deleteFrom('sessions')
      .where(
        'id',
        'in',
        db
          .selectFrom('sessions')
          .select('id')
          .where((eb) => eb.or([eb('ended_at', '<=', cutoff), eb('absolute_expires_at', '<=', cutoff)]))
          .limit(batchSize),
      )
      .executeTakeFirstOrThrow();
    const keys = await db
      .deleteFrom('signing_keys')
      .where(
        'id',
        'in',
        db.selectFrom('signing_keys').select('id').where('expires_at', '<=', t).limit(batchSize),
      )
      .executeTakeFirstOrThrow();

    const logoutDeliveries = await db
      .deleteFrom('logout_deliveries')
      .where(
        'id',
        'in',
        db
          .selectFrom('logout_deliveries')
          .select('id')
          .where('status', '!=', 'pending')
          .where('created_at', '<=', t - deliveryRetentionMs)
          .limit(batchSize),
      )
      .executeTakeFirstOrThrow();

    // A rotated token keeps its row (reuse detection needs it) but not the sealed successor
    // response once the grace window is long past: it is the bulk of the row.
    const sealedResponses = await db
      .updateTable('refresh_tokens')
      .set({ successor_sealed: null })
      .where(
        'id',
        'in',
        db
          .selectFrom('refresh_tokens')
          .select('id')
          .where('rotated_at', '<=', t - sealedSuccessorRetentionMs)
          .where('successor_sealed', 'is not', null)
          .limit(batchSize),
      )
      .executeTakeFirstOrThrow();

    return {
      sealedResponses: Number(sealedResponses.numUpdatedRows),
      logoutDeliveries: deleted(logoutDeliveries),
      codes: deleted(codes),
      interactions: deleted(interactions),
      refreshTokens: deleted(refreshTokens),
      grants: deleted(grants),
      rateLimits: deleted(rateLimits),
      sessions: deleted(sessions),
      keys: deleted(keys),
    };
  }

  async migrate(): Promise<void> {
    const migrator = new Migrator({ db: this.#db, provider: migrationProvider });
    const { error, results } = await migrator.migrateToLatest();
    if (error === undefined) return;
    const failed = results?.find((r) => r.status === 'Error')?.migrationName;
    const reason = error instanceof Error ? error.message : String(error);
    throw new Error(`${this.kind} migration ${failed ?? '(before any migration ran)'} failed: ${reason}`, {
      cause: error,
    });
  }

  async ping(): Promise<void> {
    await sql`select 1`.execute(this.#db);
  }

  async close(): Promise<void> {
    await this.#beforeClose?.();
    await this.#db.destroy();
  }
}

class SqlClientStore implements ClientStore {
  readonly #db: Db;
  readonly #kind: Kind;

  constructor(db: Db, kind: Kind) {
    this.#db = db;
    this.#kind = kind;
  }

  async insert(client: Client): Promise<void> {
    await this.#db.insertInto('clients').values(clientToRow(client)).execute();
  }

  async get(id: string): Promise<Client | null> {
    const [row] = (await hot.client.run(this.#db, { id })).rows;
    return row ? clientFromRow(row) : null;
  }

  async list(): Promise<Client[]> {
    const rows = await this.#db.selectFrom('clients').selectAll().orderBy('id').execute();
    return rows.map(clientFromRow);
  }

  async update(
    id: string,
    patch: Partial<Omit<Client, 'id' | 'type' | 'createdAt'>>,
  ): Promise<Client | null> {
    const set = definedColumns({
      ...clientToRow(patch),
      id: undefined,
      type: undefined,
      created_at: undefined,
    });
    if (Object.keys(set).length === 0) return this.get(id);
    const row = await this.#db
      .updateTable('clients')
      .set(set)
      .where('id', '=', id)
      .returningAll()
      .executeTakeFirst();
    return row ? clientFromRow(row) : null;
  }

  async delete(id: string): Promise<boolean> {
    return changed(await this.#db.deleteFrom('clients').where('id', '=', id).executeTakeFirst());
  }

  async insertSecret(secret: ClientSecret): Promise<void> {
    await atomic(this.#db, async (db) => {
      // SQLite transactions are serial already; PostgreSQL needs the client row locked so two
      // concurrent inserts cannot both see one active secret.
      if (this.#kind === 'postgres') {
        await db.selectFrom('clients').select('id').where('id', '=', secret.clientId).forUpdate().execute();
      }
      const active = await countRows(
        db
          .selectFrom('client_secrets')
          .select((eb) => eb.fn.countAll<number | string | bigint>().as('n'))
          .where('client_id', '=', secret.clientId)
          .where((eb) =>
            eb.or([eb('expires_at', 'is', null), eb('expires_at', '>', secret.createdAt.getTime())]),
          ),
      );
      if (active >= maxActiveSecrets) throw new TooManySecretsError(secret.clientId);
      await db.insertInto('client_secrets').values(clientSecretToRow(secret)).execute();
    });
  }

  async getWithActiveSecrets(
    id: string,
    now: Date,
  ): Promise<{ client: Client; secrets: ClientSecret[] } | null> {
    const { rows } = await hot.clientWithActiveSecrets.run(this.#db, { id, now: now.getTime() });
    const [first] = rows;
    if (!first) return null;
    const secrets: ClientSecret[] = [];
    for (const row of rows) {
      if (row.secret_id === null || row.secret_hash === null) continue;
      secrets.push(
        clientSecretFromRow({
          id: row.secret_id,
          client_id: row.id,
          secret_hash: row.secret_hash,
          hint: row.secret_hint ?? '',
          created_at: row.secret_created_at ?? 0,
          expires_at: row.secret_expires_at,
        }),
      );
    }
    secrets.sort((a, b) => b.createdAt.getTime() - a.createdAt.getTime() || (a.id < b.id ? 1 : -1));
    return { client: clientFromRow(first), secrets };
  }

  async activeSecrets(clientId: string, now: Date): Promise<ClientSecret[]> {
    const { rows } = await hot.activeSecrets.run(this.#db, { clientId, now: now.getTime() });
    return rows.map(clientSecretFromRow);
  }

  async deleteSecret(clientId: string, secretId: string): Promise<boolean> {
    const result = await this.#db
      .deleteFrom('client_secrets')
      .where('id', '=', secretId)
      .where('client_id', '=', clientId)
      .executeTakeFirst();
    return changed(result);
  }

  async expireSecret(clientId: string, secretId: string, expiresAt: Date): Promise<boolean> {
    const result = await this.#db
      .updateTable('client_secrets')
      .set({ expires_at: expiresAt.getTime() })
      .where('id', '=', secretId)
      .where('client_id', '=', clientId)
      .executeTakeFirst();
    return changed(result);
  }
}

class SqlUserStore implements UserStore {
  readonly #db: Db;

  constructor(db: Db) {
    this.#db = db;
  }

  async insert(user: User): Promise<void> {
    await translateUniqueViolation(userUniqueFields, () =>
      this.#db.insertInto('users').values(userToRow(user)).execute(),
    );
  }

  async get(id: string): Promise<User | null> {
    const [row] = (await hot.user.run(this.#db, { id })).rows;
    return row ? userFromRow(row) : null;
  }

  async getByEmail(email: string): Promise<User | null> {
    const row = await this.#db.selectFrom('users').selectAll().where('email', '=', email).executeTakeFirst();
    return row ? userFromRow(row) : null;
  }

  async getByExternalId(externalId: string): Promise<User | null> {
    const row = await this.#db
      .selectFrom('users')
      .selectAll()
      .where('external_id', '=', externalId)
      .executeTakeFirst();
    return row ? userFromRow(row) : null;
  }

  async list(
    page: PageRequest,
    filter: { query?: string; organizationId?: string } = {},
  ): Promise<Page<User>> {
    const { query, organizationId } = filter;
    const matches = (eb: ExpressionBuilder<Database, 'users'>) => {
      const conditions: Expression<SqlBool>[] = [];
      if (query) {
        conditions.push(
          eb.or([
            containsIgnoringCase(eb.ref('users.email'), query),
            containsIgnoringCase(eb.ref('users.name'), query),
          ]),
        );
      }
      if (organizationId) {
        conditions.push(
          eb(
            'users.id',
            'in',
            eb
              .selectFrom('memberships')
              .select('memberships.user_id')
              .where('memberships.organization_id', '=', organizationId),
          ),
        );
      }
      return eb.and(conditions);
    };
    return keysetPage(
      page,
      async (after, limit) => {
        const rows = await this.#db
          .selectFrom('users')
          .selectAll()
          .where(matches)
          .$if(after !== null, (qb) => qb.where('id', '>', after ?? ''))
          .orderBy('id')
          .limit(limit)
          .execute();
        return rows.map(userFromRow);
      },
      () =>
        countRows(
          this.#db
            .selectFrom('users')
            .select((eb) => eb.fn.countAll<number | string | bigint>().as('n'))
            .where(matches),
        ),
    );
  }

  async update(id: string, patch: Partial<Omit<User, 'id' | 'createdAt'>>): Promise<User | null> {
    const set = definedColumns({ ...userToRow(patch), id: undefined, created_at: undefined });
    if (Object.keys(set).length === 0) return this.get(id);
    const row = await translateUniqueViolation(userUniqueFields, () =>
      this.#db.updateTable('users').set(set).where('id', '=', id).returningAll().executeTakeFirst(),
    );
    return row ? userFromRow(row) : null;
  }

  async delete(id: string): Promise<boolean> {
    return changed(await this.#db.deleteFrom('users').where('id', '=', id).executeTakeFirst());
  }
}

class SqlOrganizationStore implements OrganizationStore {
  readonly #db: Db;

  constructor(db: Db) {
    this.#db = db;
  }

  async insert(org: Organization): Promise<void> {
    await translateUniqueViolation(organizationUniqueFields, () =>
      this.#db.insertInto('organizations').values(organizationToRow(org)).execute(),
    );
  }

  async get(id: string): Promise<Organization | null> {
    const [row] = (await hot.organization.run(this.#db, { id })).rows;
    return row ? organizationFromRow(row) : null;
  }

  async getByExternalId(externalId: string): Promise<Organization | null> {
    const row = await this.#db
      .selectFrom('organizations')
      .selectAll()
      .where('external_id', '=', externalId)
      .executeTakeFirst();
    return row ? organizationFromRow(row) : null;
  }

  async list(page: PageRequest, filter: { query?: string } = {}): Promise<Page<Organization>> {
    const { query } = filter;
    const matches = (eb: ExpressionBuilder<Database, 'organizations'>) =>
      eb.and(query ? [containsIgnoringCase(eb.ref('organizations.name'), query)] : []);
    return keysetPage(
      page,
      async (after, limit) => {
        const rows = await this.#db
          .selectFrom('organizations')
          .selectAll()
          .where(matches)
          .$if(after !== null, (qb) => qb.where('id', '>', after ?? ''))
          .orderBy('id')
          .limit(limit)
          .execute();
        return rows.map(organizationFromRow);
      },
      () =>
        countRows(
          this.#db
            .selectFrom('organizations')
            .select((eb) => eb.fn.countAll<number | string | bigint>().as('n'))
            .where(matches),
        ),
    );
  }

  async update(
    id: string,
    patch: Partial<Omit<Organization, 'id' | 'createdAt'>>,
  ): Promise<Organization | null> {
    const set = definedColumns({ ...organizationToRow(patch), id: undefined, created_at: undefined });
    if (Object.keys(set).length === 0) return this.get(id);
    const row = await translateUniqueViolation(organizationUniqueFields, () =>
      this.#db.updateTable('organizations').set(set).where('id', '=', id).returningAll().executeTakeFirst(),
    );
    return row ? organizationFromRow(row) : null;
  }

  async delete(id: string): Promise<boolean> {
    return changed(await this.#db.deleteFrom('organizations').where('id', '=', id).executeTakeFirst());
  }
}

class SqlMembershipStore implements MembershipStore {
  readonly #db: Db;

  constructor(db: Db) {
    this.#db = db;
  }

  async insert(membership: Membership): Promise<void> {
    await translateUniqueViolation(membershipUniqueFields, () =>
      this.#db.insertInto('memberships').values(membershipToRow(membership)).execute(),
    );
  }

  async get(organizationId: string, userId: string): Promise<Membership | null> {
    const row = await this.#db
      .selectFrom('memberships')
      .selectAll()
      .where('organization_id', '=', organizationId)
      .where('user_id', '=', userId)
      .executeTakeFirst();
    return row ? membershipFromRow(row) : null;
  }

  async listForUser(userId: string): Promise<Membership[]> {
    const rows = await this.#db
      .selectFrom('memberships')
      .selectAll()
      .where('user_id', '=', userId)
      .orderBy('created_at')
      .orderBy('organization_id')
      .execute();
    return rows.map(membershipFromRow);
  }

  async update(
    organizationId: string,
    userId: string,
    roles: string[],
    now: Date,
  ): Promise<Membership | null> {
    const row = await this.#db
      .updateTable('memberships')
      .set({ roles: JSON.stringify(roles), updated_at: now.getTime() })
      .where('organization_id', '=', organizationId)
      .where('user_id', '=', userId)
      .returningAll()
      .executeTakeFirst();
    return row ? membershipFromRow(row) : null;
  }

  async listWithRole(roleName: string, organizationId?: string): Promise<Membership[]> {
    // Roles are a JSON array of names: the substring narrows the scan, the parsed list decides.
    const rows = await this.#db
      .selectFrom('memberships')
      .selectAll()
      .where((eb) => containsIgnoringCase(eb.ref('roles'), JSON.stringify(roleName)))
      .$if(organizationId !== undefined, (qb) => qb.where('organization_id', '=', organizationId ?? ''))
      .orderBy('organization_id')
      .orderBy('user_id')
      .execute();
    return rows.map(membershipFromRow).filter((m) => m.roles.includes(roleName));
  }

  async delete(organizationId: string, userId: string): Promise<boolean> {
    const result = await this.#db
      .deleteFrom('memberships')
      .where('organization_id', '=', organizationId)
      .where('user_id', '=', userId)
      .executeTakeFirst();
    return changed(result);
  }
}

class SqlRoleStore implements RoleStore {
  readonly #db: Db;

  constructor(db: Db) {
    this.#db = db;
  }

  /**
   * Permission names must exist in `permissions`: the foreign key rejects unknown ones, and deleting
   * a permission removes it from every role.
   */
  async insert(role: Role): Promise<void> {
    await translateUniqueViolation(roleUniqueFields, () =>
      atomic(this.#db, async (db) => {
        await db.insertInto('roles').values(roleToRow(role)).execute();
        await insertRolePermissions(db, role.id, role.permissions);
      }),
    );
  }

  async getByName(name: string, organizationId: string | null = null): Promise<Role | null> {
    const rows = await this.#db
      .selectFrom('roles')
      .selectAll()
      .where('name', '=', name)
      .where((eb) =>
        organizationId === null
          ? eb('organization_id', 'is', null)
          : eb.or([eb('organization_id', '=', organizationId), eb('organization_id', 'is', null)]),
      )
      .execute();
    // An organization's own role shadows the environment role of the same name.
    const row = rows.find((r) => r.organization_id !== null) ?? rows[0];
    return row ? (await this.#withPermissions([row]))[0]! : null;
  }

  /**
   * `undefined` lists every role, `null` the environment roles, an organization id the roles
   * usable in it (its own and the environment's), ordered by id.
   */
  async list(organizationId?: string | null): Promise<Role[]> {
    const rows = await this.#db
      .selectFrom('roles')
      .selectAll()
      .$if(organizationId === null, (qb) => qb.where('organization_id', 'is', null))
      .$if(typeof organizationId === 'string', (qb) =>
        qb.where((eb) =>
          eb.or([eb('organization_id', '=', organizationId ?? ''), eb('organization_id', 'is', null)]),
        ),
      )
      .orderBy('id')
      .execute();
    return this.#withPermissions(rows);
  }

  async update(
    id: string,
    patch: Partial<Omit<Role, 'id' | 'createdAt' | 'organizationId'>>,
  ): Promise<Role | null> {
    const { permissions } = patch;
    const set = definedColumns({
      ...roleToRow(patch),
      id: undefined,
      created_at: undefined,
      organization_id: undefined,
    });
    return translateUniqueViolation(roleUniqueFields, () =>
      atomic(this.#db, async (db) => {
        const row =
          Object.keys(set).length === 0
            ? await db.selectFrom('roles').selectAll().where('id', '=', id).executeTakeFirst()
            : await db.updateTable('roles').set(set).where('id', '=', id).returningAll().executeTakeFirst();
        if (!row) return null;
        if (permissions !== undefined) {
          await db.deleteFrom('role_permissions').where('role_id', '=', id).execute();
          await insertRolePermissions(db, id, permissions);
        }
        return (await this.#withPermissions([row], db))[0]!;
      }),
    );
  }

  async delete(id: string): Promise<boolean> {
    return changed(await this.#db.deleteFrom('roles').where('id', '=', id).executeTakeFirst());
  }

  async insertPermission(permission: Permission): Promise<void> {
    await translateUniqueViolation(permissionUniqueFields, () =>
      this.#db.insertInto('permissions').values(permissionToRow(permission)).execute(),
    );
  }

  async getPermission(name: string): Promise<Permission | null> {
    const row = await this.#db
      .selectFrom('permissions')
      .selectAll()
      .where('name', '=', name)
      .executeTakeFirst();
    return row ? permissionFromRow(row) : null;
  }

  async listPermissions(): Promise<Permission[]> {
    const rows = await this.#db.selectFrom('permissions').selectAll().orderBy('name').execute();
    return rows.map(permissionFromRow);
  }

  async updatePermission(
    name: string,
    patch: { description: string; updatedAt: Date },
  ): Promise<Permission | null> {
    const row = await this.#db
      .updateTable('permissions')
      .set({ description: patch.description, updated_at: patch.updatedAt.getTime() })
      .where('name', '=', name)
      .returningAll()
      .executeTakeFirst();
    return row ? permissionFromRow(row) : null;
  }

  async deletePermission(name: string): Promise<boolean> {
    return changed(await this.#db.deleteFrom('permissions').where('name', '=', name).executeTakeFirst());
  }

  /**
   * Two queries: the membership's role names, then those roles (organization and environment) with
   * their permissions. Names that no longer resolve to a role grant nothing and are left out.
   */
  async entitlements(
    userId: string,
    organizationId: string,
  ): Promise<{ roles: string[]; permissions: string[] }> {
    const [membership] = (await hot.membershipRoles.run(this.#db, { organizationId, userId })).rows;
    return this.resolveEntitlements(membership ? JSON.parse(membership.roles) : [], organizationId);
  }

  async resolveEntitlements(
    roleNames: readonly string[],
    organizationId: string,
  ): Promise<{ roles: string[]; permissions: string[] }> {
    const names = [...new Set(roleNames)];
    if (names.length === 0) return { roles: [], permissions: [] };

    const { rows } = await rolesNamedTemplate(names.length).run(this.#db, {
      organizationId,
      ...Object.fromEntries(names.map((name, i) => [`name${i}`, name])),
    });
    const resolved = new Map<string, string>();
    for (const row of rows) {
      if (!resolved.has(row.name) || row.organization_id !== null) resolved.set(row.name, row.id);
    }
    const chosen = new Set(resolved.values());
    const permissions = new Set<string>();
    for (const row of rows) {
      if (chosen.has(row.id) && row.permission_name !== null) permissions.add(row.permission_name);
    }
    return { roles: names.filter((name) => resolved.has(name)), permissions: [...permissions].sort() };
  }

  async #withPermissions(rows: Array<Parameters<typeof roleFromRow>[0]>, db: Db = this.#db): Promise<Role[]> {
    if (rows.length === 0) return [];
    const links = await db
      .selectFrom('role_permissions')
      .select(['role_id', 'permission_name'])
      .where(
        'role_id',
        'in',
        rows.map((r) => r.id),
      )
      .orderBy('permission_name')
      .execute();
    const byRole = groupBy(
      links,
      (l) => l.role_id,
      (l) => l.permission_name,
    );
    return rows.map((row) => roleFromRow(row, byRole.get(row.id) ?? []));
  }
}

async function insertRolePermissions(db: Db, roleId: string, permissions: string[]): Promise<void> {
  const unique = [...new Set(permissions)];
  if (unique.length === 0) return;
  await db
    .insertInto('role_permissions')
    .values(unique.map((permission_name) => ({ role_id: roleId, permission_name })))
    .execute();
}

function groupBy<T>(items: T[], key: (item: T) => string, value: (item: T) => string): Map<string, string[]> {
  const groups = new Map<string, string[]>();
  for (const item of items) {
    const k = key(item);
    const group = groups.get(k);
    if (group) group.push(value(item));
    else groups.set(k, [value(item)]);
  }
  return groups;
}

type SessionRow = Parameters<typeof sessionFromRow>[0];

class SqlSessionStore implements SessionStore {
  readonly #db: Db;

  constructor(db: Db) {
    this.#db = db;
  }

  async insert(session: Session): Promise<void> {
    await atomic(this.#db, async (db) => {
      await db.insertInto('sessions').values(sessionToRow(session)).execute();
      const clientIds = [...new Set(session.clientIds)];
      if (clientIds.length > 0) {
        await db
          .insertInto('session_clients')
          .values(clientIds.map((client_id) => ({ session_id: session.id, client_id })))
          .execute();
      }
    });
  }

  async get(id: string): Promise<Session | null> {
    const [row] = (await hot.session.run(this.#db, { id })).rows;
    if (!row) return null;
    const { rows: links } = await hot.sessionClients.run(this.#db, { sessionId: id });
    return sessionFromRow(
      row,
      links.map((link) => link.client_id),
    );
  }

  async getByTokenHash(tokenHash: string): Promise<Session | null> {
    const row = await this.#db
      .selectFrom('sessions')
      .selectAll()
      .where('token_hash', '=', tokenHash)
      .where('ended_at', 'is', null)
      .executeTakeFirst();
    return row ? this.#one(row) : null;
  }

  async touch(id: string, lastActiveAt: Date, idleExpiresAt: Date): Promise<void> {
    await hot.touchSession.run(this.#db, {
      id,
      lastActiveAt: lastActiveAt.getTime(),
      idleExpiresAt: idleExpiresAt.getTime(),
    });
  }

  async reauthenticate(
    id: string,
    change: { tokenHash: string; authTime: Date; amr: string[]; lastActiveAt: Date; idleExpiresAt: Date },
  ): Promise<void> {
    await this.#db
      .updateTable('sessions')
      .set({
        token_hash: change.tokenHash,
        auth_time: change.authTime.getTime(),
        amr: JSON.stringify(change.amr),
        last_active_at: change.lastActiveAt.getTime(),
        idle_expires_at: change.idleExpiresAt.getTime(),
      })
      .where('id', '=', id)
      .execute();
  }

  async setOrganization(id: string, organizationId: string | null): Promise<void> {
    await this.#db
      .updateTable('sessions')
      .set({ organization_id: organizationId })
      .where('id', '=', id)
      .execute();
  }

  async addClient(sessionId: string, clientId: string): Promise<void> {
    await hot.addSessionClient.run(this.#db, { sessionId, clientId });
  }

  async end(id: string, reason: SessionEndReason, now: Date): Promise<Session | null> {
    const t = now.getTime();
    return atomic(this.#db, async (db) => {
      const row = await db
        .updateTable('sessions')
        .set({ ended_at: t, end_reason: reason })
        .where('id', '=', id)
        .where('ended_at', 'is', null)
        .returningAll()
        .executeTakeFirst();
      if (!row) return null;
      await db
        .updateTable('grants')
        .set({ revoked_at: t })
        .where('session_id', '=', id)
        .where('revoked_at', 'is', null)
        .execute();
      await db
        .updateTable('refresh_tokens')
        .set({ revoked_at: t })
        .where('session_id', '=', id)
        .where('revoked_at', 'is', null)
        .execute();
      // The outbox row is written with the session's end, so a crash cannot lose the notice.
      const receivers = await db
        .selectFrom('session_clients as sc')
        .innerJoin('clients as c', 'c.id', 'sc.client_id')
        .select(['c.id', 'c.backchannel_logout_uri'])
        .where('sc.session_id', '=', id)
        .where('c.backchannel_logout_uri', 'is not', null)
        .orderBy('c.id')
        .execute();
      if (receivers.length > 0) {
        await db
          .insertInto('logout_deliveries')
          .values(
            receivers.map((r) =>
              logoutDeliveryToRow({
                id: newId('evt'),
                sessionId: id,
                userId: row.user_id,
                clientId: r.id,
                uri: r.backchannel_logout_uri as string,
                status: 'pending',
                attempts: 0,
                nextAttemptAt: now,
                lockedUntil: null,
                lastError: null,
                lastStatusCode: null,
                createdAt: now,
                giveUpAt: new Date(t + logoutDeliveryRetryWindowMs),
                deliveredAt: null,
              }),
            ),
          )
          .execute();
      }
      return (await this.#withClients([row], db))[0]!;
    });
  }

  async listForUser(
    userId: string,
    page: PageRequest,
    options: { activeOnly?: boolean; now?: Date } = {},
  ): Promise<Page<Session>> {
    const { activeOnly = false, now } = options;
    return this.#page(page, (eb) =>
      eb.and([
        eb('user_id', '=', userId),
        ...(activeOnly ? [eb('ended_at', 'is', null)] : []),
        ...(activeOnly && now ? [notExpired(eb, now)] : []),
      ]),
    );
  }

  async listActive(now: Date, page: PageRequest): Promise<Page<Session>> {
    return this.#page(page, (eb) => eb.and([eb('ended_at', 'is', null), notExpired(eb, now)]));
  }

  async listExpired(now: Date, limit: number): Promise<Session[]> {
    const t = now.getTime();
    const rows = await this.#db
      .selectFrom('sessions')
      .selectAll()
      .where('ended_at', 'is', null)
      .where((eb) => eb.or([eb('idle_expires_at', '<=', t), eb('absolute_expires_at', '<=', t)]))
      .orderBy('id')
      .limit(limit)
      .execute();
    return this.#withClients(rows);
  }

  #page(
    page: PageRequest,
    matches: (eb: ExpressionBuilder<Database, 'sessions'>) => Expression<SqlBool>,
  ): Promise<Page<Session>> {
    return keysetPage(
      page,
      async (after, limit) => {
        const rows = await this.#db
          .selectFrom('sessions')
          .selectAll()
          .where(matches)
          .$if(after !== null, (qb) => qb.where('id', '>', after ?? ''))
          .orderBy('id')
          .limit(limit)
          .execute();
        return this.#withClients(rows);
      },
      () =>
        countRows(
          this.#db
            .selectFrom('sessions')
            .select((eb) => eb.fn.countAll<number | string | bigint>().as('n'))
            .where(matches),
        ),
    );
  }

  async #one(row: SessionRow): Promise<Session> {
    return (await this.#withClients([row]))[0]!;
  }

  async #withClients(rows: SessionRow[], db: Db = this.#db): Promise<Session[]> {
    if (rows.length === 0) return [];
    const links = await db
      .selectFrom('session_clients')
      .select(['session_id', 'client_id'])
      .where(
        'session_id',
        'in',
        rows.map((r) => r.id),
      )
      .orderBy('client_id')
      .execute();
    const bySession = groupBy(
      links,
      (l) => l.session_id,
      (l) => l.client_id,
    );
    return rows.map((row) => sessionFromRow(row, bySession.get(row.id) ?? []));
  }
}

function notExpired(eb: ExpressionBuilder<Database, 'sessions'>, now: Date): Expression<SqlBool> {
  return eb.and([eb('idle_expires_at', '>', now.getTime()), eb('absolute_expires_at', '>', now.getTime())]);
}

class SqlInteractionStore implements InteractionStore {
  readonly #db: Db;

  constructor(db: Db) {
    this.#db = db;
  }

  async insert(interaction: Interaction): Promise<void> {
    await this.#db.insertInto('interactions').values(interactionToRow(interaction)).execute();
  }

  async get(id: string): Promise<Interaction | null> {
    const row = await this.#db.selectFrom('interactions').selectAll().where('id', '=', id).executeTakeFirst();
    return row ? interactionFromRow(row) : null;
  }

  async setUser(id: string, userId: string, sessionId: string): Promise<void> {
    await this.#db
      .updateTable('interactions')
      .set({ user_id: userId, session_id: sessionId })
      .where('id', '=', id)
      .execute();
  }

  async complete(id: string, now: Date): Promise<boolean> {
    const result = await this.#db
      .updateTable('interactions')
      .set({ completed_at: now.getTime() })
      .where('id', '=', id)
      .where('completed_at', 'is', null)
      .executeTakeFirst();
    return changed(result);
  }
}

class SqlGrantStore implements GrantStore {
  readonly #db: Db;

  constructor(db: Db) {
    this.#db = db;
  }

  async insert(grant: Grant): Promise<void> {
    await this.#db.insertInto('grants').values(grantToRow(grant)).execute();
  }

  async get(id: string): Promise<Grant | null> {
    const [row] = (await hot.grant.run(this.#db, { id })).rows;
    return row ? grantFromRow(row) : null;
  }

  async getWithContext(
    id: string,
    named: { sessionId: string; userId: string; organizationId: string | null; clientId: string },
  ): Promise<GrantContext | null> {
    const [found] = (await hot.grantWithContext.run(this.#db, { id, ...named })).rows;
    if (!found) return null;
    const row = found as unknown as Record<string, unknown>;
    const joined = joinedRows(row);
    const hasClient = row['session_has_client'];
    return {
      grant: grantFromRow(found as Selectable<GrantsTable>),
      ...joined,
      // SQLite answers EXISTS with 0 or 1, PostgreSQL with a boolean.
      sessionHasClient: hasClient === true || hasClient === 1,
    };
  }

  async revoke(id: string, now: Date): Promise<boolean> {
    const t = now.getTime();
    return atomic(this.#db, async (db) => {
      const result = await db
        .updateTable('grants')
        .set({ revoked_at: t })
        .where('id', '=', id)
        .where('revoked_at', 'is', null)
        .executeTakeFirst();
      if (!changed(result)) return false;
      await db
        .updateTable('refresh_tokens')
        .set({ revoked_at: t })
        .where('grant_id', '=', id)
        .where('revoked_at', 'is', null)
        .execute();
      return true;
    });
  }
}

class SqlCodeStore implements CodeStore {
  readonly #db: Db;

  constructor(db: Db) {
    this.#db = db;
  }

  async insert(code: AuthorizationCode): Promise<void> {
    await this.#db.insertInto('authorization_codes').values(authorizationCodeToRow(code)).execute();
  }

  /**
   * The conditional UPDATE is the single-use guarantee: of two concurrent redemptions exactly one
   * changes the row. Expired codes are returned all the same; the token endpoint checks expiry.
   */
  async consume(codeHash: string, now: Date): Promise<{ code: AuthorizationCode; replayed: boolean } | null> {
    const [consumed] = (await hot.consumeCode.run(this.#db, { codeHash, now: now.getTime() })).rows;
    if (consumed) return { code: authorizationCodeFromRow(consumed), replayed: false };
    const [earlier] = (await hot.code.run(this.#db, { codeHash })).rows;
    return earlier ? { code: authorizationCodeFromRow(earlier), replayed: true } : null;
  }
}

class SqlRefreshTokenStore implements RefreshTokenStore {
  readonly #db: Db;

  constructor(db: Db) {
    this.#db = db;
  }

  async insert(token: RefreshToken): Promise<void> {
    await this.#db.insertInto('refresh_tokens').values(refreshTokenToRow(token)).execute();
  }

  async getByHash(tokenHash: string): Promise<RefreshToken | null> {
    const [row] = (await hot.refreshToken.run(this.#db, { tokenHash })).rows;
    return row ? refreshTokenFromRow(row) : null;
  }

  async getWithContext(tokenHash: string): Promise<RefreshTokenContext | null> {
    const [found] = (await hot.refreshTokenWithContext.run(this.#db, { tokenHash })).rows;
    if (!found) return null;
    const row = found as unknown as Record<string, unknown>;
    return { token: refreshTokenFromRow(found as Selectable<RefreshTokensTable>), ...joinedRows(row) };
  }

  async rotate(
    currentId: string,
    successor: RefreshToken,
    successorSealed: string | null,
    now: Date,
    slide?: { sessionId: string; idleExpiresAt: Date },
  ): Promise<boolean> {
    return atomic(this.#db, async (db) => {
      const result = await hot.markRotated.run(db, { id: currentId, now: now.getTime(), successorSealed });
      if (!result.numAffectedRows) return false;
      await hot.insertRefreshToken.run(db, refreshTokenToRow(successor));
      if (slide) {
        await hot.touchSession.run(db, {
          id: slide.sessionId,
          lastActiveAt: now.getTime(),
          idleExpiresAt: slide.idleExpiresAt.getTime(),
        });
      }
      return true;
    });
  }

  async revoke(id: string, now: Date): Promise<boolean> {
    const result = await this.#db
      .updateTable('refresh_tokens')
      .set({ revoked_at: now.getTime() })
      .where('id', '=', id)
      .where('revoked_at', 'is', null)
      .executeTakeFirst();
    return changed(result);
  }
}

/** PostgreSQL advisory lock taken while a first signing key is created (any constant of our own). */
const firstSigningKeyLockId = 0x5e5a_3e01;

class SqlKeyStore implements KeyStore {
  readonly #db: Db;
  readonly #kind: Kind;

  constructor(db: Db, kind: Kind) {
    this.#db = db;
    this.#kind = kind;
  }

  async list(): Promise<SigningKey[]> {
    const rows = await this.#db
      .selectFrom('signing_keys')
      .selectAll()
      .orderBy('activates_at')
      .orderBy('id')
      .execute();
    return rows.map(signingKeyFromRow);
  }

  async insert(key: SigningKey): Promise<void> {
    await this.#db.insertInto('signing_keys').values(signingKeyToRow(key)).execute();
  }

  async insertFirst(key: SigningKey, now: Date): Promise<boolean> {
    const t = now.getTime();
    return atomic(this.#db, async (db) => {
      // Read committed lets two transactions both find no key; the lock makes the second one wait
      // for the first and then see its key. SQLite runs one write transaction at a time already.
      if (this.#kind === 'postgres')
        await sql`select pg_advisory_xact_lock(${firstSigningKeyLockId})`.execute(db);
      const signing = await db
        .selectFrom('signing_keys')
        .select('id')
        .where('activates_at', '<=', t)
        .where((eb) => eb.or([eb('retires_at', 'is', null), eb('retires_at', '>', t)]))
        .where((eb) => eb.or([eb('expires_at', 'is', null), eb('expires_at', '>', t)]))
        .limit(1)
        .executeTakeFirst();
      if (signing) return false;
      await db.insertInto('signing_keys').values(signingKeyToRow(key)).execute();
      return true;
    });
  }

  async update(id: string, patch: { retiresAt?: Date | null; expiresAt?: Date | null }): Promise<void> {
    const set = definedColumns(signingKeyToRow({ retiresAt: patch.retiresAt, expiresAt: patch.expiresAt }));
    if (Object.keys(set).length === 0) return;
    await this.#db.updateTable('signing_keys').set(set).where('id', '=', id).execute();
  }
}

class SqlRateLimitStore implements RateLimitStore {
  readonly #db: Db;

  constructor(db: Db) {
    this.#db = db;
  }

  async hit(key: string, windowStart: Date, expiresAt: Date): Promise<number> {
    // One statement, so concurrent hits cannot lose a count; the table name qualifies `count`
    // because PostgreSQL's DO UPDATE also sees the proposed row (`excluded`).
    const row = await this.#db
      .insertInto('rate_limits')
      .values({ key, window_start: windowStart.getTime(), count: 1, expires_at: expiresAt.getTime() })
      .onConflict((oc) =>
        oc.columns(['key', 'window_start']).doUpdateSet((eb) => ({ count: eb('rate_limits.count', '+', 1) })),
      )
      .returning('count')
      .executeTakeFirstOrThrow();
    return Number(row.count);
  }

  async peek(key: string, windowStart: Date): Promise<number> {
    const row = await this.#db
      .selectFrom('rate_limits')
      .select('count')
      .where('key', '=', key)
      .where('window_start', '=', windowStart.getTime())
      .executeTakeFirst();
    return row ? Number(row.count) : 0;
  }

  async reset(key: string): Promise<void> {
    await this.#db.deleteFrom('rate_limits').where('key', '=', key).execute();
  }
}

class SqlAuditStore implements AuditStore {
  readonly #db: Db;

  constructor(db: Db) {
    this.#db = db;
  }

  async append(event: AuditEvent): Promise<void> {
    await this.#db.insertInto('audit_events').values(auditEventToRow(event)).execute();
  }

  async list(page: PageRequest): Promise<Page<AuditEvent>> {
    return keysetPage(
      page,
      async (after, limit) => {
        const rows = await this.#db
          .selectFrom('audit_events')
          .selectAll()
          .$if(after !== null, (qb) => qb.where('id', '>', after ?? ''))
          .orderBy('id')
          .limit(limit)
          .execute();
        return rows.map(auditEventFromRow);
      },
      () =>
        countRows(
          this.#db
            .selectFrom('audit_events')
            .select((eb) => eb.fn.countAll<number | string | bigint>().as('n')),
        ),
    );
  }
}

class SqlLogoutDeliveryStore implements LogoutDeliveryStore {
  readonly #db: Db;
  readonly #kind: Kind;

  constructor(db: Db, kind: Kind) {
    this.#db = db;
    this.#kind = kind;
  }

  async claimDue(now: Date, limit: number, leaseUntil: Date): Promise<LogoutDelivery[]> {
    const t = now.getTime();
    // One UPDATE claims: on PostgreSQL the subquery skips rows another node holds locked; SQLite
    // serialises writers. The lease (locked_until) keeps a claimed row from a second node until
    // it is settled or the claimer died.
    const due = this.#db
      .selectFrom('logout_deliveries')
      .select('id')
      .where('status', '=', 'pending')
      .where('next_attempt_at', '<=', t)
      .where((eb) => eb.or([eb('locked_until', 'is', null), eb('locked_until', '<=', t)]))
      .orderBy('next_attempt_at')
      .limit(limit)
      .$if(this.#kind === 'postgres', (qb) => qb.forUpdate().skipLocked());
    const rows = await this.#db
      .updateTable('logout_deliveries')
      .set((eb) => ({ locked_until: leaseUntil.getTime(), attempts: eb('attempts', '+', 1) }))
      .where('id', 'in', due)
      .returningAll()
      .execute();
    return rows
      .map(logoutDeliveryFromRow)
      .sort((a, b) => a.nextAttemptAt.getTime() - b.nextAttemptAt.getTime());
  }

  async markDelivered(id: string, now: Date, statusCode: number): Promise<void> {
    await this.#db
      .updateTable('logout_deliveries')
      .set({
        status: 'delivered',
        delivered_at: now.getTime(),
        locked_until: null,
        last_status_code: statusCode,
        last_error: null,
      })
      .where('id', '=', id)
      .execute();
  }

  async markAttemptFailed(
    id: string,
    failure: { error: string; statusCode: number | null; retryAt: Date | null },
  ): Promise<void> {
    await this.#db
      .updateTable('logout_deliveries')
      .set({
        status: failure.retryAt ? 'pending' : 'failed',
        ...(failure.retryAt ? { next_attempt_at: failure.retryAt.getTime() } : {}),
        locked_until: null,
        last_error: failure.error.slice(0, 500),
        last_status_code: failure.statusCode,
      })
      .where('id', '=', id)
      .execute();
  }

  async get(id: string): Promise<LogoutDelivery | null> {
    const row = await this.#db
      .selectFrom('logout_deliveries')
      .selectAll()
      .where('id', '=', id)
      .executeTakeFirst();
    return row ? logoutDeliveryFromRow(row) : null;
  }

  async list(
    page: PageRequest,
    filter: { status?: LogoutDeliveryStatus; sessionId?: string } = {},
  ): Promise<Page<LogoutDelivery>> {
    const matches = (eb: ExpressionBuilder<Database, 'logout_deliveries'>) =>
      eb.and([
        ...(filter.status ? [eb('status', '=', filter.status)] : []),
        ...(filter.sessionId ? [eb('session_id', '=', filter.sessionId)] : []),
      ]);
    return keysetPage(
      page,
      async (after, limit) => {
        const rows = await this.#db
          .selectFrom('logout_deliveries')
          .selectAll()
          .where(matches)
          .$if(after !== null, (qb) => qb.where('id', '>', after ?? ''))
          .orderBy('id')
          .limit(limit)
          .execute();
        return rows.map(logoutDeliveryFromRow);
      },
      () =>
        countRows(
          this.#db
            .selectFrom('logout_deliveries')
            .select((eb) => eb.fn.countAll<number | string | bigint>().as('n'))
            .where(matches),
        ),
    );
  }

  async counts(): Promise<Record<LogoutDeliveryStatus, number>> {
    const rows = await this.#db
      .selectFrom('logout_deliveries')
      .select(['status', (eb) => eb.fn.countAll<number | string | bigint>().as('n')])
      .groupBy('status')
      .execute();
    const counts: Record<LogoutDeliveryStatus, number> = { pending: 0, delivered: 0, failed: 0 };
    for (const row of rows) counts[row.status as LogoutDeliveryStatus] = Number(row.n);
    return counts;
  }
}
