/**
 * An interrupted run, in process, against a real Postgres and a real git repository (issue #9, part 8):
 * - cancelled through RunDeps.signal while its command proposer sleeps: reported and stored 'cancelled', no
 *   process of the proposer left, no scratch directory or worktree left, artifacts written; and the same day's
 *   next run is neither "already ran today" nor held back by a cooldown;
 * - its run lock lost (pg_terminate_backend of the lock's connection) while the proposer sleeps: the run stops
 *   (the proposer killed), is stored 'failed' with "lost the run lock", never 'success'; and a forced run that
 *   takes the lock meanwhile does not mark it stale while it is still alive.
 */
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from '@jest/globals';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runOnce, type RunDeps } from '../src/run.js';
import type { Db } from '../src/store/db.js';
import { openDatabase } from '../src/store/open.js';
import type { RunReport } from '../src/report/types.js';
import { openRunDatabase, resetRuns } from './helpers/run-db.js';
import type { TestDatabase } from './helpers/db.js';
import { makeTempRepo, type TempRepo } from './helpers/git-repo.js';
import {
  capturingLogger,
  fixedRandom,
  recordingSleep,
  steppingClock,
  testOptions,
} from './helpers/run-deps.js';
import {
  SLEEPER_FILES,
  alive,
  lockBackendPid,
  scratchDirsOf,
  sleeperPids,
  waitFor,
} from './helpers/cancel.js';

const DAY = new Date('2026-11-22T02:05:00Z');
const REPOSITORY = 'acme/agent';

let database: TestDatabase;
let admin: Db;
let repo: TempRepo;
let pidsDir: string;

beforeAll(async () => {
  ({ database, admin } = await openRunDatabase('run_cancel'));
  repo = await makeTempRepo(SLEEPER_FILES);
});

afterAll(async () => {
  await repo?.cleanup();
  await admin?.close();
  await database?.drop();
});

beforeEach(async () => {
  await resetRuns(admin);
  pidsDir = await mkdtemp(join(tmpdir(), 'se-cancel-pids-'));
});

afterEach(async () => {
  // Whatever a failing test left running.
  const pids = sleeperPids(pidsDir);
  for (const pid of pids ? [pids.main, pids.bg] : []) {
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      // gone
    }
  }
  await rm(pidsDir, { recursive: true, force: true });
});

type TestDeps = RunDeps & { logger: ReturnType<typeof capturingLogger> };

function deps(overrides: Partial<RunDeps> = {}): TestDeps {
  const clock = steppingClock(DAY);
  return {
    clock,
    random: fixedRandom(0.5),
    sleep: recordingSleep(),
    logger: capturingLogger(clock),
    openDb: openDatabase,
    ...overrides,
  } as TestDeps;
}

/** Runs once; `sleeping`: the proposer sleeps (SE_TEST_PIDS set) until the run stops it. */
function run(d: TestDeps, sleeping: boolean, force = false): Promise<RunReport> {
  const env = { ...process.env, SE_TEST_PIDS: sleeping ? pidsDir : undefined };
  return runOnce(testOptions(repo.dir, { databaseUrl: database.url, env, force }), d);
}

interface Row {
  status: string;
  error: string | null;
  summary: string | null;
  stale: boolean;
  finished_at: Date | null;
  heartbeat_at: Date | null;
}

async function row(id: number | null): Promise<Row> {
  const [r] = await admin.query<Row>(
    'SELECT status, error, summary, stale, finished_at, heartbeat_at FROM self_evolution_runs WHERE id = $1',
    [id],
  );
  if (!r) throw new Error(`no run #${id}`);
  return r;
}

/** The worktrees `git worktree list` shows for the repository (its own checkout included). */
async function worktrees(): Promise<string[]> {
  return (await repo.git('worktree', 'list', '--porcelain'))
    .split('\n')
    .filter((l) => l.startsWith('worktree '));
}

/**
 * RunDeps.openDb whose databases pass every query through `around(text, go)`; `go()` runs the statement.
 * Everything else is the real database's.
 */
function intercepting(
  around: (text: string, go: () => Promise<unknown[]>) => Promise<unknown[]>,
): RunDeps['openDb'] {
  return async (o) => {
    const db = await openDatabase(o);
    return Object.assign(Object.create(db) as Db, {
      query: <T>(text: string, params?: unknown[]) =>
        around(text, () => db.query(text, params)) as Promise<T[]>,
    });
  };
}

/** Waits until the proposer sleeps; returns its pids (both alive). */
async function sleeping(): Promise<{ main: number; bg: number }> {
  expect(await waitFor(() => sleeperPids(pidsDir) !== undefined, 30_000)).toBe(true);
  const pids = sleeperPids(pidsDir)!;
  expect([alive(pids.main), alive(pids.bg)]).toEqual([true, true]);
  return pids;
}

