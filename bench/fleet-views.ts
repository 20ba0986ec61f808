/**
 * Fleet views benchmark (`npm run bench:fleet-views`): what `status --all`, `status --metrics --all`, the dashboard
 * (`report --all`, and one repository's, as every run uploads it) and one `prune` batch cost against a database that
 * a fleet has filled, without and with migration 000008 (its indexes and its metrics views), side by side in the
 * same run.
 *
 *   npm run bench:fleet-views -- [--repositories 500] [--days 365] [--runs 3] [--prune-older-than-days 300]
 *
 * - The server: DATABASE_URL (the role needs CREATEDB), else a throwaway embedded Postgres started as the tests start
 *   theirs (__tests__/helpers/global-setup.ts) and stopped at the end. A fresh database is created for the benchmark
 *   and dropped at the end.
 * - The data: __tests__/helpers/fleet.ts generateFleet, 500 repositories x 365 days, one run a day each (a realistic
 *   status mix, reflections, proposals, pull requests, reverts, breaker trips), written with INSERT ... SELECT over
 *   generate_series; then VACUUM ANALYZE (the state autovacuum keeps a database in).
 * - The queries: the real store functions (listRecentRuns and pullRequestsOfRuns as `status --all` calls them,
 *   readMetricsReport, readDashboard, pruneRuns), called through a Queryable that records each statement and its
 *   parameters; each recorded statement is then run again as EXPLAIN (ANALYZE, BUFFERS, TIMING OFF, FORMAT JSON).
 *   The prune batch (the oldest `--prune-older-than-days` days are deletable; one batch of 500) is recorded with its
 *   COMMIT turned into a ROLLBACK and explained inside a transaction that is rolled back, so its deletes and their
 *   foreign-key triggers are measured and the data stays as it was.
 * - Without (the floor): every pass runs inside a transaction that first drops the indexes of migration 000008 and
 *   puts back the metrics views of 000006, and ends with ROLLBACK: the schema as it was before, in the same database,
 *   same data, same cache. With: the schema as migrated. The two alternate, `--runs` times each; medians are printed.
 *
 * Printed per statement: the execution time (the server's, from EXPLAIN ANALYZE; JIT compilation included), without,
 * with, and the ratio; per reader the wall time of the store function; then the top nodes of each plan, and every
 * sequential scan of a self_evolution_* table. Nothing is asserted: the figures depend on the machine.
 */
import { cpus, loadavg } from 'node:os';
import { performance } from 'node:perf_hooks';
import { parseArgs } from 'node:util';
import pg from 'pg';

import globalSetup from '../__tests__/helpers/global-setup.js';
import globalTeardown from '../__tests__/helpers/global-teardown.js';
import { createTestDatabase, type TestDatabase } from '../__tests__/helpers/db.js';
import { generateFleet, fleetRepository } from '../__tests__/helpers/fleet.js';
import { pullRequestsOfRuns } from '../src/store/actions.js';
import { readDashboard } from '../src/store/dashboard.js';
import type { Db, DbSession, Queryable } from '../src/store/db.js';
import { migrate } from '../src/store/migrate.js';
import { MIGRATIONS } from '../src/store/migrations.generated.js';
import { readMetricsReport } from '../src/store/metrics.js';
import { openPostgres } from '../src/store/pg.js';
import { pruneRuns } from '../src/store/prune.js';
import { listRecentRuns } from '../src/store/runs.js';

/** The migration measured. */
const FLEET_MIGRATION = '000008_fleet_indexes';
/** The migration whose views 000008 replaces (put back for the floor). */
const VIEWS_MIGRATION = '000006_metrics';

/** A statement as a store function sent it. */
interface Recorded {
  sql: string;
  params: unknown[];
}

/** What the benchmark reads, as the CLI does. */
interface Reader {
  key: string;
  label: string;
  /** Calls the store function(s) on `db`. */
  run: (db: Queryable & { session(): Promise<DbSession> }) => Promise<unknown>;
  /** The prune batch: recorded with COMMIT turned into ROLLBACK, explained in a transaction rolled back. */
  destructive?: boolean;
}

