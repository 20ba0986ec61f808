/**
 * What keeps a run honest while it works:
 * - its RunGuard (deps.ts): one AbortSignal that aborts when a signal asks the run to stop (SIGINT, SIGTERM:
 *   the adapters abort RunDeps.signal) or when the connection holding its run lock is lost, and a check()
 *   that, before a side effect, also asks pg_locks whether that connection still holds the lock;
 * - its heartbeat, written every HEARTBEAT_INTERVAL_MS, so a later run never takes it for dead while it lives
 *   (store/runs.ts markStaleRuns).
 */
import { performance } from 'node:perf_hooks';
import { RunInterrupted, type Clock, type InterruptReason, type Logger, type RunGuard } from '../deps.js';
import type { Queryable } from './db.js';
import type { RunLock } from './lock.js';
import { HEARTBEAT_INTERVAL_MS, heartbeat } from './runs.js';

/**
 * How long check() waits for pg_locks to answer on the lock's connection, ms (ten seconds). A connection that
 * does not answer cannot confirm the lock: the run takes it for lost (a false alarm costs one failed run; going on
 * without the lock could make two runs act at once).
 */
export const LOCK_CHECK_TIMEOUT_MS = 10_000;

/** The RunGuard of one run, with what the pipeline needs to clean up after an interruption. */
export interface ManagedRunGuard extends RunGuard {
  /** Why the run must stop (the first reason wins), or undefined while it may go on. */
  readonly reason: InterruptReason | undefined;
  /** performance.now() when it aborted, or undefined: the cleanup's time budget counts from there. */
  readonly abortedAt: number | undefined;
  /**
   * From now on also watch `lock`: its loss (RunLock.onLost: the connection's `error` or `end`, a lease found
   * expired or taken) aborts at once, and check() asks whether it is still held (RunLock.isHeld: pg_locks for an
   * advisory lock, a renewal for a lease; within LOCK_CHECK_TIMEOUT_MS).
   * @throws Error when a lock is already watched
   */
  watch(lock: RunLock): void;
  /** Stops listening to the signal and the lock's session (idempotent); the guard's own signal stays as it is. */
  dispose(): void;
}

/** What {@link createRunGuard} combines. */
export interface RunGuardInput {
  /** Aborted by the adapters on SIGINT/SIGTERM with `{kind: 'signal', signal}` as its reason (RunDeps.signal). */
  signal?: AbortSignal;
  /** The run lock to watch from the start (see ManagedRunGuard.watch). */
  lock?: RunLock;
  /** How long check() waits for pg_locks, ms (default LOCK_CHECK_TIMEOUT_MS). */
  lockCheckTimeoutMs?: number;
}

/** The InterruptReason an aborted signal carries; a reason of another shape counts as a SIGINT. */
function reasonOf(signal: AbortSignal): InterruptReason {
  const r = signal.reason as Partial<InterruptReason> | undefined;
  if (r?.kind === 'signal' && (r.signal === 'SIGINT' || r.signal === 'SIGTERM')) {
    return { kind: 'signal', signal: r.signal };
  }
  if (r?.kind === 'lost-lock' && typeof r.detail === 'string') return { kind: 'lost-lock', detail: r.detail };
  return { kind: 'signal', signal: 'SIGINT' };
}

/**
 * The run's guard: its `signal` aborts (with the InterruptReason as `reason`) when `input.signal` aborts or,
 * once a lock is watched, when the lock's connection is lost; `check()` throws RunInterrupted then, and also
 * when pg_locks no longer shows the lock on that connection or does not answer within the timeout (it aborts
 * the signal first, so running commands stop too). Without a lock, check() only looks at the signal.
 */
export function createRunGuard(input: RunGuardInput = {}): ManagedRunGuard {
  const controller = new AbortController();
  const timeoutMs = input.lockCheckTimeoutMs ?? LOCK_CHECK_TIMEOUT_MS;
  let abortedAt: number | undefined;
  let lock: RunLock | undefined;
  const disposers: Array<() => void> = [];

  const abort = (reason: InterruptReason): void => {
    if (controller.signal.aborted) return;
    abortedAt = performance.now();
    controller.abort(reason);
  };
  const interrupted = (): RunInterrupted => new RunInterrupted(controller.signal.reason as InterruptReason);

  if (input.signal) {
    const outer = input.signal;
    if (outer.aborted) abort(reasonOf(outer));
    else {
      const onAbort = (): void => abort(reasonOf(outer));
      outer.addEventListener('abort', onAbort, { once: true });
      disposers.push(() => outer.removeEventListener('abort', onAbort));
    }
  }

  /** Whether the lock's session holds the lock, or why not; waits at most `timeoutMs`. */
  const confirm = async (held: RunLock): Promise<string | null> => {
    let timer: NodeJS.Timeout | undefined;
    const late = new Promise<'late'>((resolve) => {
      timer = setTimeout(() => resolve('late'), timeoutMs);
      timer.unref();
    });
    try {
      const answer = await Promise.race([held.isHeld(), late]);
      if (answer === 'late') return `its connection did not answer within ${timeoutMs / 1000} s`;
      return answer
        ? null
        : held.kind === 'lease'
          ? `its lease (token ${held.token ?? '?'}) expired or another run took it`
          : 'pg_locks no longer shows the lock on its connection';
    } finally {
      clearTimeout(timer);
    }
  };

  const guard: ManagedRunGuard = {
    signal: controller.signal,
    get reason() {
      return controller.signal.aborted ? (controller.signal.reason as InterruptReason) : undefined;
    },
    get abortedAt() {
      return abortedAt;
    },
    async check(): Promise<void> {
      if (controller.signal.aborted) throw interrupted();
      if (lock) {
        const lost = await confirm(lock);
        if (lost !== null) abort({ kind: 'lost-lock', detail: lost });
      }
      if (controller.signal.aborted) throw interrupted();
    },
    watch(next: RunLock): void {
      if (lock) throw new Error('createRunGuard: a run lock is already watched');
      lock = next;
      disposers.push(next.onLost((detail) => abort({ kind: 'lost-lock', detail })));
    },
    dispose(): void {
      for (const d of disposers.splice(0)) d();
    },
  };
  if (input.lock) guard.watch(input.lock);
  return guard;
}

