/**
 * The loop's metrics: typed reads of the views of migration 000006,
 * self_evolution_metrics (one row per repository and window of 7, 30 and 90 days) and
 * self_evolution_blocking_rules (the rails rules that blocked the proposals made in each window). The views
 * compute everything when read, with windows ending at the database's now(); the definitions are in
 * sql/000006_metrics.sql and the README ("Metrics").
 *
 * Counts come back as numbers (integer in SQL), rates and means as numbers or null (double precision in SQL).
 */
import type { Queryable } from './db.js';

/** The windows of the views, days, ascending. */
export const METRICS_WINDOWS: readonly MetricsWindow[] = Object.freeze([7, 30, 90] as const);

/** A window of the views: the last 7, 30 or 90 days (24-hour days back from now()). */
export type MetricsWindow = 7 | 30 | 90;

/**
 * One row of self_evolution_metrics: one repository over one window. The proposal figures follow the proposals
 * made in the window and what has become of them since (each is part of the one before it); runs and breaker
 * trips are those started / tripped in the window.
 */
export interface WindowMetrics {
  /** 'owner/name'. */
  repository: string;
  /** The window, days. */
  windowDays: MetricsWindow;
  /** Proposals recorded (proposer failures included). */
  proposalsMade: number;
  /** Of those, verdict 'allowed' by the rails (verify-failed ones included). */
  proposalsAllowed: number;
  /** Of those, verification passed (verify.status 'passed'). */
  proposalsVerified: number;
  /** Of those, verification failed (verify.status 'failed'). */
  verifyFailed: number;
  /** Their pull requests that reached GitHub ('pr' actions submitted, merged, closed, rejected or rolled_back). */
  published: number;
  /** Of those, merged (merged_at set, or status merged / rolled_back). */
  merged: number;
  /** Of those published, closed without merging (status closed or rejected). */
  closedUnmerged: number;
  /** Of those merged, reverted since (status rolled_back, or a rollback with status 'merged'). */
  reverted: number;
  /** Reverted by a merged rollback with trigger 'auto'. */
  revertedAuto: number;
  /** Reverted by a merged rollback with trigger 'manual' (someone asked). */
  revertedManual: number;
  /** merged / published, 0..1; null when nothing was published. */
  acceptanceRate: number | null;
  /** reverted / merged, 0..1 (post-merge regression rate); null when nothing was merged. */
  regressionRate: number | null;
  /** Mean of merged_at - the action's created_at, hours; null when nothing was merged. */
  meanHoursToMerge: number | null;
  /** Mean of the merged rollback's updated_at - the action's merged_at, hours; null when none. */
  meanHoursToRevert: number | null;
  /** passed / (passed + failed), 0..1; null when no proposal was verified. */
  verifyPassRate: number | null;
  /** Runs started in the window that got past the gates and recorded their metrics (not skipped/running/stale). */
  runs: number;
  /** Mean metrics.tokensUsed of those runs (0 for a run without it); null when there is no run. */
  tokensPerRun: number | null;
  /** Mean total of metrics.stagesMs of those runs, minutes (jitter included); null when there is no run. */
  minutesPerRun: number | null;
  /** Circuit-breaker trips in the window. */
  breakerTrips: number;
}

/** One row of self_evolution_blocking_rules: how often one rails rule blocked in one repository and window. */
export interface BlockingRule {
  /** 'owner/name'. */
  repository: string;
  /** The window, days. */
  windowDays: MetricsWindow;
  /** The rule's stable id, e.g. 'blocked-path'. */
  ruleId: string;
  /** Proposals made in the window it blocked (a violation of severity 'block'). */
  proposals: number;
  /** Its violations of severity 'block' in those proposals (one per file or finding). */
  violations: number;
}

/** Which repositories to read: `all` for every repository in the database, else `repository` ('owner/name'). */
export interface MetricsScope {
  repository?: string;
  all?: boolean;
}

/** A window of one repository in a {@link MetricsReport}: the figures and the rules that blocked most. */
export type MetricsReportWindow = Omit<WindowMetrics, 'repository'> & {
  /** Every rule that blocked in the window, most proposals first (then most violations, then rule id). */
  blockingRules: Omit<BlockingRule, 'repository' | 'windowDays'>[];
};

/** What `status --metrics --json` prints: per repository (by name), its windows (7, 30, 90 days). */
export interface MetricsReport {
  /** The windows, days, ascending (METRICS_WINDOWS). */
  windows: MetricsWindow[];
  repositories: { repository: string; windows: MetricsReportWindow[] }[];
}

interface MetricsRow {
  repository: string;
  window_days: number;
  proposals_made: number | string;
  proposals_allowed: number | string;
  proposals_verified: number | string;
  verify_failed: number | string;
  published: number | string;
  merged: number | string;
  closed_unmerged: number | string;
  reverted: number | string;
  reverted_auto: number | string;
  reverted_manual: number | string;
  acceptance_rate: number | string | null;
  regression_rate: number | string | null;
  mean_hours_to_merge: number | string | null;
  mean_hours_to_revert: number | string | null;
  verify_pass_rate: number | string | null;
  runs: number | string;
  tokens_per_run: number | string | null;
  minutes_per_run: number | string | null;
  breaker_trips: number | string;
}

