/**
 * The run's guard and heartbeat (store/run-guard.ts) against a real Postgres: the guard aborts when the signal
 * does, when the lock's connection is terminated (the pg client's events), and when pg_locks no longer shows the
 * lock on that connection or does not answer; the heartbeat timer moves heartbeat_at; untilInterrupted gives an
 * interrupted stage its time to stop and no more.
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { RunInterrupted, type InterruptReason, silentLogger } from '../src/deps.js';
import type { Db } from '../src/store/db.js';
import { tryAcquireRunLock, type RunLock } from '../src/store/lock.js';
import { openDatabase } from '../src/store/open.js';
import { createRunGuard, startHeartbeat, untilInterrupted } from '../src/store/run-guard.js';
import { getRun, startRun } from '../src/store/runs.js';
import { openRunDatabase } from './helpers/run-db.js';
import type { TestDatabase } from './helpers/db.js';
import { lockBackendPid, waitFor } from './helpers/cancel.js';

let database: TestDatabase;
let admin: Db;
let db: Db;

beforeAll(async () => {
  ({ database, admin } = await openRunDatabase('run_guard'));
  db = await openDatabase({ databaseUrl: database.url, embeddedDir: '' });
});

afterAll(async () => {
  await db?.close();
  await admin?.close();
  await database?.drop();
});

/** The RunInterrupted `promise` rejects with, or a failure when it resolves or rejects otherwise. */
async function interruption(promise: Promise<unknown>): Promise<InterruptReason> {
  try {
    await promise;
  } catch (error) {
    if (error instanceof RunInterrupted) return error.reason;
    throw error;
  }
  throw new Error('expected RunInterrupted');
}

/**
 * The run lock of `repository` on a Db of its own (a run's one connection, which a test may terminate); its
 * release() also closes that Db.
 */
async function takeLock(repository: string): Promise<RunLock> {
  const own = await openDatabase({ databaseUrl: database.url, embeddedDir: '' });
  const lock = await tryAcquireRunLock(own, repository);
  if (!lock) throw new Error('lock not taken');
  return {
    ...lock,
    release: async () => {
      await lock.release();
      await own.close();
    },
  };
}

describe('createRunGuard', () => {
  it("aborts with the signal's reason; check() throws RunInterrupted from then on", async () => {
    const outer = new AbortController();
    const guard = createRunGuard({ signal: outer.signal });
    await expect(guard.check()).resolves.toBeUndefined();
    expect(guard.reason).toBeUndefined();
    expect(guard.abortedAt).toBeUndefined();
    outer.abort({ kind: 'signal', signal: 'SIGTERM' });
    expect(guard.signal.aborted).toBe(true);
    expect(guard.reason).toEqual({ kind: 'signal', signal: 'SIGTERM' });
    expect(guard.abortedAt).toEqual(expect.any(Number));
    expect(await interruption(guard.check())).toEqual({ kind: 'signal', signal: 'SIGTERM' });
    guard.dispose();
  });

  it('watching a held lock: check() passes; once the session no longer holds it, lost-lock', async () => {
    const lock = await takeLock('acme/unlocked');
    try {
      const guard = createRunGuard({ lock });
      await expect(guard.check()).resolves.toBeUndefined();
      await lock.session.query('SELECT pg_advisory_unlock_all()');
      expect(await interruption(guard.check())).toEqual({
        kind: 'lost-lock',
        detail: 'pg_locks no longer shows the lock on its connection',
      });
      expect(guard.signal.aborted).toBe(true);
      guard.dispose();
    } finally {
      await lock.release();
    }
  });

  it('the lock connection terminated: the signal aborts at once (no check needed), naming what happened', async () => {
    const lock = await takeLock('acme/terminated');
    try {
      const guard = createRunGuard();
      guard.watch(lock);
      expect(() => guard.watch(lock)).toThrow(/already watched/);
      const backend = await lockBackendPid(admin, 'acme/terminated');
      expect(backend).toEqual(expect.any(Number));
      await admin.query('SELECT pg_terminate_backend($1)', [backend]);
      expect(await waitFor(() => guard.signal.aborted, 10_000)).toBe(true);
      expect(guard.reason).toEqual({
        kind: 'lost-lock',
        detail: expect.stringMatching(
          /^its connection (failed: terminating connection due to administrator command|ended)$/,
        ),
      });
      expect((await interruption(guard.check())).kind).toBe('lost-lock');
      // A listener registered after the loss hears of it too.
      const late = await new Promise<string>((resolve) => lock.session.onLost(resolve));
      expect(late).toBe((guard.reason as { detail: string }).detail);
      guard.dispose();
    } finally {
      await lock.release();
    }
  });

  it('a lock connection that does not answer in time counts as lost', async () => {
    const real = await takeLock('acme/silent');
    try {
      const silent: RunLock = { ...real, isHeld: () => new Promise<boolean>(() => undefined) };
      const guard = createRunGuard({ lock: silent, lockCheckTimeoutMs: 50 });
      expect(await interruption(guard.check())).toEqual({
        kind: 'lost-lock',
        detail: 'its connection did not answer within 0.05 s',
      });
      guard.dispose();
    } finally {
      await real.release();
    }
  });

  it('a released session tells no one: release() is not a loss', async () => {
    const lock = await takeLock('acme/released');
    const guard = createRunGuard({ lock });
    await lock.release();
    await new Promise((r) => setTimeout(r, 100));
    expect(guard.signal.aborted).toBe(false);
    guard.dispose();
  });
});

