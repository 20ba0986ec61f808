/**
 * Gate: the database feature flag, `feature_flags` row `self_evolution_enabled`; a flag that is absent is off,
 * so nothing runs until someone turns it on. One database may serve many repositories, so a per-repository
 * row `self_evolution_enabled:<owner/name>` overrides the global one.
 */
import type { GateResult } from './types.js';

/** The global flag key. */
export const GLOBAL_FLAG_KEY = 'self_evolution_enabled';

/**
 * The per-repository override key, `self_evolution_enabled:<repository>`, with the repository exactly as
 * given (Options.repository, 'owner/name'); whoever writes the flag must use the same spelling.
 */
export function repositoryFlagKey(repository: string): string {
  return `${GLOBAL_FLAG_KEY}:${repository}`;
}

/** Reads one boolean feature flag. Implemented by the store over `feature_flags`. */
export interface FlagLookup {
  /**
   * The flag's value, or null when no row has this key.
   * @throws on a database error (runGates turns it into outcome 'error').
   */
  getFlag(key: string): Promise<boolean | null>;
}

/**
 * Checks the feature flag for `repository`: the per-repository key first, then the global key; a flag
 * absent from both is off. 'pass' when on, 'skip' when off or absent; the reason names the key that decided.
 * @throws whatever `lookup.getFlag` throws.
 */
export async function checkFeatureFlag(lookup: FlagLookup, repository: string): Promise<GateResult> {
  const repoKey = repositoryFlagKey(repository);
  const repoValue = await lookup.getFlag(repoKey);
  if (repoValue !== null) return decide(repoKey, repoValue, repoKey);

  const globalValue = await lookup.getFlag(GLOBAL_FLAG_KEY);
  if (globalValue !== null) return decide(GLOBAL_FLAG_KEY, globalValue, repoKey);

  return {
    gate: 'feature-flag',
    outcome: 'skip',
    reason: `feature flag ${GLOBAL_FLAG_KEY} is not set (defaults to off); ${howToTurnOn(repoKey)}`,
    details: { key: null, value: null, keysChecked: [repoKey, GLOBAL_FLAG_KEY] },
  };
}

/** How to turn the flag on, for a skip reason: the global key, or the key of this repository alone. */
export function howToTurnOn(repoKey: string): string {
  return `turn it on with \`npx self-evolution flag set ${GLOBAL_FLAG_KEY} true\` (every repository of this database) or \`npx self-evolution flag set ${repoKey} true\` (this repository only)`;
}

function decide(key: string, value: boolean, repoKey: string): GateResult {
  const keysChecked = key === repoKey ? [repoKey] : [repoKey, GLOBAL_FLAG_KEY];
  return {
    gate: 'feature-flag',
    outcome: value ? 'pass' : 'skip',
    reason: `feature flag ${key} is ${value ? 'on' : 'off'}`,
    details: { key, value, keysChecked },
  };
}
