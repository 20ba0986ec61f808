/**
 * Health after merge, auto-revert and rollback on request (issue #10 parts 2 and 3), end to end in process: a
 * real checkout whose `origin` is a local bare repository, GitHub played by the OpenAPI-validated fake (its
 * `mergePull` control merges as a person would), real Postgres, an injected clock (each run is one day later).
 * What must hold: a confirmed failure of a merged self-change opens exactly one revert pull request (not a draft,
 * labelled, its body naming the failing checks), recorded; a cancelled run and a flaky failure revert nothing; a
 * revert is never reverted; a crash while opening the pull request ends with exactly one after the next run;
 * shadow mode does nothing on GitHub and records everything; a merged revert rolls the action back and marks its
 * run reverted; the CLI's rollback --pr opens one for the user; the action refuses a read-only actor and records
 * it. Nothing is ever merged by the project or force-pushed.
 */
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it, jest } from '@jest/globals';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Db } from '../src/store/db.js';
import { main } from '../src/cli.js';
import { runRollback } from '../src/action.js';
import {
  REVERT_LABEL,
  renderRevertPullRequest,
  revertBranchName,
  revertsSummary,
} from '../src/act/revert.js';
import { revertSummaryLines, revertTextLines } from '../src/report/summary.js';
import type { RevertReport } from '../src/records.js';
import type { RunReport } from '../src/report/types.js';
import { revertOfMessage, TRAILER_REVERT_OF } from '../src/git/revert.js';
import { listRollbacks } from '../src/store/rollbacks.js';
import { setFlag } from '../src/store/flags.js';
import { openRunDatabase, resetRuns } from './helpers/run-db.js';
import type { TestDatabase } from './helpers/db.js';
import { config, DAY, TOKEN, world, type World } from './helpers/live-world.js';

let database: TestDatabase;
let admin: Db;

beforeAll(async () => {
  ({ database, admin } = await openRunDatabase('revert'));
});
afterAll(async () => {
  await admin?.close();
  await database?.drop();
});
beforeEach(async () => {
  await resetRuns(admin);
});

let w: World | undefined;
afterEach(async () => {
  await w?.cleanup();
  w = undefined;
});

const HOUR = 3_600_000;
/** ISO time (seconds) `minutes` after the second run's day began. */
const at = (minutes: number): string =>
  new Date(DAY.getTime() + 86_400_000 - 2 * HOUR + minutes * 60_000).toISOString().replace(/\.\d{3}Z$/, 'Z');

/** The first run opens the self-change's pull request; a person merges it; the action says so (reconciled). */
async function mergedSelfChange(
  world: World,
  method: 'merge' | 'squash' = 'merge',
): Promise<{ runId: number; number: number; merge: string; parent: string; actionId: number }> {
  const first = await world.run();
  expect(first.proposals[0]!.pullRequest).toMatchObject({ state: 'opened' });
  const pr = world.fake.pulls[0]!;
  const merge = await world.fake.mergePull(pr.number, { by: 'alice', method });
  const parent = await world.git('rev-parse', `${merge}^1`);
  // What reconciliation records (act/reconcile.ts), with the time of the runs' clock.
  const rows = await admin.query<{ id: number }>(
    `UPDATE self_evolution_actions SET status = 'merged', merge_commit_sha = $1, merged_at = $2, merged_by = 'alice'
     WHERE pr_number = $3 RETURNING id`,
    [merge, new Date(DAY.getTime() + 86_400_000 - 3 * HOUR), pr.number],
  );
  return { runId: first.runId!, number: pr.number, merge, parent, actionId: Number(rows[0]!.id) };
}

