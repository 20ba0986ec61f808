/**
 * The run log: a Logger that masks secrets, timestamps each line, keeps every line for the run.log
 * artifact, and forwards to a sink (stderr for the CLI, @actions/core for the action).
 */
import type { Clock, Logger, LogLevel } from '../deps.js';

/** Replacement shown where a secret was. */
export const MASK = '***';

/**
 * Returns `text` with every occurrence of each secret replaced by `***`, and with the credentials of any
 * URL (`scheme://user:password@host`) removed, so a database URL that slipped into an error message
 * still shows no password. Secrets shorter than 4 characters are ignored (they would mask ordinary words).
 */
export function maskSecrets(text: string, secrets: readonly string[]): string {
  let out = text;
  const sorted = [...new Set(secrets.filter((s) => s && s.length >= 4))].sort((a, b) => b.length - a.length);
  for (const secret of sorted) out = out.split(secret).join(MASK);
  return out.replace(/([a-z][a-z0-9+.-]*:\/\/)[^/\s:@]+(?::[^/\s@]*)?@/gi, `$1${MASK}@`);
}

/** An error (or any thrown value) as its message's first line, secrets masked: never a stack trace. */
export function oneLine(err: unknown, secrets: readonly string[]): string {
  const text = err instanceof Error ? err.message : String(err);
  return maskSecrets(text.split('\n')[0] ?? '', secrets);
}

/**
 * A copy of `value` (plain JSON-like data) with {@link maskSecrets} applied to every string in it, object
 * keys included, recursively. Non-plain values (Dates, class instances) are kept as they are.
 */
export function maskDeep<T>(value: T, secrets: readonly string[]): T {
  const walk = (v: unknown): unknown => {
    if (typeof v === 'string') return maskSecrets(v, secrets);
    if (Array.isArray(v)) return v.map(walk);
    if (v !== null && typeof v === 'object' && Object.getPrototypeOf(v) === Object.prototype) {
      return Object.fromEntries(
        Object.entries(v as Record<string, unknown>).map(([k, x]) => [maskSecrets(k, secrets), walk(x)]),
      );
    }
    return v;
  };
  return walk(value) as T;
}

/**
 * The secrets to mask for a run: the token and the database URL, plus the URL's password on its own
 * (a driver may quote it) and its percent-decoded form.
 */
export function secretsOf(values: { databaseUrl?: string; githubToken?: string }): string[] {
  const out: string[] = [];
  if (values.githubToken) out.push(values.githubToken);
  if (values.databaseUrl) {
    out.push(values.databaseUrl);
    try {
      const url = new URL(values.databaseUrl);
      if (url.password) {
        out.push(url.password);
        out.push(decodeURIComponent(url.password));
      }
    } catch {
      // not a URL: the whole value is masked already
    }
  }
  return out;
}

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
