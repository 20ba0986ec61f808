/**
 * self_evolution_runs: one row per execution attempt. At most one non-forced run per repository per UTC day
 * gets past the gates (unique index self_evolution_runs_one_per_day); skipped rows are unlimited.
 *
 * Every function takes a Queryable (a Db or a DbSession). run_date is read as text ('YYYY-MM-DD') so
 * neither driver turns it into a local-time Date.
 */
import type { Trigger } from '../options.js';
import type { Queryable } from './db.js';
import { dateOrNull, toDate } from './rows.js';

/**
 * Lifecycle of a run. 'cancelled': stopped by SIGINT/SIGTERM and cleaned up; neither the day's run (the
 * one-run-per-day index and findRunOnDate leave it out) nor a failure (no cooldown).
 */
export type RunStatus = 'planned' | 'running' | 'success' | 'failed' | 'skipped' | 'reverted' | 'cancelled';

/** A row of self_evolution_runs (without the stored config). */
export interface RunRecord {
  id: number;
  /** 'owner/name'. */
  repository: string;
  /** The run's UTC day, 'YYYY-MM-DD'. */
  runDate: string;
  trigger: Trigger;
  dryRun: boolean;
  forced: boolean;
  status: RunStatus;
  skipReason: string | null;
  /** The gate results as recorded (JSON). */
  gates: unknown;
  startedAt: Date;
  finishedAt: Date | null;
  summary: string | null;
  logsUrl: string | null;
  metrics: Record<string, unknown>;
  overrides: Record<string, unknown>;
  error: string | null;
  /**
   * How the run isolated the commands it started: 'bwrap' / 'unshare' (the sandbox mechanism), 'none'
   * (config `sandbox: "none"`), or null when it started none.
   */
  sandbox: RunSandbox | null;
  /** HEAD of the checkout when the run was recorded: the commit its proposals are based on. */
  baseSha: string | null;
  /** Self-Evolution's version. */
  toolVersion: string | null;
  /** Who started the run: GITHUB_ACTOR, else the local user. */
  actor: string | null;
  /** The config file, relative to the repository. */
  configPath: string | null;
  /** The config's blob at HEAD; null when it is not committed. */
  configBlobSha: string | null;
  /** The config in the work tree differs from its blob at HEAD, or is not committed. */
  configDirty: boolean | null;
  /** The work tree had changes (tracked or untracked; `.self-evolution/` excluded). */
  worktreeDirty: boolean | null;
  /**
   * When the run last said it was alive (written when its record is created, at every stage boundary and
   * every HEARTBEAT_INTERVAL_MS while a stage runs); null for rows older than migration 000004.
   */
  heartbeatAt: Date | null;
  /** Closed 'failed' by a later run because its heartbeat stopped (markStaleRuns); such a run starts no cooldown. */
  stale: boolean;
}

/** What a run was made from and by whom (audit); null where unknown. */
export type RunAudit = Pick<
  RunRecord,
  'baseSha' | 'toolVersion' | 'actor' | 'configPath' | 'configBlobSha' | 'configDirty' | 'worktreeDirty'
>;

/** The values of self_evolution_runs.sandbox. */
export type RunSandbox = 'bwrap' | 'unshare' | 'none';

/** A run with the counts of its proposals, as listRecentRuns returns it. */
export type RunWithCounts = RunRecord & { proposals: number; allowed: number; blocked: number };

/** The name of the unique index behind "already ran today". */
export const ONE_RUN_PER_DAY_INDEX = 'self_evolution_runs_one_per_day';

/** The summary markStaleRuns writes. */
export const STALE_SUMMARY = 'stale: marked failed by a later run (the process that ran it did not finish)';

/**
 * How often a run writes its heartbeat while a stage runs, ms (one minute); it also writes one at every stage
 * boundary. See STALE_AFTER_MS.
 */
export const HEARTBEAT_INTERVAL_MS = 60_000;

/**
 * A 'running' run whose last heartbeat (else its start) is older than this, ms (ten minutes), is taken for dead
 * by markStaleRuns. Ten heartbeat intervals: a live run writes one every HEARTBEAT_INTERVAL_MS however long its
 * stage (the proposers may take limits.proposeBudgetSeconds, 30 minutes by default), so only a run whose
 * process is gone (SIGKILL, a lost runner) or that could not reach the database for ten minutes goes stale.
 */
export const STALE_AFTER_MS = 10 * 60_000;

