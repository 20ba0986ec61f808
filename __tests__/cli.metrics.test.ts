/**
 * `self-evolution status --metrics [--json] [--all]` as a user runs it (a separate process against Postgres):
 * the crafted history of helpers/metrics-fixture.ts read back through the views, as JSON and as the table.
 * `status` without the flag still lists the runs.
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';

import type { Db } from '../src/store/db.js';
import { migrate } from '../src/store/migrate.js';
import { openDatabase } from '../src/store/open.js';
import { runCli } from './helpers/cli.js';
import { createTestDatabase } from './helpers/db.js';
import { makeTempRepo, type TempRepo } from './helpers/git-repo.js';
import { BLOCKING_EXPECTED, METRICS_EXPECTED, seedMetrics } from './helpers/metrics-fixture.js';

const MAIN = 'acme/metrics';
const OTHER = 'acme/metrics-other';

let database: { url: string; drop(): Promise<void> };
let admin: Db;
let repo: TempRepo;

beforeAll(async () => {
  database = await createTestDatabase('cli_metrics');
  admin = await openDatabase({ databaseUrl: database.url, embeddedDir: '' });
  await migrate(admin);
  await seedMetrics(admin, MAIN);
  await admin.query(
    `INSERT INTO self_evolution_runs (repository, run_date, trigger, dry_run, status, skip_reason)
     VALUES ($1, now()::date, 'schedule', true, 'skipped', 'disabled')`,
    [OTHER],
  );
  repo = await makeTempRepo({ 'README.md': 'x\n' });
}, 60_000);

afterAll(async () => {
  await repo?.cleanup();
  await admin?.close();
  await database?.drop();
});

describe('status --metrics', () => {
  it('--json prints the report of the repository: three windows with their figures and blocking rules', async () => {
    const env = { DATABASE_URL: database.url };
    const res = await runCli(
      ['status', '--metrics', '--json', '--repo', repo.dir, '--repository', MAIN],
      env,
    );
    expect(res.code).toBe(0);
    expect(res.stdout.trim().split('\n')).toHaveLength(1);
    const report = JSON.parse(res.stdout) as {
      windows: number[];
      repositories: { repository: string; windows: Record<string, unknown>[] }[];
    };
    expect(report.windows).toEqual([7, 30, 90]);
    expect(report.repositories.map((r) => r.repository)).toEqual([MAIN]);
    const [w7, w30, w90] = report.repositories[0]!.windows;
    expect(w7).toEqual({ ...METRICS_EXPECTED[7], blockingRules: BLOCKING_EXPECTED[7] });
    expect(w30).toMatchObject({
      proposalsMade: 4,
      published: 2,
      merged: 2,
      regressionRate: 0.5,
      meanHoursToMerge: 18,
      blockingRules: BLOCKING_EXPECTED[30],
    });
    expect(w90).toMatchObject({
      proposalsMade: 8,
      closedUnmerged: 1,
      reverted: 2,
      revertedAuto: 1,
      revertedManual: 1,
      acceptanceRate: 0.75,
      meanHoursToRevert: 30,
      blockingRules: BLOCKING_EXPECTED[90],
    });
    expect(w90!.tokensPerRun).toBeCloseTo(4000 / 3, 9);

    const all = await runCli(['status', '--metrics', '--json', '--all', '--repo', repo.dir], env);
    expect(all.code).toBe(0);
    const everyRepository = JSON.parse(all.stdout) as typeof report;
    expect(everyRepository.repositories.map((r) => r.repository)).toEqual([MAIN, OTHER]);
    expect(everyRepository.repositories[1]!.windows[2]).toMatchObject({
      windowDays: 90,
      proposalsMade: 0,
      acceptanceRate: null,
      runs: 0,
    });
  }, 60_000);

  it('prints the table: a row per measure, a column per window, the rules that blocked most', async () => {
    const env = { DATABASE_URL: database.url };
    const res = await runCli(['status', '--metrics', '--repo', repo.dir, '--repository', MAIN], env);
    expect(res.code).toBe(0);
    const lines = res.stdout.trimEnd().split('\n');
    expect(lines[0]).toMatch(/^acme\/metrics\s+7d\s+30d\s+90d$/);
    expect(res.stdout).toMatch(/^proposals made\s+2\s+4\s+8$/m);
    expect(res.stdout).toMatch(/^published \(pull requests\)\s+1\s+2\s+4$/m);
    expect(res.stdout).toMatch(/^ {2}closed unmerged\s+0\s+0\s+1$/m);
    expect(res.stdout).toMatch(/^ {2}reverted after merge\s+1\s+1\s+2$/m);
    expect(res.stdout).toMatch(/^acceptance rate \(merged \/ published\)\s+100%\s+100%\s+75%$/m);
    expect(res.stdout).toMatch(/^regression rate \(reverted \/ merged\)\s+100%\s+50%\s+66\.7%$/m);
    expect(res.stdout).toMatch(/^mean time to merge\s+6\.0 h\s+18\.0 h\s+12\.7 h$/m);
    expect(res.stdout).toMatch(/^mean time to revert\s+12\.0 h\s+12\.0 h\s+30\.0 h$/m);
    expect(res.stdout).toMatch(/^verify pass rate\s+50%\s+66\.7%\s+75%$/m);
    expect(res.stdout).toMatch(/^tokens per run\s+1000\s+2000\s+1333$/m);
    expect(res.stdout).toMatch(/^minutes per run\s+3\s+4\s+3$/m);
    expect(res.stdout).toMatch(/^breaker trips\s+1\s+1\s+2$/m);
    expect(lines.slice(-3)).toEqual([
      'rules that blocked most (proposals blocked)',
      expect.stringMatching(/^ {2}diff-size\s+0\s+1\s+2$/),
      expect.stringMatching(/^ {2}blocked-path\s+0\s+1\s+1$/),
    ]);

    // without --metrics, status still lists the runs
    const runs = await runCli(['status', '--json', '--repo', repo.dir, '--repository', MAIN], env);
    expect(runs.code).toBe(0);
    const listed = JSON.parse(runs.stdout) as { id: number; status: string }[];
    // newest first by id (status's order), every run of the fixture once
    expect(listed.map((r) => r.id)).toEqual([...listed.map((r) => r.id)].sort((a, b) => b - a));
    expect(listed.map((r) => r.status).sort()).toEqual(['failed', 'failed', 'skipped', 'success', 'success']);
  }, 60_000);
});
