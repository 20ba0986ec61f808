/**
 * self_evolution_rollbacks: the record of each revert of a merged self-change (migration 000005), written BEFORE
 * each side effect and moved on AFTER it, like an action row, so a crash while opening a revert pull request is
 * finished by the next run and never makes two:
 *
 *   planned (nothing pushed) -> pushed (revert branch on the remote) -> submitted (revert pull request open)
 *   -> merged | closed; failed (refused, or gave up: reason in error); shadow (autoRevert.mode "shadow": recorded,
 *   nothing done)
 *
 * At most one revert pull request per self-change in flight or done: a unique index on action_id over mode 'pr'
 * rows whose status is not 'failed' (migration 000005). Also the reads that choose what to revert: the merged
 * self-changes of a repository within a window, and those of a request (an action, a pull request, a run).
 */
import type { Queryable } from './db.js';
import { toDate } from './rows.js';

/** Status of a rollback (see the module docs). */
export type RollbackStatus = 'planned' | 'pushed' | 'submitted' | 'merged' | 'closed' | 'failed' | 'shadow';

/** A rollback the health stage decided ('auto') or someone asked for ('manual'). */
export type RollbackTrigger = 'auto' | 'manual';

/** A row of self_evolution_rollbacks. */
export interface RollbackRecord {
  id: number;
  actionId: number;
  repository: string | null;
  /** The run that decided it (auto), or that was running when it was asked for; null for a CLI request. */
  runId: number | null;
  trigger: RollbackTrigger;
  /** 'pr': a revert pull request; 'shadow': recorded only. */
  mode: 'pr' | 'shadow';
  status: RollbackStatus;
  /** Why, one line. */
  reason: string;
  /** The failing checks and links (act/health.ts HealthEvidence), or the request (JSON). */
  evidence: Record<string, unknown>;
  /** The commit reverted (the self-change's merge or squash commit on the default branch). */
  revertedSha: string | null;
  revertBranch: string | null;
  revertHeadSha: string | null;
  revertPrNumber: number | null;
  revertPrUrl: string | null;
  /** Who asked for it (manual), or null. */
  requestedBy: string | null;
  error: string | null;
  createdAt: Date;
  updatedAt: Date;
}

interface RollbackRow {
  id: number;
  action_id: number;
  repository: string | null;
  run_id: number | null;
  trigger: RollbackTrigger;
  mode: 'pr' | 'shadow';
  status: RollbackStatus;
  reason: string;
  evidence: Record<string, unknown> | string;
  reverted_sha: string | null;
  revert_branch: string | null;
  revert_head_sha: string | null;
  revert_pr_number: number | null;
  revert_pr_url: string | null;
  requested_by: string | null;
  error: string | null;
  created_at: Date | string;
  updated_at: Date | string;
}

const COLUMNS =
  'id, action_id, repository, run_id, trigger, mode, status, reason, evidence, reverted_sha, revert_branch, revert_head_sha, revert_pr_number, revert_pr_url, requested_by, error, created_at, updated_at';

function toRecord(r: RollbackRow): RollbackRecord {
  return {
    id: Number(r.id),
    actionId: Number(r.action_id),
    repository: r.repository,
    runId: r.run_id === null ? null : Number(r.run_id),
    trigger: r.trigger,
    mode: r.mode,
    status: r.status,
    reason: r.reason,
    evidence:
      typeof r.evidence === 'string' ? (JSON.parse(r.evidence) as Record<string, unknown>) : r.evidence,
    revertedSha: r.reverted_sha,
    revertBranch: r.revert_branch,
    revertHeadSha: r.revert_head_sha,
    revertPrNumber: r.revert_pr_number === null ? null : Number(r.revert_pr_number),
    revertPrUrl: r.revert_pr_url,
    requestedBy: r.requested_by,
    error: r.error,
    createdAt: toDate(r.created_at),
    updatedAt: toDate(r.updated_at),
  };
}

