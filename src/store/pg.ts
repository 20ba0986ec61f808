/**
 * The node-postgres implementation of Db: a small pool for ordinary queries and a dedicated pg.Client per
 * session (session-level advisory locks must stay on one connection).
 */
import pg from 'pg';

import type { Db, DbSession } from './db.js';
import { DatabaseUnavailableError, InvalidDatabaseUrlError } from './errors.js';

/** How long to wait for a TCP connection plus authentication, in milliseconds. */
export const CONNECT_TIMEOUT_MS = 10_000;

/** Most pooled connections one Db opens (sessions are extra, one connection each). */
export const POOL_MAX = 4;

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

/** Turns a connection failure into words (never quoting the driver's message when it may name the user). */
function connectFailureReason(error: unknown, secrets: readonly string[]): { reason: string; code?: string } {
  const code =
    typeof error === 'object' && error !== null && typeof (error as { code?: unknown }).code === 'string'
      ? (error as { code: string }).code
      : undefined;
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
    return { reason: `connection timed out after ${CONNECT_TIMEOUT_MS / 1000} s`, code };
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

/**
 * Opens a Postgres database through node-postgres: a pool of at most POOL_MAX connections for `query` and
 * `exec`, plus one dedicated pg.Client per `session()`. Connects eagerly (SELECT 1), so a bad URL or an
 * unreachable server fails here rather than at the first query.
 *
 * `exec` uses the simple query protocol (several statements allowed, no parameters). Idle-connection errors
 * of the pool and of sessions are absorbed (the next query on a dead connection fails instead), so they
 * never crash the process.
 *
 * @param url postgres:// or postgresql:// URL (sslmode and other libpq parameters as node-postgres accepts)
 * @returns a Db whose description is "postgres host:port/database"
 * @throws InvalidDatabaseUrlError for a URL that is not postgres:// or postgresql://
 * @throws DatabaseUnavailableError when the server cannot be reached or refuses us within
 *   CONNECT_TIMEOUT_MS; the message names host:port/database and the cause, never the user or password
 */
export async function openPostgres(url: string): Promise<Db> {
  const location = describeDatabaseUrl(url);
  const secrets = secretsOf(url);
  const clientConfig: pg.ClientConfig = {
    connectionString: url,
    connectionTimeoutMillis: CONNECT_TIMEOUT_MS,
    application_name: 'self-evolution',
  };
  const pool = new pg.Pool({
    ...clientConfig,
    max: POOL_MAX,
    idleTimeoutMillis: 30_000,
    allowExitOnIdle: true,
  });
  // An idle pooled client whose connection dies emits 'error' on the pool; without a listener Node would
  // crash. The pool drops that client and the next checkout opens a new connection.
  pool.on('error', () => undefined);

  const unavailable = (error: unknown): DatabaseUnavailableError => {
    const { reason, code } = connectFailureReason(error, secrets);
    return new DatabaseUnavailableError(location, reason, code);
  };

  try {
    await pool.query('SELECT 1');
  } catch (error) {
    await pool.end().catch(() => undefined);
    throw unavailable(error);
  }

  const sessions = new Set<DbSession>();
  let closing: Promise<void> | undefined;

  const openSession = async (): Promise<DbSession> => {
    if (closing !== undefined) throw new Error(`postgres ${location} is closed; cannot open a session`);
    const client = new pg.Client(clientConfig);
    let broken = false;
    let lostDetail: string | undefined;
    let released: Promise<void> | undefined;
    const lostListeners = new Set<(detail: string) => void>();
    const lost = (detail: string): void => {
      if (lostDetail !== undefined || released !== undefined) return;
      lostDetail = redact(detail, secrets);
      for (const listener of [...lostListeners]) listener(lostDetail);
      lostListeners.clear();
    };
    // A dedicated connection that dies (server restart, pg_terminate_backend) emits 'error' (when idle) and
    // 'end': absorb the error, tell onLost listeners; queries on it then fail with the driver's error and
    // release() only closes the socket.
    client.on('error', (error: Error) => {
      broken = true;
      lost(`its connection failed: ${error.message}`);
    });
    client.on('end', () => {
      broken = true;
      lost('its connection ended');
    });
    try {
      await client.connect();
    } catch (error) {
      await client.end().catch(() => undefined);
      throw unavailable(error);
    }
    const session: DbSession = {
      async query<T = Record<string, unknown>>(sql: string, params?: unknown[]): Promise<T[]> {
        return rowsOf<T>(await client.query(sql, params));
      },
      async exec(sql: string): Promise<void> {
        await client.query(sql);
      },
      release(): Promise<void> {
        released ??= (async () => {
          sessions.delete(session);
          lostListeners.clear();
          if (!broken) {
            await client.query('SELECT pg_advisory_unlock_all()').catch(() => undefined);
          }
          await client.end().catch(() => undefined);
        })();
        return released;
      },
      onLost(listener: (detail: string) => void): () => void {
        if (lostDetail !== undefined) {
          const detail = lostDetail;
          queueMicrotask(() => listener(detail));
          return () => undefined;
        }
        lostListeners.add(listener);
        return () => void lostListeners.delete(listener);
      },
    };
    sessions.add(session);
    return session;
  };

  return {
    kind: 'postgres',
    description: `postgres ${location}`,
    async query<T = Record<string, unknown>>(sql: string, params?: unknown[]): Promise<T[]> {
      return rowsOf<T>(await pool.query(sql, params));
    },
    async exec(sql: string): Promise<void> {
      await pool.query(sql);
    },
    session: openSession,
    close(): Promise<void> {
      closing ??= (async () => {
        await Promise.all([...sessions].map((s) => s.release()));
        await pool.end().catch(() => undefined);
      })();
      return closing;
    },
  };
}