/** The columns of a RunRecord, optionally qualified with a table alias (e.g. 'r.'). */
function runColumns(t = ''): string {
  return `${t}id, ${t}repository, ${t}run_date::text AS run_date, ${t}trigger, ${t}dry_run, ${t}forced,
    ${t}status, ${t}skip_reason, ${t}gates, ${t}started_at, ${t}finished_at, ${t}summary, ${t}logs_url,
    ${t}metrics, ${t}overrides, ${t}error, ${t}sandbox, ${t}base_sha, ${t}tool_version, ${t}actor,
    ${t}config_path, ${t}config_blob_sha, ${t}config_dirty, ${t}worktree_dirty, ${t}heartbeat_at, ${t}stale`;
}

const RUN_COLUMNS = runColumns();

interface RunRow {
  id: number;
  repository: string;
  run_date: string;
  trigger: Trigger;
  dry_run: boolean;
  forced: boolean;
  status: RunStatus;
  skip_reason: string | null;
  gates: unknown;
  started_at: Date | string;
  finished_at: Date | string | null;
  summary: string | null;
  logs_url: string | null;
  metrics: Record<string, unknown> | null;
  overrides: Record<string, unknown> | null;
  error: string | null;
  sandbox: RunSandbox | null;
  base_sha: string | null;
  tool_version: string | null;
  actor: string | null;
  config_path: string | null;
  config_blob_sha: string | null;
  config_dirty: boolean | null;
  worktree_dirty: boolean | null;
  heartbeat_at: Date | string | null;
  stale: boolean | null;
}

function toRecord(row: RunRow): RunRecord {
  return {
    id: Number(row.id),
    repository: row.repository,
    runDate: row.run_date,
    trigger: row.trigger,
    dryRun: row.dry_run,
    forced: row.forced,
    status: row.status,
    skipReason: row.skip_reason,
    gates: row.gates,
    startedAt: toDate(row.started_at),
    finishedAt: dateOrNull(row.finished_at),
    summary: row.summary,
    logsUrl: row.logs_url,
    metrics: row.metrics ?? {},
    overrides: row.overrides ?? {},
    error: row.error,
    sandbox: row.sandbox ?? null,
    baseSha: row.base_sha ?? null,
    toolVersion: row.tool_version ?? null,
    actor: row.actor ?? null,
    configPath: row.config_path ?? null,
    configBlobSha: row.config_blob_sha ?? null,
    configDirty: row.config_dirty ?? null,
    worktreeDirty: row.worktree_dirty ?? null,
    heartbeatAt: dateOrNull(row.heartbeat_at),
    stale: row.stale === true,
  };
}

/** JSON text for a `$n::jsonb` parameter (bigints become strings; undefined becomes `fallback`). */
function jsonParam(value: unknown, fallback: unknown): string {
  return JSON.stringify(value === undefined ? fallback : value, (_key, v: unknown) =>
    typeof v === 'bigint' ? v.toString() : v,
  );
}

const RUN_DATE = /^(\d{4})-(\d{2})-(\d{2})$/;

/** @throws Error naming the value unless it is a real calendar day 'YYYY-MM-DD'. */
function checkRunDate(runDate: string): void {
  const m = RUN_DATE.exec(runDate);
  const valid = m !== null && new Date(`${runDate}T00:00:00Z`).toISOString().slice(0, 10) === runDate;
  if (!valid) throw new Error(`runDate must be a UTC day 'YYYY-MM-DD', got "${runDate}"`);
}

/** @throws Error unless repository is a non-blank string */
function checkRepository(repository: string): void {
  if (repository.trim() === '') throw new Error('repository is empty; expected "owner/name"');
}

/** @throws Error naming the value unless it is a valid Date */
function checkDate(name: string, value: Date): void {
  if (!(value instanceof Date) || Number.isNaN(value.getTime())) {
    throw new Error(`${name} must be a valid Date, got ${String(value)}`);
  }
}

/** Fields shared by both ways of creating a run. */
interface NewRunBase {
  /** 'owner/name'. */
  repository: string;
  /** UTC day 'YYYY-MM-DD'. */
  runDate: string;
  trigger: Trigger;
  dryRun: boolean;
  forced: boolean;
  /** Gate results, stored as JSON. */
  gates: unknown;
  logsUrl?: string;
  startedAt: Date;
  /** What the run was made from and by whom, as far as known (absent fields: null). */
  audit?: Partial<RunAudit>;
}

/** The audit columns, in AUDIT_COLUMNS order, as query parameters. */
function auditParams(audit: Partial<RunAudit> | undefined): unknown[] {
  const a = audit ?? {};
  return [
    a.baseSha ?? null,
    a.toolVersion ?? null,
    a.actor ?? null,
    a.configPath ?? null,
    a.configBlobSha ?? null,
    a.configDirty ?? null,
    a.worktreeDirty ?? null,
  ];
}

