/**
 * The node-postgres implementation of Db: ONE connection (a pg.Client) per Db. Every query, every session and the
 * run lock share it, so a run holds one connection for its whole length, and a database shared by a fleet of
 * repositories needs one connection per running run. Opening waits, with jittered exponential backoff, while the
 * server answers "too many connections" (53300) or "cannot connect now" (57P03), within a budget the caller sets.
 */
import { performance } from 'node:perf_hooks';

import pg from 'pg';

import type { ConnectionRoute, Db, DbSession, WriteFence } from './db.js';
import { DatabaseUnavailableError, InvalidDatabaseUrlError } from './errors.js';

/** How long to wait for a TCP connection plus authentication, in milliseconds. */
export const CONNECT_TIMEOUT_MS = 10_000;

/**
 * The SQLSTATEs after which connecting again later can succeed: too_many_connections (53300; also "remaining
 * connection slots are reserved") and cannot_connect_now (57P03: the server is starting or shutting down). From
 * PostgreSQL's documentation, appendix "PostgreSQL Error Codes".
 */
export const RETRYABLE_CONNECT_CODES: readonly string[] = ['53300', '57P03'];

/** First backoff ceiling of connect retries, ms; it doubles after each attempt up to CONNECT_BACKOFF_MAX_MS. */
export const CONNECT_BACKOFF_BASE_MS = 1_000;

/** Largest backoff ceiling of connect retries, ms. */
export const CONNECT_BACKOFF_MAX_MS = 30_000;

/** Shortest wait between two connect attempts, ms (full jitter could otherwise retry at once). */
export const CONNECT_BACKOFF_MIN_MS = 250;

/** One wait before connecting again (ConnectRetry.onWait). */
export interface ConnectWait {
  /** Attempts made so far (1 after the first refusal). */
  attempt: number;
  /** The SQLSTATE the server answered, e.g. "53300", or "timeout" when it did not answer in time. */
  code: string;
  /** The refusal in words, e.g. "too many connections (53300)". */
  reason: string;
  /** How long this wait lasts, ms. */
  delayMs: number;
  /** How much of the budget is left after this wait, ms. */
  remainingMs: number;
}

/**
 * How opening a database waits while the server is full (RETRYABLE_CONNECT_CODES) or does not answer within
 * CONNECT_TIMEOUT_MS.
 */
export interface ConnectRetry {
  /** How long to keep trying, ms, counted from the first attempt; 0 tries once. */
  budgetMs: number;
  /**
   * Waits `ms` (default setTimeout). The budget counts the waits asked for plus the real time of the attempts, so
   * a test's fake sleep that returns at once spends it as a real one would.
   */
  sleep?: (ms: number) => Promise<void>;
  /** Uniform random number in [0, 1) for the jitter (default Math.random). */
  random?: () => number;
  /** Stops the waiting: the refusal in hand is thrown at once when it aborts. */
  signal?: AbortSignal;
  /** Told before each wait (the run logs it). */
  onWait?: (wait: ConnectWait) => void;
}

/** Options of {@link openPostgres}. */
export interface OpenPostgresOptions {
  /** Waiting while the server is full; absent: one attempt. */
  connectRetry?: ConnectRetry;
  /** How long one connection attempt may take, ms (default CONNECT_TIMEOUT_MS). */
  connectTimeoutMs?: number;
}

/**
 * The wait before attempt `attempt + 1`: "full jitter" exponential backoff (a uniform draw below a ceiling that
 * doubles each attempt, from CONNECT_BACKOFF_BASE_MS up to CONNECT_BACKOFF_MAX_MS; as described in the AWS
 * Architecture Blog's "Exponential Backoff And Jitter"), at least CONNECT_BACKOFF_MIN_MS, at most `remainingMs`.
 * @param attempt attempts made so far (>= 1)
 * @param random a draw in [0, 1)
 * @param remainingMs what is left of the budget, ms
 * @returns the wait in ms (an integer >= 0)
 */
export function connectBackoffMs(attempt: number, random: number, remainingMs: number): number {
  const ceiling = Math.min(CONNECT_BACKOFF_MAX_MS, CONNECT_BACKOFF_BASE_MS * 2 ** Math.max(0, attempt - 1));
  const wait = Math.max(CONNECT_BACKOFF_MIN_MS, Math.floor(random * ceiling));
  return Math.max(0, Math.min(wait, Math.floor(remainingMs)));
}

