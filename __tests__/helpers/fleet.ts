/**
 * A fleet's history, generated in the database with INSERT ... SELECT over generate_series (a few statements, no
 * row crosses the wire): `repositories` repositories ('fleet/repo-0001', ...) with one run a day each for the last
 * `days` UTC days, ids in the order the runs started (day by day, every repository in turn), as a database shared
 * by many repositories fills up. Used by bench/fleet-views.ts (500 x 365) and __tests__/store.fleet-views.test.ts.
 *
 * Everything is derived from hashint4 of the repository and day (or the row's id), so two fleets of the same size
 * hold the same rows. The mix, per run:
 *   - status: skipped 55 % (the feature flag, no activity, cooldown, already ran), success 25 %, failed 12 %,
 *     cancelled 4 %, reverted 2 %, success 2 % more; today, one repository in 50 has a run still 'running';
 *   - a third are dry runs; the rest publish; gates (6), metrics (stage times, tokens) and the effective config
 *     (the defaults, about 3 kB of JSON) as a run records them; a reflection for every run that got past the gates;
 *   - 0 to 3 proposals for each success, failed or reverted run (a patch of about 1.2 kB each): 60 % allowed
 *     (a tenth of them verify-failed), the rest blocked with their violations;
 *   - a 'pr' action for each allowed, verified proposal of a run that was not a dry run: 'submitted' (open) for
 *     most of those of the last 7 days, 'pushed' for a few of today's, else merged 60 %, closed 30 %, failed 10 %;
 *     'rolled_back' for those of a reverted run, each with its merged revert (a rollback row);
 *   - breaker trips: one reset 30 days ago for every 20th repository, one still open for every 100th;
 *   - the global feature flag on.
 */
import { ConfigSchema } from '../../src/config/schema.js';
import type { Queryable } from '../../src/store/db.js';

/** How big a fleet to generate. */
export interface FleetSize {
  /** How many repositories, >= 1. */
  repositories: number;
  /** How many UTC days of history, today included, >= 1. */
  days: number;
}

/** The rows generated, per table. */
export interface FleetCounts {
  runs: number;
  reflections: number;
  proposals: number;
  actions: number;
  rollbacks: number;
  breakerTrips: number;
}

/** The name of repository number `n` (1-based) of a generated fleet. */
export function fleetRepository(n: number): string {
  return `fleet/repo-${String(n).padStart(4, '0')}`;
}

/** A stable pseudo-random 0..99 of an integer expression (SQL). */
const pct = (expr: string): string => `(abs(hashint4((${expr})::int)) % 100)`;

/**
 * Writes the fleet's history (see the module docs) into a migrated database. Not idempotent: call it once on an
 * empty database. Does not ANALYZE.
 * @returns the rows written, per table
 * @throws Error for a size that is not whole numbers >= 1; the driver's error otherwise
 */
