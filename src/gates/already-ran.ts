/**
 * Gate: at most one run per repository per UTC day ("Checks if today's run
 * exists in `self_evolution_runs`"). `force` (workflow_dispatch input / CLI --force) bypasses it.
 */
import type { GateResult } from './types.js';

/** A run of the same repository on the same UTC day, as the store reports it. */
export interface RunOnDate {
  /** The run's id in self_evolution_runs. */
  id: number;
  /** Its status, e.g. 'running', 'completed', 'failed', 'skipped'. */
  status: string;
}

/** Finds today's run. Implemented by the store over `self_evolution_runs`. */
export interface RunOnDateLookup {
  /**
   * A run of `repository` whose run date is `runDate` ('YYYY-MM-DD', UTC) and that counts against the
   * one-run-per-day rule, or null. Which runs count (e.g. whether skipped or forced runs do) is the
   * store's rule; this gate blocks on whatever it returns.
   * @throws on a database error (runGates turns it into outcome 'error').
   */
  findRunOnDate(repository: string, runDate: string): Promise<RunOnDate | null>;
}

const RUN_DATE = /^\d{4}-\d{2}-\d{2}$/;

/**
 * The UTC calendar date of `now` as 'YYYY-MM-DD' (the run's run_date).
 * @throws RangeError when `now` is an invalid Date.
 */
export function utcRunDate(now: Date): string {
  if (Number.isNaN(now.getTime())) throw new RangeError('utcRunDate: invalid date');
  return now.toISOString().slice(0, 10);
}

/**
 * 'skip' with "already ran today (run #N, status)" when the store has a run of `repository` on `runDate`;
 * 'pass' otherwise. With `force` it passes with reason "forced" without asking the store.
 * @throws Error when `runDate` is not 'YYYY-MM-DD'; whatever `history.findRunOnDate` throws.
 */
export async function checkAlreadyRanToday(
  history: RunOnDateLookup,
  repository: string,
  runDate: string,
  force: boolean,
): Promise<GateResult> {
  if (!RUN_DATE.test(runDate)) throw new Error(`run date must be YYYY-MM-DD (UTC), got "${runDate}"`);
  if (force) return { gate: 'already-ran-today', outcome: 'pass', reason: 'forced', details: { runDate } };

  const run = await history.findRunOnDate(repository, runDate);
  if (run) {
    return {
      gate: 'already-ran-today',
      outcome: 'skip',
      reason: `already ran today (run #${run.id}, ${run.status})`,
      details: { runDate, runId: run.id, status: run.status },
    };
  }
  return {
    gate: 'already-ran-today',
    outcome: 'pass',
    reason: `no run yet on ${runDate} (UTC)`,
    details: { runDate },
  };
}
