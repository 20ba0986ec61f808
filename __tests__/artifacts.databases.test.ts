/**
 * Artifacts of runs recorded in two databases (the embedded one, then a server given with --database-url-file)
 * share one artifacts root: each run's directory is `<run id>-<database id>`, so the two runs numbered 1 get
 * two directories, and each run.json names the database that recorded it, without its password.
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { randomBytes } from 'node:crypto';
import { readdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { createTestDatabase, type TestDatabase } from './helpers/db.js';
import { makeTempRepo, type TempRepo } from './helpers/git-repo.js';
import { runCli } from './helpers/cli.js';
import { artifactsDirOf } from '../src/report/run-report.js';
import { readDatabaseId } from '../src/store/database-id.js';
import { openDatabase } from '../src/store/open.js';
import { migrate } from '../src/store/migrate.js';

let database: TestDatabase;
let repo: TempRepo;
let password: string;
let urlFile: string;

beforeAll(async () => {
  database = await createTestDatabase('artifacts of two databases');
  const url = new URL(database.url);
  // A trust server ignores the password: a canary that must appear nowhere.
  if (url.password === '') url.password = `pw-canary-${randomBytes(8).toString('hex')}`;
  password = decodeURIComponent(url.password);
  repo = await makeTempRepo({
    '.github/self-evolution-config.json': JSON.stringify({
      enabled: true,
      safetyRails: { allowedPaths: ['docs/**'] },
      proposers: [{ kind: 'command', name: 'noop', command: 'true', type: 'cleanup', riskLevel: 0 }],
    }),
    'docs/a.md': 'a\n',
  });
  urlFile = join(repo.dir, '.git', 'db-url.txt'); // outside the work tree: it stays clean
  await writeFile(urlFile, `${url.toString()}\n`, { mode: 0o600 });
}, 60_000);

afterAll(async () => {
  await repo?.cleanup();
  await database?.drop();
});

describe('artifacts of two databases', () => {
  it('run 1 of the embedded database and run 1 of a server get two directories, each run.json naming its database', async () => {
    const embedded = ['--repo', repo.dir, '--repository', 'acme/two-dbs'];
    const server = [...embedded, '--database-url-file', urlFile];
    const outs: { runId: number; artifactsDir: string }[] = [];
    for (const args of [embedded, server]) {
      expect((await runCli(['flag', 'set', 'self_evolution_enabled', 'true', ...args])).code).toBe(0);
      const res = await runCli(['run', '--no-jitter', '--json', ...args]);
      expect(res.stdout + res.stderr).not.toContain(password);
      expect(res.code).toBe(0);
      outs.push(JSON.parse(res.stdout) as { runId: number; artifactsDir: string });
    }
    expect(outs.map((o) => o.runId)).toEqual([1, 1]);
    const root = join(repo.dir, '.self-evolution', 'artifacts');
    const dirs = (await readdir(root)).sort();
    expect(dirs).toHaveLength(2);
    for (const d of dirs) expect(d).toMatch(/^1-[0-9a-f]{12}$/);
    expect(outs.map((o) => o.artifactsDir).sort()).toEqual(dirs.map((d) => join(root, d)));

    const [fromEmbedded, fromServer] = await Promise.all(
      outs.map(async (o) => JSON.parse(await readFile(join(o.artifactsDir, 'run.json'), 'utf8'))),
    );
    const host = new URL(database.url);
    expect(fromEmbedded.database.description).toMatch(
      new RegExp(
        `^embedded postgres ${join(repo.dir, '.self-evolution', 'pg').replace(/[.*+?^${}()|[\]\\]/g, '\\$&')} \\(127\\.0\\.0\\.1:\\d+\\)$`,
      ),
    );
    expect(fromServer.database.description).toBe(
      `postgres ${host.hostname}:${host.port || '5432'}${host.pathname}`,
    );
    expect(fromEmbedded.database.id).not.toBe(fromServer.database.id);
    expect(outs[1]!.artifactsDir).toBe(join(root, `1-${fromServer.database.id}`));

    // No password in anything either run wrote.
    for (const d of dirs) {
      for (const name of await readdir(join(root, d), { recursive: true })) {
        const text = await readFile(join(root, d, name), 'utf8').catch(() => '');
        expect(text).not.toContain(password);
      }
    }
  }, 120_000);

  it('the database id is drawn once: the same after migrating again, and it names the directory', async () => {
    const db = await openDatabase({ databaseUrl: database.url, embeddedDir: '' });
    try {
      const id = await readDatabaseId(db);
      expect(id).toMatch(/^[0-9a-f]{12}$/);
      await migrate(db);
      expect(await readDatabaseId(db)).toBe(id);
      expect(artifactsDirOf('/a', 7, { id })).toBe(`/a/7-${id}`);
    } finally {
      await db.close();
    }
  });

  it('artifactsDirOf refuses an unknown database and an id that is not 12 hex characters', () => {
    expect(() => artifactsDirOf('/a', 1, undefined)).toThrow(/database is not known/);
    expect(() => artifactsDirOf('/a', 1, { id: '../../etc' })).toThrow(/not a database id/);
  });
});