/**
 * Describes a database URL as "host:port/database" without user, password or query string, for messages.
 * A Unix-socket URL (postgres:///db?host=/run/postgresql) is described with the socket directory as host;
 * a URL without a database is described with "(default database)".
 * @throws InvalidDatabaseUrlError when `url` is not a URL or its scheme is not postgres: / postgresql:
 *   (the message never repeats the URL, which may hold a password)
 */
export function describeDatabaseUrl(url: string): string {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw new InvalidDatabaseUrlError('the value is not a URL');
  }
  if (parsed.protocol !== 'postgres:' && parsed.protocol !== 'postgresql:') {
    throw new InvalidDatabaseUrlError(`the scheme is "${parsed.protocol.replace(/:$/, '')}"`);
  }
  const host = parsed.hostname !== '' ? parsed.hostname : (parsed.searchParams.get('host') ?? 'localhost');
  const port = parsed.port !== '' ? parsed.port : (parsed.searchParams.get('port') ?? '5432');
  let database = parsed.pathname.replace(/^\//, '');
  try {
    database = decodeURIComponent(database);
  } catch {
    // keep it encoded
  }
  return `${host}:${port}/${database === '' ? '(default database)' : database}`;
}

/** The strings a message must never contain for this URL: the URL itself, its password and user. */
function secretsOf(url: string): string[] {
  const secrets = [url];
  try {
    const parsed = new URL(url);
    for (const raw of [parsed.password, parsed.username]) {
      if (raw === '') continue;
      secrets.push(raw);
      try {
        secrets.push(decodeURIComponent(raw));
      } catch {
        // raw only
      }
    }
  } catch {
    // not a URL: only the whole string
  }
  return secrets.filter((s) => s !== '').sort((a, b) => b.length - a.length);
}

/** Replaces every secret in `text` with "***". */
function redact(text: string, secrets: readonly string[]): string {
  let out = text;
  for (const secret of secrets) out = out.split(secret).join('***');
  return out;
}

/** The driver's error code or SQLSTATE, when there is one. */
function codeOf(error: unknown): string | undefined {
  return typeof error === 'object' && error !== null && typeof (error as { code?: unknown }).code === 'string'
    ? (error as { code: string }).code
    : undefined;
}

/** Turns a connection failure into words (never quoting the driver's message when it may name the user). */
function connectFailureReason(
  error: unknown,
  secrets: readonly string[],
  timeoutMs = CONNECT_TIMEOUT_MS,
): { reason: string; code?: string } {
  const code = codeOf(error);
  const message = error instanceof Error ? error.message : String(error);
  const known: Record<string, string> = {
    ECONNREFUSED: 'connection refused (ECONNREFUSED); is the server running and listening on that port?',
    ENOTFOUND: 'host not found (ENOTFOUND)',
    EAI_AGAIN: 'host name lookup failed (EAI_AGAIN)',
    ETIMEDOUT: 'connection timed out (ETIMEDOUT)',
    ECONNRESET: 'connection reset by the server (ECONNRESET)',
    EHOSTUNREACH: 'host unreachable (EHOSTUNREACH)',
    ENETUNREACH: 'network unreachable (ENETUNREACH)',
    ENOENT: 'no Unix socket at that path (ENOENT)',
    '28P01': 'password authentication failed (28P01)',
    '28000': 'authentication rejected: no pg_hba.conf entry or no such role (28000)',
    '3D000': 'the database does not exist (3D000)',
    '53300': 'too many connections (53300)',
    '57P03': 'the server is starting up or shutting down (57P03)',
    '42501': 'permission denied to connect (42501)',
  };
  if (code !== undefined && known[code] !== undefined) return { reason: known[code], code };
  if (/timeout/i.test(message)) {
    return { reason: `connection timed out after ${timeoutMs / 1000} s`, code };
  }
  const text = redact(message, secrets).trim();
  const words = text === '' ? 'unknown error' : text;
  return { reason: code !== undefined ? `${words} (${code})` : words, code };
}

