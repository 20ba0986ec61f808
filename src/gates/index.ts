/**
 * All gates in one call. `runGates` runs every gate (no early exit, so the report shows each one) in the
 * order config-enabled, feature-flag, circuit-breaker, already-ran-today, cooldown, activity; a gate that
 * throws becomes outcome 'error' with its message. The pipeline calls it twice: before jitter (cheap exit) and
 * again after jitter under the run lock; `firstBlocking` on the result decides whether the run goes on.
 */
import type { Config } from '../config/schema.js';
import { checkActivity } from './activity.js';
import { checkAlreadyRanToday, type RunOnDateLookup } from './already-ran.js';
import { breakerLimitsOf, checkCircuitBreaker, type BreakerSource } from './breaker.js';
import { checkConfigEnabled } from './config-enabled.js';
import { checkCooldown, type FailedRunLookup } from './cooldown.js';
import { checkFeatureFlag, type FlagLookup } from './feature-flag.js';
import type { ActivitySource } from '../github/activity.js';
import { errorMessage } from '../github/errors.js';
import type { GateName, GateResult } from './types.js';

export * from './types.js';
export * from './feature-flag.js';
export * from './config-enabled.js';
export * from './already-ran.js';
export * from './cooldown.js';
export * from './activity.js';
export * from './breaker.js';
export * from './jitter.js';

/** The store's side of the run-history gates (already-ran-today and cooldown). */
export type RunHistory = RunOnDateLookup & FailedRunLookup;

/** Everything the gates need. */
export interface GateDeps {
  flags: FlagLookup;
  history: RunHistory;
  /** The circuit breaker's inputs (store and GitHub; gates/breaker-stage.ts prepareBreaker builds it). */
  breaker: BreakerSource;
  /** Absent when there is no GitHub token: the activity gate is then 'not-checked'. */
  activity?: ActivitySource;
  /**
   * Validated config (uses enabled, rollbackConfig.cooldownHours and maxFailuresBeforeDisable, breaker,
   * scheduleConfig.skipDuringDeployments).
   */
  config: Config;
  /** 'owner/name'. */
  repository: string;
  /** 'YYYY-MM-DD', UTC (utcRunDate(now)). */
  runDate: string;
  /** Current time (from the injected Clock). */
  now: Date;
  /** Bypasses already-ran-today and cooldown only (never the circuit breaker). */
  force: boolean;
  /** This workflow run's id, excluded from the activity gate. */
  currentRunId?: number;
}

/**
 * Runs all six gates in GATE_ORDER and returns their results in that order. Never throws: a gate that
 * throws (or rejects) yields `{gate, outcome: 'error', reason: <message>}`.
 */
export async function runGates(deps: GateDeps): Promise<GateResult[]> {
  const steps: Array<[GateName, () => GateResult | Promise<GateResult>]> = [
    ['config-enabled', () => checkConfigEnabled(deps.config)],
    ['feature-flag', () => checkFeatureFlag(deps.flags, deps.repository)],
    [
      'circuit-breaker',
      () => checkCircuitBreaker(deps.breaker, deps.repository, breakerLimitsOf(deps.config), deps.now),
    ],
    [
      'already-ran-today',
      () => checkAlreadyRanToday(deps.history, deps.repository, deps.runDate, deps.force),
    ],
    [
      'cooldown',
      () =>
        checkCooldown(
          deps.history,
          deps.repository,
          deps.now,
          deps.config.rollbackConfig.cooldownHours,
          deps.force,
        ),
    ],
    [
      'activity',
      () =>
        checkActivity(deps.activity, deps.repository, {
          skipDuringDeployments: deps.config.scheduleConfig.skipDuringDeployments,
          ...(deps.currentRunId !== undefined ? { currentRunId: deps.currentRunId } : {}),
        }),
    ],
  ];
  const results: GateResult[] = [];
  for (const [gate, step] of steps) {
    try {
      results.push(await step());
    } catch (error) {
      results.push({ gate, outcome: 'error', reason: errorMessage(error) });
    }
  }
  return results;
}
