/**
 * Retention (src/store/prune.ts pruneRuns) against real Postgres: old finished runs go with their reflections,
 * proposals, actions (by run_id and through a proposal) and those actions' rollbacks, in batches; recent runs,
 * running runs and runs with a pull request or revert in flight stay; rows that only point at a pruned run keep
 * their history with run_id NULL. Batches lock with SKIP LOCKED: a run row held by another transaction is skipped,
 * not waited for, and a batch in progress never blocks the writes of a run in progress. Also once on PGlite.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import pg from 'pg';

import type { Db, DbSession } from '../src/store/db.js';
import { migrate } from '../src/store/migrate.js';
import { openPostgres } from '../src/store/pg.js';
import { openEmbedded } from '../src/store/pglite.js';
import { pruneRuns, PRUNE_MIN_AGE_MS, type PruneBatch, type PruneCounts } from '../src/store/prune.js';
import { createTestDatabase, type TestDatabase } from './helpers/db.js';

const DAY_MS = 86_400_000;
const A = 'acme/prune';
const B = 'acme/prune-other';

/** Inserts a run `daysAgo` days ago and returns its id. */
async function run(
  db: Pick<Db, 'query'>,
  repository: string,
  daysAgo: number,
  status: string,
): Promise<number> {
  const [row] = await db.query<{ id: number }>(
    `INSERT INTO self_evolution_runs (repository, run_date, trigger, dry_run, forced, status, started_at, finished_at)
     VALUES ($1, (now() - $2::int * interval '1 day')::date, 'schedule', false, true, $3,
       now() - $2::int * interval '1 day',
       CASE WHEN $3 = 'running' THEN NULL ELSE now() - $2::int * interval '1 day' + interval '5 minutes' END)
     RETURNING id`,
    [repository, daysAgo, status],
  );
  return Number(row!.id);
}

async function reflection(db: Pick<Db, 'query'>, runId: number): Promise<void> {
  await db.query(`INSERT INTO self_evolution_reflections (run_id, insights) VALUES ($1, 'signals')`, [runId]);
}

async function proposal(db: Pick<Db, 'query'>, runId: number): Promise<number> {
  const [row] = await db.query<{ id: number }>(
    `INSERT INTO self_evolution_proposals (run_id, proposer, type, title, risk_level, status, verdict, allowlisted)
     VALUES ($1, 'command', 'prompt', 'a change', 1, 'evaluated', 'allowed', true) RETURNING id`,
    [runId],
  );
  return Number(row!.id);
}

let patches = 0;

/** A 'pr' action of a proposal; `runId` null as on rows written before migration 000004. */
async function action(
  db: Pick<Db, 'query'>,
  proposalId: number,
  runId: number | null,
  repository: string,
  status: string,
): Promise<number> {
  const [row] = await db.query<{ id: number }>(
    `INSERT INTO self_evolution_actions (proposal_id, run_id, repository, action_type, status, patch_sha256)
     VALUES ($1, $2, $3, 'pr', $4, $5) RETURNING id`,
    [proposalId, runId, repository, status, `patch-${++patches}`],
  );
  return Number(row!.id);
}

async function rollback(
  db: Pick<Db, 'query'>,
  actionId: number,
  runId: number | null,
  status: string,
): Promise<number> {
  const [row] = await db.query<{ id: number }>(
    `INSERT INTO self_evolution_rollbacks (action_id, run_id, reason, status, mode)
     VALUES ($1, $2, 'checks failed', $3, 'pr') RETURNING id`,
    [actionId, runId, status],
  );
  return Number(row!.id);
}

async function trip(db: Pick<Db, 'query'>, repository: string, runId: number): Promise<number> {
  const [row] = await db.query<{ id: number }>(
    `INSERT INTO self_evolution_breaker_trips (repository, cause, reason, run_id)
     VALUES ($1, 'failures', '3 failed runs', $2) RETURNING id`,
    [repository, runId],
  );
  return Number(row!.id);
}

async function ids(db: Pick<Db, 'query'>, sql: string, params: unknown[] = []): Promise<number[]> {
  const rows = await db.query<{ id: number }>(sql, params);
  return rows.map((r) => Number(r.id)).sort((a, b) => a - b);
}

/** The history of repository A (see the expectations in the tests). */
interface History {
  deletable: number[];
  oldRunning: number;
  oldOpen: number;
  oldRevertInFlight: number;
  recent: number[];
  otherRepositoryOld: number;
  tripOfOld: number;
  unlinkedRollback: number;
  keptActions: number[];
}

