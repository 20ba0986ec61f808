/**
 * The run lock behind a real PgBouncer in transaction mode (helpers/pgbouncer.ts), where a session-level advisory
 * lock does not hold: what goes wrong with it (measured here, so the decision stays grounded), how the route check
 * tells a pooled connection from a direct one, and the lease that works there: exclusion, fencing of every write,
 * expiry and takeover.
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';

import type { Db } from '../src/store/db.js';
import { RunLockLostError } from '../src/store/errors.js';
import { tryAcquireRunLock } from '../src/store/lock.js';
import { migrate } from '../src/store/migrate.js';
import { openPostgres } from '../src/store/pg.js';
import { createTestDatabase, type TestDatabase } from './helpers/db.js';
import { startPgBouncer, type PgBouncer } from './helpers/pgbouncer.js';

let testDb: TestDatabase;
let bouncer: PgBouncer | null;
let direct: Db;
const opened: Db[] = [];

/** A Db through PgBouncer, closed after the file. */
async function pooled(): Promise<Db> {
  const db = await openPostgres(bouncer!.urlFor(testDb.name));
  opened.push(db);
  return db;
}

beforeAll(async () => {
  testDb = await createTestDatabase('pooler');
  // One server connection for the database: every client of PgBouncer shares it, one transaction at a time.
  bouncer = await startPgBouncer({ poolMode: 'transaction', poolSize: 1 });
  if (!bouncer) {
    console.warn(
      'pgbouncer is not installed (apt-get install pgbouncer): the pooled-connection tests are skipped',
    );
  }
  direct = await openPostgres(testDb.url);
  await migrate(direct);
});

afterAll(async () => {
  await Promise.all(opened.map((db) => db.close()));
  await direct.close();
  await bouncer?.stop();
  await testDb.drop();
});

/** `it` when PgBouncer runs, else a skipped test (its absence is reported once by beforeAll). */
const withBouncer = (name: string, fn: () => Promise<void>): void => {
  it(name, async () => {
    if (!bouncer) return;
    await fn();
  });
};

