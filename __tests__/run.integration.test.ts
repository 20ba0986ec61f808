/**
 * The whole run against a real Postgres (DATABASE_URL, else the suite's throwaway server) and real temporary
 * git repositories: gates, jitter, lock, reflection, proposers, rails, records and artifacts.
 */
import { afterAll, beforeAll, beforeEach, describe, expect, it } from '@jest/globals';
import { existsSync } from 'node:fs';
import { readFile, readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { runOnce, type RunDeps } from '../src/run.js';
import { openDatabase } from '../src/store/open.js';
import { stopEmbeddedServer } from '../src/store/embedded-server.js';
import { openEmbedded } from '../src/store/pglite.js';
import { DatabaseUnavailableError } from '../src/store/errors.js';
import type { Db } from '../src/store/db.js';
import { migrate } from '../src/store/migrate.js';
import { setFlag } from '../src/store/flags.js';
import { tryAcquireRunLock } from '../src/store/lock.js';
import { insertSkippedRun, startRun, finishRun, STALE_SUMMARY } from '../src/store/runs.js';
import { main } from '../src/cli.js';
import type { ActivitySource } from '../src/github/activity.js';
import { openRunDatabase, resetRuns } from './helpers/run-db.js';
import type { TestDatabase } from './helpers/db.js';
import { makeTempRepo } from './helpers/git-repo.js';
import { startGitHubServer } from './helpers/github-server.js';
import {
  capturingLogger,
  fixedRandom,
  recordingSleep,
  steppingClock,
  testOptions,
} from './helpers/run-deps.js';

const DAY = new Date('2026-11-22T02:05:00Z');

/** A line of a stack trace: "    at fn (/path/file.js:12:34)" or "    at /path/file.js:12:34". */
const STACK_FRAME = /^\s*at .*:\d+:\d+\)?$/m;

const CONFIG = {
  enabled: true,
  safetyRails: {
    allowedPaths: ['docs/**/*.md', 'prompts/**'],
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
    { kind: 'file', name: 'suggestions', directory: 'proposals' },
  ],
};

const WORKFLOW_PATCH = `diff --git a/.github/workflows/deploy.yml b/.github/workflows/deploy.yml
--- a/.github/workflows/deploy.yml
+++ b/.github/workflows/deploy.yml
@@ -1,2 +1,2 @@
 name: deploy
-on: push
+on: [push, pull_request]
`;

function repoFiles(config: unknown = CONFIG): Record<string, string> {
  return {
    '.github/self-evolution-config.json': JSON.stringify(config, null, 2),
    '.github/workflows/deploy.yml': 'name: deploy\non: push\n',
    'docs/guide.md': '# Guide\n\nteh weather, teh forecast\n',
    'prompts/system.md': 'Be helpful.\n',
    'proposals/01-workflow.patch': WORKFLOW_PATCH,
    'proposals/01-workflow.json': JSON.stringify({
      title: 'Run deploy on PRs',
      type: 'capability',
      riskLevel: 3,
    }),
  };
}

let database: TestDatabase;
let admin: Db;

beforeAll(async () => {
  ({ database, admin } = await openRunDatabase('run_integration'));
});

afterAll(async () => {
  await admin?.close();
  await database?.drop();
});

beforeEach(async () => {
  await resetRuns(admin);
});

function deps(overrides: Partial<RunDeps> = {}): RunDeps & { logger: ReturnType<typeof capturingLogger> } {
  const clock = steppingClock(DAY);
  return {
    clock,
    random: fixedRandom(0.5),
    sleep: recordingSleep(),
    logger: capturingLogger(clock),
    openDb: openDatabase,
    ...overrides,
  } as RunDeps & { logger: ReturnType<typeof capturingLogger> };
}

