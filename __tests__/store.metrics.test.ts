/**
 * The metrics views of migration 000006 (self_evolution_metrics, self_evolution_blocking_rules) and their typed
 * reads (store/metrics.ts) on both engines: a fresh Postgres database and one PGlite directory, each seeded
 * with the crafted history of helpers/metrics-fixture.ts (rows 2, 20 and 40 days old; a merged-then-reverted
 * pull request, a closed one, a verify-failed proposal, block, warn and approval violations) and asserted
 * figure by figure.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';

import type { Db } from '../src/store/db.js';
import { migrate } from '../src/store/migrate.js';
import {
  METRICS_WINDOWS,
  blockingRules,
  readMetrics,
  readMetricsReport,
  type WindowMetrics,
} from '../src/store/metrics.js';
import { openPostgres } from '../src/store/pg.js';
import { openEmbedded } from '../src/store/pglite.js';
import { createTestDatabase } from './helpers/db.js';
import { BLOCKING_EXPECTED, METRICS_EXPECTED, seedMetrics } from './helpers/metrics-fixture.js';

const engines = ['postgres', 'pglite'] as const;

const MAIN = 'acme/main';
const OTHER = 'acme/other';
const IDLE = 'acme/idle';

/** Asserts every figure of `actual` against `expected`: integers exactly, fractions to 9 decimals. */
function expectFigures(actual: WindowMetrics | undefined, expected: Record<string, number | null>): void {
  expect(actual).toBeDefined();
  for (const [key, want] of Object.entries(expected)) {
    const got = (actual as unknown as Record<string, unknown>)[key];
    if (typeof want === 'number' && !Number.isInteger(want)) {
      expect(typeof got).toBe('number');
      expect([key, got as number]).toEqual([key, expect.closeTo(want, 9)]);
    } else {
      expect([key, got]).toEqual([key, want]);
    }
  }
}

