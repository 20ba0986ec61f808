/**
 * Cancellation of a run by a signal (GitHub's cancel, Ctrl-C): the adapters' SIGINT/SIGTERM handlers, which
 * abort the run's AbortSignal instead of letting Node kill the process mid-stage, the exit codes a cancelled run
 * ends with, and the time budget its cleanup must fit in.
 */

/**
 * The time a cancelled run has, from the first signal to its exit, ms. GitHub Actions: cancellation sends SIGINT,
 * waits 7.5 s, sends SIGTERM, waits 2.5 s, then SIGKILL. A run must be gone within the first 7.5 s: the SIGTERM is
 * already the second signal, and the SIGKILL 2.5 s later would leave its record 'running' and its scratch
 * directories behind.
 */
export const CANCEL_GRACE_MS = 7_500;

/**
 * Of CANCEL_GRACE_MS, what the run's cleanup may take from the moment it was interrupted, ms: stopping the stage
 * that runs (STAGE_STOP_MS), closing the run record, writing its artifacts, releasing the lock and closing the
 * database. The last second is left for the adapter to print the result and for Node to exit.
 */
export const CLEANUP_BUDGET_MS = 6_500;

/**
 * Of CLEANUP_BUDGET_MS, how long the pipeline waits for the interrupted stage to stop, ms: its commands' process
 * groups get SIGTERM, then SIGKILL 1 s later (runner.ts CANCEL_KILL_GRACE_MS), and its scratch worktrees are
 * removed in `finally` blocks. A stage still busy after that is left behind (its writes are to its own run).
 */
export const STAGE_STOP_MS = 4_000;

/** The signals that cancel a run. */
export type InterruptSignal = 'SIGINT' | 'SIGTERM';

/** The exit code of a process ended by `signal`, as a shell reports it: 128 + its number (SIGINT 130, SIGTERM 143). */
export function exitCodeOf(signal: InterruptSignal): 130 | 143 {
  return signal === 'SIGINT' ? 130 : 143;
}

/** What handleInterrupts listens on: process, or an EventEmitter in tests. */
export interface SignalSource {
  on(event: InterruptSignal, listener: () => void): unknown;
  removeListener(event: InterruptSignal, listener: () => void): unknown;
}

/** SIGINT/SIGTERM handlers installed by {@link handleInterrupts}. */
export interface InterruptHandlers {
  /**
   * Aborted by the first SIGINT or SIGTERM, with `{kind: 'signal', signal}` (deps.ts InterruptReason) as its
   * reason: pass it as RunDeps.signal.
   */
  readonly signal: AbortSignal;
  /** The first signal received, or undefined. */
  readonly received: InterruptSignal | undefined;
  /** Removes the handlers (idempotent): Node's default (the process ends at once) applies again. */
  dispose(): void;
}

/**
 * Installs SIGINT and SIGTERM handlers on `source` (default: process) for the duration of a run. The first signal
 * aborts `signal`; later ones only call `onRepeat`, so a second Ctrl-C or GitHub's SIGTERM does not cut the
 * cleanup short (the cleanup is bounded by CLEANUP_BUDGET_MS instead). Call dispose() when the run returned.
 * @param options.onSignal called on every signal received, with whether it was the first
 */
export function handleInterrupts(
  options: { source?: SignalSource; onSignal?: (signal: InterruptSignal, first: boolean) => void } = {},
): InterruptHandlers {
  const source: SignalSource = options.source ?? process;
  const controller = new AbortController();
  let received: InterruptSignal | undefined;
  const listeners = (['SIGINT', 'SIGTERM'] as const).map((name) => {
    const listener = (): void => {
      const first = received === undefined;
      if (first) {
        received = name;
        controller.abort({ kind: 'signal', signal: name });
      }
      options.onSignal?.(name, first);
    };
    source.on(name, listener);
    return { name, listener };
  });
  let disposed = false;
  return {
    signal: controller.signal,
    get received() {
      return received;
    },
    dispose(): void {
      if (disposed) return;
      disposed = true;
      for (const { name, listener } of listeners) source.removeListener(name, listener);
    },
  };
}

/**
 * Waits for `work` to settle, at most `ms` (0 or less: not at all; Infinity: as long as it takes). Resolves true when it settled in time
 * (fulfilled or rejected: a rejection is swallowed), false otherwise; `work` itself goes on. Never rejects; the
 * timer does not keep the process alive.
 */
export async function within(work: Promise<unknown>, ms: number): Promise<boolean> {
  let timer: NodeJS.Timeout | undefined;
  const settled = work.then(
    () => true,
    () => true,
  );
  if (ms === Infinity) return settled;
  if (!(ms > 0)) return Promise.race([settled, Promise.resolve(false)]);
  const late = new Promise<boolean>((resolve) => {
    timer = setTimeout(() => resolve(false), ms);
    timer.unref();
  });
  try {
    return await Promise.race([settled, late]);
  } finally {
    clearTimeout(timer);
  }
}