describe('untilInterrupted', () => {
  it('settles like the work while the run goes on', async () => {
    const guard = createRunGuard();
    await expect(untilInterrupted(Promise.resolve(7), guard, 1000)).resolves.toBe(7);
    await expect(untilInterrupted(Promise.reject(new Error('boom')), guard, 1000)).rejects.toThrow('boom');
  });

  it('once interrupted, waits for the work at most stopMs, then rejects with RunInterrupted', async () => {
    const outer = new AbortController();
    const guard = createRunGuard({ signal: outer.signal });
    let stopped = false;
    const never = untilInterrupted(new Promise(() => undefined), guard, 50);
    const stopping = untilInterrupted(
      new Promise((r) =>
        guard.signal.addEventListener('abort', () =>
          setTimeout(() => {
            stopped = true;
            r('stopped');
          }, 20),
        ),
      ),
      guard,
      5_000,
    );
    outer.abort({ kind: 'signal', signal: 'SIGINT' });
    expect(await interruption(never)).toEqual({ kind: 'signal', signal: 'SIGINT' });
    // Work that stops in time settles as it does (the caller's next check throws).
    await expect(stopping).resolves.toBe('stopped');
    expect(stopped).toBe(true);
  });
});

describe('startHeartbeat', () => {
  it('writes heartbeat_at on every tick and calls onTick; beat() writes at once; stop() ends it', async () => {
    const started = await startRun(db, {
      repository: 'acme/heartbeat',
      runDate: '2026-11-22',
      trigger: 'cli',
      dryRun: true,
      forced: false,
      gates: [],
      startedAt: new Date('2026-11-22T02:00:00Z'),
      config: {},
      overrides: {},
    });
    if (!started.ok) throw new Error('not started');
    let t = new Date('2026-11-22T02:01:00Z').getTime();
    const clock = { now: () => new Date((t += 60_000)) };
    let ticks = 0;
    const pulse = startHeartbeat({
      db,
      runId: started.run.id,
      clock,
      logger: silentLogger,
      intervalMs: 20,
      onTick: async () => {
        ticks++;
      },
    });
    expect(await waitFor(() => ticks >= 2, 5_000)).toBe(true);
    pulse.stop();
    const afterTicks = (await getRun(db, started.run.id))!.heartbeatAt!.getTime();
    expect(afterTicks).toBeGreaterThan(new Date('2026-11-22T02:01:00Z').getTime());
    await pulse.beat();
    const beaten = (await getRun(db, started.run.id))!.heartbeatAt!.getTime();
    expect(beaten).toBeGreaterThan(afterTicks);
    const ticksAtStop = ticks;
    await new Promise((r) => setTimeout(r, 100));
    expect(ticks).toBe(ticksAtStop);
  });
});