describe.each(engines)('metrics views on %s', (engine) => {
  let db: Db;
  let cleanup: () => Promise<void>;

  beforeAll(async () => {
    if (engine === 'postgres') {
      const testDb = await createTestDatabase('metrics');
      db = await openPostgres(testDb.url);
      cleanup = async () => {
        await db.close();
        await testDb.drop();
      };
    } else {
      const dir = mkdtempSync(join(tmpdir(), 'se-metrics-pglite-'));
      db = await openEmbedded(join(dir, 'db'));
      cleanup = async () => {
        await db.close();
        rmSync(dir, { recursive: true, force: true });
      };
    }
    await migrate(db);
    await seedMetrics(db, MAIN);
    // another repository: one run a day ago, one proposal blocked by binary-file
    const [run] = await db.query<{ id: number }>(
      `INSERT INTO self_evolution_runs (repository, run_date, trigger, dry_run, status, started_at, metrics)
       VALUES ($1, (now() - interval '1 day')::date, 'cli', true, 'success', now() - interval '1 day',
         '{"tokensUsed": 10, "stagesMs": {"propose": 6000, "rails": "n/a"}}')
       RETURNING id`,
      [OTHER],
    );
    await db.query(
      `INSERT INTO self_evolution_proposals
         (run_id, proposer, type, title, risk_level, status, verdict, allowlisted, blocked_reasons, violations)
       VALUES ($1, 'command:x', 'cleanup', 'binary', 1, 'evaluated', 'blocked', false, ARRAY['binary'],
         '[{"ruleId": "binary-file", "severity": "block", "path": "a.png", "message": "binary"}, "junk"]')`,
      [run!.id],
    );
    // a repository whose only run was skipped
    await db.query(
      `INSERT INTO self_evolution_runs (repository, run_date, trigger, dry_run, status, skip_reason)
       VALUES ($1, now()::date, 'schedule', true, 'skipped', 'disabled')`,
      [IDLE],
    );
  }, 60_000);
  afterAll(async () => {
    await cleanup?.();
  });

  it('gives the exact figures of each window for the crafted history', async () => {
    const rows = await readMetrics(db, { repository: MAIN });
    expect(rows.map((r) => [r.repository, r.windowDays])).toEqual([
      [MAIN, 7],
      [MAIN, 30],
      [MAIN, 90],
    ]);
    for (const [i, days] of METRICS_WINDOWS.entries()) expectFigures(rows[i], METRICS_EXPECTED[days]);
  });

  it('reads counts and rates as numbers, NULL rates as null', async () => {
    const [idle7] = await readMetrics(db, { repository: IDLE });
    expect(idle7).toEqual({
      repository: IDLE,
      windowDays: 7,
      proposalsMade: 0,
      proposalsAllowed: 0,
      proposalsVerified: 0,
      verifyFailed: 0,
      published: 0,
      merged: 0,
      closedUnmerged: 0,
      reverted: 0,
      revertedAuto: 0,
      revertedManual: 0,
      acceptanceRate: null,
      regressionRate: null,
      meanHoursToMerge: null,
      meanHoursToRevert: null,
      verifyPassRate: null,
      runs: 0,
      tokensPerRun: null,
      minutesPerRun: null,
      breakerTrips: 0,
    });
    const other = await readMetrics(db, { repository: OTHER });
    // a stage duration that is not a number is left out of the minutes; "junk" in violations is ignored
    expect(other[0]).toMatchObject({ proposalsMade: 1, proposalsAllowed: 0, runs: 1, tokensPerRun: 10 });
    expect(other[0]!.minutesPerRun).toBeCloseTo(0.1, 9);
    expect(typeof other[0]!.proposalsMade).toBe('number');
  });

  it('reads one repository, or all of them with all: true, by name then window', async () => {
    const all = await readMetrics(db, { all: true });
    expect(all.map((r) => `${r.repository}:${r.windowDays}`)).toEqual([
      `${IDLE}:7`,
      `${IDLE}:30`,
      `${IDLE}:90`,
      `${MAIN}:7`,
      `${MAIN}:30`,
      `${MAIN}:90`,
      `${OTHER}:7`,
      `${OTHER}:30`,
      `${OTHER}:90`,
    ]);
    expect(await readMetrics(db, { repository: 'acme/unknown' })).toEqual([]);
    await expect(readMetrics(db, {})).rejects.toThrow(/give a repository/);
  });

  it('lists the rules that blocked the proposals made in each window, most proposals first', async () => {
    const rules = await blockingRules(db, { repository: MAIN });
    for (const days of METRICS_WINDOWS) {
      expect(
        rules
          .filter((r) => r.windowDays === days)
          .map(({ ruleId, proposals, violations }) => ({ ruleId, proposals, violations })),
      ).toEqual(BLOCKING_EXPECTED[days]);
    }
    expect(rules.every((r) => r.repository === MAIN)).toBe(true);
    // warnings and approvals never block
    expect(rules.map((r) => r.ruleId)).not.toContain('test-change');

    const top1 = await blockingRules(db, { all: true, limit: 1 });
    expect(top1.map((r) => `${r.repository}:${r.windowDays}:${r.ruleId}`)).toEqual([
      `${MAIN}:30:blocked-path`,
      `${MAIN}:90:diff-size`,
      `${OTHER}:7:binary-file`,
      `${OTHER}:30:binary-file`,
      `${OTHER}:90:binary-file`,
    ]);
    await expect(blockingRules(db, { all: true, limit: 0 })).rejects.toThrow(/limit must be an integer/);
  });

  it('readMetricsReport groups both views by repository and window', async () => {
    const report = await readMetricsReport(db, { repository: MAIN });
    expect(report.windows).toEqual([7, 30, 90]);
    expect(report.repositories.map((r) => r.repository)).toEqual([MAIN]);
    const windows = report.repositories[0]!.windows;
    expect(windows.map((w) => w.windowDays)).toEqual([7, 30, 90]);
    expect(windows[2]!.blockingRules).toEqual(BLOCKING_EXPECTED[90]);
    expect(windows[0]!.blockingRules).toEqual([]);
    expect(windows[2]).toMatchObject({ published: 4, merged: 3, reverted: 2 });
    expect(windows[2]).not.toHaveProperty('repository');

    expect((await readMetricsReport(db, { all: true })).repositories.map((r) => r.repository)).toEqual([
      IDLE,
      MAIN,
      OTHER,
    ]);
    expect(await readMetricsReport(db, { repository: 'acme/unknown' })).toEqual({
      windows: [7, 30, 90],
      repositories: [],
    });
  });
});
