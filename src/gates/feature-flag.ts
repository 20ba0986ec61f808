/**
 * Gate: the database feature flag (seed 004, "Feature Flag": `feature_flags` row `self_evolution_enabled`;
 * "Feature flag defaults to OFF"). One database may serve many repositories, so a per-repository row
 * `self_evolution_enabled:<owner/name>` overrides the global one.
 */
import type { GateResult } from './types.js';

/** The seed's global flag key. */
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
    reason: `feature flag ${GLOBAL_FLAG_KEY} is not set (defaults to off)`,
    details: { key: null, value: null, keysChecked: [repoKey, GLOBAL_FLAG_KEY] },
  };
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
