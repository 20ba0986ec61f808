/**
 * Gate: after a failed run, wait `rollbackConfig.cooldownHours` (default 24) before the next one
 * ("Previous run failed (24h cooldown)"). `force` bypasses it. Which runs
 * count is the store's rule: a cancelled run (SIGINT/SIGTERM) is not a failure, and a stale one (its process
 * died; closed by a later run) starts no cooldown either (store/runs.ts lastFailedRun).
 */
import type { GateResult } from './types.js';

/** The repository's most recent failed run, as the store reports it. */
export interface FailedRun {
  /** The run's id in self_evolution_runs. */
  id: number;
  /** When it finished; null when it never recorded an end (rows older than the stale marking's finished_at). */
  finishedAt: Date | null;
  /** When it started; the cooldown counts from here when finishedAt is null. */
  startedAt: Date;
}

/** Finds the last failed run. Implemented by the store over `self_evolution_runs`. */
export interface FailedRunLookup {
  /**
   * The most recent run of `repository` with status failed that a cooldown counts from (not a stale one), or
   * null.
   * @throws on a database error (runGates turns it into outcome 'error').
   */
  lastFailedRun(repository: string): Promise<FailedRun | null>;
}

const HOUR_MS = 3_600_000;

/**
 * 'skip' when the last failed run ended (finishedAt, else startedAt) less than `cooldownHours` before `now`;
 * the reason says until when, as an ISO time. 'pass' otherwise, when `cooldownHours` is 0, or with `force`
 * (reason "forced"; the store is not asked).
 * @throws RangeError when `cooldownHours` is negative or not finite, or `now` is invalid; whatever
 *   `history.lastFailedRun` throws.
 */
export async function checkCooldown(
  history: FailedRunLookup,
  repository: string,
  now: Date,
  cooldownHours: number,
  force: boolean,
): Promise<GateResult> {
  if (!Number.isFinite(cooldownHours) || cooldownHours < 0) {
    throw new RangeError(`cooldownHours must be a finite number >= 0, got ${cooldownHours}`);
  }
  if (Number.isNaN(now.getTime())) throw new RangeError('checkCooldown: invalid current time');
  if (force) return { gate: 'cooldown', outcome: 'pass', reason: 'forced' };
  if (cooldownHours === 0) {
    return {
      gate: 'cooldown',
      outcome: 'pass',
      reason: 'cooldown disabled (rollbackConfig.cooldownHours is 0)',
    };
  }

  const failed = await history.lastFailedRun(repository);
  if (!failed) return { gate: 'cooldown', outcome: 'pass', reason: 'no failed run' };

  const endedAt = failed.finishedAt ?? failed.startedAt;
  const until = new Date(endedAt.getTime() + cooldownHours * HOUR_MS);
  const details = {
    runId: failed.id,
    endedAt: endedAt.toISOString(),
    cooldownHours,
    until: until.toISOString(),
  };
  if (now.getTime() < until.getTime()) {
    return {
      gate: 'cooldown',
      outcome: 'skip',
      reason: `previous run #${failed.id} failed at ${details.endedAt}; cooldown of ${cooldownHours}h until ${details.until}`,
      details,
    };
  }
  return {
    gate: 'cooldown',
    outcome: 'pass',
    reason: `cooldown after run #${failed.id} ended at ${details.until}`,
    details,
  };
}