/** "test" green on the parent, failed on the merge commit, and failed again on its rerun 20 minutes later. */
function confirmedFailure(world: World, merge: string, parent: string): void {
  world.fake.seedCheckRun({ headSha: parent, name: 'test', conclusion: 'success', startedAt: at(-90) });
  world.fake.seedCheckRun({ headSha: parent, name: 'lint', conclusion: 'success', startedAt: at(-90) });
  world.fake.seedCheckRun({ headSha: merge, name: 'lint', conclusion: 'success', startedAt: at(0) });
  world.fake.seedCheckRun({ headSha: merge, name: 'test', conclusion: 'failure', startedAt: at(0) });
  world.fake.seedCheckRun({ headSha: merge, name: 'test', conclusion: 'failure', startedAt: at(20) });
}

async function rollbacks(): Promise<Record<string, unknown>[]> {
  return admin.query(
    `SELECT action_id, run_id, trigger, mode, status, reverted_sha, revert_branch, revert_pr_number, requested_by,
            error, evidence FROM self_evolution_rollbacks ORDER BY id`,
  );
}

/** A person switches the loop back on after the circuit breaker stopped it (an automatic revert trips it). */
async function humanReset(): Promise<void> {
  await setFlag(admin, 'self_evolution_enabled', true, { by: 'alice' });
}

const revertPulls = (world: World) => world.fake.pulls.filter((p) => p.head.includes('revert-'));

