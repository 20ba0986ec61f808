/**
 * The config a run uses: the file named by the options, validated, with the environment overrides applied;
 * and where that file lies inside the repository, as the rails protect it.
 */
import { isAbsolute, relative, resolve, sep } from 'node:path';
import type { Options } from '../options.js';
import { DEFAULT_POLICY_PATH } from '../rails/policy.js';
import { loadConfig } from './load.js';
import { applyEnvOverrides } from './overrides.js';
import type { Config } from './schema.js';

/**
 * Stage: the config file (`options.configPath`, relative to `options.repoDir` unless absolute), validated,
 * with `options.envOverrides` applied (recorded on the run).
 * @throws ConfigError for a missing or invalid config file (exit 2)
 */
export async function loadEffectiveConfig(
  options: Pick<Options, 'configPath' | 'repoDir' | 'envOverrides'>,
): Promise<Config> {
  const path = isAbsolute(options.configPath)
    ? options.configPath
    : resolve(options.repoDir, options.configPath);
  const loaded = await loadConfig(path);
  const config = applyEnvOverrides(loaded.config, options.envOverrides);
  return config;
}

/**
 * The config file the run reads as the rails protect it: relative to the repository root, `/`-separated; the
 * default path (DEFAULT_POLICY_PATH) when the file lies outside the repository (then no change can touch it
 * anyway).
 */
export function policyPathOf(options: Pick<Options, 'configPath' | 'repoDir'>): string {
  const abs = isAbsolute(options.configPath)
    ? options.configPath
    : resolve(options.repoDir, options.configPath);
  const rel = relative(options.repoDir, abs);
  return rel === '' || rel.startsWith('..') || isAbsolute(rel)
    ? DEFAULT_POLICY_PATH
    : rel.split(sep).join('/');
}
