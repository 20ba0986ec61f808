/**
 * Applies the SQL migrations compiled from sql/ (src/store/migrations.generated.ts) to a database.
 * Safe to run concurrently from many processes: everything happens on one dedicated session under a
 * blocking advisory lock, so the second caller waits and then finds nothing to do.
 */
import type { Db, DbSession } from './db.js';
import { MigrationError } from './errors.js';
import { advisoryLockKey } from './lock.js';
import { MIGRATIONS, type Migration } from './migrations.generated.js';

/** The advisory-lock key serializing migrations: advisoryLockKey('self-evolution:migrate'). */
export const MIGRATION_LOCK_KEY = advisoryLockKey('self-evolution:migrate');

/** What migrate() did. */
export interface MigrateResult {
  /** Ids of the migrations applied by this call, in order (empty when the schema was up to date). */
  applied: string[];
  /**
   * Ids recorded in schema_migrations that this version does not know (a newer version migrated this
   * database). They are left alone; append-only migrations keep older versions working.
   */
  unknown: string[];
}

const CREATE_MIGRATIONS_TABLE = `CREATE TABLE IF NOT EXISTS schema_migrations (
  id text PRIMARY KEY,
  checksum text NOT NULL,
  applied_at timestamptz NOT NULL DEFAULT now()
)`;

function errorText(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

/**
 * Brings the schema up to date: takes pg_advisory_lock(MIGRATION_LOCK_KEY) on a dedicated session
 * (blocking until a concurrent migrate() finishes), creates schema_migrations if needed, checks that every
 * applied migration still has the checksum of the shipped SQL, then applies each missing one in id order,
 * each in its own transaction together with its schema_migrations row. Unlocks and closes the session in
 * every case. Idempotent.
 *
 * @param db the database
 * @param migrations the migrations to apply (default: the ones compiled from sql/); for tests
 * @returns the ids applied by this call and the unknown ids found in the database
 * @throws MigrationError naming the migration when an applied migration's checksum differs from the
 *   shipped SQL (migrations are append-only: add a new one instead of editing), or when a migration fails
 *   (its transaction is rolled back; the database error is the `cause`)
 */
export async function migrate(db: Db, migrations: readonly Migration[] = MIGRATIONS): Promise<MigrateResult> {
  const session = await db.session();
  try {
    await session.query('SELECT pg_advisory_lock($1::bigint)', [MIGRATION_LOCK_KEY]);
    try {
      return await migrateLocked(session, db.description, migrations);
    } finally {
      await session
        .query('SELECT pg_advisory_unlock($1::bigint)', [MIGRATION_LOCK_KEY])
        .catch(() => undefined);
    }
  } finally {
    await session.release();
  }
}

async function migrateLocked(
  session: DbSession,
  description: string,
  migrations: readonly Migration[],
): Promise<MigrateResult> {
  await session.exec(CREATE_MIGRATIONS_TABLE);
  const rows = await session.query<{ id: string; checksum: string }>(
    'SELECT id, checksum FROM schema_migrations ORDER BY id',
  );
  const appliedChecksums = new Map(rows.map((r) => [r.id, r.checksum]));
  const known = new Set(migrations.map((m) => m.id));

  for (const migration of migrations) {
    const recorded = appliedChecksums.get(migration.id);
    if (recorded !== undefined && recorded !== migration.checksum) {
      throw new MigrationError(
        migration.id,
        `migration ${migration.id} was applied to ${description} with checksum ${recorded}, but the shipped ` +
          `sql/${migration.id}.sql has checksum ${migration.checksum}; applied migrations must not change ` +
          '(migrations are append-only: restore the file and add a new migration instead)',
      );
    }
  }

  const applied: string[] = [];
  for (const migration of migrations) {
    if (appliedChecksums.has(migration.id)) continue;
    await session.exec('BEGIN');
    try {
      await session.exec(migration.sql);
      await session.query('INSERT INTO schema_migrations (id, checksum) VALUES ($1, $2)', [
        migration.id,
        migration.checksum,
      ]);
      await session.exec('COMMIT');
    } catch (error) {
      await session.exec('ROLLBACK').catch(() => undefined);
      throw new MigrationError(
        migration.id,
        `migration ${migration.id} failed on ${description} and was rolled back: ${errorText(error)}`,
        { cause: error },
      );
    }
    applied.push(migration.id);
  }

  const unknown = rows.map((r) => r.id).filter((id) => !known.has(id));
  return { applied, unknown };
}
