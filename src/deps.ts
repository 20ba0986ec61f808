/**
 * The small interfaces through which the pipeline reaches the outside world (clock, randomness, sleeping,
 * logging). run.ts receives them injected, so tests swap them without module mocking.
 */

/** Wall clock. `now()` returns the current instant; tests pass a fixed or stepping clock. */
export interface Clock {
  now(): Date;
}

/** Uniform random number source in [0, 1). */
export interface Random {
  next(): number;
}

/** Sleeps for `ms` milliseconds. Tests pass a fake that records the requested duration and returns at once. */
export type Sleep = (ms: number) => Promise<void>;

/** Severity of a log line. */
export type LogLevel = 'debug' | 'info' | 'warn' | 'error';

/**
 * Human-readable progress. Implementations must mask secrets (secrets.ts; see report/logger.ts); nothing written
 * through a Logger may contain a token or a database URL.
 */
export interface Logger {
  debug(message: string): void;
  info(message: string): void;
  warn(message: string): void;
  error(message: string): void;
}

/** The real clock. */
export const systemClock: Clock = { now: () => new Date() };

/** Math.random as a Random. */
export const systemRandom: Random = { next: () => Math.random() };

/** setTimeout-based sleep. */
export const realSleep: Sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

/** A Logger that drops everything (for tests and library use). */
export const silentLogger: Logger = { debug() {}, info() {}, warn() {}, error() {} };

/**
 * Why a run must stop before its next side effect: a signal asked it to (SIGINT from Ctrl-C or GitHub's cancel,
 * then SIGTERM), or the database connection that holds its run lock was lost (the lock may now be someone
 * else's).
 */
export type InterruptReason =
  { kind: 'signal'; signal: 'SIGINT' | 'SIGTERM' } | { kind: 'lost-lock'; detail: string };

/** Thrown by RunGuard.check() when the run must stop; `reason` says why. */
export class RunInterrupted extends Error {
  constructor(readonly reason: InterruptReason) {
    super(reason.kind === 'signal' ? `cancelled by ${reason.signal}` : `lost the run lock: ${reason.detail}`);
    this.name = 'RunInterrupted';
  }
}

/**
 * What a stage asks before every side effect (a push, a pull request, a database write that publishes): is the
 * run still allowed to go on? `signal` aborts when a signal arrives or the lock connection fails, so long waits
 * (a command, a sleep) can stop early.
 */
export interface RunGuard {
  /** Aborted (with the InterruptReason as `reason`) when the run must stop. */
  readonly signal: AbortSignal;
  /**
   * Resolves when the run may go on: no signal arrived and the lock's connection still holds the run lock
   * (asked of pg_locks for that backend).
   * @throws RunInterrupted otherwise
   */
  check(): Promise<void>;
}

/** A RunGuard that never interrupts (tests and library use). */
export const neverInterrupted: RunGuard = {
  signal: new AbortController().signal,
  check: async () => undefined,
};