/** One measured statement in one state. */
interface Measure {
  ms: number[];
  plan?: PlanNode;
}

/** A node of a JSON plan (the fields read here). */
interface PlanNode {
  'Node Type': string;
  'Relation Name'?: string;
  'Index Name'?: string;
  'Actual Rows'?: number;
  'Actual Loops'?: number;
  Plans?: PlanNode[];
}

/** Median of `values` (NaN for none). */
function median(values: number[]): number {
  if (values.length === 0) return NaN;
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}

/** A Queryable (and sessions, which are the same connection) over one pg.Client. */
function onClient(client: pg.Client, record?: (r: Recorded) => void, commitAs?: string) {
  const db = {
    async query<T = Record<string, unknown>>(sql: string, params: unknown[] = []): Promise<T[]> {
      record?.({ sql, params });
      const text = commitAs !== undefined && /^\s*COMMIT\s*$/i.test(sql) ? commitAs : sql;
      return (await client.query(text, params)).rows as T[];
    },
    async exec(sql: string): Promise<void> {
      await client.query(sql);
    },
    async session(): Promise<DbSession> {
      return { ...db, release: async () => undefined, onLost: () => () => undefined };
    },
  };
  return db;
}

/** The names of the indexes a migration creates. */
function indexesOf(sql: string): string[] {
  return [...sql.matchAll(/CREATE\s+INDEX\s+IF\s+NOT\s+EXISTS\s+(\w+)/gi)].map((m) => m[1]!);
}

/** "Seq Scan on t (rows x loops)" lines and the top of the plan, for printing. */
function describePlan(plan: PlanNode): { top: string[]; seqScans: string[] } {
  const top: string[] = [];
  const seqScans: string[] = [];
  const label = (n: PlanNode): string =>
    `${n['Node Type']}${n['Index Name'] ? ` using ${n['Index Name']}` : ''}${
      n['Relation Name'] ? ` on ${n['Relation Name']}` : ''
    } (rows ${n['Actual Rows'] ?? '?'}${(n['Actual Loops'] ?? 1) > 1 ? ` x ${n['Actual Loops']} loops` : ''})`;
  const walk = (n: PlanNode, depth: number): void => {
    if (depth <= 3 && top.length < 8) top.push(`${'  '.repeat(depth)}${label(n)}`);
    if (n['Node Type'].includes('Seq Scan') && n['Relation Name']?.startsWith('self_evolution_'))
      seqScans.push(label(n));
    for (const child of n.Plans ?? []) walk(child, depth + 1);
  };
  walk(plan, 0);
  return { top, seqScans };
}

/** A statement's first words, for the table. */
function shortSql(sql: string): string {
  const flat = sql.replace(/\s+/g, ' ').trim();
  const from = /\bFROM (self_evolution_\w+|feature_flags)/i.exec(flat)?.[1];
  const verb = flat.split(' ')[0]!.toUpperCase();
  return `${verb}${from ? ` ${from}` : ''}`;
}

function ms(value: number): string {
  if (!Number.isFinite(value)) return '-';
  return value >= 100 ? value.toFixed(0) : value >= 10 ? value.toFixed(1) : value.toFixed(2);
}

