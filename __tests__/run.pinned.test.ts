/**
 * What src/run.ts must keep doing while its stages move to their rooms (issue #9, "First, make room"),
 * pinned against a real Postgres and real temporary git repositories, in process:
 * - a run that fails after its record exists is stored 'failed' with its error, and that failure holds the
 *   next day's run back through the cooldown gate;
 * - a skipped run is stored with the gate results that stopped it (before the jitter and under the lock);
 * - runs left 'running' are marked stale only under the run lock (never while another session holds it) and only
 *   when their heartbeat is older than STALE_AFTER_MS; a stale run starts no cooldown.
 * Each test was seen failing with a one-line bug planted in src/run.ts (see the commit message).
 */
import { afterAll, beforeAll, beforeEach, describe, expect, it } from '@jest/globals';
import { runOnce, type RunDeps } from '../src/run.js';
import { openDatabase } from '../src/store/open.js';
import type { Db } from '../src/store/db.js';
import { setFlag } from '../src/store/flags.js';
import { tryAcquireRunLock } from '../src/store/lock.js';
import { STALE_SUMMARY, finishRun, startRun } from '../src/store/runs.js';
import type { GateResult } from '../src/gates/types.js';
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

/** 02:05 UTC, the scheduled time of a day's run. */
const DAY = new Date('2026-11-22T02:05:00Z');
/** The next UTC day, 22 h later: within the 24 h cooldown (rollbackConfig.cooldownHours default) of DAY. */
const NEXT_DAY = new Date(DAY.getTime() + 22 * 3600_000);
const HOUR_MS = 3600_000;
const REPOSITORY = 'acme/agent';
const LOCK_HELD = 'lock held: another self-evolution run for this repository is in progress';

const CONFIG = {
  enabled: true,
  safetyRails: {
    allowedPaths: ['docs/**/*.md'],
    blockedPaths: ['.github/workflows/**', '.env*'],
    maxRiskLevel: 2,
  },
  proposers: [
    {
      kind: 'command',
      name: 'typo-fixer',
      command: "sed -i 's/teh/the/g' docs/guide.md",
      title: 'Fix typos',
      type: 'cleanup',
      riskLevel: 0,
    },
  ],
};

const FILES = {
  '.github/self-evolution-config.json': JSON.stringify(CONFIG, null, 2),
  'docs/guide.md': '# Guide\n\nteh weather, teh forecast\n',
};

/** Every gate passing (activity not checked: no token), as runGates reports them on `runDate`. */
function openGates(runDate: string): Array<Pick<GateResult, 'gate' | 'outcome' | 'reason'>> {
  return [
    { gate: 'config-enabled', outcome: 'pass', reason: 'config: enabled is true' },
    { gate: 'feature-flag', outcome: 'pass', reason: 'feature flag self_evolution_enabled is on' },
    {
      gate: 'circuit-breaker',
      outcome: 'pass',
      // Nothing counts: the runs' pinned days are before the flag was turned on (the database's now()).
      reason:
        'not tripped: no self-change reverted in the last 7 days; 0 of 2 pull requests in a row closed unmerged; ' +
        '0 of 3 failed runs in a row; stop label not checked: no GitHub token',
    },
    { gate: 'already-ran-today', outcome: 'pass', reason: `no run yet on ${runDate} (UTC)` },
    { gate: 'cooldown', outcome: 'pass', reason: 'no failed run' },
    { gate: 'activity', outcome: 'not-checked', reason: 'not checked: no GitHub token' },
  ];
}

/** The gate results without their details, for exact comparison. */
function withoutDetails(
  gates: readonly GateResult[],
): Array<Pick<GateResult, 'gate' | 'outcome' | 'reason'>> {
  return gates.map(({ gate, outcome, reason }) => ({ gate, outcome, reason }));
}

