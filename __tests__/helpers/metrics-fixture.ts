/**
 * Rows for the metrics views (migration 000006), written with SQL relative to the database's now() so the
 * windows of 7, 30 and 90 days see them where the tests expect. `seedMetrics` writes one repository's history;
 * METRICS_EXPECTED holds the figures the views must give for it (the tests assert them exactly).
 *
 * Timeline (ages back from now):
 *   runs:      success 2 d (1000 tokens, 3 min), skipped 1 d (not counted), stale 3 d (no metrics: not counted),
 *              success 20 d (3000 tokens, 5 min), failed 40 d (no tokensUsed: 0, 1 min)
 *   proposals: 47 h  allowed, verify passed; PR merged 6 h after it was opened, reverted (auto) 12 h after merge
 *                    (plus a failed manual rollback, which is no revert)
 *              47 h  allowed, verify failed (status verify-failed), no PR
 *              20 d  allowed, verify passed; PR merged 30 h after it was opened (plus a failed PR row for another
 *                    patch and a shadow rollback, neither counted)
 *              20 d  blocked: blocked-path twice (two files), diff-size once, test-change as a warning
 *              40 d  allowed, verify passed; PR closed unmerged
 *              40 d  blocked: diff-size, plus an approval-severity violation
 *              40 d  allowed, not verified; PR merged 2 h after it was opened, reverted on request 48 h after merge
 *              40 d  proposer failure (blocked, no violations)
 *   breaker trips: 3 d, 50 d
 */
import type { Queryable } from '../../src/store/db.js';

const HOUR = 1;
const DAY = 24 * HOUR;

/** Writes a run `hoursAgo` hours ago (run_date the day it started) and returns its id. */
async function run(
  db: Queryable,
  repository: string,
  hoursAgo: number,
  status: string,
  metrics: object,
  stale = false,
): Promise<number> {
  const [row] = await db.query<{ id: number }>(
    `INSERT INTO self_evolution_runs
       (repository, run_date, trigger, dry_run, forced, status, started_at, finished_at, metrics, stale)
     VALUES ($1, (now() - $2::float8 * interval '1 hour')::date, 'schedule', false, false, $3,
       now() - $2::float8 * interval '1 hour', now() - $2::float8 * interval '1 hour' + interval '5 minutes',
       $4::jsonb, $5)
     RETURNING id`,
    [repository, hoursAgo, status, JSON.stringify(metrics), stale],
  );
  return Number(row!.id);
}

/** What a crafted proposal is. */
interface CraftedProposal {
  runId: number;
  hoursAgo: number;
  status?: 'evaluated' | 'failed' | 'verify-failed';
  verdict: 'allowed' | 'blocked';
  violations?: object[];
  verify?: 'passed' | 'failed';
}

/** Writes a proposal and returns its id. */
async function proposal(db: Queryable, p: CraftedProposal): Promise<number> {
  const [row] = await db.query<{ id: number }>(
    `INSERT INTO self_evolution_proposals
       (run_id, proposer, type, title, risk_level, status, verdict, allowlisted, blocked_reasons, violations,
        verify, created_at)
     VALUES ($1, 'command:fixture', 'cleanup', 'a change', 1, $2, $3, $3 = 'allowed',
       CASE WHEN $3 = 'allowed' THEN '{}'::text[] ELSE ARRAY['blocked'] END, $4::jsonb, $5::jsonb,
       now() - $6::float8 * interval '1 hour')
     RETURNING id`,
    [
      p.runId,
      p.status ?? 'evaluated',
      p.verdict,
      JSON.stringify(p.violations ?? []),
      p.verify === undefined ? null : JSON.stringify({ status: p.verify, commands: [] }),
      p.hoursAgo,
    ],
  );
  return Number(row!.id);
}

let patches = 0;

/**
 * Writes a 'pr' action for a proposal, opened one hour after it; `mergedAfter` (hours after it was opened) sets
 * merged_at. Returns its id.
 */