/** Input of {@link recordRollback}. */
export interface NewRollback {
  actionId: number;
  repository: string;
  runId: number | null;
  trigger: RollbackTrigger;
  mode: 'pr' | 'shadow';
  /** 'planned' for a revert about to be made, 'shadow' for shadow mode, 'failed' for a refusal. */
  status: 'planned' | 'shadow' | 'failed';
  reason: string;
  evidence: Record<string, unknown>;
  revertedSha: string | null;
  revertBranch: string | null;
  requestedBy?: string | null;
  error?: string | null;
}

/** What {@link recordRollback} found: a new row, or the revert of that action already in flight or done. */
export type RollbackPlan =
  { created: true; rollback: RollbackRecord } | { created: false; rollback: RollbackRecord };

/**
 * Writes a rollback row. A 'planned' revert pull request (mode 'pr') conflicts with the action's revert already
 * in flight or done (unique index: mode 'pr', status not 'failed'): that row is returned instead and nothing is
 * written. 'shadow' and 'failed' rows are always written.
 * @throws the driver's error for anything but that conflict
 */
export async function recordRollback(db: Queryable, r: NewRollback): Promise<RollbackPlan> {
  const rows = await db.query<RollbackRow>(
    `INSERT INTO self_evolution_rollbacks
       (action_id, repository, run_id, trigger, mode, status, reason, evidence, reverted_sha, revert_branch,
        requested_by, error)
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8::jsonb, $9, $10, $11, $12)
     ON CONFLICT (action_id) WHERE mode = 'pr' AND status <> 'failed' DO NOTHING
     RETURNING ${COLUMNS}`,
    [
      r.actionId,
      r.repository,
      r.runId,
      r.trigger,
      r.mode,
      r.status,
      r.reason,
      JSON.stringify(r.evidence),
      r.revertedSha,
      r.revertBranch,
      r.requestedBy ?? null,
      r.error ?? null,
    ],
  );
  if (rows[0]) return { created: true, rollback: toRecord(rows[0]) };
  const existing = await revertOfAction(db, r.actionId);
  if (!existing) throw new Error(`rollback of action #${r.actionId} conflicted but cannot be read back`);
  return { created: false, rollback: existing };
}

/**
 * The revert pull request (mode 'pr', status other than 'failed') of an action, or null.
 * @throws the driver's error
 */
export async function revertOfAction(db: Queryable, actionId: number): Promise<RollbackRecord | null> {
  const rows = await db.query<RollbackRow>(
    `SELECT ${COLUMNS} FROM self_evolution_rollbacks
     WHERE action_id = $1 AND mode = 'pr' AND status <> 'failed' ORDER BY id DESC LIMIT 1`,
    [actionId],
  );
  return rows[0] ? toRecord(rows[0]) : null;
}

/**
 * Whether a shadow rollback of `actionId` for `revertedSha` was already recorded (shadow mode records each
 * decision once, not every run).
 * @throws the driver's error
 */
export async function hasShadowRollback(
  db: Queryable,
  actionId: number,
  revertedSha: string,
): Promise<boolean> {
  const rows = await db.query<{ id: number }>(
    `SELECT id FROM self_evolution_rollbacks
     WHERE action_id = $1 AND mode = 'shadow' AND reverted_sha = $2 LIMIT 1`,
    [actionId, revertedSha],
  );
  return rows.length > 0;
}

/** Changes of one rollback row: the new status and whichever columns it now knows. */
export interface RollbackUpdate {
  status: RollbackStatus;
  /** Only when the row is in one of these statuses (a guard against moving a row another run moved on). */
  from?: readonly RollbackStatus[];
  revertBranch?: string;
  revertHeadSha?: string;
  revertPrNumber?: number;
  revertPrUrl?: string;
  /** Merged into the stored evidence (top-level keys replace). */
  evidence?: Record<string, unknown>;
  /** Why it failed or what is left to do; null clears it. */
  error?: string | null;
}

