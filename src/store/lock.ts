/**
 * The run lock: at most one run per repository at a time, in one of two forms.
 * - 'advisory' (the design's original form): a session-level advisory lock on a stable 64-bit key derived from the
 *   repository name, on the Db's one connection (store/pg.ts). The server releases it when that connection closes,
 *   so a crashed run frees it at once; and since every statement of the run goes over that connection, a run that
 *   lost its connection can write nothing more.
 * - 'lease': a row of self_evolution_run_leases with an owner, an expiry renewed at every check, and a fencing token
 *   that every later write of the run presents (Db.setWriteFence), so a run whose lease expired or was taken can
 *   write nothing. It works through a transaction-mode connection pooler, where the advisory lock does not hold (the
 *   next statement may run on another server connection). A crashed run's lease frees itself when it expires.
 * 'auto' (the default) takes the lease when the connection goes through a pooler or proxy (Db.route), else the
 * advisory lock.
 */
import { createHash } from 'node:crypto';
import { hostname } from 'node:os';

import type { Db, DbSession } from './db.js';
import { RunLockLostError } from './errors.js';

/** How the run lock is held: config `database.lock`. */
export type RunLockMode = 'auto' | 'advisory' | 'lease';

/** How long a lease lasts without renewal, ms (five minutes): five heartbeats (store/runs.ts HEARTBEAT_INTERVAL_MS). */
export const DEFAULT_LEASE_MS = 300_000;

/** Shortest lease, ms (two minutes: two heartbeats); a shorter one could expire between two renewals. */
export const MIN_LEASE_MS = 120_000;

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
  /** The advisory-lock key (decimal string of a signed 64-bit integer); also the lease's key in messages. */
  readonly key: string;
  /** Which form it took. */
  readonly kind: 'advisory' | 'lease';
  /** The lease's fencing token (decimal string), for 'lease'. */
  readonly token?: string;
  /** Why this form, in words (for the log and the run record): the mode asked for and what the route check saw. */
  readonly why: string;
  /**
   * The session the lock was taken on (a view of the Db's connection). It may be used for queries; do not release
   * it directly (use release()).
   */
  readonly session: DbSession;
  /**
   * True while the lock is held: 'advisory' asks pg_locks on the connection; 'lease' renews the lease (a new expiry
   * of leaseMs from the server's now) and is false when it had expired or was taken. False after release() or when
   * the connection died; throws nothing.
   */
  isHeld(): Promise<boolean>;
  /**
   * Calls `listener` once when the lock is known lost: the connection died (DbSession.onLost), or, for a lease, a
   * renewal or a write's fence check found it expired or taken. Returns a function that removes the listener.
   */
  onLost(listener: (detail: string) => void): () => void;
  /** Unlocks (or lets the lease expire now); the Db stays open. Idempotent; never throws. */
  release(): Promise<void>;
}

/** Options of {@link tryAcquireRunLock}. */
export interface RunLockOptions {
  /** 'auto' (default), 'advisory' or 'lease' (see the module's description). */
  mode?: RunLockMode;
  /** Lease length, ms (default DEFAULT_LEASE_MS, at least MIN_LEASE_MS). */
  leaseMs?: number;
  /** Who holds the lease, for the row and messages (default "<host name> pid <pid>"). */
  owner?: string;
}

/**
 * Tries to take the run lock of `repository` without waiting, in the form `options.mode` asks for ('auto': the
 * lease when Db.route says the connection is proxied, else the advisory lock; a Db without a fence, the PGlite
 * database, always takes the advisory lock). With a lease, installs the write fence on `db`.
 * @returns the held lock, or null when another run holds it
 * @throws Error when repository is empty or leaseMs < MIN_LEASE_MS; the driver's error when the database cannot
 *   be queried (for a lease: also when self_evolution_run_leases does not exist: migrate first)
 */
