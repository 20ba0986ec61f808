/**
 * What the HTML dashboard shows ("Dashboard"; rendered by report/dashboard.ts), read in one go for one
 * repository or every repository in the database:
 *
 * - the runs of the last `days` UTC days (run_date from the day `days - 1` days before today, UTC, to today):
 *   per repository and day, how many ended with each status and why the skipped ones were skipped (the
 *   calendar), and the newest `maxRuns` of them with their gates, proposals, verdicts, pull requests and reverts;
 * - the metrics views of migration 000006 (store/metrics.ts readMetricsReport: the funnel proposed -> allowed ->
 *   verified -> published -> merged -> reverted over 7, 30 and 90 days, and the rules that block most);
 * - the open pull requests (actions of type 'pr' with status 'submitted') with their age;
 * - the circuit breaker: the feature flag that decides for each repository (the per-repository key
 *   `self_evolution_enabled:<owner/name>`, else the global `self_evolution_enabled`; gates/feature-flag.ts), the
 *   trips not reset (the breaker is open) and every trip of the window.
 *
 * Every time is the database's: `generatedAt` is its now(), so the window agrees with the metrics views. Text
 * read here (titles, skip reasons, close reasons, trip reasons) is UNTRUSTED: escape it before rendering it.
 */
import type { Queryable } from './db.js';
import { dateOrNull, toDate, type Timestamp } from './rows.js';
import { readMetricsReport, type MetricsReport } from './metrics.js';
import type { RunStatus } from './runs.js';

/** The global feature flag's key (gates/feature-flag.ts GLOBAL_FLAG_KEY; the store may not import gates/). */
const GLOBAL_FLAG_KEY = 'self_evolution_enabled';

/** How many runs the dashboard lists at most by default (the calendar counts every run of the window). */
export const DASHBOARD_MAX_RUNS = 500;

/** The longest window the dashboard reads, days. */
export const DASHBOARD_MAX_DAYS = 400;

/** What to read: one repository ('owner/name') or `all`, over the last `days` UTC days. */
export interface DashboardScope {
  repository?: string;
  all?: boolean;
  /** The window of the calendar and the run list, days (1..DASHBOARD_MAX_DAYS), today (UTC) included. */
  days: number;
  /** How many runs to list at most, newest first (default DASHBOARD_MAX_RUNS). */
  maxRuns?: number;
}

/** One repository's runs on one UTC day: how many ended with each status, and the skip reasons. */
export interface CalendarDay {
  repository: string;
  /** 'YYYY-MM-DD' (run_date, UTC). */
  day: string;
  /** Runs by status (only the statuses that occurred). */
  counts: Partial<Record<RunStatus, number>>;
  /** Why the skipped runs of the day were skipped, with how many each (untrusted text), most first. */
  skipReasons: { reason: string; runs: number }[];
}

/** A gate's answer as the run recorded it (self_evolution_runs.gates), reduced to what is shown. */
export interface DashboardGate {
  gate: string;
  outcome: string;
  reason: string;
}

/** A revert of a self-change (self_evolution_rollbacks): its merged one, else the newest one of its action. */
export interface DashboardRevert {
  /** planned, pushed, submitted, merged, closed, failed or shadow. */
  status: string;
  /** 'auto' or 'manual'. */
  trigger: string;
  prNumber: number | null;
  prUrl: string | null;
}

/** A pull request of a proposal (an action of type 'pr'). */
export interface DashboardPullRequest {
  actionId: number;
  /** The action's status (planned, pushed, submitted, merged, closed, rejected, rolled_back, failed). */
  status: string;
  number: number | null;
  url: string | null;
  createdAt: Date;
  mergedAt: Date | null;
  closedAt: Date | null;
  /** Why it was closed: a person's last words or the loop's reason (UNTRUSTED), or null. */
  closeReason: string | null;
  /** Its merged revert, else its newest one, or null. */
  revert: DashboardRevert | null;
}

