import { type Kysely, type Migration, type MigrationProvider, sql } from 'kysely';
import { newId } from '../../lib/ids.ts';

// Migrations take an untyped `Kysely`: each one is frozen in time and must not follow later
// changes to `schema.ts`. Column types are the portable subset (text, integer, bigint).

const millis = 'bigint';

const initial: Migration = {
  async up(db: Kysely<unknown>): Promise<void> {
    await db.schema
      .createTable('organizations')
      .addColumn('id', 'text', (c) => c.primaryKey())
      .addColumn('name', 'text', (c) => c.notNull())
      .addColumn('external_id', 'text')
      .addColumn('metadata', 'text', (c) => c.notNull())
      .addColumn('created_at', millis, (c) => c.notNull())
      .addColumn('updated_at', millis, (c) => c.notNull())
      .execute();
    await db.schema
      .createIndex('organizations_external_id_unique')
      .on('organizations')
      .column('external_id')
      .unique()
      .where(sql.ref('external_id'), 'is not', null)
      .execute();

    await db.schema
      .createTable('clients')
      .addColumn('id', 'text', (c) => c.primaryKey())
      .addColumn('type', 'text', (c) => c.notNull())
      .addColumn('name', 'text', (c) => c.notNull())
      .addColumn('redirect_uris', 'text', (c) => c.notNull())
      .addColumn('post_logout_redirect_uris', 'text', (c) => c.notNull())
      .addColumn('backchannel_logout_uri', 'text')
      .addColumn('initiate_login_uri', 'text')
      .addColumn('access_token_ttl', 'integer', (c) => c.notNull())
      .addColumn('allowed_scopes', 'text', (c) => c.notNull())
      .addColumn('allow_management_api', 'integer', (c) => c.notNull())
      // A machine client acting for a deleted organization must not keep working elsewhere.
      .addColumn('organization_id', 'text', (c) => c.references('organizations.id').onDelete('cascade'))
      .addColumn('created_at', millis, (c) => c.notNull())
      .addColumn('updated_at', millis, (c) => c.notNull())
      .execute();
    await db.schema
      .createIndex('clients_organization_id_idx')
      .on('clients')
      .column('organization_id')
      .execute();

    await db.schema
      .createTable('client_secrets')
      .addColumn('id', 'text', (c) => c.primaryKey())
      .addColumn('client_id', 'text', (c) => c.notNull().references('clients.id').onDelete('cascade'))
      .addColumn('secret_hash', 'text', (c) => c.notNull())
      .addColumn('hint', 'text', (c) => c.notNull())
      .addColumn('created_at', millis, (c) => c.notNull())
      .addColumn('expires_at', millis)
      .execute();
    await db.schema
      .createIndex('client_secrets_client_id_idx')
      .on('client_secrets')
      .column('client_id')
      .execute();

    await db.schema
      .createTable('users')
      .addColumn('id', 'text', (c) => c.primaryKey())
      .addColumn('email', 'text', (c) => c.notNull())
      .addColumn('email_verified', 'integer', (c) => c.notNull())
      .addColumn('name', 'text')
      .addColumn('given_name', 'text')
      .addColumn('family_name', 'text')
      .addColumn('password_hash', 'text')
      .addColumn('external_id', 'text')
      .addColumn('disabled', 'integer', (c) => c.notNull())
      .addColumn('metadata', 'text', (c) => c.notNull())
      .addColumn('created_at', millis, (c) => c.notNull())
      .addColumn('updated_at', millis, (c) => c.notNull())
      .execute();
    await db.schema.createIndex('users_email_unique').on('users').column('email').unique().execute();
    await db.schema
      .createIndex('users_external_id_unique')
      .on('users')
      .column('external_id')
      .unique()
      .where(sql.ref('external_id'), 'is not', null)
      .execute();

    await db.schema
      .createTable('memberships')
      .addColumn('organization_id', 'text', (c) =>
        c.notNull().references('organizations.id').onDelete('cascade'),
      )
      .addColumn('user_id', 'text', (c) => c.notNull().references('users.id').onDelete('cascade'))
      .addColumn('roles', 'text', (c) => c.notNull())
      .addColumn('created_at', millis, (c) => c.notNull())
      .addColumn('updated_at', millis, (c) => c.notNull())
      .addPrimaryKeyConstraint('memberships_pk', ['organization_id', 'user_id'])
      .execute();
    await db.schema.createIndex('memberships_user_id_idx').on('memberships').column('user_id').execute();

    await db.schema
      .createTable('roles')
      .addColumn('id', 'text', (c) => c.primaryKey())
      .addColumn('organization_id', 'text', (c) => c.references('organizations.id').onDelete('cascade'))
      .addColumn('name', 'text', (c) => c.notNull())
      .addColumn('display_name', 'text', (c) => c.notNull())
      .addColumn('description', 'text', (c) => c.notNull())
      .addColumn('is_default_creator', 'integer', (c) => c.notNull())
      .addColumn('is_default_member', 'integer', (c) => c.notNull())
      .addColumn('created_at', millis, (c) => c.notNull())
      .addColumn('updated_at', millis, (c) => c.notNull())
      .execute();
    await db.schema
      .createIndex('roles_org_name_unique')
      .on('roles')
      .columns(['organization_id', 'name'])
      .unique()
      .execute();
    // NULLs are distinct in unique indexes (both databases), so environment roles need their own.
    await db.schema
      .createIndex('roles_env_name_unique')
      .on('roles')
      .column('name')
      .unique()
      .where(sql.ref('organization_id'), 'is', null)
      .execute();

    await db.schema
      .createTable('permissions')
      .addColumn('id', 'text', (c) => c.primaryKey())
      .addColumn('name', 'text', (c) => c.notNull())
      .addColumn('description', 'text', (c) => c.notNull())
      .addColumn('created_at', millis, (c) => c.notNull())
      .addColumn('updated_at', millis, (c) => c.notNull())
      // A constraint rather than an index: it is the target of role_permissions' foreign key.
      .addUniqueConstraint('permissions_name_unique', ['name'])
      .execute();

    await db.schema
      .createTable('role_permissions')
      .addColumn('role_id', 'text', (c) => c.notNull().references('roles.id').onDelete('cascade'))
      .addColumn('permission_name', 'text', (c) =>
        c.notNull().references('permissions.name').onDelete('cascade'),
      )
      .addPrimaryKeyConstraint('role_permissions_pk', ['role_id', 'permission_name'])
      .execute();
    await db.schema
      .createIndex('role_permissions_permission_name_idx')
      .on('role_permissions')
      .column('permission_name')
      .execute();

    await db.schema
      .createTable('sessions')
      .addColumn('id', 'text', (c) => c.primaryKey())
      .addColumn('token_hash', 'text', (c) => c.notNull())
      .addColumn('user_id', 'text', (c) => c.notNull().references('users.id').onDelete('cascade'))
      .addColumn('organization_id', 'text', (c) => c.references('organizations.id').onDelete('set null'))
      .addColumn('auth_time', millis, (c) => c.notNull())
      .addColumn('amr', 'text', (c) => c.notNull())
      .addColumn('user_agent', 'text')
      .addColumn('ip_address', 'text')
      .addColumn('created_at', millis, (c) => c.notNull())
      .addColumn('last_active_at', millis, (c) => c.notNull())
      .addColumn('idle_expires_at', millis, (c) => c.notNull())
      .addColumn('absolute_expires_at', millis, (c) => c.notNull())
      .addColumn('ended_at', millis)
      .addColumn('end_reason', 'text')
      .execute();
    await db.schema
      .createIndex('sessions_token_hash_unique')
      .on('sessions')
      .column('token_hash')
      .unique()
      .execute();
    await db.schema.createIndex('sessions_user_id_idx').on('sessions').column('user_id').execute();
    await db.schema
      .createIndex('sessions_idle_expires_at_idx')
      .on('sessions')
      .column('idle_expires_at')
      .execute();
    await db.schema
      .createIndex('sessions_absolute_expires_at_idx')
      .on('sessions')
      .column('absolute_expires_at')
      .execute();
    await db.schema.createIndex('sessions_ended_at_idx').on('sessions').column('ended_at').execute();

    await db.schema
      .createTable('session_clients')
      .addColumn('session_id', 'text', (c) => c.notNull().references('sessions.id').onDelete('cascade'))
      .addColumn('client_id', 'text', (c) => c.notNull().references('clients.id').onDelete('cascade'))
      .addPrimaryKeyConstraint('session_clients_pk', ['session_id', 'client_id'])
      .execute();
    await db.schema
      .createIndex('session_clients_client_id_idx')
      .on('session_clients')
      .column('client_id')
      .execute();

    await db.schema
      .createTable('interactions')
      .addColumn('id', 'text', (c) => c.primaryKey())
      .addColumn('request', 'text', (c) => c.notNull())
      .addColumn('user_id', 'text', (c) => c.references('users.id').onDelete('cascade'))
      .addColumn('session_id', 'text', (c) => c.references('sessions.id').onDelete('cascade'))
      .addColumn('created_at', millis, (c) => c.notNull())
      .addColumn('expires_at', millis, (c) => c.notNull())
      .addColumn('completed_at', millis)
      .execute();
    await db.schema
      .createIndex('interactions_expires_at_idx')
      .on('interactions')
      .column('expires_at')
      .execute();

    await db.schema
      .createTable('grants')
      .addColumn('id', 'text', (c) => c.primaryKey())
      .addColumn('client_id', 'text', (c) => c.notNull().references('clients.id').onDelete('cascade'))
      .addColumn('user_id', 'text', (c) => c.references('users.id').onDelete('cascade'))
      .addColumn('session_id', 'text', (c) => c.references('sessions.id').onDelete('cascade'))
      .addColumn('created_at', millis, (c) => c.notNull())
      .addColumn('expires_at', millis, (c) => c.notNull())
      .addColumn('revoked_at', millis)
      .execute();
    await db.schema.createIndex('grants_client_id_idx').on('grants').column('client_id').execute();
    await db.schema.createIndex('grants_user_id_idx').on('grants').column('user_id').execute();
    await db.schema.createIndex('grants_session_id_idx').on('grants').column('session_id').execute();
    await db.schema.createIndex('grants_expires_at_idx').on('grants').column('expires_at').execute();

    await db.schema
      .createTable('authorization_codes')
      .addColumn('code_hash', 'text', (c) => c.primaryKey())
      .addColumn('grant_id', 'text', (c) => c.notNull().references('grants.id').onDelete('cascade'))
      .addColumn('client_id', 'text', (c) => c.notNull().references('clients.id').onDelete('cascade'))
      .addColumn('redirect_uri', 'text', (c) => c.notNull())
      .addColumn('scope', 'text', (c) => c.notNull())
      .addColumn('nonce', 'text')
      .addColumn('code_challenge', 'text')
      .addColumn('code_challenge_method', 'text')
      .addColumn('user_id', 'text', (c) => c.notNull().references('users.id').onDelete('cascade'))
      .addColumn('organization_id', 'text', (c) => c.references('organizations.id').onDelete('cascade'))
      .addColumn('session_id', 'text', (c) => c.notNull().references('sessions.id').onDelete('cascade'))
      .addColumn('auth_time', millis, (c) => c.notNull())
      .addColumn('amr', 'text', (c) => c.notNull())
      .addColumn('created_at', millis, (c) => c.notNull())
      .addColumn('expires_at', millis, (c) => c.notNull())
      .addColumn('consumed_at', millis)
      .execute();
    await db.schema
      .createIndex('authorization_codes_grant_id_idx')
      .on('authorization_codes')
      .column('grant_id')
      .execute();
    await db.schema
      .createIndex('authorization_codes_user_id_idx')
      .on('authorization_codes')
      .column('user_id')
      .execute();
    await db.schema
      .createIndex('authorization_codes_session_id_idx')
      .on('authorization_codes')
      .column('session_id')
      .execute();
    await db.schema
      .createIndex('authorization_codes_expires_at_idx')
      .on('authorization_codes')
      .column('expires_at')
      .execute();

    await db.schema
      .createTable('refresh_tokens')
      .addColumn('id', 'text', (c) => c.primaryKey())
      .addColumn('token_hash', 'text', (c) => c.notNull())
      .addColumn('grant_id', 'text', (c) => c.notNull().references('grants.id').onDelete('cascade'))
      .addColumn('client_id', 'text', (c) => c.notNull().references('clients.id').onDelete('cascade'))
      .addColumn('user_id', 'text', (c) => c.notNull().references('users.id').onDelete('cascade'))
      .addColumn('organization_id', 'text', (c) => c.references('organizations.id').onDelete('cascade'))
      .addColumn('session_id', 'text', (c) => c.notNull().references('sessions.id').onDelete('cascade'))
      .addColumn('scope', 'text', (c) => c.notNull())
      .addColumn('auth_time', millis, (c) => c.notNull())
      .addColumn('amr', 'text', (c) => c.notNull())
      .addColumn('created_at', millis, (c) => c.notNull())
      .addColumn('expires_at', millis, (c) => c.notNull())
      .addColumn('rotated_at', millis)
      .addColumn('successor_sealed', 'text')
      .addColumn('revoked_at', millis)
      .execute();
    await db.schema
      .createIndex('refresh_tokens_token_hash_unique')
      .on('refresh_tokens')
      .column('token_hash')
      .unique()
      .execute();
    await db.schema
      .createIndex('refresh_tokens_grant_id_idx')
      .on('refresh_tokens')
      .column('grant_id')
      .execute();
    await db.schema
      .createIndex('refresh_tokens_user_id_idx')
      .on('refresh_tokens')
      .column('user_id')
      .execute();
    await db.schema
      .createIndex('refresh_tokens_session_id_idx')
      .on('refresh_tokens')
      .column('session_id')
      .execute();
    await db.schema
      .createIndex('refresh_tokens_expires_at_idx')
      .on('refresh_tokens')
      .column('expires_at')
      .execute();

    await db.schema
      .createTable('signing_keys')
      .addColumn('id', 'text', (c) => c.primaryKey())
      .addColumn('alg', 'text', (c) => c.notNull())
      .addColumn('public_jwk', 'text', (c) => c.notNull())
      .addColumn('private_jwk_encrypted', 'text', (c) => c.notNull())
      .addColumn('created_at', millis, (c) => c.notNull())
      .addColumn('activates_at', millis, (c) => c.notNull())
      .addColumn('retires_at', millis)
      .addColumn('expires_at', millis)
      .execute();
    await db.schema
      .createIndex('signing_keys_expires_at_idx')
      .on('signing_keys')
      .column('expires_at')
      .execute();

    await db.schema
      .createTable('rate_limits')
      .addColumn('key', 'text', (c) => c.notNull())
      .addColumn('window_start', millis, (c) => c.notNull())
      .addColumn('count', 'integer', (c) => c.notNull())
      .addColumn('expires_at', millis, (c) => c.notNull())
      .addPrimaryKeyConstraint('rate_limits_pk', ['key', 'window_start'])
      .execute();
    await db.schema
      .createIndex('rate_limits_expires_at_idx')
      .on('rate_limits')
      .column('expires_at')
      .execute();

    await db.schema
      .createTable('audit_events')
      .addColumn('id', 'text', (c) => c.primaryKey())
      .addColumn('actor', 'text', (c) => c.notNull())
      .addColumn('action', 'text', (c) => c.notNull())
      .addColumn('target_type', 'text', (c) => c.notNull())
      .addColumn('target_id', 'text')
      .addColumn('detail', 'text', (c) => c.notNull())
      .addColumn('created_at', millis, (c) => c.notNull())
      .execute();

    await seedEnvironmentRoles(db);
  },
};