export async function tryAcquireRunLock(
  db: Db,
  repository: string,
  options: RunLockOptions = {},
): Promise<RunLock | null> {
  const key = runLockKey(repository);
  const mode = options.mode ?? 'auto';
  const leaseMs = options.leaseMs ?? DEFAULT_LEASE_MS;
  if (!Number.isInteger(leaseMs) || leaseMs < MIN_LEASE_MS) {
    throw new Error(`tryAcquireRunLock: leaseMs is ${leaseMs}; expected an integer >= ${MIN_LEASE_MS}`);
  }
  let kind: 'advisory' | 'lease';
  let why: string;
  if (mode !== 'advisory' && db.setWriteFence === undefined) {
    kind = 'advisory';
    why = `${db.kind} has no write fence: advisory lock`;
  } else if (mode === 'auto') {
    const route = db.route ? await db.route() : { kind: 'unknown' as const, detail: 'no route check' };
    kind = route.kind === 'proxied' ? 'lease' : 'advisory';
    why = `lock "auto": ${route.detail}; ${kind === 'lease' ? 'lease' : 'advisory lock'}`;
  } else {
    kind = mode;
    why = `lock "${mode}" (config database.lock)`;
  }
  const session = await db.session();
  try {
    const lock =
      kind === 'lease'
        ? await takeLease(db, session, repository, key, why, leaseMs, options.owner ?? defaultOwner())
        : await takeAdvisory(db, session, repository, key, why);
    if (!lock) await session.release();
    return lock;
  } catch (error) {
    await session.release();
    throw error;
  }
}

/** "<host name> pid <pid>". */
function defaultOwner(): string {
  return `${hostname()} pid ${process.pid}`;
}

/** Listeners told once, with the first detail. */
function lossNotifier(session: DbSession): {
  onLost: (listener: (detail: string) => void) => () => void;
  lose: (detail: string) => void;
} {
  let lostDetail: string | undefined;
  const listeners = new Set<(detail: string) => void>();
  const lose = (detail: string): void => {
    if (lostDetail !== undefined) return;
    lostDetail = detail;
    for (const listener of [...listeners]) listener(detail);
    listeners.clear();
  };
  session.onLost(lose);
  return {
    lose,
    onLost(listener) {
      if (lostDetail !== undefined) {
        const detail = lostDetail;
        queueMicrotask(() => listener(detail));
        return () => undefined;
      }
      listeners.add(listener);
      return () => void listeners.delete(listener);
    },
  };
}

/**
 * The advisory keys each Db holds through this module. Advisory locks are re-entrant on one connection and a Db has
 * one, so a second tryAcquireRunLock on the same Db must be refused here, not by the server.
 */
const heldKeys = new WeakMap<Db, Set<string>>();

/** pg_try_advisory_lock on the session; null when another session, or this Db already, holds it. */
async function takeAdvisory(
  db: Db,
  session: DbSession,
  repository: string,
  key: string,
  why: string,
): Promise<RunLock | null> {
  const mine = heldKeys.get(db) ?? new Set<string>();
  heldKeys.set(db, mine);
  if (mine.has(key)) return null;
  const rows = await session.query<{ locked: boolean }>('SELECT pg_try_advisory_lock($1::bigint) AS locked', [
    key,
  ]);
  if (rows[0]?.locked !== true) return null;
  mine.add(key);
  const notifier = lossNotifier(session);
  let released: Promise<void> | undefined;
  return {
    repository,
    key,
    kind: 'advisory',
    why,
    session,
    async isHeld(): Promise<boolean> {
      if (released !== undefined) return false;
      try {
        // A bigint advisory key is stored as classid = high 32 bits, objid = low 32 bits, objsubid = 1.
        const held = await session.query<{ held: boolean }>(
          `SELECT EXISTS (
             SELECT 1 FROM pg_locks
             WHERE locktype = 'advisory' AND granted AND pid = pg_backend_pid() AND objsubid = 1
               AND classid::bigint = (($1::bigint >> 32) & 4294967295)
               AND objid::bigint = ($1::bigint & 4294967295)
           ) AS held`,
          [key],
        );
        return held[0]?.held === true;
      } catch {
        return false;
      }
    },
    onLost: notifier.onLost,
    release(): Promise<void> {
      released ??= (async () => {
        mine.delete(key);
        await session.query('SELECT pg_advisory_unlock($1::bigint)', [key]).catch(() => undefined);
        await session.release().catch(() => undefined);
      })();
      return released;
    },
  };
}