async function seedHistory(db: Pick<Db, 'query'>): Promise<History> {
  // Kept: older than the deletable ones, with something in flight.
  const oldRevertInFlight = await run(db, A, 50, 'success');
  const keptProposal = await proposal(db, oldRevertInFlight);
  const keptMerged = await action(db, keptProposal, oldRevertInFlight, A, 'merged');
  await rollback(db, keptMerged, oldRevertInFlight, 'pushed');
  const oldOpen = await run(db, A, 49, 'success');
  const openAction = await action(db, await proposal(db, oldOpen), oldOpen, A, 'submitted');
  const oldRunning = await run(db, A, 48, 'running');

  // Deletable: five old finished runs.
  const old1 = await run(db, A, 45, 'success');
  await reflection(db, old1);
  const p1 = await proposal(db, old1);
  await proposal(db, old1);
  await rollback(db, await action(db, p1, old1, A, 'merged'), old1, 'merged');
  // old1 also decided a (failed) revert of the kept run's self-change: that row stays, unlinked.
  const unlinkedRollback = await rollback(db, keptMerged, old1, 'failed');
  const old2 = await run(db, A, 44, 'failed');
  await reflection(db, old2);
  await action(db, await proposal(db, old2), null, A, 'closed'); // reached through its proposal only
  const old3 = await run(db, A, 43, 'skipped');
  const tripOfOld = await trip(db, A, old3);
  const old4 = await run(db, A, 42, 'cancelled');
  const old5 = await run(db, A, 41, 'reverted');
  await reflection(db, old5);
  await rollback(db, await action(db, await proposal(db, old5), old5, A, 'rolled_back'), old5, 'merged');

  // Kept: recent.
  const recent1 = await run(db, A, 2, 'success');
  await reflection(db, recent1);
  await action(db, await proposal(db, recent1), recent1, A, 'merged');
  const recent2 = await run(db, A, 0, 'skipped');

  const otherRepositoryOld = await run(db, B, 45, 'success');
  await reflection(db, otherRepositoryOld);
  return {
    deletable: [old1, old2, old3, old4, old5],
    oldRunning,
    oldOpen,
    oldRevertInFlight,
    recent: [recent1, recent2],
    otherRepositoryOld,
    tripOfOld,
    unlinkedRollback,
    keptActions: [keptMerged, openAction],
  };
}

const EXPECTED: PruneCounts = {
  runs: 5,
  reflections: 3,
  proposals: 4,
  actions: 3,
  rollbacks: 2,
  rollbacksUnlinked: 1,
  breakerTripsUnlinked: 1,
};

/** Rows per table, to show a dry run changes nothing. */
async function tableCounts(db: Pick<Db, 'query'>): Promise<Record<string, number>> {
  const [row] = await db.query<Record<string, number>>(
    `SELECT (SELECT count(*)::int FROM self_evolution_runs) AS runs,
       (SELECT count(*)::int FROM self_evolution_reflections) AS reflections,
       (SELECT count(*)::int FROM self_evolution_proposals) AS proposals,
       (SELECT count(*)::int FROM self_evolution_actions) AS actions,
       (SELECT count(*)::int FROM self_evolution_rollbacks) AS rollbacks,
       (SELECT count(*)::int FROM self_evolution_breaker_trips WHERE run_id IS NOT NULL) AS linked_trips`,
  );
  return row!;
}