/** The audit columns of self_evolution_runs, in auditParams order. */
const AUDIT_COLUMNS =
  'base_sha, tool_version, actor, config_path, config_blob_sha, config_dirty, worktree_dirty';

/** Input of insertSkippedRun. */
export interface SkippedRunInput extends NewRunBase {
  skipReason: string;
  summary: string;
  finishedAt: Date;
  overrides?: object;
  config?: object;
  metrics?: object;
}

/** Input of startRun. */
export interface StartRunInput extends NewRunBase {
  /** The effective config, stored as JSON. */
  config: object;
  /** Environment overrides applied to the config, stored as JSON. */
  overrides: object;
  /** The first heartbeat: when the record is created (default `startedAt`, which precedes the jitter). */
  heartbeatAt?: Date;
}

/** Result of startRun. */
export type StartRunResult =
  { ok: true; run: RunRecord } | { ok: false; reason: 'already-ran-today'; existingRunId: number };

/** Input of finishRun. */
export interface FinishRunInput {
  /** 'cancelled' for a run a signal stopped (it neither counts as the day's run nor starts the cooldown). */
  status: 'success' | 'failed' | 'cancelled';
  summary: string;
  metrics: object;
  finishedAt: Date;
  error?: string;
}

/**
 * Records a run that stopped at the gates (status 'skipped'). Skipped rows do not count against the
 * one-run-per-day rule, so any number may be inserted.
 * @returns the inserted row
 * @throws Error for a blank repository, a bad runDate or an invalid Date; the driver's error otherwise
 *   (e.g. 23514 for an unknown trigger)
 */
export async function insertSkippedRun(db: Queryable, input: SkippedRunInput): Promise<RunRecord> {
  checkRepository(input.repository);
  checkRunDate(input.runDate);
  checkDate('startedAt', input.startedAt);
  checkDate('finishedAt', input.finishedAt);
  const rows = await db.query<RunRow>(
    `INSERT INTO self_evolution_runs
       (repository, run_date, trigger, dry_run, forced, status, skip_reason, gates, summary, logs_url,
        started_at, finished_at, overrides, config, metrics, ${AUDIT_COLUMNS})
     VALUES ($1, $2::date, $3, $4, $5, 'skipped', $6, $7::jsonb, $8, $9, $10, $11, $12::jsonb, $13::jsonb,
        $14::jsonb, $15, $16, $17, $18, $19, $20, $21)
     RETURNING ${RUN_COLUMNS}`,
    [
      input.repository,
      input.runDate,
      input.trigger,
      input.dryRun,
      input.forced,
      input.skipReason,
      jsonParam(input.gates, []),
      input.summary,
      input.logsUrl ?? null,
      input.startedAt,
      input.finishedAt,
      jsonParam(input.overrides, {}),
      input.config === undefined ? null : jsonParam(input.config, null),
      jsonParam(input.metrics, {}),
      ...auditParams(input.audit),
    ],
  );
  return toRecord(rows[0]!);
}

/**
 * Creates the run record with status 'running' and its first heartbeat (`heartbeatAt`, else `startedAt`). When a non-forced run that got past the gates already
 * exists for the repository and day (unique index self_evolution_runs_one_per_day, SQLSTATE 23505),
 * returns `{ok: false, reason: 'already-ran-today', existingRunId}` instead of throwing. Forced runs are
 * never refused.
 * @throws Error for a blank repository, a bad runDate or an invalid Date; the driver's error otherwise
 */
export async function startRun(db: Queryable, input: StartRunInput): Promise<StartRunResult> {
  checkRepository(input.repository);
  checkRunDate(input.runDate);
  checkDate('startedAt', input.startedAt);
  if (input.heartbeatAt !== undefined) checkDate('heartbeatAt', input.heartbeatAt);
  let rows: RunRow[];
  try {
    rows = await db.query<RunRow>(
      `INSERT INTO self_evolution_runs
         (repository, run_date, trigger, dry_run, forced, status, gates, logs_url, started_at, config, overrides,
          ${AUDIT_COLUMNS}, heartbeat_at)
       VALUES ($1, $2::date, $3, $4, $5, 'running', $6::jsonb, $7, $8, $9::jsonb, $10::jsonb,
          $11, $12, $13, $14, $15, $16, $17, $18)
       RETURNING ${RUN_COLUMNS}`,
      [
        input.repository,
        input.runDate,
        input.trigger,
        input.dryRun,
        input.forced,
        jsonParam(input.gates, []),
        input.logsUrl ?? null,
        input.startedAt,
        jsonParam(input.config, {}),
        jsonParam(input.overrides, {}),
        ...auditParams(input.audit),
        input.heartbeatAt ?? input.startedAt,
      ],
    );
  } catch (error) {
    const e = error as { code?: unknown; constraint?: unknown; message?: unknown };
    const isOnePerDay =
      e.code === '23505' &&
      (e.constraint === ONE_RUN_PER_DAY_INDEX ||
        (typeof e.message === 'string' && e.message.includes(ONE_RUN_PER_DAY_INDEX)));
    if (!isOnePerDay) throw error;
    const existing = await findRunOnDate(db, input.repository, input.runDate);
    if (existing === null) throw error;
    return { ok: false, reason: 'already-ran-today', existingRunId: existing.id };
  }
  return { ok: true, run: toRecord(rows[0]!) };
}

