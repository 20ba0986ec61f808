/**
 * The config's error type, in a module of its own that imports nothing, so an adapter can recognise a
 * ConfigError (`instanceof`) without loading the schema, zod and the JSON parser (the CLI's `--help` and the
 * commands that never read a config start faster).
 */

/** One problem in a config file or in the environment overrides. */
export interface ConfigIssue {
  /**
   * Where: a JSON path into the file such as `$.safetyRails.diffCaps.maxLinesOfCode` or `$.proposers[0].kind`
   * (`$` is the whole document); for an environment override, the variable's name.
   */
  path: string;
  /** What was found and what is allowed, e.g. `expected an integer > 0, found -3`. */
  message: string;
}

/** What went wrong: no file, an unreadable file, bad JSON, bad values, or a bad environment override. */
export type ConfigErrorKind = 'not-found' | 'unreadable' | 'json' | 'schema' | 'env';

/**
 * A config the user must fix. `message` is a multi-line human text (first line: what and where; then one
 * `  - <path>: <problem>` line per issue); `issues` lists every problem found; `source` is the file path (or
 * `environment` for overrides). The CLI exits with code 2 on it; the action fails the step with its message.
 */
export class ConfigError extends Error {
  override readonly name = 'ConfigError';
  readonly kind: ConfigErrorKind;
  readonly source: string;
  readonly issues: ConfigIssue[];

  constructor(message: string, details: { kind: ConfigErrorKind; source: string; issues?: ConfigIssue[] }) {
    super(message);
    this.kind = details.kind;
    this.source = details.source;
    this.issues = details.issues ?? [];
  }
}