describe('a run cancelled by a signal (RunDeps.signal) while its proposer runs', () => {
  it('is cancelled, leaves no process, directory or worktree, writes its artifacts, and the day may run again', async () => {
    const before = scratchDirsOf(process.pid, tmpdir());
    const worktreesBefore = await worktrees();
    const controller = new AbortController();
    const d = deps({ signal: controller.signal });
    const running = run(d, true);
    const pids = await sleeping();
    // The run is recorded and alive meanwhile.
    const [live] = await admin.query<{ id: number; status: string }>(
      'SELECT id, status FROM self_evolution_runs',
    );
    expect(live?.status).toBe('running');
    expect(scratchDirsOf(process.pid, tmpdir()).length).toBeGreaterThan(before.length);

    controller.abort({ kind: 'signal', signal: 'SIGINT' });
    const report = await running;

    expect(report.status).toBe('cancelled');
    expect(report.error).toBeNull();
    expect(report.summary).toBe(
      'cancelled by SIGINT during the propose stage: its commands were stopped and its scratch directories removed',
    );
    expect(report.runId).toBe(live!.id);
    const stored = await row(report.runId);
    expect(stored).toMatchObject({ status: 'cancelled', error: null, stale: false, summary: report.summary });
    expect(stored.finished_at).toBeInstanceOf(Date);
    // No process of the proposer, no scratch directory, no worktree is left.
    expect([alive(pids.main), alive(pids.bg)]).toEqual([false, false]);
    expect(scratchDirsOf(process.pid, tmpdir())).toEqual(before);
    expect(await worktrees()).toEqual(worktreesBefore);
    // The artifacts it has: run.json says cancelled; the command it stopped is in commands.jsonl.
    const runJson = JSON.parse(await readFile(join(report.artifactsDir!, 'run.json'), 'utf8')) as RunReport;
    expect(runJson.status).toBe('cancelled');
    const commands = (await readFile(join(report.artifactsDir!, 'commands.jsonl'), 'utf8'))
      .split('\n')
      .filter((l) => l !== '')
      .map((l) => JSON.parse(l) as { name: string; exitCode: number | null });
    expect(commands).toEqual([expect.objectContaining({ name: 'sleeper', exitCode: null })]);
    expect(d.logger.messages).toContain(`warn: run #${live!.id} ${report.summary}`);

    // The same day, the next scheduled run is not "already ran today", and no cooldown counts from it.
    const next = await run(deps(), false);
    expect(next.gates.beforeJitter.map((g) => [g.gate, g.outcome])).toEqual([
      ['config-enabled', 'pass'],
      ['feature-flag', 'pass'],
      ['circuit-breaker', 'pass'],
      ['already-ran-today', 'pass'],
      ['cooldown', 'pass'],
      ['activity', 'not-checked'],
    ]);
    expect(next.status).toBe('success');
    expect(next.proposals.map((p) => p.verdict)).toEqual(['allowed']);
  }, 60_000);

  it('a signal that arrived before the run: cancelled before anything is recorded', async () => {
    const controller = new AbortController();
    controller.abort({ kind: 'signal', signal: 'SIGTERM' });
    const report = await run(deps({ signal: controller.signal }), true);
    expect(report.status).toBe('cancelled');
    expect(report.runId).toBeNull();
    expect(report.summary).toBe('cancelled by SIGTERM during the migrate stage, before the run was recorded');
    expect(await admin.query('SELECT id FROM self_evolution_runs')).toEqual([]);
    expect(sleeperPids(pidsDir)).toBeUndefined();
  });
});

describe('a run that loses its run lock while its proposer runs', () => {
  it('stops, is stored failed ("lost the run lock"), never success; a forced run meanwhile does not mark it stale', async () => {
    // The first run's closing write waits until a forced second run has looked for stale runs (its markStaleRuns
    // statement has returned), so the second meets the first alive. It waits no longer than that: the first's
    // record must be written within its cleanup budget (CLEANUP_BUDGET_MS from the interruption), however slow
    // the rest of the second run is on a loaded machine.
    let closing!: () => void;
    const closingReached = new Promise<void>((r) => (closing = r));
    let letClose!: () => void;
    const closeAllowed = new Promise<void>((r) => (letClose = r));
    const first = deps({
      openDb: intercepting(async (text, go) => {
        if (/SET status = \$2, summary = \$3/.test(text)) {
          closing();
          await closeAllowed;
        }
        return go();
      }),
    });
    const running = run(first, true);
    const pids = await sleeping();
    const backend = await lockBackendPid(admin, REPOSITORY);
    expect(backend).toEqual(expect.any(Number));

    await admin.query('SELECT pg_terminate_backend($1)', [backend]);
    // The run noticed at once: its proposer is killed, and it goes to close its record.
    await closingReached;
    expect([alive(pids.main), alive(pids.bg)]).toEqual([false, false]);
    const [firstRow] = await admin.query<{ id: number }>('SELECT id FROM self_evolution_runs');
    expect(await row(firstRow!.id)).toMatchObject({ status: 'running', stale: false });

    // A forced run takes the free lock while the first still works: its heartbeat is fresh, so it is left alone.
    let seenBySecond: Row | undefined;
    const second = deps({
      openDb: intercepting(async (text, go) => {
        const rows = await go();
        if (/stale = true/.test(text)) {
          seenBySecond = await row(firstRow!.id);
          letClose();
        }
        return rows;
      }),
    });
    const forced = run(second, false, true);
    const report = await running;
    expect(seenBySecond).toMatchObject({ status: 'running', stale: false, finished_at: null });
    expect((await forced).status).toBe('success');
    expect(second.logger.messages.filter((m) => /stale/.test(m))).toEqual([]);

    expect(report.status).toBe('failed');
    expect(report.error).toMatch(/^lost the run lock: its connection (failed|ended)/);
    expect(report.summary).toBe(`failed: ${report.error}`);
    const stored = await row(firstRow!.id);
    expect(stored).toMatchObject({ status: 'failed', stale: false, error: report.error });
    expect(first.logger.messages).toContain(`error: run #${firstRow!.id} stops: ${report.error}`);
    expect(first.logger.messages.filter((m) => /could not record/.test(m))).toEqual([]);
  }, 60_000);
});