/** The cooldown gate's result for failed run `runId` that ended at `endedAt` (cooldown 24 h). */
function cooldownSkip(runId: number, endedAt: Date): GateResult {
  const until = new Date(endedAt.getTime() + 24 * HOUR_MS).toISOString();
  return {
    gate: 'cooldown',
    outcome: 'skip',
    reason: `previous run #${runId} failed at ${endedAt.toISOString()}; cooldown of 24h until ${until}`,
    details: { runId, endedAt: endedAt.toISOString(), cooldownHours: 24, until },
  };
}

interface StoredRun {
  id: number;
  status: string;
  summary: string | null;
  error: string | null;
  skip_reason: string | null;
  gates: unknown;
  finished_at: Date | null;
  forced: boolean;
  stale: boolean;
  heartbeat_at: Date | null;
}

async function storedRun(id: number | null): Promise<StoredRun> {
  if (id === null) throw new Error('the run has no id');
  const [row] = await admin.query<StoredRun>(
    'SELECT id, status, summary, error, skip_reason, gates, finished_at, forced, stale, heartbeat_at FROM self_evolution_runs WHERE id = $1',
    [id],
  );
  if (!row) throw new Error(`no run #${id} stored`);
  return row;
}

let database: TestDatabase;
let admin: Db;
let repo: TempRepo;

beforeAll(async () => {
  ({ database, admin } = await openRunDatabase('run_pinned'));
  repo = await makeTempRepo(FILES);
});

afterAll(async () => {
  await repo?.cleanup();
  await admin?.close();
  await database?.drop();
});

beforeEach(async () => {
  await resetRuns(admin);
});

type TestDeps = RunDeps & { logger: ReturnType<typeof capturingLogger> };

function deps(at: Date = DAY, overrides: Partial<RunDeps> = {}): TestDeps {
  const clock = steppingClock(at);
  return {
    clock,
    random: fixedRandom(0.5),
    sleep: recordingSleep(),
    logger: capturingLogger(clock),
    openDb: openDatabase,
    ...overrides,
  } as TestDeps;
}

function run(d: TestDeps, overrides: Parameters<typeof testOptions>[1] = {}): Promise<RunReport> {
  return runOnce(testOptions(repo.dir, { databaseUrl: database.url, ...overrides }), d);
}

/** openDatabase whose pooled queries matching `sql` reject with `error` (a database failing mid-run). */
function openDbFailingOn(sql: RegExp, error: Error): RunDeps['openDb'] {
  return async (o) => {
    const db = await openDatabase(o);
    const failing: Db = {
      kind: db.kind,
      description: db.description,
      query: <T>(text: string, params?: unknown[]) =>
        sql.test(text) ? Promise.reject(error) : db.query<T>(text, params),
      exec: (text) => db.exec(text),
      session: () => db.session(),
      close: () => db.close(),
    };
    return failing;
  };
}

describe('a run that fails after its record was created', () => {
  /**
   * Both failures happen after startRun (the row is 'running'): closeRun must record 'failed' with the error,
   * since that status is what the cooldown gate reads.
   */
  const SANDBOX_DOWN =
    "cannot run the repository's commands in a sandbox (test: no mechanism works on this machine)";
  const DISK_FULL = Object.assign(
    new Error('could not extend file "base/16384/2619": No space left on device'),
    {
      code: '53100',
    },
  );
  const cases: Array<{ name: string; overrides: Partial<RunDeps>; error: string }> = [
    {
      name: 'a stage throws (no sandbox for the command proposer)',
      overrides: { chooseSandbox: async () => ({ mode: 'unavailable', message: SANDBOX_DOWN }) },
      error: SANDBOX_DOWN,
    },
    {
      name: 'the database fails while the proposals are recorded',
      overrides: { openDb: openDbFailingOn(/INSERT INTO self_evolution_proposals/, DISK_FULL) },
      error: DISK_FULL.message,
    },
  ];

  it.each(cases)(
    '$name: stored failed with its error, and the next day is skipped by the cooldown for that run',
    async ({ overrides, error }) => {
      const failed = await run(deps(DAY, { chooseSandbox: async () => ({ mode: 'none' }), ...overrides }));
      expect(failed.status).toBe('failed');
      expect(failed.error).toBe(error);
      expect(failed.summary).toBe(`failed: ${error}`);
      const row = await storedRun(failed.runId);
      expect(row).toMatchObject({ status: 'failed', error, summary: `failed: ${error}` });
      expect(row.finished_at).toBeInstanceOf(Date);
      // Exactly one row: the failure was recorded on the run's own record, not as another one.
      expect(await admin.query('SELECT id FROM self_evolution_runs')).toHaveLength(1);

      const next = await run(deps(NEXT_DAY));
      const expected = cooldownSkip(row.id, row.finished_at!);
      expect(next.status).toBe('skipped');
      expect(next.skipReason).toBe(expected.reason);
      expect(withoutDetails(next.gates.beforeJitter)).toEqual([
        ...openGates('2026-11-23').slice(0, 4),
        { gate: 'cooldown', outcome: 'skip', reason: expected.reason },
        openGates('2026-11-23')[5],
      ]);
      expect(next.gates.beforeJitter[4]).toEqual(expected);
      expect(next.gates.underLock).toEqual([]);
      expect(next.proposals).toEqual([]);
    },
  );
});