function ratio(without: number, withIt: number): string {
  if (!(withIt > 0) || !Number.isFinite(without)) return '-';
  return `${(without / withIt).toFixed(without / withIt >= 10 ? 0 : 1)}x`;
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      repositories: { type: 'string', default: '500' },
      days: { type: 'string', default: '365' },
      runs: { type: 'string', default: '3' },
      'prune-older-than-days': { type: 'string', default: '300' },
    },
  });
  const repositories = Number.parseInt(values.repositories, 10);
  const days = Number.parseInt(values.days, 10);
  const runs = Math.max(1, Number.parseInt(values.runs, 10));
  const pruneDays = Number.parseInt(values['prune-older-than-days'], 10);
  const out = (line = ''): void => void process.stdout.write(`${line}\n`);

  const fleet = MIGRATIONS.find((m) => m.id === FLEET_MIGRATION);
  const views = MIGRATIONS.find((m) => m.id === VIEWS_MIGRATION);
  if (fleet === undefined || views === undefined) throw new Error(`${FLEET_MIGRATION} is not compiled in`);
  const dropped = indexesOf(fleet.sql);
  const floorSql = [
    ...dropped.map((name) => `DROP INDEX ${name}`),
    ...views.sql
      .split(/;\s*\n/)
      .filter((s) => /CREATE VIEW/.test(s))
      .map((s) => s.replace(/CREATE VIEW/, 'CREATE OR REPLACE VIEW')),
  ];

  const external = process.env.DATABASE_URL?.trim();
  await globalSetup();
  let database: TestDatabase | undefined;
  let client: pg.Client | undefined;
  try {
    database = await createTestDatabase('bench_fleet_views');
    out(
      `fleet views benchmark: ${repositories} repositories x ${days} days, medians of ${runs} runs; server: ` +
        (external ? 'DATABASE_URL' : 'a throwaway embedded Postgres'),
    );
    const setup: Db = await openPostgres(database.url);
    try {
      await migrate(setup);
      const started = performance.now();
      const counts = await generateFleet(setup, { repositories, days });
      const generatedMs = performance.now() - started;
      const vacuumStarted = performance.now();
      await setup.exec('VACUUM ANALYZE');
      const [sizes] = await setup.query<{
        runs: string;
        proposals: string;
        total: string;
        version: string;
        jit: string;
      }>(
        `SELECT pg_size_pretty(pg_total_relation_size('self_evolution_runs')) AS runs,
           pg_size_pretty(pg_total_relation_size('self_evolution_proposals')) AS proposals,
           pg_size_pretty(pg_database_size(current_database())) AS total,
           current_setting('server_version') AS version, current_setting('jit') AS jit`,
      );
      out(
        `generated in ${(generatedMs / 1000).toFixed(1)} s, VACUUM ANALYZE ${((performance.now() - vacuumStarted) / 1000).toFixed(1)} s: ` +
          Object.entries(counts)
            .map(([table, n]) => `${n} ${table}`)
            .join(', '),
      );
      out(
        `Postgres ${sizes!.version} (jit ${sizes!.jit}); database ${sizes!.total} (runs ${sizes!.runs}, proposals ` +
          `${sizes!.proposals}); ${cpus().length} cores, load average ${loadavg()
            .map((l) => l.toFixed(1))
            .join(' ')}`,
      );
      out(
        `without = before ${FLEET_MIGRATION} (dropped in a rolled-back transaction: ${dropped.join(', ')}; views of ${VIEWS_MIGRATION})`,
      );
    } finally {
      await setup.close();
    }

    client = new pg.Client({ connectionString: database.url, application_name: 'bench-fleet-views' });
    await client.connect();
    const one = fleetRepository(Math.min(42, repositories));
    const olderThanMs = pruneDays * 86_400_000;
    const readers: Reader[] = [
      {
        key: 'status-all',
        label: 'status --all (limit 10)',
        run: async (db) => {
          const listed = await listRecentRuns(db, { limit: 10 });
          return pullRequestsOfRuns(
            db,
            listed.map((r) => r.id),
          );
        },
      },
      {
        key: 'metrics-all',
        label: 'status --metrics --all',
        run: (db) => readMetricsReport(db, { all: true }),
      },
      {
        key: 'dashboard-all',
        label: 'report --all (90 days)',
        run: (db) => readDashboard(db, { all: true, days: 90 }),
      },
      {
        key: 'dashboard-one',
        label: `report of ${one} (90 days, as each run uploads it)`,
        run: (db) => readDashboard(db, { repository: one, days: 90 }),
      },
      {
        key: 'prune',
        label: `prune --older-than ${pruneDays}d: one batch of 500`,
        destructive: true,
        run: (db) => pruneRuns(db, { olderThanMs, batchSize: 500, maxBatches: 1 }),
      },
    ];

    // Record each reader's statements once (on the schema as migrated; the statements do not depend on it).
    const recorded = new Map<string, Recorded[]>();
    for (const reader of readers) {
      const list: Recorded[] = [];
      await reader.run(onClient(client, (r) => list.push(r), reader.destructive ? 'ROLLBACK' : undefined));
      recorded.set(
        reader.key,
        list.filter((r) => !/^\s*(BEGIN|COMMIT|ROLLBACK)\s*$/i.test(r.sql)),
      );
    }

    type State = 'without' | 'with';
    const measures = new Map<string, Measure>();
    const walls = new Map<string, number[]>();
    const measure = (key: string): Measure => {
      let m = measures.get(key);
      if (m === undefined) measures.set(key, (m = { ms: [] }));
      return m;
    };
    const pass = async (state: State): Promise<void> => {
      const c = client!;
      for (const reader of readers) {
        await c.query('BEGIN');
        try {
          if (state === 'without') for (const sql of floorSql) await c.query(sql);
          if (!reader.destructive) {
            const t = performance.now();
            await reader.run(onClient(c));
            const wall = walls.get(`${state}:${reader.key}`) ?? [];
            wall.push(performance.now() - t);
            walls.set(`${state}:${reader.key}`, wall);
          }
          for (const [i, r] of recorded.get(reader.key)!.entries()) {
            const res = await c.query(
              `EXPLAIN (ANALYZE, BUFFERS, TIMING OFF, FORMAT JSON) ${r.sql}`,
              r.params,
            );
            const explained = (res.rows[0] as { 'QUERY PLAN': Record<string, unknown>[] })['QUERY PLAN'][0]!;
            const m = measure(`${state}:${reader.key}:${i}`);
            m.ms.push(Number(explained['Execution Time']));
            m.plan = explained.Plan as PlanNode;
          }
        } finally {
          await c.query('ROLLBACK');
        }
      }
    };
    for (let i = 0; i < runs; i++) {
      await pass('without');
      await pass('with');
      process.stderr.write(`run ${i + 1}/${runs} done\n`);
    }

    out();
    out('| reader | statement | without ms | with ms | ratio |');
    out('| --- | --- | ---: | ---: | ---: |');
    for (const reader of readers) {
      const statements = recorded.get(reader.key)!;
      let sumWithout = 0;
      let sumWith = 0;
      for (const [i, r] of statements.entries()) {
        const without = median(measure(`without:${reader.key}:${i}`).ms);
        const withIt = median(measure(`with:${reader.key}:${i}`).ms);
        sumWithout += without;
        sumWith += withIt;
        out(
          `| ${reader.label} | ${i + 1}. ${shortSql(r.sql)} | ${ms(without)} | ${ms(withIt)} | ${ratio(without, withIt)} |`,
        );
      }
      out(
        `| **${reader.label}** | **server total** | **${ms(sumWithout)}** | **${ms(sumWith)}** | **${ratio(sumWithout, sumWith)}** |`,
      );
      if (!reader.destructive) {
        const wWithout = median(walls.get(`without:${reader.key}`) ?? []);
        const wWith = median(walls.get(`with:${reader.key}`) ?? []);
        out(
          `| **${reader.label}** | **wall (store function)** | **${ms(wWithout)}** | **${ms(wWith)}** | **${ratio(wWithout, wWith)}** |`,
        );
      }
    }

    out();
    out('plans (top nodes; rows are actual rows):');
    for (const reader of readers) {
      for (const [i, r] of recorded.get(reader.key)!.entries()) {
        out(`\n${reader.label}, ${i + 1}. ${shortSql(r.sql)}`);
        for (const state of ['without', 'with'] as const) {
          const m = measure(`${state}:${reader.key}:${i}`);
          if (m.plan === undefined) continue;
          const { top, seqScans } = describePlan(m.plan);
          out(`  ${state}: ${ms(median(m.ms))} ms`);
          for (const line of top) out(`    ${line}`);
          if (seqScans.length > 0) out(`    sequential scans: ${[...new Set(seqScans)].join('; ')}`);
        }
      }
    }
  } finally {
    await client?.end().catch(() => undefined);
    await database?.drop().catch((error: unknown) => {
      process.stderr.write(
        `could not drop the benchmark's database ${database?.name}: ${error instanceof Error ? error.message : String(error)}; drop it by hand\n`,
      );
    });
    await globalTeardown();
  }
}

main().catch((error: unknown) => {
  process.stderr.write(`${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
  process.exitCode = 1;
});
