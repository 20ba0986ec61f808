/**
 * The run lock: a session-level advisory lock on a stable 64-bit key derived from the repository name,
 * held on ONE dedicated connection for the whole run (never through a pool, where the unlock would land on
 * another connection). The server releases it when that connection closes, so a crashed run frees it.
 */
import { createHash } from 'node:crypto';

import type { Db, DbSession } from './db.js';

/**
 * A stable signed 64-bit advisory-lock key for `name`: the first 8 bytes of sha256(name), big-endian,
 * two's complement, as a decimal string (pass it as `$1::bigint`; JS numbers cannot hold it).
 */
export function advisoryLockKey(name: string): string {
  return createHash('sha256').update(name, 'utf8').digest().readBigInt64BE(0).toString();
}

/**
 * The run-lock key of a repository: advisoryLockKey('self-evolution:run:' + repository); for example
 * "octocat/hello-world" -> "-1168322607992702725". Stable across versions and processes.
 * @throws Error when repository is empty
 */
export function runLockKey(repository: string): string {
  if (repository === '') throw new Error('runLockKey: repository is empty; expected "owner/name"');
  return advisoryLockKey(`self-evolution:run:${repository}`);
}

/** A held run lock. */
export interface RunLock {
  /** The repository the lock is for. */
  readonly repository: string;
  /** The advisory-lock key (decimal string of a signed 64-bit integer). */
  readonly key: string;
  /**
   * The dedicated session holding the lock. It may be used for queries; do not release it directly (use
   * release()).
   */
  readonly session: DbSession;
  /**
   * True when the session still holds the lock (asks pg_locks). False after release() or when the
   * connection died; throws nothing.
   */
  isHeld(): Promise<boolean>;
  /** Unlocks and closes the session. Idempotent; never throws. */
  release(): Promise<void>;
}

/**
 * Tries to take the run lock of `repository` without waiting: pg_try_advisory_lock on a dedicated session.
 * @returns the held lock, or null when another session holds it (the session opened here is closed)
 * @throws Error when repository is empty; the driver's error when the session cannot be opened or queried
 *   (the session is closed first)
 */
export async function tryAcquireRunLock(db: Db, repository: string): Promise<RunLock | null> {
  const key = runLockKey(repository);
  const session = await db.session();
  let locked: boolean;
  try {
    const rows = await session.query<{ locked: boolean }>(
      'SELECT pg_try_advisory_lock($1::bigint) AS locked',
      [key],
    );
    locked = rows[0]?.locked === true;
  } catch (error) {
    await session.release();
    throw error;
  }
  if (!locked) {
    await session.release();
    return null;
  }
  let released: Promise<void> | undefined;
  return {
    repository,
    key,
    session,
    async isHeld(): Promise<boolean> {
      if (released !== undefined) return false;
      try {
        // A bigint advisory key is stored as classid = high 32 bits, objid = low 32 bits, objsubid = 1.
        const rows = await session.query<{ held: boolean }>(
          `SELECT EXISTS (
             SELECT 1 FROM pg_locks
             WHERE locktype = 'advisory' AND granted AND pid = pg_backend_pid() AND objsubid = 1
               AND classid::bigint = (($1::bigint >> 32) & 4294967295)
               AND objid::bigint = ($1::bigint & 4294967295)
           ) AS held`,
          [key],
        );
        return rows[0]?.held === true;
      } catch {
        return false;
      }
    },
    release(): Promise<void> {
      released ??= session.release().catch(() => undefined);
      return released;
    },
  };
}
