/**
 * The circuit breaker's reads and writes (issue #10; migration 000005): the evidence it judges (reverted
 * self-changes, how the latest self-change pull requests ended, the latest runs that finished), and
 * self_evolution_breaker_trips (each time it tripped; reset when a human turned the loop back on).
 *
 * The reads return raw rows, newest first; which of them count is the gate's rule (gates/breaker.ts). Every
 * function takes a Queryable (a Db or a DbSession).
 */
import type { Queryable } from './db.js';
import { dateOrNull, toDate } from './rows.js';
import { CLOSED_BY_SELF } from './actions.js';

/** Why the breaker tripped (the CHECK of self_evolution_breaker_trips.cause). */
export type TripCause = 'reverted' | 'rejected' | 'failures' | 'stop-label' | 'unreadable';

/** A reverted self-change: a revert pull request that was merged, or an action marked rolled_back. */
export interface RevertRow {
  /** 'rollback': a self_evolution_rollbacks row with status merged; 'action': an action with status rolled_back. */
  kind: 'rollback' | 'action';
  /** The rollback's id (kind 'rollback') or the action's id (kind 'action'). */
  id: number;
  /** The self-change reverted. */
  actionId: number;
  /** The self-change's pull request, or null. */
  prNumber: number | null;
  /** The revert's pull request (kind 'rollback'), or null. */
  revertPrNumber: number | null;
  /** When it was recorded reverted (the row's updated_at). */
  at: Date;
  /** The rollback's reason, or null. */
  reason: string | null;
}

/** A self-change pull request that ended: merged (rolled_back counts: it was merged first) or closed unmerged. */
export interface EndedSelfChangeRow {
  actionId: number;
  prNumber: number | null;
  prUrl: string | null;
  /** 'merged' for status merged or rolled_back; 'closed' for closed or rejected (closed without merging). */
  outcome: 'merged' | 'closed';
  /** merged_at, else closed_at, else updated_at. */
  endedAt: Date;
  /** Who closed it (closed_by), or null. */
  closedBy: string | null;
}

/** A finished run, as the failure streak reads it. */
export interface FinishedRunRow {
  id: number;
  /** 'success', 'failed' or 'reverted'. */
  status: string;
  /** Closed failed by a later run because its process died. */
  stale: boolean;
  startedAt: Date;
  error: string | null;
}

/** A row of self_evolution_breaker_trips. */
export interface TripRecord {
  id: number;
  repository: string;
  cause: TripCause;
  reason: string;
  details: Record<string, unknown>;
  runId: number | null;
  trippedAt: Date;
  resetAt: Date | null;
  resetBy: string | null;
}

interface TripRow {
  id: number;
  repository: string;
  cause: TripCause;
  reason: string;
  details: Record<string, unknown> | string | null;
  run_id: number | null;
  tripped_at: Date | string;
  reset_at: Date | string | null;
  reset_by: string | null;
}

const TRIP_COLUMNS = 'id, repository, cause, reason, details, run_id, tripped_at, reset_at, reset_by';

function toTrip(r: TripRow): TripRecord {
  return {
    id: Number(r.id),
    repository: r.repository,
    cause: r.cause,
    reason: r.reason,
    details:
      typeof r.details === 'string' ? (JSON.parse(r.details) as Record<string, unknown>) : (r.details ?? {}),
    runId: r.run_id === null ? null : Number(r.run_id),
    trippedAt: toDate(r.tripped_at),
    resetAt: dateOrNull(r.reset_at),
    resetBy: r.reset_by,
  };
}

/** @throws Error unless `limit` is an integer from 1 to 1000 */
function checkLimit(name: string, limit: number): void {
  if (!Number.isInteger(limit) || limit < 1 || limit > 1000) {
    throw new Error(`${name}: limit must be an integer from 1 to 1000, got ${String(limit)}`);
  }
}

/** @throws Error naming the value unless it is a valid Date */
function checkDate(name: string, value: Date): void {
  if (!(value instanceof Date) || Number.isNaN(value.getTime())) {
    throw new Error(`${name} must be a valid Date, got ${String(value)}`);
  }
}