/** Extracts the rows of a pg result (the last result when a script returned several). */
function rowsOf<T>(result: pg.QueryResult | pg.QueryResult[]): T[] {
  const last = Array.isArray(result) ? result[result.length - 1] : result;
  return (last?.rows ?? []) as T[];
}

/** Statements a write fence lets through unchecked: reads and transaction control. Everything else is a write. */
const UNFENCED = /^\s*(?:SELECT|SHOW|EXPLAIN|VALUES|BEGIN|START|COMMIT|END|ROLLBACK|SAVEPOINT|RELEASE)\b/i;

/** The local TCP port of a connected pg.Client, or undefined over a Unix socket (driver internals, read safely). */
function localPortOf(client: pg.Client): number | undefined {
  const stream = (client as unknown as { connection?: { stream?: { localPort?: unknown } } }).connection
    ?.stream;
  return typeof stream?.localPort === 'number' ? stream.localPort : undefined;
}

/**
 * Opens a Postgres database through node-postgres: ONE connection for `query`, `exec`, every `session()` and the
 * write fence (see Db). Connects eagerly (SELECT 1), so a bad URL or an unreachable server fails here rather than
 * at the first query; while the server answers 53300 or 57P03, or does not answer within the connect timeout, it
 * connects again after a jittered exponential backoff (connectBackoffMs) until `options.connectRetry.budgetMs` is
 * spent.
 *
 * Statements run one at a time, in call order. `exec` uses the simple query protocol (several statements allowed,
 * no parameters). When the connection dies (its error is absorbed, so it never crashes the process), the onLost
 * listeners hear it (a run lock held on it is gone) and the next statement opens a new connection, one attempt
 * without waiting; nothing held on the old one (a session advisory lock) is taken again.
 *
 * @param url postgres:// or postgresql:// URL (sslmode and other libpq parameters as node-postgres accepts)
 * @returns a Db whose description is "postgres host:port/database"
 * @throws InvalidDatabaseUrlError for a URL that is not postgres:// or postgresql://
 * @throws DatabaseUnavailableError when the server cannot be reached or refuses us within CONNECT_TIMEOUT_MS
 *   (after the retry budget for 53300/57P03); the message names host:port/database and the cause, never the
 *   user or password; `attempts` says how many connections were tried
 */
