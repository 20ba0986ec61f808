/**
 * The common shape of every gate's answer, and the two helpers the pipeline uses to decide whether a run
 * goes on (`firstBlocking`) and what it records as its `skip_reason` (`skipReasonOf`).
 *
 * Gates are small functions with no database access of their own: what they need from the store or from
 * GitHub comes in through a narrow injected interface, so each unit-tests without Postgres or network.
 *
 * The answer's shape (GateName, GateOutcome, GateResult) lives in src/records.ts, since the reports show it
 * too; it is re-exported here for the gates.
 */
import type { GateName, GateResult } from '../records.js';

export type { GateName, GateOutcome, GateResult } from '../records.js';

/**
 * Order in which `runGates` runs the gates (cheapest and most decisive first). The circuit breaker comes right
 * after the two switches a human turns (config and feature flag), so a tripped breaker is the skip reason
 * whenever the loop is otherwise on; `force` bypasses neither it nor them.
 */
export const GATE_ORDER: readonly GateName[] = Object.freeze([
  'config-enabled',
  'feature-flag',
  'circuit-breaker',
  'already-ran-today',
  'cooldown',
  'activity',
]);

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
