-- 000008_fleet_indexes: reading one database shared by a fleet of repositories quickly (`status --all`, the
-- dashboard, `status --metrics`) and pruning it (`prune`). Measured by `npm run bench:fleet-views` (500 repositories x
-- 365 days of runs, EXPLAIN ANALYZE without and with this migration); __tests__/store.fleet-views.test.ts checks the
-- plans use what is added here. Must run on Postgres 13-18 and PGlite.
--
-- Runs by start, newest first: the dashboard's run list of every repository (ORDER BY started_at DESC, id DESC
-- LIMIT n stops after n rows instead of sorting the window) and the metrics' runs of the last 90 days.
CREATE INDEX IF NOT EXISTS self_evolution_runs_started_at_id
  ON self_evolution_runs (started_at DESC, id DESC);

-- Runs by UTC day: the dashboard's calendar of every repository (run_date in the window).
CREATE INDEX IF NOT EXISTS self_evolution_runs_run_date
  ON self_evolution_runs (run_date);

-- Each run's repository beside its id: the metrics views join the proposals (and pull requests) of the last 90
-- days to their runs' repositories by id, and read these two columns of every run from this thin index instead of
-- the runs table (its rows carry the gates, the metrics and the effective config: kilobytes each).
CREATE INDEX IF NOT EXISTS self_evolution_runs_id_repository
  ON self_evolution_runs (id) INCLUDE (repository);

-- Proposals by creation: the metrics views count the proposals made in the last 7, 30 and 90 days.
CREATE INDEX IF NOT EXISTS self_evolution_proposals_created_at
  ON self_evolution_proposals (created_at);

-- The foreign keys to runs that had no index: `status` reads the pull requests of the runs it lists by run_id, and
-- deleting a run (prune) looks each of them up (ON DELETE CASCADE / SET NULL), which without an index scans the
-- whole table once per run deleted.
CREATE INDEX IF NOT EXISTS self_evolution_actions_run_id
  ON self_evolution_actions (run_id);

CREATE INDEX IF NOT EXISTS self_evolution_rollbacks_run_id
  ON self_evolution_rollbacks (run_id);

CREATE INDEX IF NOT EXISTS self_evolution_breaker_trips_run_id
  ON self_evolution_breaker_trips (run_id);

-- The open pull requests (status 'submitted'), oldest first: the dashboard's list. Partial: it holds the open ones
-- only, however long the history.
CREATE INDEX IF NOT EXISTS self_evolution_actions_submitted_created_at
  ON self_evolution_actions (created_at, id)
  WHERE status = 'submitted';