interface BlockingRuleRow {
  repository: string;
  window_days: number;
  rule_id: string;
  proposals: number | string;
  violations: number | string;
}

/** A nullable numeric column as a number or null. */
function orNull(value: number | string | null): number | null {
  return value === null ? null : Number(value);
}

/** The repository filter of a scope as a query parameter: null for every repository. */
function repositoryParam(scope: MetricsScope, caller: string): string | null {
  if (scope.all === true) return null;
  if (scope.repository === undefined || scope.repository.trim() === '') {
    throw new Error(`${caller}: give a repository ("owner/name") or all: true`);
  }
  return scope.repository;
}

/**
 * The rows of self_evolution_metrics for the scope, by repository then window (7, 30, 90). A repository with no
 * run and no breaker trip has no rows.
 * @throws Error when the scope names neither a repository nor all; the driver's error otherwise (e.g. 42P01
 *   before migration 000006)
 */
export async function readMetrics(db: Queryable, scope: MetricsScope): Promise<WindowMetrics[]> {
  const repository = repositoryParam(scope, 'readMetrics');
  const rows = await db.query<MetricsRow>(
    `SELECT * FROM self_evolution_metrics
     WHERE $1::text IS NULL OR repository = $1::text
     ORDER BY repository COLLATE "C", window_days`,
    [repository],
  );
  return rows.map((r) => ({
    repository: r.repository,
    windowDays: Number(r.window_days) as MetricsWindow,
    proposalsMade: Number(r.proposals_made),
    proposalsAllowed: Number(r.proposals_allowed),
    proposalsVerified: Number(r.proposals_verified),
    verifyFailed: Number(r.verify_failed),
    published: Number(r.published),
    merged: Number(r.merged),
    closedUnmerged: Number(r.closed_unmerged),
    reverted: Number(r.reverted),
    revertedAuto: Number(r.reverted_auto),
    revertedManual: Number(r.reverted_manual),
    acceptanceRate: orNull(r.acceptance_rate),
    regressionRate: orNull(r.regression_rate),
    meanHoursToMerge: orNull(r.mean_hours_to_merge),
    meanHoursToRevert: orNull(r.mean_hours_to_revert),
    verifyPassRate: orNull(r.verify_pass_rate),
    runs: Number(r.runs),
    tokensPerRun: orNull(r.tokens_per_run),
    minutesPerRun: orNull(r.minutes_per_run),
    breakerTrips: Number(r.breaker_trips),
  }));
}

/**
 * The rows of self_evolution_blocking_rules for the scope, by repository, then window (7, 30, 90), then most
 * proposals blocked first (then most violations, then rule id).
 * @param scope.limit at most this many rules per repository and window (an integer >= 1; default: all)
 * @throws Error for a bad scope or limit; the driver's error otherwise
 */
export async function blockingRules(
  db: Queryable,
  scope: MetricsScope & { limit?: number },
): Promise<BlockingRule[]> {
  const repository = repositoryParam(scope, 'blockingRules');
  const { limit } = scope;
  if (limit !== undefined && (!Number.isInteger(limit) || limit < 1)) {
    throw new Error(`blockingRules: limit must be an integer >= 1, got ${String(limit)}`);
  }
  const rows = await db.query<BlockingRuleRow>(
    `SELECT repository, window_days, rule_id, proposals, violations FROM (
       SELECT b.*, row_number() OVER (
         PARTITION BY repository, window_days ORDER BY proposals DESC, violations DESC, rule_id COLLATE "C"
       ) AS rank
       FROM self_evolution_blocking_rules b
       WHERE $1::text IS NULL OR repository = $1::text
     ) ranked
     WHERE $2::int IS NULL OR rank <= $2::int
     ORDER BY repository COLLATE "C", window_days, rank`,
    [repository, limit ?? null],
  );
  return rows.map((r) => ({
    repository: r.repository,
    windowDays: Number(r.window_days) as MetricsWindow,
    ruleId: r.rule_id,
    proposals: Number(r.proposals),
    violations: Number(r.violations),
  }));
}

/**
 * Both views for the scope as one object (what `status --metrics --json` prints): per repository, by name, its
 * three windows, each with its figures and every rule that blocked in it. `repositories` is empty when the
 * scope's repository has no run and no breaker trip.
 * @throws like {@link readMetrics}
 */
export async function readMetricsReport(db: Queryable, scope: MetricsScope): Promise<MetricsReport> {
  const metrics = await readMetrics(db, scope);
  const rules = await blockingRules(db, scope);
  const repositories: MetricsReport['repositories'] = [];
  for (const { repository, ...figures } of metrics) {
    let entry = repositories.at(-1);
    if (entry?.repository !== repository) {
      entry = { repository, windows: [] };
      repositories.push(entry);
    }
    entry.windows.push({
      ...figures,
      blockingRules: rules
        .filter((r) => r.repository === repository && r.windowDays === figures.windowDays)
        .map(({ ruleId, proposals, violations }) => ({ ruleId, proposals, violations })),
    });
  }
  return { windows: [...METRICS_WINDOWS], repositories };
}