/** A person's clone of the origin: commits `files` on main, or runs `git <args>` there, and pushes main. */
async function personPushes(
  world: World,
  work: (git: (...a: string[]) => Promise<string>) => Promise<void>,
): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'se-person-'));
  try {
    const git = (...a: string[]) =>
      world.repo.git('-C', dir, '-c', 'user.name=Carol', '-c', 'user.email=carol@example.com', ...a);
    await world.repo.git('clone', '--quiet', '--branch', 'main', world.bare, dir);
    await work(git);
    await git('push', '--quiet', 'origin', 'HEAD:refs/heads/main');
    return await git('rev-parse', 'HEAD');
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

describe('auto-revert', () => {
  it('a confirmed failure opens exactly one revert pull request (not a draft, labelled, the failing checks in its body); merged, it rolls the change back', async () => {
    w = await world(database.url);
    const c = await mergedSelfChange(w);
    confirmedFailure(w, c.merge, c.parent);

    const second = await w.run();
    expect(second.status).toBe('success');
    expect(second.reverts).toHaveLength(1);
    const decided = second.reverts![0]!;
    expect(decided).toMatchObject({
      actionId: c.actionId,
      pullRequest: c.number,
      revertedSha: c.merge,
      trigger: 'auto',
      mode: 'pr',
      state: 'opened',
      branch: revertBranchName('self-evolution/', c.merge),
    });
    expect(decided.guards!.map((g) => `${g.id}:${g.held}`)).toEqual([
      'not-a-revert:true',
      'window:true',
      'readable:true',
      'required-failed:true',
      'parent-green:true',
      'confirmed:true',
    ]);
    expect(second.summary).toMatch(/; auto-revert: 1 revert pull request\(s\) opened$/);

    const [revert, ...more] = revertPulls(w);
    expect(more).toEqual([]);
    expect(revert).toMatchObject({
      head: `self-evolution/revert-${c.merge.slice(0, 7)}`,
      base: 'main',
      draft: false,
      state: 'open',
      title: 'Revert "Fix typos in the guide"',
    });
    expect(revert!.labels).toEqual([REVERT_LABEL]);
    expect(revert!.body).toContain('| check | on the merge commit | on the parent | confirmed by |');
    expect(revert!.body).toMatch(
      /\| \[test\]\(https:\/\/github\.com\/acme\/agent\/runs\/\d+\) \(check-run\) \| failure, attempt 2/,
    );
    expect(revert!.body).toContain('its rerun (attempt 2)');
    expect(revert!.body).toContain('20 min later');
    expect(revert!.body).toContain(`This reverts #${c.number}`);
    expect(revert!.body).toMatch(/Self-Evolution never merges it/);

    // The revert commit: on main's tip, the parent's content back, the trailers.
    const head = revert!.headSha;
    expect(await w.git('rev-parse', `${head}^`)).toBe(c.merge);
    expect(await w.git('rev-parse', `${head}^{tree}`)).toBe(await w.git('rev-parse', `${c.parent}^{tree}`));
    const message = await w.git('log', '-1', '--format=%B', head);
    expect(message).toMatch(/^Revert "Fix typos in the guide"\n\nThis reverts commit [0-9a-f]{40}\./);
    expect(message).toContain(`${TRAILER_REVERT_OF}: ${c.merge}`);
    expect(message).toContain(`Self-Evolution-Run: ${second.runId}`);
    expect(await revertOfMessage(w.repo.dir, message)).toBe(c.merge);

    const [row] = await rollbacks();
    expect(row).toMatchObject({
      action_id: c.actionId,
      run_id: second.runId,
      trigger: 'auto',
      mode: 'pr',
      status: 'submitted',
      reverted_sha: c.merge,
      revert_branch: revert!.head,
      revert_pr_number: revert!.number,
    });
    const evidence = row!.evidence as {
      failing: { name: string; confirmation: { by: string } }[];
      guards: { id: string; held: boolean }[];
    };
    expect(evidence.failing.map((f) => [f.name, f.confirmation.by])).toEqual([['test', 'rerun']]);
    expect(evidence.guards.every((g) => g.held)).toBe(true);
    expect(evidence.guards).toHaveLength(6);

    // An automatic revert trips the circuit breaker (src/gates/breaker.ts): a person looks and switches the loop
    // back on. The next run finds it open: no second one.
    await humanReset();
    const third = await w.run();
    expect(third.reverts).toEqual([expect.objectContaining({ actionId: c.actionId, state: 'existing' })]);
    expect(revertPulls(w)).toHaveLength(1);

    // A person merges it: the rollback is merged, the action rolled back, the run that made it reverted.
    await w.fake.mergePull(revert!.number, { by: 'alice', method: 'merge' });
    await humanReset();
    const fourth = await w.run();
    expect(fourth.reverts).toEqual([
      expect.objectContaining({ actionId: c.actionId, state: 'merged', number: revert!.number }),
    ]);
    expect((await rollbacks())[0]).toMatchObject({ status: 'merged' });
    const [action] = await admin.query<{ status: string }>(
      'SELECT status FROM self_evolution_actions WHERE id = $1',
      [c.actionId],
    );
    expect(action!.status).toBe('rolled_back');
    const [run] = await admin.query<{ status: string }>(
      'SELECT status FROM self_evolution_runs WHERE id = $1',
      [c.runId],
    );
    expect(run!.status).toBe('reverted');

    expect(w.fake.merges).toEqual([]);
    expect(w.fake.refWrites.filter((r) => r.force)).toEqual([]);
    w.fake.assertNoViolations();
  });

  it('a cancelled rerun, a flaky failure and a failure not confirmed yet revert nothing', async () => {
    w = await world(database.url);
    const c = await mergedSelfChange(w);
    const seed = w.fake.seedCheckRun;
    seed({ headSha: c.parent, name: 'test', conclusion: 'success', startedAt: at(-90) });
    seed({ headSha: c.merge, name: 'test', conclusion: 'failure', startedAt: at(0) });
    const rerun = seed({ headSha: c.merge, name: 'test', conclusion: 'cancelled', startedAt: at(20) });

    const cancelled = await w.run();
    expect(cancelled.reverts).toEqual([expect.objectContaining({ state: 'kept' })]);
    expect(cancelled.reverts![0]!.reason).toMatch(
      /^required-failed: .*cancelled\/skipped\/neutral \(never failures\)/,
    );

    // The rerun passed: a flaky failure.
    rerun.conclusion = 'success';
    const flaky = await w.run();
    expect(flaky.reverts![0]).toMatchObject({ state: 'kept' });
    expect(flaky.reverts![0]!.reason).toMatch(/^required-failed: no required check's latest attempt failed/);

    // A rerun that failed again 5 minutes later: not confirmed yet (confirmMinutes 15).
    rerun.conclusion = 'failure';
    rerun.startedAt = at(5);
    rerun.completedAt = at(5);
    const early = await w.run();
    expect(early.reverts![0]).toMatchObject({ state: 'kept' });
    expect(early.reverts![0]!.reason).toMatch(
      /failed 5 minute\(s\) after the first failure, less than confirmMinutes 15/,
    );

    expect(revertPulls(w)).toEqual([]);
    expect(await rollbacks()).toEqual([]);
    w.fake.assertNoViolations();
  });

  it('never reverts a revert (its trailer, whatever its title): the health stage keeps it, a request is refused and recorded', async () => {
    w = await world(database.url);
    const c = await mergedSelfChange(w, 'squash');
    // As if a revert had been merged by rebase: the squash commit carries the trailer (its title does not say "Revert").
    const tree = await w.git('rev-parse', `${c.merge}^{tree}`);
    const disguised = await w.git(
      'commit-tree',
      tree,
      '-p',
      c.parent,
      '-m',
      `Tidy the guide\n\n${TRAILER_REVERT_OF}: ${'f'.repeat(40)}`,
    );
    await w.git('update-ref', 'refs/heads/main', disguised, c.merge);
    await admin.query('UPDATE self_evolution_actions SET merge_commit_sha = $1 WHERE id = $2', [
      disguised,
      c.actionId,
    ]);
    confirmedFailure(w, disguised, c.parent);

    const second = await w.run();
    expect(second.reverts).toEqual([expect.objectContaining({ state: 'kept' })]);
    expect(second.reverts![0]!.reason).toMatch(
      /^not-a-revert: [0-9a-f]{7} is a revert \(Self-Evolution-Revert-Of trailer\)/,
    );
    expect(revertPulls(w)).toEqual([]);

    const err: string[] = [];
    const code = await main(
      [
        'node',
        'self-evolution',
        'rollback',
        '--repo',
        w.repo.dir,
        '--repository',
        'acme/agent',
        '--action',
        String(c.actionId),
      ],
      {
        stdout: () => undefined,
        stderr: (t) => err.push(t),
        env: {
          DATABASE_URL: database.url,
          GITHUB_TOKEN: TOKEN,
          GITHUB_API_URL: w.fake.url,
          GITHUB_ACTOR: 'alice',
        },
        cwd: w.repo.dir,
      },
    );
    expect(code).toBe(1);
    expect(err.join('')).toMatch(
      /refused: .* is itself a revert \(Self-Evolution-Revert-Of trailer\): a revert is never reverted/,
    );
    expect(await rollbacks()).toEqual([
      expect.objectContaining({
        action_id: c.actionId,
        trigger: 'manual',
        status: 'failed',
        requested_by: 'alice',
        error: expect.stringMatching(/^refused: [0-9a-f]{8} is itself a revert/),
      }),
    ]);
    expect(revertPulls(w)).toEqual([]);
    w.fake.assertNoViolations();
  });

  it('a crash while opening the revert pull request (GitHub 500s, then the record lost) ends with exactly one after the next run', async () => {
    w = await world(database.url);
    const c = await mergedSelfChange(w);
    confirmedFailure(w, c.merge, c.parent);
    w.fake.failNext({ method: 'POST', path: '/repos/acme/agent/pulls', status: 500, times: 4 });

    const second = await w.run();
    expect(second.reverts).toEqual([expect.objectContaining({ state: 'not-opened' })]);
    expect(second.reverts![0]!.reason).toMatch(/revert pull request not opened: GitHub API error: 500/);
    const [pushed] = await rollbacks();
    expect(pushed).toMatchObject({ status: 'pushed' });
    const branch = revertBranchName('self-evolution/', c.merge);
    const head = await w.git('rev-parse', `refs/heads/${branch}`);
    expect(revertPulls(w)).toEqual([]);

    // As if the process died right after the push, before it recorded it.
    await admin.query("UPDATE self_evolution_rollbacks SET status = 'planned', revert_head_sha = NULL");
    const third = await w.run();
    expect(third.reverts).toEqual([expect.objectContaining({ state: 'opened', branch })]);
    expect(revertPulls(w)).toHaveLength(1);
    expect(revertPulls(w)[0]!.headSha).toBe(head); // adopted by its trailer, not rewritten
    expect((await rollbacks()).map((r) => r.status)).toEqual(['submitted']);

    await humanReset(); // the opened revert tripped the breaker
    const fourth = await w.run();
    expect(fourth.reverts).toEqual([expect.objectContaining({ state: 'existing' })]);
    expect(revertPulls(w)).toHaveLength(1);
    expect(w.fake.refWrites.filter((r) => r.force)).toEqual([]);
    w.fake.assertNoViolations();
  });

  it('opens at most one revert per run: a second confirmed failure waits for the next run', async () => {
    w = await world(database.url);
    const c = await mergedSelfChange(w);
    // A second self-change, merged after the first (its action row as reconciliation would write it).
    const other = await personPushes(w, async (git) => {
      await writeFile(join(await git('rev-parse', '--show-toplevel'), 'docs', 'other.md'), 'other, tidier\n');
      await git('commit', '--quiet', '-am', 'Tidy the other page');
    });
    const [second] = await admin.query<{ id: number }>(
      `INSERT INTO self_evolution_actions
         (proposal_id, run_id, repository, action_type, status, branch, pr_number, pr_url, patch_sha256,
          merge_commit_sha, merged_at, merged_by)
       SELECT proposal_id, run_id, repository, 'pr', 'merged', 'self-evolution/other', 99,
          'https://github.com/acme/agent/pull/99', $1, $2, merged_at + interval '1 minute', 'alice'
       FROM self_evolution_actions WHERE id = $3 RETURNING id`,
      ['e'.repeat(64), other, c.actionId],
    );
    confirmedFailure(w, c.merge, c.parent);
    // The second one breaks a check of its own ("docs": green on its parent, the first merge commit).
    w.fake.seedCheckRun({ headSha: c.merge, name: 'docs', conclusion: 'success', startedAt: at(0) });
    w.fake.seedCheckRun({ headSha: other, name: 'docs', conclusion: 'failure', startedAt: at(30) });
    w.fake.seedCheckRun({ headSha: other, name: 'docs', conclusion: 'failure', startedAt: at(50) });

    const run = await w.run();
    const byAction = new Map(run.reverts!.map((r) => [r.actionId, r]));
    expect(byAction.get(c.actionId)).toMatchObject({ state: 'opened' });
    expect(byAction.get(Number(second!.id))).toMatchObject({ state: 'limit' });
    expect(byAction.get(Number(second!.id))!.reason).toMatch(/at most 1 per run\): the next run opens it$/);
    expect(revertPulls(w)).toHaveLength(1);

    await humanReset(); // the opened revert tripped the breaker
    const next = await w.run();
    expect(new Map(next.reverts!.map((r) => [r.actionId, r.state]))).toEqual(
      new Map([
        [c.actionId, 'existing'],
        [Number(second!.id), 'opened'],
      ]),
    );
    expect(revertPulls(w)).toHaveLength(2);
    w.fake.assertNoViolations();
  });

  it('a change a person already reverted on the default branch is not reverted again', async () => {
    w = await world(database.url);
    const c = await mergedSelfChange(w);
    confirmedFailure(w, c.merge, c.parent);
    const reverted = await personPushes(w, async (git) => {
      await git('revert', '--no-edit', '-m', '1', c.merge);
    });
    const run = await w.run();
    expect(run.reverts).toEqual([expect.objectContaining({ state: 'already-reverted' })]);
    expect(run.reverts![0]!.reason).toBe(
      `main already reverts it: ${reverted.slice(0, 8)} says "This reverts commit ${c.merge.slice(0, 8)}…"`,
    );
    expect(revertPulls(w)).toEqual([]);
    expect(await rollbacks()).toEqual([]);
    w.fake.assertNoViolations();
  });

  it('the propose job of the two-job setup (no write token) decides as shadow mode and opens nothing', async () => {
    w = await world(database.url);
    const c = await mergedSelfChange(w);
    confirmedFailure(w, c.merge, c.parent);
    const bundleDir = await mkdtemp(join(tmpdir(), 'se-bundle-'));
    try {
      // The propose job reads GitHub with its read-only github-token; it has no pr-token.
      const propose = await w.run({
        publishMode: 'bundle',
        bundleDir,
        prToken: undefined,
        githubToken: TOKEN,
        githubApiUrl: w.fake.url,
      });
      expect(propose.reverts).toEqual([expect.objectContaining({ state: 'shadow', mode: 'shadow' })]);
      expect(revertPulls(w)).toEqual([]);
      expect((await rollbacks()).map((r) => [r.mode, r.status])).toEqual([['shadow', 'shadow']]);
    } finally {
      await rm(bundleDir, { recursive: true, force: true });
    }
    w.fake.assertNoViolations();
  });

  it('shadow mode records and reports what it would do, and does nothing on GitHub', async () => {
    w = await world(database.url, config({ autoRevert: { mode: 'shadow' } }));
    const c = await mergedSelfChange(w);
    confirmedFailure(w, c.merge, c.parent);
    const before = w.fake.requests.length;

    const second = await w.run();
    expect(second.reverts).toEqual([
      expect.objectContaining({
        state: 'shadow',
        mode: 'shadow',
        branch: revertBranchName('self-evolution/', c.merge),
      }),
    ]);
    expect(second.reverts![0]!.reason).toMatch(
      /^would revert \(shadow: nothing was done\): confirmed: "test" failed/,
    );
    expect(second.summary).toMatch(/1 revert\(s\) decided in shadow mode/);
    // Nothing was written on GitHub (the self-change itself was merged: nothing to publish either).
    expect(w.fake.requests.slice(before).filter((r) => r.method !== 'GET')).toEqual([]);
    expect(revertPulls(w)).toEqual([]);
    await expect(
      w.git('rev-parse', '--verify', '--quiet', `refs/heads/self-evolution/revert-${c.merge.slice(0, 7)}`),
    ).rejects.toThrow();

    const rows = await rollbacks();
    expect(rows).toEqual([
      expect.objectContaining({
        action_id: c.actionId,
        trigger: 'auto',
        mode: 'shadow',
        status: 'shadow',
        reverted_sha: c.merge,
        revert_pr_number: null,
      }),
    ]);
    expect((rows[0]!.evidence as { failing: unknown[] }).failing).toHaveLength(1);

    // Recorded once: the next run reports it again, writes no second row.
    const third = await w.run();
    expect(third.reverts).toEqual([expect.objectContaining({ state: 'shadow' })]);
    expect(await rollbacks()).toHaveLength(1);
    w.fake.assertNoViolations();
  });
});

describe('rollback on request', () => {
  it('CLI rollback --pr N opens the revert pull request for the user, once', async () => {
    w = await world(database.url);
    const c = await mergedSelfChange(w);
    const rollback = async () => {
      const out: string[] = [];
      const err: string[] = [];
      const code = await main(
        [
          'node',
          'self-evolution',
          'rollback',
          '--repo',
          w!.repo.dir,
          '--repository',
          'acme/agent',
          '--pr',
          String(c.number),
          '--reason',
          'the guide reads worse',
          '--json',
        ],
        {
          stdout: (t) => out.push(t),
          stderr: (t) => err.push(t),
          env: {
            DATABASE_URL: database.url,
            GITHUB_TOKEN: TOKEN,
            GITHUB_API_URL: w!.fake.url,
            GITHUB_ACTOR: 'alice',
          },
          cwd: w!.repo.dir,
        },
      );
      return { code, out: out.join(''), err: err.join('') };
    };
    const first = await rollback();
    expect(first.err).toMatch(
      /action #\d+ \([0-9a-f]{7}\): opened #\d+ https:\/\/github\.com\/acme\/agent\/pull\/\d+/,
    );
    expect(first.code).toBe(0);
    const json = JSON.parse(first.out) as { status: string; reverts: { state: string; trigger: string }[] };
    expect(json).toMatchObject({ status: 'success', reverts: [{ state: 'opened', trigger: 'manual' }] });
    const [revert, ...more] = revertPulls(w);
    expect(more).toEqual([]);
    expect(revert).toMatchObject({ draft: false, labels: [REVERT_LABEL], base: 'main' });
    expect(revert!.body).toContain('alice asked for it: the guide reads worse.');
    expect(await rollbacks()).toEqual([
      expect.objectContaining({
        action_id: c.actionId,
        run_id: null,
        trigger: 'manual',
        mode: 'pr',
        status: 'submitted',
        requested_by: 'alice',
      }),
    ]);

    // Asked again: it is there, nothing new.
    const again = await rollback();
    expect(again.code).toBe(0);
    expect(JSON.parse(again.out)).toMatchObject({ reverts: [{ state: 'existing' }] });
    expect(revertPulls(w)).toHaveLength(1);
    w.fake.assertNoViolations();
  });

  it('the action refuses a read-only actor, records the refusal and fails the step', async () => {
    w = await world(database.url);
    const c = await mergedSelfChange(w);
    w.fake.collaborators.set('bob', 'read');
    const dir = await mkdtemp(join(tmpdir(), 'se-rollback-action-'));
    const saved = { ...process.env };
    try {
      const outputs = join(dir, 'outputs');
      const summary = join(dir, 'summary.md');
      await writeFile(outputs, '');
      await writeFile(summary, '');
      const inputs: Record<string, string> = {
        mode: 'rollback',
        'database-url': database.url,
        'github-token': TOKEN,
        'pull-request': String(c.number),
        reason: 'I do not like it',
        'dry-run': 'true',
        force: 'false',
        'config-path': '.github/self-evolution-config.json',
      };
      for (const [k, v] of Object.entries(inputs)) process.env[`INPUT_${k.toUpperCase()}`] = v;
      const env = {
        GITHUB_WORKSPACE: w.repo.dir,
        GITHUB_REPOSITORY: 'acme/agent',
        GITHUB_ACTOR: 'bob',
        GITHUB_API_URL: w.fake.url,
        GITHUB_OUTPUT: outputs,
        GITHUB_STEP_SUMMARY: summary,
        RUNNER_TEMP: dir,
      };
      Object.assign(process.env, env);
      // What the action writes to stdout: @actions/core's workflow commands (::add-mask::, ::error::).
      const stdout: string[] = [];
      const write = jest.spyOn(process.stdout, 'write').mockImplementation((chunk: string | Uint8Array) => {
        stdout.push(String(chunk));
        return true;
      });
      try {
        await runRollback({ ...process.env }, { retryAfterBaseMs: 1 });
      } finally {
        write.mockRestore();
      }
      expect(process.exitCode).toBe(1);
      // The secrets are masked in the log, the password of the URL (when it has one) on its own too; the refusal
      // is an error.
      const password = decodeURIComponent(new URL(database.url).password);
      expect(stdout).toEqual(
        expect.arrayContaining([
          `::add-mask::${database.url}\n`,
          `::add-mask::${TOKEN}\n`,
          ...(password === '' ? [] : [`::add-mask::${password}\n`]),
          expect.stringMatching(/^::error::.*refused: bob has read permission/),
        ]),
      );
      const out = await readFile(outputs, 'utf8');
      expect(out).toMatch(/status<<\S+\nrefused\n/);
      expect(out).toContain('refused: bob has read permission');
      expect(await rollbacks()).toEqual([
        expect.objectContaining({
          action_id: c.actionId,
          trigger: 'manual',
          status: 'failed',
          requested_by: 'bob',
          error: 'refused: bob has read permission',
        }),
      ]);
      expect((await listRollbacks(admin, 'acme/agent'))[0]!.reason).toBe('I do not like it');
      expect(revertPulls(w)).toEqual([]);
      expect(w.fake.requests.some((r) => r.path === '/repos/acme/agent/collaborators/bob/permission')).toBe(
        true,
      );
      w.fake.assertNoViolations();
    } finally {
      for (const k of Object.keys(process.env)) if (!(k in saved)) delete process.env[k];
      Object.assign(process.env, saved);
      process.exitCode = undefined;
      await rm(dir, { recursive: true, force: true });
    }
  });
});

describe('renderRevertPullRequest', () => {
  it('neutralises untrusted text, names the requester, and keeps the marker within the body limit', () => {
    const r = renderRevertPullRequest({
      change: {
        actionId: 3,
        prNumber: 12,
        prUrl: 'https://github.com/acme/agent/pull/12',
        title: 'self-evolution: Fix @everyone <script>',
        mergeCommitSha: 'a'.repeat(40),
        mergedBy: 'alice',
      },
      trigger: 'manual',
      reason: 'x'.repeat(70_000),
      evidence: {},
      requestedBy: 'bob',
      defaultBranch: 'main',
      runId: null,
      rollbackId: 9,
    });
    expect(r.title).toBe('Revert "Fix @\u200beveryone &lt;script>"');
    expect(r.body.length).toBeLessThanOrEqual(65_536);
    expect(r.body).toMatch(
      /<!-- self-evolution-revert: \{"action":3,"revertOf":"a{40}","rollback":9,"run":null\} -->\n$/,
    );
    expect(r.body).toContain('bob asked for it');
  });
});

describe('the run report of the health stage', () => {
  const opened: RevertReport = {
    actionId: 3,
    pullRequest: 12,
    revertedSha: 'b'.repeat(40),
    trigger: 'auto',
    mode: 'pr',
    state: 'opened',
    reason: 'confirmed: "test" | failed',
    number: 14,
    url: 'https://github.com/acme/agent/pull/14',
  };
  const kept: RevertReport = {
    ...opened,
    actionId: 4,
    pullRequest: null,
    state: 'kept',
    reason: 'window: old',
  };
  delete kept.number;
  delete kept.url;

  it('counts the states in the summary line, and says nothing when nothing was watched', () => {
    expect(revertsSummary([opened, kept, { ...kept, actionId: 5 }])).toBe(
      '; auto-revert: 1 revert pull request(s) opened, 2 kept',
    );
    expect(revertsSummary([{ ...opened, mode: 'shadow', state: 'shadow' }])).toBe(
      '; auto-revert: 1 revert(s) decided in shadow mode',
    );
    expect(revertsSummary([])).toBe('');
  });

  it('renders a table in the job summary and one line per change in the CLI text', () => {
    const report = { reverts: [opened, kept] } as unknown as RunReport;
    expect(revertSummaryLines(report)).toEqual([
      '### Merged self-changes (auto-revert)',
      '',
      '| change | commit | state | revert | reason |',
      '| --- | --- | --- | --- | --- |',
      '| #12 | `bbbbbbb` | opened | [#14](https://github.com/acme/agent/pull/14) | confirmed: "test" \\| failed |',
      '| action #4 | `bbbbbbb` | kept | - | window: old |',
      '',
    ]);
    expect(revertTextLines(report)).toEqual([
      'revert: action #3 (bbbbbbb) opened #14 https://github.com/acme/agent/pull/14: confirmed: "test" | failed',
      'revert: action #4 (bbbbbbb) kept: window: old',
    ]);
    expect(revertSummaryLines({ reverts: [] } as unknown as RunReport)).toEqual([]);
  });
});
