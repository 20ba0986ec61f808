/**
 * Chooses the database: a real Postgres server when a URL is given, else the embedded PGlite database.
 * Re-exports the error classes and describeDatabaseUrl so callers import one module.
 */
import type { Db } from './db.js';
import { openPostgres } from './pg.js';
import { openEmbedded } from './pglite.js';

export { describeDatabaseUrl } from './pg.js';
export { DatabaseBusyError, DatabaseUnavailableError, InvalidDatabaseUrlError } from './errors.js';

/** Where the database is. */
export interface OpenDatabaseOptions {
  /**
   * postgres:// or postgresql:// URL of a server (usually from DATABASE_URL). When undefined or empty the
   * embedded database is used.
   */
  databaseUrl?: string;
  /** Directory of the embedded PGlite database, used when there is no databaseUrl. */
  embeddedDir: string;
}

/**
 * Opens the database: node-postgres when `databaseUrl` is set (non-blank), PGlite in `embeddedDir`
 * otherwise. Does not migrate; call migrate(db) next.
 * @throws InvalidDatabaseUrlError when databaseUrl is not a postgres:// or postgresql:// URL
 * @throws DatabaseUnavailableError when the server cannot be reached or refuses us
 * @throws DatabaseBusyError when another process uses the embedded database directory
 */
export async function openDatabase(options: OpenDatabaseOptions): Promise<Db> {
  const url = options.databaseUrl?.trim();
  if (url !== undefined && url !== '') return openPostgres(url);
  return openEmbedded(options.embeddedDir);
}
