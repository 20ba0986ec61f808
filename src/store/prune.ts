/**
 * Retention: deleting old runs with every row that belongs to them (`self-evolution prune --older-than 400d`).
 *
 * A run goes when it started before the cutoff (the database's now() minus the age asked for), is finished (not
 * 'running' or 'planned') and leaves nothing in flight: none of its pull requests is unfinished (an action
 * 'planned', 'pushed' or 'submitted': the pull request may still be open, and reconciliation follows it) and no
 * revert of its self-changes, nor one it decided, is in flight (a rollback 'planned', 'pushed' or 'submitted').
 * Such runs are kept, with their rows, until those reach a final state, so the audit trail of everything still
 * open stays whole.
 *
 * With a run go its reflections, proposals, actions (by run_id and by proposal) and those actions' rollbacks.
 * Rows of other tables that only point at it keep their own history: a rollback of a kept self-change that a pruned
 * run decided, and a breaker trip a pruned run recorded, lose their run_id (set to NULL, as their foreign keys'
 * ON DELETE SET NULL would). Breaker trips, feature flags and the run leases are never deleted.
 *
 * Deletion goes in batches, each its own short transaction: lock at most `batchSize` old runs, lowest ids first,
 * with FOR UPDATE SKIP LOCKED (a run row someone else holds is skipped, never waited for), lock their actions,
 * check again that nothing of theirs is in flight, delete the children explicitly (rollbacks, actions, proposals,
 * reflections), then the runs, and commit. A running run's writes touch its own, recent run row and children, never
 * these, so it is not blocked; a batch holds its locks briefly (migration 000008 indexes every foreign key to runs,
 * so the deletes never scan a whole table per run deleted).
 */
import type { Db, Queryable } from './db.js';

/** The shortest age `pruneRuns` accepts, ms (one day): younger runs feed the gates and today's status. */
export const PRUNE_MIN_AGE_MS = 24 * 60 * 60 * 1000;

/** Runs per batch by default. */
export const PRUNE_DEFAULT_BATCH_SIZE = 500;

/** The largest batch, runs: a batch is one transaction, and its locks must stay short. */
export const PRUNE_MAX_BATCH_SIZE = 10_000;

/** Action and rollback statuses that are not final: a pull request (or its revert) that may still move. */
export const IN_FLIGHT_STATUSES: readonly string[] = Object.freeze(['planned', 'pushed', 'submitted']);

/** Rows per table: deleted by a prune, or that a dry run would delete. */
export interface PruneCounts {
  runs: number;
  reflections: number;
  proposals: number;
  actions: number;
  rollbacks: number;
  /** Rollbacks kept (their self-change is kept) whose deciding run went: run_id set to NULL. */
  rollbacksUnlinked: number;
  /** Breaker trips recorded by a run that went: run_id set to NULL (the trip itself is kept). */
  breakerTripsUnlinked: number;
}

/** What one committed batch did. */
export interface PruneBatch {
  /** 1-based. */
  batch: number;
  /** The ids of the runs deleted, ascending. */
  runIds: number[];
  counts: PruneCounts;
  /** How long its transaction took, ms. */
  ms: number;
}

/** What `pruneRuns` did (or, in a dry run, would do). */
export interface PruneResult {
  /** Runs that started before this instant were candidates (the database's now() minus the age). */
  cutoff: Date;
  /** The repository pruned, or null for every repository in the database. */
  repository: string | null;
  dryRun: boolean;
  batchSize: number;
  /** Batches committed (0 in a dry run). */
  batches: number;
  /** Rows deleted per table (a dry run: rows that would be). */
  deleted: PruneCounts;
  /** Old runs that stay, and why. */
  kept: {
    /** Still 'running' (or 'planned'): never deleted. */
    unfinished: number;
    /** Finished, but a pull request or a revert of theirs is not in a final state. */
    inFlight: number;
    /**
     * Deletable, but another transaction held their row while the batches ran (skipped, not waited for); the next
     * prune deletes them. Always 0 in a dry run.
     */
    locked: number;
  };
}

/** Options of {@link pruneRuns}. */
export interface PruneOptions {
  /** Delete runs that started more than this long before the database's now(), ms; at least PRUNE_MIN_AGE_MS. */
  olderThanMs: number;
  /** Only this repository ('owner/name'); undefined: every repository in the database. */
  repository?: string;
  /** Runs per batch, 1..PRUNE_MAX_BATCH_SIZE (default PRUNE_DEFAULT_BATCH_SIZE). */
  batchSize?: number;
  /** Count what would go, delete nothing. */
  dryRun?: boolean;
  /** Stop after this many batches (default: until no deletable run is left). */
  maxBatches?: number;
  /** Called after each committed batch (progress). */
  onBatch?: (batch: PruneBatch) => void;
}