describe('a skipped run is stored with the gate results that stopped it', () => {
  it('stopped before the jitter (feature flag off): every gate of that pass, the blocking one included', async () => {
    await setFlag(admin, 'self_evolution_enabled', false, { by: 'test' });
    const report = await run(deps());
    expect(report.status).toBe('skipped');
    expect(report.skipReason).toBe('feature flag self_evolution_enabled is off');
    const row = await storedRun(report.runId);
    expect(row).toMatchObject({
      status: 'skipped',
      skip_reason: 'feature flag self_evolution_enabled is off',
    });
    const gates = row.gates as RunReport['gates'];
    expect(gates).toEqual(report.gates);
    expect(gates.underLock).toEqual([]);
    expect(withoutDetails(gates.beforeJitter)).toEqual([
      openGates('2026-11-22')[0],
      { gate: 'feature-flag', outcome: 'skip', reason: 'feature flag self_evolution_enabled is off' },
      ...openGates('2026-11-22').slice(2),
    ]);
  });

  it('stopped under the lock (a run failed during the jitter): both passes, the cooldown skip in the second', async () => {
    let failedRunId = 0;
    let failedAt = DAY;
    const sleptMs: number[] = [];
    const sleep = async (ms: number): Promise<void> => {
      sleptMs.push(ms);
      // While this run sleeps, a forced run starts and fails (forced: it does not count as today's run).
      failedAt = new Date(DAY.getTime() + 1000);
      const started = await startRun(admin, {
        repository: REPOSITORY,
        runDate: '2026-11-22',
        trigger: 'workflow_dispatch',
        dryRun: true,
        forced: true,
        gates: [],
        startedAt: DAY,
        config: {},
        overrides: {},
      });
      if (!started.ok) throw new Error('could not seed a run');
      failedRunId = started.run.id;
      await finishRun(admin, failedRunId, {
        status: 'failed',
        summary: 'boom',
        metrics: {},
        finishedAt: failedAt,
      });
    };
    const report = await run(deps(DAY, { sleep, random: fixedRandom(0.25) }), { jitter: { enabled: true } });
    expect(sleptMs).toEqual([300_000]);
    expect(report.status).toBe('skipped');
    const expected = cooldownSkip(failedRunId, failedAt);
    expect(report.skipReason).toBe(expected.reason);
    const row = await storedRun(report.runId);
    expect(row).toMatchObject({ status: 'skipped', skip_reason: expected.reason });
    const gates = row.gates as RunReport['gates'];
    expect(gates).toEqual(report.gates);
    expect(withoutDetails(gates.beforeJitter)).toEqual(openGates('2026-11-22'));
    expect(gates.underLock).toHaveLength(6);
    expect(gates.underLock[4]).toEqual(expected);
    expect(withoutDetails(gates.underLock)).toEqual([
      ...openGates('2026-11-22').slice(0, 4),
      { gate: 'cooldown', outcome: 'skip', reason: expected.reason },
      openGates('2026-11-22')[5],
    ]);
  });

  it('stopped at the lock: the gates that passed before the jitter are stored with the "lock held" reason', async () => {
    const other = await openDatabase({ databaseUrl: database.url, embeddedDir: '' });
    const lock = await tryAcquireRunLock(other, REPOSITORY);
    try {
      expect(lock).not.toBeNull();
      const report = await run(deps());
      expect(report.status).toBe('skipped');
      expect(report.skipReason).toBe(LOCK_HELD);
      const row = await storedRun(report.runId);
      expect(row).toMatchObject({ status: 'skipped', skip_reason: LOCK_HELD });
      const gates = row.gates as RunReport['gates'];
      expect(gates).toEqual(report.gates);
      expect(withoutDetails(gates.beforeJitter)).toEqual(openGates('2026-11-22'));
      expect(gates.underLock).toEqual([]);
    } finally {
      await lock?.release();
      await other.close();
    }
  });
});