/**
 * Moves a rollback on (planned -> pushed -> submitted -> merged | closed; failed).
 * @returns the updated row, or null when no row matched (unknown id, or its status was not in `from`)
 * @throws the driver's error
 */
export async function updateRollback(
  db: Queryable,
  id: number,
  u: RollbackUpdate,
): Promise<RollbackRecord | null> {
  const rows = await db.query<RollbackRow>(
    `UPDATE self_evolution_rollbacks SET
       status = $2,
       revert_branch = COALESCE($3, revert_branch),
       revert_head_sha = COALESCE($4, revert_head_sha),
       revert_pr_number = COALESCE($5, revert_pr_number),
       revert_pr_url = COALESCE($6, revert_pr_url),
       evidence = evidence || $7::jsonb,
       error = CASE WHEN $8::boolean THEN $9 ELSE error END,
       updated_at = now()
     WHERE id = $1 AND ($10::text[] IS NULL OR status = ANY($10::text[]))
     RETURNING ${COLUMNS}`,
    [
      id,
      u.status,
      u.revertBranch ?? null,
      u.revertHeadSha ?? null,
      u.revertPrNumber ?? null,
      u.revertPrUrl ?? null,
      JSON.stringify(u.evidence ?? {}),
      u.error !== undefined,
      u.error ?? null,
      u.from ? [...u.from] : null,
    ],
  );
  return rows[0] ? toRecord(rows[0]) : null;
}

/**
 * The revert pull requests of `repository` in the given statuses (mode 'pr'), oldest first.
 * @throws the driver's error
 */
export async function rollbacksWithStatus(
  db: Queryable,
  repository: string,
  statuses: readonly RollbackStatus[],
): Promise<RollbackRecord[]> {
  const rows = await db.query<RollbackRow>(
    `SELECT ${COLUMNS} FROM self_evolution_rollbacks
     WHERE repository = $1 AND mode = 'pr' AND status = ANY($2::text[]) ORDER BY id`,
    [repository, [...statuses]],
  );
  return rows.map(toRecord);
}

/**
 * The rollbacks of `repository`, newest first (for tests and reports).
 * @throws the driver's error
 */
export async function listRollbacks(
  db: Queryable,
  repository: string,
  limit = 100,
): Promise<RollbackRecord[]> {
  const rows = await db.query<RollbackRow>(
    `SELECT ${COLUMNS} FROM self_evolution_rollbacks WHERE repository = $1 ORDER BY id DESC LIMIT $2`,
    [repository, limit],
  );
  return rows.map(toRecord);
}

/** A merged self-change: a pull-request action whose pull request was merged, with what reverting it needs. */
export interface MergedSelfChange {
  actionId: number;
  /** The run that opened it. */
  runId: number | null;
  repository: string;
  prNumber: number | null;
  prUrl: string | null;
  branch: string | null;
  /** The proposal's title (the pull request's title without the "self-evolution: " prefix). */
  title: string;
  /** The commit the merge made on the default branch (merge, squash or last rebased commit). */
  mergeCommitSha: string;
  mergedAt: Date;
  mergedBy: string | null;
  /** The action's status: 'merged', or 'rolled_back' once reverted. */
  status: string;
}

interface MergedRow {
  id: number;
  run_id: number | null;
  repository: string;
  pr_number: number | null;
  pr_url: string | null;
  branch: string | null;
  title: string | null;
  merge_commit_sha: string;
  merged_at: Date | string;
  merged_by: string | null;
  status: string;
}

const MERGED_SELECT = `SELECT a.id, a.run_id, a.repository, a.pr_number, a.pr_url, a.branch, p.title,
       a.merge_commit_sha, a.merged_at, a.merged_by, a.status
     FROM self_evolution_actions a LEFT JOIN self_evolution_proposals p ON p.id = a.proposal_id
     WHERE a.action_type = 'pr' AND a.merge_commit_sha IS NOT NULL AND a.merged_at IS NOT NULL`;

