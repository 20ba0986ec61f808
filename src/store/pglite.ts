/**
 * The PGlite (Postgres 18 in WebAssembly) implementation of Db, the CLI's embedded default.
 *
 * PGlite is one Postgres backend in this process, on one connection, and its data directory may be used by
 * ONE process at a time. So:
 * - openEmbedded takes an exclusive lock file `<dir>.lock` holding our pid, before opening the directory;
 *   a lock file naming a live process means busy (DatabaseBusyError), one naming a dead process is stale
 *   and taken over. The file is removed by close() and on process exit (a SIGKILL leaves it behind; the
 *   next open takes it over because the pid is dead).
 * - Queries are serialized: PGlite runs every query()/exec() under its own mutex, so concurrent callers
 *   queue (verified in __tests__/store.pglite.test.ts).
 * - session() is a view of the same connection. Advisory locks therefore behave as one backend: they are
 *   re-entrant within the process (a second pg_try_advisory_lock on the same key succeeds); exclusion
 *   between processes comes from the lock file, which keeps every other process out entirely. A BEGIN sent
 *   through a session is not isolated from concurrent queries of the same process.
 * - int8 values come back as JS numbers (node-postgres returns strings): keep ids int4 and cast bigints to
 *   text where they must be read.
 */
import { randomBytes } from 'node:crypto';
import {
  closeSync,
  linkSync,
  mkdirSync,
  openSync,
  readFileSync,
  renameSync,
  unlinkSync,
  writeSync,
} from 'node:fs';
import { resolve } from 'node:path';

import type { PGlite } from '@electric-sql/pglite';

import type { Db, DbSession } from './db.js';
import { DatabaseBusyError } from './errors.js';

/** The lock file that guards an embedded database directory: `<absolute dir>.lock`. */
export function embeddedLockPath(dir: string): string {
  return `${resolve(dir)}.lock`;
}

/** True when a process with this pid exists (EPERM means it exists but belongs to another user). */
function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/**
 * Reads the pid in a lock file.
 * @returns the pid; null when the file holds no valid pid; undefined when the file does not exist
 */
function readLockPid(path: string): number | null | undefined {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw error;
  }
  const pid = Number(text.trim());
  return Number.isSafeInteger(pid) && pid > 0 ? pid : null;
}

function errorText(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

/**
 * Creates `path` exclusively with our pid already in it: the pid is written to a private temporary file
 * which is then hard-linked to `path` (link fails with EEXIST like O_EXCL, and a reader never sees an empty
 * lock file). Falls back to open(O_CREAT|O_EXCL) + write where the filesystem has no hard links.
 * @returns true when created, false when `path` already exists
 */
function createExclusive(path: string): boolean {
  const content = `${process.pid}\n`;
  const temporary = `${path}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`;
  let linked: boolean | 'unsupported';
  try {
    const fd = openSync(temporary, 'wx', 0o644);
    try {
      writeSync(fd, content);
    } finally {
      closeSync(fd);
    }
    try {
      linkSync(temporary, path);
      linked = true;
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code;
      if (code === 'EEXIST') linked = false;
      else if (code === 'EPERM' || code === 'ENOTSUP' || code === 'ENOSYS' || code === 'EXDEV') {
        linked = 'unsupported';
      } else throw error;
    }
  } finally {
    try {
      unlinkSync(temporary);
    } catch {
      // already gone
    }
  }
  if (linked !== 'unsupported') return linked;
  try {
    const fd = openSync(path, 'wx', 0o644);
    try {
      writeSync(fd, content);
    } finally {
      closeSync(fd);
    }
    return true;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'EEXIST') return false;
    throw error;
  }
}

/**
 * Removes a stale lock file whose pid was `stalePid`, without ever deleting a lock that a live process
 * created in the meantime: the file is first renamed aside (atomic), then checked; if it turns out to be
 * someone else's fresh lock it is linked back.
 */
function removeStaleLock(path: string, stalePid: number | null): void {
  const aside = `${path}.${process.pid}.${randomBytes(4).toString('hex')}.stale`;
  try {
    renameSync(path, aside);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return;
    throw error;
  }
  try {
    if (readLockPid(aside) !== stalePid) {
      try {
        linkSync(aside, path);
      } catch {
        // a third process took the lock meanwhile; it owns the directory now
      }
    }
  } finally {
    unlinkSync(aside);
  }
}

