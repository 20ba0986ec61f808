/**
 * Applies the SQL migrations compiled from sql/ (src/store/migrations.generated.ts) to a database.
 * Safe to run concurrently from many processes, also through a transaction-mode connection pooler: each missing
 * migration is applied in a transaction that first takes a transaction-level advisory lock (released at COMMIT or
 * ROLLBACK, so it cannot outlive the transaction on a pooled server connection) and then looks again whether it is
 * applied. A database already up to date is only read (no lock), so a fleet of runs starting at once do not queue.
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
 * Brings the schema up to date on one session: creates schema_migrations if needed (IF NOT EXISTS), checks that
 * every applied migration still has the checksum of the shipped SQL, then applies each missing one in id order,
 * each in its own transaction under pg_advisory_xact_lock(MIGRATION_LOCK_KEY) together with its schema_migrations
 * row (a concurrent caller waits for that transaction, then finds the migration applied and skips it). Idempotent.
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
    return await migrateOn(session, db.description, migrations);
  } finally {
    await session.release();
  }
}

async function migrateOn(
  session: DbSession,
  description: string,
  migrations: readonly Migration[],
): Promise<MigrateResult> {
  let rows = await appliedMigrations(session);
  if (rows === null) {
    // First use of this database: concurrent callers may race to create the table; the lock orders them.
    await session.exec('BEGIN');
    try {
      await session.query('SELECT pg_advisory_xact_lock($1::bigint)', [MIGRATION_LOCK_KEY]);
      await session.exec(CREATE_MIGRATIONS_TABLE);
      await session.exec('COMMIT');
    } catch (error) {
      await session.exec('ROLLBACK').catch(() => undefined);
      throw error;
    }
    rows = (await appliedMigrations(session)) ?? [];
  }
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
      await session.query('SELECT pg_advisory_xact_lock($1::bigint)', [MIGRATION_LOCK_KEY]);
      const done = await session.query('SELECT 1 FROM schema_migrations WHERE id = $1', [migration.id]);
      if (done.length > 0) {
        // A concurrent caller applied it while we waited for the lock.
        await session.exec('COMMIT');
        continue;
      }
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

/** The rows of schema_migrations, or null when the table does not exist yet (42P01). */
async function appliedMigrations(
  session: DbSession,
): Promise<Array<{ id: string; checksum: string }> | null> {
  try {
    return await session.query<{ id: string; checksum: string }>(
      'SELECT id, checksum FROM schema_migrations ORDER BY id',
    );
  } catch (error) {
    if ((error as { code?: unknown }).code === '42P01') return null;
    throw error;
  }
}
