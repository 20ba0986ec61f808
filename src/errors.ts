/**
 * What the adapters (src/cli.ts, src/action.ts) tell the user about an error, and with which exit code: one
 * function for both, deciding by `instanceof` (never by `err.name`), so the CLI and the action cannot drift.
 * Imports only error classes and the masking, so `--help` and `check` stay light.
 */
import { ConfigError } from './config/errors.js';
import { FactsError } from './git/errors.js';
import { UsageError } from './options.js';
import { maskSecrets, oneLine } from './secrets.js';

/** The command whose error it is: `check` (and the gate) reserve exit code 1 for "blocked". */
export type ErrorCommand = 'run' | 'check' | 'other';

/** A user message and the exit code for an error. */
export interface UserError {
  /** Secrets masked; a ConfigError keeps every line (one per problem), anything else its first line. */
  message: string;
  /**
   * 2 for input the user must fix (ConfigError, UsageError, and FactsError: an unreadable patch, a bad
   * revision); 1 for anything else (a failed run: a database that is down, a GitHub API error). For `check`
   * every error is 2, because 1 means "blocked".
   */
  exitCode: 1 | 2;
  /** True for input the user must fix. */
  usage: boolean;
}

/**
 * The user message and exit code of `err` (anything thrown: an Error, a string, undefined) in `command`, with
 * every one of `secrets` masked. Never throws; never returns a stack trace.
 */
export function userError(
  err: unknown,
  secrets: readonly string[],
  command: ErrorCommand = 'other',
): UserError {
  const usage = err instanceof ConfigError || err instanceof UsageError || err instanceof FactsError;
  const message = err instanceof ConfigError ? maskSecrets(err.message, secrets) : oneLine(err, secrets);
  return { message, exitCode: usage || command === 'check' ? 2 : 1, usage };
}
