/**
 * The embedded Postgres server (store/embedded-server.ts) on real processes: started once under its start lock
 * (concurrent openers share one server), reused, runs excluding each other through the advisory run lock (several
 * connections, several backends), a server killed with SIGKILL started again, the idle keeper stopping it once no
 * client is left (and not while one is), an environment without our secrets, and, as root, the clear error when
 * the server's user cannot enter a parent directory. Directories are made with mkdtemp (mode 0700).
 */
import { afterAll, afterEach, describe, expect, it } from '@jest/globals';
import { spawnSync } from 'node:child_process';
import { chmodSync, existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Db } from '../src/store/db.js';
import {
  type EmbeddedServerOptions,
  embeddedServerStatus,
  ensureEmbeddedServer,
  openEmbeddedServer,
  readRunningServer,
  stopEmbeddedServer,
} from '../src/store/embedded-server.js';
import { tryAcquireRunLock } from '../src/store/lock.js';
import { migrate } from '../src/store/migrate.js';
import { openDatabase } from '../src/store/open.js';
import { waitFor } from './helpers/cancel.js';

const roots: string[] = [];
const opened: Db[] = [];

/** A fresh 0700 directory; its server is stopped and the directory removed after the file. */
function scratch(): string {
  const root = mkdtempSync(join(tmpdir(), 'se-embedded-'));
  roots.push(root);
  return join(root, 'repo', '.self-evolution', 'pg');
}

afterEach(async () => {
  await Promise.all(opened.splice(0).map((db) => db.close()));
});

afterAll(async () => {
  for (const root of roots) {
    await stopEmbeddedServer(join(root, 'repo', '.self-evolution', 'pg'), { force: true }).catch(
      () => undefined,
    );
    rmSync(root, { recursive: true, force: true });
  }
});

const NO_KEEPER: EmbeddedServerOptions = { idleMs: 0 };

async function open(dir: string, options: EmbeddedServerOptions = NO_KEEPER): Promise<Db> {
  const db = await openEmbeddedServer(dir, options);
  opened.push(db);
  return db;
}

