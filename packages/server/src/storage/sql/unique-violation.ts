import { AlreadyExistsError } from '../store.ts';

/** Whether `err` is a unique or primary-key violation from SQLite (better-sqlite3) or PostgreSQL (pg). */
export function isUniqueViolation(err: unknown): boolean {
  const code = errorProperty(err, 'code');
  return code === 'SQLITE_CONSTRAINT_UNIQUE' || code === 'SQLITE_CONSTRAINT_PRIMARYKEY' || code === '23505';
}

/**
 * Which field a unique index guards, and how each database names it: PostgreSQL reports the
 * constraint or index name (`users_email_unique`), SQLite only a message listing `table.column`.
 */
export interface UniqueField {
  field: string;
  /** Index or constraint names (PostgreSQL). */
  names: string[];
  /** The `table.column` list SQLite prints, e.g. `users.email`. */
  columns: string;
}

/** Runs `work`, turning a unique violation into `AlreadyExistsError` for the field it guards. */
export async function translateUniqueViolation<T>(
  fields: readonly UniqueField[],
  work: () => Promise<T>,
): Promise<T> {
  try {
    return await work();
  } catch (err) {
    if (!isUniqueViolation(err)) throw err;
    throw new AlreadyExistsError(uniqueField(err, fields), { cause: err });
  }
}

function uniqueField(err: unknown, fields: readonly UniqueField[]): string {
  const constraint = errorProperty(err, 'constraint');
  const message = errorProperty(err, 'message');
  for (const { field, names, columns } of fields) {
    if (typeof constraint === 'string' && names.includes(constraint)) return field;
    // The column list ends the message, so an exact suffix cannot match a longer list.
    if (typeof message === 'string' && message.endsWith(`: ${columns}`)) return field;
  }
  // A violation of an index this table does not list: still a duplicate, name it honestly.
  return typeof constraint === 'string' ? constraint : 'unknown';
}

function errorProperty(err: unknown, key: string): unknown {
  return typeof err === 'object' && err !== null && key in err
    ? (err as Record<string, unknown>)[key]
    : undefined;
}
