/**
 * Round trips of the table modules (runs, reflections, proposals, flags) on both engines: a fresh
 * Postgres database and one PGlite directory (opened once: it costs seconds).
 */
import { createHash } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';

import type { Db } from '../src/store/db.js';
import { getFlag, listFlags, setFlag } from '../src/store/flags.js';
import { migrate } from '../src/store/migrate.js';
import { openPostgres } from '../src/store/pg.js';
import { openEmbedded } from '../src/store/pglite.js';
import { insertProposal, listProposals, type NewProposal } from '../src/store/proposals.js';
import { insertReflection, listReflections } from '../src/store/reflections.js';
import {
  STALE_AFTER_MS,
  STALE_SUMMARY,
  findRunOnDate,
  finishRun,
  getRun,
  heartbeat,
  setRunSandbox,
  insertSkippedRun,
  lastFailedRun,
  listRecentRuns,
  markStaleRuns,
  startRun,
  type StartRunInput,
} from '../src/store/runs.js';
import { createTestDatabase } from './helpers/db.js';

const engines = ['postgres', 'pglite'] as const;

let counter = 0;
/** A repository name no other test uses, so tests sharing a database do not see each other's rows. */
function uniqueRepo(engine: string): string {
  counter++;
  return `octo/${engine}-${process.pid}-${counter}`;
}

function startInput(repository: string, overrides: Partial<StartRunInput> = {}): StartRunInput {
  return {
    repository,
    runDate: '2026-03-01',
    trigger: 'schedule',
    dryRun: true,
    forced: false,
    gates: [{ gate: 'feature-flag', outcome: 'pass' }],
    startedAt: new Date('2026-03-01T02:07:00.123Z'),
    config: { enabled: true, safetyRails: { diffCaps: { maxLinesOfCode: 500 } } },
    overrides: { maxFilesChanged: 3 },
    ...overrides,
  };
}

function proposal(overrides: Partial<NewProposal> = {}): NewProposal {
  return {
    proposer: 'command:lint-fix',
    type: 'cleanup',
    title: 'Fix typos in docs',
    description: 'Two typos.',
    riskLevel: 1,
    effort: 1,
    status: 'evaluated',
    verdict: 'allowed',
    blockedReasons: [],
    violations: [],
    filesChanged: 1,
    linesAdded: 2,
    linesDeleted: 2,
    patch: 'diff --git a/docs/a.md b/docs/a.md\n-teh\n+the\n',
    provenance: { proposer: 'command', command: 'npm run lint:fix', durationMs: 1234 },
    ...overrides,
  };
}