describe('the embedded Postgres server', () => {
  it('is started once for concurrent openers, kept running, reused, and keeps its data', async () => {
    const dir = scratch();
    const [a, b] = await Promise.all([open(dir), open(dir)]);
    const running = readRunningServer(dir)!;
    expect(running).not.toBeNull();
    expect(a.kind).toBe('postgres');
    expect(a.description).toBe(`embedded postgres ${dir} (127.0.0.1:${running.port})`);
    expect(b.description).toBe(a.description);
    await migrate(a);
    await a.query('CREATE TABLE kept (v text)');
    await a.query("INSERT INTO kept VALUES ('x')");
    await Promise.all(opened.splice(0).map((db) => db.close()));

    expect(readRunningServer(dir)).toEqual(running); // left running after the last close
    const again = await openDatabase({ embeddedDir: dir });
    opened.push(again);
    expect(await again.query('SELECT v FROM kept')).toEqual([{ v: 'x' }]);
    expect(readRunningServer(dir)!.pid).toBe(running.pid);
    expect((await embeddedServerStatus(dir)).clients).toBe(1);
    // The password file and the cluster are private (mode 0600 / 0700).
    const mode = (path: string) => spawnSync('stat', ['-c', '%a', path], { encoding: 'utf8' }).stdout.trim();
    expect([mode(join(dir, 'password')), mode(join(dir, 'data'))]).toEqual(['600', '700']);
  }, 120_000);

  it('lets two connections exclude each other with the run lock, as any Postgres (one backend each)', async () => {
    const dir = scratch();
    const [a, b] = [await open(dir), await open(dir)];
    const lock = await tryAcquireRunLock(a, 'acme/agent');
    expect(lock).not.toBeNull();
    expect(await tryAcquireRunLock(b, 'acme/agent')).toBeNull();
    await lock!.release();
    const later = await tryAcquireRunLock(b, 'acme/agent');
    expect(later).not.toBeNull();
    await later!.release();
  }, 120_000);

  it('refuses db stop while a client is connected, stops once none is, and starts again after a SIGKILL', async () => {
    const dir = scratch();
    const db = await open(dir);
    const first = readRunningServer(dir)!;
    expect(await stopEmbeddedServer(dir)).toEqual({ stopped: null, refusedClients: 1 });
    expect(readRunningServer(dir)).toEqual(first);
    await Promise.all(opened.splice(0).map((d) => d.close()));
    expect(db).toBeDefined();
    expect(await stopEmbeddedServer(dir)).toEqual({ stopped: first });
    expect(readRunningServer(dir)).toBeNull();

    await open(dir);
    const second = readRunningServer(dir)!;
    expect(second.pid).not.toBe(first.pid);
    await Promise.all(opened.splice(0).map((d) => d.close()));
    process.kill(second.pid, 'SIGKILL'); // its postmaster.pid stays behind, naming a dead process
    await waitFor(() => readRunningServer(dir) === null, 10_000);
    const third = await open(dir);
    expect(await third.query('SELECT 1 AS one')).toEqual([{ one: 1 }]);
    expect(readRunningServer(dir)!.pid).not.toBe(second.pid);
  }, 120_000);

  it('is stopped by its idle keeper once no client is connected, never while one is', async () => {
    const dir = scratch();
    const idleMs = 1500;
    const db = await open(dir, { idleMs });
    const running = readRunningServer(dir)!;
    const keeper = await waitFor(
      async () => (await embeddedServerStatus(dir)).keeperPid !== undefined,
      10_000,
    );
    expect(keeper).toBe(true);
    // Connected for three idle times: still running.
    await new Promise((r) => setTimeout(r, 3 * idleMs));
    expect(readRunningServer(dir)).toEqual(running);
    expect(await db.query('SELECT 1 AS one')).toEqual([{ one: 1 }]);
    await Promise.all(opened.splice(0).map((d) => d.close()));
    expect(await waitFor(() => readRunningServer(dir) === null, 30_000)).toBe(true);
    // The keeper exits with the server.
    expect(await waitFor(() => !existsSync(join(dir, 'keeper.pid')), 10_000)).toBe(true);
  }, 120_000);

  it('gives the server no environment variable of ours (no database URL, no token)', async () => {
    const dir = scratch();
    process.env.SE_SECRET_CANARY = 'canary-9f3e';
    try {
      await ensureEmbeddedServer(dir, NO_KEEPER);
    } finally {
      delete process.env.SE_SECRET_CANARY;
    }
    const environ = readFileSync(`/proc/${readRunningServer(dir)!.pid}/environ`, 'utf8').split('\0');
    expect(
      environ
        .filter((e) => e !== '')
        .map((e) => e.split('=')[0])
        .sort(),
    ).toEqual(['LANG', 'LC_ALL', 'PATH']);
  }, 120_000);

  const asRoot = process.getuid?.() === 0;
  const hasPostgresUser = spawnSync('id', ['-u', 'postgres']).status === 0;
  (asRoot && hasPostgresUser ? it : it.skip)(
    'as root without a user namespace: names the parent the postgres user cannot enter',
    async () => {
      const dir = scratch(); // under a 0700 mkdtemp directory
      const root = roots[roots.length - 1]!;
      const error = await ensureEmbeddedServer(dir, { ...NO_KEEPER, rootMode: 'user' }).catch(
        (e: unknown) => e,
      );
      expect(error).toBeInstanceOf(Error);
      expect((error as Error).message).toContain(`cannot enter ${root} (mode 0700)`);
      expect((error as Error).message).toMatch(
        /chmod o\+x .*run self-evolution as a normal user, or set DATABASE_URL/,
      );
      expect(existsSync(join(dir, 'data'))).toBe(false);
    },
    60_000,
  );

  (asRoot && hasPostgresUser ? it : it.skip)(
    'as root without a user namespace: runs as the postgres user when it can enter every parent',
    async () => {
      const dir = scratch();
      chmodSync(roots[roots.length - 1]!, 0o755);
      const db = await open(dir, { ...NO_KEEPER, rootMode: 'user' });
      expect(await db.query('SELECT current_user AS u')).toEqual([{ u: 'postgres' }]);
      const uid = Number(spawnSync('id', ['-u', 'postgres'], { encoding: 'utf8' }).stdout.trim());
      expect(statSync(join(dir, 'data')).uid).toBe(uid);
      expect(statSync(`/proc/${readRunningServer(dir)!.pid}`).uid).toBe(uid);
      // The password file stays ours; the server's copy for initdb is gone.
      expect(statSync(join(dir, 'password')).uid).toBe(0);
      expect(readdirSync(dir).sort()).toEqual(['data', 'password', 'postgres.log']);
    },
    120_000,
  );
});