async function action(
  db: Queryable,
  repository: string,
  runId: number,
  proposalId: number,
  status: string,
  mergedAfter: number | null = null,
): Promise<number> {
  patches++;
  const [row] = await db.query<{ id: number }>(
    `INSERT INTO self_evolution_actions
       (proposal_id, run_id, repository, action_type, status, patch_sha256, created_at, merged_at, closed_at)
     SELECT $1, $2, $3, 'pr', $4, $5, p.created_at + interval '1 hour',
       p.created_at + interval '1 hour' + $6::float8 * interval '1 hour',
       CASE WHEN $4 = 'closed' THEN p.created_at + interval '2 hours' END
     FROM self_evolution_proposals p WHERE p.id = $1
     RETURNING id`,
    [proposalId, runId, repository, status, `${patches}`.padStart(64, '0'), mergedAfter],
  );
  return Number(row!.id);
}

/** Writes a rollback of an action, updated `afterMerge` hours after the action's merge. */
async function rollback(
  db: Queryable,
  repository: string,
  actionId: number,
  r: { trigger: 'auto' | 'manual'; mode: 'pr' | 'shadow'; status: string; afterMerge: number },
): Promise<void> {
  await db.query(
    `INSERT INTO self_evolution_rollbacks
       (action_id, reason, repository, trigger, mode, status, created_at, updated_at)
     SELECT a.id, 'checks failed', $2, $3, $4, $5, a.merged_at + interval '1 hour',
       a.merged_at + $6::float8 * interval '1 hour'
     FROM self_evolution_actions a WHERE a.id = $1`,
    [actionId, repository, r.trigger, r.mode, r.status, r.afterMerge],
  );
}

/** Writes a breaker trip `hoursAgo` hours ago. */
async function trip(db: Queryable, repository: string, hoursAgo: number): Promise<void> {
  await db.query(
    `INSERT INTO self_evolution_breaker_trips (repository, cause, reason, tripped_at)
     VALUES ($1, 'reverted', 'too many reverts', now() - $2::float8 * interval '1 hour')`,
    [repository, hoursAgo],
  );
}

const block = (ruleId: string, path: string) => ({ ruleId, severity: 'block', path, message: 'no' });

/** Writes the history of the module docs for `repository`. */
export async function seedMetrics(db: Queryable, repository: string): Promise<void> {
  const recent = await run(db, repository, 2 * DAY, 'success', {
    tokensUsed: 1000,
    stagesMs: { jitter: 60_000, propose: 120_000 },
  });
  await run(db, repository, 1 * DAY, 'skipped', { stagesMs: { gates: 600_000 } });
  await run(db, repository, 3 * DAY, 'failed', {}, true);
  const older = await run(db, repository, 20 * DAY, 'success', {
    tokensUsed: 3000,
    stagesMs: { propose: 300_000 },
  });
  const oldest = await run(db, repository, 40 * DAY, 'failed', { stagesMs: { propose: 60_000 } });

  const p1 = await proposal(db, { runId: recent, hoursAgo: 47, verdict: 'allowed', verify: 'passed' });
  const a1 = await action(db, repository, recent, p1, 'rolled_back', 6);
  await rollback(db, repository, a1, { trigger: 'auto', mode: 'pr', status: 'merged', afterMerge: 12 });
  await rollback(db, repository, a1, { trigger: 'manual', mode: 'pr', status: 'failed', afterMerge: 3 });
  await proposal(db, {
    runId: recent,
    hoursAgo: 47,
    status: 'verify-failed',
    verdict: 'allowed',
    verify: 'failed',
  });

  const p3 = await proposal(db, { runId: older, hoursAgo: 20 * DAY, verdict: 'allowed', verify: 'passed' });
  const a3 = await action(db, repository, older, p3, 'merged', 30);
  await action(db, repository, older, p3, 'failed');
  await rollback(db, repository, a3, { trigger: 'auto', mode: 'shadow', status: 'shadow', afterMerge: 5 });
  await proposal(db, {
    runId: older,
    hoursAgo: 20 * DAY,
    verdict: 'blocked',
    violations: [
      block('blocked-path', '.github/workflows/a.yml'),
      block('blocked-path', '.github/workflows/b.yml'),
      block('diff-size', ''),
      { ruleId: 'test-change', severity: 'warn', path: 'a.test.ts', message: 'tests changed' },
    ],
  });

  const p5 = await proposal(db, { runId: oldest, hoursAgo: 40 * DAY, verdict: 'allowed', verify: 'passed' });
  await action(db, repository, oldest, p5, 'closed');
  await proposal(db, {
    runId: oldest,
    hoursAgo: 40 * DAY,
    verdict: 'blocked',
    violations: [
      block('diff-size', ''),
      { ruleId: 'test-change', severity: 'approval', path: 'b.test.ts', message: 'needs approval' },
    ],
  });
  const p8 = await proposal(db, { runId: oldest, hoursAgo: 40 * DAY, verdict: 'allowed' });
  const a8 = await action(db, repository, oldest, p8, 'rolled_back', 2);
  await rollback(db, repository, a8, { trigger: 'manual', mode: 'pr', status: 'merged', afterMerge: 48 });
  await proposal(db, { runId: oldest, hoursAgo: 40 * DAY, status: 'failed', verdict: 'blocked' });

  await trip(db, repository, 3 * DAY);
  await trip(db, repository, 50 * DAY);
}

