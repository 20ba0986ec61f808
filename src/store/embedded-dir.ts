/**
 * Where the CLI's embedded database is, and which engine a directory holds. Only node:fs and node:path, so the CLI
 * can ask before it loads a database client.
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';

/**
 * True when `dir` holds a PGlite database (its cluster files at the top, `PG_VERSION` beside `base/`), as the
 * CLI's embedded default made them before the embedded Postgres server (whose cluster lives in `<dir>/data`).
 */
export function isPgliteDirectory(dir: string): boolean {
  return existsSync(join(dir, 'PG_VERSION')) && !existsSync(join(dir, 'data'));
}

/**
 * Where the CLI keeps its embedded database in the state directory `stateDir` (`<repo>/.self-evolution`):
 * `<stateDir>/pg`, the embedded Postgres server; but `<stateDir>/db` when only that exists and holds a PGlite
 * database of an earlier version (kept in use, as before: see the README's "The embedded database").
 */
export function embeddedDatabaseDir(stateDir: string): string {
  const server = join(stateDir, 'pg');
  const legacy = join(stateDir, 'db');
  return !existsSync(server) && isPgliteDirectory(legacy) ? legacy : server;
}
