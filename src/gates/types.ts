/**
 * The common shape of every gate's answer, and the two helpers the pipeline uses to decide whether a run
 * goes on (`firstBlocking`) and what it records as its `skip_reason` (`skipReasonOf`).
 *
 * Gates are small functions with no database access of their own: what they need from the store or from
 * GitHub comes in through a narrow injected interface, so each unit-tests without Postgres or network.
 */

/** The gates, in the order `runGates` runs them. */
export type GateName = 'feature-flag' | 'config-enabled' | 'already-ran-today' | 'cooldown' | 'activity';

/** Order in which `runGates` runs the gates (cheapest and most decisive first). */
export const GATE_ORDER: readonly GateName[] = Object.freeze([
  'config-enabled',
  'feature-flag',
  'already-ran-today',
  'cooldown',
  'activity',
]);

/**
 * What a gate decided.
 * - `pass`: the run may go on.
 * - `skip`: the run stops; `reason` becomes its skip_reason (e.g. the feature flag is off).
 * - `not-checked`: the gate could not or was told not to check (e.g. no GitHub token); the run goes on,
 *   and the reason is reported so nobody mistakes it for a pass.
 * - `error`: the gate failed (a database or GitHub API error). The run stops: it never runs blind.
 */
export type GateOutcome = 'pass' | 'skip' | 'not-checked' | 'error';

/** One gate's answer. `reason` is a short human sentence; `details` is structured data for reports. */
export interface GateResult {
  gate: GateName;
  outcome: GateOutcome;
  reason: string;
  details?: Record<string, unknown>;
}

/** True for the outcomes that stop a run ('skip' and 'error'). */
export function isBlocking(result: GateResult): boolean {
  return result.outcome === 'skip' || result.outcome === 'error';
}

/**
 * The first result, in the given order, that stops the run ('skip' or 'error'), or undefined when the run
 * may go on (every result is 'pass' or 'not-checked').
 */
export function firstBlocking(results: readonly GateResult[]): GateResult | undefined {
  return results.find(isBlocking);
}

/**
 * The short text recorded as the run's `skip_reason` for a blocking result, e.g.
 * "feature flag self_evolution_enabled is off" for a skip, or
 * "activity gate error: GitHub API error: 500 Server Error" for an error (the gate is named so that an
 * error is never mistaken for a decision). For a non-blocking result it returns the reason unchanged.
 */
export function skipReasonOf(result: GateResult): string {
  if (result.outcome === 'error') return `${result.gate} gate error: ${result.reason}`;
  return result.reason;
}
