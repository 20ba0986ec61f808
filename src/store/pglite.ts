/**
 * The PGlite (Postgres 18 in WebAssembly) implementation of Db: the CLI's embedded default before the embedded
 * Postgres server (store/embedded-server.ts), still used for a `.self-evolution/db` PGlite directory an earlier
 * version made (store/open.ts). It loads the wasm build in the process (about 1 s and 370 MiB per command).
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
import { mkdirSync } from 'node:fs';
import { resolve } from 'node:path';

import type { PGlite } from '@electric-sql/pglite';

import type { Db, DbSession } from './db.js';
import { DatabaseBusyError } from './errors.js';
import { errorText, tryLockFile, type LockFile } from './lockfile.js';

/** The lock file that guards an embedded database directory: `<absolute dir>.lock`. */
export function embeddedLockPath(dir: string): string {
  return `${resolve(dir)}.lock`;
}

/**
 * Takes `<dir>.lock` for this process.
 * @throws DatabaseBusyError when the lock file names a live process (this one included)
 * @throws Error naming the lock file when it cannot be created
 */
function acquireLockFile(dir: string): LockFile {
  const taken = tryLockFile(`${dir}.lock`, 'the embedded database');
  if ('heldBy' in taken) throw new DatabaseBusyError(dir, taken.heldBy);
  return taken;
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
