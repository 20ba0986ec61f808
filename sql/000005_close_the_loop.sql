-- 000005_close_the_loop: following every self-change to its end (issue #10): reconciliation, reverts,
-- rollbacks on request and the circuit breaker.
--
-- Actions learn what became of their pull request (merge commit, when and by whom; closed without merging, by
-- whom and the human's last words, kept as untrusted text; when it was last looked up on GitHub).
-- Rollbacks become the record of a revert: which run decided it, automatically or at someone's request, in
-- shadow mode (recorded, nothing done) or as a pull request, the evidence (failing checks and links), the revert
-- branch and pull request, and a status that moves like an action's (planned -> pushed -> submitted -> merged |
-- closed; failed) so a crash while opening one is finished by the next run and never makes two.
-- Breaker trips: why the loop stopped itself, and when and by whom it was reset. Must run on Postgres 13-18
-- and PGlite.
ALTER TABLE self_evolution_actions
  ADD COLUMN merge_commit_sha text,
  ADD COLUMN merged_at timestamptz,
  ADD COLUMN merged_by text,
  ADD COLUMN closed_at timestamptz,
  ADD COLUMN closed_by text,
  ADD COLUMN close_reason text,
  ADD COLUMN reconciled_at timestamptz;

ALTER TABLE self_evolution_rollbacks
  ADD COLUMN repository text,
  ADD COLUMN run_id integer REFERENCES self_evolution_runs (id) ON DELETE SET NULL,
  ADD COLUMN trigger text NOT NULL DEFAULT 'auto'
    CONSTRAINT self_evolution_rollbacks_trigger_check CHECK (trigger IN ('auto', 'manual')),
  ADD COLUMN mode text NOT NULL DEFAULT 'pr'
    CONSTRAINT self_evolution_rollbacks_mode_check CHECK (mode IN ('pr', 'shadow')),
  ADD COLUMN status text NOT NULL DEFAULT 'planned'
    CONSTRAINT self_evolution_rollbacks_status_check
    CHECK (status IN ('planned', 'pushed', 'submitted', 'merged', 'closed', 'failed', 'shadow')),
  ADD COLUMN evidence jsonb NOT NULL DEFAULT '{}',
  ADD COLUMN reverted_sha text,
  ADD COLUMN revert_branch text,
  ADD COLUMN revert_head_sha text,
  ADD COLUMN revert_pr_number integer,
  ADD COLUMN revert_pr_url text,
  ADD COLUMN requested_by text,
  ADD COLUMN error text,
  ADD COLUMN updated_at timestamptz NOT NULL DEFAULT now();

-- At most one revert pull request per self-change in flight or done ('failed' and shadow rows are free).
CREATE UNIQUE INDEX self_evolution_rollbacks_one_per_action
  ON self_evolution_rollbacks (action_id)
  WHERE mode = 'pr' AND status <> 'failed';

CREATE INDEX self_evolution_rollbacks_repository_created_at
  ON self_evolution_rollbacks (repository, created_at DESC);

-- Each time the circuit breaker tripped: the cause (reverted, rejected, failures, stop-label, unreadable), the
-- reason in words, its details; reset when a human turned the loop back on.
CREATE TABLE self_evolution_breaker_trips (
  id serial PRIMARY KEY,
  repository text NOT NULL,
  cause text NOT NULL
    CONSTRAINT self_evolution_breaker_trips_cause_check
    CHECK (cause IN ('reverted', 'rejected', 'failures', 'stop-label', 'unreadable')),
  reason text NOT NULL,
  details jsonb NOT NULL DEFAULT '{}',
  run_id integer REFERENCES self_evolution_runs (id) ON DELETE SET NULL,
  tripped_at timestamptz NOT NULL DEFAULT now(),
  reset_at timestamptz,
  reset_by text
);

CREATE INDEX self_evolution_breaker_trips_repository_tripped_at
  ON self_evolution_breaker_trips (repository, tripped_at DESC);