describe.each(engines)('store tables on %s', (engine) => {
  let db: Db;
  let cleanup: () => Promise<void>;

  beforeAll(async () => {
    if (engine === 'postgres') {
      const testDb = await createTestDatabase('tables');
      db = await openPostgres(testDb.url);
      cleanup = async () => {
        await db.close();
        await testDb.drop();
      };
    } else {
      const dir = mkdtempSync(join(tmpdir(), 'se-tables-pglite-'));
      db = await openEmbedded(join(dir, 'db'));
      cleanup = async () => {
        await db.close();
        rmSync(dir, { recursive: true, force: true });
      };
    }
    await migrate(db);
  });
  afterAll(async () => {
    await cleanup?.();
  });

  describe('runs', () => {
    it('startRun inserts a running run and reads it back (camelCase, runDate as text, Dates)', async () => {
      const repository = uniqueRepo(engine);
      const input = startInput(repository, { logsUrl: 'https://github.com/octo/x/actions/runs/1' });
      const started = await startRun(db, input);
      expect(started.ok).toBe(true);
      if (!started.ok) return;
      const run = started.run;
      expect(run).toEqual({
        id: expect.any(Number),
        repository,
        runDate: '2026-03-01',
        trigger: 'schedule',
        dryRun: true,
        forced: false,
        status: 'running',
        skipReason: null,
        gates: [{ gate: 'feature-flag', outcome: 'pass' }],
        startedAt: new Date('2026-03-01T02:07:00.123Z'),
        finishedAt: null,
        summary: null,
        logsUrl: 'https://github.com/octo/x/actions/runs/1',
        metrics: {},
        overrides: { maxFilesChanged: 3 },
        error: null,
        sandbox: null,
        // No audit given: null (run.audit.test.ts records them).
        baseSha: null,
        toolVersion: null,
        actor: null,
        configPath: null,
        configBlobSha: null,
        configDirty: null,
        worktreeDirty: null,
        // The first heartbeat: startedAt when no heartbeatAt is given.
        heartbeatAt: new Date('2026-03-01T02:07:00.123Z'),
        stale: false,
      });
      expect(await getRun(db, run.id)).toEqual(run);
      // The sandbox is recorded on the running run; a bad value or a closed run is refused.
      await setRunSandbox(db, run.id, 'bwrap');
      expect((await getRun(db, run.id))!.sandbox).toBe('bwrap');
      await expect(setRunSandbox(db, run.id, 'chroot' as never)).rejects.toThrow(
        /sandbox must be 'bwrap', 'unshare' or 'none', got "chroot"/,
      );
      await expect(setRunSandbox(db, run.id + 100000, 'none')).rejects.toThrow(/no running run with id/);
      const config = await db.query<{ config: unknown }>(
        'SELECT config FROM self_evolution_runs WHERE id = $1',
        [run.id],
      );
      expect(config[0]!.config).toEqual(input.config);
      expect(await getRun(db, 987654)).toBeNull();
    });

    it('allows one non-forced run per repository and day: the second startRun returns already-ran-today', async () => {
      const repository = uniqueRepo(engine);
      const first = await startRun(db, startInput(repository));
      expect(first.ok).toBe(true);
      const firstId = first.ok ? first.run.id : -1;

      const second = await startRun(db, startInput(repository, { trigger: 'workflow_dispatch' }));
      expect(second).toEqual({ ok: false, reason: 'already-ran-today', existingRunId: firstId });

      // Finishing it (even as failed) keeps the day taken.
      await finishRun(db, firstId, {
        status: 'failed',
        summary: 'boom',
        metrics: {},
        finishedAt: new Date(),
      });
      expect(await startRun(db, startInput(repository))).toEqual(second);

      // Forced runs are always allowed, any number of them.
      const forced1 = await startRun(db, startInput(repository, { forced: true }));
      const forced2 = await startRun(db, startInput(repository, { forced: true }));
      expect(forced1.ok && forced2.ok).toBe(true);

      // Another day, or another repository, is free.
      expect((await startRun(db, startInput(repository, { runDate: '2026-03-02' }))).ok).toBe(true);
      expect((await startRun(db, startInput(uniqueRepo(engine)))).ok).toBe(true);

      expect((await findRunOnDate(db, repository, '2026-03-01'))?.id).toBe(firstId);
    });

    it('records any number of skipped runs per day, and they do not count as the day run', async () => {
      const repository = uniqueRepo(engine);
      const skipped = {
        repository,
        runDate: '2026-03-05',
        trigger: 'cli' as const,
        dryRun: true,
        forced: false,
        skipReason: 'feature flag off',
        gates: [{ gate: 'feature-flag', outcome: 'skip' }],
        summary: 'skipped: feature flag off',
        startedAt: new Date('2026-03-05T02:00:00Z'),
        finishedAt: new Date('2026-03-05T02:00:01Z'),
      };
      const a = await insertSkippedRun(db, skipped);
      const b = await insertSkippedRun(db, {
        ...skipped,
        metrics: { ms: 5 },
        overrides: { x: 1 },
        config: { y: 2 },
      });
      expect(a).toMatchObject({
        status: 'skipped',
        skipReason: 'feature flag off',
        summary: 'skipped: feature flag off',
        runDate: '2026-03-05',
        trigger: 'cli',
        logsUrl: null,
        metrics: {},
        overrides: {},
        finishedAt: new Date('2026-03-05T02:00:01Z'),
      });
      expect(b.metrics).toEqual({ ms: 5 });
      expect(b.overrides).toEqual({ x: 1 });
      expect(b.id).not.toBe(a.id);
      expect(await findRunOnDate(db, repository, '2026-03-05')).toBeNull();

      const started = await startRun(db, startInput(repository, { runDate: '2026-03-05' }));
      expect(started.ok).toBe(true);
      await insertSkippedRun(db, skipped); // still allowed after the day's run exists
      expect((await findRunOnDate(db, repository, '2026-03-05'))?.id).toBe(started.ok ? started.run.id : -1);
    });

    it('findRunOnDate ignores forced runs', async () => {
      const repository = uniqueRepo(engine);
      await startRun(db, startInput(repository, { forced: true }));
      expect(await findRunOnDate(db, repository, '2026-03-01')).toBeNull();
    });

    it('finishRun closes a running run and refuses a run that is not running', async () => {
      const repository = uniqueRepo(engine);
      const started = await startRun(db, startInput(repository));
      if (!started.ok) throw new Error('expected ok');
      const finishedAt = new Date('2026-03-01T02:30:00.456Z');
      await finishRun(db, started.run.id, {
        status: 'success',
        summary: 'dry run: 2 proposal(s)',
        metrics: { proposals: 2, big: 10n },
        finishedAt,
      });
      const run = await getRun(db, started.run.id);
      expect(run).toMatchObject({
        status: 'success',
        summary: 'dry run: 2 proposal(s)',
        metrics: { proposals: 2, big: '10' },
        finishedAt,
        error: null,
      });
      await expect(
        finishRun(db, started.run.id, { status: 'failed', summary: 'x', metrics: {}, finishedAt }),
      ).rejects.toThrow(`finishRun: run ${started.run.id} is 'success', not 'running'`);
      await expect(
        finishRun(db, 987654, { status: 'failed', summary: 'x', metrics: {}, finishedAt }),
      ).rejects.toThrow('there is no run with id 987654');
    });

    it('markStaleRuns fails every running run of that repository whose heartbeat is too old, only', async () => {
      const repository = uniqueRepo(engine);
      const other = uniqueRepo(engine);
      // Started 02:07:00.123 (startInput); heartbeats: a at start, b at 02:20, fresh at 02:30.
      const a = await startRun(db, startInput(repository, { runDate: '2026-02-27' }));
      const b = await startRun(db, startInput(repository, { runDate: '2026-02-28', forced: true }));
      const fresh = await startRun(db, startInput(repository, { runDate: '2026-02-25' }));
      const done = await startRun(db, startInput(repository, { runDate: '2026-02-26' }));
      const elsewhere = await startRun(db, startInput(other));
      if (!a.ok || !b.ok || !fresh.ok || !done.ok || !elsewhere.ok) throw new Error('expected ok');
      const bBeat = new Date('2026-03-01T02:20:00Z');
      expect(await heartbeat(db, b.run.id, bBeat)).toBe(true);
      expect(await heartbeat(db, fresh.run.id, new Date('2026-03-01T02:30:00Z'))).toBe(true);
      await finishRun(db, done.run.id, {
        status: 'success',
        summary: 'ok',
        metrics: {},
        finishedAt: new Date(),
      });
      expect(await heartbeat(db, done.run.id, new Date())).toBe(false);

      // 02:35 with the default threshold (10 min): a (02:07) and b (02:20) are stale, fresh (02:30) is alive.
      const now = new Date('2026-03-01T02:35:00Z');
      expect(STALE_AFTER_MS).toBe(600_000);
      expect(await markStaleRuns(db, repository, now)).toEqual([a.run.id, b.run.id]);
      expect(await getRun(db, a.run.id)).toMatchObject({
        status: 'failed',
        stale: true,
        finishedAt: new Date('2026-03-01T02:07:00.123Z'),
        heartbeatAt: new Date('2026-03-01T02:07:00.123Z'),
        summary: STALE_SUMMARY,
      });
      expect(await getRun(db, b.run.id)).toMatchObject({
        status: 'failed',
        stale: true,
        finishedAt: bBeat,
        summary: STALE_SUMMARY,
      });
      expect(await getRun(db, fresh.run.id)).toMatchObject({
        status: 'running',
        stale: false,
        finishedAt: null,
      });
      expect((await getRun(db, done.run.id))?.status).toBe('success');
      expect((await getRun(db, elsewhere.run.id))?.status).toBe('running');
      expect(await markStaleRuns(db, repository, now)).toEqual([]);
      // With a shorter threshold the fresh one goes too.
      expect(await markStaleRuns(db, repository, now, 60_000)).toEqual([fresh.run.id]);

      await expect(
        finishRun(db, a.run.id, { status: 'success', summary: 'late', metrics: {}, finishedAt: now }),
      ).rejects.toThrow(/is 'failed', not 'running' \(a later run marked it stale\)/);
      await expect(markStaleRuns(db, repository, now, -1)).rejects.toThrow(/staleAfterMs/);
    });

    it('startRun writes the first heartbeat (heartbeatAt, else startedAt); heartbeat moves it', async () => {
      const repository = uniqueRepo(engine);
      const plain = await startRun(db, startInput(repository, { runDate: '2026-02-20' }));
      const recordedAt = new Date('2026-03-01T02:27:00Z');
      const late = await startRun(
        db,
        startInput(repository, { runDate: '2026-02-21', heartbeatAt: recordedAt }),
      );
      if (!plain.ok || !late.ok) throw new Error('expected ok');
      expect(plain.run.heartbeatAt).toEqual(new Date('2026-03-01T02:07:00.123Z'));
      expect(late.run.heartbeatAt).toEqual(recordedAt);
      expect(late.run.stale).toBe(false);
      const beat = new Date('2026-03-01T02:28:00Z');
      expect(await heartbeat(db, late.run.id, beat)).toBe(true);
      expect((await getRun(db, late.run.id))?.heartbeatAt).toEqual(beat);
    });

    it("a cancelled run is not the day's run and starts no cooldown; a stale one starts no cooldown", async () => {
      const repository = uniqueRepo(engine);
      const cancelled = await startRun(db, startInput(repository));
      if (!cancelled.ok) throw new Error('expected ok');
      await finishRun(db, cancelled.run.id, {
        status: 'cancelled',
        summary: 'cancelled by SIGINT',
        metrics: {},
        finishedAt: new Date('2026-03-01T02:09:00Z'),
      });
      expect((await getRun(db, cancelled.run.id))?.status).toBe('cancelled');
      expect(await findRunOnDate(db, repository, '2026-03-01')).toBeNull();
      expect(await lastFailedRun(db, repository)).toBeNull();
      // The same day may start again (the one-run-per-day index leaves cancelled rows out).
      const again = await startRun(db, startInput(repository));
      if (!again.ok) throw new Error('expected the day to start again');
      expect((await findRunOnDate(db, repository, '2026-03-01'))?.id).toBe(again.run.id);
      // Its process dies: stale, failed, but no cooldown counts from it.
      expect(await markStaleRuns(db, repository, new Date('2026-03-01T03:00:00Z'))).toEqual([again.run.id]);
      expect(await lastFailedRun(db, repository)).toBeNull();
      await expect(
        finishRun(db, again.run.id, {
          status: 'skipped' as 'failed',
          summary: 'x',
          metrics: {},
          finishedAt: new Date(),
        }),
      ).rejects.toThrow(/status must be 'success', 'failed' or 'cancelled'/);
    });

    it('lastFailedRun returns the most recently finished failed run, or null', async () => {
      const repository = uniqueRepo(engine);
      expect(await lastFailedRun(db, repository)).toBeNull();
      const ids: number[] = [];
      for (const [day, finished] of [
        ['2026-01-01', '2026-01-01T03:00:00Z'],
        ['2026-01-03', '2026-01-03T03:00:00Z'],
        ['2026-01-02', '2026-01-02T03:00:00Z'],
      ] as const) {
        const r = await startRun(db, startInput(repository, { runDate: day }));
        if (!r.ok) throw new Error('expected ok');
        ids.push(r.run.id);
        await finishRun(db, r.run.id, {
          status: 'failed',
          summary: day,
          metrics: {},
          finishedAt: new Date(finished),
          error: `failed on ${day}`,
        });
      }
      const s = await startRun(db, startInput(repository, { runDate: '2026-01-04' }));
      if (!s.ok) throw new Error('expected ok');
      await finishRun(db, s.run.id, {
        status: 'success',
        summary: 'ok',
        metrics: {},
        finishedAt: new Date(),
      });
      const last = await lastFailedRun(db, repository);
      expect(last?.id).toBe(ids[1]);
      expect(last?.error).toBe('failed on 2026-01-03');
      expect(last?.runDate).toBe('2026-01-03');
    });

    it('listRecentRuns lists newest first with proposal counts, filtered by repository, limited', async () => {
      const repository = uniqueRepo(engine);
      const runs: number[] = [];
      // The last run recorded has the earliest start time (another clock): ids decide, not start times.
      for (const [day, hour] of [
        ['2026-04-02', '02'],
        ['2026-04-03', '02'],
        ['2026-04-01', '02'],
      ] as const) {
        const r = await startRun(
          db,
          startInput(repository, { runDate: day, startedAt: new Date(`${day}T${hour}:00:00Z`) }),
        );
        if (!r.ok) throw new Error('expected ok');
        runs.push(r.run.id);
      }
      await insertProposal(db, runs[1]!, proposal());
      await insertProposal(
        db,
        runs[1]!,
        proposal({ verdict: 'blocked', blockedReasons: ['diff-cap: too big'] }),
      );
      await insertProposal(db, runs[1]!, proposal({ verdict: 'blocked', blockedReasons: ['path: blocked'] }));
      await startRun(db, startInput(uniqueRepo(engine), { startedAt: new Date('2030-01-01T00:00:00Z') }));

      const listed = await listRecentRuns(db, { repository, limit: 10 });
      expect(listed.map((r) => r.id)).toEqual([runs[2], runs[1], runs[0]]);
      expect(listed.map((r) => [r.proposals, r.allowed, r.blocked])).toEqual([
        [0, 0, 0],
        [3, 1, 2],
        [0, 0, 0],
      ]);
      expect(listed[1]).toMatchObject({ repository, runDate: '2026-04-03', status: 'running' });
      expect((await listRecentRuns(db, { repository, limit: 2 })).map((r) => r.id)).toEqual([
        runs[2],
        runs[1],
      ]);

      const all = await listRecentRuns(db, { limit: 1000 });
      expect(all.length).toBeGreaterThan(listed.length);
      expect(new Set(all.map((r) => r.repository)).size).toBeGreaterThan(1);
      for (let i = 1; i < all.length; i++) expect(all[i - 1]!.id).toBeGreaterThan(all[i]!.id);
      await expect(listRecentRuns(db, { limit: 0 })).rejects.toThrow(
        /limit must be an integer from 1 to 10000, got 0/,
      );
    });

    it('rejects a bad runDate or trigger with a clear error', async () => {
      const repository = uniqueRepo(engine);
      await expect(startRun(db, startInput(repository, { runDate: '2026-02-30' }))).rejects.toThrow(
        `runDate must be a UTC day 'YYYY-MM-DD', got "2026-02-30"`,
      );
      await expect(findRunOnDate(db, repository, '03/01/2026')).rejects.toThrow(/got "03\/01\/2026"/);
      await expect(
        startRun(db, startInput(repository, { trigger: 'cron' as unknown as StartRunInput['trigger'] })),
      ).rejects.toMatchObject({ code: '23514' });
      await expect(startRun(db, startInput(''))).rejects.toThrow(/repository is empty/);
    });
  });

  describe('reflections', () => {
    it('inserts and lists a run’s reflections', async () => {
      const r = await startRun(db, startInput(uniqueRepo(engine)));
      if (!r.ok) throw new Error('expected ok');
      const signals = { commits: 12, failingChecks: ['lint'], nested: { a: [1, 2] } };
      const id = await insertReflection(db, r.run.id, { insights: 'line one\nline two', signals });
      expect(typeof id).toBe('number');
      const listed = await listReflections(db, r.run.id);
      expect(listed).toEqual([
        {
          id,
          runId: r.run.id,
          insights: 'line one\nline two',
          sentiment: null,
          signals,
          createdAt: expect.any(Date),
        },
      ]);
      expect(await listReflections(db, 987654)).toEqual([]);
      await expect(insertReflection(db, 987654, { insights: 'x', signals: {} })).rejects.toMatchObject({
        code: '23503',
      });
    });
  });

  describe('proposals', () => {
    it('inserts allowed and blocked proposals and lists them in camelCase with patch_sha256', async () => {
      const r = await startRun(db, startInput(uniqueRepo(engine)));
      if (!r.ok) throw new Error('expected ok');
      const allowed = proposal();
      const reasons = [
        'path: .github/workflows/ci.yml is blocked',
        'odd, "quoted" {braces} \\ back\\slash',
        'ünïcode',
      ];
      const violations = [
        { ruleId: 'path-blocked', path: '.github/workflows/ci.yml', line: 3, message: 'blocked' },
      ];
      const id1 = await insertProposal(db, r.run.id, allowed);
      const id2 = await insertProposal(db, r.run.id, {
        ...allowed,
        title: 'Edit CI',
        riskLevel: 4,
        computedRisk: 5,
        verdict: 'blocked',
        blockedReasons: reasons,
        violations,
      });
      const id3 = await insertProposal(db, r.run.id, {
        ...allowed,
        title: 'proposer crashed',
        status: 'failed',
        verdict: 'blocked',
        blockedReasons: ['proposer-failed: timeout'],
        patch: null,
        filesChanged: 0,
        linesAdded: 0,
        linesDeleted: 0,
      });
      const listed = await listProposals(db, r.run.id);
      expect(listed.map((p) => p.id)).toEqual([id1, id2, id3]);
      expect(listed[0]).toEqual({
        id: id1,
        runId: r.run.id,
        proposer: 'command:lint-fix',
        type: 'cleanup',
        title: 'Fix typos in docs',
        description: 'Two typos.',
        riskLevel: 1,
        computedRisk: null,
        effort: 1,
        status: 'evaluated',
        verdict: 'allowed',
        allowlisted: true,
        blockedReasons: [],
        violations: [],
        filesChanged: 1,
        linesAdded: 2,
        linesDeleted: 2,
        patch: allowed.patch,
        patchSha256: createHash('sha256').update(allowed.patch!).digest('hex'),
        provenance: { proposer: 'command', command: 'npm run lint:fix', durationMs: 1234 },
        baseSha: null,
        verify: null,
        createdAt: expect.any(Date),
      });
      expect(listed[1]).toMatchObject({
        verdict: 'blocked',
        allowlisted: false,
        riskLevel: 4,
        computedRisk: 5,
        blockedReasons: reasons,
        violations,
      });
      expect(listed[2]).toMatchObject({
        status: 'failed',
        patch: null,
        patchSha256: null,
        allowlisted: false,
      });
    });

    it('refuses an allowed verdict with blocked reasons or status failed, and risk outside 0..5', async () => {
      const r = await startRun(db, startInput(uniqueRepo(engine)));
      if (!r.ok) throw new Error('expected ok');
      await expect(insertProposal(db, r.run.id, proposal({ blockedReasons: ['x'] }))).rejects.toThrow(
        /verdict 'allowed' needs status 'evaluated' and no blocked reasons/,
      );
      await expect(insertProposal(db, r.run.id, proposal({ status: 'failed' }))).rejects.toThrow(
        /verdict 'allowed'/,
      );
      await expect(insertProposal(db, r.run.id, proposal({ riskLevel: 6 }))).rejects.toThrow(
        'proposal riskLevel must be an integer from 0 to 5, got 6',
      );
      // The database enforces the same rule on its own.
      await expect(
        db.query(
          `INSERT INTO self_evolution_proposals (run_id, proposer, type, title, risk_level, status, verdict,
             allowlisted, blocked_reasons)
           VALUES ($1, 'p', 'cleanup', 't', 1, 'evaluated', 'allowed', true, ARRAY['nope'])`,
          [r.run.id],
        ),
      ).rejects.toMatchObject({ code: '23514' });
    });
  });

  describe('feature flags', () => {
    it('gets null for an absent flag, upserts values and keeps metadata unless replaced', async () => {
      const key = `flag_${engine}_${process.pid}`;
      expect(await getFlag(db, key)).toBeNull();
      await setFlag(db, key, true, { enabledBy: 'admin' });
      expect(await getFlag(db, key)).toBe(true);
      await setFlag(db, key, false);
      expect(await getFlag(db, key)).toBe(false);
      let row = (await listFlags(db)).find((f) => f.key === key);
      expect(row).toMatchObject({ key, value: false, metadata: { enabledBy: 'admin' } });
      expect(row!.updatedAt.getTime()).toBeGreaterThanOrEqual(row!.createdAt.getTime());
      await setFlag(db, key, true, { enabledBy: 'someone else' });
      row = (await listFlags(db)).find((f) => f.key === key);
      expect(row).toMatchObject({ value: true, metadata: { enabledBy: 'someone else' } });

      await setFlag(db, `${key}_b`, false);
      const keys = (await listFlags(db)).map((f) => f.key);
      expect(keys).toEqual([...keys].sort());
      expect((await listFlags(db)).find((f) => f.key === `${key}_b`)?.metadata).toEqual({});
      await expect(getFlag(db, ' ')).rejects.toThrow(/feature flag key must be a non-empty string/);
    });
  });
});
