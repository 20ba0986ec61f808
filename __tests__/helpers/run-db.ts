/**
 * The database of a run-level test file: a fresh database of its own (createTestDatabase), migrated, and the
 * per-test reset (no runs, the feature flag on), written once for the files that drive whole runs.
 */
import type { Db } from '../../src/store/db.js';
import { setFlag } from '../../src/store/flags.js';
import { migrate } from '../../src/store/migrate.js';
import { openDatabase } from '../../src/store/open.js';
import { createTestDatabase, type TestDatabase } from './db.js';

/** A migrated test database (`label` names it) and an admin connection to it. Close `admin`, then `drop()`. */
export async function openRunDatabase(label: string): Promise<{ database: TestDatabase; admin: Db }> {
  const database = await createTestDatabase(label);
  const admin = await openDatabase({ databaseUrl: database.url, embeddedDir: '' });
  await migrate(admin);
  return { database, admin };
}

/** Empties the runs (and everything that refers to them) and the flags, then turns self_evolution_enabled on. */
export async function resetRuns(admin: Db): Promise<void> {
  await admin.query('TRUNCATE self_evolution_runs, feature_flags RESTART IDENTITY CASCADE');
  await setFlag(admin, 'self_evolution_enabled', true, { by: 'test' });
}
