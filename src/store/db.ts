/**
 * The database interface every store module uses. Two implementations: node-postgres for real servers
 * (store/pg.ts; the CLI's embedded Postgres server too, store/embedded-server.ts) and PGlite for a PGlite directory
 * an earlier version made (store/pglite.ts). Keep SQL to what both accept:
 * one statement per `query`, `$1::jsonb` with JSON.stringify, integer ids (SERIAL), no bigint columns read
 * as numbers (cast to text where a bigint must be read).
 */

/** Something SQL can be sent to. */
export interface Queryable {
  /**
   * Runs ONE statement with positional parameters ($1, $2, ...) and returns its rows.
   * @throws the driver's error (with `code`, the SQLSTATE, when the server reported one)
   */
  query<T = Record<string, unknown>>(sql: string, params?: unknown[]): Promise<T[]>;
  /** Runs a script of one or more statements without parameters (used for migrations). */
  exec(sql: string): Promise<void>;
}

/**
 * One dedicated database session (one connection). Session-level advisory locks taken on it stay held
 * until `release()` or until the connection dies; never take them through a pool.
 */
export interface DbSession extends Queryable {
  /** Releases every session-level advisory lock held by this session and closes/returns the connection. */
  release(): Promise<void>;
  /**
   * Calls `listener` once when this session's connection is lost before release() (node-postgres: the client's
   * `error` or `end` event; a server restart or failover, an idle-connection killer, pg_terminate_backend). Its
   * argument says what happened, in words (no URL or password). Registered after the loss, it is called at once
   * (in a microtask). The embedded database (PGlite, in this process) never loses its connection and never calls
   * it. Returns a function that removes the listener.
   */
  onLost(listener: (detail: string) => void): () => void;
}

/** A database: pooled queries plus dedicated sessions. */
export interface Db extends Queryable {
  /** Which engine this is, for messages and the run record. */
  readonly kind: 'postgres' | 'pglite';
  /** A safe description for messages: never contains a password or the full URL. */
  readonly description: string;
  /** Opens a dedicated session (see DbSession). */
  session(): Promise<DbSession>;
  /** Closes every connection. Idempotent. */
  close(): Promise<void>;
}