describe('a transaction-mode pooler (real PgBouncer)', () => {
  withBouncer(
    'breaks the session advisory lock: two clients both "hold" it (why the lease exists)',
    async () => {
      const a = await pooled();
      const b = await pooled();
      // Both clients' statements run on PgBouncer's one server connection; the lock belongs to that connection.
      const first = await tryAcquireRunLock(a, 'octo/pooled-advisory', { mode: 'advisory' });
      const second = await tryAcquireRunLock(b, 'octo/pooled-advisory', { mode: 'advisory' });
      expect(first).not.toBeNull();
      expect(second).not.toBeNull(); // the hazard: no exclusion
      await second!.release();
      await first!.release();
    },
  );

  withBouncer('the route check tells the pooled connection from the direct one', async () => {
    const viaPooler = await pooled();
    expect(await viaPooler.route!()).toMatchObject({
      kind: 'proxied',
      detail: expect.stringMatching(/pooler/),
    });
    expect(await direct.route!()).toMatchObject({ kind: 'direct' });
  });

  withBouncer(
    'lock "auto" takes the lease through the pooler; a second run is refused until it is released',
    async () => {
      const a = await pooled();
      const b = await pooled();
      const lock = await tryAcquireRunLock(a, 'octo/pooled', {});
      expect(lock).toMatchObject({ kind: 'lease', why: expect.stringMatching(/^lock "auto": .*lease$/) });
      expect(await tryAcquireRunLock(b, 'octo/pooled', {})).toBeNull();
      expect(await lock!.isHeld()).toBe(true);
      // The holder writes through the fence.
      await a.exec('CREATE TABLE IF NOT EXISTS pooled_writes (n int)');
      await a.query('INSERT INTO pooled_writes VALUES ($1)', [1]);
      await lock!.release();
      expect(await lock!.isHeld()).toBe(false);
      const next = await tryAcquireRunLock(b, 'octo/pooled', {});
      expect(next).toMatchObject({ kind: 'lease' });
      expect(BigInt(next!.token!)).toBe(BigInt(lock!.token!) + 1n);
      // The first run released its lease: its writes are refused from now on, and not made.
      await expect(a.query('INSERT INTO pooled_writes VALUES ($1)', [2])).rejects.toBeInstanceOf(
        RunLockLostError,
      );
      await next!.release();
      expect(await direct.query('SELECT n FROM pooled_writes ORDER BY n')).toEqual([{ n: 1 }]);
    },
  );

  withBouncer(
    'an expired lease is taken over; the old holder can write nothing and learns it lost the lock',
    async () => {
      const a = await pooled();
      const b = await pooled();
      await direct.exec('CREATE TABLE IF NOT EXISTS fenced_writes (who text)');
      const old = await tryAcquireRunLock(a, 'octo/expiring', { mode: 'lease' });
      expect(old).not.toBeNull();
      const lost: string[] = [];
      old!.onLost((detail) => lost.push(detail));
      await a.query('INSERT INTO fenced_writes VALUES ($1)', ['old, in time']);
      // The holder stalls past its lease (a frozen runner): expire it as the clock would.
      await direct.query(
        "UPDATE self_evolution_run_leases SET expires_at = now() - interval '1 second' WHERE repository = $1",
        ['octo/expiring'],
      );
      const taker = await tryAcquireRunLock(b, 'octo/expiring', { mode: 'lease' });
      expect(taker).not.toBeNull();
      await b.query('INSERT INTO fenced_writes VALUES ($1)', ['new holder']);
      const refused = a.query('INSERT INTO fenced_writes VALUES ($1)', ['old, too late']);
      await expect(refused).rejects.toThrow(
        /lost the run lock of octo\/expiring: its lease \(token 1\) expired/,
      );
      await expect(a.exec("UPDATE fenced_writes SET who = 'overwritten'")).rejects.toBeInstanceOf(
        RunLockLostError,
      );
      expect(await old!.isHeld()).toBe(false);
      expect(lost).toEqual(['its lease (token 1) expired or another run took it']);
      // Reads are not fenced.
      expect(await a.query('SELECT who FROM fenced_writes ORDER BY who')).toEqual([
        { who: 'new holder' },
        { who: 'old, in time' },
      ]);
      await taker!.release();
    },
  );

  withBouncer('migrations run through the pooler, concurrently, without a lock left behind', async () => {
    const fresh = await createTestDatabase('pooler_migrate');
    const dbs = await Promise.all([1, 2, 3].map(() => openPostgres(bouncer!.urlFor(fresh.name))));
    try {
      const results = await Promise.all(dbs.map((db) => migrate(db)));
      const applied = results.flatMap((r) => r.applied);
      expect(new Set(applied).size).toBe(applied.length); // each migration applied once
      expect(applied.length).toBeGreaterThan(0);
      // this database's only: pg_locks shows the whole server, where other test files hold their run locks
      const locks = await dbs[0]!.query<{ n: number }>(
        `SELECT count(*)::int AS n FROM pg_locks WHERE locktype = 'advisory'
           AND database = (SELECT oid FROM pg_database WHERE datname = current_database())`,
      );
      expect(locks[0]!.n).toBe(0);
    } finally {
      await Promise.all(dbs.map((db) => db.close()));
      await fresh.drop();
    }
  });
});

describe('a direct connection', () => {
  it('lock "auto" takes the advisory lock, which a second connection cannot take', async () => {
    const other = await openPostgres(testDb.url);
    opened.push(other);
    const lock = await tryAcquireRunLock(direct, 'octo/direct', {});
    expect(lock).toMatchObject({ kind: 'advisory', why: expect.stringMatching(/our own client port/) });
    expect(await tryAcquireRunLock(other, 'octo/direct', { mode: 'advisory' })).toBeNull();
    await lock!.release();
    const again = await tryAcquireRunLock(other, 'octo/direct', { mode: 'advisory' });
    expect(again).not.toBeNull();
    await again!.release();
  });

  it('lock "lease" works on a direct connection too', async () => {
    const lock = await tryAcquireRunLock(direct, 'octo/direct-lease', { mode: 'lease' });
    expect(lock).toMatchObject({ kind: 'lease', why: 'lock "lease" (config database.lock)' });
    await lock!.release();
  });

  it('refuses a lease shorter than two heartbeats', async () => {
    await expect(tryAcquireRunLock(direct, 'octo/short', { mode: 'lease', leaseMs: 60_000 })).rejects.toThrow(
      /leaseMs is 60000; expected an integer >= 120000/,
    );
  });
});
