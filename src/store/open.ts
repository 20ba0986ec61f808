/**
 * Chooses the database: a real Postgres server when a URL is given, else the embedded database of the checkout:
 * the embedded Postgres server (store/embedded-server.ts), or, for a directory that already holds a PGlite
 * database made by an earlier version, PGlite (store/pglite.ts; one process at a time, as before).
 * Re-exports the error classes and describeDatabaseUrl so callers import one module.
 */
import type { Db } from './db.js';
import { isPgliteDirectory } from './embedded-dir.js';
import { openPostgres, type ConnectRetry } from './pg.js';

export { describeDatabaseUrl } from './pg.js';
export { embeddedDatabaseDir, isPgliteDirectory } from './embedded-dir.js';
export { DatabaseBusyError, DatabaseUnavailableError, InvalidDatabaseUrlError } from './errors.js';

/** Where the database is. */
export interface OpenDatabaseOptions {
  /**
   * postgres:// or postgresql:// URL of a server (usually from DATABASE_URL). When undefined or empty the
   * embedded database is used.
   */
  databaseUrl?: string;
  /**
   * Directory of the embedded database, used when there is no databaseUrl: the embedded Postgres server's
   * directory, or a PGlite database directory an earlier version made (see isPgliteDirectory).
   */
  embeddedDir: string;
  /** Waiting while a server given by `databaseUrl` is full (store/pg.ts); the embedded server never is. */
  connectRetry?: ConnectRetry;
}

/**
 * Opens the database: node-postgres when `databaseUrl` is set (non-blank); otherwise PGlite when `embeddedDir`
 * holds a PGlite database, else the embedded Postgres server in `embeddedDir` (started when it does not run).
 * Does not migrate; call migrate(db) next. The embedded engines are loaded on demand: the Action never loads them.
 * @throws InvalidDatabaseUrlError when databaseUrl is not a postgres:// or postgresql:// URL
 * @throws DatabaseUnavailableError when the server cannot be reached or refuses us (after `connectRetry`'s budget
 *   when it is full)
 * @throws DatabaseBusyError when another process uses the PGlite database directory
 * @throws Error naming the directory when the embedded server cannot be started
 */
export async function openDatabase(options: OpenDatabaseOptions): Promise<Db> {
  const url = options.databaseUrl?.trim();
  if (url !== undefined && url !== '') {
    return openPostgres(url, options.connectRetry ? { connectRetry: options.connectRetry } : {});
  }
  if (isPgliteDirectory(options.embeddedDir)) {
    const { openEmbedded } = await import('./pglite.js');
    return openEmbedded(options.embeddedDir);
  }
  const { openEmbeddedServer } = await import('./embedded-server.js');
  return openEmbeddedServer(options.embeddedDir);
}