/** The figures of self_evolution_metrics for a repository seeded by seedMetrics, by window. */
export const METRICS_EXPECTED = {
  7: {
    windowDays: 7,
    proposalsMade: 2,
    proposalsAllowed: 2,
    proposalsVerified: 1,
    verifyFailed: 1,
    published: 1,
    merged: 1,
    closedUnmerged: 0,
    reverted: 1,
    revertedAuto: 1,
    revertedManual: 0,
    acceptanceRate: 1,
    regressionRate: 1,
    meanHoursToMerge: 6,
    meanHoursToRevert: 12,
    verifyPassRate: 0.5,
    runs: 1,
    tokensPerRun: 1000,
    minutesPerRun: 3,
    breakerTrips: 1,
  },
  30: {
    windowDays: 30,
    proposalsMade: 4,
    proposalsAllowed: 3,
    proposalsVerified: 2,
    verifyFailed: 1,
    published: 2,
    merged: 2,
    closedUnmerged: 0,
    reverted: 1,
    revertedAuto: 1,
    revertedManual: 0,
    acceptanceRate: 1,
    regressionRate: 0.5,
    meanHoursToMerge: 18,
    meanHoursToRevert: 12,
    verifyPassRate: 2 / 3,
    runs: 2,
    tokensPerRun: 2000,
    minutesPerRun: 4,
    breakerTrips: 1,
  },
  90: {
    windowDays: 90,
    proposalsMade: 8,
    proposalsAllowed: 5,
    proposalsVerified: 3,
    verifyFailed: 1,
    published: 4,
    merged: 3,
    closedUnmerged: 1,
    reverted: 2,
    revertedAuto: 1,
    revertedManual: 1,
    acceptanceRate: 0.75,
    regressionRate: 2 / 3,
    meanHoursToMerge: 38 / 3,
    meanHoursToRevert: 30,
    verifyPassRate: 0.75,
    runs: 3,
    tokensPerRun: 4000 / 3,
    minutesPerRun: 3,
    breakerTrips: 2,
  },
} as const;

/** The blocking rules for a repository seeded by seedMetrics, by window, in the views' order. */
export const BLOCKING_EXPECTED = {
  7: [],
  30: [
    { ruleId: 'blocked-path', proposals: 1, violations: 2 },
    { ruleId: 'diff-size', proposals: 1, violations: 1 },
  ],
  90: [
    { ruleId: 'diff-size', proposals: 2, violations: 2 },
    { ruleId: 'blocked-path', proposals: 1, violations: 2 },
  ],
} as const;