export async function openPostgres(url: string, options: OpenPostgresOptions = {}): Promise<Db> {
  const location = describeDatabaseUrl(url);
  const secrets = secretsOf(url);
  const clientConfig: pg.ClientConfig = {
    connectionString: url,
    connectionTimeoutMillis: options.connectTimeoutMs ?? CONNECT_TIMEOUT_MS,
    application_name: 'self-evolution',
  };
  const unavailable = (error: unknown, attempts: number, spentMs: number): DatabaseUnavailableError => {
    const { reason, code } = connectFailureReason(error, secrets, clientConfig.connectionTimeoutMillis);
    const waited = attempts > 1 ? `; tried ${attempts} times over ${Math.round(spentMs / 1000)} s` : '';
    return new DatabaseUnavailableError(location, `${reason}${waited}`, code, attempts);
  };

  let client = await connectWithRetry(clientConfig, options.connectRetry, unavailable, secrets);

  let broken = false;
  let lostDetail: string | undefined;
  let closing: Promise<void> | undefined;
  const lostListeners = new Set<(detail: string) => void>();
  const lost = (detail: string): void => {
    if (lostDetail !== undefined || closing !== undefined) return;
    lostDetail = redact(detail, secrets);
    for (const listener of [...lostListeners]) listener(lostDetail);
    lostListeners.clear();
  };
  // A connection that dies (server restart, pg_terminate_backend, an idle killer) emits 'error' (when idle) and
  // 'end': absorb the error and tell the onLost listeners (the run lock it held is gone). The next statement opens
  // a new connection (one attempt), so a stopping run can still close its record; the lock is not taken again.
  const watch = (c: pg.Client): void => {
    c.on('error', (error: Error) => {
      if (c !== client) return;
      broken = true;
      lost(`its connection failed: ${error.message}`);
    });
    c.on('end', () => {
      if (c !== client) return;
      broken = true;
      lost('its connection ended');
    });
  };
  watch(client);
  // Statements run one at a time, so a fenced write's transaction is never interleaved with another statement.
  let tail: Promise<unknown> = Promise.resolve();
  const exclusive = <T>(work: () => Promise<T>): Promise<T> => {
    const next = tail.then(work, work);
    tail = next.catch(() => undefined);
    return next;
  };
  const open = async (): Promise<void> => {
    if (closing !== undefined) throw new Error(`postgres ${location} is closed`);
    if (broken) {
      const next = await connectWithRetry(clientConfig, undefined, unavailable, secrets);
      void client.end().catch(() => undefined);
      client = next;
      broken = false;
      watch(next);
    }
  };

  let fence: WriteFence | undefined;
  /** Runs `run` (one statement) after the fence's check, in one transaction, when there is a fence and it writes. */
  const fenced = async <T>(sql: string, run: () => Promise<T>): Promise<T> => {
    const current = fence;
    if (current === undefined || UNFENCED.test(sql)) return run();
    await client.query('BEGIN');
    try {
      const rows = rowsOf(await client.query(current.sql, [...current.params]));
      if (rows.length === 0) throw current.refused();
      const result = await run();
      await client.query('COMMIT');
      return result;
    } catch (error) {
      await client.query('ROLLBACK').catch(() => undefined);
      throw error;
    }
  };

  const query = <T = Record<string, unknown>>(sql: string, params?: unknown[]): Promise<T[]> =>
    exclusive(async () => {
      await open();
      return fenced(sql, async () => rowsOf<T>(await client.query(sql, params)));
    });
  const exec = (sql: string): Promise<void> =>
    exclusive(async () => {
      await open();
      await fenced(sql, async () => void (await client.query(sql)));
    });

  let sessions = 0;
  const db: Db = {
    kind: 'postgres',
    description: `postgres ${location}`,
    query,
    exec,
    async session(): Promise<DbSession> {
      if (closing !== undefined) throw new Error(`postgres ${location} is closed`);
      sessions++;
      let released: Promise<void> | undefined;
      return {
        query,
        exec,
        release(): Promise<void> {
          released ??= (async () => {
            sessions--;
            // The connection is shared: its advisory locks go when the last session is released (or at close).
            if (sessions === 0 && !broken && closing === undefined) {
              await exclusive(() => client.query('SELECT pg_advisory_unlock_all()')).catch(() => undefined);
            }
          })();
          return released;
        },
        onLost: (listener) => onLost(listener),
      };
    },
    setWriteFence(next: WriteFence | undefined): void {
      fence = next;
    },
    async route(): Promise<ConnectionRoute> {
      const rows = await query<{ client_port: number | null; server_port: number | null }>(
        'SELECT inet_client_port() AS client_port, inet_server_port() AS server_port',
      );
      const ours = localPortOf(client);
      const seen = rows[0]?.client_port ?? null;
      if (ours === undefined) {
        return {
          kind: 'unknown',
          detail: 'connected over a Unix socket: a pooler there cannot be told apart',
        };
      }
      if (seen === ours) {
        return { kind: 'direct', detail: `the server sees our own client port ${ours}` };
      }
      return {
        kind: 'proxied',
        detail:
          seen === null
            ? `we connected over TCP (port ${ours}) but the server sees a Unix-socket client: a pooler or proxy is in between`
            : `the server sees client port ${seen}, ours is ${ours}: a pooler or proxy is in between`,
      };
    },
    close(): Promise<void> {
      closing ??= (async () => {
        lostListeners.clear();
        await tail.catch(() => undefined);
        await client.end().catch(() => undefined);
      })();
      return closing;
    },
  };
  const onLost = (listener: (detail: string) => void): (() => void) => {
    if (lostDetail !== undefined) {
      const detail = lostDetail;
      queueMicrotask(() => listener(detail));
      return () => undefined;
    }
    lostListeners.add(listener);
    return () => void lostListeners.delete(listener);
  };
  return db;
}

/** Whether a connection failure without a code is node-postgres's connect timeout. */
function isTimeout(error: unknown): boolean {
  return /timeout/i.test(error instanceof Error ? error.message : String(error));
}

/**
 * Connects one pg.Client, connecting again while the server is full (RETRYABLE_CONNECT_CODES) or too busy to answer
 * within CONNECT_TIMEOUT_MS, until the budget is spent, and checks it with SELECT 1.
 * @throws DatabaseUnavailableError (made by `unavailable`) for any other failure, or when the budget is spent
 */
