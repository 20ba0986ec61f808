/**
 * The run log: a Logger that masks secrets, timestamps each line, keeps every line for the run.log
 * artifact, and forwards to a sink (stderr for the CLI, @actions/core for the action).
 */
import type { Clock, Logger, LogLevel } from '../deps.js';
import { maskSecrets } from '../secrets.js';

/** A Logger that also keeps its lines for the run.log artifact. */
export interface RunLogger extends Logger {
  /** Every line logged so far, masked, as `<ISO time> <LEVEL> <message>`. */
  lines(): string[];
  /** Adds secrets to mask from now on. */
  addSecrets(secrets: readonly string[]): void;
}

/**
 * Creates a RunLogger.
 * @param sink receives each masked message with its level (not timestamped); e.g. write to stderr.
 */
export function createRunLogger(opts: {
  secrets: readonly string[];
  clock: Clock;
  sink: (level: LogLevel, message: string) => void;
}): RunLogger {
  const secrets = [...opts.secrets];
  const kept: string[] = [];
  const log = (level: LogLevel, message: string): void => {
    const masked = maskSecrets(message, secrets);
    kept.push(`${opts.clock.now().toISOString()} ${level.toUpperCase()} ${masked}`);
    opts.sink(level, masked);
  };
  return {
    debug: (m) => log('debug', m),
    info: (m) => log('info', m),
    warn: (m) => log('warn', m),
    error: (m) => log('error', m),
    lines: () => [...kept],
    addSecrets: (more) => void secrets.push(...more),
  };
}