/** IN_FLIGHT_STATUSES as an SQL list. */
const STATUSES = `(${IN_FLIGHT_STATUSES.map((status) => `'${status}'`).join(', ')})`;

/**
 * The ids of the runs that have something in flight: an unfinished action (by run_id or through a proposal), a
 * rollback in flight of such a run's action, or one the run decided. A handful of rows whatever the history: read
 * once per statement (a hashed subplan), never once per old run. No NULL among them (NOT IN needs none).
 */
const IN_FLIGHT_RUNS = `
  SELECT a.run_id FROM self_evolution_actions a WHERE a.status IN ${STATUSES} AND a.run_id IS NOT NULL
  UNION
  SELECT p.run_id FROM self_evolution_actions a JOIN self_evolution_proposals p ON p.id = a.proposal_id
  WHERE a.status IN ${STATUSES}
  UNION
  SELECT a.run_id FROM self_evolution_rollbacks b JOIN self_evolution_actions a ON a.id = b.action_id
  WHERE b.status IN ${STATUSES} AND a.run_id IS NOT NULL
  UNION
  SELECT p.run_id FROM self_evolution_rollbacks b JOIN self_evolution_actions a ON a.id = b.action_id
    JOIN self_evolution_proposals p ON p.id = a.proposal_id
  WHERE b.status IN ${STATUSES}
  UNION
  SELECT b.run_id FROM self_evolution_rollbacks b WHERE b.status IN ${STATUSES} AND b.run_id IS NOT NULL`;

/** The run `r` has nothing in flight. */
const NOTHING_IN_FLIGHT = `r.id NOT IN (${IN_FLIGHT_RUNS})`;

/** Old ($1: the cutoff), of the repository ($2, or every one when NULL), finished. */
const OLD_FINISHED = `r.started_at < $1 AND ($2::text IS NULL OR r.repository = $2::text)
  AND r.status NOT IN ('running', 'planned')`;

/** A run that may go (parameters $1 cutoff, $2 repository). */
const DELETABLE = `${OLD_FINISHED} AND ${NOTHING_IN_FLIGHT}`;

/** The actions of the runs $1 (int[]): by run_id and through their proposals (each through its index). */
const ACTIONS_OF_RUNS = `SELECT a.id FROM self_evolution_actions a
  WHERE a.run_id = ANY($1::int[])
    OR a.proposal_id = ANY(ARRAY(SELECT p.id FROM self_evolution_proposals p WHERE p.run_id = ANY($1::int[])))`;

const ZERO: PruneCounts = Object.freeze({
  runs: 0,
  reflections: 0,
  proposals: 0,
  actions: 0,
  rollbacks: 0,
  rollbacksUnlinked: 0,
  breakerTripsUnlinked: 0,
});

function add(a: PruneCounts, b: PruneCounts): PruneCounts {
  const sum = { ...a };
  for (const key of Object.keys(sum) as (keyof PruneCounts)[]) sum[key] += b[key];
  return sum;
}

/**
 * @throws Error naming the value for an age under PRUNE_MIN_AGE_MS (or not a finite number), a batch size out of
 *   range, a maxBatches that is not a whole number >= 1 or a blank repository
 */
function checkOptions(options: PruneOptions): number {
  const { olderThanMs, repository, maxBatches } = options;
  if (!Number.isFinite(olderThanMs) || olderThanMs < PRUNE_MIN_AGE_MS) {
    throw new Error(
      `pruneRuns: olderThanMs must be at least ${PRUNE_MIN_AGE_MS} (one day), got ${String(olderThanMs)}`,
    );
  }
  const batchSize = options.batchSize ?? PRUNE_DEFAULT_BATCH_SIZE;
  if (!Number.isInteger(batchSize) || batchSize < 1 || batchSize > PRUNE_MAX_BATCH_SIZE) {
    throw new Error(
      `pruneRuns: batchSize must be a whole number from 1 to ${PRUNE_MAX_BATCH_SIZE}, got ${String(batchSize)}`,
    );
  }
  if (maxBatches !== undefined && (!Number.isInteger(maxBatches) || maxBatches < 1)) {
    throw new Error(`pruneRuns: maxBatches must be a whole number >= 1, got ${String(maxBatches)}`);
  }
  if (repository !== undefined && repository.trim() === '') {
    throw new Error('pruneRuns: repository is empty; give "owner/name" or leave it out for every repository');
  }
  return batchSize;
}