/** A proposal of a listed run, with the rails' verdict and what became of it. */
export interface DashboardProposal {
  id: number;
  /** UNTRUSTED (an agent wrote it). */
  title: string;
  type: string;
  proposer: string;
  /** 'allowed' or 'blocked'. */
  verdict: string;
  /** evaluated, failed (the proposer failed) or verify-failed. */
  status: string;
  /** Why the rails blocked it (UNTRUSTED: paths and messages of the change). */
  blockedReasons: string[];
  /** The ids of the rules that blocked it (violations of severity 'block'), distinct, in order. */
  blockingRules: string[];
  /** verify.status: 'passed', 'failed', 'not-configured', or null when it was not verified. */
  verify: string | null;
  riskLevel: number;
  computedRisk: number | null;
  linesAdded: number;
  linesDeleted: number;
  pullRequests: DashboardPullRequest[];
}

/** A run of the window with what it did. */
export interface DashboardRun {
  id: number;
  repository: string;
  /** 'YYYY-MM-DD' (UTC). */
  runDate: string;
  trigger: string;
  dryRun: boolean;
  forced: boolean;
  status: RunStatus;
  /** Closed failed by a later run (its process died). */
  stale: boolean;
  /** UNTRUSTED enough to escape: gate reasons can quote errors. */
  skipReason: string | null;
  startedAt: Date;
  finishedAt: Date | null;
  summary: string | null;
  error: string | null;
  /** The workflow run's page, as recorded (check it before linking to it). */
  logsUrl: string | null;
  gates: DashboardGate[];
  proposals: DashboardProposal[];
}

/** A pull request still open: an action of type 'pr' with status 'submitted'. */
export interface OpenPullRequest {
  actionId: number;
  repository: string;
  runId: number | null;
  number: number | null;
  url: string | null;
  branch: string | null;
  /** The proposal's title (UNTRUSTED). */
  title: string;
  createdAt: Date;
  /** generatedAt - createdAt, days (fractional). */
  ageDays: number;
}

/** A circuit-breaker trip (self_evolution_breaker_trips). */
export interface DashboardTrip {
  id: number;
  repository: string;
  /** reverted, rejected, failures, stop-label or unreadable. */
  cause: string;
  /** In words (may quote GitHub: escape it). */
  reason: string;
  runId: number | null;
  trippedAt: Date;
  resetAt: Date | null;
  resetBy: string | null;
}

/** The state of one repository's loop: the deciding feature flag and the breaker. */
export interface BreakerState {
  repository: string;
  /** The deciding flag (per-repository key first, then the global one), or null when neither is set (off). */
  flag: { key: string; value: boolean; updatedAt: Date } | null;
  /** True when the deciding flag is on. */
  loopOn: boolean;
  /** 'tripped' while a trip is not reset, else 'ok'. */
  state: 'tripped' | 'ok';
  /** The newest trip not reset, or null. */
  openTrip: DashboardTrip | null;
  /** Trips of the window (tripped in it) and every trip not reset, newest first. */
  trips: DashboardTrip[];
}

/** Everything the dashboard shows, as read at `generatedAt`. */
export interface DashboardData {
  /** The database's now() when it was read. */
  generatedAt: Date;
  /** The repository shown, or null for every repository in the database. */
  repository: string | null;
  days: number;
  /** The first and last UTC day of the window, 'YYYY-MM-DD'. */
  since: string;
  until: string;
  /** The repositories shown, by name: the one asked for, or every one with a run or a breaker trip. */
  repositories: string[];
  /** Days with runs, by repository then day. */
  calendar: CalendarDay[];
  /** Runs of the window (every status), total. */
  runsTotal: number;
  /** The newest runs of the window (at most maxRuns), newest first. */
  runs: DashboardRun[];
  /** The metrics views for the scope (7, 30 and 90 days). */
  metrics: MetricsReport;
  /** Open pull requests, oldest first. */
  openPullRequests: OpenPullRequest[];
  /** One per repository, in `repositories` order. */
  breaker: BreakerState[];
}

