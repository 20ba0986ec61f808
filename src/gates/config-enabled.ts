/**
 * Gate: the repository's own master switch, `enabled` in `.github/self-evolution-config.json` (default
 * false). Both this and the database feature flag must be on for a run to go on.
 */
import type { Config } from '../config/schema.js';
import type { GateResult } from './types.js';

/** 'pass' when `config.enabled` is true, otherwise 'skip' with "config: enabled is false". Never throws. */
export function checkConfigEnabled(config: Pick<Config, 'enabled'>): GateResult {
  return config.enabled
    ? { gate: 'config-enabled', outcome: 'pass', reason: 'config: enabled is true' }
    : { gate: 'config-enabled', outcome: 'skip', reason: 'config: enabled is false' };
}