export async function generateFleet(db: Queryable, size: FleetSize): Promise<FleetCounts> {
  const { repositories, days } = size;
  for (const [name, value] of Object.entries(size)) {
    if (!Number.isInteger(value) || value < 1)
      throw new Error(`generateFleet: ${name} must be a whole number >= 1, got ${value}`);
  }
  // The effective config every run records (skipped ones too): the defaults, about 3 kB of JSON.
  const config = JSON.stringify(ConfigSchema.parse({}));
  const [runs] = await db.query<{ n: number }>(
    `WITH inserted AS (
       INSERT INTO self_evolution_runs
         (repository, run_date, trigger, dry_run, forced, status, skip_reason, gates, started_at, finished_at,
          heartbeat_at, summary, metrics, config, overrides, base_sha, tool_version, actor, stale)
       SELECT format('fleet/repo-%s', lpad(r::text, 4, '0')),
         (t.started_at AT TIME ZONE 'UTC')::date,
         CASE WHEN k.h % 20 = 0 THEN 'workflow_dispatch' ELSE 'schedule' END,
         k.h % 3 = 0, false, s.status,
         CASE WHEN s.status = 'skipped' THEN (ARRAY['feature flag self_evolution_enabled is off',
           'no activity in the last 7 days', 'cooldown: a failed run 1 day ago', 'already ran today'])[k.h % 4 + 1]
         END,
         jsonb_build_array(
           jsonb_build_object('gate', 'config-enabled', 'outcome', 'pass', 'reason', 'enabled in the config'),
           jsonb_build_object('gate', 'feature-flag', 'outcome', CASE WHEN s.status = 'skipped' AND k.h % 4 = 0
             THEN 'skip' ELSE 'pass' END, 'reason', 'self_evolution_enabled'),
           jsonb_build_object('gate', 'already-ran', 'outcome', 'pass', 'reason', 'no run today'),
           jsonb_build_object('gate', 'cooldown', 'outcome', 'pass', 'reason', 'no failed run in 1 day'),
           jsonb_build_object('gate', 'activity', 'outcome', 'pass', 'reason', '3 workflow runs in 7 days'),
           jsonb_build_object('gate', 'breaker', 'outcome', 'pass', 'reason', 'closed')),
         t.started_at,
         CASE WHEN s.status <> 'running' THEN t.started_at + (1 + k.h % 20) * interval '1 minute' END,
         t.started_at + interval '1 minute',
         CASE WHEN s.status = 'running' THEN NULL ELSE format('%s: %s proposal(s)', s.status, k.h % 4) END,
         CASE WHEN s.status IN ('skipped', 'running') THEN '{}'::jsonb
           ELSE jsonb_build_object('tokensUsed', 1000 * (k.h % 40),
             'stagesMs', jsonb_build_object('gates', 150, 'jitter', 60000 * (k.h % 30), 'reflect', 4000 + 10 * k.h,
               'propose', 90000 + 1000 * k.h, 'rails', 300))
         END,
         $3::jsonb,
         '{}'::jsonb,
         md5(r::text || ':' || d::text) || '00000000', '0.1.0', 'github-actions[bot]', false
       FROM generate_series($2::int - 1, 0, -1) AS d
       CROSS JOIN generate_series(1, $1::int) AS r
       CROSS JOIN LATERAL (SELECT ${pct('r * 100003 + d')} AS h) k
       CROSS JOIN LATERAL (
         SELECT now() - d * interval '1 day' - (5 + r % 120) * interval '1 minute' AS started_at
       ) t
       CROSS JOIN LATERAL (
         SELECT CASE WHEN d = 0 AND r % 50 = 0 THEN 'running'
           WHEN k.h < 55 THEN 'skipped' WHEN k.h < 80 THEN 'success' WHEN k.h < 92 THEN 'failed'
           WHEN k.h < 96 THEN 'cancelled' WHEN k.h < 98 THEN 'reverted' ELSE 'success' END AS status
       ) s
       ORDER BY d DESC, r
       RETURNING 1
     )
     SELECT count(*)::int AS n FROM inserted`,
    [repositories, days, config],
  );
  const [reflections] = await db.query<{ n: number }>(
    `WITH inserted AS (
       INSERT INTO self_evolution_reflections (run_id, insights, signals, created_at)
       SELECT r.id, 'Two failing checks on the default branch; one request issue open. ' || repeat('Signal. ', 20),
         jsonb_build_object('git', jsonb_build_object('commits', 12, 'churn', 340),
           'github', jsonb_build_object('failedRuns', 2, 'requests', 1),
           'goals', jsonb_build_array('fix the flaky check', 'document the prompt')),
         r.started_at + interval '1 minute'
       FROM self_evolution_runs r
       WHERE r.status NOT IN ('skipped')
       ORDER BY r.id
       RETURNING 1
     )
     SELECT count(*)::int AS n FROM inserted`,
  );
  const [proposals] = await db.query<{ n: number }>(
    `WITH inserted AS (
       INSERT INTO self_evolution_proposals
         (run_id, proposer, type, title, description, risk_level, computed_risk, status, verdict, allowlisted,
          blocked_reasons, violations, files_changed, lines_added, lines_deleted, patch, patch_sha256, provenance,
          created_at, verify, base_sha)
       SELECT r.id, 'command', 'prompt', format('Clarify prompt %s of run %s', n, r.id),
         repeat('What and why. ', 10), k.h % 4, k.h % 5,
         CASE WHEN k.allowed AND k.h % 10 = 0 THEN 'verify-failed' ELSE 'evaluated' END,
         CASE WHEN k.allowed THEN 'allowed' ELSE 'blocked' END,
         true,
         CASE WHEN k.allowed THEN '{}'::text[] ELSE ARRAY['blocked-path: src/agent.ts is not allowed'] END,
         CASE WHEN k.allowed THEN '[]'::jsonb ELSE jsonb_build_array(
           jsonb_build_object('ruleId', (ARRAY['blocked-path', 'diff-size', 'secret'])[k.h % 3 + 1],
             'severity', 'block', 'path', 'src/agent.ts', 'message', 'not an allowed path')) END,
         1 + k.h % 3, 10 + k.h, k.h % 7,
         repeat(E'+ a line of the prompt that the agent rewrote to be clearer\\n', 20),
         md5(r.id::text || ':' || n::text) || md5(n::text || ':' || r.id::text),
         jsonb_build_object('proposer', 'command', 'command', './agent.sh', 'durationMs', 90000 + k.h),
         r.started_at + n * interval '2 minutes',
         CASE WHEN NOT k.allowed THEN NULL WHEN k.h % 10 = 0 THEN '{"status": "failed"}'::jsonb
           ELSE '{"status": "passed"}'::jsonb END,
         r.base_sha
       FROM self_evolution_runs r
       CROSS JOIN LATERAL generate_series(1, abs(hashint4(r.id)) % 4) AS n
       CROSS JOIN LATERAL (SELECT ${pct('r.id * 7 + n')} AS h) h0
       CROSS JOIN LATERAL (SELECT h0.h, h0.h < 60 AS allowed) k
       WHERE r.status IN ('success', 'failed', 'reverted')
       ORDER BY r.id, n
       RETURNING 1
     )
     SELECT count(*)::int AS n FROM inserted`,
  );
  const [actions] = await db.query<{ n: number }>(
    `WITH inserted AS (
       INSERT INTO self_evolution_actions
         (proposal_id, run_id, repository, action_type, status, branch, pr_number, pr_url, head_sha, base_sha,
          patch_sha256, payload, merge_commit_sha, merged_at, merged_by, closed_at, closed_by, close_reason,
          reconciled_at, created_at, updated_at)
       SELECT p.id, r.id, r.repository, 'pr', s.status, format('self-evolution/%s', p.id),
         CASE WHEN s.status IN ('planned', 'pushed', 'failed') THEN NULL ELSE p.id END,
         CASE WHEN s.status IN ('planned', 'pushed', 'failed') THEN NULL
           ELSE format('https://github.com/%s/pull/%s', r.repository, p.id) END,
         md5(p.id::text), r.base_sha, p.patch_sha256, '{"labels": ["self-evolution"]}'::jsonb,
         CASE WHEN s.status IN ('merged', 'rolled_back') THEN md5(p.id::text || 'm') END,
         CASE WHEN s.status IN ('merged', 'rolled_back') THEN p.created_at + interval '1 day' END,
         CASE WHEN s.status IN ('merged', 'rolled_back') THEN 'maintainer' END,
         CASE WHEN s.status = 'closed' THEN p.created_at + interval '2 days' END,
         CASE WHEN s.status = 'closed' THEN 'maintainer' END,
         CASE WHEN s.status = 'closed' THEN 'Not what we want right now.' END,
         CASE WHEN s.status IN ('planned', 'pushed', 'failed') THEN NULL ELSE now() - interval '1 hour' END,
         p.created_at + interval '1 minute', p.created_at + interval '1 day'
       FROM self_evolution_proposals p
       JOIN self_evolution_runs r ON r.id = p.run_id
       CROSS JOIN LATERAL (SELECT ${pct('p.id * 13')} AS h) k
       CROSS JOIN LATERAL (
         SELECT CASE WHEN r.status = 'reverted' THEN 'rolled_back'
           WHEN p.created_at > now() - interval '1 day' AND k.h < 20 THEN 'pushed'
           WHEN p.created_at > now() - interval '7 days' AND k.h < 80 THEN 'submitted'
           WHEN k.h < 60 THEN 'merged' WHEN k.h < 90 THEN 'closed' ELSE 'failed' END AS status
       ) s
       WHERE p.verdict = 'allowed' AND p.status = 'evaluated' AND NOT r.dry_run
       ORDER BY p.id
       RETURNING 1
     )
     SELECT count(*)::int AS n FROM inserted`,
  );
  const [rollbacks] = await db.query<{ n: number }>(
    `WITH inserted AS (
       INSERT INTO self_evolution_rollbacks
         (action_id, repository, run_id, reason, trigger, mode, status, evidence, reverted_sha, revert_branch,
          revert_pr_number, revert_pr_url, created_at, updated_at)
       SELECT a.id, a.repository, a.run_id, 'checks failed on the default branch after the merge', 'auto', 'pr',
         'merged', '{"checks": ["test"]}'::jsonb, a.merge_commit_sha, format('self-evolution/revert-%s', a.id),
         a.id + 1000000, format('https://github.com/%s/pull/%s', a.repository, a.id + 1000000),
         a.merged_at + interval '2 hours', a.merged_at + interval '1 day'
       FROM self_evolution_actions a
       WHERE a.status = 'rolled_back'
       ORDER BY a.id
       RETURNING 1
     )
     SELECT count(*)::int AS n FROM inserted`,
  );
  const [trips] = await db.query<{ n: number }>(
    `WITH inserted AS (
       INSERT INTO self_evolution_breaker_trips (repository, cause, reason, details, run_id, tripped_at, reset_at,
         reset_by)
       SELECT format('fleet/repo-%s', lpad(r::text, 4, '0')), t.cause, t.reason, '{}'::jsonb,
         (SELECT x.id FROM self_evolution_runs x
          WHERE x.repository = format('fleet/repo-%s', lpad(r::text, 4, '0')) AND x.started_at <= t.at
          ORDER BY x.started_at DESC LIMIT 1),
         t.at, t.reset_at, t.reset_by
       FROM generate_series(1, $1::int) AS r
       CROSS JOIN LATERAL (
         SELECT 'failures' AS cause, '3 failed runs in a row' AS reason, now() - interval '30 days' AS at,
           now() - interval '29 days' AS reset_at, 'maintainer' AS reset_by
         WHERE r % 20 = 0 AND $2::int > 30
         UNION ALL
         SELECT 'reverted', '2 self-changes reverted in 30 days', now() - interval '2 days', NULL, NULL
         WHERE r % 100 = 0 AND $2::int > 2
       ) t
       RETURNING 1
     )
     SELECT count(*)::int AS n FROM inserted`,
    [repositories, days],
  );
  await db.query(
    `INSERT INTO feature_flags (key, value, metadata) VALUES ('self_evolution_enabled', true, '{"setBy": "fleet"}')
     ON CONFLICT (key) DO NOTHING`,
  );
  return {
    runs: Number(runs!.n),
    reflections: Number(reflections!.n),
    proposals: Number(proposals!.n),
    actions: Number(actions!.n),
    rollbacks: Number(rollbacks!.n),
    breakerTrips: Number(trips!.n),
  };
}
