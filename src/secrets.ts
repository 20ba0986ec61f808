/**
 * What counts as a secret of a run, and its masking: the names and values of secret-looking environment
 * variables (kept from a command's environment, masked in its output), the run's own secrets (the token and
 * the database URL), GitHub token shapes, and the functions that mask them in text and in plain data.
 *
 * Bottom floor (the import floors that __tests__/architecture.test.ts enforces): imported by anyone (the sandbox, the GitHub client, reflection, the
 * proposers, the run log, the adapters), importing nothing.
 */

/** Variables removed by name (case-insensitive), whatever passEnv says about patterns. */
const SECRET_NAMES = new Set([
  'GITHUB_TOKEN',
  'GH_TOKEN',
  'DATABASE_URL',
  'ACTIONS_RUNTIME_TOKEN',
  'ACTIONS_ID_TOKEN_REQUEST_TOKEN',
  'ACTIONS_ID_TOKEN_REQUEST_URL',
  'ACTIONS_RESULTS_URL',
  'ACTIONS_RUNTIME_URL',
]);

/** Substrings of variable names that mark a secret (case-insensitive). */
const SECRET_NAME_PARTS = ['TOKEN', 'SECRET', 'PASSWORD', 'PASSWD', 'API_KEY', 'APIKEY', 'PRIVATE_KEY'];

/** A value holding a URL with a password (`scheme://user:password@host`). */
const URL_WITH_PASSWORD = /[a-z][a-z0-9+.-]*:\/\/[^/\s:@]+:[^/\s@]+@/i;

/** True when an environment variable of this name (and value) must not reach a proposer's command. */
export function isSecretEnvName(name: string, value = ''): boolean {
  const upper = name.toUpperCase();
  return (
    SECRET_NAMES.has(upper) ||
    upper.startsWith('INPUT_') ||
    SECRET_NAME_PARTS.some((part) => upper.includes(part)) ||
    URL_WITH_PASSWORD.test(value)
  );
}

/** Shortest value of a secret-looking variable that is masked in output (shorter ones would mask words). */
export const MIN_SECRET_VALUE_LENGTH = 8;

/**
 * The values to mask in anything a run writes, taken from `env`: the values (at least
 * {@link MIN_SECRET_VALUE_LENGTH} characters) of variables that {@link isSecretEnvName} flags, whether or not
 * a proposer's passEnv lets them through, EXCEPT plain action inputs (`INPUT_*` names without a secret
 * part: `INPUT_REQUEST` is the request text, not a secret; `INPUT_GITHUB-TOKEN` is still masked).
 */
export function secretEnvValues(env: Readonly<Record<string, string | undefined>>): string[] {
  const out = new Set<string>();
  for (const [name, value] of Object.entries(env)) {
    if (value === undefined || value.length < MIN_SECRET_VALUE_LENGTH) continue;
    const upper = name.toUpperCase();
    const inputOnly =
      upper.startsWith('INPUT_') &&
      !SECRET_NAME_PARTS.some((part) => upper.includes(part)) &&
      !URL_WITH_PASSWORD.test(value);
    if (!inputOnly && isSecretEnvName(name, value)) out.add(value);
  }
  return [...out];
}

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

/** Bidirectional controls (they can reorder what a reader sees): removed from untrusted text. */
export const BIDI_CONTROLS = /[\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]/g;

/**
 * Untrusted text as one plain line: line breaks, other control characters and separators become spaces,
 * bidirectional controls are removed, runs of white space collapse, the ends are trimmed; longer than `max`
 * code points, it is cut to `max` with `…` as the last. Markdown is not escaped. (For an error, see
 * {@link oneLine}: its message's first line, secrets masked.)
 */
export function oneLineText(text: string, max = Infinity): string {
  const flat = text
    .replace(BIDI_CONTROLS, '')
    .replace(/[\p{Cc}\p{Zl}\p{Zp}]/gu, ' ')
    .replace(/\s+/g, ' ')
    .trim();
  if (flat.length <= max) return flat;
  const points = Array.from(flat);
  return points.length > max ? `${points.slice(0, max - 1).join('')}…` : flat;
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
export function secretsOf(values: {
  databaseUrl?: string;
  githubToken?: string;
  prToken?: string;
}): string[] {
  const out: string[] = [];
  if (values.githubToken) out.push(values.githubToken);
  if (values.prToken) out.push(values.prToken);
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

/**
 * Patterns of GitHub credentials (classic and fine-grained personal access tokens, OAuth, app installation,
 * user-to-server and refresh tokens). Used to scrub any text that leaves a gate, reflection or a proposer,
 * as a second line of defence: no message is built from a token in the first place.
 */
const TOKEN_PATTERN = /\b(?:gh[pousr]_[A-Za-z0-9_]{10,}|github_pat_[A-Za-z0-9_]{10,})/g;

/** Replaces anything that looks like a GitHub token in `text` with `***`. */
export function redactTokens(text: string): string {
  return text.replace(TOKEN_PATTERN, '***');
}
