/**
 * Per-test-file databases on the server found or started by global-setup.ts.
 *
 *   const testDb = await createTestDatabase('runs');   // fresh, empty database
 *   const db = await openPostgres(testDb.url);           // or new pg.Client(testDb.url)
 *   ...
 *   await db.close(); await testDb.drop();               // in afterAll
 */
import { randomBytes } from 'node:crypto';

import pg from 'pg';

/** A database created for one test file. */
export interface TestDatabase {
  /** postgres:// URL of the new database (same server and credentials as the admin URL). */
  url: string;
  /** The database name, e.g. "se_test_runs_12345_a1b2c3". */
  name: string;
  /** Drops the database, disconnecting whoever is still connected. Idempotent. */
  drop(): Promise<void>;
}

/**
 * The admin URL published by global-setup.ts (DATABASE_URL, or the embedded server's).
 * @throws Error when the tests were not started through jest's global setup
 */
export function testAdminUrl(): string {
  const url = process.env.SE_TEST_ADMIN_URL;
  if (!url) {
    throw new Error(
      'SE_TEST_ADMIN_URL is not set: run the tests with `npm test` (jest global setup starts an embedded ' +
        'Postgres, or uses DATABASE_URL)',
    );
  }
  return url;
}

/** The same server and credentials as `adminUrl`, database `name`. */
export function urlForDatabase(adminUrl: string, name: string): string {
  const url = new URL(adminUrl);
  url.pathname = `/${name}`;
  return url.toString();
}

async function withAdmin<T>(fn: (client: pg.Client) => Promise<T>): Promise<T> {
  const client = new pg.Client({ connectionString: testAdminUrl(), connectionTimeoutMillis: 10_000 });
  client.on('error', () => undefined);
  await client.connect();
  try {
    return await fn(client);
  } finally {
    await client.end().catch(() => undefined);
  }
}

/**
 * Creates a fresh, uniquely named, empty database for one test file.
 * @param label a few words naming the test file; lowercased and reduced to [a-z0-9_] in the name
 * @throws the driver's error when the server refuses (the admin role needs CREATEDB)
 */
export async function createTestDatabase(label: string): Promise<TestDatabase> {
  const slug =
    label
      .toLowerCase()
      .replace(/[^a-z0-9]+/g, '_')
      .replace(/^_+|_+$/g, '')
      .slice(0, 30) || 'db';
  const name = `se_test_${slug}_${process.pid}_${randomBytes(3).toString('hex')}`;
  await withAdmin(async (client) => {
    for (let attempt = 1; ; attempt++) {
      try {
        await client.query(`CREATE DATABASE ${client.escapeIdentifier(name)}`);
        return;
      } catch (error) {
        // 55006: "source database template1 is being accessed by other users" (a concurrent CREATE)
        if ((error as { code?: string }).code !== '55006' || attempt >= 10) throw error;
        await new Promise((r) => setTimeout(r, 100 * attempt));
      }
    }
  });
  let dropped: Promise<void> | undefined;
  return {
    url: urlForDatabase(testAdminUrl(), name),
    name,
    drop(): Promise<void> {
      dropped ??= withAdmin(async (client) => {
        const [{ version }] = (
          await client.query<{ version: number }>(
            "SELECT current_setting('server_version_num')::int AS version",
          )
        ).rows as [{ version: number }];
        const quoted = client.escapeIdentifier(name);
        if (version >= 130000) {
          await client.query(`DROP DATABASE IF EXISTS ${quoted} WITH (FORCE)`);
        } else {
          await client.query(
            'SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = $1 AND pid <> pg_backend_pid()',
            [name],
          );
          await client.query(`DROP DATABASE IF EXISTS ${quoted}`);
        }
      });
      return dropped;
    },
  };
}
