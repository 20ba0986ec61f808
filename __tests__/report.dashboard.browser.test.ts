/**
 * The HTML dashboard in a real browser: headless Chromium (Debian's `chromium` package; .ci/run installs it)
 * driven by playwright-core opens the file written for a database seeded with 90 days of history
 * (helpers/dashboard-fixture.ts: runs of every outcome, proposals, pull requests merged, closed and open, reverts,
 * breaker trips, and hostile text). It finds no console error, no failed request and no request but the file's
 * own; reads every `data-metric` figure and compares it with the SQL's (the metrics views through
 * readMetricsReport / blockingRules, and counts of the tables); checks that the markup and script injected in a
 * proposal title, a skip reason, a close reason and a trip reason are shown as text and never run, and that the
 * only links lead to pull requests and workflow runs; and saves a screenshot (docs/dashboard.png, the README's,
 * when SE_UPDATE_SCREENSHOT=1; a temporary file otherwise, so a test run leaves the work tree as it was).
 *
 * Without a Chromium (CHROMIUM_PATH, else chromium, chromium-browser or google-chrome on PATH) the tests are
 * skipped with a message saying how to install it.
 */
import { execFileSync } from 'node:child_process';
import { mkdtemp, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { chromium, type Browser, type Page } from 'playwright-core';

import type { Db } from '../src/store/db.js';
import { blockingRules, readMetricsReport, type MetricsWindow } from '../src/store/metrics.js';
import { migrate } from '../src/store/migrate.js';
import { openPostgres } from '../src/store/pg.js';
import { writeDashboard } from '../src/report/dashboard-artifact.js';
import { FUNNEL_STAGES } from '../src/report/dashboard.js';
import { createTestDatabase, type TestDatabase } from './helpers/db.js';
import {
  EVIL_CLOSE,
  EVIL_SKIP,
  EVIL_TITLE,
  EVIL_TRIP,
  seedDailyRuns,
  seedDashboard,
} from './helpers/dashboard-fixture.js';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..');
const MAIN = 'acme/agent';
const OTHER = 'acme/docs-bot';
const DAYS = 90;

/** The Chromium to drive: $CHROMIUM_PATH, else the first of Debian's and Google's names on PATH; null: none. */
function findChromium(): string | null {
  if (process.env.CHROMIUM_PATH) return process.env.CHROMIUM_PATH;
  for (const name of ['chromium', 'chromium-browser', 'google-chrome']) {
    try {
      const path = execFileSync('sh', ['-c', `command -v ${name}`], { encoding: 'utf8' }).trim();
      if (path) return path;
    } catch {
      // not on PATH
    }
  }
  return null;
}

const executablePath = findChromium();
if (executablePath === null) {
  console.warn(
    'report.dashboard.browser.test.ts: SKIPPED, no Chromium found. Install it (sudo apt-get install -y chromium) ' +
      'or set CHROMIUM_PATH; .ci/run installs it when it runs as root.',
  );
}
const withBrowser = executablePath === null ? describe.skip : describe;

/** What a page did while it was open: console errors, uncaught errors, requests and failed requests. */
interface PageLog {
  errors: string[];
  requests: string[];
  failed: string[];
}

async function open(
  browser: Browser,
  file: string,
  colorScheme: 'light' | 'dark',
): Promise<{ page: Page; log: PageLog }> {
  const page = await browser.newPage({ viewport: { width: 1280, height: 1500 }, colorScheme });
  const log: PageLog = { errors: [], requests: [], failed: [] };
  page.on('console', (m) => {
    if (m.type() === 'error') log.errors.push(m.text());
  });
  page.on('pageerror', (e) => log.errors.push(String(e)));
  page.on('request', (r) => log.requests.push(r.url()));
  page.on('requestfailed', (r) => log.failed.push(`${r.url()}: ${r.failure()?.errorText ?? '?'}`));
  await page.goto(pathToFileURL(file).href, { waitUntil: 'load' });
  return { page, log };
}

/** Every `data-metric` of the page: name -> data-value (number, or null when empty) and the text shown. */
async function figures(page: Page): Promise<Map<string, { value: number | null; text: string }[]>> {
  const all = await page.$$eval('[data-metric]', (els) =>
    els.map((e) => ({
      name: e.getAttribute('data-metric') ?? '',
      value: e.getAttribute('data-value') ?? '',
      text: (e.textContent ?? '').trim(),
      repository: e.getAttribute('data-repository'),
    })),
  );
  const map = new Map<string, { value: number | null; text: string }[]>();
  for (const f of all) {
    const key = f.repository === null ? f.name : `${f.name}@${f.repository}`;
    const list = map.get(key) ?? [];
    list.push({ value: f.value === '' ? null : Number(f.value), text: f.text });
    map.set(key, list);
  }
  return map;
}

/** The one value of figure `name` (it must appear exactly once). */
function one(map: Map<string, { value: number | null; text: string }[]>, name: string): number | null {
  const list = map.get(name);
  expect([name, list?.length]).toEqual([name, 1]);
  return list![0]!.value;
}

/** Runs of the window by status, as SQL counts them (run_date within the last DAYS UTC days). */
async function runsByStatus(db: Db, repository: string | null): Promise<Record<string, number>> {
  const rows = await db.query<{ status: string; n: number }>(
    `SELECT status, count(*)::int AS n FROM self_evolution_runs
     WHERE ($1::text IS NULL OR repository = $1::text)
       AND run_date >= (now() AT TIME ZONE 'UTC')::date - ($2::int - 1)
       AND run_date <= (now() AT TIME ZONE 'UTC')::date
     GROUP BY status`,
    [repository, DAYS],
  );
  return Object.fromEntries(rows.map((r) => [r.status, Number(r.n)]));
}

withBrowser('the dashboard in headless Chromium', () => {
  let database: TestDatabase;
  let db: Db;
  let browser: Browser;
  let dir: string;

  beforeAll(async () => {
    database = await createTestDatabase('dashboard_browser');
    db = await openPostgres(database.url);
    await migrate(db);
    await seedDashboard(db, MAIN);
    await seedDailyRuns(db, OTHER, { from: 1, to: 30 });
    dir = await mkdtemp(join(tmpdir(), 'se-dashboard-'));
    browser = await chromium.launch({ executablePath: executablePath! });
  }, 120_000);

  afterAll(async () => {
    await browser?.close();
    await db?.close();
    await database?.drop();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it("shows one repository's figures as the SQL has them, with no error, no request and no script", async () => {
    const file = join(dir, 'one.html');
    await writeDashboard(db, { repository: MAIN, days: DAYS }, file);
    const { page, log } = await open(browser, file, 'light');
    try {
      expect(log.errors).toEqual([]);
      expect(log.failed).toEqual([]);
      expect(log.requests).toEqual([pathToFileURL(file).href]);
      // The screenshot of the page as it opens (the README's when SE_UPDATE_SCREENSHOT=1).
      const shot =
        process.env.SE_UPDATE_SCREENSHOT === '1'
          ? join(ROOT, 'docs', 'dashboard.png')
          : join(dir, 'dashboard.png');
      await page.screenshot({ path: shot });
      expect((await stat(shot)).size).toBeGreaterThan(20_000);

      const shown = await figures(page);
      const report = await readMetricsReport(db, { repository: MAIN });
      expect(report.repositories.map((r) => r.repository)).toEqual([MAIN]);
      for (const w of report.repositories[0]!.windows) {
        for (const [stage, key] of FUNNEL_STAGES) {
          expect([`funnel.${w.windowDays}.${stage}`, one(shown, `funnel.${w.windowDays}.${stage}`)]).toEqual([
            `funnel.${w.windowDays}.${stage}`,
            w[key],
          ]);
        }
        expect(one(shown, `acceptance.${w.windowDays}`)).toBeCloseTo(w.acceptanceRate!, 9);
        expect(one(shown, `regression.${w.windowDays}`)).toBeCloseTo(w.regressionRate!, 9);
        expect(one(shown, `verify-pass.${w.windowDays}`)).toBeCloseTo(w.verifyPassRate!, 9);
        expect(one(shown, `hours-to-merge.${w.windowDays}`)).toBeCloseTo(w.meanHoursToMerge!, 9);
        expect(one(shown, `merged.${w.windowDays}`)).toBe(w.merged);
        expect(one(shown, `reverted.${w.windowDays}`)).toBe(w.reverted);
        expect(one(shown, `closed-unmerged.${w.windowDays}`)).toBe(w.closedUnmerged);
        expect(one(shown, `runs-past-gates.${w.windowDays}`)).toBe(w.runs);
        expect(one(shown, `breaker-trips.${w.windowDays}`)).toBe(w.breakerTrips);
      }
      // The history is rich enough for the comparisons to mean something.
      const w90 = report.repositories[0]!.windows.find((w) => w.windowDays === (90 as MetricsWindow))!;
      expect(w90.merged).toBeGreaterThan(10);
      expect(w90.reverted).toBe(2);
      expect(await page.textContent('[data-metric="acceptance.90"]')).toBe(
        `${Math.round(w90.acceptanceRate! * 1000) / 10}%`,
      );

      const rules = await blockingRules(db, { repository: MAIN });
      const widest = rules.filter((r) => r.windowDays === 90);
      expect(widest.length).toBeGreaterThan(0);
      for (const r of widest)
        expect([r.ruleId, one(shown, `blocking.${r.ruleId}`)]).toEqual([r.ruleId, r.proposals]);

      const byStatus = await runsByStatus(db, MAIN);
      const total = Object.values(byStatus).reduce((a, b) => a + b, 0);
      expect(one(shown, 'runs.total')).toBe(total);
      for (const status of ['success', 'skipped', 'failed', 'cancelled']) {
        expect([status, one(shown, `runs.${status}`)]).toEqual([status, byStatus[status] ?? 0]);
      }
      expect(byStatus.cancelled).toBeGreaterThan(0);
      // Every run of the window is listed (fewer than the cap), and the calendar has a square per day.
      expect(await page.locator('details.run').count()).toBe(total);
      expect(await page.locator('svg.calendar rect').count()).toBe(DAYS);

      const [open] = await db.query<{ n: number }>(
        `SELECT count(*)::int AS n FROM self_evolution_actions WHERE repository = $1 AND status = 'submitted'`,
        [MAIN],
      );
      expect(one(shown, 'open-prs')).toBe(Number(open!.n));
      expect(Number(open!.n)).toBeGreaterThan(0);
      const [oldest] = await db.query<{ days: number }>(
        `SELECT (extract(epoch FROM now() - min(created_at)) / 86400)::float8 AS days
         FROM self_evolution_actions WHERE repository = $1 AND status = 'submitted'`,
        [MAIN],
      );
      expect(one(shown, 'open-prs.oldest-days')).toBeGreaterThanOrEqual(Number(oldest!.days) - 0.01);
      expect(one(shown, 'open-prs.oldest-days')).toBeLessThan(Number(oldest!.days) + 0.1);

      const [tripped] = await db.query<{ n: number }>(
        `SELECT count(*)::int AS n FROM self_evolution_breaker_trips WHERE repository = $1 AND reset_at IS NULL`,
        [MAIN],
      );
      expect(Number(tripped!.n)).toBe(1);
      expect(one(shown, `breaker.state@${MAIN}`)).toBe(1);
      expect(await page.textContent(`[data-metric="breaker.state"][data-repository="${MAIN}"]`)).toBe(
        'tripped',
      );
      expect(one(shown, 'breaker.tripped')).toBe(1);
      const [trips] = await db.query<{ n: number }>(
        `SELECT count(*)::int AS n FROM self_evolution_breaker_trips
         WHERE repository = $1 AND tripped_at >= now() - $2::int * interval '1 day'`,
        [MAIN, DAYS],
      );
      expect(one(shown, 'breaker.trips')).toBe(Number(trips!.n));

      // Hostile text is shown as text: nothing ran, nothing was added to the page, no link leads elsewhere.
      expect(await page.evaluate('window.__pwned')).toBeUndefined();
      expect(await page.locator('script, iframe, img, object, embed').count()).toBe(0);
      const evilRun = page.locator('details.run', { hasText: 'Fix typo' });
      await evilRun.locator('summary').click();
      await expect(evilRun.locator('.title').textContent()).resolves.toBe(EVIL_TITLE);
      await expect(evilRun.locator('q.reason').textContent()).resolves.toBe(EVIL_CLOSE);
      expect(await page.locator('#breaker').textContent()).toContain(EVIL_TRIP);
      expect(await page.locator('#calendar').textContent()).toContain(EVIL_SKIP.slice(0, 40));
      expect(await page.evaluate('window.__pwned')).toBeUndefined();
      const hrefs = await page.$$eval('a[href]', (as) => as.map((a) => a.getAttribute('href') ?? ''));
      expect(hrefs.length).toBeGreaterThan(10);
      for (const href of hrefs) {
        expect(href).toMatch(/^https:\/\/github\.com\/acme\/agent\/(pull\/\d+|actions\/runs\/\d+)$/);
      }
    } finally {
      await page.close();
    }
  });

  it('follows the reader into dark mode', async () => {
    const file = join(dir, 'dark.html');
    await writeDashboard(db, { repository: MAIN, days: DAYS }, file);
    const colours = async (scheme: 'light' | 'dark') => {
      const { page, log } = await open(browser, file, scheme);
      try {
        expect(log.errors).toEqual([]);
        // A string: the test's TypeScript has no DOM library.
        return (await page.evaluate(`(() => {
          const body = getComputedStyle(document.body);
          const success = document.querySelector('rect.c-success');
          return {
            background: body.backgroundColor,
            text: body.color,
            success: success ? getComputedStyle(success).fill : null,
          };
        })()`)) as { background: string; text: string; success: string | null };
      } finally {
        await page.close();
      }
    };
    const light = await colours('light');
    const dark = await colours('dark');
    expect(light.background).toBe('rgb(255, 255, 255)');
    expect(dark.background).toBe('rgb(13, 17, 23)');
    expect(dark.text).not.toBe(light.text);
    expect(light.success).not.toBeNull();
    expect(dark.success).not.toBe(light.success);
  });

  it('serves a whole database: the figures are the sums of the repositories', async () => {
    const file = join(dir, 'all.html');
    const data = await writeDashboard(db, { all: true, days: DAYS }, file);
    expect(data.repositories).toEqual([MAIN, OTHER]);
    const { page, log } = await open(browser, file, 'light');
    try {
      expect(log.errors).toEqual([]);
      expect(log.failed).toEqual([]);
      const shown = await figures(page);
      const report = await readMetricsReport(db, { all: true });
      expect(report.repositories.map((r) => r.repository)).toEqual([MAIN, OTHER]);
      for (const windowDays of report.windows) {
        const rows = report.repositories.map((r) => r.windows.find((w) => w.windowDays === windowDays)!);
        for (const [stage, key] of FUNNEL_STAGES) {
          const sum = rows.reduce((a, w) => a + w[key], 0);
          expect([`funnel.${windowDays}.${stage}`, one(shown, `funnel.${windowDays}.${stage}`)]).toEqual([
            `funnel.${windowDays}.${stage}`,
            sum,
          ]);
        }
        const merged = rows.reduce((a, w) => a + w.merged, 0);
        const published = rows.reduce((a, w) => a + w.published, 0);
        expect(one(shown, `acceptance.${windowDays}`)).toBeCloseTo(merged / published, 9);
        // Means do not add up across repositories: left out.
        expect(one(shown, `hours-to-merge.${windowDays}`)).toBeNull();
      }
      const byStatus = await runsByStatus(db, null);
      expect(one(shown, 'runs.total')).toBe(Object.values(byStatus).reduce((a, b) => a + b, 0));
      expect(await page.locator('svg.calendar').count()).toBe(2);
      expect(one(shown, `breaker.state@${MAIN}`)).toBe(1);
      expect(one(shown, `breaker.state@${OTHER}`)).toBe(0);
      expect(one(shown, 'breaker.tripped')).toBe(1);
      const [open] = await db.query<{ n: number }>(
        `SELECT count(*)::int AS n FROM self_evolution_actions WHERE status = 'submitted'`,
      );
      expect(one(shown, 'open-prs')).toBe(Number(open!.n));
      expect(await page.locator('#repositories tbody tr').count()).toBe(2);
    } finally {
      await page.close();
    }
  });
});