function toMerged(r: MergedRow): MergedSelfChange {
  return {
    actionId: Number(r.id),
    runId: r.run_id === null ? null : Number(r.run_id),
    repository: r.repository,
    prNumber: r.pr_number === null ? null : Number(r.pr_number),
    prUrl: r.pr_url,
    branch: r.branch,
    title: r.title ?? `action #${r.id}`,
    mergeCommitSha: r.merge_commit_sha,
    mergedAt: toDate(r.merged_at),
    mergedBy: r.merged_by,
    status: r.status,
  };
}

/**
 * The self-changes of `repository` merged at or after `since` (status 'merged': not rolled back), oldest merge
 * first: what the health stage watches (autoRevert.windowHours).
 * @throws the driver's error
 */
export async function mergedSelfChangesSince(
  db: Queryable,
  repository: string,
  since: Date,
): Promise<MergedSelfChange[]> {
  const rows = await db.query<MergedRow>(
    `${MERGED_SELECT} AND a.repository = $1 AND a.status = 'merged' AND a.merged_at >= $2
     ORDER BY a.merged_at, a.id`,
    [repository, since],
  );
  return rows.map(toMerged);
}

/** What a rollback on request names: one action, the action of a pull request, or every action of a run. */
export type RollbackTarget = { actionId: number } | { prNumber: number } | { runId: number };

/**
 * The pull-request actions of `repository` a rollback request names whose pull request was merged (any status
 * since: 'merged' or already 'rolled_back'), in id order. Actions that were not merged are left out.
 * @throws the driver's error
 */
export async function mergedSelfChangesOf(
  db: Queryable,
  repository: string,
  target: RollbackTarget,
): Promise<MergedSelfChange[]> {
  const [column, value] =
    'actionId' in target
      ? ['a.id', target.actionId]
      : 'prNumber' in target
        ? ['a.pr_number', target.prNumber]
        : ['a.run_id', target.runId];
  const rows = await db.query<MergedRow>(
    `${MERGED_SELECT} AND a.repository = $1 AND ${column} = $2 ORDER BY a.id`,
    [repository, value],
  );
  return rows.map(toMerged);
}

/**
 * Any pull-request action of `repository` the request names, merged or not (to explain a refusal): id, status.
 * @throws the driver's error
 */
export async function actionsNamedBy(
  db: Queryable,
  repository: string,
  target: RollbackTarget,
): Promise<{ id: number; status: string; prNumber: number | null }[]> {
  const [column, value] =
    'actionId' in target
      ? ['id', target.actionId]
      : 'prNumber' in target
        ? ['pr_number', target.prNumber]
        : ['run_id', target.runId];
  const rows = await db.query<{ id: number; status: string; pr_number: number | null }>(
    `SELECT id, status, pr_number FROM self_evolution_actions
     WHERE repository = $1 AND action_type = 'pr' AND ${column} = $2 ORDER BY id`,
    [repository, value],
  );
  return rows.map((r) => ({
    id: Number(r.id),
    status: r.status,
    prNumber: r.pr_number === null ? null : Number(r.pr_number),
  }));
}

/**
 * A revert merged: the action becomes 'rolled_back' (from 'merged') and the run that produced it 'reverted'
 * (unless still running). Idempotent: a later call changes nothing.
 * @returns whether the action and the run were changed by this call
 * @throws the driver's error
 */
export async function applyMergedRevert(
  db: Queryable,
  actionId: number,
): Promise<{ action: boolean; run: boolean }> {
  const action = await db.query<{ run_id: number | null }>(
    `UPDATE self_evolution_actions SET status = 'rolled_back', updated_at = now()
     WHERE id = $1 AND status = 'merged' RETURNING run_id`,
    [actionId],
  );
  const run = await db.query<{ id: number }>(
    `UPDATE self_evolution_runs SET status = 'reverted'
     WHERE id = (SELECT run_id FROM self_evolution_actions WHERE id = $1)
       AND status NOT IN ('running', 'reverted')
     RETURNING id`,
    [actionId],
  );
  return { action: action.length > 0, run: run.length > 0 };
}
