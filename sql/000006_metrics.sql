-- 000006_metrics: how well the loop does, per repository, over the last 7, 30 and 90 days (issue #10, "Metrics").
--
-- Two views, computed when read (windows end at now()). A repository is one that has a run (skipped ones
-- included) or a breaker trip; it gets one row per window, zeros and NULL rates when nothing happened.
--
-- The proposal figures follow the proposals MADE in the window (created_at >= now() - the window) and what has
-- become of them since, so each figure is part of the one before it and every rate is at most 1:
--   proposals_made       proposals recorded (proposer failures included)
--   proposals_allowed    verdict 'allowed' (by the rails; verify-failed ones included)
--   proposals_verified   verify->>'status' = 'passed'; verify_failed: 'failed' ('not-configured' is neither)
--   published            their 'pr' actions that reached GitHub: submitted, merged, closed, rejected, rolled_back
--   merged               of those, merged_at set or status merged / rolled_back
--   closed_unmerged      status closed (or the seed's 'rejected')
--   reverted             merged and then reverted: status rolled_back, or a rollback row with status 'merged';
--                        reverted_auto / reverted_manual by that rollback's trigger (a change reverted by hand,
--                        outside this tool, has no rollback row and is in neither)
--   acceptance_rate      merged / published (NULL when nothing was published)
--   regression_rate      reverted / merged, the post-merge regression rate (NULL when nothing was merged)
--   mean_hours_to_merge  mean of merged_at - the action's created_at, hours
--   mean_hours_to_revert mean of the merged rollback's updated_at - the action's merged_at, hours
--   verify_pass_rate     passed / (passed + failed) (NULL when none was verified)
-- Runs started in the window that got past the gates and recorded their metrics (not skipped, not running;
-- a stale run has none): runs, tokens_per_run (mean metrics.tokensUsed, 0 when absent) and minutes_per_run
-- (mean of the sum of metrics.stagesMs / 60000, the jitter included: the runner is billed for it).
-- breaker_trips: self_evolution_breaker_trips rows tripped in the window.
-- Counts are integer, rates and means double precision. Must run on Postgres 13-18 and PGlite.
CREATE VIEW self_evolution_metrics AS
WITH windows (window_days) AS (
  VALUES (7), (30), (90)
),
repositories AS (
  SELECT repository FROM self_evolution_runs
  UNION
  SELECT repository FROM self_evolution_breaker_trips
),
scopes AS (
  SELECT r.repository, w.window_days, now() - w.window_days * interval '1 day' AS since
  FROM repositories r CROSS JOIN windows w
),
counted AS (
  SELECT s.repository, s.window_days,
    pc.made, pc.allowed, pc.verified, pc.verify_failed,
    ac.published, ac.merged, ac.closed_unmerged, ac.reverted, ac.reverted_auto, ac.reverted_manual,
    ac.mean_hours_to_merge, ac.mean_hours_to_revert,
    rc.runs, rc.tokens_per_run, rc.minutes_per_run,
    bc.breaker_trips
  FROM scopes s
  CROSS JOIN LATERAL (
    SELECT count(*)::int AS made,
      (count(*) FILTER (WHERE p.verdict = 'allowed'))::int AS allowed,
      (count(*) FILTER (WHERE p.verify ->> 'status' = 'passed'))::int AS verified,
      (count(*) FILTER (WHERE p.verify ->> 'status' = 'failed'))::int AS verify_failed
    FROM self_evolution_proposals p
    JOIN self_evolution_runs r ON r.id = p.run_id
    WHERE r.repository = s.repository AND p.created_at >= s.since
  ) pc
  CROSS JOIN LATERAL (
    SELECT
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
    LEFT JOIN LATERAL (
      SELECT x.action_id, x.trigger, x.updated_at AS reverted_at
      FROM self_evolution_rollbacks x
      WHERE x.action_id = a.id AND x.status = 'merged'
      ORDER BY x.updated_at, x.id
      LIMIT 1
    ) rb ON true
    WHERE a.action_type = 'pr' AND r.repository = s.repository AND p.created_at >= s.since
  ) ac
  CROSS JOIN LATERAL (
    SELECT count(*)::int AS runs,
      avg(CASE WHEN jsonb_typeof(r.metrics -> 'tokensUsed') = 'number'
        THEN (r.metrics ->> 'tokensUsed')::float8 ELSE 0 END)::float8 AS tokens_per_run,
      avg((
        SELECT COALESCE(sum(CASE WHEN jsonb_typeof(e.value) = 'number' THEN (e.value #>> '{}')::float8 END), 0)
        FROM jsonb_each(r.metrics -> 'stagesMs') e
      ) / 60000)::float8 AS minutes_per_run
    FROM self_evolution_runs r
    WHERE r.repository = s.repository AND r.started_at >= s.since
      AND r.status NOT IN ('skipped', 'running')
      AND jsonb_typeof(r.metrics -> 'stagesMs') = 'object'
  ) rc
  CROSS JOIN LATERAL (
    SELECT count(*)::int AS breaker_trips
    FROM self_evolution_breaker_trips t
    WHERE t.repository = s.repository AND t.tripped_at >= s.since
  ) bc
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

-- The rails rules that blocked the proposals made in each window: every violation of severity 'block' in
-- proposals.violations, by its ruleId; `proposals` counts the proposals it blocked, `violations` its findings
-- (one rule may report several files of one proposal). Warnings and approvals are left out. Only rules that
-- blocked something appear.
CREATE VIEW self_evolution_blocking_rules AS
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
  AND jsonb_typeof(v.value) = 'object'
  AND v.value ->> 'severity' = 'block'
  AND v.value ->> 'ruleId' IS NOT NULL
GROUP BY r.repository, w.window_days, v.value ->> 'ruleId';
