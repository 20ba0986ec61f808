/**
 * The rails' view of the config: the settings evaluate() reads, copied out of config.safetyRails and
 * config.wildcardFeature so the rails depend on a small plain object, not on the config file's shape.
 */
import type { Config } from '../config/schema.js';
import type { RailsPolicy } from './types.js';

/**
 * Builds the RailsPolicy of a validated config (after environment overrides). Arrays are copied and frozen,
 * so a policy cannot be changed through the config or vice versa. Defaults (seed 004): maxFilesChanged 10,
 * maxLinesOfCode 500, maxRiskLevel 2, wildcard off with maxRiskLevel 1.
 */
export function policyFromConfig(config: Config): RailsPolicy {
  const rails = config.safetyRails;
  const wildcard = config.wildcardFeature;
  return {
    allowedPaths: Object.freeze([...rails.allowedPaths]),
    blockedPaths: Object.freeze([...rails.blockedPaths]),
    maxFilesChanged: rails.diffCaps.maxFilesChanged,
    maxLinesOfCode: rails.diffCaps.maxLinesOfCode,
    allowedChangeTypes: Object.freeze([...rails.allowedChangeTypes]),
    maxRiskLevel: rails.maxRiskLevel,
    wildcard: {
      enabled: wildcard.enabled,
      maxRiskLevel: wildcard.maxRiskLevel,
      allowedTypes: Object.freeze([...wildcard.allowedTypes]),
    },
  };
}
