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
