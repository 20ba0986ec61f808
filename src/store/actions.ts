/**
 * self_evolution_actions: what live mode did for a proposal, written BEFORE each side effect and moved on AFTER
 * it, so a crash or a rerun finishes what was started and never does it twice:
 *
 *   planned (branch chosen, nothing pushed) -> pushed (branch on the remote) -> submitted (pull request open)
 *   -> merged | closed | rolled_back (reconciled later); failed (never reached GitHub, or gave up: reason in error)
 *
 * Reconciliation (act/reconcile.ts) moves a submitted row on from what GitHub says, with the merge commit, when
 * and by whom (merged), or when, by whom and the human's last words (closed: untrusted text), and stamps
 * reconciled_at whenever it looked (migration 000005).
 *
 * One pull request per patch per repository: a unique index (repository, action_type, patch_sha256) over every
 * status but 'failed' (migration 000004), so two runs can never both publish the same patch.
 */
import type { Queryable } from './db.js';
import { dateOrNull, toDate } from './rows.js';

/** Status of an action (see the module docs). */
export type ActionStatus =
  'planned' | 'pushed' | 'submitted' | 'merged' | 'closed' | 'rejected' | 'rolled_back' | 'failed';

/**
 * `closed_by` of a pull request the loop closed itself (an expired draft, one replaced by a rebuild): neither a
 * human's rejection nor a merge, so the circuit breaker does not count it.
 */
export const CLOSED_BY_SELF = 'self-evolution';

/** Statuses of an action that is not finished: a later run finishes it (push, then open the pull request). */
export const UNFINISHED_ACTION_STATUSES: readonly ActionStatus[] = Object.freeze(['planned', 'pushed']);

/** A row of self_evolution_actions. */
export interface ActionRecord {
  id: number;
  proposalId: number;
  runId: number | null;
  repository: string | null;
  /** 'pr' for a pull request. */
  actionType: string;
  status: ActionStatus;
  branch: string | null;
  prNumber: number | null;
  prUrl: string | null;
  headSha: string | null;
  baseSha: string | null;
  /** Hex sha256 of the patch. */
  patchSha256: string | null;
  /** Branch, PR number and URL, head and base commit, patch hash, token kind, CI path, labels (JSON). */
  payload: Record<string, unknown>;
  /** Why it failed or gave up, one line. */
  error: string | null;
  /** The commit the merge made on the base branch; null unless merged. */
  mergeCommitSha: string | null;
  /** When and by whom (login) the pull request was merged; null unless merged. */
  mergedAt: Date | null;
  mergedBy: string | null;
  /** When and by whom (login, or 'self-evolution') it was closed without merging; null unless closed. */
  closedAt: Date | null;
  closedBy: string | null;
  /**
   * Why it was closed: the last review or comment of a person (UNTRUSTED text, secrets masked, at most 2000
   * characters; quote it as data, escape it before rendering it anywhere), or the loop's own reason.
   */
  closeReason: string | null;
  /** When reconciliation last looked the pull request up on GitHub successfully; null when never. */
  reconciledAt: Date | null;
  createdAt: Date;
  updatedAt: Date;
}

interface ActionRow {
  id: number;
  proposal_id: number;
  run_id: number | null;
  repository: string | null;
  action_type: string;
  status: ActionStatus;
  branch: string | null;
  pr_number: number | null;
  pr_url: string | null;
  head_sha: string | null;
  base_sha: string | null;
  patch_sha256: string | null;
  payload: Record<string, unknown> | string;
  error: string | null;
  merge_commit_sha: string | null;
  merged_at: Date | string | null;
  merged_by: string | null;
  closed_at: Date | string | null;
  closed_by: string | null;
  close_reason: string | null;
  reconciled_at: Date | string | null;
  created_at: Date | string;
  updated_at: Date | string;
}

const COLUMNS =
  'id, proposal_id, run_id, repository, action_type, status, branch, pr_number, pr_url, head_sha, base_sha, patch_sha256, payload, error, merge_commit_sha, merged_at, merged_by, closed_at, closed_by, close_reason, reconciled_at, created_at, updated_at';

function toRecord(r: ActionRow): ActionRecord {
  return {
    id: r.id,
    proposalId: r.proposal_id,
    runId: r.run_id,
    repository: r.repository,
    actionType: r.action_type,
    status: r.status,
    branch: r.branch,
    prNumber: r.pr_number,
    prUrl: r.pr_url,
    headSha: r.head_sha,
    baseSha: r.base_sha,
    patchSha256: r.patch_sha256,
    payload: typeof r.payload === 'string' ? (JSON.parse(r.payload) as Record<string, unknown>) : r.payload,
    error: r.error,
    mergeCommitSha: r.merge_commit_sha,
    mergedAt: dateOrNull(r.merged_at),
    mergedBy: r.merged_by,
    closedAt: dateOrNull(r.closed_at),
    closedBy: r.closed_by,
    closeReason: r.close_reason,
    reconciledAt: dateOrNull(r.reconciled_at),
    createdAt: toDate(r.created_at),
    updatedAt: toDate(r.updated_at),
  };
}