/**
 * Records how a running run isolates the commands it starts (before the first one runs).
 * @throws Error naming the value when it is not 'bwrap', 'unshare' or 'none', or the id when no running run
 *   has it.
 */
export async function setRunSandbox(db: Queryable, id: number, sandbox: RunSandbox): Promise<void> {
  if (!['bwrap', 'unshare', 'none'].includes(sandbox)) {
    throw new Error(`setRunSandbox: sandbox must be 'bwrap', 'unshare' or 'none', got "${String(sandbox)}"`);
  }
  const updated = await db.query<{ id: number }>(
    `UPDATE self_evolution_runs SET sandbox = $2 WHERE id = $1 AND status = 'running' RETURNING id`,
    [id, sandbox],
  );
  if (updated.length === 0) throw new Error(`setRunSandbox: there is no running run with id ${id}`);
}

/**
 * Closes a running run: status ('success', 'failed' or 'cancelled'), summary, metrics (JSON), finished_at and
 * error. One conditional UPDATE (`WHERE id AND status = 'running'`), so a run that lost its lock may close its own
 * row through any connection: it changes nothing once a later run has closed it.
 * @throws Error naming the id when no run has it, or when the run is no longer 'running' (for example a
 *   later run marked it stale); the row is then left unchanged
 */
export async function finishRun(db: Queryable, id: number, input: FinishRunInput): Promise<void> {
  checkDate('finishedAt', input.finishedAt);
  if (input.status !== 'success' && input.status !== 'failed' && input.status !== 'cancelled') {
    throw new Error(
      `finishRun: status must be 'success', 'failed' or 'cancelled', got "${String(input.status)}"`,
    );
  }
  const updated = await db.query<{ id: number }>(
    `UPDATE self_evolution_runs
     SET status = $2, summary = $3, metrics = $4::jsonb, finished_at = $5, error = $6
     WHERE id = $1 AND status = 'running'
     RETURNING id`,
    [id, input.status, input.summary, jsonParam(input.metrics, {}), input.finishedAt, input.error ?? null],
  );
  if (updated.length > 0) return;
  const current = await getRun(db, id);
  if (current === null) throw new Error(`finishRun: there is no run with id ${id}`);
  throw new Error(
    `finishRun: run ${id} is '${current.status}', not 'running'` +
      (current.summary === STALE_SUMMARY ? ' (a later run marked it stale)' : '') +
      `; cannot record it as '${input.status}'`,
  );
}

/**
 * Writes the heartbeat of a running run: heartbeat_at = `now`.
 * @returns true when written; false when run `id` is not 'running' (closed, or marked stale by a later run)
 * @throws Error for an invalid Date; the driver's error otherwise
 */
export async function heartbeat(db: Queryable, id: number, now: Date): Promise<boolean> {
  checkDate('now', now);
  const rows = await db.query<{ id: number }>(
    `UPDATE self_evolution_runs SET heartbeat_at = $2 WHERE id = $1 AND status = 'running' RETURNING id`,
    [id, now],
  );
  return rows.length > 0;
}

/**
 * Closes the dead runs of `repository`: every 'running' run whose last heartbeat (else its start) is more than
 * `staleAfterMs` before `now` becomes 'failed' with `stale = true`, finished_at = that last heartbeat (when it
 * was last seen alive, not now) and summary STALE_SUMMARY. A run with a fresher heartbeat is alive and left
 * alone, also when its lock is gone. Call under the run lock. Stale runs start no cooldown (lastFailedRun).
 * @param staleAfterMs default STALE_AFTER_MS; a number >= 0
 * @returns the ids marked, ascending (empty when none)
 * @throws Error for a blank repository, an invalid Date or a negative staleAfterMs; the driver's error otherwise
 */
