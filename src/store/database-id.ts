/**
 * self_evolution_database (migration 000007): the short id of this database, drawn once when it was migrated.
 * Names what the loop writes outside the database (a run's artifacts directory) so that two databases
 * recording the same run id never share it.
 */
import type { Queryable } from './db.js';

/**
 * The database's id: 12 lowercase hex characters, the same at every call on the same database.
 * @throws Error when the row is missing (the database is not migrated to 000007); the driver's error otherwise
 */
export async function readDatabaseId(db: Queryable): Promise<string> {
  const rows = await db.query<{ id: string }>('SELECT id FROM self_evolution_database');
  const id = rows[0]?.id;
  if (id === undefined) throw new Error('self_evolution_database has no row: migrate the database first');
  return id;
}