-- The metrics views of 000006 (definitions and meaning there), the same figures computed the other way round: each
-- figure grouped by repository and window in one pass over the rows of the last 90 days (found through the indexes
-- above), instead of once per repository and window over every run the repository ever had (500 repositories x 365
-- days: seconds, most of it per-run index probes). Same columns, same values (means may differ in the last bits of a
-- double: the sums are added in another order). The longest window, 90 days, is also written as a constant bound, so
-- the planner finds those rows through the indexes and estimates how many there are; a filter on repository (the
-- dashboard and `status --metrics` of one repository) still reaches the runs of that repository alone.
CREATE OR REPLACE VIEW self_evolution_metrics AS
WITH windows (window_days) AS (
  VALUES (7), (30), (90)
),
bounds AS (
  SELECT window_days, now() - window_days * interval '1 day' AS since FROM windows
),
repositories AS (
  SELECT repository FROM self_evolution_runs
  UNION
  SELECT repository FROM self_evolution_breaker_trips
),
proposal_figures AS (
  SELECT r.repository, b.window_days,
    count(*)::int AS made,
    (count(*) FILTER (WHERE p.verdict = 'allowed'))::int AS allowed,
    (count(*) FILTER (WHERE p.verify ->> 'status' = 'passed'))::int AS verified,
    (count(*) FILTER (WHERE p.verify ->> 'status' = 'failed'))::int AS verify_failed
  FROM self_evolution_proposals p
  JOIN self_evolution_runs r ON r.id = p.run_id
  JOIN bounds b ON p.created_at >= b.since
  WHERE p.created_at >= now() - interval '90 days'
  GROUP BY r.repository, b.window_days
),
action_figures AS (
  SELECT r.repository, b.window_days,
    (count(*) FILTER (WHERE a.status IN ('submitted', 'merged', 'closed', 'rejected', 'rolled_back')))::int
      AS published,
    (count(*) FILTER (WHERE a.merged_at IS NOT NULL OR a.status IN ('merged', 'rolled_back')))::int AS merged,
    (count(*) FILTER (WHERE a.status IN ('closed', 'rejected')))::int AS closed_unmerged,
    (count(*) FILTER (WHERE a.status = 'rolled_back' OR rb.action_id IS NOT NULL))::int AS reverted,
    (count(*) FILTER (WHERE rb.trigger = 'auto'))::int AS reverted_auto,
    (count(*) FILTER (WHERE rb.trigger = 'manual'))::int AS reverted_manual,
    (avg(extract(epoch FROM a.merged_at - a.created_at) / 3600) FILTER (WHERE a.merged_at IS NOT NULL))::float8
      AS mean_hours_to_merge,
    (avg(extract(epoch FROM rb.reverted_at - a.merged_at) / 3600)
      FILTER (WHERE rb.action_id IS NOT NULL AND a.merged_at IS NOT NULL))::float8 AS mean_hours_to_revert
  FROM self_evolution_actions a
  JOIN self_evolution_proposals p ON p.id = a.proposal_id
  JOIN self_evolution_runs r ON r.id = p.run_id
  JOIN bounds b ON p.created_at >= b.since
  LEFT JOIN LATERAL (
    SELECT x.action_id, x.trigger, x.updated_at AS reverted_at
    FROM self_evolution_rollbacks x
    WHERE x.action_id = a.id AND x.status = 'merged'
    ORDER BY x.updated_at, x.id
    LIMIT 1
  ) rb ON true
  WHERE a.action_type = 'pr' AND p.created_at >= now() - interval '90 days'
  GROUP BY r.repository, b.window_days
),
run_figures AS (
  SELECT r.repository, b.window_days, count(*)::int AS runs,
    avg(CASE WHEN jsonb_typeof(r.metrics -> 'tokensUsed') = 'number'
      THEN (r.metrics ->> 'tokensUsed')::float8 ELSE 0 END)::float8 AS tokens_per_run,
    avg((
      SELECT COALESCE(sum(CASE WHEN jsonb_typeof(e.value) = 'number' THEN (e.value #>> '{}')::float8 END), 0)
      FROM jsonb_each(r.metrics -> 'stagesMs') e
    ) / 60000)::float8 AS minutes_per_run
  FROM self_evolution_runs r
  JOIN bounds b ON r.started_at >= b.since
  WHERE r.started_at >= now() - interval '90 days'
    AND r.status NOT IN ('skipped', 'running')
    AND jsonb_typeof(r.metrics -> 'stagesMs') = 'object'
  GROUP BY r.repository, b.window_days
),
trip_figures AS (
  SELECT t.repository, b.window_days, count(*)::int AS breaker_trips
  FROM self_evolution_breaker_trips t
  JOIN bounds b ON t.tripped_at >= b.since
  GROUP BY t.repository, b.window_days
),
counted AS (
  SELECT s.repository, b.window_days,
    COALESCE(pf.made, 0) AS made, COALESCE(pf.allowed, 0) AS allowed, COALESCE(pf.verified, 0) AS verified,
    COALESCE(pf.verify_failed, 0) AS verify_failed,
    COALESCE(af.published, 0) AS published, COALESCE(af.merged, 0) AS merged,
    COALESCE(af.closed_unmerged, 0) AS closed_unmerged, COALESCE(af.reverted, 0) AS reverted,
    COALESCE(af.reverted_auto, 0) AS reverted_auto, COALESCE(af.reverted_manual, 0) AS reverted_manual,
    af.mean_hours_to_merge, af.mean_hours_to_revert,
    COALESCE(rf.runs, 0) AS runs, rf.tokens_per_run, rf.minutes_per_run,
    COALESCE(tf.breaker_trips, 0) AS breaker_trips
  FROM repositories s
  CROSS JOIN bounds b
  LEFT JOIN proposal_figures pf ON pf.repository = s.repository AND pf.window_days = b.window_days
  LEFT JOIN action_figures af ON af.repository = s.repository AND af.window_days = b.window_days
  LEFT JOIN run_figures rf ON rf.repository = s.repository AND rf.window_days = b.window_days
  LEFT JOIN trip_figures tf ON tf.repository = s.repository AND tf.window_days = b.window_days
)
SELECT repository, window_days,
  made AS proposals_made,
  allowed AS proposals_allowed,
  verified AS proposals_verified,
  verify_failed,
  published,
  merged,
  closed_unmerged,
  reverted,
  reverted_auto,
  reverted_manual,
  CASE WHEN published > 0 THEN merged::float8 / published END AS acceptance_rate,
  CASE WHEN merged > 0 THEN reverted::float8 / merged END AS regression_rate,
  mean_hours_to_merge,
  mean_hours_to_revert,
  CASE WHEN verified + verify_failed > 0 THEN verified::float8 / (verified + verify_failed) END
    AS verify_pass_rate,
  runs,
  tokens_per_run,
  minutes_per_run,
  breaker_trips
FROM counted;

-- The rules that blocked: the same view, with the longest window also as a constant bound (see above).
CREATE OR REPLACE VIEW self_evolution_blocking_rules AS
WITH windows (window_days) AS (
  VALUES (7), (30), (90)
)
SELECT r.repository, w.window_days, v.value ->> 'ruleId' AS rule_id,
  count(DISTINCT p.id)::int AS proposals,
  count(*)::int AS violations
FROM self_evolution_proposals p
JOIN self_evolution_runs r ON r.id = p.run_id
CROSS JOIN windows w
CROSS JOIN LATERAL jsonb_array_elements(
  CASE WHEN jsonb_typeof(p.violations) = 'array' THEN p.violations ELSE '[]'::jsonb END
) v
WHERE p.created_at >= now() - w.window_days * interval '1 day'
  AND p.created_at >= now() - interval '90 days'
  AND jsonb_typeof(v.value) = 'object'
  AND v.value ->> 'severity' = 'block'
  AND v.value ->> 'ruleId' IS NOT NULL
GROUP BY r.repository, w.window_days, v.value ->> 'ruleId';
