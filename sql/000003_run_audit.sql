-- 000003_run_audit: what a run was made from and by whom (issue #9, "Audit completeness").
--
-- Runs: the commit they started from (base_sha, HEAD of the checkout), the Self-Evolution version, the actor
-- (GITHUB_ACTOR, else the local user), the config file (path relative to the repository, its blob at HEAD,
-- NULL when the file is not committed, and whether the file in the work tree differs from that blob or is not
-- committed) and whether the work tree had changes (tracked or untracked; .self-evolution/ excluded). A live
-- run refuses a dirty config or work tree; a dry run records them. Proposals: the commit they are based on.
-- NULL on rows written before this migration. Must run on Postgres 13-18 and PGlite.
ALTER TABLE self_evolution_runs
  ADD COLUMN base_sha text,
  ADD COLUMN tool_version text,
  ADD COLUMN actor text,
  ADD COLUMN config_path text,
  ADD COLUMN config_blob_sha text,
  ADD COLUMN config_dirty boolean,
  ADD COLUMN worktree_dirty boolean;

ALTER TABLE self_evolution_proposals
  ADD COLUMN base_sha text;
