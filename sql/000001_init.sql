-- 000001_init: the Self-Evolution schema (runs, reflections, proposals, actions, rollbacks, feature flags).
--
-- Migrations are append-only: never edit this file once released; add 000002_... instead (the migrator
-- refuses to run when an applied migration's checksum changed). Must run on Postgres 13-18 and PGlite.
-- Applied by src/store/migrate.ts inside one transaction, under an advisory lock.

-- One row per execution attempt: scheduled, dispatched, called from another workflow, or from the CLI.
CREATE TABLE self_evolution_runs (
  id serial PRIMARY KEY,
  repository text NOT NULL,
  run_date date NOT NULL,
  trigger text NOT NULL
    CONSTRAINT self_evolution_runs_trigger_check
    CHECK (trigger IN ('schedule', 'workflow_dispatch', 'workflow_call', 'cli', 'other')),
  dry_run boolean NOT NULL,
  forced boolean NOT NULL DEFAULT false,
  status text NOT NULL
    CONSTRAINT self_evolution_runs_status_check
    CHECK (status IN ('planned', 'running', 'success', 'failed', 'skipped', 'reverted')),
  skip_reason text,
  gates jsonb NOT NULL DEFAULT '[]',
  started_at timestamptz NOT NULL DEFAULT now(),
  finished_at timestamptz,
  summary text,
  logs_url text,
  metrics jsonb NOT NULL DEFAULT '{}',
  config jsonb,
  overrides jsonb NOT NULL DEFAULT '{}',
  error text
);

-- At most one non-forced run per repository per UTC day that got past the gates (skipped rows are free).
CREATE UNIQUE INDEX self_evolution_runs_one_per_day
  ON self_evolution_runs (repository, run_date)
  WHERE NOT forced AND status <> 'skipped';

CREATE INDEX self_evolution_runs_repository_started_at
  ON self_evolution_runs (repository, started_at DESC);

-- What a run observed before proposing anything.
CREATE TABLE self_evolution_reflections (
  id serial PRIMARY KEY,
  run_id integer NOT NULL REFERENCES self_evolution_runs (id) ON DELETE CASCADE,
  insights text NOT NULL,
  sentiment jsonb,
  signals jsonb NOT NULL DEFAULT '{}',
  created_at timestamptz NOT NULL DEFAULT now()
);

CREATE INDEX self_evolution_reflections_run_id ON self_evolution_reflections (run_id);

-- Candidate changes and the safety rails' verdict on each.
CREATE TABLE self_evolution_proposals (
  id serial PRIMARY KEY,
  run_id integer NOT NULL REFERENCES self_evolution_runs (id) ON DELETE CASCADE,
  proposer text NOT NULL,
  type text NOT NULL,
  title text NOT NULL,
  description text NOT NULL DEFAULT '',
  risk_level smallint NOT NULL
    CONSTRAINT self_evolution_proposals_risk_level_check CHECK (risk_level BETWEEN 0 AND 5),
  computed_risk smallint,
  effort smallint NOT NULL DEFAULT 0,
  status text NOT NULL
    CONSTRAINT self_evolution_proposals_status_check CHECK (status IN ('evaluated', 'failed')),
  verdict text NOT NULL
    CONSTRAINT self_evolution_proposals_verdict_check CHECK (verdict IN ('allowed', 'blocked')),
  allowlisted boolean NOT NULL,
  blocked_reasons text[] NOT NULL DEFAULT '{}',
  violations jsonb NOT NULL DEFAULT '[]',
  files_changed integer NOT NULL DEFAULT 0,
  lines_added integer NOT NULL DEFAULT 0,
  lines_deleted integer NOT NULL DEFAULT 0,
  patch text,
  patch_sha256 text,
  provenance jsonb NOT NULL DEFAULT '{}',
  created_at timestamptz NOT NULL DEFAULT now(),
  -- 'allowed' only for a proposal that was evaluated and has no blocked reason.
  CONSTRAINT self_evolution_proposals_allowed_check
    CHECK (verdict = 'blocked' OR (status = 'evaluated' AND cardinality(blocked_reasons) = 0))
);

CREATE INDEX self_evolution_proposals_run_id ON self_evolution_proposals (run_id);

-- Concrete actions taken for a proposal (a branch and pull request, an issue, ...).
CREATE TABLE self_evolution_actions (
  id serial PRIMARY KEY,
  proposal_id integer NOT NULL REFERENCES self_evolution_proposals (id) ON DELETE CASCADE,
  action_type text NOT NULL,
  payload jsonb NOT NULL DEFAULT '{}',
  status text NOT NULL DEFAULT 'planned'
    CONSTRAINT self_evolution_actions_status_check
    CHECK (status IN ('planned', 'submitted', 'merged', 'rejected', 'rolled_back')),
  branch text,
  pr_number integer,
  head_sha text,
  created_at timestamptz NOT NULL DEFAULT now(),
  updated_at timestamptz NOT NULL DEFAULT now()
);

CREATE INDEX self_evolution_actions_proposal_id ON self_evolution_actions (proposal_id);

-- Why an action was rolled back.
CREATE TABLE self_evolution_rollbacks (
  id serial PRIMARY KEY,
  action_id integer NOT NULL REFERENCES self_evolution_actions (id) ON DELETE CASCADE,
  reason text NOT NULL,
  created_at timestamptz NOT NULL DEFAULT now()
);

CREATE INDEX self_evolution_rollbacks_action_id ON self_evolution_rollbacks (action_id);

-- Generic feature flags (the seed's table). IF NOT EXISTS because databases set up from the seed already
-- have it (without updated_at); the columns this tool reads are added when missing.
CREATE TABLE IF NOT EXISTS feature_flags (
  key text PRIMARY KEY,
  value boolean NOT NULL,
  metadata jsonb NOT NULL DEFAULT '{}',
  created_at timestamptz NOT NULL DEFAULT now(),
  updated_at timestamptz NOT NULL DEFAULT now()
);

ALTER TABLE feature_flags ADD COLUMN IF NOT EXISTS metadata jsonb NOT NULL DEFAULT '{}';
ALTER TABLE feature_flags ADD COLUMN IF NOT EXISTS created_at timestamptz NOT NULL DEFAULT now();
ALTER TABLE feature_flags ADD COLUMN IF NOT EXISTS updated_at timestamptz NOT NULL DEFAULT now();
