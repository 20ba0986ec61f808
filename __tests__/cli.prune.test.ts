/**
 * `self-evolution prune --older-than <duration>` as a user runs it (separate processes against Postgres): durations
 * that are not a whole number of hours, days or weeks, or under a day, are refused with exit 2 and a message naming
 * the value and the accepted forms; --dry-run counts and deletes nothing; a prune deletes this repository's old
 * finished runs (or every repository's with --all) in batches, prints the counts per table (or one JSON object),
 * and keeps recent runs, running runs and runs with a pull request still open.
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';

import type { Db } from '../src/store/db.js';
import { migrate } from '../src/store/migrate.js';
import { openDatabase } from '../src/store/open.js';
import { runCli } from './helpers/cli.js';
import { createTestDatabase } from './helpers/db.js';
import { makeTempRepo, type TempRepo } from './helpers/git-repo.js';

const MAIN = 'acme/prune-cli';
const OTHER = 'acme/prune-cli-other';

let database: { url: string; drop(): Promise<void> };
let admin: Db;
let repo: TempRepo;
let env: Record<string, string>;

/** A run `daysAgo` days ago, with a reflection and a proposal unless skipped; returns its id. */
async function run(repository: string, daysAgo: number, status: string): Promise<number> {
  const [row] = await admin.query<{ id: number }>(
    `INSERT INTO self_evolution_runs (repository, run_date, trigger, dry_run, forced, status, started_at)
     VALUES ($1, (now() - $2::int * interval '1 day')::date, 'schedule', true, true, $3,
       now() - $2::int * interval '1 day')
     RETURNING id`,
    [repository, daysAgo, status],
  );
  const id = Number(row!.id);
  if (status !== 'skipped') {
    await admin.query(`INSERT INTO self_evolution_reflections (run_id, insights) VALUES ($1, 'x')`, [id]);
    await admin.query(
      `INSERT INTO self_evolution_proposals (run_id, proposer, type, title, risk_level, status, verdict, allowlisted)
       VALUES ($1, 'command', 'prompt', 't', 0, 'evaluated', 'allowed', true)`,
      [id],
    );
  }
  return id;
}

async function runIds(repository: string): Promise<number[]> {
  const rows = await admin.query<{ id: number }>(
    'SELECT id FROM self_evolution_runs WHERE repository = $1 ORDER BY id',
    [repository],
  );
  return rows.map((r) => Number(r.id));
}

beforeAll(async () => {
  database = await createTestDatabase('cli_prune');
  admin = await openDatabase({ databaseUrl: database.url, embeddedDir: '' });
  await migrate(admin);
  repo = await makeTempRepo({ 'README.md': 'x\n' });
  env = { DATABASE_URL: database.url };
}, 60_000);

afterAll(async () => {
  await repo?.cleanup();
  await admin?.close();
  await database?.drop();
});

