/**
 * Lock files: a file holding the pid of the process that holds it, created exclusively (a hard link of a private
 * temporary file, so a reader never sees it empty). A lock file naming a dead process is stale and taken over
 * without ever deleting a lock a live process created meanwhile. Used for the PGlite directory (one process at a
 * time) and to serialize the start and stop of the embedded Postgres server.
 */
import { randomBytes } from 'node:crypto';
import { closeSync, linkSync, openSync, readFileSync, renameSync, unlinkSync, writeSync } from 'node:fs';

/** True when a process with this pid exists (EPERM means it exists but belongs to another user). */
export function isAlive(pid: number): boolean {
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
export function readLockPid(path: string): number | null | undefined {
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

export function errorText(error: unknown): string {
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
export interface LockFile {
  readonly path: string;
  /** Removes the lock file if it is still ours. Idempotent. */
  release(): void;
}

/**
 * Takes the lock file `path` for this process without waiting: creates it holding our pid; a lock file naming a
 * dead process (or holding no pid) is stale and taken over. The file is removed by release() and on process exit
 * (a SIGKILL leaves it behind; the next taker takes it over because the pid is dead).
 * @param what what the lock guards, for messages (e.g. "the embedded database")
 * @returns the held lock, or `{ heldBy }` with the pid of the live process that holds it (this one included)
 * @throws Error naming the lock file when it cannot be created
 */
export function tryLockFile(path: string, what: string): LockFile | { heldBy: number } {
  for (let attempt = 0; attempt < 5; attempt++) {
    let created: boolean;
    try {
      created = createExclusive(path);
    } catch (error) {
      throw new Error(`cannot create the lock file ${path} for ${what}: ${errorText(error)}`, {
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
          // best effort: a leftover lock with our (then dead) pid is taken over by the next taker
        }
      };
      process.on('exit', release);
      return { path, release };
    }
    const owner = readLockPid(path);
    if (owner === undefined) continue; // removed between our attempt and the read: try again
    if (owner !== null && isAlive(owner)) return { heldBy: owner };
    removeStaleLock(path, owner);
  }
  throw new Error(`cannot take the lock file ${path}: other processes keep creating it; try again`);
}

/**
 * Takes the lock file `path`, waiting while a live process holds it (polling every `pollMs`).
 * @param what what the lock guards, for messages
 * @throws Error saying which process holds it when `timeoutMs` passed; Error when it cannot be created
 */
export async function waitForLockFile(
  path: string,
  what: string,
  timeoutMs: number,
  pollMs = 20,
): Promise<LockFile> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const taken = tryLockFile(path, what);
    if (!('heldBy' in taken)) return taken;
    if (Date.now() >= deadline) {
      throw new Error(
        `process ${taken.heldBy} has held ${path} (${what}) for more than ${Math.round(timeoutMs / 1000)} s; ` +
          'if it is stuck, stop it and try again',
      );
    }
    await new Promise((resolveWait) => setTimeout(resolveWait, pollMs));
  }
}