/** A held lock file. */
interface LockFile {
  readonly path: string;
  /** Removes the lock file if it is still ours. Idempotent. */
  release(): void;
}

/**
 * Takes `<dir>.lock` for this process.
 * @throws DatabaseBusyError when the lock file names a live process (this one included)
 * @throws Error naming the lock file when it cannot be created
 */
function acquireLockFile(dir: string): LockFile {
  const path = `${dir}.lock`;
  for (let attempt = 0; attempt < 5; attempt++) {
    let created: boolean;
    try {
      created = createExclusive(path);
    } catch (error) {
      throw new Error(`cannot create the lock file ${path} for the embedded database: ${errorText(error)}`, {
        cause: error,
      });
    }
    if (created) {
      let released = false;
      const release = (): void => {
        if (released) return;
        released = true;
        process.removeListener('exit', release);
        try {
          if (readLockPid(path) === process.pid) unlinkSync(path);
        } catch {
          // best effort: a leftover lock with our (then dead) pid is taken over by the next open
        }
      };
      process.on('exit', release);
      return { path, release };
    }
    const owner = readLockPid(path);
    if (owner === undefined) continue; // removed between our attempt and the read: try again
    if (owner !== null && isAlive(owner)) throw new DatabaseBusyError(dir, owner);
    removeStaleLock(path, owner);
  }
  throw new Error(`cannot take the lock file ${path}: other processes keep creating it; try again`);
}

/**
 * Opens (creating when missing) the embedded PGlite database in directory `dir`.
 *
 * @param dir data directory (relative paths resolve against the working directory); parents are created
 * @returns a Db of kind 'pglite' described as "pglite <absolute dir>"; close() closes PGlite and removes
 *   the lock file
 * @throws DatabaseBusyError when another live process holds `<dir>.lock`
 * @throws Error naming the directory when the lock file cannot be created or PGlite cannot open the data
 *   (the original error is the `cause`)
 */
export async function openEmbedded(dir: string): Promise<Db> {
  const absolute = resolve(dir);
  try {
    mkdirSync(absolute, { recursive: true });
  } catch (error) {
    throw new Error(`cannot create the embedded database directory ${absolute}: ${errorText(error)}`, {
      cause: error,
    });
  }
  const lock = acquireLockFile(absolute);

  let pglite: PGlite;
  try {
    // Loaded on demand: the Action talks to a real server and never needs the wasm build.
    const { PGlite: PGliteClass } = await import('@electric-sql/pglite');
    pglite = await PGliteClass.create({ dataDir: absolute });
  } catch (error) {
    lock.release();
    throw new Error(`cannot open the embedded database at ${absolute}: ${errorText(error)}`, {
      cause: error,
    });
  }

  const description = `pglite ${absolute}`;
  let closing: Promise<void> | undefined;
  let openSessions = 0;

  const query = async <T = Record<string, unknown>>(sql: string, params?: unknown[]): Promise<T[]> => {
    if (closing !== undefined) throw new Error(`${description} is closed`);
    const result = await pglite.query<T>(sql, params);
    return result.rows;
  };
  const exec = async (sql: string): Promise<void> => {
    if (closing !== undefined) throw new Error(`${description} is closed`);
    await pglite.exec(sql);
  };

  return {
    kind: 'pglite',
    description,
    query,
    exec,
    async session(): Promise<DbSession> {
      if (closing !== undefined) throw new Error(`${description} is closed; cannot open a session`);
      openSessions++;
      let released: Promise<void> | undefined;
      return {
        query,
        exec,
        /**
         * Ends this view. The connection is shared, so `pg_advisory_unlock_all()` runs when the last open
         * session is released (releasing one would otherwise drop the locks another session still holds).
         */
        release(): Promise<void> {
          released ??= (async () => {
            openSessions--;
            if (openSessions === 0 && closing === undefined) {
              await pglite.query('SELECT pg_advisory_unlock_all()').catch(() => undefined);
            }
          })();
          return released;
        },
        /** PGlite runs in this process: its connection cannot be lost, so the listener is never called. */
        onLost(): () => void {
          return () => undefined;
        },
      };
    },
    close(): Promise<void> {
      closing ??= (async () => {
        try {
          await pglite.close();
        } finally {
          lock.release();
        }
      })();
      return closing;
    },
  };
}