/** A heartbeat timer started by {@link startHeartbeat}. */
export interface HeartbeatTimer {
  /** Writes one heartbeat now (also what every tick does). Never throws: a failed write is logged. */
  beat(): Promise<void>;
  /** Stops the timer (idempotent); a write in flight finishes on its own. */
  stop(): void;
}

/** What {@link startHeartbeat} needs. */
export interface HeartbeatInput {
  /** Where the run's row is: the run's Db (its one connection, which also holds the run lock). */
  db: Queryable;
  /** The run's id in self_evolution_runs. */
  runId: number;
  /** The run's clock: heartbeat_at is its now(). */
  clock: Clock;
  logger: Logger;
  /** Time between heartbeats, ms (default HEARTBEAT_INTERVAL_MS); the timer does not keep the process alive. */
  intervalMs?: number;
  /** Called after every tick's write (the run confirms its lock there); its rejection is ignored. */
  onTick?: () => Promise<void>;
}

/**
 * Writes run `runId`'s heartbeat (store/runs.ts heartbeat) every `intervalMs` until stopped, so a stage that
 * runs for half an hour (the proposers) keeps its run alive for markStaleRuns. The first tick is one interval
 * after the start (the caller writes one at each stage boundary through `beat()`). A write that fails, or finds
 * the run no longer 'running', is logged as a warning; the timer goes on. Ticks never overlap.
 */
export function startHeartbeat(input: HeartbeatInput): HeartbeatTimer {
  const { db, runId, clock, logger } = input;
  let stopped = false;
  let inFlight: Promise<void> | undefined;
  const beat = (): Promise<void> =>
    heartbeat(db, runId, clock.now()).then(
      (written) => {
        if (!written) logger.warn(`heartbeat: run #${runId} is no longer 'running'`);
      },
      (error: unknown) => {
        logger.warn(
          `heartbeat of run #${runId} not written: ${error instanceof Error ? error.message : String(error)}`,
        );
      },
    );
  const timer = setInterval(() => {
    if (stopped || inFlight) return;
    inFlight = (async () => {
      await beat();
      if (!stopped && input.onTick) await input.onTick().catch(() => undefined);
    })().finally(() => {
      inFlight = undefined;
    });
  }, input.intervalMs ?? HEARTBEAT_INTERVAL_MS);
  timer.unref();
  return {
    beat,
    stop(): void {
      stopped = true;
      clearInterval(timer);
    },
  };
}

/**
 * Waits for `work`, the promise of a stage that starts long work, but not past the run's interruption: once the
 * guard aborts, `work` gets what is left of `stopMs` (counted from the abort) to stop on its own (its commands
 * are killed through the guard's signal, its scratch directories removed in `finally`), then this rejects with
 * RunInterrupted whether or not it stopped. Settles like `work` when `work` settles first.
 * @throws RunInterrupted as described; whatever `work` rejects with
 */
export function untilInterrupted<T>(work: Promise<T>, guard: ManagedRunGuard, stopMs: number): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const onAbort = (): void => {
      const spent = performance.now() - (guard.abortedAt ?? performance.now());
      let timer: NodeJS.Timeout | undefined;
      const late = new Promise<void>((r) => {
        timer = setTimeout(r, Math.max(0, stopMs - spent));
        timer.unref();
      });
      void Promise.race([
        work.then(
          () => undefined,
          () => undefined,
        ),
        late,
      ]).then(() => {
        clearTimeout(timer);
        reject(new RunInterrupted(guard.reason ?? { kind: 'signal', signal: 'SIGINT' }));
      });
    };
    if (guard.signal.aborted) onAbort();
    else guard.signal.addEventListener('abort', onAbort, { once: true });
    work.then(
      (value) => {
        guard.signal.removeEventListener('abort', onAbort);
        resolve(value);
      },
      (error: unknown) => {
        guard.signal.removeEventListener('abort', onAbort);
        reject(error);
      },
    );
  });
}
