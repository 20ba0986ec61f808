/**
 * Fleet views (migration 000008): on a database a fleet has filled (__tests__/helpers/fleet.ts, 50 repositories x
 * 400 days of runs, VACUUM ANALYZE), the statements that `status --all`, the dashboard of every repository and of
 * one, and `status --metrics --all` send (recorded from the real store functions) are planned onto the indexes of
 * 000008, and none reads the whole runs table but to list the repositories (the metrics' "every repository with a
 * run", which reads every run by definition). Checked from EXPLAIN (VERBOSE, FORMAT JSON); fails without 000008. The
 * timings at 500 x 365 are `npm run bench:fleet-views`'s.
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';

import { pullRequestsOfRuns } from '../src/store/actions.js';
import { readDashboard } from '../src/store/dashboard.js';
import type { Db, Queryable } from '../src/store/db.js';
import { readMetricsReport } from '../src/store/metrics.js';
import { migrate } from '../src/store/migrate.js';
import { openPostgres } from '../src/store/pg.js';
import { listRecentRuns } from '../src/store/runs.js';
import { createTestDatabase, type TestDatabase } from './helpers/db.js';
import { fleetRepository, generateFleet } from './helpers/fleet.js';

/** A node of a JSON plan (the fields read here). */
interface PlanNode {
  'Node Type': string;
  'Relation Name'?: string;
  'Index Name'?: string;
  Output?: string[];
  Plans?: PlanNode[];
}

/** A statement as a store function sent it, and its plan. */
interface Planned {
  sql: string;
  nodes: PlanNode[];
}

/** Every node of a plan, depth first. */
function nodesOf(plan: PlanNode): PlanNode[] {
  return [plan, ...(plan.Plans ?? []).flatMap(nodesOf)];
}

/** A statement's first line, for failure messages. */
function short(sql: string): string {
  return sql.replace(/\s+/g, ' ').trim().slice(0, 120);
}

let testDb: TestDatabase;
let db: Db;

/** Runs `read` through a Queryable that records each statement, then plans every statement it sent. */
async function plansOf(read: (q: Queryable) => Promise<unknown>): Promise<Planned[]> {
  const recorded: { sql: string; params: unknown[] }[] = [];
  await read({
    query: (sql, params) => {
      recorded.push({ sql, params: params ?? [] });
      return db.query(sql, params);
    },
    exec: (sql) => db.exec(sql),
  });
  const planned: Planned[] = [];
  for (const { sql, params } of recorded) {
    const [row] = await db.query<{ 'QUERY PLAN': { Plan: PlanNode }[] | string }>(
      `EXPLAIN (VERBOSE, FORMAT JSON) ${sql}`,
      params,
    );
    const json = row!['QUERY PLAN'];
    const [explained] = typeof json === 'string' ? (JSON.parse(json) as { Plan: PlanNode }[]) : json;
    planned.push({ sql, nodes: nodesOf(explained!.Plan) });
  }
  return planned;
}

/** The sequential scans of runs that read more than the repository column: "statement: node". */
function fullReadsOfRuns(planned: readonly Planned[]): string[] {
  return planned.flatMap(({ sql, nodes }) =>
    nodes
      .filter((n) => n['Node Type'].includes('Seq Scan') && n['Relation Name'] === 'self_evolution_runs')
      .filter((n) => !(n.Output?.length === 1 && /(^|\.)repository$/.test(n.Output[0]!)))
      .map((n) => `${short(sql)}: ${n['Node Type']} (${(n.Output ?? []).join(', ')})`),
  );
}

/** The sequential scans of `table`: "statement: node". */
function seqScansOf(planned: readonly Planned[], table: string): string[] {
  return planned.flatMap(({ sql, nodes }) =>
    nodes
      .filter((n) => n['Node Type'].includes('Seq Scan') && n['Relation Name'] === table)
      .map((n) => `${short(sql)}: ${n['Node Type']} on ${table}`),
  );
}

/** The indexes the plans use. */
function indexesUsed(planned: readonly Planned[]): Set<string> {
  return new Set(
    planned.flatMap(({ nodes }) => nodes.flatMap((n) => (n['Index Name'] ? [n['Index Name']] : []))),
  );
}

beforeAll(async () => {
  testDb = await createTestDatabase('fleet_views');
  db = await openPostgres(testDb.url);
  await migrate(db);
  await generateFleet(db, { repositories: 50, days: 400 });
  await db.exec('VACUUM ANALYZE');
}, 120_000);

afterAll(async () => {
  await db?.close();
  await testDb?.drop();
});

describe('fleet views use the indexes of migration 000008', () => {
  it('status --all: the newest runs by id, their pull requests by run_id', async () => {
    const planned = await plansOf(async (q) => {
      const runs = await listRecentRuns(q, { limit: 10 });
      expect(runs).toHaveLength(10);
      await pullRequestsOfRuns(
        q,
        runs.map((r) => r.id),
      );
    });
    expect(fullReadsOfRuns(planned)).toEqual([]);
    expect(seqScansOf(planned, 'self_evolution_actions')).toEqual([]);
    expect([...indexesUsed(planned)]).toEqual(
      expect.arrayContaining(['self_evolution_runs_pkey', 'self_evolution_actions_run_id']),
    );
  });

  it('the dashboard of every repository: calendar by day, run list by start, open pull requests, metrics', async () => {
    const planned = await plansOf(async (q) => {
      const data = await readDashboard(q, { all: true, days: 30 });
      expect(data.repositories).toHaveLength(50);
      expect(data.runs).toHaveLength(500);
    });
    expect(fullReadsOfRuns(planned)).toEqual([]);
    expect(seqScansOf(planned, 'self_evolution_proposals')).toEqual([]);
    expect([...indexesUsed(planned)]).toEqual(
      expect.arrayContaining([
        'self_evolution_runs_run_date',
        'self_evolution_runs_started_at_id',
        'self_evolution_proposals_created_at',
        'self_evolution_actions_submitted_created_at',
      ]),
    );
  });

  it('status --metrics --all: the proposals of the last 90 days by created_at, not every run per repository', async () => {
    const planned = await plansOf((q) => readMetricsReport(q, { all: true }));
    expect(fullReadsOfRuns(planned)).toEqual([]);
    expect(seqScansOf(planned, 'self_evolution_proposals')).toEqual([]);
    expect(indexesUsed(planned).has('self_evolution_proposals_created_at')).toBe(true);
  });

  it('the dashboard of one repository (what each run uploads) reads that repository alone', async () => {
    const planned = await plansOf((q) => readDashboard(q, { repository: fleetRepository(7), days: 90 }));
    expect(fullReadsOfRuns(planned)).toEqual([]);
    expect(seqScansOf(planned, 'self_evolution_proposals')).toEqual([]);
  });
});
