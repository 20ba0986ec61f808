-- 000009_run_leases: the run lock as a lease, for databases reached through a connection pooler (PgBouncer in
-- transaction mode, the poolers of hosted Postgres services), where a session-level advisory lock does not hold: the
-- next statement may run on another server connection. See store/lock.ts.
--
-- One row per repository. A run takes the lease when it has expired (or never existed), adding one to `token`; it
-- renews `expires_at` at every stage boundary and heartbeat, and every write it makes first checks, in the same
-- transaction, that the row still carries its token and has not expired (the fencing token: a run whose lease
-- expired can write nothing). Times are the server's (now()), so runners' clocks do not matter. Rows are never
-- deleted: the token keeps growing across runs. Must run on Postgres 13-18 and PGlite.
CREATE TABLE self_evolution_run_leases (
  repository text PRIMARY KEY,
  token bigint NOT NULL CHECK (token > 0),
  owner text NOT NULL,
  acquired_at timestamptz NOT NULL,
  renewed_at timestamptz NOT NULL,
  expires_at timestamptz NOT NULL
);