/**
 * Self-changes of `repository` reverted at or after `after`, newest first: rollbacks in mode 'pr' with status
 * 'merged' (the revert pull request was merged; shadow rows reverted nothing) or, for an automatic revert,
 * 'submitted' (the loop itself found that its change broke the default branch and opened the revert: it stops
 * before a human has even merged it), at their updated_at, and actions
 * with status 'rolled_back', at their updated_at. A rollback belongs to the repository by its own `repository`,
 * else by its action's.
 * @throws Error for an invalid Date; the driver's error otherwise
 */
export async function revertsSince(db: Queryable, repository: string, after: Date): Promise<RevertRow[]> {
  checkDate('revertsSince: after', after);
  const rows = await db.query<{
    kind: 'rollback' | 'action';
    id: number;
    action_id: number;
    pr_number: number | null;
    revert_pr_number: number | null;
    at: Date | string;
    reason: string | null;
  }>(
    `SELECT * FROM (
       SELECT 'rollback' AS kind, rb.id, rb.action_id, a.pr_number, rb.revert_pr_number, rb.updated_at AS at,
              rb.reason
       FROM self_evolution_rollbacks rb JOIN self_evolution_actions a ON a.id = rb.action_id
       WHERE COALESCE(rb.repository, a.repository) = $1 AND rb.mode = 'pr'
         AND (rb.status = 'merged' OR (rb.trigger = 'auto' AND rb.status = 'submitted'))
         AND rb.updated_at >= $2
       UNION ALL
       SELECT 'action' AS kind, a.id, a.id AS action_id, a.pr_number, NULL::integer AS revert_pr_number,
              a.updated_at AS at, NULL::text AS reason
       FROM self_evolution_actions a
       WHERE a.repository = $1 AND a.status = 'rolled_back' AND a.updated_at >= $2
     ) reverts
     ORDER BY at DESC, id DESC`,
    [repository, after],
  );
  return rows.map((r) => ({
    kind: r.kind,
    id: Number(r.id),
    actionId: Number(r.action_id),
    prNumber: r.pr_number === null ? null : Number(r.pr_number),
    revertPrNumber: r.revert_pr_number === null ? null : Number(r.revert_pr_number),
    at: toDate(r.at),
    reason: r.reason,
  }));
}

/**
 * The `limit` self-change pull requests of `repository` that ended most recently (action_type 'pr', status
 * merged, rolled_back, closed or rejected), newest first by their end (merged_at, else closed_at, else
 * updated_at; then id).
 * @throws Error for a limit outside 1..1000; the driver's error otherwise
 */
export async function latestEndedSelfChanges(
  db: Queryable,
  repository: string,
  limit: number,
): Promise<EndedSelfChangeRow[]> {
  checkLimit('latestEndedSelfChanges', limit);
  const rows = await db.query<{
    id: number;
    pr_number: number | null;
    pr_url: string | null;
    status: string;
    ended_at: Date | string;
    closed_by: string | null;
  }>(
    `SELECT id, pr_number, pr_url, status, COALESCE(merged_at, closed_at, updated_at) AS ended_at, closed_by
     FROM self_evolution_actions
     WHERE repository = $1 AND action_type = 'pr' AND status IN ('merged', 'rolled_back', 'closed', 'rejected')
       AND NOT (status = 'closed' AND closed_by IS NOT DISTINCT FROM $3)
     ORDER BY COALESCE(merged_at, closed_at, updated_at) DESC, id DESC
     LIMIT $2`,
    [repository, limit, CLOSED_BY_SELF],
  );
  return rows.map((r) => ({
    actionId: Number(r.id),
    prNumber: r.pr_number === null ? null : Number(r.pr_number),
    prUrl: r.pr_url,
    outcome: r.status === 'closed' || r.status === 'rejected' ? 'closed' : 'merged',
    endedAt: toDate(r.ended_at),
    closedBy: r.closed_by,
  }));
}

/**
 * The `limit` latest runs of `repository` that finished as a success or a failure (status success, failed or
 * reverted; skipped, cancelled and running runs are left out), newest first by started_at, then id. Stale
 * runs (failed, closed by a later run) are included and flagged.
 * @throws Error for a limit outside 1..1000; the driver's error otherwise
 */
