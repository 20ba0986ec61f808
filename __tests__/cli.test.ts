/**
 * The CLI as a user runs it: separate processes, exit codes, --json, and 20 concurrent runs for one
 * repository against one Postgres (exactly one gets past the lock; the rest are recorded as skipped).
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openDatabase } from '../src/store/open.js';
import type { Db } from '../src/store/db.js';
import { migrate } from '../src/store/migrate.js';
import { planAction, updateAction } from '../src/store/actions.js';
import { createTestDatabase } from './helpers/db.js';
import { makeTempRepo } from './helpers/git-repo.js';
import { runCli } from './helpers/cli.js';

const CONFIG = {
  enabled: true,
  safetyRails: { allowedPaths: ['docs/**'], blockedPaths: ['.github/workflows/**'] },
  proposers: [
    // Slow enough that the lock is held while the other processes arrive.
    {
      kind: 'command',
      name: 'slow-formatter',
      command: "sleep 3; sed -i 's/  */ /g' docs/a.md",
      type: 'cleanup',
      riskLevel: 0,
    },
  ],
};

let database: { url: string; drop(): Promise<void> };
let admin: Db;

beforeAll(async () => {
  database = await createTestDatabase('cli');
  admin = await openDatabase({ databaseUrl: database.url, embeddedDir: '' });
  await migrate(admin);
});

afterAll(async () => {
  await admin?.close();
  await database?.drop();
});

