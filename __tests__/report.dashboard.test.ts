/**
 * The dashboard without a browser: its reads (store/dashboard.ts readDashboard) on both engines against the
 * history of helpers/dashboard-fixture.ts, the pure renderer (report/dashboard.ts: escaping, links, the
 * calendar's outcome of a day, sums over repositories, the job summary's Markdown), and the uploader wrapper that
 * puts dashboard.html into a run's artifacts (report/dashboard-artifact.ts).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';

import type { ArtifactUploader } from '../src/report/artifacts.js';
import { dashboardArtifact } from '../src/report/dashboard-artifact.js';
import {
  blockingTotals,
  dayOutcome,
  escapeHtml,
  renderDashboard,
  renderDashboardMarkdown,
  runCounts,
  safeLink,
  windowTotals,
} from '../src/report/dashboard.js';
import type { Db } from '../src/store/db.js';
import { readDashboard, type DashboardData } from '../src/store/dashboard.js';
import { readMetricsReport } from '../src/store/metrics.js';
import { migrate } from '../src/store/migrate.js';
import { openPostgres } from '../src/store/pg.js';
import { openEmbedded } from '../src/store/pglite.js';
import { createTestDatabase } from './helpers/db.js';
import { EVIL_TITLE, EVIL_TRIP, seedDailyRuns, seedDashboard } from './helpers/dashboard-fixture.js';

const MAIN = 'acme/agent';
const OTHER = 'acme/docs-bot';

describe.each(['postgres', 'pglite'] as const)('readDashboard on %s', (engine) => {
  let db: Db;
  let cleanup: () => Promise<void>;

  beforeAll(async () => {
    if (engine === 'postgres') {
      const testDb = await createTestDatabase('dashboard');
      db = await openPostgres(testDb.url);
      cleanup = async () => {
        await db.close();
        await testDb.drop();
      };
    } else {
      const dir = mkdtempSync(join(tmpdir(), 'se-dashboard-pglite-'));
      db = await openEmbedded(join(dir, 'db'));
      cleanup = async () => {
        await db.close();
        rmSync(dir, { recursive: true, force: true });
      };
    }
    await migrate(db);
    await seedDashboard(db, MAIN);
    await seedDailyRuns(db, OTHER, { from: 1, to: 10 });
  }, 120_000);

  afterAll(async () => {
    await cleanup?.();
  });

  it("reads one repository's window: calendar, runs with proposals and pull requests, open ones, the breaker", async () => {
    const data = await readDashboard(db, { repository: MAIN, days: 90 });
    expect(data.repository).toBe(MAIN);
    expect(data.repositories).toEqual([MAIN]);
    const [clock] = await db.query<{ since: string; until: string }>(
      `SELECT ((now() AT TIME ZONE 'UTC')::date - 89)::text AS since, (now() AT TIME ZONE 'UTC')::date::text AS until`,
    );
    expect({ since: data.since, until: data.until }).toEqual(clock);

    const [count] = await db.query<{ n: number }>(
      `SELECT count(*)::int AS n FROM self_evolution_runs WHERE repository = $1 AND run_date >= $2::date`,
      [MAIN, data.since],
    );
    expect(data.runsTotal).toBe(Number(count!.n));
    expect(data.runs).toHaveLength(data.runsTotal);
    expect(
      data.calendar.every((d) => d.repository === MAIN && d.day >= data.since && d.day <= data.until),
    ).toBe(true);
    // Newest first.
    const starts = data.runs.map((r) => r.startedAt.getTime());
    expect(starts).toEqual([...starts].sort((a, b) => b - a));

    const evil = data.runs.flatMap((r) => r.proposals).find((p) => p.title === EVIL_TITLE);
    expect(evil?.pullRequests).toEqual([
      expect.objectContaining({
        status: 'closed',
        url: 'https://evil.example/acme/agent/phish',
        revert: null,
      }),
    ]);
    const blocked = data.runs
      .flatMap((r) => r.proposals)
      .find((p) => p.verdict === 'blocked' && p.type === 'docs');
    expect(blocked?.blockingRules).toEqual(['blocked-path']);
    const skipped = data.runs.find((r) => r.status === 'skipped' && r.gates.length > 0);
    expect(skipped?.gates.at(-1)?.outcome).toBe('skip');
    // seedMetrics' first pull request was merged and reverted automatically; a failed manual revert came later.
    const reverted = data.runs
      .flatMap((r) => r.proposals.flatMap((p) => p.pullRequests))
      .find((p) => p.revert?.status === 'merged');
    expect(reverted?.revert).toEqual({ status: 'merged', trigger: 'auto', prNumber: null, prUrl: null });

    const [open] = await db.query<{ n: number }>(
      `SELECT count(*)::int AS n FROM self_evolution_actions WHERE repository = $1 AND status = 'submitted'`,
      [MAIN],
    );
    expect(data.openPullRequests).toHaveLength(Number(open!.n));
    expect(data.openPullRequests.length).toBeGreaterThan(1);
    const ages = data.openPullRequests.map((p) => p.ageDays);
    expect(ages).toEqual([...ages].sort((a, b) => b - a));
    expect(ages.at(-1)!).toBeGreaterThan(3.9);

    expect(data.breaker).toHaveLength(1);
    const [b] = data.breaker;
    expect(b).toMatchObject({
      repository: MAIN,
      state: 'tripped',
      loopOn: false,
      flag: { key: `self_evolution_enabled:${MAIN}`, value: false },
      openTrip: { cause: 'reverted', resetAt: null },
    });
    // The window's trips (3 and 10 days ago) and seedMetrics' 50-day-old one, reset since, is outside 30 days.
    expect(b!.trips.map((t) => t.reason)).toEqual(['too many reverts', EVIL_TRIP, 'too many reverts']);
    const short = await readDashboard(db, { repository: MAIN, days: 30, maxRuns: 3 });
    expect(short.breaker[0]!.trips.map((t) => t.reason)).toEqual(['too many reverts', EVIL_TRIP]);
    expect(short.runs).toHaveLength(3);
    expect(short.runsTotal).toBeGreaterThan(3);
    expect(short.runs.map((r) => r.id)).toEqual(data.runs.slice(0, 3).map((r) => r.id));
  });

  it('reads every repository with `all`, and the metrics views for the same scope', async () => {
    const data = await readDashboard(db, { all: true, days: 90 });
    expect(data.repository).toBeNull();
    expect(data.repositories).toEqual([MAIN, OTHER]);
    expect(data.metrics).toEqual(await readMetricsReport(db, { all: true }));
    expect(data.breaker.map((b) => [b.repository, b.state, b.flag])).toEqual([
      [MAIN, 'tripped', expect.objectContaining({ value: false })],
      [OTHER, 'ok', null],
    ]);
    expect(new Set(data.calendar.map((d) => d.repository))).toEqual(new Set([MAIN, OTHER]));
  });

  it('refuses a bad scope', async () => {
    await expect(readDashboard(db, { days: 90 })).rejects.toThrow('give a repository');
    await expect(readDashboard(db, { all: true, repository: MAIN, days: 90 })).rejects.toThrow('not both');
    await expect(readDashboard(db, { all: true, days: 0 })).rejects.toThrow('days must be an integer');
    await expect(readDashboard(db, { all: true, days: 401 })).rejects.toThrow('days must be an integer');
  });
});

/** A small dataset for the pure renderer, written by hand. */
function sample(overrides: Partial<DashboardData> = {}): DashboardData {
  const w = (windowDays: 7 | 30 | 90, merged: number, published: number) => ({
    windowDays,
    proposalsMade: published + 2,
    proposalsAllowed: published + 1,
    proposalsVerified: published,
    verifyFailed: 1,
    published,
    merged,
    closedUnmerged: published - merged,
    reverted: merged > 0 ? 1 : 0,
    revertedAuto: merged > 0 ? 1 : 0,
    revertedManual: 0,
    acceptanceRate: published > 0 ? merged / published : null,
    regressionRate: merged > 0 ? 1 / merged : null,
    meanHoursToMerge: merged > 0 ? 5 : null,
    meanHoursToRevert: null,
    verifyPassRate: published / (published + 1),
    runs: 3,
    tokensPerRun: 100,
    minutesPerRun: 2,
    breakerTrips: 0,
    blockingRules: [{ ruleId: 'blocked-path', proposals: windowDays === 7 ? 1 : 2, violations: 3 }],
  });
  return {
    generatedAt: new Date('2026-03-10T12:00:00Z'),
    repository: 'acme/a',
    days: 10,
    since: '2026-03-01',
    until: '2026-03-10',
    repositories: ['acme/a'],
    calendar: [
      {
        repository: 'acme/a',
        day: '2026-03-02',
        counts: { success: 1, skipped: 2 },
        skipReasons: [{ reason: 'x <y>', runs: 2 }],
      },
      { repository: 'acme/a', day: '2026-03-03', counts: { failed: 1, success: 1 }, skipReasons: [] },
    ],
    runsTotal: 5,
    runs: [
      {
        id: 7,
        repository: 'acme/a',
        runDate: '2026-03-03',
        trigger: 'schedule',
        dryRun: false,
        forced: false,
        status: 'success',
        stale: false,
        skipReason: null,
        startedAt: new Date('2026-03-03T02:00:00Z'),
        finishedAt: new Date('2026-03-03T02:05:00Z'),
        summary: 'live: 1 proposal(s)',
        error: null,
        logsUrl: 'javascript:alert(1)',
        gates: [{ gate: 'feature-flag', outcome: 'pass', reason: 'on "quoted"' }],
        proposals: [
          {
            id: 70,
            title: '<script>alert(1)</script> & more',
            type: 'docs',
            proposer: 'command:x',
            verdict: 'allowed',
            status: 'evaluated',
            blockedReasons: [],
            blockingRules: [],
            verify: 'passed',
            riskLevel: 1,
            computedRisk: 2,
            linesAdded: 3,
            linesDeleted: 1,
            pullRequests: [
              {
                actionId: 700,
                status: 'merged',
                number: 12,
                url: 'https://github.com/acme/a/pull/12',
                createdAt: new Date('2026-03-03T02:04:00Z'),
                mergedAt: new Date('2026-03-03T05:00:00Z'),
                closedAt: null,
                closeReason: null,
                revert: {
                  status: 'submitted',
                  trigger: 'auto',
                  prNumber: 13,
                  prUrl: 'https://github.com/acme/a/pull/13',
                },
              },
            ],
          },
        ],
      },
    ],
    metrics: {
      windows: [7, 30, 90],
      repositories: [{ repository: 'acme/a', windows: [w(7, 1, 2), w(30, 2, 4), w(90, 3, 4)] }],
    },
    openPullRequests: [],
    breaker: [{ repository: 'acme/a', flag: null, loopOn: false, state: 'ok', openTrip: null, trips: [] }],
    ...overrides,
  };
}