/** How many old runs stay because they are unfinished or have something in flight. */
async function keptCounts(
  db: Queryable,
  cutoff: Date,
  repository: string | null,
): Promise<{ unfinished: number; inFlight: number }> {
  const [row] = await db.query<{ unfinished: number; in_flight: number }>(
    `SELECT
       (SELECT count(*)::int FROM self_evolution_runs r
        WHERE r.started_at < $1 AND ($2::text IS NULL OR r.repository = $2::text)
          AND r.status IN ('running', 'planned')) AS unfinished,
       (SELECT count(*)::int FROM self_evolution_runs r WHERE ${OLD_FINISHED} AND r.id IN (${IN_FLIGHT_RUNS}))
         AS in_flight`,
    [cutoff, repository],
  );
  return { unfinished: Number(row!.unfinished), inFlight: Number(row!.in_flight) };
}

/** What deleting every deletable run would delete, per table (one read; the dry run). */
async function wouldDelete(db: Queryable, cutoff: Date, repository: string | null): Promise<PruneCounts> {
  const [row] = await db.query<Record<string, number>>(
    `WITH doomed AS MATERIALIZED (SELECT r.id FROM self_evolution_runs r WHERE ${DELETABLE}),
     doomed_actions AS MATERIALIZED (
       SELECT a.id FROM self_evolution_actions a WHERE a.run_id IN (SELECT id FROM doomed)
       UNION
       SELECT a.id FROM self_evolution_actions a JOIN self_evolution_proposals p ON p.id = a.proposal_id
       WHERE p.run_id IN (SELECT id FROM doomed)
     )
     SELECT
       (SELECT count(*)::int FROM doomed) AS runs,
       (SELECT count(*)::int FROM self_evolution_reflections WHERE run_id IN (SELECT id FROM doomed)) AS reflections,
       (SELECT count(*)::int FROM self_evolution_proposals WHERE run_id IN (SELECT id FROM doomed)) AS proposals,
       (SELECT count(*)::int FROM doomed_actions) AS actions,
       (SELECT count(*)::int FROM self_evolution_rollbacks WHERE action_id IN (SELECT id FROM doomed_actions))
         AS rollbacks,
       (SELECT count(*)::int FROM self_evolution_rollbacks
        WHERE run_id IN (SELECT id FROM doomed) AND action_id NOT IN (SELECT id FROM doomed_actions))
         AS rollbacks_unlinked,
       (SELECT count(*)::int FROM self_evolution_breaker_trips WHERE run_id IN (SELECT id FROM doomed))
         AS breaker_trips_unlinked`,
    [cutoff, repository],
  );
  return {
    runs: Number(row!.runs),
    reflections: Number(row!.reflections),
    proposals: Number(row!.proposals),
    actions: Number(row!.actions),
    rollbacks: Number(row!.rollbacks),
    rollbacksUnlinked: Number(row!.rollbacks_unlinked),
    breakerTripsUnlinked: Number(row!.breaker_trips_unlinked),
  };
}

/** The number of rows a DELETE/UPDATE ... RETURNING 1 returned. */
async function changed(db: Queryable, sql: string, params: unknown[]): Promise<number> {
  return (await db.query(sql, params)).length;
}

/**
 * One batch in its own transaction on `session` (see the module docs).
 * @returns the runs deleted and the rows per table, or null when no deletable run was left to lock
 */