const numOrNull = (v: number | string | null): number | null => (v === null ? null : Number(v));

/** A jsonb value as the driver returned it (parsed, or text for some setups). */
function json(value: unknown): unknown {
  if (typeof value !== 'string') return value;
  try {
    return JSON.parse(value) as unknown;
  } catch {
    return null;
  }
}

/** The recorded gates of a run, reduced to gate, outcome and reason; anything else in the array is dropped. */
export function gatesOf(value: unknown): DashboardGate[] {
  const parsed = json(value);
  if (!Array.isArray(parsed)) return [];
  return parsed.flatMap((g: unknown) => {
    if (g === null || typeof g !== 'object') return [];
    const { gate, outcome, reason } = g as Record<string, unknown>;
    if (typeof gate !== 'string' || typeof outcome !== 'string') return [];
    return [{ gate, outcome, reason: typeof reason === 'string' ? reason : '' }];
  });
}

/** The distinct rule ids of the violations of severity 'block', in order of appearance. */
export function blockingRulesOf(value: unknown): string[] {
  const parsed = json(value);
  if (!Array.isArray(parsed)) return [];
  const ids: string[] = [];
  for (const v of parsed as unknown[]) {
    if (v === null || typeof v !== 'object') continue;
    const { ruleId, severity } = v as Record<string, unknown>;
    if (severity === 'block' && typeof ruleId === 'string' && !ids.includes(ruleId)) ids.push(ruleId);
  }
  return ids;
}

/**
 * Checks a scope.
 * @returns the repository filter as a query parameter (null for all)
 * @throws Error for neither or both of repository and all, or days / maxRuns out of range
 */
function checkScope(scope: DashboardScope): string | null {
  const { days, maxRuns } = scope;
  if (!Number.isInteger(days) || days < 1 || days > DASHBOARD_MAX_DAYS) {
    throw new Error(
      `readDashboard: days must be an integer from 1 to ${DASHBOARD_MAX_DAYS}, got ${String(days)}`,
    );
  }
  if (maxRuns !== undefined && (!Number.isInteger(maxRuns) || maxRuns < 0 || maxRuns > 10_000)) {
    throw new Error(`readDashboard: maxRuns must be an integer from 0 to 10000, got ${String(maxRuns)}`);
  }
  if (scope.all === true) {
    if (scope.repository !== undefined)
      throw new Error('readDashboard: give a repository or all: true, not both');
    return null;
  }
  if (scope.repository === undefined || scope.repository.trim() === '') {
    throw new Error('readDashboard: give a repository ("owner/name") or all: true');
  }
  return scope.repository;
}

/**
 * Reads everything the dashboard shows for the scope (see the module docs). Read-only; a handful of queries,
 * none per run or per repository.
 * @throws Error for a bad scope; the driver's error otherwise (e.g. 42P01 before migration 000006)
 */
export async function readDashboard(db: Queryable, scope: DashboardScope): Promise<DashboardData> {
  const repository = checkScope(scope);
  const { days } = scope;
  const maxRuns = scope.maxRuns ?? DASHBOARD_MAX_RUNS;
  const [clock] = await db.query<{ now: Timestamp; since: string; until: string }>(
    `SELECT now() AS now,
       ((now() AT TIME ZONE 'UTC')::date - ($1::int - 1))::text AS since,
       (now() AT TIME ZONE 'UTC')::date::text AS until`,
    [days],
  );
  const generatedAt = toDate(clock!.now);
  const { since, until } = clock!;

  const calendar = await readCalendar(db, repository, since, until);
  const runsTotal = calendar.reduce(
    (sum, d) => sum + Object.values(d.counts).reduce((a, b) => a + (b ?? 0), 0),
    0,
  );
  const runs = maxRuns === 0 ? [] : await readRuns(db, repository, since, until, maxRuns);
  const metrics = await readMetricsReport(db, repository === null ? { all: true } : { repository });
  const openPullRequests = await readOpenPullRequests(db, repository, generatedAt);
  const trips = await readTrips(db, repository, days);

  const repositories =
    repository !== null
      ? [repository]
      : [
          ...new Set([
            ...metrics.repositories.map((r) => r.repository),
            ...calendar.map((d) => d.repository),
            ...trips.map((t) => t.repository),
            ...openPullRequests.map((p) => p.repository),
          ]),
        ].sort(byName);
  const breaker = await readBreaker(db, repositories, trips);
  return {
    generatedAt,
    repository,
    days,
    since,
    until,
    repositories,
    calendar,
    runsTotal,
    runs,
    metrics,
    openPullRequests,
    breaker,
  };
}

