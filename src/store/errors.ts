/**
 * Errors the store throws where the caller (or the user) can act on the cause. Messages never contain a
 * database URL, a user name or a password: they name the database by its safe description ("host:port/db"
 * or the embedded directory).
 */

/**
 * The database could not be reached or refused us (connection refused, host not found, timeout,
 * authentication failed, database missing, ...). Thrown when opening a database.
 */
export class DatabaseUnavailableError extends Error {
  override readonly name = 'DatabaseUnavailableError';
  /**
   * @param description the safe description of the database, e.g. "127.0.0.1:5432/app"
   * @param reason why, in words, e.g. "connection refused (ECONNREFUSED)"
   * @param code the driver's error code or SQLSTATE when there was one (e.g. "ECONNREFUSED", "28P01")
   * @param attempts how many times connecting was tried (more than 1 when the server was full and we waited)
   */
  constructor(
    readonly description: string,
    readonly reason: string,
    readonly code?: string,
    readonly attempts = 1,
  ) {
    super(`cannot connect to postgres ${description}: ${reason}`);
  }
}

/**
 * Another process is using the PGlite database directory (the embedded default of earlier versions, still used for
 * such a directory); PGlite allows one process per directory. Thrown by openEmbedded when `<dir>.lock` names a live
 * process. The embedded Postgres server has no such limit.
 */
export class DatabaseBusyError extends Error {
  override readonly name = 'DatabaseBusyError';
  /**
   * @param dir the embedded database directory
   * @param pid the process id found in the lock file
   */
  constructor(
    readonly dir: string,
    readonly pid: number,
  ) {
    super(
      `another self-evolution process (pid ${pid}) is using the embedded database at ${dir}; ` +
        'wait for it or use DATABASE_URL',
    );
  }
}

/** A database URL that is not a postgres:// or postgresql:// URL. The message never repeats the URL. */
export class InvalidDatabaseUrlError extends Error {
  override readonly name = 'InvalidDatabaseUrlError';
  /** @param problem what is wrong, without the URL itself */
  constructor(problem: string) {
    super(`invalid database URL: ${problem}; expected postgres://user:password@host:5432/database`);
  }
}

/** A migration failed, or an applied migration no longer matches the SQL shipped with this version. */
export class MigrationError extends Error {
  override readonly name = 'MigrationError';
  /**
   * @param migrationId the migration concerned, e.g. "000001_init"
   * @param message the full message
   * @param options `cause`: the database error, when there was one
   */
  constructor(
    readonly migrationId: string,
    message: string,
    options?: ErrorOptions,
  ) {
    super(message, options);
  }
}

/**
 * The run lost its run lock: its lease expired or another run took it (lock mode 'lease'), so the write it was
 * about to make was refused and rolled back. The run stops; a later run closes its record.
 */
export class RunLockLostError extends Error {
  override readonly name = 'RunLockLostError';
  /**
   * @param repository "owner/name"
   * @param detail what happened, in words
   */
  constructor(
    readonly repository: string,
    readonly detail: string,
  ) {
    super(`lost the run lock of ${repository}: ${detail}; the write was not made`);
  }
}
