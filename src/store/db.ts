/**
 * The database interface every store module uses. Two implementations: node-postgres for real servers
 * (store/pg.ts, one connection per Db; the CLI's embedded Postgres server too, store/embedded-server.ts) and PGlite
 * for a PGlite directory an earlier version made (store/pglite.ts). Keep SQL to what both accept:
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
 * A database session: a view of the Db's one connection. Session-level advisory locks taken through it stay held
 * until the last open session is released, the Db is closed or the connection dies.
 */
export interface DbSession extends Queryable {
  /**
   * Ends this view. When it was the last open one, every session-level advisory lock of the connection is released
   * (pg_advisory_unlock_all); the connection itself stays open until Db.close(). Idempotent.
   */
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

/**
 * A check every write must pass once it is set (Db.setWriteFence): the run lease's fencing token (store/lock.ts).
 * Each statement that is not a read or transaction control runs in a transaction that first runs `sql`; no row
 * back means the writer lost its right to write: the transaction is rolled back and `refused()` thrown.
 */
export interface WriteFence {
  /** One statement that returns a row while writes are allowed (it may lock that row FOR SHARE). */
  readonly sql: string;
  /** Its parameters. */
  readonly params: readonly unknown[];
  /** The error thrown instead of the write (it may also tell the run it lost its lock). */
  refused(): Error;
}

/**
 * How a connection reaches the server: 'direct' when the server sees our own client port, 'proxied' when it sees
 * another (a connection pooler such as PgBouncer, or a proxy, is in between), 'unknown' over a Unix socket.
 */
export interface ConnectionRoute {
  kind: 'direct' | 'proxied' | 'unknown';
  /** What was compared, in words, for logs and the run record. */
  detail: string;
}

/** A database: queries over one connection, sessions on it, and what the run lock needs. */
export interface Db extends Queryable {
  /** Which engine this is, for messages and the run record. */
  readonly kind: 'postgres' | 'pglite';
  /** A safe description for messages: never contains a password or the full URL. */
  readonly description: string;
  /** Opens a session (see DbSession). */
  session(): Promise<DbSession>;
  /**
   * Sets (or, with undefined, removes) the check every later write must pass (see WriteFence). Postgres only; the
   * PGlite database has no fence (one process uses it at a time).
   */
  setWriteFence?(fence: WriteFence | undefined): void;
  /**
   * Tells whether a connection pooler or proxy sits between us and the server (see ConnectionRoute). Postgres only.
   * @throws the driver's error when the query fails
   */
  route?(): Promise<ConnectionRoute>;
  /** Closes every connection. Idempotent. */
  close(): Promise<void>;
}
