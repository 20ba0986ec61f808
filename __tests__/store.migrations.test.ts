import { mkdtempSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';

import {
  checkGeneratedMigrations,
  readMigrations,
  renderMigrationsModule,
  sha256Hex,
} from '../scripts/gen-sql.js';
import type { Db } from '../src/store/db.js';
import { MigrationError } from '../src/store/errors.js';
import { migrate } from '../src/store/migrate.js';
import { MIGRATIONS } from '../src/store/migrations.generated.js';
import { openPostgres } from '../src/store/pg.js';
import { createTestDatabase, type TestDatabase } from './helpers/db.js';

/** The tables and views (information_schema.tables lists both) a migrated database has. */
const EXPECTED_TABLES = [
  'feature_flags',
  'schema_migrations',
  'self_evolution_actions',
  'self_evolution_blocking_rules', // view (000006_metrics)
  'self_evolution_breaker_trips',
  'self_evolution_database', // its id (000007_database_id)
  'self_evolution_metrics', // view (000006_metrics)
  'self_evolution_proposals',
  'self_evolution_reflections',
  'self_evolution_rollbacks',
  'self_evolution_run_leases',
  'self_evolution_runs',
];

async function tablesOf(db: Db): Promise<string[]> {
  const rows = await db.query<{ name: string }>(
    `SELECT table_name AS name FROM information_schema.tables
     WHERE table_schema = 'public' ORDER BY table_name`,
  );
  return rows.map((r) => r.name);
}

describe('gen-sql', () => {
  it('the generated module is up to date with sql/ (run `npm run gen:sql` when this fails)', () => {
    const check = checkGeneratedMigrations();
    expect(check.actual).toBe(check.expected);
    expect(check.upToDate).toBe(true);
  });

  it('MIGRATIONS matches sql/: ids sorted, checksums are sha256 of the SQL', () => {
    const fromDisk = readMigrations();
    expect(MIGRATIONS.map((m) => m.id)).toEqual(fromDisk.map((m) => m.id));
    expect(MIGRATIONS[0]!.id).toBe('000001_init');
    for (const m of MIGRATIONS) {
      expect(m.checksum).toMatch(/^[0-9a-f]{64}$/);
      expect(m.checksum).toBe(sha256Hex(m.sql));
    }
    expect([...MIGRATIONS.map((m) => m.id)].sort()).toEqual(MIGRATIONS.map((m) => m.id));
  });

  describe('on a scratch sql/ directory', () => {
    let root: string;
    beforeAll(() => {
      root = mkdtempSync(join(tmpdir(), 'se-gen-sql-'));
      mkdirSync(join(root, 'sql'));
      mkdirSync(join(root, 'src', 'store'), { recursive: true });
    });
    afterAll(() => rmSync(root, { recursive: true, force: true }));

    it('detects drift between sql/ and the generated file, and sorts by id', () => {
      writeFileSync(join(root, 'sql', '000002_second.sql'), 'SELECT 2;\r\n');
      writeFileSync(join(root, 'sql', '000001_first.sql'), 'SELECT `1` AS "${x}";\n');
      writeFileSync(join(root, 'sql', 'README.md'), 'not a migration');
      const migrations = readMigrations(root);
      expect(migrations.map((m) => m.id)).toEqual(['000001_first', '000002_second']);
      expect(migrations[1]!.sql).toBe('SELECT 2;\n'); // CRLF normalized
      writeFileSync(
        join(root, 'src', 'store', 'migrations.generated.ts'),
        renderMigrationsModule(migrations),
      );
      expect(checkGeneratedMigrations(root).upToDate).toBe(true);

      writeFileSync(join(root, 'sql', '000002_second.sql'), 'SELECT 22;\n');
      expect(checkGeneratedMigrations(root).upToDate).toBe(false);
    });

    it('rejects a badly named migration, naming the file', () => {
      writeFileSync(join(root, 'sql', '3_Bad-Name.sql'), 'SELECT 3;');
      expect(() => readMigrations(root)).toThrow(/sql\/3_Bad-Name\.sql: migration file names must look like/);
      rmSync(join(root, 'sql', '3_Bad-Name.sql'));
    });

    it('rejects two migrations with the same number', () => {
      writeFileSync(join(root, 'sql', '000002_again.sql'), 'SELECT 2;');
      expect(() => readMigrations(root)).toThrow(/000002_second\.sql: number 000002 is already used by/);
      rmSync(join(root, 'sql', '000002_again.sql'));
    });

    it('escapes backticks, backslashes and ${ so the rendered SQL evaluates back to the original', () => {
      const sql = 'SELECT `1` AS "${x}", E\'\\\\n\';\n';
      const text = renderMigrationsModule([{ id: '000001_x', sql, checksum: sha256Hex(sql) }]);
      const literal = /sql: (`[\s\S]*`),\n {2}\},/.exec(text)![1]!;
      expect(new Function(`return ${literal};`)()).toBe(sql);
    });
  });
});

