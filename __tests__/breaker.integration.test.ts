/**
 * The circuit breaker end to end (issue #10 part 4), against a real Postgres and the OpenAPI-validated GitHub
 * fake: each cause trips it and the run is skipped with that cause; the feature flag is then off with the
 * breaker's metadata; one issue is opened, and a later trip updates it; the stop label counts only when someone
 * with write access applied it; GitHub answering 500 trips it (unreadable); a human reset (flag set, or closing
 * the stop issue) lets the next run go ahead without the old evidence tripping it again; force does not bypass
 * it; the pass before jitter only reads, and the trip is carried out once, under the lock.
 *
 * The checks go through checkGates (gates/stage.ts) as run.ts calls it, and through runOnce for a whole
 * skipped run and the run after a reset. Timestamps are relative to the real clock: the flag's updated_at and
 * a trip's tripped_at are the database's now().
 */
import { mkdtemp, realpath, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from '@jest/globals';
import { ConfigSchema } from '../src/config/schema.js';
import type { GateResult } from '../src/gates/types.js';
import { checkGates, type GatePass } from '../src/gates/stage.js';
import { createBreakerGitHub, type BreakerGitHub } from '../src/github/breaker.js';
import { createGitHubClient } from '../src/github/client.js';
import { runOnce } from '../src/run.js';
import { listTrips } from '../src/store/breaker.js';
import type { Db } from '../src/store/db.js';
import { getFlagRecord, setFlag } from '../src/store/flags.js';
import { openDatabase } from '../src/store/open.js';
import { finishRun, startRun } from '../src/store/runs.js';
import type { TestDatabase } from './helpers/db.js';
import { makeTempRepo, type TempRepo } from './helpers/git-repo.js';
import { createGitHubFake, type GitHubFake } from './helpers/github-fake.js';
import { openRunDatabase } from './helpers/run-db.js';
import {
  capturingLogger,
  fixedRandom,
  recordingSleep,
  steppingClock,
  testOptions,
} from './helpers/run-deps.js';

const REPOSITORY = 'acme/agent';
const FLAG = 'self_evolution_enabled';
const TOKEN = 'ghs_' + 'BreakerTestToken00'.repeat(2);
const DAY = 86_400_000;
const CONFIG = {
  enabled: true,
  safetyRails: { allowedPaths: ['docs/**/*.md'], maxRiskLevel: 2 },
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

let database: TestDatabase;
let admin: Db;
let repo: TempRepo;
let bare: string;
let fake: GitHubFake;
let github: BreakerGitHub;
const logs: string[] = [];

const daysAgo = (d: number): Date => new Date(Date.now() - d * DAY);

beforeAll(async () => {
  ({ database, admin } = await openRunDatabase('breaker'));
  repo = await makeTempRepo({
    '.github/self-evolution-config.json': JSON.stringify(CONFIG, null, 2),
    'docs/guide.md': '# Guide\n\nteh weather\n',
  });
  bare = await realpath(await mkdtemp(join(tmpdir(), 'se-breaker-origin-')));
  await repo.git('init', '--quiet', '--bare', bare);
  await repo.git('push', '--quiet', bare, 'HEAD:refs/heads/main');
  fake = await createGitHubFake({
    repositories: [{ owner: 'acme', repo: 'agent', bareDir: bare, defaultBranch: 'main' }],
    collaborators: { alice: 'write', maria: 'maintain', bob: 'read', tina: 'triage' },
  });
  const client = createGitHubClient({
    token: TOKEN,
    baseUrl: fake.url,
    logger: {
      debug: () => undefined,
      info: () => undefined,
      warn: (m) => logs.push(m),
      error: (m) => logs.push(m),
    },
    retryAfterBaseMs: 1,
    retries: 0,
    writeSpacingMs: 0,
  });
  github = createBreakerGitHub(client);
});

afterAll(async () => {
  await fake?.close();
  await repo?.cleanup();
  if (bare) await rm(bare, { recursive: true, force: true });
  await admin?.close();
  await database?.drop();
});

beforeEach(async () => {
  await admin.query(
    'TRUNCATE self_evolution_runs, self_evolution_breaker_trips, feature_flags RESTART IDENTITY CASCADE',
  );
  // The loop was turned on a month ago: the evidence of the last days counts.
  await setFlag(admin, FLAG, true, { by: 'test' });
  await admin.query(`UPDATE feature_flags SET updated_at = now() - interval '30 days'`);
  for (const list of [fake.issues, fake.pulls, fake.comments, fake.issueEvents, fake.labels, fake.requests]) {
    list.splice(0);
  }
  logs.splice(0);
});

/** One gate pass, as run.ts makes it. */
async function gates(
  pass: GatePass,
  opts: { force?: boolean; github?: BreakerGitHub | null; now?: Date; enabled?: boolean } = {},
): Promise<GateResult[]> {
  const now = opts.now ?? new Date();
  const gh = opts.github === null ? undefined : (opts.github ?? github);
  return checkGates(admin, {
    config: ConfigSchema.parse({
      enabled: opts.enabled ?? true,
      scheduleConfig: { skipDuringDeployments: false },
    }),
    repository: REPOSITORY,
    runDate: now.toISOString().slice(0, 10),
    now,
    force: opts.force ?? false,
    pass,
    ...(gh ? { breaker: gh } : {}),
    logger: {
      debug: () => undefined,
      info: (m) => logs.push(m),
      warn: (m) => logs.push(m),
      error: (m) => logs.push(m),
    },
    secrets: [],
  });
}

const breakerOf = (results: GateResult[]): GateResult => results.find((g) => g.gate === 'circuit-breaker')!;
const tripOf = (results: GateResult[]) =>
  breakerOf(results).details?.trip as { status: string; tripId?: number; issue?: { number: number } | null };

/** A finished run of the repository, started at `startedAt` (forced: several per day are fine). */
async function finishedRun(status: 'success' | 'failed', startedAt: Date): Promise<number> {
  const started = await startRun(admin, {
    repository: REPOSITORY,
    runDate: startedAt.toISOString().slice(0, 10),
    trigger: 'schedule',
    dryRun: false,
    forced: true,
    gates: [],
    startedAt,
    config: {},
    overrides: {},
  });
  if (!started.ok) throw new Error('run not started');
  await finishRun(admin, started.run.id, {
    status,
    summary: status,
    metrics: {},
    finishedAt: new Date(startedAt.getTime() + 60_000),
    ...(status === 'failed' ? { error: 'boom' } : {}),
  });
  return started.run.id;
}

let patches = 0;
/** A self-change pull request that ended: merged or closed without merging at `endedAt`. Returns the action id. */
async function selfChange(
  outcome: 'merged' | 'closed' | 'rolled_back',
  endedAt: Date,
  prNumber: number,
): Promise<number> {
  const runId = await finishedRun('success', new Date(endedAt.getTime() - 3600_000));
  const [proposal] = await admin.query<{ id: number }>(
    `INSERT INTO self_evolution_proposals (run_id, proposer, type, title, risk_level, status, verdict, allowlisted)
     VALUES ($1, 'p', 'cleanup', 'Fix typos', 0, 'evaluated', 'allowed', true) RETURNING id`,
    [runId],
  );
  const [action] = await admin.query<{ id: number }>(
    `INSERT INTO self_evolution_actions
       (proposal_id, run_id, repository, action_type, status, pr_number, patch_sha256, merged_at, closed_at, closed_by,
        updated_at)
     VALUES ($1, $2, $3, 'pr', $4, $5, $6, $7, $8, $9, $10) RETURNING id`,
    [
      proposal!.id,
      runId,
      REPOSITORY,
      outcome,
      prNumber,
      `sha-${++patches}`,
      outcome === 'closed' ? null : endedAt,
      outcome === 'closed' ? endedAt : null,
      outcome === 'closed' ? 'alice' : null,
      endedAt,
    ],
  );
  return action!.id;
}

/** The breaker's issues on the fake. */
const breakerIssues = () => fake.issues.filter((i) => i.labels.includes('self-evolution:breaker'));

describe('each cause trips the breaker and the run is skipped with it', () => {
  it('failures: three failed runs in a row; the flag is off with metadata; one issue opened', async () => {
    const ids = [await finishedRun('failed', daysAgo(4)), await finishedRun('failed', daysAgo(3))];
    ids.push(await finishedRun('failed', daysAgo(2)));

    const before = await gates('before-jitter');
    expect(breakerOf(before)).toMatchObject({
      outcome: 'skip',
      details: { cause: 'failures', trip: { status: 'pending' } },
    });
    // Before jitter nothing is written.
    expect(await listTrips(admin, REPOSITORY)).toEqual([]);
    expect((await getFlagRecord(admin, FLAG))?.value).toBe(true);
    expect(breakerIssues()).toEqual([]);

    const under = await gates('under-lock');
    const result = breakerOf(under);
    expect(result.reason).toBe(
      `circuit breaker tripped (failures): 3 failed runs in a row: #${ids[2]}, #${ids[1]}, #${ids[0]}`,
    );
    const trips = await listTrips(admin, REPOSITORY);
    expect(trips).toHaveLength(1);
    expect(trips[0]).toMatchObject({ cause: 'failures', reason: result.reason, resetAt: null });
    const flag = await getFlagRecord(admin, FLAG);
    expect(flag).toMatchObject({
      value: false,
      metadata: {
        trippedBy: 'circuit-breaker',
        cause: 'failures',
        reason: result.reason,
        tripId: trips[0]!.id,
      },
    });
    expect(Date.parse(String(flag!.metadata.at))).not.toBeNaN();
    expect(breakerIssues()).toHaveLength(1);
    const issue = breakerIssues()[0]!;
    expect(issue.title).toBe('Self-Evolution stopped itself');
    expect(issue.body).toContain('`failures`');
    expect(issue.body).toContain('npx self-evolution flag set self_evolution_enabled true');
    expect(tripOf(under)).toMatchObject({
      status: 'recorded',
      tripId: trips[0]!.id,
      issue: { number: issue.number },
    });

    // The next pass: the loop is off; nothing new is recorded or written.
    const again = await gates('under-lock');
    expect(again.find((g) => g.gate === 'feature-flag')!.outcome).toBe('skip');
    expect(tripOf(again)).toEqual({ status: 'loop-off', why: 'feature flag self_evolution_enabled is off' });
    expect(await listTrips(admin, REPOSITORY)).toHaveLength(1);
    expect(breakerIssues()).toHaveLength(1);
    fake.assertNoViolations();
  });

  it('rejected: the last two self-change pull requests closed without merging', async () => {
    await selfChange('merged', daysAgo(5), 10);
    await selfChange('closed', daysAgo(3), 11);
    await selfChange('closed', daysAgo(1), 12);
    const under = await gates('under-lock');
    expect(breakerOf(under)).toMatchObject({
      outcome: 'skip',
      reason:
        'circuit breaker tripped (rejected): 2 self-change pull requests in a row closed without merging: #12, #11',
    });
    expect((await listTrips(admin, REPOSITORY)).map((t) => t.cause)).toEqual(['rejected']);
    expect(await getFlagRecord(admin, FLAG)).toMatchObject({ value: false, metadata: { cause: 'rejected' } });
    expect(breakerIssues()[0]!.body).toContain('- closed without merging: pull request #12 by `alice`');
  });

  it('pull requests the loop closed itself (expired, rebuilt) are no rejection', async () => {
    await selfChange('closed', daysAgo(3), 11);
    const own = await selfChange('closed', daysAgo(1), 12);
    await admin.query("UPDATE self_evolution_actions SET closed_by = 'self-evolution' WHERE id = $1", [own]);
    expect(breakerOf(await gates('under-lock')).outcome).toBe('pass');
    // a person's second rejection does trip it, the loop's own close skipped in the streak
    await selfChange('closed', daysAgo(0), 13);
    expect(breakerOf(await gates('under-lock'))).toMatchObject({ outcome: 'skip' });
  });

  it('a merge between two rejections does not trip it', async () => {
    await selfChange('closed', daysAgo(3), 11);
    await selfChange('merged', daysAgo(2), 12);
    await selfChange('closed', daysAgo(1), 13);
    expect(breakerOf(await gates('under-lock')).outcome).toBe('pass');
    expect(await listTrips(admin, REPOSITORY)).toEqual([]);
  });

  it('reverted: a self-change whose revert pull request was merged this week', async () => {
    const actionId = await selfChange('rolled_back', daysAgo(3), 20);
    await admin.query(
      `INSERT INTO self_evolution_rollbacks (action_id, repository, reason, mode, status, revert_pr_number, updated_at)
       VALUES ($1, $2, 'checks failed on main', 'pr', 'merged', 21, now() - interval '1 day')`,
      [actionId, REPOSITORY],
    );
    const under = await gates('under-lock');
    expect(breakerOf(under)).toMatchObject({ outcome: 'skip', details: { cause: 'reverted' } });
    expect(breakerOf(under).reason).toMatch(
      /^circuit breaker tripped \(reverted\): 1 self-change reverted within 7 days: #20 at /,
    );
    expect(breakerIssues()[0]!.body).toContain('- reverted: pull request #20 by revert pull request #21');
  });

  it('reverted: an automatic revert pull request opened (not merged yet) trips it; a manual one only once merged', async () => {
    const manual = await selfChange('merged', daysAgo(2), 40);
    await admin.query(
      `INSERT INTO self_evolution_rollbacks (action_id, repository, reason, trigger, mode, status, revert_pr_number)
       VALUES ($1, $2, 'asked for', 'manual', 'pr', 'submitted', 41)`,
      [manual, REPOSITORY],
    );
    expect(breakerOf(await gates('under-lock')).outcome).toBe('pass');
    const auto = await selfChange('merged', daysAgo(1), 42);
    await admin.query(
      `INSERT INTO self_evolution_rollbacks (action_id, repository, reason, trigger, mode, status, revert_pr_number)
       VALUES ($1, $2, 'checks failed on main', 'auto', 'pr', 'submitted', 43)`,
      [auto, REPOSITORY],
    );
    expect(breakerOf(await gates('under-lock'))).toMatchObject({
      outcome: 'skip',
      details: { cause: 'reverted' },
    });
  });

  it('a revert older than the window, and a shadow rollback, do not trip it', async () => {
    const old = await selfChange('merged', daysAgo(20), 30);
    await admin.query(
      `INSERT INTO self_evolution_rollbacks (action_id, repository, reason, mode, status, updated_at)
       VALUES ($1, $2, 'old', 'pr', 'merged', now() - interval '9 days')`,
      [old, REPOSITORY],
    );
    const shadow = await selfChange('merged', daysAgo(2), 31);
    await admin.query(
      `INSERT INTO self_evolution_rollbacks (action_id, repository, reason, mode, status)
       VALUES ($1, $2, 'would revert', 'shadow', 'shadow')`,
      [shadow, REPOSITORY],
    );
    expect(breakerOf(await gates('under-lock')).outcome).toBe('pass');
  });
});

describe('the stop label', () => {
  it('applied by a read-only (or triage) user: ignored; by a maintainer: tripped', async () => {
    const stop = fake.seedIssue({ title: 'Please stop', user: 'bob' });
    fake.labelIssue(stop.number, 'self-evolution:stop', { by: 'bob' });
    const ignored = breakerOf(await gates('under-lock'));
    expect(ignored.outcome).toBe('pass');
    expect(ignored.reason).toContain(
      `self-evolution:stop ignored on #${stop.number} by bob (read): not applied by someone with write access`,
    );
    fake.labelIssue(stop.number, 'self-evolution:stop', { by: 'tina' });
    expect(breakerOf(await gates('under-lock')).outcome).toBe('pass');

    fake.labelIssue(stop.number, 'self-evolution:stop', { by: 'maria' });
    const tripped = breakerOf(await gates('under-lock'));
    expect(tripped).toMatchObject({
      outcome: 'skip',
      reason: `circuit breaker tripped (stop-label): self-evolution:stop on open issue #${stop.number} by maria (maintain)`,
    });
    expect(await getFlagRecord(admin, FLAG)).toMatchObject({
      value: false,
      metadata: { cause: 'stop-label' },
    });
    const body = breakerIssues()[0]!.body ?? '';
    expect(body).toContain(`Or close the stop issue #${stop.number}`);
    fake.assertNoViolations();
  });

  it('closing the stop issue (by someone with write access) turns the loop back on, under the lock only', async () => {
    const stop = fake.seedIssue({ title: 'Stop', user: 'alice' });
    fake.labelIssue(stop.number, 'self-evolution:stop', { by: 'alice' });
    await gates('under-lock');
    const [trip] = await listTrips(admin, REPOSITORY);
    expect(trip).toMatchObject({ cause: 'stop-label', resetAt: null });

    // Still open: stays off.
    expect((await gates('under-lock')).find((g) => g.gate === 'feature-flag')!.outcome).toBe('skip');
    // Closed by a read-only user: no reset either.
    fake.closeIssue(stop.number, { by: 'bob' });
    expect((await gates('under-lock')).find((g) => g.gate === 'feature-flag')!.outcome).toBe('skip');
    // Closed by a writer (reopened and closed again).
    Object.assign(stop, { state: 'open', closedAt: null, closedBy: null });
    fake.closeIssue(stop.number, { by: 'alice' });

    const before = await gates('before-jitter');
    expect(before.find((g) => g.gate === 'feature-flag')).toMatchObject({
      outcome: 'pass',
      reason: expect.stringContaining(
        `closed stop issue #${stop.number} (alice) (written under the run lock)`,
      ),
    });
    expect(breakerOf(before).outcome).toBe('pass');
    expect((await getFlagRecord(admin, FLAG))?.value).toBe(false);

    const under = await gates('under-lock');
    expect(under.map((g) => [g.gate, g.outcome])).toContainEqual(['feature-flag', 'pass']);
    expect(breakerOf(under).outcome).toBe('pass');
    expect(await getFlagRecord(admin, FLAG)).toMatchObject({
      value: true,
      metadata: { resetBy: `closed stop issue #${stop.number} (alice)` },
    });
    expect((await listTrips(admin, REPOSITORY))[0]).toMatchObject({
      id: trip!.id,
      resetBy: `closed stop issue #${stop.number} (alice)`,
    });
    expect((await gates('under-lock')).find((g) => g.gate === 'feature-flag')!.reason).toBe(
      'feature flag self_evolution_enabled is on',
    );
  });
});

describe('fail closed, force, no token, the per-repository flag', () => {
  it('GitHub answering 500 trips it with cause unreadable', async () => {
    fake.failNext({ method: 'GET', path: '/repos/acme/agent/issues', status: 500 });
    const under = await gates('under-lock');
    expect(breakerOf(under)).toMatchObject({ outcome: 'skip', details: { cause: 'unreadable' } });
    expect(breakerOf(under).reason).toMatch(
      /^circuit breaker tripped \(unreadable\): could not read stopLabel \(/,
    );
    expect(await getFlagRecord(admin, FLAG)).toMatchObject({
      value: false,
      metadata: { cause: 'unreadable' },
    });
    expect(await listTrips(admin, REPOSITORY)).toMatchObject([{ cause: 'unreadable' }]);
  });

  it('force does not bypass it', async () => {
    for (const d of [4, 3, 2]) await finishedRun('failed', daysAgo(d));
    const forced = await gates('before-jitter', { force: true });
    expect(forced.find((g) => g.gate === 'already-ran-today')!.reason).toBe('forced');
    expect(breakerOf(forced)).toMatchObject({ outcome: 'skip', details: { cause: 'failures' } });
  });

  it('without a token the stop label is not checked, the database causes still trip it, and no issue is written', async () => {
    const stop = fake.seedIssue({ title: 'Stop' });
    fake.labelIssue(stop.number, 'self-evolution:stop', { by: 'alice' });
    expect(breakerOf(await gates('under-lock', { github: null })).reason).toMatch(
      /; stop label not checked: no GitHub token$/,
    );
    for (const d of [4, 3, 2]) await finishedRun('failed', daysAgo(d));
    const under = await gates('under-lock', { github: null });
    expect(tripOf(under)).toMatchObject({ status: 'recorded', issue: null, issueNote: 'no GitHub token' });
    expect((await getFlagRecord(admin, FLAG))?.value).toBe(false);
    expect(breakerIssues()).toEqual([]);
  });

  it('a token that may not write issues: the trip stands, the issue is a warning', async () => {
    for (const d of [4, 3, 2]) await finishedRun('failed', daysAgo(d));
    fake.failNext({ method: 'POST', path: '/repos/acme/agent/issues', status: 403 });
    const under = await gates('under-lock');
    expect(tripOf(under)).toMatchObject({ status: 'recorded', issue: null });
    expect(logs).toContainEqual(expect.stringMatching(/^circuit breaker: could not write the issue: /));
    expect((await getFlagRecord(admin, FLAG))?.value).toBe(false);
  });

  it('a loop the config turns off is not tripped (nothing recorded), though the gate reports the cause', async () => {
    for (const d of [4, 3, 2]) await finishedRun('failed', daysAgo(d));
    const under = await gates('under-lock', { enabled: false });
    expect(breakerOf(under)).toMatchObject({ outcome: 'skip', details: { cause: 'failures' } });
    expect(tripOf(under)).toEqual({ status: 'loop-off', why: 'config: enabled is false' });
    expect(await listTrips(admin, REPOSITORY)).toEqual([]);
    expect((await getFlagRecord(admin, FLAG))?.value).toBe(true);
  });

  it('turns off the per-repository flag when that is the one set', async () => {
    await setFlag(admin, `${FLAG}:${REPOSITORY}`, true, { by: 'test' });
    await admin.query(`UPDATE feature_flags SET updated_at = now() - interval '30 days'`);
    for (const d of [4, 3, 2]) await finishedRun('failed', daysAgo(d));
    await gates('under-lock');
    expect((await getFlagRecord(admin, `${FLAG}:${REPOSITORY}`))?.value).toBe(false);
    expect((await getFlagRecord(admin, FLAG))?.value).toBe(true);
  });
});

describe('a human reset', () => {
  it('flag set true: the next run goes ahead and the old evidence does not trip it again; a later trip updates the one issue', async () => {
    for (const d of [4, 3, 2]) await finishedRun('failed', daysAgo(d));
    await gates('under-lock');
    expect(breakerIssues()).toHaveLength(1);

    await setFlag(admin, FLAG, true, { setBy: 'cli', user: 'alice', at: new Date().toISOString() });
    const after = await gates('under-lock');
    expect(firstBlockingGate(after)).toBeUndefined();
    expect(breakerOf(after).outcome).toBe('pass');
    expect((await listTrips(admin, REPOSITORY))[0]).toMatchObject({ resetBy: 'cli (alice)' });

    // New evidence after the reset trips it again: the same issue is updated and commented, no second issue.
    await selfChange('closed', new Date(Date.now() + 1000), 41);
    await selfChange('closed', new Date(Date.now() + 2000), 42);
    const again = await gates('under-lock', { now: new Date(Date.now() + 3000) });
    expect(breakerOf(again).details).toMatchObject({ cause: 'rejected' });
    expect(breakerIssues()).toHaveLength(1);
    expect(breakerIssues()[0]!.body).toContain('`rejected`');
    expect(fake.comments.filter((c) => c.issueNumber === breakerIssues()[0]!.number)).toHaveLength(1);
    expect(await listTrips(admin, REPOSITORY)).toHaveLength(2);
    fake.assertNoViolations();
  });

  it('through runOnce: the tripping run skips without jitter and records the trip with its run; after the reset the next run succeeds', async () => {
    for (const d of [4, 3, 2]) await finishedRun('failed', daysAgo(d));
    const run = async () => {
      const clock = steppingClock(new Date());
      const logger = capturingLogger(clock);
      const sleep = recordingSleep();
      const report = await runOnce(
        testOptions(repo.dir, {
          databaseUrl: database.url,
          trigger: 'schedule',
          jitter: { enabled: true, maxMinutes: 1 },
        }),
        { clock, random: fixedRandom(0.5), sleep, logger, openDb: openDatabase, breaker: github },
      );
      return { report, sleep };
    };

    const tripped = await run();
    expect(tripped.report.status).toBe('skipped');
    expect(tripped.report.skipReason).toMatch(
      /^circuit breaker tripped \(failures\): 3 failed runs in a row/,
    );
    expect(tripped.report.jitterMs).toBe(0);
    expect(tripped.sleep.calls).toEqual([]);
    expect(tripOf(tripped.report.gates.beforeJitter).status).toBe('pending');
    expect(tripOf(tripped.report.gates.underLock).status).toBe('recorded');
    const [trip] = await listTrips(admin, REPOSITORY);
    expect(trip!.runId).toBe(tripped.report.runId);
    expect(breakerIssues()).toHaveLength(1);

    const off = await run();
    expect(off.report.skipReason).toBe('feature flag self_evolution_enabled is off');
    expect(await listTrips(admin, REPOSITORY)).toHaveLength(1);

    await setFlag(admin, FLAG, true, { setBy: 'cli', user: 'alice', at: new Date().toISOString() });
    const next = await run();
    expect(next.report.status).toBe('success');
    expect(next.report.jitterMs).toBe(30_000);
    expect((await listTrips(admin, REPOSITORY))[0]!.resetBy).toBe('cli (alice)');
  });
});

function firstBlockingGate(results: GateResult[]): GateResult | undefined {
  return results.find((g) => g.outcome === 'skip' || g.outcome === 'error');
}