describe('prune', () => {
  it.each([
    ['10m', /h \(hours\), d \(days\) or w \(weeks\), e\.g\. 400d, 52w or 36h; got "10m"/],
    ['400', /whole number and a unit.*got "400"/],
    ['1.5d', /"1\.5d"/],
    ['-3d', /got "-3d"/],
    ['12h', /"12h" is under the minimum of 1d \(24h\)/],
    ['0d', /"0d" is under the minimum of 1d/],
    ['99999w', /"99999w" is over the maximum of 36500d/],
  ])('refuses --older-than %s with exit code 2', async (value, message) => {
    const res = await runCli(['prune', '--older-than', value, '--repo', repo.dir, '--repository', MAIN], env);
    expect(res.code).toBe(2);
    expect(res.stderr).toMatch(message);
    expect(res.stdout).toBe('');
  });

  it('refuses a prune without --older-than, a bad --batch-size, and --all with --repository (exit 2)', async () => {
    const missing = await runCli(['prune', '--repo', repo.dir, '--repository', MAIN], env);
    expect(missing.code).toBe(2);
    expect(missing.stderr).toMatch(/--older-than <duration>/);
    const batch = await runCli(
      ['prune', '--older-than', '30d', '--batch-size', '0', '--repo', repo.dir, '--repository', MAIN],
      env,
    );
    expect(batch.code).toBe(2);
    expect(batch.stderr).toMatch(/"0"/);
    const both = await runCli(
      ['prune', '--older-than', '30d', '--all', '--repo', repo.dir, '--repository', MAIN],
      env,
    );
    expect(both.code).toBe(2);
    expect(both.stderr).toMatch(/--repository owner\/name or --all, not both/);
  });

  it('--help says which runs are kept', async () => {
    const res = await runCli(['prune', '--help'], env);
    expect(res.code).toBe(0);
    expect(res.stdout.replace(/\s+/g, ' ')).toMatch(
      /kept: runs still running, and runs with a pull request or a revert not in a final state/,
    );
  });

  it('--dry-run counts, a prune deletes in batches; recent, running and open runs stay; --all takes the rest', async () => {
    const old = [
      await run(MAIN, 60, 'success'),
      await run(MAIN, 55, 'skipped'),
      await run(MAIN, 50, 'failed'),
      await run(MAIN, 45, 'cancelled'),
      await run(MAIN, 40, 'success'),
    ];
    const oldRunning = await run(MAIN, 39, 'running');
    const oldOpen = await run(MAIN, 38, 'success');
    await admin.query(
      `INSERT INTO self_evolution_actions (proposal_id, run_id, repository, action_type, status, patch_sha256, pr_number)
       SELECT id, run_id, $2, 'pr', 'submitted', 'abc', 7 FROM self_evolution_proposals WHERE run_id = $1`,
      [oldOpen, MAIN],
    );
    const recent = await run(MAIN, 3, 'success');
    const otherOld = await run(OTHER, 60, 'success');

    const dry = await runCli(
      ['prune', '--older-than', '30d', '--dry-run', '--json', '--repo', repo.dir, '--repository', MAIN],
      env,
    );
    expect(dry.code).toBe(0);
    expect(dry.stdout.trim().split('\n')).toHaveLength(1);
    const planned = JSON.parse(dry.stdout) as Record<string, unknown>;
    expect(planned).toMatchObject({
      olderThan: '30d',
      repository: MAIN,
      dryRun: true,
      batches: 0,
      deleted: { runs: 5, reflections: 4, proposals: 4, actions: 0, rollbacks: 0 },
      kept: { unfinished: 1, inFlight: 1, locked: 0 },
    });
    expect(await runIds(MAIN)).toEqual([...old, oldRunning, oldOpen, recent]);

    const text = await runCli(
      ['prune', '--older-than', '4w', '--batch-size', '2', '--repo', repo.dir, '--repository', MAIN],
      env,
    );
    expect(text.code).toBe(0);
    expect(text.stderr).toMatch(/batch 1: 2 run\(s\) deleted/);
    expect(text.stderr).toMatch(/batch 3: 1 run\(s\) deleted/);
    expect(text.stdout).toMatch(new RegExp(`runs of ${MAIN} started before .* UTC \\(older than 4w\\)`));
    expect(text.stdout).toMatch(/self_evolution_runs\s+5\n/);
    expect(text.stdout).toMatch(/self_evolution_reflections\s+4\n/);
    expect(text.stdout).toMatch(/self_evolution_proposals\s+4\n/);
    expect(text.stdout).toMatch(/3 batch\(es\) of at most 2 runs/);
    expect(text.stdout).toMatch(
      /kept: 1 still running, 1 with a pull request or revert not in a final state, 0 locked/,
    );
    expect(await runIds(MAIN)).toEqual([oldRunning, oldOpen, recent]);
    expect(await runIds(OTHER)).toEqual([otherOld]);

    const all = await runCli(['prune', '--older-than', '30d', '--all', '--json', '--repo', repo.dir], env);
    expect(all.code).toBe(0);
    expect(JSON.parse(all.stdout)).toMatchObject({ repository: null, batches: 1, deleted: { runs: 1 } });
    expect(await runIds(OTHER)).toEqual([]);
  });
});