/** Input of {@link planAction}. */
export interface PlannedAction {
  repository: string;
  runId: number;
  proposalId: number;
  /** 'pr'. */
  actionType: string;
  branch: string;
  baseSha: string;
  patchSha256: string;
  payload: Record<string, unknown>;
}

/** What {@link planAction} found: a new row, or the row that already holds this patch (any run). */
export type PlanResult = { created: true; action: ActionRecord } | { created: false; action: ActionRecord };

/**
 * Writes the row that says a pull request is about to be made (status 'planned'), before anything is pushed.
 * When the repository already has a row for the same patch (unique index; status other than 'failed') that row
 * is returned instead and nothing is written: the caller finishes it or reports it, never publishes twice.
 * @throws the driver's error for anything but that conflict
 */
export async function planAction(db: Queryable, a: PlannedAction): Promise<PlanResult> {
  const rows = await db.query<ActionRow>(
    `INSERT INTO self_evolution_actions
       (proposal_id, run_id, repository, action_type, status, branch, base_sha, patch_sha256, payload)
     VALUES ($1, $2, $3, $4, 'planned', $5, $6, $7, $8::jsonb)
     ON CONFLICT (repository, action_type, patch_sha256) WHERE status <> 'failed' DO NOTHING
     RETURNING ${COLUMNS}`,
    [
      a.proposalId,
      a.runId,
      a.repository,
      a.actionType,
      a.branch,
      a.baseSha,
      a.patchSha256,
      JSON.stringify(a.payload),
    ],
  );
  if (rows[0]) return { created: true, action: toRecord(rows[0]) };
  const existing = await findActionByPatch(db, a.repository, a.actionType, a.patchSha256);
  if (!existing)
    throw new Error(`action for patch sha256:${a.patchSha256} conflicted but cannot be read back`);
  return { created: false, action: existing };
}

/**
 * The row (status other than 'failed') that holds `patchSha256` in `repository`, or null.
 * @throws the driver's error
 */
export async function findActionByPatch(
  db: Queryable,
  repository: string,
  actionType: string,
  patchSha256: string,
): Promise<ActionRecord | null> {
  const rows = await db.query<ActionRow>(
    `SELECT ${COLUMNS} FROM self_evolution_actions
     WHERE repository = $1 AND action_type = $2 AND patch_sha256 = $3 AND status <> 'failed'
     ORDER BY id DESC LIMIT 1`,
    [repository, actionType, patchSha256],
  );
  return rows[0] ? toRecord(rows[0]) : null;
}

/** Changes of one action row: the new status and whichever columns it now knows. */
export interface ActionUpdate {
  status: ActionStatus;
  /** Only when the row is in one of these statuses (a guard against moving a row another run moved on). */
  from?: readonly ActionStatus[];
  branch?: string;
  headSha?: string;
  baseSha?: string;
  prNumber?: number;
  prUrl?: string;
  /** Merged into the stored payload (top-level keys replace). */
  payload?: Record<string, unknown>;
  /** Why it failed or gave up; null clears it. */
  error?: string | null;
  /** Reconciliation: what became of the pull request (set when given; see ActionRecord). */
  mergeCommitSha?: string;
  mergedAt?: Date;
  mergedBy?: string;
  closedAt?: Date;
  closedBy?: string;
  closeReason?: string;
  /** Reconciliation looked the pull request up on GitHub at this time. */
  reconciledAt?: Date;
}

/**
 * Moves an action on (e.g. planned -> pushed with the head commit; pushed -> submitted with the PR number and
 * URL). With `from`, only a row in one of those statuses is changed.
 * @returns the updated row, or null when no row matched (unknown id, or its status was not in `from`)
 * @throws the driver's error
 */
export async function updateAction(db: Queryable, id: number, u: ActionUpdate): Promise<ActionRecord | null> {
  const rows = await db.query<ActionRow>(
    `UPDATE self_evolution_actions SET
       status = $2,
       branch = COALESCE($3, branch),
       head_sha = COALESCE($4, head_sha),
       base_sha = COALESCE($5, base_sha),
       pr_number = COALESCE($6, pr_number),
       pr_url = COALESCE($7, pr_url),
       payload = payload || $8::jsonb,
       error = CASE WHEN $9::boolean THEN $10 ELSE error END,
       merge_commit_sha = COALESCE($12, merge_commit_sha),
       merged_at = COALESCE($13::timestamptz, merged_at),
       merged_by = COALESCE($14, merged_by),
       closed_at = COALESCE($15::timestamptz, closed_at),
       closed_by = COALESCE($16, closed_by),
       close_reason = COALESCE($17, close_reason),
       reconciled_at = COALESCE($18::timestamptz, reconciled_at),
       updated_at = now()
     WHERE id = $1 AND ($11::text[] IS NULL OR status = ANY($11::text[]))
     RETURNING ${COLUMNS}`,
    [
      id,
      u.status,
      u.branch ?? null,
      u.headSha ?? null,
      u.baseSha ?? null,
      u.prNumber ?? null,
      u.prUrl ?? null,
      JSON.stringify(u.payload ?? {}),
      u.error !== undefined,
      u.error ?? null,
      u.from ? [...u.from] : null,
      u.mergeCommitSha ?? null,
      u.mergedAt?.toISOString() ?? null,
      u.mergedBy ?? null,
      u.closedAt?.toISOString() ?? null,
      u.closedBy ?? null,
      u.closeReason ?? null,
      u.reconciledAt?.toISOString() ?? null,
    ],
  );
  return rows[0] ? toRecord(rows[0]) : null;
}