/** The lease row's condition while `token` holds it: its token, not expired (the server's clock). */
const HELD = 'repository = $1 AND token = $2::bigint AND expires_at > now()';

/**
 * Takes the lease of `repository` when it has expired or never existed (token + 1), and fences every later write
 * of `db` with it. null when another run holds an unexpired lease.
 */
async function takeLease(
  db: Db,
  session: DbSession,
  repository: string,
  key: string,
  why: string,
  leaseMs: number,
  owner: string,
): Promise<RunLock | null> {
  const rows = await session.query<{ token: string }>(
    `INSERT INTO self_evolution_run_leases AS l (repository, token, owner, acquired_at, renewed_at, expires_at)
     VALUES ($1, 1, $2, now(), now(), now() + $3::integer * interval '1 millisecond')
     ON CONFLICT (repository) DO UPDATE
       SET token = l.token + 1, owner = EXCLUDED.owner, acquired_at = now(), renewed_at = now(),
           expires_at = EXCLUDED.expires_at
       WHERE l.expires_at <= now()
     RETURNING token::text AS token`,
    [repository, owner, leaseMs],
  );
  const token = rows[0]?.token;
  if (token === undefined) return null;
  const notifier = lossNotifier(session);
  const lostWords = `its lease (token ${token}) expired or another run took it`;
  // Every later write of this Db first finds the row still ours (FOR SHARE: a run taking the lease over waits for
  // that write's transaction, and the write waits for a takeover in progress).
  db.setWriteFence!({
    sql: `SELECT 1 FROM self_evolution_run_leases WHERE ${HELD} FOR SHARE`,
    params: [repository, token],
    refused: () => {
      notifier.lose(lostWords);
      return new RunLockLostError(repository, lostWords);
    },
  });
  let released: Promise<void> | undefined;
  return {
    repository,
    key,
    kind: 'lease',
    token,
    why,
    session,
    async isHeld(): Promise<boolean> {
      if (released !== undefined) return false;
      try {
        const renewed = await session.query(
          `UPDATE self_evolution_run_leases
           SET renewed_at = now(), expires_at = now() + $3::integer * interval '1 millisecond'
           WHERE ${HELD} RETURNING 1 AS renewed`,
          [repository, token, leaseMs],
        );
        if (renewed.length === 0) notifier.lose(lostWords);
        return renewed.length > 0;
      } catch {
        return false;
      }
    },
    onLost: notifier.onLost,
    release(): Promise<void> {
      // The fence stays: after the release this run writes nothing more.
      released ??= (async () => {
        await session
          .query(`UPDATE self_evolution_run_leases SET expires_at = now() WHERE ${HELD}`, [repository, token])
          .catch(() => undefined);
        await session.release().catch(() => undefined);
      })();
      return released;
    },
  };
}

/**
 * The RunLockOptions of config `database` (`lock`, `leaseSeconds`, s) for a run of workflow run `workflowRunId`
 * (named in the lease's owner when there is one).
 */
export function runLockOptionsOf(
  database: { lock: RunLockMode; leaseSeconds: number },
  workflowRunId?: number,
): RunLockOptions {
  return {
    mode: database.lock,
    leaseMs: database.leaseSeconds * 1000,
    owner: workflowRunId === undefined ? defaultOwner() : `workflow run ${workflowRunId} (${defaultOwner()})`,
  };
}