async function connectWithRetry(
  config: pg.ClientConfig,
  retry: ConnectRetry | undefined,
  unavailable: (error: unknown, attempts: number, spentMs: number) => DatabaseUnavailableError,
  secrets: readonly string[],
): Promise<pg.Client> {
  const sleep = retry?.sleep ?? ((ms: number) => new Promise<void>((r) => setTimeout(r, ms)));
  const random = retry?.random ?? Math.random;
  const budgetMs = Math.max(0, retry?.budgetMs ?? 0);
  let spentMs = 0;
  const aborted = (): boolean => retry?.signal?.aborted === true;
  for (let attempt = 1; ; attempt++) {
    const client = new pg.Client(config);
    client.on('error', () => undefined);
    const started = performance.now();
    try {
      await client.connect();
      await client.query('SELECT 1');
      client.removeAllListeners('error');
      return client;
    } catch (error) {
      await client.end().catch(() => undefined);
      spentMs += performance.now() - started;
      const code = codeOf(error);
      const remainingMs = budgetMs - spentMs;
      // A full or overloaded server also shows as a connection that times out (it accepts the socket and answers
      // too late): waiting helps there too. Other failures (refused, unknown host, bad password) do not pass.
      const timedOut = code === 'ETIMEDOUT' || (code === undefined && isTimeout(error));
      const retryable = timedOut || (code !== undefined && RETRYABLE_CONNECT_CODES.includes(code));
      if (!retryable || remainingMs <= 0 || aborted()) {
        throw unavailable(error, attempt, spentMs);
      }
      const delayMs = connectBackoffMs(attempt, random(), remainingMs);
      const { reason } = connectFailureReason(error, secrets, config.connectionTimeoutMillis);
      retry?.onWait?.({
        attempt,
        code: code ?? 'timeout',
        reason,
        delayMs,
        remainingMs: remainingMs - delayMs,
      });
      const waitStarted = performance.now();
      await abortable(sleep(delayMs), retry?.signal);
      spentMs += aborted() ? performance.now() - waitStarted : delayMs;
      if (aborted()) throw unavailable(error, attempt, spentMs);
    }
  }
}

/** Settles when `wait` does or when `signal` aborts, whichever is first. */
function abortable(wait: Promise<void>, signal: AbortSignal | undefined): Promise<void> {
  if (signal === undefined) return wait;
  if (signal.aborted) return Promise.resolve();
  return new Promise<void>((resolve) => {
    const done = (): void => {
      signal.removeEventListener('abort', done);
      resolve();
    };
    signal.addEventListener('abort', done, { once: true });
    void wait.then(done, done);
  });
}

/**
 * The ConnectRetry of a run: `seconds` of budget (config database.connectRetrySeconds), the run's sleep and random,
 * its signal (a cancelled run stops waiting), and each wait logged as a warning naming the database, the refusal,
 * the wait and what is left.
 * @param seconds the budget, s (>= 0)
 * @param description the database's safe description, for the log (never a URL)
 */
export function connectRetryFor(
  seconds: number,
  description: string,
  deps: {
    sleep: (ms: number) => Promise<void>;
    random: { next(): number };
    logger: { warn(message: string): void };
  },
  signal?: AbortSignal,
): ConnectRetry {
  return {
    budgetMs: seconds * 1000,
    sleep: deps.sleep,
    random: () => deps.random.next(),
    ...(signal ? { signal } : {}),
    onWait: (wait) =>
      deps.logger.warn(
        `database full: ${description} answered ${wait.reason}; connecting again in ${(wait.delayMs / 1000).toFixed(1)} s ` +
          `(attempt ${wait.attempt + 1}; ${Math.round(wait.remainingMs / 1000)} s left of database.connectRetrySeconds)`,
      ),
  };
}

/**
 * What connectRetryFor needs of a job without a run's injected sleep and random (publish, rollback): real
 * setTimeout and Math.random, and the job's logger.
 */
export function waiting(deps: {
  logger: { warn(message: string): void };
}): Parameters<typeof connectRetryFor>[2] {
  return {
    sleep: (ms) => new Promise<void>((resolve) => setTimeout(resolve, ms)),
    random: { next: () => Math.random() },
    logger: deps.logger,
  };
}
