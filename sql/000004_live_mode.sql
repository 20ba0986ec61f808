-- 000004_live_mode: what live mode and interrupted runs need (issue #9).
--
-- Runs: status 'cancelled' (SIGINT/SIGTERM: the run stopped itself cleanly; it neither counts as the day's run
-- nor starts the cooldown), heartbeat_at (written at every stage; a run is stale only when its heartbeat is older
-- than the stale threshold, and a stale run is closed with finished_at = its last heartbeat), stale (closed by a
-- later run: does not start the cooldown).
-- Proposals: status 'verify-failed' (the rails allowed it, a verify command failed: no pull request) and the
-- verify evidence (each command's exit code, duration, last lines of output).
-- Actions: status 'pushed' (branch on the remote, no pull request yet) and 'closed' (closed without merging);
-- the repository, run, patch hash, base commit, pull request URL and the last error, so one patch is published
-- at most once per repository (unique index) and a crash between push and pull request is finished by the
-- next run. Must run on Postgres 13-18 and PGlite.
ALTER TABLE self_evolution_runs DROP CONSTRAINT self_evolution_runs_status_check;

ALTER TABLE self_evolution_runs ADD CONSTRAINT self_evolution_runs_status_check
  CHECK (status IN ('planned', 'running', 'success', 'failed', 'skipped', 'reverted', 'cancelled'));

ALTER TABLE self_evolution_runs
  ADD COLUMN heartbeat_at timestamptz,
  ADD COLUMN stale boolean NOT NULL DEFAULT false;

DROP INDEX self_evolution_runs_one_per_day;

-- At most one non-forced run per repository per UTC day that got past the gates; skipped and cancelled rows
-- are free (a cancelled run is not the day's run).
CREATE UNIQUE INDEX self_evolution_runs_one_per_day
  ON self_evolution_runs (repository, run_date)
  WHERE NOT forced AND status NOT IN ('skipped', 'cancelled');

ALTER TABLE self_evolution_proposals DROP CONSTRAINT self_evolution_proposals_status_check;

ALTER TABLE self_evolution_proposals ADD CONSTRAINT self_evolution_proposals_status_check
  CHECK (status IN ('evaluated', 'failed', 'verify-failed'));

ALTER TABLE self_evolution_proposals DROP CONSTRAINT self_evolution_proposals_allowed_check;

-- 'allowed' (by the rails) only for a proposal that was evaluated (and possibly verified) with no blocked reason.
ALTER TABLE self_evolution_proposals ADD CONSTRAINT self_evolution_proposals_allowed_check
  CHECK (verdict = 'blocked' OR (status IN ('evaluated', 'verify-failed') AND cardinality(blocked_reasons) = 0));

ALTER TABLE self_evolution_proposals
  ADD COLUMN verify jsonb;

ALTER TABLE self_evolution_actions DROP CONSTRAINT self_evolution_actions_status_check;

ALTER TABLE self_evolution_actions ADD CONSTRAINT self_evolution_actions_status_check
  CHECK (status IN ('planned', 'pushed', 'submitted', 'merged', 'closed', 'rejected', 'rolled_back', 'failed'));

ALTER TABLE self_evolution_actions
  ADD COLUMN repository text,
  ADD COLUMN run_id integer REFERENCES self_evolution_runs (id) ON DELETE CASCADE,
  ADD COLUMN patch_sha256 text,
  ADD COLUMN base_sha text,
  ADD COLUMN pr_url text,
  ADD COLUMN error text;

-- One pull request per patch per repository, whatever became of it ('failed' rows, which never reached
-- GitHub, are free to be tried again).
CREATE UNIQUE INDEX self_evolution_actions_one_per_patch
  ON self_evolution_actions (repository, action_type, patch_sha256)
  WHERE status <> 'failed';

CREATE INDEX self_evolution_actions_repository_status
  ON self_evolution_actions (repository, status);