/**
 * Actions of `repository` that a run started and did not finish (status planned or pushed), oldest first.
 * @throws the driver's error
 */
export async function unfinishedActions(db: Queryable, repository: string): Promise<ActionRecord[]> {
  const rows = await db.query<ActionRow>(
    `SELECT ${COLUMNS} FROM self_evolution_actions
     WHERE repository = $1 AND status = ANY($2::text[]) ORDER BY id`,
    [repository, [...UNFINISHED_ACTION_STATUSES]],
  );
  return rows.map(toRecord);
}

/**
 * Pull-request actions of `repository` whose pull request is open as far as the database knows (status
 * 'submitted' with a number): what reconciliation looks up on GitHub, oldest first.
 * @throws the driver's error
 */
export async function submittedActions(db: Queryable, repository: string): Promise<ActionRecord[]> {
  const rows = await db.query<ActionRow>(
    `SELECT ${COLUMNS} FROM self_evolution_actions
     WHERE repository = $1 AND action_type = 'pr' AND status = 'submitted' AND pr_number IS NOT NULL
     ORDER BY id`,
    [repository],
  );
  return rows.map(toRecord);
}

/**
 * How many pull-request actions of `repository` were started by runs of the UTC day `runDate` ('YYYY-MM-DD',
 * the runs' run_date) and did not fail: what config `pullRequest.maxPerDay` counts.
 * @throws the driver's error
 */
export async function countActionsOn(db: Queryable, repository: string, runDate: string): Promise<number> {
  const rows = await db.query<{ n: string }>(
    `SELECT count(*)::text AS n FROM self_evolution_actions a
     JOIN self_evolution_runs r ON r.id = a.run_id
     WHERE a.repository = $1 AND a.action_type = 'pr' AND a.status <> 'failed' AND r.run_date = $2::date`,
    [repository, runDate],
  );
  return Number(rows[0]?.n ?? 0);
}

/**
 * Actions of one run, in id order (for reports).
 * @throws the driver's error
 */
export async function actionsOfRun(db: Queryable, runId: number): Promise<ActionRecord[]> {
  const rows = await db.query<ActionRow>(
    `SELECT ${COLUMNS} FROM self_evolution_actions WHERE run_id = $1 ORDER BY id`,
    [runId],
  );
  return rows.map(toRecord);
}

/** A pull request of a run as `status` lists it: one 'pr' action row of the run. */
export interface RunPullRequest {
  /** The pull request's number; null while none was opened (planned, pushed, failed). */
  number: number | null;
  /** Its web page, or null (as `number`). */
  url: string | null;
  /** The action's status: planned, pushed, submitted, merged, closed, rejected, rolled_back or failed. */
  state: ActionStatus;
  /** The head branch, or null when none was chosen. */
  branch: string | null;
}

/**
 * The pull-request actions of several runs in one query, in id order per run: what `status` shows for the
 * runs it lists. A run without any has no entry in the map; no ids means no query.
 * @param runIds ids of self_evolution_runs rows
 * @returns run id -> its pull requests
 * @throws the driver's error
 */
export async function pullRequestsOfRuns(
  db: Queryable,
  runIds: readonly number[],
): Promise<Map<number, RunPullRequest[]>> {
  const byRun = new Map<number, RunPullRequest[]>();
  if (runIds.length === 0) return byRun;
  const rows = await db.query<Pick<ActionRow, 'run_id' | 'pr_number' | 'pr_url' | 'status' | 'branch'>>(
    `SELECT run_id, pr_number, pr_url, status, branch FROM self_evolution_actions
     WHERE action_type = 'pr' AND run_id = ANY($1::int[]) ORDER BY run_id, id`,
    [[...runIds]],
  );
  for (const r of rows) {
    const runId = Number(r.run_id);
    const list = byRun.get(runId) ?? [];
    list.push({
      number: r.pr_number === null ? null : Number(r.pr_number),
      url: r.pr_url,
      state: r.status,
      branch: r.branch,
    });
    byRun.set(runId, list);
  }
  return byRun;
}