export async function markStaleRuns(
  db: Queryable,
  repository: string,
  now: Date,
  staleAfterMs: number = STALE_AFTER_MS,
): Promise<number[]> {
  checkRepository(repository);
  checkDate('now', now);
  if (!Number.isFinite(staleAfterMs) || staleAfterMs < 0) {
    throw new Error(`markStaleRuns: staleAfterMs must be a number >= 0, got ${String(staleAfterMs)}`);
  }
  const rows = await db.query<{ id: number }>(
    `UPDATE self_evolution_runs
     SET status = 'failed', stale = true, finished_at = COALESCE(heartbeat_at, started_at), summary = $3
     WHERE repository = $1 AND status = 'running' AND COALESCE(heartbeat_at, started_at) < $2
     RETURNING id`,
    [repository, new Date(now.getTime() - staleAfterMs), STALE_SUMMARY],
  );
  return rows.map((r) => Number(r.id)).sort((a, b) => a - b);
}

/**
 * The run of `repository` on `runDate` that counts against the one-run-per-day rule (not forced, not
 * skipped, not cancelled: the rule of the unique index self_evolution_runs_one_per_day), or null.
 * @throws Error for a bad runDate
 */
export async function findRunOnDate(
  db: Queryable,
  repository: string,
  runDate: string,
): Promise<RunRecord | null> {
  checkRunDate(runDate);
  const rows = await db.query<RunRow>(
    `SELECT ${RUN_COLUMNS} FROM self_evolution_runs
     WHERE repository = $1 AND run_date = $2::date AND NOT forced AND status NOT IN ('skipped', 'cancelled')
     ORDER BY id
     LIMIT 1`,
    [repository, runDate],
  );
  return rows[0] === undefined ? null : toRecord(rows[0]);
}

/**
 * The most recent 'failed' run of `repository` by finished_at (then id) that a cooldown counts from, or null.
 * Stale runs (closed by a later run: their process died) are left out, and so are cancelled ones (not failed).
 */
export async function lastFailedRun(db: Queryable, repository: string): Promise<RunRecord | null> {
  const rows = await db.query<RunRow>(
    `SELECT ${RUN_COLUMNS} FROM self_evolution_runs
     WHERE repository = $1 AND status = 'failed' AND NOT stale
     ORDER BY finished_at DESC NULLS LAST, id DESC
     LIMIT 1`,
    [repository],
  );
  return rows[0] === undefined ? null : toRecord(rows[0]);
}

/**
 * The newest runs, by id, newest first (ids are given in the order runs are recorded; start times written by
 * different clocks need not agree, and sorting by them listed ids out of order, e.g. 7, 8, 6), each with the number of its proposals and how many were
 * allowed and blocked: the "check recent runs" monitoring query of the v0 design.
 * @param options.repository only this repository's runs; all repositories when undefined
 * @param options.limit how many rows at most, an integer from 1 to 10000
 * @throws Error naming the value when limit is out of range
 */
export async function listRecentRuns(
  db: Queryable,
  options: { repository?: string; limit: number },
): Promise<RunWithCounts[]> {
  const { limit } = options;
  if (!Number.isInteger(limit) || limit < 1 || limit > 10_000) {
    throw new Error(`listRecentRuns: limit must be an integer from 1 to 10000, got ${String(limit)}`);
  }
  const rows = await db.query<RunRow & { proposals: number; allowed: number; blocked: number }>(
    `SELECT ${runColumns('r.')},
       COALESCE(p.proposals, 0) AS proposals, COALESCE(p.allowed, 0) AS allowed,
       COALESCE(p.blocked, 0) AS blocked
     FROM self_evolution_runs r
     LEFT JOIN LATERAL (
       SELECT count(*)::int AS proposals,
              (count(*) FILTER (WHERE verdict = 'allowed'))::int AS allowed,
              (count(*) FILTER (WHERE verdict = 'blocked'))::int AS blocked
       FROM self_evolution_proposals WHERE run_id = r.id
     ) p ON true
     WHERE $1::text IS NULL OR r.repository = $1::text
     ORDER BY r.id DESC
     LIMIT $2`,
    [options.repository ?? null, limit],
  );
  return rows.map((row) => ({
    ...toRecord(row),
    proposals: Number(row.proposals),
    allowed: Number(row.allowed),
    blocked: Number(row.blocked),
  }));
}

/** The run with this id, or null. */
export async function getRun(db: Queryable, id: number): Promise<RunRecord | null> {
  const rows = await db.query<RunRow>(`SELECT ${RUN_COLUMNS} FROM self_evolution_runs WHERE id = $1`, [id]);
  return rows[0] === undefined ? null : toRecord(rows[0]);
}