describe('migrate (postgres)', () => {
  let testDb: TestDatabase;
  beforeAll(async () => {
    testDb = await createTestDatabase('migrations');
  });
  afterAll(async () => {
    await testDb.drop();
  });

  it('10 concurrent first-time migrate() calls on an empty database all succeed, applying each migration once', async () => {
    const dbs = await Promise.all(Array.from({ length: 10 }, () => openPostgres(testDb.url)));
    try {
      const results = await Promise.all(dbs.map((db) => migrate(db)));
      // Each migration is applied by exactly one caller (whichever took its lock first), each caller in id order.
      const applied = results.flatMap((r) => r.applied);
      expect([...applied].sort()).toEqual(MIGRATIONS.map((m) => m.id));
      for (const r of results) expect(r.applied).toEqual([...r.applied].sort());
      for (const r of results) expect(r.unknown).toEqual([]);

      const rows = await dbs[0]!.query<{ id: string; checksum: string; n: number }>(
        'SELECT id, checksum, count(*) OVER (PARTITION BY id)::int AS n FROM schema_migrations ORDER BY id',
      );
      expect(rows.map((r) => [r.id, r.checksum, r.n])).toEqual(MIGRATIONS.map((m) => [m.id, m.checksum, 1]));
      expect(await tablesOf(dbs[0]!)).toEqual(EXPECTED_TABLES);
      const indexes = await dbs[0]!.query<{ indexname: string }>(
        "SELECT indexname FROM pg_indexes WHERE indexname = 'self_evolution_runs_one_per_day'",
      );
      expect(indexes).toHaveLength(1);
      // No advisory lock is left behind by any of them.
      const locks = await dbs[0]!.query<{ n: number }>(
        "SELECT count(*)::int AS n FROM pg_locks WHERE locktype = 'advisory' AND database = (SELECT oid FROM pg_database WHERE datname = current_database())",
      );
      expect(locks[0]!.n).toBe(0);
    } finally {
      await Promise.all(dbs.map((db) => db.close()));
    }
  });

  it('is idempotent: a second call applies nothing', async () => {
    const db = await openPostgres(testDb.url);
    try {
      expect(await migrate(db)).toEqual({ applied: [], unknown: [] });
      expect(await migrate(db)).toEqual({ applied: [], unknown: [] });
      const rows = await db.query<{ n: number }>('SELECT count(*)::int AS n FROM schema_migrations');
      expect(rows[0]!.n).toBe(MIGRATIONS.length);
    } finally {
      await db.close();
    }
  });

  it('applies only the missing migrations, and reports ids it does not know', async () => {
    const db = await openPostgres(testDb.url);
    try {
      await db.query("INSERT INTO schema_migrations (id, checksum) VALUES ('999999_from_the_future', 'x')");
      const extra = { id: '000900_extra', sql: 'CREATE TABLE extra_table (id int);', checksum: 'c900' };
      const result = await migrate(db, [...MIGRATIONS, extra]);
      expect(result).toEqual({ applied: ['000900_extra'], unknown: ['999999_from_the_future'] });
      expect(await tablesOf(db)).toContain('extra_table');
    } finally {
      await db.query("DELETE FROM schema_migrations WHERE id IN ('999999_from_the_future', '000900_extra')");
      await db.exec('DROP TABLE IF EXISTS extra_table');
      await db.close();
    }
  });

  it('refuses to run when an applied migration changed (checksum drift), naming it', async () => {
    const db = await openPostgres(testDb.url);
    try {
      const edited = MIGRATIONS.map((m, i) =>
        i === 0 ? { ...m, sql: m.sql + '\n-- edited', checksum: 'f00' } : m,
      );
      const error = await migrate(db, edited).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(MigrationError);
      expect((error as MigrationError).migrationId).toBe('000001_init');
      expect((error as Error).message).toMatch(
        /migration 000001_init was applied to postgres .* with checksum [0-9a-f]{64}, but the shipped sql\/000001_init\.sql has checksum f00; .*append-only/,
      );
      // The lock was released: a normal migrate() still works at once.
      expect(await migrate(db)).toEqual({ applied: [], unknown: [] });
    } finally {
      await db.close();
    }
  });

  it('rolls back a failing migration (no partial schema, no schema_migrations row) and names it', async () => {
    const db = await openPostgres(testDb.url);
    try {
      const broken = {
        id: '000901_broken',
        sql: 'CREATE TABLE half_done (id int);\nSELECT * FROM no_such_table;',
        checksum: 'c901',
      };
      const error = await migrate(db, [...MIGRATIONS, broken]).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(MigrationError);
      expect((error as Error).message).toMatch(
        /migration 000901_broken failed on postgres .* rolled back: .*no_such_table/,
      );
      expect(await tablesOf(db)).not.toContain('half_done');
      const rows = await db.query("SELECT 1 FROM schema_migrations WHERE id = '000901_broken'");
      expect(rows).toHaveLength(0);
    } finally {
      await db.close();
    }
  });
});
