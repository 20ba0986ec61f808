/** Opening databases: URL descriptions, connection failures (never leaking credentials), pg sessions. */
import { createServer } from 'node:net';

import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';

import type { Db } from '../src/store/db.js';
import {
  DatabaseUnavailableError,
  InvalidDatabaseUrlError,
  describeDatabaseUrl,
  openDatabase,
} from '../src/store/open.js';
import { openPostgres } from '../src/store/pg.js';
import { createTestDatabase, testAdminUrl, type TestDatabase } from './helpers/db.js';

/** A TCP port on 127.0.0.1 that nothing listens on (it was free a moment ago). */
async function closedPort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.on('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      const port = typeof address === 'object' && address !== null ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}

describe('describeDatabaseUrl', () => {
  it('describes host:port/database without credentials or parameters', () => {
    expect(describeDatabaseUrl('postgres://u:pw@db.example.com:6543/app?sslmode=require')).toBe(
      'db.example.com:6543/app',
    );
    expect(describeDatabaseUrl('postgresql://u@localhost/app')).toBe('localhost:5432/app');
    expect(describeDatabaseUrl('postgres:///app?host=/var/run/postgresql')).toBe(
      '/var/run/postgresql:5432/app',
    );
    expect(describeDatabaseUrl('postgres://u:pw@h')).toBe('h:5432/(default database)');
    expect(describeDatabaseUrl('postgres://u:pw@[::1]:5433/my%20db')).toBe('[::1]:5433/my db');
  });

  it('rejects other schemes and non-URLs without repeating the value', () => {
    const bad = ['mysql://root:hunter2secret@h/db', 'hunter2secret', 'http://u:hunter2secret@h/db'];
    for (const url of bad) {
      let error: unknown;
      try {
        describeDatabaseUrl(url);
      } catch (e) {
        error = e;
      }
      expect(error).toBeInstanceOf(InvalidDatabaseUrlError);
      expect((error as Error).message).toMatch(/^invalid database URL: .*; expected postgres:\/\//);
      expect((error as Error).message).not.toContain('hunter2secret');
    }
    expect(() => describeDatabaseUrl('mysql://h/db')).toThrow('the scheme is "mysql"');
    expect(() => describeDatabaseUrl('hunter2secret')).toThrow('the value is not a URL');
  });
});

describe('connection failures', () => {
  it('a closed port fails at open with DatabaseUnavailableError naming host:port/db and the cause only', async () => {
    const port = await closedPort();
    const url = `postgres://alice:Pa55w0rd-Secret@127.0.0.1:${port}/appdb`;
    const error = await openPostgres(url).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(DatabaseUnavailableError);
    const message = (error as Error).message;
    expect(message).toBe(
      `cannot connect to postgres 127.0.0.1:${port}/appdb: connection refused (ECONNREFUSED); ` +
        'is the server running and listening on that port?',
    );
    expect(message).not.toContain('Pa55w0rd-Secret');
    expect(message).not.toContain('alice');
    expect(message).not.toContain('postgres://');
    expect(JSON.stringify(error)).not.toContain('Pa55w0rd-Secret');
    expect((error as DatabaseUnavailableError).code).toBe('ECONNREFUSED');
  });

  it('a host name resolving to several addresses gives the same clear reason', async () => {
    const port = await closedPort();
    const error = await openDatabase({
      databaseUrl: `postgresql://alice:Pa55w0rd-Secret@localhost:${port}/appdb`,
      embeddedDir: '/nonexistent',
    }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(DatabaseUnavailableError);
    expect((error as Error).message).toMatch(
      new RegExp(
        `^cannot connect to postgres localhost:${port}/appdb: connection refused \\(ECONNREFUSED\\)`,
      ),
    );
    expect((error as Error).message).not.toContain('Pa55w0rd-Secret');
  });

  it('authentication failure and a missing database are reported without user or password', async () => {
    const admin = new URL(testAdminUrl());
    const wrongUser = new URL(admin);
    wrongUser.username = 'se_no_such_user';
    wrongUser.password = 'Wr0ng-Secret-Pw';
    const authError = await openPostgres(wrongUser.toString()).catch((e: unknown) => e);
    expect(authError).toBeInstanceOf(DatabaseUnavailableError);
    expect(['28P01', '28000']).toContain((authError as DatabaseUnavailableError).code);
    expect((authError as Error).message).toMatch(
      /^cannot connect to postgres .*: (password authentication|authentication rejected)/,
    );
    expect((authError as Error).message).not.toContain('se_no_such_user');
    expect((authError as Error).message).not.toContain('Wr0ng-Secret-Pw');

    const missing = new URL(admin);
    missing.pathname = '/se_database_that_does_not_exist';
    const missingError = await openPostgres(missing.toString()).catch((e: unknown) => e);
    expect(missingError).toBeInstanceOf(DatabaseUnavailableError);
    expect((missingError as Error).message).toBe(
      `cannot connect to postgres ${describeDatabaseUrl(missing.toString())}: the database does not exist (3D000)`,
    );
    if (admin.password) expect((missingError as Error).message).not.toContain(admin.password);
  });

  it('a server that does not answer in time is tried again within the budget, then reported with the attempts', async () => {
    // Accepts the socket and never answers: what an overloaded server looks like from a client.
    const silent = createServer(() => undefined);
    await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve));
    const port = (silent.address() as { port: number }).port;
    const waits: number[] = [];
    try {
      const error = await openPostgres(`postgres://u:pw-secret@127.0.0.1:${port}/app`, {
        connectTimeoutMs: 100,
        connectRetry: {
          budgetMs: 1_000,
          sleep: async () => undefined,
          random: () => 0.5,
          onWait: (w) => waits.push(w.attempt),
        },
      }).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(DatabaseUnavailableError);
      const unavailable = error as DatabaseUnavailableError;
      expect(unavailable.attempts).toBeGreaterThan(1);
      expect(waits).toEqual(Array.from({ length: unavailable.attempts - 1 }, (_, i) => i + 1));
      expect(unavailable.message).toMatch(
        new RegExp(
          `^cannot connect to postgres 127\\.0\\.0\\.1:${port}/app: connection timed out after 0\\.1 s; tried \\d+ times over 1 s$`,
        ),
      );
      expect(unavailable.message).not.toContain('pw-secret');
    } finally {
      silent.close();
    }
  });

  it('a refused connection is not retried, whatever the budget', async () => {
    const closed = createServer();
    await new Promise<void>((resolve) => closed.listen(0, '127.0.0.1', resolve));
    const port = (closed.address() as { port: number }).port;
    await new Promise<void>((resolve) => closed.close(() => resolve()));
    const waits: number[] = [];
    const error = await openPostgres(`postgres://u@127.0.0.1:${port}/app`, {
      connectRetry: { budgetMs: 60_000, sleep: async () => undefined, onWait: (w) => waits.push(w.attempt) },
    }).catch((e: unknown) => e);
    expect(error).toMatchObject({ code: 'ECONNREFUSED', attempts: 1 });
    expect(waits).toEqual([]);
  });

  it('openDatabase rejects a URL that is not postgres', async () => {
    await expect(
      openDatabase({ databaseUrl: 'mysql://h/db', embeddedDir: '/nonexistent' }),
    ).rejects.toBeInstanceOf(InvalidDatabaseUrlError);
  });
});

describe('openPostgres', () => {
  let testDb: TestDatabase;
  let db: Db;
  beforeAll(async () => {
    testDb = await createTestDatabase('open');
    db = await openDatabase({ databaseUrl: testDb.url, embeddedDir: '/nonexistent' });
  });
  afterAll(async () => {
    await db?.close();
    await testDb?.drop();
  });

  it('describes itself without credentials', () => {
    expect(db.kind).toBe('postgres');
    expect(db.description).toBe(`postgres ${describeDatabaseUrl(testDb.url)}`);
    expect(db.description).toMatch(new RegExp(`/${testDb.name}$`));
    const password = new URL(testDb.url).password;
    if (password) expect(db.description).not.toContain(password);
  });

  it('exec runs several statements; query returns rows with parameters', async () => {
    await db.exec('CREATE TABLE multi (n int); INSERT INTO multi VALUES (1); INSERT INTO multi VALUES (2);');
    expect(await db.query<{ n: number }>('SELECT n FROM multi WHERE n > $1 ORDER BY n', [0])).toEqual([
      { n: 1 },
      { n: 2 },
    ]);
    await expect(db.query('SELECT * FROM no_such_table')).rejects.toMatchObject({ code: '42P01' });
  });

  it('queries and sessions share one connection; its advisory locks go when the last session is released', async () => {
    const other = await openPostgres(testDb.url);
    try {
      const pid = async (q: { query: Db['query'] }): Promise<number> =>
        (await q.query<{ pid: number }>('SELECT pg_backend_pid() AS pid'))[0]!.pid;
      const a = await db.session();
      const b = await db.session();
      const pidA = await pid(a);
      expect(await pid(b)).toBe(pidA);
      expect(await pid(db)).toBe(pidA);
      expect(await pid(other)).not.toBe(pidA);
      const opened = await other.query<{ n: number }>(
        "SELECT count(*)::int AS n FROM pg_stat_activity WHERE datname = $1 AND application_name = 'self-evolution'",
        [testDb.name],
      );
      expect(opened[0]!.n).toBe(2); // db and other: one connection each, whatever the sessions
      await a.query('SELECT pg_advisory_lock(42)');
      const tryLock = async (): Promise<boolean> =>
        (await other.query<{ ok: boolean }>('SELECT pg_try_advisory_lock(42) AS ok'))[0]!.ok;
      expect(await tryLock()).toBe(false);
      await a.release();
      await a.release(); // idempotent
      expect(await tryLock()).toBe(false); // b is still open
      await b.release();
      expect(await tryLock()).toBe(true);
      expect(await pid(db)).toBe(pidA); // the connection stays open until close()
    } finally {
      await other.close();
    }
  });

  it('a connection killed by the server does not crash the process: onLost is told, the next query reconnects', async () => {
    const victim = await openPostgres(testDb.url);
    const session = await victim.session();
    const lost = new Promise<string>((resolve) => session.onLost(resolve));
    const admin = await openPostgres(testAdminUrl());
    try {
      const killed = await admin.query<{ n: number }>(
        'SELECT count(pg_terminate_backend(pid))::int AS n FROM pg_stat_activity WHERE pid = $1',
        [(await victim.query<{ pid: number }>('SELECT pg_backend_pid() AS pid'))[0]!.pid],
      );
      expect(killed[0]!.n).toBe(1);
    } finally {
      await admin.close();
    }
    expect(await lost).toMatch(
      /^its connection (failed: terminating connection due to administrator command|ended)$/,
    );
    // The next statement opens a new connection (a stopping run can still close its record); no lock comes back.
    const pid = (await victim.query<{ pid: number }>('SELECT pg_backend_pid() AS pid'))[0]!.pid;
    expect(pid).toEqual(expect.any(Number));
    await expect(session.release()).resolves.toBeUndefined();
    await expect(victim.close()).resolves.toBeUndefined();
    expect(await db.query<{ one: number }>('SELECT 1 AS one')).toEqual([{ one: 1 }]); // other Dbs go on
  });
});
