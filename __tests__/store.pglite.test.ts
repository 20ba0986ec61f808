/**
 * The embedded (PGlite) database: the one-process-per-directory lock file, migrations, query serialization
 * and sessions. One PGlite directory for the whole file (opening costs seconds).
 */
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';

import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';

import type { Db } from '../src/store/db.js';
import { DatabaseBusyError, MigrationError } from '../src/store/errors.js';
import { tryAcquireRunLock } from '../src/store/lock.js';
import { migrate } from '../src/store/migrate.js';
import { MIGRATIONS } from '../src/store/migrations.generated.js';
import { embeddedLockPath, openEmbedded } from '../src/store/pglite.js';

/** The pid of a process that has exited (so it is certainly not alive now, barring pid reuse). */
function deadPid(): number {
  const child = spawnSync(process.execPath, ['-e', '0']);
  return child.pid!;
}

let root: string;
let dir: string;
let db: Db;

beforeAll(async () => {
  root = mkdtempSync(join(tmpdir(), 'se-pglite-'));
  dir = join(root, 'nested', 'db');
  // A lock file left by a crashed process (dead pid): openEmbedded must take it over.
  mkdirSync(join(root, 'nested'), { recursive: true });
  writeFileSync(`${dir}.lock`, `${deadPid()}\n`);
  db = await openEmbedded(dir);
});

afterAll(async () => {
  await db?.close();
  rmSync(root, { recursive: true, force: true });
});

describe('openEmbedded lock file', () => {
  it('took over a stale lock file (dead pid) and holds <dir>.lock with our pid', () => {
    expect(db.kind).toBe('pglite');
    expect(db.description).toBe(`pglite ${dir}`);
    expect(embeddedLockPath(dir)).toBe(`${dir}.lock`);
    expect(readFileSync(`${dir}.lock`, 'utf8')).toBe(`${process.pid}\n`);
  });

  it('refuses a second open while the lock file names a live process (this one)', async () => {
    const error = await openEmbedded(dir).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(DatabaseBusyError);
    expect((error as Error).message).toBe(
      `another self-evolution process (pid ${process.pid}) is using the embedded database at ${dir}; ` +
        'wait for it or use DATABASE_URL',
    );
    expect(readFileSync(`${dir}.lock`, 'utf8')).toBe(`${process.pid}\n`); // untouched
  });

  it('refuses a directory locked by another live process, without touching its lock file', async () => {
    const other = join(root, 'other');
    const sleeper = spawn(process.execPath, ['-e', 'setTimeout(() => {}, 60000)'], { stdio: 'ignore' });
    try {
      writeFileSync(`${other}.lock`, `${sleeper.pid}\n`);
      const error = await openEmbedded(other).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(DatabaseBusyError);
      expect((error as DatabaseBusyError).pid).toBe(sleeper.pid);
      expect(readFileSync(`${other}.lock`, 'utf8')).toBe(`${sleeper.pid}\n`);
    } finally {
      sleeper.kill('SIGKILL');
    }
  });
});