describe('self-evolution CLI', () => {
  it('runs with a command proposer and prints exactly one JSON object on stdout', async () => {
    const repo = await makeTempRepo({
      '.github/self-evolution-config.json': JSON.stringify({
        ...CONFIG,
        proposers: [{ ...CONFIG.proposers[0], command: "sed -i 's/  */ /g' docs/a.md" }],
      }),
      'docs/a.md': 'spaced    out   text\n',
    });
    try {
      const env = { DATABASE_URL: database.url };
      const flag = await runCli(
        ['flag', 'set', 'self_evolution_enabled', 'true', '--repo', repo.dir, '--repository', 'acme/json'],
        env,
      );
      expect(flag.code).toBe(0);
      const res = await runCli(
        ['run', '--repo', repo.dir, '--repository', 'acme/json', '--no-jitter', '--json'],
        env,
      );
      expect(res.code).toBe(0);
      const out = JSON.parse(res.stdout);
      expect(out).toMatchObject({
        status: 'success',
        repository: 'acme/json',
        dryRun: true,
        skipReason: null,
      });
      expect(out.proposals).toEqual([
        expect.objectContaining({
          type: 'cleanup',
          riskLevel: 0,
          filesChanged: 1,
          linesChanged: 2,
          verdict: 'allowed',
          blockedReasons: [],
        }),
      ]);
      expect(res.stdout.trim().split('\n')).toHaveLength(1);
      expect(res.stderr).toContain('[ALLOWED]');
      expect(res.stdout + res.stderr).not.toContain(database.url);

      const again = await runCli(
        ['run', '--repo', repo.dir, '--repository', 'acme/json', '--no-jitter', '--json'],
        env,
      );
      expect(again.code).toBe(0);
      expect(JSON.parse(again.stdout)).toMatchObject({
        status: 'skipped',
        skipReason: expect.stringMatching(/already ran today/),
      });

      const status = await runCli(['status', '--repo', repo.dir, '--repository', 'acme/json', '--json'], env);
      expect(status.code).toBe(0);
      const runs = JSON.parse(status.stdout);
      expect(runs.map((r: { status: string }) => r.status)).toEqual(['skipped', 'success']);
      expect(runs.map((r: { pullRequests: unknown[] }) => r.pullRequests)).toEqual([[], []]);

      // the run's pull requests, in two states, in the table and the JSON
      const runId: number = runs[1].id;
      const [proposal] = await admin.query<{ id: number }>(
        'SELECT id FROM self_evolution_proposals WHERE run_id = $1',
        [runId],
      );
      const plan = (hash: string) =>
        planAction(admin, {
          repository: 'acme/json',
          runId,
          proposalId: proposal!.id,
          actionType: 'pr',
          branch: `self-evolution/x-${hash.slice(0, 8)}`,
          baseSha: 'b'.repeat(40),
          patchSha256: hash,
          payload: {},
        });
      const opened = await plan('1'.repeat(64));
      await updateAction(admin, opened.action.id, {
        status: 'submitted',
        prNumber: 12,
        prUrl: 'https://github.com/acme/json/pull/12',
      });
      await plan('2'.repeat(64)).then(({ action }) => updateAction(admin, action.id, { status: 'pushed' }));
      const withPrs = await runCli(
        ['status', '--repo', repo.dir, '--repository', 'acme/json', '--json'],
        env,
      );
      expect(withPrs.code).toBe(0);
      const listed = JSON.parse(withPrs.stdout);
      expect(listed[0].pullRequests).toEqual([]);
      expect(listed[1].pullRequests).toEqual([
        {
          number: 12,
          url: 'https://github.com/acme/json/pull/12',
          state: 'submitted',
          branch: 'self-evolution/x-11111111',
        },
        { number: null, url: null, state: 'pushed', branch: 'self-evolution/x-22222222' },
      ]);
      const text = await runCli(['status', '--repo', repo.dir, '--repository', 'acme/json'], env);
      expect(text.code).toBe(0);
      const [header, skipped, success] = text.stdout.trimEnd().split('\n');
      expect(header).toMatch(/\bsandbox\s+PRs\s+reason \/ summary$/);
      expect(skipped).toMatch(/\s-\s+already ran today/);
      expect(success).toMatch(/\s#12 submitted, pushed \(no PR\)\s/);
    } finally {
      await repo.cleanup();
    }
  });

  it('exits 2 listing every config error with its JSON path', async () => {
    const repo = await makeTempRepo({
      '.github/self-evolution-config.json': JSON.stringify({
        enabled: 'yes',
        safetyRails: { maxRiskLevel: 9 },
        bogus: 1,
      }),
    });
    try {
      const res = await runCli(['run', '--repo', repo.dir, '--no-jitter'], { DATABASE_URL: database.url });
      expect(res.code).toBe(2);
      expect(res.stderr).toContain('$.enabled');
      expect(res.stderr).toContain('$.safetyRails.maxRiskLevel');
      expect(res.stderr).toContain('bogus');
      expect(res.stderr).not.toMatch(/\n\s+at /); // no stack trace
    } finally {
      await repo.cleanup();
    }
  });

  it('exits 2 for a directory that is not a git repository, for --live and for a bad option value', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'se-notgit-'));
    try {
      const notGit = await runCli(['run', '--repo', dir]);
      expect(notGit.code).toBe(2);
      expect(notGit.stderr).toMatch(/not a git repository/);
      const repo = await makeTempRepo({ 'README.md': 'x\n' });
      try {
        // live needs a committed config: an uncommitted one is refused before anything happens
        await repo.write({
          '.github/self-evolution-config.json': '{"enabled": true, "dryRunMode": false}\n',
        });
        const dirty = await runCli(['run', '--repo', repo.dir, '--live']);
        expect(dirty.code).toBe(2);
        expect(dirty.stderr).toMatch(/a live run would be refused: the config .* is not committed/);
        // and a GitHub repository to open pull requests in
        await repo.commit({});
        const local = await runCli(['run', '--repo', repo.dir, '--live']);
        expect(local.code).toBe(2);
        expect(local.stderr).toMatch(/must be owner\/name of a GitHub repository, got "local\//);
        const bad = await runCli(['run', '--repo', repo.dir, '--jitter-minutes', 'soon']);
        expect(bad.code).toBe(2);
        expect(bad.stderr).toMatch(/soon/);
      } finally {
        await repo.cleanup();
      }
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('exits 1 with a clear message, and no password, when the database is unreachable', async () => {
    const repo = await makeTempRepo({
      '.github/self-evolution-config.json': JSON.stringify(CONFIG),
      'docs/a.md': 'a\n',
    });
    try {
      const res = await runCli(['run', '--repo', repo.dir, '--no-jitter'], {
        DATABASE_URL: 'postgres://u:hunter2-secret@127.0.0.1:1/db',
      });
      expect(res.code).toBe(1);
      expect(res.stderr).toMatch(/database/i);
      expect(res.stderr).not.toContain('hunter2-secret');
    } finally {
      await repo.cleanup();
    }
  });

  it('20 concurrent runs for one repository: exactly one gets past the lock, the rest are recorded skipped', async () => {
    const repo = await makeTempRepo({
      '.github/self-evolution-config.json': JSON.stringify(CONFIG),
      'docs/a.md': 'a  b\n',
    });
    try {
      const env = { DATABASE_URL: database.url };
      const repository = 'acme/concurrent';
      expect(
        (await runCli(['flag', 'set', 'self_evolution_enabled', 'true', '--repo', repo.dir], env)).code,
      ).toBe(0);
      const results = await Promise.all(
        Array.from({ length: 20 }, () =>
          runCli(['run', '--repo', repo.dir, '--repository', repository, '--no-jitter', '--json'], env),
        ),
      );
      const outs = results.map((r) => {
        expect(r.code).toBe(0);
        return JSON.parse(r.stdout) as { status: string; skipReason: string | null; runId: number };
      });
      expect(outs.filter((o) => o.status === 'success')).toHaveLength(1);
      const skipped = outs.filter((o) => o.status === 'skipped');
      expect(skipped).toHaveLength(19);
      for (const s of skipped) expect(s.skipReason).toMatch(/lock held|already ran today/);
      const rows = await admin.query<{ status: string; n: number }>(
        'SELECT status, count(*)::int AS n FROM self_evolution_runs WHERE repository = $1 GROUP BY status ORDER BY status',
        [repository],
      );
      expect(rows).toEqual([
        { status: 'skipped', n: 19 },
        { status: 'success', n: 1 },
      ]);
      // Every process got its own record.
      expect(new Set(outs.map((o) => o.runId)).size).toBe(20);
    } finally {
      await repo.cleanup();
    }
  }, 240_000);
});

describe('self-evolution CLI on an empty repository', () => {
  it('exits 2 saying there is no commit to propose against', async () => {
    const repo = await makeTempRepo(
      { '.github/self-evolution-config.json': '{"enabled": true}' },
      { empty: true },
    );
    try {
      const res = await runCli(['run', '--repo', repo.dir, '--no-jitter']);
      expect(res.code).toBe(2);
      expect(res.stderr).toMatch(/no commit to propose changes against/);
      const missing = await runCli(['run', '--repo', repo.dir, '--no-jitter', '--config', 'nope.json']);
      expect(missing.code).toBe(2);
      expect(missing.stderr).toMatch(/config file not found/);
    } finally {
      await repo.cleanup();
    }
  });
});