async function deleteBatch(
  session: Queryable,
  cutoff: Date,
  repository: string | null,
  batchSize: number,
): Promise<{ runIds: number[]; counts: PruneCounts } | null> {
  await session.query('BEGIN');
  try {
    const locked = await session.query<{ id: number }>(
      `SELECT r.id FROM self_evolution_runs r WHERE ${DELETABLE}
       ORDER BY r.id
       LIMIT $3
       FOR UPDATE OF r SKIP LOCKED`,
      [cutoff, repository, batchSize],
    );
    if (locked.length === 0) {
      await session.query('COMMIT');
      return null;
    }
    // Their actions, locked too (a revert being recorded for one of them waits, then finds it gone); then the runs
    // checked again under those locks, so nothing that went in flight meanwhile is deleted.
    const lockedIds = locked.map((r) => Number(r.id));
    await session.query(`${ACTIONS_OF_RUNS} FOR UPDATE OF a`, [lockedIds]);
    const still = await session.query<{ id: number }>(
      `SELECT r.id FROM self_evolution_runs r WHERE r.id = ANY($3::int[]) AND ${DELETABLE} ORDER BY r.id`,
      [cutoff, repository, lockedIds],
    );
    const ids = still.map((r) => Number(r.id));
    const counts: PruneCounts = { ...ZERO };
    if (ids.length > 0) {
      const params = [ids];
      counts.rollbacks = await changed(
        session,
        `DELETE FROM self_evolution_rollbacks WHERE action_id = ANY(ARRAY(${ACTIONS_OF_RUNS})) RETURNING 1`,
        params,
      );
      counts.rollbacksUnlinked = await changed(
        session,
        'UPDATE self_evolution_rollbacks SET run_id = NULL WHERE run_id = ANY($1::int[]) RETURNING 1',
        params,
      );
      counts.breakerTripsUnlinked = await changed(
        session,
        'UPDATE self_evolution_breaker_trips SET run_id = NULL WHERE run_id = ANY($1::int[]) RETURNING 1',
        params,
      );
      counts.actions = await changed(
        session,
        `DELETE FROM self_evolution_actions WHERE id = ANY(ARRAY(${ACTIONS_OF_RUNS})) RETURNING 1`,
        params,
      );
      counts.proposals = await changed(
        session,
        'DELETE FROM self_evolution_proposals WHERE run_id = ANY($1::int[]) RETURNING 1',
        params,
      );
      counts.reflections = await changed(
        session,
        'DELETE FROM self_evolution_reflections WHERE run_id = ANY($1::int[]) RETURNING 1',
        params,
      );
      counts.runs = await changed(
        session,
        'DELETE FROM self_evolution_runs WHERE id = ANY($1::int[]) RETURNING 1',
        params,
      );
    }
    await session.query('COMMIT');
    return { runIds: ids, counts };
  } catch (error) {
    await session.query('ROLLBACK').catch(() => undefined);
    throw error;
  }
}

/**
 * Deletes the old runs (see the module docs for which, with what, and how), batch after batch until none is
 * left (or `maxBatches`), or with `dryRun` counts what would go and deletes nothing. The batches run on one session
 * of `db`, each its own transaction; a failure rolls back the batch in progress (those committed before stay
 * deleted) and is thrown.
 * @returns the cutoff, the rows deleted per table (or that would be), the batches and the old runs kept and why
 * @throws Error naming the value for bad options (an age under PRUNE_MIN_AGE_MS, a batch size out of 1..
 *   PRUNE_MAX_BATCH_SIZE, a blank repository); the driver's error otherwise
 */
export async function pruneRuns(
  db: Pick<Db, 'query' | 'exec' | 'session'>,
  options: PruneOptions,
): Promise<PruneResult> {
  const batchSize = checkOptions(options);
  const repository = options.repository ?? null;
  const dryRun = options.dryRun === true;
  const [clock] = await db.query<{ cutoff: Date | string }>(
    `SELECT now() - $1::float8 * interval '1 millisecond' AS cutoff`,
    [options.olderThanMs],
  );
  const cutoff = new Date(clock!.cutoff);
  const result: PruneResult = {
    cutoff,
    repository,
    dryRun,
    batchSize,
    batches: 0,
    deleted: { ...ZERO },
    kept: { unfinished: 0, inFlight: 0, locked: 0 },
  };
  if (dryRun) {
    result.deleted = await wouldDelete(db, cutoff, repository);
    result.kept = { ...(await keptCounts(db, cutoff, repository)), locked: 0 };
    return result;
  }
  const session = await db.session();
  try {
    while (options.maxBatches === undefined || result.batches < options.maxBatches) {
      const started = Date.now();
      const batch = await deleteBatch(session, cutoff, repository, batchSize);
      if (batch === null) break;
      result.batches += 1;
      result.deleted = add(result.deleted, batch.counts);
      options.onBatch?.({ batch: result.batches, ...batch, ms: Date.now() - started });
    }
  } finally {
    await session.release();
  }
  const [left] = await db.query<{ n: number }>(
    `SELECT count(*)::int AS n FROM self_evolution_runs r WHERE ${DELETABLE}`,
    [cutoff, repository],
  );
  result.kept = {
    ...(await keptCounts(db, cutoff, repository)),
    // With maxBatches, deletable runs may be left that nobody locked; they are not "locked" then.
    locked: options.maxBatches === undefined ? Number(left!.n) : 0,
  };
  return result;
}