export async function latestFinishedRuns(
  db: Queryable,
  repository: string,
  limit: number,
): Promise<FinishedRunRow[]> {
  checkLimit('latestFinishedRuns', limit);
  const rows = await db.query<{
    id: number;
    status: string;
    stale: boolean | null;
    started_at: Date | string;
    error: string | null;
  }>(
    `SELECT id, status, stale, started_at, error FROM self_evolution_runs
     WHERE repository = $1 AND status IN ('success', 'failed', 'reverted')
     ORDER BY started_at DESC, id DESC
     LIMIT $2`,
    [repository, limit],
  );
  return rows.map((r) => ({
    id: Number(r.id),
    status: r.status,
    stale: r.stale === true,
    startedAt: toDate(r.started_at),
    error: r.error,
  }));
}

/** Input of recordTrip. */
export interface NewTrip {
  repository: string;
  cause: TripCause;
  /** One line: why it tripped. */
  reason: string;
  /** The evidence (JSON object). */
  details: Record<string, unknown>;
  /** The run that tripped it, when it has a record already. */
  runId?: number;
}

/**
 * Records a trip (tripped_at: the database's now()). Returns the row.
 * @throws Error for a blank repository; the driver's error otherwise (23514 for an unknown cause)
 */
export async function recordTrip(db: Queryable, trip: NewTrip): Promise<TripRecord> {
  if (trip.repository.trim() === '') throw new Error('recordTrip: repository is empty');
  const rows = await db.query<TripRow>(
    `INSERT INTO self_evolution_breaker_trips (repository, cause, reason, details, run_id)
     VALUES ($1, $2, $3, $4::jsonb, $5)
     RETURNING ${TRIP_COLUMNS}`,
    [trip.repository, trip.cause, trip.reason, JSON.stringify(trip.details), trip.runId ?? null],
  );
  return toTrip(rows[0]!);
}

/**
 * The newest trip of `repository` that was not reset (reset_at null), or null.
 * @throws the driver's error
 */
export async function lastOpenTrip(db: Queryable, repository: string): Promise<TripRecord | null> {
  const rows = await db.query<TripRow>(
    `SELECT ${TRIP_COLUMNS} FROM self_evolution_breaker_trips
     WHERE repository = $1 AND reset_at IS NULL
     ORDER BY tripped_at DESC, id DESC LIMIT 1`,
    [repository],
  );
  return rows[0] ? toTrip(rows[0]) : null;
}

/**
 * When a trip of `repository` was last reset (the greatest reset_at), or null when none was.
 * @throws the driver's error
 */
export async function lastTripReset(db: Queryable, repository: string): Promise<Date | null> {
  const rows = await db.query<{ at: Date | string | null }>(
    'SELECT max(reset_at) AS at FROM self_evolution_breaker_trips WHERE repository = $1',
    [repository],
  );
  const at = rows[0]?.at ?? null;
  return dateOrNull(at);
}

/**
 * Marks every trip of `repository` that is not reset as reset at `resetAt` by `resetBy` (a person, or what
 * reset it, e.g. "cli (alice)"). Returns the ids marked, ascending (none when nothing was open).
 * @throws Error for an invalid Date or a blank resetBy; the driver's error otherwise
 */
export async function markTripsReset(
  db: Queryable,
  repository: string,
  resetAt: Date,
  resetBy: string,
): Promise<number[]> {
  checkDate('markTripsReset: resetAt', resetAt);
  if (resetBy.trim() === '') throw new Error('markTripsReset: resetBy is empty');
  const rows = await db.query<{ id: number }>(
    `UPDATE self_evolution_breaker_trips SET reset_at = $2, reset_by = $3
     WHERE repository = $1 AND reset_at IS NULL RETURNING id`,
    [repository, resetAt, resetBy],
  );
  return rows.map((r) => Number(r.id)).sort((a, b) => a - b);
}

/**
 * Links trip `tripId` to the run record that reported it (the skipped run written after the gates), when it
 * has none yet.
 * @throws the driver's error
 */
export async function linkTripToRun(db: Queryable, tripId: number, runId: number): Promise<void> {
  await db.query('UPDATE self_evolution_breaker_trips SET run_id = $2 WHERE id = $1 AND run_id IS NULL', [
    tripId,
    runId,
  ]);
}

/**
 * Every trip of `repository`, newest first (for reports and tests).
 * @throws the driver's error
 */
export async function listTrips(db: Queryable, repository: string): Promise<TripRecord[]> {
  const rows = await db.query<TripRow>(
    `SELECT ${TRIP_COLUMNS} FROM self_evolution_breaker_trips WHERE repository = $1
     ORDER BY tripped_at DESC, id DESC`,
    [repository],
  );
  return rows.map(toTrip);
}
