-- 000002_run_sandbox: how the run isolated the commands it started on the repository's behalf (issue #8).
--
-- 'bwrap' or 'unshare' (the sandbox mechanism), 'none' (config "sandbox": "none": no isolation), or NULL when
-- the run started no command (no command proposer, no repository check) or was skipped before choosing.
-- Written before the first command runs. Must run on Postgres 13-18 and PGlite.
ALTER TABLE self_evolution_runs
  ADD COLUMN sandbox text
    CONSTRAINT self_evolution_runs_sandbox_check
    CHECK (sandbox IS NULL OR sandbox IN ('bwrap', 'unshare', 'none'));
