import { spawn, type ChildProcess } from 'node:child_process';
import { createHash } from 'node:crypto';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';

import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';

import type { Db } from '../src/store/db.js';
import { advisoryLockKey, runLockKey, tryAcquireRunLock, type RunLock } from '../src/store/lock.js';
import { openPostgres } from '../src/store/pg.js';
import { createTestDatabase, type TestDatabase } from './helpers/db.js';

/** Signed 64-bit two's complement of the first 8 bytes of sha256, computed without readBigInt64BE. */
function expectedKey(text: string): string {
  const hex = createHash('sha256').update(text).digest('hex').slice(0, 16);
  const unsigned = BigInt(`0x${hex}`);
  return (unsigned >= 2n ** 63n ? unsigned - 2n ** 64n : unsigned).toString();
}

/** Tries to take the lock until it succeeds (the server frees a dead session's locks asynchronously). */
async function acquireEventually(db: Db, repository: string): Promise<RunLock | null> {
  for (let attempt = 0; attempt < 200; attempt++) {
    const lock = await tryAcquireRunLock(db, repository);
    if (lock) return lock;
    await new Promise((r) => setTimeout(r, 50));
  }
  return null;
}

describe('runLockKey', () => {
  it('is a stable signed 64-bit decimal derived from sha256("self-evolution:run:" + repository)', () => {
    expect(runLockKey('octocat/hello-world')).toBe('-1168322607992702725');
    expect(runLockKey('octocat/hello-world')).toBe(expectedKey('self-evolution:run:octocat/hello-world'));
    expect(runLockKey('octo-org/octo-repo')).toBe('5985013153860155033');
    expect(runLockKey('octo-org/octo-repo')).toBe(expectedKey('self-evolution:run:octo-org/octo-repo'));
    expect(advisoryLockKey('self-evolution:migrate')).toBe(expectedKey('self-evolution:migrate'));
  });

  it('differs between repositories and stays within the signed 64-bit range', () => {
    const repos = ['a/b', 'a/c', 'A/b', 'octocat/hello-world', 'octocat/hello-world2'];
    const keys = repos.map(runLockKey);
    expect(new Set(keys).size).toBe(repos.length);
    for (const key of keys) {
      expect(BigInt(key) >= -(2n ** 63n) && BigInt(key) < 2n ** 63n).toBe(true);
    }
  });

  it('rejects an empty repository', () => {
    expect(() => runLockKey('')).toThrow(/repository is empty/);
  });
});

describe('tryAcquireRunLock (postgres)', () => {
  let testDb: TestDatabase;
  let db1: Db;
  let db2: Db;

  beforeAll(async () => {
    testDb = await createTestDatabase('lock');
    db1 = await openPostgres(testDb.url);
    db2 = await openPostgres(testDb.url);
  });
  afterAll(async () => {
    await db1?.close();
    await db2?.close();
    await testDb?.drop();
  });

  it('a second acquirer gets null until the first releases; release is idempotent', async () => {
    const first = await tryAcquireRunLock(db1, 'octo/one');
    expect(first).not.toBeNull();
    expect(first!.key).toBe(runLockKey('octo/one'));
    expect(await first!.isHeld()).toBe(true);

    expect(await tryAcquireRunLock(db2, 'octo/one')).toBeNull();
    expect(await tryAcquireRunLock(db1, 'octo/one')).toBeNull(); // another session of the same Db, too
    const other = await tryAcquireRunLock(db2, 'octo/two'); // other repositories are independent
    expect(other).not.toBeNull();

    await first!.release();
    await first!.release();
    expect(await first!.isHeld()).toBe(false);
    const second = await tryAcquireRunLock(db2, 'octo/one');
    expect(second).not.toBeNull();
    await second!.release();
    await other!.release();
  });

  it('the null path releases the session it opened (no connection leak)', async () => {
    const held = await tryAcquireRunLock(db1, 'octo/leak');
    let opened = 0;
    let released = 0;
    const counting: Db = {
      ...db2,
      session: async () => {
        const session = await db2.session();
        opened++;
        return {
          ...session,
          release: async () => {
            released++;
            await session.release();
          },
        };
      },
    };
    for (let i = 0; i < 3; i++) expect(await tryAcquireRunLock(counting, 'octo/leak')).toBeNull();
    expect([opened, released]).toEqual([3, 3]);
    await held!.release();
    const lock = await tryAcquireRunLock(counting, 'octo/leak');
    expect(lock).not.toBeNull();
    expect([opened, released]).toEqual([4, 3]);
    await lock!.release();
    expect([opened, released]).toEqual([4, 4]);
  });

  it('a connection that dies frees the lock (backend terminated)', async () => {
    const own = await openPostgres(testDb.url); // the Db's one connection is the one terminated
    const first = await tryAcquireRunLock(own, 'octo/terminated');
    expect(first).not.toBeNull();
    const [{ pid }] = (await first!.session.query<{ pid: number }>('SELECT pg_backend_pid() AS pid')) as [
      { pid: number },
    ];
    expect(await tryAcquireRunLock(db2, 'octo/terminated')).toBeNull();
    await db2.query('SELECT pg_terminate_backend($1)', [pid]);
    const second = await acquireEventually(db2, 'octo/terminated');
    expect(second).not.toBeNull();
    expect(await first!.isHeld()).toBe(false);
    await expect(first!.release()).resolves.toBeUndefined();
    await second!.release();
    await own.close();
  });

  it('a crashed process (SIGKILL) frees the lock', async () => {
    const src = join(process.cwd(), 'src', 'store');
    const script = `
      const { openPostgres } = await import(${JSON.stringify(pathToFileURL(join(src, 'pg.ts')).href)});
      const { tryAcquireRunLock } = await import(${JSON.stringify(pathToFileURL(join(src, 'lock.ts')).href)});
      const db = await openPostgres(process.env.SE_URL);
      const lock = await tryAcquireRunLock(db, 'octo/crash');
      process.stdout.write(lock ? 'locked\\n' : 'busy\\n');
      setInterval(() => undefined, 1000);
    `;
    const env: NodeJS.ProcessEnv = { ...process.env, SE_URL: testDb.url };
    delete env.NODE_OPTIONS;
    const child: ChildProcess = spawn(
      process.execPath,
      ['--import', 'tsx', '--input-type=module', '-e', script],
      {
        env,
        stdio: ['ignore', 'pipe', 'pipe'],
      },
    );
    let stderr = '';
    child.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
    const exited = new Promise<void>((resolve) => child.on('exit', () => resolve()));
    try {
      const first = await new Promise<string>((resolve, reject) => {
        let out = '';
        child.stdout!.on('data', (d: Buffer) => {
          out += d.toString();
          if (out.includes('\n')) resolve(out.trim());
        });
        child.on('exit', (code) => reject(new Error(`child exited (${code}) before locking: ${stderr}`)));
      });
      expect(first).toBe('locked');
      expect(await tryAcquireRunLock(db1, 'octo/crash')).toBeNull();
    } finally {
      child.kill('SIGKILL');
      await exited;
    }
    const lock = await acquireEventually(db1, 'octo/crash');
    expect(lock).not.toBeNull();
    await lock!.release();
  });
});
