/**
 * A real PgBouncer (Debian's `pgbouncer` package) in front of the test Postgres, for the pooled-connection tests:
 * started on a free port with its own ini file in a temporary directory, stopped (SIGINT) and removed after.
 *
 *   const bouncer = await startPgBouncer({ poolMode: 'transaction', poolSize: 2 });
 *   if (!bouncer) return;                       // pgbouncer not installed: the caller skips, saying so
 *   const url = bouncer.urlFor(testDb.name);    // postgres://.../<db> through PgBouncer
 *   ...
 *   await bouncer.stop();
 *
 * Clients do not authenticate to it (auth_type any); it logs in to Postgres with the admin URL's user and password.
 * As root it runs as the `postgres` user, else as the current user (PgBouncer refuses to run as root).
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { chmodSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createConnection, createServer } from 'node:net';
import { tmpdir, userInfo } from 'node:os';
import { join } from 'node:path';

import { testAdminUrl } from './db.js';

/** Where Debian installs PgBouncer; PGBOUNCER_PATH overrides it. */
const PGBOUNCER = process.env.PGBOUNCER_PATH ?? '/usr/sbin/pgbouncer';

/** A running PgBouncer. */
export interface PgBouncer {
  /** The port it listens on (127.0.0.1). */
  port: number;
  /** A URL of database `name` through PgBouncer (no password: auth_type any). */
  urlFor(name: string): string;
  /** Stops it and removes its directory. Idempotent. */
  stop(): Promise<void>;
}

/** Whether PgBouncer is installed here (the pooled tests skip, with a message, when it is not). */
export function pgBouncerAvailable(): boolean {
  return spawnSync(PGBOUNCER, ['--version'], { stdio: 'ignore' }).status === 0;
}

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.unref();
    server.on('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      const port = typeof address === 'object' && address !== null ? address.port : 0;
      server.close(() => (port > 0 ? resolve(port) : reject(new Error('no free port'))));
    });
  });
}

/** Resolves once something accepts TCP connections on `port`, or rejects after `ms`. */
async function listening(port: number, child: ChildProcess, log: () => string, ms = 10_000): Promise<void> {
  const deadline = Date.now() + ms;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`pgbouncer exited with ${child.exitCode}: ${log()}`);
    const ok = await new Promise<boolean>((resolve) => {
      const socket = createConnection({ host: '127.0.0.1', port }, () => {
        socket.destroy();
        resolve(true);
      });
      socket.on('error', () => resolve(false));
    });
    if (ok) return;
    if (Date.now() > deadline)
      throw new Error(`pgbouncer did not listen on ${port} within ${ms} ms: ${log()}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/**
 * Starts PgBouncer in front of the test server (testAdminUrl()).
 * @param options.poolMode 'transaction' (a server connection per transaction) or 'session'
 * @param options.poolSize server connections per database/user pair (default_pool_size)
 * @returns the running PgBouncer, or null when it is not installed
 * @throws Error with PgBouncer's output when it does not start
 */
export async function startPgBouncer(options: {
  poolMode: 'transaction' | 'session';
  poolSize: number;
}): Promise<PgBouncer | null> {
  if (!pgBouncerAvailable()) return null;
  const admin = new URL(testAdminUrl());
  const port = await freePort();
  const dir = mkdtempSync(join(tmpdir(), 'se-pgbouncer-'));
  chmodSync(dir, 0o755);
  const target = [
    `host=${admin.hostname || '127.0.0.1'}`,
    `port=${admin.port || '5432'}`,
    `user=${decodeURIComponent(admin.username || 'postgres')}`,
    ...(admin.password ? [`password=${decodeURIComponent(admin.password)}`] : []),
  ].join(' ');
  const ini = join(dir, 'pgbouncer.ini');
  writeFileSync(
    ini,
    [
      '[databases]',
      `* = ${target}`,
      '[pgbouncer]',
      'listen_addr = 127.0.0.1',
      `listen_port = ${port}`,
      'unix_socket_dir =',
      'auth_type = any',
      `pool_mode = ${options.poolMode}`,
      `default_pool_size = ${options.poolSize}`,
      'max_client_conn = 500',
      'ignore_startup_parameters = extra_float_digits,options',
      'server_reset_query =',
      '',
    ].join('\n'),
    { mode: 0o644 },
  );
  const asRoot = userInfo().uid === 0;
  const child = spawn(PGBOUNCER, [...(asRoot ? ['-u', 'postgres'] : []), ini], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  const keep = (chunk: Buffer): void => {
    output = (output + chunk.toString('utf8')).slice(-4000);
  };
  child.stdout?.on('data', keep);
  child.stderr?.on('data', keep);
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  let stopped: Promise<void> | undefined;
  const stop = (): Promise<void> => {
    stopped ??= (async () => {
      if (child.exitCode === null) child.kill('SIGINT');
      await Promise.race([exited, new Promise((r) => setTimeout(r, 5_000).unref())]);
      if (child.exitCode === null) child.kill('SIGKILL');
      rmSync(dir, { recursive: true, force: true });
    })();
    return stopped;
  };
  try {
    await listening(port, child, () => output);
  } catch (error) {
    await stop();
    throw error;
  }
  return {
    port,
    urlFor: (name) =>
      `postgres://${encodeURIComponent(admin.username || 'postgres')}@127.0.0.1:${port}/${name}`,
    stop,
  };
}
