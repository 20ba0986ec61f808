-- 000007_database_id: a short id of this database, made once, so that what the loop writes outside the database
-- (a run's artifacts directory, `<run id>-<database id>`) cannot collide with what another database recorded under
-- the same run id (the embedded database, then a server given with --database-url, share the artifacts root).
--
-- One row (the CHECK keeps it one): 12 hex characters drawn when this migration runs, never changed afterwards.
-- A copy of the database (pg_dump, a restored backup) keeps the id, as it keeps the run ids it names. Random rather
-- than derived from pg_control_system() (superusers only on most hosted servers). Must run on Postgres 13-18 and
-- PGlite.
CREATE TABLE self_evolution_database (
  singleton boolean PRIMARY KEY DEFAULT true CHECK (singleton),
  id text NOT NULL CHECK (id ~ '^[0-9a-f]{12}$'),
  created_at timestamptz NOT NULL DEFAULT now()
);

INSERT INTO self_evolution_database (id)
VALUES (substr(md5(random()::text || clock_timestamp()::text || pg_backend_pid()::text), 1, 12));