describe('a dry run on a real repository', () => {
  it('judges every proposal, records it, and writes the artifacts', async () => {
    const repo = await makeTempRepo(repoFiles());
    try {
      const report = await runOnce(testOptions(repo.dir, { databaseUrl: database.url }), deps());
      expect(report.status).toBe('success');
      expect(report.runId).not.toBeNull();
      expect(report.proposals.map((p) => [p.title, p.verdict])).toEqual([
        ['Fix typos', 'allowed'],
        ['Run deploy on PRs', 'blocked'],
      ]);
      const blocked = report.proposals[1]!;
      expect(blocked.blockedReasons.some((r) => r.startsWith('path-blocked'))).toBe(true);
      expect(blocked.blockedReasons.some((r) => r.startsWith('risk-above-max'))).toBe(true);
      expect(report.proposals[0]!).toMatchObject({ filesChanged: 1, linesChanged: 2 });

      const runs = await admin.query<{ status: string; summary: string; metrics: { proposals: number } }>(
        'SELECT status, summary, metrics FROM self_evolution_runs WHERE id = $1',
        [report.runId],
      );
      expect(runs[0]).toMatchObject({ status: 'success', metrics: { proposals: 2 } });
      const proposals = await admin.query<{
        verdict: string;
        allowlisted: boolean;
        blocked_reasons: string[];
        patch: string;
      }>(
        'SELECT verdict, allowlisted, blocked_reasons, patch FROM self_evolution_proposals WHERE run_id = $1 ORDER BY id',
        [report.runId],
      );
      expect(proposals.map((p) => [p.verdict, p.allowlisted])).toEqual([
        ['allowed', true],
        ['blocked', false],
      ]);
      expect(proposals[0]!.patch).toContain('+teh weather'.replace('teh', 'the'));
      const reflections = await admin.query(
        'SELECT insights FROM self_evolution_reflections WHERE run_id = $1',
        [report.runId],
      );
      expect(reflections).toHaveLength(1);

      const files = (await readdir(report.artifactsDir!)).sort();
      expect(files).toEqual(
        expect.arrayContaining([
          'proposals.json',
          'reflection.json',
          'run.json',
          'run.log',
          `proposal-${report.proposals[0]!.id}.patch`,
        ]),
      );
      const runJson = JSON.parse(await readFile(join(report.artifactsDir!, 'run.json'), 'utf8'));
      expect(runJson.runId).toBe(report.runId);
      // The target's working tree is untouched by the proposers.
      expect(await readFile(join(repo.dir, 'docs/guide.md'), 'utf8')).toContain('teh weather');
      expect(await repo.git('status', '--porcelain')).toBe('');
    } finally {
      await repo.cleanup();
    }
  });

  it('skips a second run the same day as "already ran today", unless forced', async () => {
    const repo = await makeTempRepo(repoFiles());
    try {
      const first = await runOnce(testOptions(repo.dir, { databaseUrl: database.url }), deps());
      expect(first.status).toBe('success');
      const second = await runOnce(testOptions(repo.dir, { databaseUrl: database.url }), deps());
      expect(second.status).toBe('skipped');
      expect(second.skipReason).toMatch(/already ran today/);
      expect(second.runId).not.toBeNull();
      const forced = await runOnce(testOptions(repo.dir, { databaseUrl: database.url, force: true }), deps());
      expect(forced.status).toBe('success');
      const rows = await admin.query<{ status: string; forced: boolean; skip_reason: string | null }>(
        'SELECT status, forced, skip_reason FROM self_evolution_runs ORDER BY id',
      );
      expect(rows.map((r) => [r.status, r.forced])).toEqual([
        ['success', false],
        ['skipped', false],
        ['success', true],
      ]);
    } finally {
      await repo.cleanup();
    }
  });

  it('records a skip for each closed gate: flag off, config disabled', async () => {
    const repo = await makeTempRepo(repoFiles());
    const disabled = await makeTempRepo(repoFiles({ ...CONFIG, enabled: false }));
    try {
      await admin.query('DELETE FROM feature_flags');
      const noFlag = await runOnce(testOptions(repo.dir, { databaseUrl: database.url }), deps());
      expect(noFlag.status).toBe('skipped');
      expect(noFlag.skipReason).toMatch(/self_evolution_enabled/);
      await setFlag(admin, 'self_evolution_enabled', true);
      const off = await runOnce(
        testOptions(disabled.dir, { databaseUrl: database.url, repository: 'acme/other' }),
        deps(),
      );
      expect(off.status).toBe('skipped');
      expect(off.skipReason).toMatch(/enabled/);
      const rows = await admin.query<{ status: string; skip_reason: string }>(
        "SELECT status, skip_reason FROM self_evolution_runs WHERE status = 'skipped' ORDER BY id",
      );
      expect(rows).toHaveLength(2);
      expect(rows.every((r) => r.skip_reason.length > 0)).toBe(true);
    } finally {
      await repo.cleanup();
      await disabled.cleanup();
    }
  });

  it('skips within the cooldown after a failed run', async () => {
    const repo = await makeTempRepo(repoFiles());
    try {
      const yesterday = new Date(DAY.getTime() - 20 * 3600_000);
      const started = await startRun(admin, {
        repository: 'acme/agent',
        runDate: '2026-11-21',
        trigger: 'schedule',
        dryRun: true,
        forced: false,
        gates: [],
        startedAt: yesterday,
        config: {},
        overrides: {},
      });
      if (!started.ok) throw new Error('could not seed a run');
      await finishRun(admin, started.run.id, {
        status: 'failed',
        summary: 'boom',
        metrics: {},
        finishedAt: yesterday,
      });
      const report = await runOnce(testOptions(repo.dir, { databaseUrl: database.url }), deps());
      const until = new Date(yesterday.getTime() + 24 * 3600_000).toISOString();
      const reason = `previous run #${started.run.id} failed at ${yesterday.toISOString()}; cooldown of 24h until ${until}`;
      expect(report.status).toBe('skipped');
      expect(report.skipReason).toBe(reason);
      // Held back by the cooldown gate before the jitter, every other gate open.
      expect(report.gates.beforeJitter.map((g) => [g.gate, g.outcome])).toEqual([
        ['config-enabled', 'pass'],
        ['feature-flag', 'pass'],
        ['circuit-breaker', 'pass'],
        ['already-ran-today', 'pass'],
        ['cooldown', 'skip'],
        ['activity', 'not-checked'],
      ]);
      expect(report.gates.beforeJitter[4]).toEqual({
        gate: 'cooldown',
        outcome: 'skip',
        reason,
        details: { runId: started.run.id, endedAt: yesterday.toISOString(), cooldownHours: 24, until },
      });
      expect(report.gates.underLock).toEqual([]);
      const [row] = await admin.query<{ status: string; skip_reason: string }>(
        'SELECT status, skip_reason FROM self_evolution_runs WHERE id = $1',
        [report.runId],
      );
      expect(row).toEqual({ status: 'skipped', skip_reason: reason });
    } finally {
      await repo.cleanup();
    }
  });

  it('marks a run left running by a crash as failed (stale) under the lock, finished at its last heartbeat; that starts no cooldown', async () => {
    const repo = await makeTempRepo(repoFiles());
    try {
      // Its last heartbeat (the record's creation) is an hour old: older than STALE_AFTER_MS.
      const started = await startRun(admin, {
        repository: 'acme/agent',
        runDate: '2026-11-22',
        trigger: 'schedule',
        dryRun: true,
        forced: true,
        gates: [],
        startedAt: new Date(DAY.getTime() - 3600_000),
        config: {},
        overrides: {},
      });
      if (!started.ok) throw new Error('could not seed a run');
      const d = deps();
      const report = await runOnce(testOptions(repo.dir, { databaseUrl: database.url }), d);
      const [stale] = await admin.query<{
        status: string;
        summary: string;
        finished_at: Date;
        stale: boolean;
      }>('SELECT status, summary, finished_at, stale FROM self_evolution_runs WHERE id = $1', [
        started.run.id,
      ]);
      expect(stale).toMatchObject({ status: 'failed', summary: STALE_SUMMARY, stale: true });
      expect(d.logger.messages).toContain(`warn: marked stale run(s) #${started.run.id} as failed`);
      // Finished when it was last seen alive, not at the new run's time.
      expect(stale!.finished_at).toEqual(new Date(DAY.getTime() - 3600_000));
      // A stale run starts no cooldown: the new run goes on (the crashed run was forced: not today's run).
      const open = [
        ['config-enabled', 'pass'],
        ['feature-flag', 'pass'],
        ['circuit-breaker', 'pass'],
        ['already-ran-today', 'pass'],
        ['cooldown', 'pass'],
        ['activity', 'not-checked'],
      ];
      expect(report.gates.beforeJitter.map((g) => [g.gate, g.outcome])).toEqual(open);
      expect(report.gates.underLock.map((g) => [g.gate, g.outcome])).toEqual(open);
      expect(report.status).toBe('success');
    } finally {
      await repo.cleanup();
    }
  });

  it('is skipped as "lock held" while another session holds the run lock', async () => {
    const repo = await makeTempRepo(repoFiles());
    const lock = await tryAcquireRunLock(admin, 'acme/agent');
    try {
      expect(lock).not.toBeNull();
      const report = await runOnce(testOptions(repo.dir, { databaseUrl: database.url }), deps());
      expect(report.status).toBe('skipped');
      expect(report.skipReason).toMatch(/lock held/);
      const [row] = await admin.query<{ status: string; skip_reason: string }>(
        'SELECT status, skip_reason FROM self_evolution_runs WHERE id = $1',
        [report.runId],
      );
      expect(row).toMatchObject({ status: 'skipped' });
      expect(row!.skip_reason).toMatch(/lock held/);
    } finally {
      await lock?.release();
      await repo.cleanup();
    }
  });

  it('sleeps the jitter (uniform 0..jitterMinutes) between the two gate passes, unless disabled', async () => {
    const repo = await makeTempRepo(repoFiles());
    try {
      const d = deps({ random: fixedRandom(0.25) });
      const sleep = recordingSleep();
      // The sleep marks where it happened among the log lines: gates before it, gates after it.
      d.sleep = async (ms) => {
        d.logger.messages.push(`(slept ${ms} ms)`);
        await sleep(ms);
      };
      const report = await runOnce(
        testOptions(repo.dir, { databaseUrl: database.url, jitter: { enabled: true } }),
        d,
      );
      expect(report.status).toBe('success');
      // Random 0.25 of jitterMinutes 20 (the config default): floor(0.25 x (1 200 000 + 1)) ms = 5 minutes.
      expect(sleep.calls).toEqual([300_000]);
      expect(report.jitterMs).toBe(300_000);
      const gates = [
        'config-enabled',
        'feature-flag',
        'circuit-breaker',
        'already-ran-today',
        'cooldown',
        'activity',
      ];
      const expectedGates = [
        ['config-enabled', 'pass'],
        ['feature-flag', 'pass'],
        ['circuit-breaker', 'pass'],
        ['already-ran-today', 'pass'],
        ['cooldown', 'pass'],
        ['activity', 'not-checked'],
      ];
      expect(report.gates.beforeJitter.map((g) => [g.gate, g.outcome])).toEqual(expectedGates);
      expect(report.gates.underLock.map((g) => [g.gate, g.outcome])).toEqual(expectedGates);
      const sequence = d.logger.messages
        .filter((m) => /^info: (gate|jitter)|^\(slept/.test(m))
        .map((m) => /^info: gate ([a-z-]+) \((?:before jitter|under the lock)\):/.exec(m)?.[1] ?? m);
      expect(sequence).toEqual([
        ...gates,
        'info: jitter: sleeping 5m 0s (uniform 0..20 min)',
        '(slept 300000 ms)',
        ...gates,
      ]);
      const none = recordingSleep();
      const forced = await runOnce(
        testOptions(repo.dir, { databaseUrl: database.url, force: true }),
        deps({ sleep: none }),
      );
      expect(forced.status).toBe('success');
      expect(none.calls).toEqual([]);
      expect(forced.jitterMs).toBe(0);
      expect(forced.gates.underLock.map((g) => g.gate)).toEqual(gates);
    } finally {
      await repo.cleanup();
    }
  });

  it('skips while a deployment is in progress, and on a GitHub API error never runs blind', async () => {
    const repo = await makeTempRepo(repoFiles());
    try {
      const busy: ActivitySource = {
        listActiveWorkflowRuns: async () => [],
        listActiveDeployments: async () => [
          { id: 7, environment: 'production', state: 'in_progress' } as never,
        ],
      };
      const r1 = await runOnce(
        testOptions(repo.dir, { databaseUrl: database.url }),
        deps({ activity: busy }),
      );
      expect(r1.status).toBe('skipped');
      expect(r1.skipReason).toMatch(/production|deployment/);
      const broken: ActivitySource = {
        listActiveWorkflowRuns: async () => {
          throw Object.assign(new Error('Server Error'), { status: 502 });
        },
        listActiveDeployments: async () => [],
      };
      const r2 = await runOnce(
        testOptions(repo.dir, { databaseUrl: database.url }),
        deps({ activity: broken }),
      );
      expect(r2.status).toBe('skipped');
      expect(r2.proposals).toEqual([]);
      const none = await runOnce(testOptions(repo.dir, { databaseUrl: database.url }), deps());
      expect(none.gates.beforeJitter.find((g) => g.gate === 'activity')).toMatchObject({
        outcome: 'not-checked',
        reason: expect.stringMatching(/no GitHub token/),
      });
    } finally {
      await repo.cleanup();
    }
  });

  it('records a failing proposer as a failed proposal and goes on with the rest', async () => {
    const config = {
      ...CONFIG,
      proposers: [{ kind: 'command', name: 'broken', command: 'exit 3' }, ...CONFIG.proposers],
    };
    const repo = await makeTempRepo(repoFiles(config));
    try {
      const report = await runOnce(testOptions(repo.dir, { databaseUrl: database.url }), deps());
      expect(report.status).toBe('success');
      expect(report.proposals.map((p) => [p.status, p.verdict])).toEqual([
        ['failed', 'blocked'],
        ['evaluated', 'allowed'],
        ['evaluated', 'blocked'],
      ]);
      const [row] = await admin.query<{ status: string; verdict: string }>(
        "SELECT status, verdict FROM self_evolution_proposals WHERE proposer = 'broken'",
      );
      expect(row).toEqual({ status: 'failed', verdict: 'blocked' });
    } finally {
      await repo.cleanup();
    }
  });

  it('fails before any proposer runs when the database is down, without leaking the URL', async () => {
    const marker = `marker-${process.pid}-${Date.now()}`;
    const config = { ...CONFIG, proposers: [{ kind: 'command', command: `touch /tmp/${marker}` }] };
    const repo = await makeTempRepo(repoFiles(config));
    try {
      const url = 'postgres://agent:s3cr3t-pa55@127.0.0.1:1/nowhere';
      const d = deps();
      const report = await runOnce(testOptions(repo.dir, { databaseUrl: url }), d);
      expect(report.status).toBe('failed');
      expect(report.runId).toBeNull();
      // The message names the database (safely) and what is wrong with it, on one line, without a stack.
      const refused =
        'cannot connect to postgres 127.0.0.1:1/nowhere: connection refused (ECONNREFUSED); ' +
        'is the server running and listening on that port?';
      expect(report.error).toBe(refused);
      expect(report.summary).toBe(`database unavailable, nothing was run: ${refused}`);
      expect(report.skipReason).toBeNull();
      expect(report.gates).toEqual({ beforeJitter: [], underLock: [] });
      expect(d.logger.messages).toContain(`error: database unavailable, nothing was run: ${refused}`);
      expect(existsSync(`/tmp/${marker}`)).toBe(false);
      const everything = JSON.stringify(report) + d.logger.lines().join('\n') + d.logger.messages.join('\n');
      expect(everything).not.toContain('s3cr3t-pa55');
      expect(everything).not.toContain(url);
      // No stack frame ("    at fn (file.js:1:2)") and no "SomeError: " prefix in the log.
      const log = [...d.logger.lines(), ...d.logger.messages].join('\n');
      expect(log).not.toMatch(STACK_FRAME);
      expect(log).not.toMatch(/\w*Error: /);
      // The CLI (in process) ends such a run with exit code 1 and says why on stderr, without a stack.
      const out: string[] = [];
      const err: string[] = [];
      const code = await main(['node', 'self-evolution', 'run', '--repo', repo.dir, '--no-jitter'], {
        stdout: (t) => out.push(t),
        stderr: (t) => err.push(t),
        env: { DATABASE_URL: url },
        cwd: repo.dir,
      });
      expect(code).toBe(1);
      const stderr = err.join('');
      expect(stderr).toContain(refused);
      expect(stderr).not.toContain('s3cr3t-pa55');
      expect(stderr).not.toMatch(STACK_FRAME);
      expect(stderr).not.toMatch(/\w*Error: /);
      expect(out.join('')).toBe('');
      await expect(openDatabase({ databaseUrl: url, embeddedDir: '' })).rejects.toBeInstanceOf(
        DatabaseUnavailableError,
      );
    } finally {
      await repo.cleanup();
    }
  });

  it('records the environment overrides and applies them to the caps', async () => {
    const repo = await makeTempRepo(repoFiles());
    try {
      const report = await runOnce(
        testOptions(repo.dir, { databaseUrl: database.url, envOverrides: { maxLinesOfCode: 1 } }),
        deps(),
      );
      expect(report.overrides).toEqual({ maxLinesOfCode: 1 });
      expect(report.proposals[0]!.verdict).toBe('blocked');
      expect(report.proposals[0]!.blockedReasons.join(' ')).toMatch(/diff-max-lines/);
      const [row] = await admin.query<{
        overrides: unknown;
        config: { safetyRails: { diffCaps: { maxLinesOfCode: number } } };
      }>('SELECT overrides, config FROM self_evolution_runs WHERE id = $1', [report.runId]);
      expect(row!.overrides).toEqual({ maxLinesOfCode: 1 });
      expect(row!.config.safetyRails.diffCaps.maxLinesOfCode).toBe(1);
    } finally {
      await repo.cleanup();
    }
  });

  it('never writes the database URL or a token to the database or the artifacts', async () => {
    const repo = await makeTempRepo(repoFiles());
    const token = 'ghp_CANARYtoken0123456789abcdefABCDEF01';
    const github = await startGitHubServer();
    try {
      const quiet: ActivitySource = {
        listActiveWorkflowRuns: async () => [],
        listActiveDeployments: async () => [],
      };
      const report = await runOnce(
        testOptions(repo.dir, { databaseUrl: database.url, githubToken: token, githubApiUrl: github.url }),
        deps({ activity: quiet }),
      );
      expect(report.status).toBe('success');
      // The reflection read GitHub with the token, through the local API.
      expect(github.requests.some((r) => r.path.startsWith('/repos/acme/agent/issues'))).toBe(true);
      expect(github.requests.every((r) => r.headers.authorization === `token ${token}`)).toBe(true);
      const dump = JSON.stringify(
        await admin.query(
          `SELECT r.*, p.* FROM self_evolution_runs r LEFT JOIN self_evolution_proposals p ON p.run_id = r.id`,
        ),
      );
      const artifacts = await Promise.all(
        (await readdir(report.artifactsDir!)).map((f) => readFile(join(report.artifactsDir!, f), 'utf8')),
      );
      for (const text of [dump, ...artifacts]) {
        expect(text).not.toContain(token);
        expect(text).not.toContain(database.url);
      }
    } finally {
      await github.close();
      await repo.cleanup();
    }
  });

  it('stores skipped runs without limit but only one run per day got past the gates', async () => {
    for (let i = 0; i < 3; i++) {
      await insertSkippedRun(admin, {
        repository: 'acme/agent',
        runDate: '2026-11-22',
        trigger: 'schedule',
        dryRun: true,
        forced: false,
        skipReason: 'lock held',
        gates: [],
        summary: 'skipped',
        startedAt: DAY,
        finishedAt: DAY,
      });
    }
    const a = await startRun(admin, {
      repository: 'acme/agent',
      runDate: '2026-11-22',
      trigger: 'schedule',
      dryRun: true,
      forced: false,
      gates: [],
      startedAt: DAY,
      config: {},
      overrides: {},
    });
    const b = await startRun(admin, {
      repository: 'acme/agent',
      runDate: '2026-11-22',
      trigger: 'schedule',
      dryRun: true,
      forced: false,
      gates: [],
      startedAt: DAY,
      config: {},
      overrides: {},
    });
    expect(a.ok).toBe(true);
    expect(b).toMatchObject({ ok: false, reason: 'already-ran-today' });
  });
});

describe('the embedded database', () => {
  it('runs the same pipeline with no DATABASE_URL on the embedded Postgres server and keeps its records for the next run', async () => {
    const repo = await makeTempRepo(repoFiles());
    const options = testOptions(repo.dir);
    try {
      const db = await openDatabase({ embeddedDir: options.embeddedDbDir });
      expect(db.kind).toBe('postgres');
      expect(db.description).toMatch(/^embedded postgres .*\(127\.0\.0\.1:\d+\)$/);
      await migrate(db);
      await setFlag(db, 'self_evolution_enabled', true);
      await db.close();
      const first = await runOnce(options, deps());
      expect(first.status).toBe('success');
      expect(first.proposals.map((p) => p.verdict)).toEqual(['allowed', 'blocked']);
      const second = await runOnce(options, deps());
      expect(second.status).toBe('skipped');
      expect(second.skipReason).toMatch(/already ran today/);
      // The CLI's state directory never shows up as a change in the target.
      expect(await repo.git('status', '--porcelain')).toBe('');
    } finally {
      await stopEmbeddedServer(options.embeddedDbDir, { force: true });
      await repo.cleanup();
    }
  });

  it('keeps using a PGlite directory an earlier version made', async () => {
    const repo = await makeTempRepo(repoFiles());
    try {
      const options = testOptions(repo.dir);
      const db = await openEmbedded(options.embeddedDbDir);
      await migrate(db);
      await setFlag(db, 'self_evolution_enabled', true);
      await db.close();
      const first = await runOnce(options, deps());
      expect(first.status).toBe('success');
      const again = await openDatabase({ embeddedDir: options.embeddedDbDir });
      expect(again.kind).toBe('pglite');
      await again.close();
    } finally {
      await repo.cleanup();
    }
  });
});