/** The two environment roles every organization starts from (spec: Roles). */
async function seedEnvironmentRoles(db: Kysely<unknown>): Promise<void> {
  // The only wall-clock read in storage: a migration runs once, at a real moment.
  const now = Date.now();
  const base = { organization_id: null, description: '', created_at: now, updated_at: now };
  await db
    .withTables<{ roles: SeedRole }>()
    .insertInto('roles')
    .values([
      {
        ...base,
        id: newId('role'),
        name: 'admin',
        display_name: 'Admin',
        is_default_creator: 1,
        is_default_member: 0,
      },
      {
        ...base,
        id: newId('role'),
        name: 'member',
        display_name: 'Member',
        is_default_creator: 0,
        is_default_member: 1,
      },
    ])
    .execute();
}

/** The `roles` row as of migration 0001. */
interface SeedRole {
  id: string;
  organization_id: string | null;
  name: string;
  display_name: string;
  description: string;
  is_default_creator: number;
  is_default_member: number;
  created_at: number;
  updated_at: number;
}

const logoutOutbox: Migration = {
  async up(db: Kysely<unknown>): Promise<void> {
    await db.schema
      .createTable('logout_deliveries')
      .addColumn('id', 'text', (c) => c.primaryKey())
      .addColumn('session_id', 'text', (c) => c.notNull())
      .addColumn('user_id', 'text', (c) => c.notNull())
      .addColumn('client_id', 'text', (c) => c.notNull())
      .addColumn('uri', 'text', (c) => c.notNull())
      .addColumn('status', 'text', (c) => c.notNull())
      .addColumn('attempts', 'integer', (c) => c.notNull())
      .addColumn('next_attempt_at', millis, (c) => c.notNull())
      .addColumn('locked_until', millis)
      .addColumn('last_error', 'text')
      .addColumn('last_status_code', 'integer')
      .addColumn('created_at', millis, (c) => c.notNull())
      .addColumn('give_up_at', millis, (c) => c.notNull())
      .addColumn('delivered_at', millis)
      .execute();
    // The worker's scan: due pending deliveries, oldest first.
    await db.schema
      .createIndex('logout_deliveries_due_idx')
      .on('logout_deliveries')
      .columns(['status', 'next_attempt_at'])
      .execute();
    await db.schema
      .createIndex('logout_deliveries_session_idx')
      .on('logout_deliveries')
      .column('session_id')
      .execute();
  },
  async down(db: Kysely<unknown>): Promise<void> {
    await db.schema.dropTable('logout_deliveries').execute();
  },
};

/** Every migration, by name; names sort in the order they apply. */
export const migrations: Readonly<Record<string, Migration>> = {
  '0001_initial': initial,
  '0002_logout_outbox': logoutOutbox,
};

/** Hands Kysely's `Migrator` the migrations compiled into the server, so none are read from disk. */
export const migrationProvider: MigrationProvider = {
  getMigrations: async () => ({ ...migrations }),
};
