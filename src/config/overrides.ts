/**
 * Environment overrides of config limits: SELF_EVOLUTION_MAX_FILES, SELF_EVOLUTION_MAX_LOC and SELF_EVOLUTION_TIMEOUT. Adapters
 * parse them once (parseEnvOverrides); run.ts applies them over the loaded config (applyEnvOverrides).
 */
import type { EnvOverrides } from '../options.js';
import { ConfigError, type ConfigIssue } from './load.js';
import type { Config } from './schema.js';

/** Highest SELF_EVOLUTION_TIMEOUT, in seconds (the schema's max of a command proposer's timeoutSeconds). */
export const MAX_TIMEOUT_SECONDS = 3600;

/** The variables read, what each replaces and its unit. */
export const ENV_OVERRIDE_VARIABLES = Object.freeze({
  SELF_EVOLUTION_MAX_FILES: {
    key: 'maxFilesChanged',
    setting: 'safetyRails.diffCaps.maxFilesChanged',
    unit: 'files',
  },
  SELF_EVOLUTION_MAX_LOC: {
    key: 'maxLinesOfCode',
    setting: 'safetyRails.diffCaps.maxLinesOfCode',
    unit: 'lines',
  },
  SELF_EVOLUTION_TIMEOUT: {
    key: 'commandTimeoutSeconds',
    setting: "every command proposer's timeoutSeconds",
    unit: 'seconds',
  },
} as const);

/**
 * Reads the overrides from `env` (e.g. process.env). Unset or empty (after trimming) means "no override".
 * SELF_EVOLUTION_MAX_FILES and SELF_EVOLUTION_MAX_LOC must be positive integers written in decimal digits;
 * SELF_EVOLUTION_TIMEOUT a positive integer number of seconds <= 3600. Pure.
 * @returns only the overrides that are set, e.g. `{ maxLinesOfCode: 200 }`.
 * @throws ConfigError kind 'env' naming every bad variable, its value and what is allowed.
 */
export function parseEnvOverrides(env: Record<string, string | undefined>): EnvOverrides {
  const out: EnvOverrides = {};
  const issues: ConfigIssue[] = [];
  for (const [name, spec] of Object.entries(ENV_OVERRIDE_VARIABLES)) {
    const raw = env[name];
    if (raw === undefined || raw.trim() === '') continue;
    const text = raw.trim();
    const max = name === 'SELF_EVOLUTION_TIMEOUT' ? MAX_TIMEOUT_SECONDS : Number.MAX_SAFE_INTEGER;
    const value = /^\d+$/.test(text) ? Number(text) : NaN;
    if (!Number.isSafeInteger(value) || value < 1 || value > max) {
      const range = max === MAX_TIMEOUT_SECONDS ? `1..${MAX_TIMEOUT_SECONDS}` : 'at least 1';
      issues.push({
        path: name,
        message: `${name}=${JSON.stringify(raw)} is not allowed: expected a whole number of ${spec.unit}, ${range}, written in digits (it replaces ${spec.setting}); unset it to keep the config value`,
      });
      continue;
    }
    out[spec.key] = value;
  }
  if (issues.length) {
    throw new ConfigError(
      issues.length === 1
        ? `invalid environment override: ${issues[0]!.message}`
        : `invalid environment overrides (${issues.length} problems):\n${issues.map((i) => `  - ${i.message}`).join('\n')}`,
      { kind: 'env', source: 'environment', issues },
    );
  }
  return out;
}

/**
 * A new config with the overrides applied: maxFilesChanged and maxLinesOfCode of safetyRails.diffCaps, and
 * timeoutSeconds of every `command` proposer. Unset overrides leave the config value. Pure: `config` is not
 * changed; objects on the changed paths are copied.
 */
export function applyEnvOverrides(config: Config, o: EnvOverrides): Config {
  const caps = config.safetyRails.diffCaps;
  return {
    ...config,
    safetyRails: {
      ...config.safetyRails,
      diffCaps: {
        ...caps,
        maxFilesChanged: o.maxFilesChanged ?? caps.maxFilesChanged,
        maxLinesOfCode: o.maxLinesOfCode ?? caps.maxLinesOfCode,
      },
    },
    proposers: config.proposers.map((p) =>
      p.kind === 'command' && o.commandTimeoutSeconds !== undefined
        ? { ...p, timeoutSeconds: o.commandTimeoutSeconds }
        : p,
    ),
  };
}