/** Bytewise order of names (as COLLATE "C" in the metrics reads). */
function byName(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

async function readCalendar(
  db: Queryable,
  repository: string | null,
  since: string,
  until: string,
): Promise<CalendarDay[]> {
  const rows = await db.query<{
    repository: string;
    day: string;
    status: RunStatus;
    skip_reason: string | null;
    runs: number | string;
  }>(
    `SELECT repository, run_date::text AS day, status, skip_reason, count(*)::int AS runs
     FROM self_evolution_runs
     WHERE ($1::text IS NULL OR repository = $1::text) AND run_date >= $2::date AND run_date <= $3::date
     GROUP BY repository, run_date, status, skip_reason
     ORDER BY repository COLLATE "C", run_date, status, runs DESC, skip_reason COLLATE "C"`,
    [repository, since, until],
  );
  const days: CalendarDay[] = [];
  for (const row of rows) {
    let day = days.at(-1);
    if (day?.repository !== row.repository || day.day !== row.day) {
      day = { repository: row.repository, day: row.day, counts: {}, skipReasons: [] };
      days.push(day);
    }
    const n = Number(row.runs);
    day.counts[row.status] = (day.counts[row.status] ?? 0) + n;
    if (row.status === 'skipped')
      day.skipReasons.push({ reason: row.skip_reason ?? '(no reason recorded)', runs: n });
  }
  for (const day of days) day.skipReasons.sort((a, b) => b.runs - a.runs);
  return days;
}

interface RunRow {
  id: number;
  repository: string;
  run_date: string;
  trigger: string;
  dry_run: boolean;
  forced: boolean;
  status: RunStatus;
  stale: boolean | null;
  skip_reason: string | null;
  gates: unknown;
  started_at: Timestamp;
  finished_at: Timestamp | null;
  summary: string | null;
  error: string | null;
  logs_url: string | null;
}

interface ProposalRow {
  id: number;
  run_id: number;
  title: string;
  type: string;
  proposer: string;
  verdict: string;
  status: string;
  blocked_reasons: string[] | null;
  violations: unknown;
  verify_status: string | null;
  risk_level: number | string;
  computed_risk: number | string | null;
  lines_added: number | string;
  lines_deleted: number | string;
}

interface ActionRow {
  id: number;
  proposal_id: number;
  status: string;
  pr_number: number | null;
  pr_url: string | null;
  created_at: Timestamp;
  merged_at: Timestamp | null;
  closed_at: Timestamp | null;
  close_reason: string | null;
  rb_status: string | null;
  rb_trigger: string | null;
  rb_pr_number: number | null;
  rb_pr_url: string | null;
}

async function readRuns(
  db: Queryable,
  repository: string | null,
  since: string,
  until: string,
  limit: number,
): Promise<DashboardRun[]> {
  const rows = await db.query<RunRow>(
    `SELECT id, repository, run_date::text AS run_date, trigger, dry_run, forced, status, stale, skip_reason,
       gates, started_at, finished_at, summary, error, logs_url
     FROM self_evolution_runs
     WHERE ($1::text IS NULL OR repository = $1::text) AND run_date >= $2::date AND run_date <= $3::date
     ORDER BY started_at DESC, id DESC
     LIMIT $4`,
    [repository, since, until, limit],
  );
  if (rows.length === 0) return [];
  const runIds = rows.map((r) => Number(r.id));
  const proposals = await db.query<ProposalRow>(
    `SELECT id, run_id, title, type, proposer, verdict, status, blocked_reasons, violations,
       verify ->> 'status' AS verify_status, risk_level, computed_risk, lines_added, lines_deleted
     FROM self_evolution_proposals
     WHERE run_id = ANY($1::int[])
     ORDER BY run_id, id`,
    [runIds],
  );
  const actions =
    proposals.length === 0
      ? []
      : await db.query<ActionRow>(
          `SELECT a.id, a.proposal_id, a.status, a.pr_number, a.pr_url, a.created_at, a.merged_at, a.closed_at,
             a.close_reason, rb.status AS rb_status, rb.trigger AS rb_trigger, rb.revert_pr_number AS rb_pr_number,
             rb.revert_pr_url AS rb_pr_url
           FROM self_evolution_actions a
           LEFT JOIN LATERAL (
             SELECT x.status, x.trigger, x.revert_pr_number, x.revert_pr_url
             FROM self_evolution_rollbacks x
             WHERE x.action_id = a.id
             ORDER BY x.status = 'merged' DESC, x.created_at DESC, x.id DESC
             LIMIT 1
           ) rb ON true
           WHERE a.action_type = 'pr' AND a.proposal_id = ANY($1::int[])
           ORDER BY a.proposal_id, a.id`,
          [proposals.map((p) => Number(p.id))],
        );
  const prsOf = new Map<number, DashboardPullRequest[]>();
  for (const a of actions) {
    const list = prsOf.get(Number(a.proposal_id)) ?? [];
    list.push({
      actionId: Number(a.id),
      status: a.status,
      number: numOrNull(a.pr_number),
      url: a.pr_url,
      createdAt: toDate(a.created_at),
      mergedAt: dateOrNull(a.merged_at),
      closedAt: dateOrNull(a.closed_at),
      closeReason: a.close_reason,
      revert:
        a.rb_status === null
          ? null
          : {
              status: a.rb_status,
              trigger: a.rb_trigger ?? 'auto',
              prNumber: numOrNull(a.rb_pr_number),
              prUrl: a.rb_pr_url,
            },
    });
    prsOf.set(Number(a.proposal_id), list);
  }
  const proposalsOf = new Map<number, DashboardProposal[]>();
  for (const p of proposals) {
    const list = proposalsOf.get(Number(p.run_id)) ?? [];
    list.push({
      id: Number(p.id),
      title: p.title,
      type: p.type,
      proposer: p.proposer,
      verdict: p.verdict,
      status: p.status,
      blockedReasons: p.blocked_reasons ?? [],
      blockingRules: blockingRulesOf(p.violations),
      verify: p.verify_status,
      riskLevel: Number(p.risk_level),
      computedRisk: numOrNull(p.computed_risk),
      linesAdded: Number(p.lines_added),
      linesDeleted: Number(p.lines_deleted),
      pullRequests: prsOf.get(Number(p.id)) ?? [],
    });
    proposalsOf.set(Number(p.run_id), list);
  }
  return rows.map((r) => ({
    id: Number(r.id),
    repository: r.repository,
    runDate: r.run_date,
    trigger: r.trigger,
    dryRun: r.dry_run,
    forced: r.forced,
    status: r.status,
    stale: r.stale === true,
    skipReason: r.skip_reason,
    startedAt: toDate(r.started_at),
    finishedAt: dateOrNull(r.finished_at),
    summary: r.summary,
    error: r.error,
    logsUrl: r.logs_url,
    gates: gatesOf(r.gates),
    proposals: proposalsOf.get(Number(r.id)) ?? [],
  }));
}

async function readOpenPullRequests(
  db: Queryable,
  repository: string | null,
  generatedAt: Date,
): Promise<OpenPullRequest[]> {
  const rows = await db.query<{
    id: number;
    repository: string;
    run_id: number | null;
    pr_number: number | null;
    pr_url: string | null;
    branch: string | null;
    title: string;
    created_at: Timestamp;
  }>(
    `SELECT a.id, COALESCE(a.repository, r.repository) AS repository, COALESCE(a.run_id, p.run_id) AS run_id,
       a.pr_number, a.pr_url, a.branch, p.title, a.created_at
     FROM self_evolution_actions a
     JOIN self_evolution_proposals p ON p.id = a.proposal_id
     JOIN self_evolution_runs r ON r.id = p.run_id
     WHERE a.action_type = 'pr' AND a.status = 'submitted'
       AND ($1::text IS NULL OR COALESCE(a.repository, r.repository) = $1::text)
     ORDER BY a.created_at, a.id`,
    [repository],
  );
  return rows.map((r) => {
    const createdAt = toDate(r.created_at);
    return {
      actionId: Number(r.id),
      repository: r.repository,
      runId: numOrNull(r.run_id),
      number: numOrNull(r.pr_number),
      url: r.pr_url,
      branch: r.branch,
      title: r.title,
      createdAt,
      ageDays: Math.max(0, (generatedAt.getTime() - createdAt.getTime()) / 86_400_000),
    };
  });
}

/** Trips tripped in the last `days` days, and every trip not reset, newest first. */
async function readTrips(db: Queryable, repository: string | null, days: number): Promise<DashboardTrip[]> {
  const rows = await db.query<{
    id: number;
    repository: string;
    cause: string;
    reason: string;
    run_id: number | null;
    tripped_at: Timestamp;
    reset_at: Timestamp | null;
    reset_by: string | null;
  }>(
    `SELECT id, repository, cause, reason, run_id, tripped_at, reset_at, reset_by
     FROM self_evolution_breaker_trips
     WHERE ($1::text IS NULL OR repository = $1::text)
       AND (tripped_at >= now() - $2::int * interval '1 day' OR reset_at IS NULL)
     ORDER BY tripped_at DESC, id DESC`,
    [repository, days],
  );
  return rows.map((r) => ({
    id: Number(r.id),
    repository: r.repository,
    cause: r.cause,
    reason: r.reason,
    runId: numOrNull(r.run_id),
    trippedAt: toDate(r.tripped_at),
    resetAt: dateOrNull(r.reset_at),
    resetBy: r.reset_by,
  }));
}

async function readBreaker(
  db: Queryable,
  repositories: readonly string[],
  trips: readonly DashboardTrip[],
): Promise<BreakerState[]> {
  const keys = [GLOBAL_FLAG_KEY, ...repositories.map((r) => `${GLOBAL_FLAG_KEY}:${r}`)];
  const flags = await db.query<{ key: string; value: boolean; updated_at: Timestamp }>(
    'SELECT key, value, updated_at FROM feature_flags WHERE key = ANY($1::text[])',
    [keys],
  );
  const flagOf = new Map(flags.map((f) => [f.key, f]));
  return repositories.map((repository) => {
    const row = flagOf.get(`${GLOBAL_FLAG_KEY}:${repository}`) ?? flagOf.get(GLOBAL_FLAG_KEY);
    const flag =
      row === undefined
        ? null
        : { key: row.key, value: row.value === true, updatedAt: toDate(row.updated_at) };
    const own = trips.filter((t) => t.repository === repository);
    const openTrip = own.find((t) => t.resetAt === null) ?? null;
    return {
      repository,
      flag,
      loopOn: flag?.value === true,
      state: openTrip === null ? 'ok' : 'tripped',
      openTrip,
      trips: own,
    };
  });
}