describe('pruneRuns on postgres', () => {
  let testDb: TestDatabase;
  let db: Db;
  let history: History;

  beforeAll(async () => {
    testDb = await createTestDatabase('prune');
    db = await openPostgres(testDb.url);
    await migrate(db);
    history = await seedHistory(db);
  });
  afterAll(async () => {
    await db?.close();
    await testDb?.drop();
  });

  it('refuses an age under a day, a batch size out of range and a blank repository', async () => {
    await expect(pruneRuns(db, { olderThanMs: PRUNE_MIN_AGE_MS - 1 })).rejects.toThrow(/at least 86400000/);
    await expect(pruneRuns(db, { olderThanMs: Number.NaN })).rejects.toThrow(/olderThanMs/);
    await expect(pruneRuns(db, { olderThanMs: 30 * DAY_MS, batchSize: 0 })).rejects.toThrow(/batchSize/);
    await expect(pruneRuns(db, { olderThanMs: 30 * DAY_MS, batchSize: 10_001 })).rejects.toThrow(/batchSize/);
    await expect(pruneRuns(db, { olderThanMs: 30 * DAY_MS, repository: ' ' })).rejects.toThrow(/repository/);
  });

  it('a dry run counts what would go, per table, and deletes nothing', async () => {
    const before = await tableCounts(db);
    const result = await pruneRuns(db, { olderThanMs: 30 * DAY_MS, repository: A, dryRun: true });
    expect(result.dryRun).toBe(true);
    expect(result.deleted).toEqual(EXPECTED);
    expect(result.kept).toEqual({ unfinished: 1, inFlight: 2, locked: 0 });
    expect(result.batches).toBe(0);
    expect(Date.now() - result.cutoff.getTime()).toBeGreaterThanOrEqual(30 * DAY_MS - 60_000);
    expect(await tableCounts(db)).toEqual(before);
  });

  it('deletes the old finished runs with their rows in batches (2 + 2 + 1) and keeps the rest', async () => {
    const batches: PruneBatch[] = [];
    const result = await pruneRuns(db, {
      olderThanMs: 30 * DAY_MS,
      repository: A,
      batchSize: 2,
      onBatch: (b) => batches.push(b),
    });
    expect(batches.map((b) => b.runIds)).toEqual([
      history.deletable.slice(0, 2),
      history.deletable.slice(2, 4),
      history.deletable.slice(4),
    ]);
    expect(batches.map((b) => b.batch)).toEqual([1, 2, 3]);
    expect(result.batches).toBe(3);
    expect(result.deleted).toEqual(EXPECTED);
    expect(result.kept).toEqual({ unfinished: 1, inFlight: 2, locked: 0 });

    expect(await ids(db, 'SELECT id FROM self_evolution_runs')).toEqual(
      [
        history.oldRevertInFlight,
        history.oldOpen,
        history.oldRunning,
        ...history.recent,
        history.otherRepositoryOld,
      ].sort((a, b) => a - b),
    );
    const gone = [history.deletable];
    for (const table of [
      'self_evolution_reflections',
      'self_evolution_proposals',
      'self_evolution_actions',
    ]) {
      expect([table, await ids(db, `SELECT id FROM ${table} WHERE run_id = ANY($1::int[])`, gone)]).toEqual([
        table,
        [],
      ]);
    }
    // No action or rollback is left without its proposal or action (none was reached only through a cascade).
    expect(
      await ids(
        db,
        `SELECT a.id FROM self_evolution_actions a
         WHERE NOT EXISTS (SELECT 1 FROM self_evolution_proposals p WHERE p.id = a.proposal_id)`,
      ),
    ).toEqual([]);
    expect(
      await ids(db, `SELECT id FROM self_evolution_actions WHERE id = ANY($1::int[])`, [history.keptActions]),
    ).toEqual([...history.keptActions].sort((a, b) => a - b));
    const [unlinked] = await db.query<{ run_id: number | null; status: string }>(
      'SELECT run_id, status FROM self_evolution_rollbacks WHERE id = $1',
      [history.unlinkedRollback],
    );
    expect(unlinked).toEqual({ run_id: null, status: 'failed' });
    const [tripRow] = await db.query<{ run_id: number | null }>(
      'SELECT run_id FROM self_evolution_breaker_trips WHERE id = $1',
      [history.tripOfOld],
    );
    expect(tripRow).toEqual({ run_id: null });
  });

  it('a second prune finds nothing; --all then takes the other repository', async () => {
    const again = await pruneRuns(db, { olderThanMs: 30 * DAY_MS, repository: A });
    expect(again.batches).toBe(0);
    expect(again.deleted.runs).toBe(0);
    const all = await pruneRuns(db, { olderThanMs: 30 * DAY_MS });
    expect(all.repository).toBeNull();
    expect(all.deleted).toMatchObject({ runs: 1, reflections: 1 });
    expect(
      await ids(db, 'SELECT id FROM self_evolution_runs WHERE id = $1', [history.otherRepositoryOld]),
    ).toEqual([]);
  });

  describe('with other transactions', () => {
    const C = 'acme/prune-concurrent';
    let other: pg.Client;

    beforeAll(async () => {
      other = new pg.Client({ connectionString: testDb.url });
      await other.connect();
    });
    afterAll(async () => {
      await other?.end();
    });

    /** `p`, or a rejection when it takes longer than `ms` (the prune must not wait for the other transaction). */
    function within<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
      return Promise.race([
        p,
        new Promise<T>((_, reject) =>
          setTimeout(() => reject(new Error(`${what} waited ${ms} ms`)), ms).unref(),
        ),
      ]);
    }

    it('skips an old run whose row another transaction holds (SKIP LOCKED), without waiting; the next prune takes it', async () => {
      const old = [
        await run(db, C, 40, 'success'),
        await run(db, C, 39, 'failed'),
        await run(db, C, 38, 'success'),
      ];
      const running = await run(db, C, 0, 'running');
      await other.query('BEGIN');
      try {
        // A run in progress writing its heartbeat, and someone holding an old run's row.
        await other.query('UPDATE self_evolution_runs SET heartbeat_at = now() WHERE id = $1', [running]);
        await other.query('SELECT id FROM self_evolution_runs WHERE id = $1 FOR UPDATE', [old[1]]);
        const result = await within(
          pruneRuns(db, { olderThanMs: 30 * DAY_MS, repository: C, batchSize: 2 }),
          15_000,
          'the prune',
        );
        expect(result.deleted.runs).toBe(2);
        expect(result.kept).toEqual({ unfinished: 0, inFlight: 0, locked: 1 });
        expect(await ids(db, 'SELECT id FROM self_evolution_runs WHERE repository = $1', [C])).toEqual([
          old[1]!,
          running,
        ]);
      } finally {
        await other.query('COMMIT');
      }
      const next = await pruneRuns(db, { olderThanMs: 30 * DAY_MS, repository: C });
      expect(next.deleted.runs).toBe(1);
      expect(next.kept.locked).toBe(0);
      expect(await ids(db, 'SELECT id FROM self_evolution_runs WHERE repository = $1', [C])).toEqual([
        running,
      ]);
    });

    it('a batch in progress (its runs locked) does not block the writes of a run in progress', async () => {
      await run(db, C, 40, 'success');
      await run(db, C, 39, 'success');
      const [running] = await ids(
        db,
        `SELECT id FROM self_evolution_runs WHERE repository = $1 AND status = 'running'`,
        [C],
      );
      let resume!: () => void;
      const resumed = new Promise<void>((r) => (resume = r));
      let paused!: () => void;
      const pausedInBatch = new Promise<void>((r) => (paused = r));
      // The prune's session stops right after its batch locked its runs (inside the batch's transaction).
      const gated: Pick<Db, 'query' | 'exec' | 'session'> = {
        query: (sql, params) => db.query(sql, params),
        exec: (sql) => db.exec(sql),
        session: async (): Promise<DbSession> => {
          const s = await db.session();
          return {
            exec: (sql) => s.exec(sql),
            release: () => s.release(),
            onLost: (listener) => s.onLost(listener),
            query: async <T>(sql: string, params?: unknown[]): Promise<T[]> => {
              const rows = await s.query<T>(sql, params);
              if (/SKIP LOCKED/.test(sql)) {
                paused();
                await resumed;
              }
              return rows;
            },
          };
        },
      };
      const pruning = pruneRuns(gated, { olderThanMs: 30 * DAY_MS, repository: C, batchSize: 10 });
      await pausedInBatch;
      try {
        await other.query(`SET lock_timeout = '3s'`);
        // What a running run writes: its heartbeat, a proposal, its close.
        await other.query('UPDATE self_evolution_runs SET heartbeat_at = now() WHERE id = $1', [running]);
        await other.query(
          `INSERT INTO self_evolution_proposals (run_id, proposer, type, title, risk_level, status, verdict, allowlisted)
           VALUES ($1, 'command', 'prompt', 'while pruning', 0, 'evaluated', 'allowed', true)`,
          [running],
        );
        await other.query(
          `UPDATE self_evolution_runs SET status = 'success', finished_at = now() WHERE id = $1`,
          [running],
        );
        const [locks] = (
          await other.query<{ n: number }>(
            `SELECT count(*)::int AS n FROM pg_locks WHERE NOT granted AND database = (SELECT oid FROM pg_database WHERE datname = current_database())`,
          )
        ).rows;
        expect(locks!.n).toBe(0);
      } finally {
        await other.query('RESET lock_timeout');
        resume();
      }
      const result = await pruning;
      expect(result.deleted.runs).toBe(2);
      expect(await ids(db, 'SELECT id FROM self_evolution_runs WHERE repository = $1', [C])).toEqual([
        running!,
      ]);
    });
  });
});

describe('pruneRuns on PGlite', () => {
  let dir: string;
  let db: Db;

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'se-prune-pglite-'));
    db = await openEmbedded(join(dir, 'db'));
    await migrate(db);
  });
  afterAll(async () => {
    await db?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('deletes the same rows in batches', async () => {
    const history = await seedHistory(db);
    const result = await pruneRuns(db, { olderThanMs: 30 * DAY_MS, repository: A, batchSize: 2 });
    expect(result.batches).toBe(3);
    expect(result.deleted).toEqual(EXPECTED);
    expect(result.kept).toEqual({ unfinished: 1, inFlight: 2, locked: 0 });
    expect(
      await ids(db, 'SELECT id FROM self_evolution_runs WHERE id = ANY($1::int[])', [history.deletable]),
    ).toEqual([]);
  });
});