describe('runs left running are marked stale only under the run lock, and only when their heartbeat stopped', () => {
  it('a live run (its session holds the lock) stays running; once its lock is gone and its heartbeat old, it is marked failed (stale)', async () => {
    // Another run, in its own database session: it holds the run lock and has its record, 'running'.
    // Forced, so that the already-ran-today gate lets the new run reach the lock.
    const other = await openDatabase({ databaseUrl: database.url, embeddedDir: '' });
    const lock = await tryAcquireRunLock(other, REPOSITORY);
    let liveId: number;
    try {
      expect(lock).not.toBeNull();
      const started = await startRun(lock!.session, {
        repository: REPOSITORY,
        runDate: '2026-11-22',
        trigger: 'workflow_dispatch',
        dryRun: true,
        forced: true,
        gates: [],
        startedAt: new Date(DAY.getTime() - 60_000),
        config: {},
        overrides: {},
      });
      if (!started.ok) throw new Error('could not seed a run');
      liveId = started.run.id;

      const d = deps();
      const report = await run(d);
      expect(report.status).toBe('skipped');
      expect(report.skipReason).toBe(LOCK_HELD);
      expect(withoutDetails(report.gates.beforeJitter)).toEqual(openGates('2026-11-22'));
      // The live run was not touched.
      const live = await storedRun(liveId);
      expect(live).toMatchObject({ status: 'running', summary: null, error: null, finished_at: null });
      expect(d.logger.messages.filter((m) => /stale/.test(m))).toEqual([]);
      // It is still alive: it can record its own result later.
      expect(await lock!.isHeld()).toBe(true);
    } finally {
      await lock?.release();
      await other.close();
    }

    // Its session is gone, but its heartbeat is fresh (two minutes old): it may still be alive (a lost lock), so
    // the next run, taking the lock, leaves it alone.
    const soon = deps(new Date(DAY.getTime() + 60_000));
    const ran = await run(soon);
    expect(ran.status).toBe('success');
    expect(await storedRun(liveId)).toMatchObject({ status: 'running', finished_at: null, stale: false });
    expect(soon.logger.messages.filter((m) => /stale/.test(m))).toEqual([]);

    // The next day its heartbeat is 22 h old: its process died. The next run marks it failed (stale), finished at
    // its last heartbeat, and that failure starts no cooldown: the run goes on.
    const d = deps(NEXT_DAY);
    const report = await run(d);
    const stale = await storedRun(liveId);
    expect(stale).toMatchObject({ status: 'failed', summary: STALE_SUMMARY, stale: true });
    expect(stale.finished_at).toEqual(new Date(DAY.getTime() - 60_000));
    expect(stale.finished_at).toEqual(stale.heartbeat_at);
    expect(d.logger.messages).toContain(`warn: marked stale run(s) #${liveId} as failed`);
    expect(report.status).toBe('success');
    expect(withoutDetails(report.gates.underLock)).toEqual(openGates('2026-11-23'));
  });
});