describe('report/dashboard.ts', () => {
  it('escapes the five characters that matter in content and attributes', () => {
    expect(escapeHtml(`<a href="x" title='y'>&</a>`)).toBe(
      '&#60;a href=&#34;x&#34; title=&#39;y&#39;&#62;&#38;&#60;/a&#62;',
    );
  });

  it('links only pull requests and workflow runs over http(s), without credentials', () => {
    expect(safeLink('https://github.com/acme/a/pull/12', 'pull')).toBe('https://github.com/acme/a/pull/12');
    expect(safeLink('http://127.0.0.1:8080/acme/a/pull/3', 'pull')).toBe(
      'http://127.0.0.1:8080/acme/a/pull/3',
    );
    expect(safeLink('https://github.com/acme/a/actions/runs/42', 'run')).toBe(
      'https://github.com/acme/a/actions/runs/42',
    );
    expect(safeLink('https://github.com/acme/a/actions/runs/42/job/7', 'run')).toBe(
      'https://github.com/acme/a/actions/runs/42/job/7',
    );
    expect(safeLink('https://github.com/acme/a/actions/runs/42', 'pull')).toBeNull();
    expect(safeLink('javascript:alert(1)//github.com/acme/a/pull/1', 'pull')).toBeNull();
    expect(safeLink('https://evil.example/phish', 'pull')).toBeNull();
    expect(safeLink('https://u:p@github.com/acme/a/pull/1', 'pull')).toBeNull();
    expect(safeLink('not a url', 'run')).toBeNull();
    expect(safeLink(null, 'run')).toBeNull();
  });

  it("colours a day by its most telling outcome and counts the window's runs", () => {
    expect(dayOutcome({ success: 1, skipped: 3 })).toBe('success');
    expect(dayOutcome({ success: 1, failed: 1 })).toBe('failed');
    expect(dayOutcome({ skipped: 1, cancelled: 1 })).toBe('cancelled');
    expect(dayOutcome({ planned: 1, skipped: 1 })).toBe('running');
    expect(dayOutcome({ skipped: 2 })).toBe('skipped');
    expect(dayOutcome({})).toBeNull();
    expect(runCounts(sample().calendar)).toEqual({
      total: 5,
      success: 2,
      skipped: 2,
      failed: 1,
      cancelled: 0,
      reverted: 0,
      running: 0,
    });
  });

  it("takes one repository's figures as they are and sums several, recomputing the rates", () => {
    const one = sample();
    expect(
      windowTotals(one).map((w) => [w.windowDays, w.merged, w.acceptanceRate, w.meanHoursToMerge]),
    ).toEqual([
      [7, 1, 0.5, 5],
      [30, 2, 0.5, 5],
      [90, 3, 0.75, 5],
    ]);
    const two = sample({
      metrics: {
        windows: [7, 30, 90],
        repositories: [
          ...one.metrics.repositories,
          { ...one.metrics.repositories[0]!, repository: 'acme/b' },
        ],
      },
    });
    const [, , w90] = windowTotals(two);
    expect(w90).toMatchObject({
      published: 8,
      merged: 6,
      reverted: 2,
      acceptanceRate: 0.75,
      meanHoursToMerge: null,
    });
    expect(w90!.regressionRate).toBeCloseTo(1 / 3, 12);
    expect(blockingTotals(two)).toEqual([
      { ruleId: 'blocked-path', proposals: 4, violations: 6, counts: [2, 4, 4] },
    ]);
  });

  it('renders one file with no script, no request and no link but pull requests and workflow runs', () => {
    const html = renderDashboard(sample());
    expect(html.startsWith('<!doctype html>')).toBe(true);
    expect(html).toContain(`content="default-src 'none'; style-src 'unsafe-inline';`);
    expect(html).not.toMatch(/<script/i);
    expect(html).toContain('&#60;script&#62;alert(1)&#60;/script&#62; &#38; more');
    expect(html).toContain('title="on &#34;quoted&#34;"');
    // every URL in the file is a link to a pull request
    expect(html.match(/\b(https?|javascript):[^"'\s<]*/g)).toEqual([
      'https://github.com/acme/a/pull/12',
      'https://github.com/acme/a/pull/12',
      'https://github.com/acme/a/pull/13',
    ]);
    expect(html).toContain('data-metric="funnel.90.merged" data-value="3"');
    expect(html).toContain('data-metric="acceptance.90" data-value="0.75">75%<');
    expect(html).toContain('data-metric="blocking.blocked-path" data-value="2"');
    expect(html).toContain('data-metric="runs.failed" data-value="1"');
    expect(html).toContain('data-metric="breaker.state" data-value="0"');
    expect(html).toContain('data-day="2026-03-03" data-outcome="failed"');
    expect(html.match(/<rect /g)).toHaveLength(10);
    expect(html).toContain('The newest 1 of 5 runs of the window.');
  });

  it('writes the key figures for the job summary, with untrusted text defused', () => {
    const md = renderDashboardMarkdown(
      sample({
        breaker: [
          {
            repository: 'acme/a',
            flag: {
              key: 'self_evolution_enabled',
              value: false,
              updatedAt: new Date('2026-03-09T00:00:00Z'),
            },
            loopOn: false,
            state: 'tripped',
            openTrip: {
              id: 1,
              repository: 'acme/a',
              cause: 'rejected',
              reason: 'closed | by <b>bob</b>\nnext line',
              runId: 7,
              trippedAt: new Date('2026-03-09T00:00:00Z'),
              resetAt: null,
              resetBy: null,
            },
            trips: [],
          },
        ],
      }),
      'self-evolution-run-7',
    );
    expect(md).toContain('| acceptance (merged / published) | 50% (1/2) | 50% (2/4) | 75% (3/4) |');
    expect(md).toContain('| merged | 1 | 2 | 3 |');
    expect(md).toContain('| reverted after merge | 1 | 1 | 1 |');
    expect(md).toContain(
      '- circuit breaker: **tripped** since 2026-03-09 00:00 UTC (rejected: closed &#124; by &#60;b&#62;bob&#60;/b&#62; next line)',
    );
    expect(md).toContain('- open pull requests: 0');
    expect(md).toContain('- dashboard: `dashboard.html` in the artifact `self-evolution-run-7`');
  });
});

describe('dashboardArtifact', () => {
  let database: { url: string; drop(): Promise<void> };
  let dir: string;

  beforeAll(async () => {
    database = await createTestDatabase('dashboard_artifact');
    const db = await openPostgres(database.url);
    await migrate(db);
    await seedDailyRuns(db, MAIN, { from: 1, to: 5 });
    await db.close();
    dir = await mkdtemp(join(tmpdir(), 'se-dashboard-artifact-'));
  });

  afterAll(async () => {
    await database?.drop();
    await rm(dir, { recursive: true, force: true });
  });

  /** An uploader that records what it was asked to upload. */
  function recorder(fail = false): { uploader: ArtifactUploader; calls: Parameters<ArtifactUploader>[0][] } {
    const calls: Parameters<ArtifactUploader>[0][] = [];
    return {
      calls,
      uploader: async (input) => {
        calls.push(input);
        if (fail) throw new Error('no Actions runtime');
        return { id: 1 };
      },
    };
  }

  it("writes dashboard.html into the artifact's directory and uploads it with the run's files", async () => {
    const warnings: string[] = [];
    const artifact = dashboardArtifact({
      repository: MAIN,
      openDb: () => openPostgres(database.url),
      logger: { info: () => undefined, warn: (m) => warnings.push(m) },
      secrets: [],
    });
    expect(artifact.summaryMarkdown()).toBe('');
    const { uploader, calls } = recorder();
    const files = [join(dir, 'run.json')];
    await artifact.wrap(uploader)({
      name: 'self-evolution-run-9',
      rootDirectory: dir,
      files,
      retentionDays: 90,
    });
    expect(warnings).toEqual([]);
    expect(calls).toEqual([
      {
        name: 'self-evolution-run-9',
        rootDirectory: dir,
        files: [...files, join(dir, 'dashboard.html')],
        retentionDays: 90,
      },
    ]);
    const html = await readFile(join(dir, 'dashboard.html'), 'utf8');
    expect(html).toContain(`<title>Self-Evolution · ${MAIN}</title>`);
    expect(artifact.data()?.runsTotal).toBeGreaterThan(0);
    expect(artifact.summaryMarkdown()).toContain('in the artifact `self-evolution-run-9`');
  });

  it('uploads the given files and warns (secrets masked) when the dashboard cannot be read', async () => {
    const warnings: string[] = [];
    const artifact = dashboardArtifact({
      repository: MAIN,
      openDb: () => Promise.reject(new Error('connect to postgres://u:hunter2@db failed')),
      logger: { info: () => undefined, warn: (m) => warnings.push(m) },
      secrets: ['hunter2'],
    });
    const { uploader, calls } = recorder(true);
    const files = [join(dir, 'run.json')];
    await expect(
      artifact.wrap(uploader)({ name: 'a', rootDirectory: join(dir, 'other'), files, retentionDays: 1 }),
    ).rejects.toThrow('no Actions runtime');
    expect(calls.map((c) => c.files)).toEqual([files]);
    expect(warnings).toHaveLength(1);
    expect(warnings[0]).toContain('the dashboard was not written: connect to postgres://');
    expect(warnings[0]).not.toContain('hunter2');
    expect(artifact.data()).toBeNull();
    expect(artifact.summaryMarkdown()).toBe('');
  });
});
