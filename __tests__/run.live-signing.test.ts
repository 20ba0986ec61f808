/**
 * Live mode with `pullRequest.commitSigning: "api"` end to end (the same world as run.live.test.ts: a checkout,
 * its bare origin, the OpenAPI-validated GitHub fake, real Postgres): the change is committed by GitHub through
 * the Git Database API (blobs, a tree on the base's tree, a commit, a ref created, never updated), so the pull
 * request's head is verified; its tree is the tree the rails judged locally; a rerun or a crash between the ref
 * and the pull request makes no duplicate; a branch holding another change is left alone; a tree GitHub builds
 * differently is never committed or pointed at.
 */
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from '@jest/globals';
import type { Db } from '../src/store/db.js';
import { ApiCommitRefused, commitThroughApi } from '../src/act/branch.js';
import { commitMessage, commitPatch, readTrailers } from '../src/git/publish.js';
import { treeOf } from '../src/git/tree-changes.js';
import type { GitHubClient } from '../src/github/client.js';
import { getCommit } from '../src/github/git-data.js';
import { listProposals } from '../src/store/proposals.js';
import { openRunDatabase, resetRuns } from './helpers/run-db.js';
import type { TestDatabase } from './helpers/db.js';
import { capturingLogger, steppingClock } from './helpers/run-deps.js';
import { config, DAY, world, type World } from './helpers/live-world.js';

let database: TestDatabase;
let admin: Db;