describe('PGlite database', () => {
  it('migrates once, then is idempotent, and detects checksum drift', async () => {
    expect(await migrate(db)).toEqual({ applied: MIGRATIONS.map((m) => m.id), unknown: [] });
    expect(await migrate(db)).toEqual({ applied: [], unknown: [] });
    const tables = await db.query<{ name: string }>(
      "SELECT table_name AS name FROM information_schema.tables WHERE table_schema = 'public' ORDER BY 1",
    );
    expect(tables.map((t) => t.name)).toEqual([
      'feature_flags',
      'schema_migrations',
      'self_evolution_actions',
      'self_evolution_blocking_rules', // view
      'self_evolution_breaker_trips',
      'self_evolution_database',
      'self_evolution_metrics', // view
      'self_evolution_proposals',
      'self_evolution_reflections',
      'self_evolution_rollbacks',
      'self_evolution_run_leases',
      'self_evolution_runs',
    ]);
    const edited = MIGRATIONS.map((m) => ({ ...m, checksum: '0'.repeat(64) }));
    await expect(migrate(db, edited)).rejects.toBeInstanceOf(MigrationError);
    await expect(migrate(db, edited)).rejects.toThrow(/migration 000001_init was applied to pglite /);
    // A failing migration is rolled back on PGlite too.
    const broken = { id: '000901_broken', sql: 'CREATE TABLE half (id int); SELECT 1/0;', checksum: 'c' };
    await expect(migrate(db, [...MIGRATIONS, broken])).rejects.toThrow(
      /000901_broken failed .*division by zero/,
    );
    expect(await db.query("SELECT 1 FROM information_schema.tables WHERE table_name = 'half'")).toEqual([]);
  });

  it('serializes concurrent queries on its single connection (each gets its own result)', async () => {
    await db.exec('CREATE TABLE IF NOT EXISTS concurrency_probe (n int)');
    const results = await Promise.all(
      Array.from({ length: 40 }, (_, i) =>
        i % 4 === 0
          ? db.exec(
              `INSERT INTO concurrency_probe VALUES (${i}); INSERT INTO concurrency_probe VALUES (${i})`,
            )
          : db.query<{ n: number; s: string }>('SELECT $1::int AS n, repeat($2, $1::int) AS s', [i, 'x']),
      ),
    );
    results.forEach((r, i) => {
      if (i % 4 !== 0) expect(r).toEqual([{ n: i, s: 'x'.repeat(i) }]);
    });
    const count = await db.query<{ n: number }>('SELECT count(*)::int AS n FROM concurrency_probe');
    expect(count[0]!.n).toBe(20);
  });

  it('returns int8 as a number, text[] as an array, timestamptz as Date, jsonb parsed', async () => {
    const rows = await db.query<Record<string, unknown>>(
      "SELECT 1::int8 AS big, ARRAY['a', 'b,c'] AS arr, now() AS ts, '{\"k\": [1]}'::jsonb AS j, $1::jsonb AS p",
      [JSON.stringify({ s: 'str' })],
    );
    expect(rows[0]).toEqual({
      big: 1,
      arr: ['a', 'b,c'],
      ts: expect.any(Date),
      j: { k: [1] },
      p: { s: 'str' },
    });
  });

  it('sessions share the connection; the run lock can be taken and released', async () => {
    const lock = await tryAcquireRunLock(db, 'octo/pglite');
    expect(lock).not.toBeNull();
    expect(await lock!.isHeld()).toBe(true);
    const other = await db.session();
    await other.release(); // not the last open session: the run lock stays
    expect(await lock!.isHeld()).toBe(true);
    await lock!.release();
    const held = await db.query<{ n: number }>(
      "SELECT count(*)::int AS n FROM pg_locks WHERE locktype = 'advisory'",
    );
    expect(held[0]!.n).toBe(0);
  });
});

describe('PGlite lifecycle', () => {
  it('close() removes the lock file; a process that exits without close() removes it too', async () => {
    await db.close();
    await db.close(); // idempotent
    expect(existsSync(`${dir}.lock`)).toBe(false);
    await expect(db.query('SELECT 1')).rejects.toThrow(/is closed/);

    const script = `
      const { openEmbedded } = await import(${JSON.stringify(pathToFileURL(join(process.cwd(), 'src/store/pglite.ts')).href)});
      const db = await openEmbedded(process.env.SE_DIR);
      const rows = await db.query('SELECT count(*)::int AS n FROM schema_migrations');
      const { readFileSync } = await import('node:fs');
      const lock = readFileSync(process.env.SE_DIR + '.lock', 'utf8');
      process.stdout.write(JSON.stringify({ rows, lock }));
      process.exit(0);
    `;
    const env: NodeJS.ProcessEnv = { ...process.env, SE_DIR: dir };
    delete env.NODE_OPTIONS;
    const child = spawn(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], {
      env,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    let err = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr.on('data', (d: Buffer) => (err += d.toString()));
    const code = await new Promise<number | null>((resolve) => child.on('exit', resolve));
    expect({ code, err }).toEqual({ code: 0, err: expect.any(String) });
    const parsed = JSON.parse(out) as { rows: { n: number }[]; lock: string };
    expect(parsed.rows).toEqual([{ n: MIGRATIONS.length }]); // the data persisted in the directory
    expect(parsed.lock).toBe(`${child.pid}\n`);
    expect(existsSync(`${dir}.lock`)).toBe(false);
  });
});