beforeAll(async () => {
  ({ database, admin } = await openRunDatabase('run_live_signing'));
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

const REPO = { owner: 'acme', repo: 'agent' };

/**
 * A live config committing through the API; the proposer fixes a typo, adds a page and deletes one, so the API
 * gets an added blob, a modified one and a deletion.
 */
function signingConfig(): Record<string, unknown> {
  const base = config();
  return config({
    pullRequest: { commitSigning: 'api' },
    proposers: [
      {
        ...(base.proposers as Record<string, unknown>[])[0]!,
        command:
          "sed -i 's/teh/the/g' docs/guide.md && printf 'new page\\n' > docs/new.md && rm docs/other.md",
      },
    ],
  });
}

async function actions(): Promise<
  { status: string; pr_number: number | null; branch: string; head_sha: string | null }[]
> {
  return admin.query('SELECT status, pr_number, branch, head_sha FROM self_evolution_actions ORDER BY id');
}

/** The tree the rails judged: the proposal's patch committed on the base by git, as publishChange does. */
async function judgedTree(world: World, baseSha: string, patch: string): Promise<string> {
  const local = await commitPatch({
    repoDir: world.repo.dir,
    baseSha,
    patch,
    message: 'judged',
    identity: { name: 'x', email: 'x@example.invalid', date: DAY },
  });
  return treeOf(world.repo.dir, local);
}

/** POSTs to the Git Database API the fake received, as `METHOD /git/<what>`. */
function gitDataWrites(world: World): string[] {
  return world.fake.requests
    .filter((r) => r.method !== 'GET' && /\/git\//.test(r.path))
    .map((r) => `${r.method} ${r.path.replace(/^.*\/git\//, '/git/')}`);
}

describe('live mode, commitSigning "api"', () => {
  it('GitHub makes the commit: verified, the judged tree, the trailers, the branch at it; a rerun makes none', async () => {
    w = await world(database.url, signingConfig());
    const report = await w.run();
    expect(report.status).toBe('success');
    const p = report.proposals[0]!;
    expect(p.verdict).toBe('allowed');
    expect(p.pullRequest).toMatchObject({ state: 'opened', number: 1 });
    expect(w.fake.pulls).toHaveLength(1);
    const pr = w.fake.pulls[0]!;

    // the branch on the bare origin points at GitHub's commit, which is the pull request's head
    const head = await w.git('rev-parse', `refs/heads/${pr.head}`);
    expect(pr.headSha).toBe(head);
    expect(await w.git('rev-parse', `${head}^`)).toBe(report.baseSha);

    // verified, by the token's identity (no custom author or committer: GitHub signs only those)
    const commit = await getCommit(w.client(), REPO, head);
    expect(commit.verified).toBe(true);
    expect(commit.verificationReason).toBe('valid');
    expect(await w.git('log', '-1', '--format=%an|%cn', head)).toBe('github-actions[bot]|GitHub');

    // exactly the tree the rails judged, and the change in it
    const [row] = await listProposals(admin, report.runId!);
    expect(row!.patch).toBeTruthy();
    expect(commit.tree).toBe(await judgedTree(w, report.baseSha!, row!.patch!));
    expect(await w.git('show', `${head}:docs/guide.md`)).toContain('the weather');
    expect(await w.git('show', `${head}:docs/new.md`)).toBe('new page');
    expect(await w.git('ls-tree', '--name-only', head, 'docs/')).toBe('docs/guide.md\ndocs/new.md');

    // the message is the local commit's, trailers included
    expect(commit.message.split('\n')[0]).toBe('self-evolution: Fix typos in the guide');
    expect(await readTrailers(w.repo.dir, commit.message)).toEqual({
      runId: report.runId,
      proposalId: row!.id,
      patchSha256: row!.patchSha256,
    });
    expect(await actions()).toEqual([{ status: 'submitted', pr_number: 1, branch: pr.head, head_sha: head }]);

    // what reached GitHub: two blobs (the new page, the fixed guide), one tree, one commit, one ref created
    expect(gitDataWrites(w)).toEqual([
      'POST /git/blobs',
      'POST /git/blobs',
      'POST /git/trees',
      'POST /git/commits',
      'POST /git/refs',
    ]);
    const treeRequest = w.fake.requests.find((r) => r.path.endsWith('/git/trees'))!;
    expect(treeRequest.body).toMatchObject({
      tree: expect.arrayContaining([{ path: 'docs/other.md', mode: '100644', type: 'blob', sha: null }]),
    });
    expect(w.fake.refWrites).toEqual([
      expect.objectContaining({ action: 'create', ref: `refs/heads/${pr.head}`, sha: head, status: 201 }),
    ]);

    // a rerun (forced, the next day) finds the patch published: nothing new on GitHub or in the database
    const writesBefore = gitDataWrites(w).length;
    const again = await w.run({ force: true });
    expect(again.proposals[0]!.pullRequest).toMatchObject({ state: 'existing', number: 1 });
    expect(w.fake.pulls).toHaveLength(1);
    expect(await actions()).toHaveLength(1);
    expect(gitDataWrites(w)).toHaveLength(writesBefore);
    expect(await w.git('rev-parse', `refs/heads/${pr.head}`)).toBe(head);

    expect(w.fake.merges).toEqual([]);
    expect(w.fake.refWrites.filter((r) => r.force || r.action !== 'create')).toEqual([]);
    w.fake.assertNoViolations();
  });

  it('a crash between the ref and the pull request: the next run adopts the branch by its trailer', async () => {
    w = await world(database.url, signingConfig());
    w.fake.failNext({ method: 'POST', path: '/repos/acme/agent/pulls', status: 500, times: 4 });
    const first = await w.run();
    expect(first.proposals[0]!.pullRequest!.reason).toMatch(/pull request not opened: GitHub API error: 500/);
    const [pushed] = await actions();
    expect(pushed!.status).toBe('pushed');
    expect(await w.git('rev-parse', `refs/heads/${pushed!.branch}`)).toBe(pushed!.head_sha);
    expect((await getCommit(w.client(), REPO, pushed!.head_sha!)).verified).toBe(true);

    // as if the process died right after the ref was made, before it recorded it
    await admin.query("UPDATE self_evolution_actions SET status = 'planned', head_sha = NULL");
    const commitsBefore = gitDataWrites(w).filter((x) => x === 'POST /git/commits').length;
    const second = await w.run({ force: true });
    // reconciliation finishes it (the branch adopted); the same change proposed again finds its pull request
    expect(second.reconciled).toEqual([
      expect.objectContaining({ from: 'planned', to: 'submitted', outcome: 'resumed', prNumber: 1 }),
    ]);
    expect(second.proposals[0]!.pullRequest).toMatchObject({ state: 'existing', number: 1 });
    expect(w.fake.pulls).toHaveLength(1);
    expect(w.fake.pulls[0]!.headSha).toBe(pushed!.head_sha); // adopted, not made again
    expect(gitDataWrites(w).filter((x) => x === 'POST /git/commits')).toHaveLength(commitsBefore);
    expect((await actions()).map((a) => [a.status, a.head_sha])).toEqual([['submitted', pushed!.head_sha]]);
    expect(w.fake.refWrites.filter((r) => r.force || r.action !== 'create')).toEqual([]);
    w.fake.assertNoViolations();
  });

  it('a branch that holds another change is left as it is and nothing is committed', async () => {
    const probe = await world(database.url, signingConfig());
    const preview = await probe.run({ dryRun: true });
    const branch = preview.proposals[0]!.pullRequest!.branch;
    await probe.cleanup();
    await resetRuns(admin);

    w = await world(database.url, signingConfig());
    await w.repo.git('push', '--quiet', 'origin', `HEAD:refs/heads/${branch}`);
    const theirs = await w.git('rev-parse', `refs/heads/${branch}`);
    const report = await w.run();
    expect(report.proposals[0]!.pullRequest).toMatchObject({ state: 'not-published' });
    expect(report.proposals[0]!.pullRequest!.reason).toMatch(
      /already exists on the remote with another change/,
    );
    expect(await w.git('rev-parse', `refs/heads/${branch}`)).toBe(theirs);
    expect(gitDataWrites(w)).toEqual([]);
    expect(w.fake.pulls).toHaveLength(0);
    expect((await actions()).map((a) => a.status)).toEqual(['failed']);
    w.fake.assertNoViolations();
  });

  it('a tree GitHub builds other than the judged one is not committed and gets no branch', async () => {
    w = await world(database.url, signingConfig());
    const base = await w.repo.git('rev-parse', 'HEAD');
    await w.repo.write({ 'docs/guide.md': '# Guide\n\nthe weather is nice\n', 'docs/other.md': null });
    await w.repo.git('add', '-A');
    const patch = (await w.repo.git('diff', '--cached', '--binary')) + '\n';
    await w.repo.git('reset', '--quiet', '--hard', base);
    const head = await commitPatch({
      repoDir: w.repo.dir,
      baseSha: base,
      patch,
      message: commitMessage('t', '', { runId: 1, proposalId: 1, patchSha256: 'a'.repeat(64) }),
      identity: { name: 'x', email: 'x@example.invalid', date: DAY },
    });

    // a client whose tree requests lose the deletions, as a GitHub that built another tree would
    const gh: GitHubClient = w.client();
    const createTree = gh.rest.git.createTree;
    gh.rest.git.createTree = ((params: Parameters<typeof createTree>[0]) =>
      createTree({
        ...params!,
        tree: params!.tree.filter((e) => e.sha !== null),
      })) as typeof createTree;
    const attempt = commitThroughApi(
      { github: gh, repo: REPO, repoDir: w.repo.dir, logger: capturingLogger(steppingClock(DAY)) },
      base,
      head,
    );
    await expect(attempt).rejects.toThrow(ApiCommitRefused);
    await expect(attempt).rejects.toThrow(/is not the tree of the judged commit.*nothing was committed/);
    expect(gitDataWrites(w)).toEqual(['POST /git/blobs', 'POST /git/trees']);
    expect(w.fake.refWrites).toEqual([]);
    w.fake.assertNoViolations();
  });
});
