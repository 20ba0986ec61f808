/**
 * The GitHub fake (helpers/github-fake.ts) through the project's real client (createGitHubClient): its
 * state and git plumbing behave like GitHub, and its OpenAPI checks catch wrong requests, broken responses
 * and unknown routes. After each test the fake must have recorded no violation, unless the test expected
 * (and cleared) them, so every response of every other test is checked against the description too.
 * Set-up writes go through a client without the retry and throttling plugins (`plain`): the throttling
 * plugin spaces writes 1 s apart, which would take this file well past 20 s.
 */
import { execFile } from 'node:child_process';
import { mkdtemp, rm, writeFile, mkdir } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from '@jest/globals';
import { getOctokit } from '@actions/github';
import type { Logger } from '../src/deps.js';
import { createGitHubClient, type GitHubClient } from '../src/github/client.js';
import { createActivitySource } from '../src/github/activity.js';
import { readCommitSignals, requiredChecksOf } from '../src/github/checks.js';
import { listCommitsSince } from '../src/github/reads.js';
import {
  createGitHubFake,
  primaryRateLimit,
  secondaryRateLimit,
  type GitHubFake,
} from './helpers/github-fake.js';

const TOKEN = `ghs_${'Fk9'.repeat(12)}`;
const owner = 'acme';
const repo = 'agent';

function git(cwd: string, ...args: string[]): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile(
      'git',
      ['-c', 'user.name=t', '-c', 'user.email=t@t', '-c', 'init.defaultBranch=main', ...args],
      { cwd, env: { ...process.env, GIT_TERMINAL_PROMPT: '0', LC_ALL: 'C' } },
      (error, stdout, stderr) =>
        error ? reject(new Error(`git ${args.join(' ')}: ${stderr}`)) : resolve(stdout.trim()),
    );
  });
}

let root: string;
let bare: string;
let work: string;
let fake: GitHubFake;
let octokit: GitHubClient;
/** The same REST methods without the retry and throttling plugins. */
let plain: GitHubClient;
const warnings: string[] = [];

const logger: Logger = {
  debug: () => undefined,
  info: () => undefined,
  warn: (m) => void warnings.push(m),
  error: (m) => void warnings.push(m),
};

/** Commits files in the work clone (on the current branch) and returns the new commit id. */
async function commit(files: Record<string, string>, message: string): Promise<string> {
  for (const [path, text] of Object.entries(files)) {
    await mkdir(join(work, path, '..'), { recursive: true });
    await writeFile(join(work, path), text);
  }
  await git(work, 'add', '-A');
  await git(work, 'commit', '-q', '-m', message);
  return git(work, 'rev-parse', 'HEAD');
}

/** Takes the violations a test provoked on purpose (afterEach insists on none left). */
function takeViolations(): string[] {
  return fake.violations.splice(0);
}

beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), 'github-fake-'));
  bare = join(root, 'agent.git');
  work = join(root, 'work');
  await git(root, 'init', '-q', '--bare', bare);
  await git(root, 'clone', '-q', bare, work);
  await git(work, 'checkout', '-q', '-b', 'main');
  await commit(
    {
      'README.md': '# agent\n',
      'src/old.txt': 'old\n',
      '.github/workflows/self-evolution.yml': 'on: workflow_dispatch\n',
    },
    'initial',
  );
  await git(work, 'push', '-q', 'origin', 'main');
  await git(work, 'checkout', '-q', '-b', 'feature');
  await commit({ 'src/feature.ts': 'export const x = 1;\n' }, 'feature');
  await git(work, 'push', '-q', 'origin', 'feature');
  await git(work, 'checkout', '-q', 'main');

  fake = await createGitHubFake({
    repositories: [{ owner, repo, bareDir: bare, defaultBranch: 'main', protectedBranches: ['main'] }],
    collaborators: { alice: 'write', mallory: 'none' },
  });
  octokit = createGitHubClient({ token: TOKEN, baseUrl: fake.url, logger, retryAfterBaseMs: 1 });
  plain = getOctokit(TOKEN, { baseUrl: fake.url });
});

afterEach(() => {
  // Taken, so one test's violations do not fail the next ones too.
  expect(takeViolations()).toEqual([]);
});

afterAll(async () => {
  await fake?.close();
  await rm(root, { recursive: true, force: true });
});

describe('pull requests through the real client', () => {
  it('creates a draft pull request, finds it by head and reads it back', async () => {
    const featureSha = await git(bare, 'rev-parse', 'refs/heads/feature');
    const created = await octokit.rest.pulls.create({
      owner,
      repo,
      title: 'Self-evolution: tidy',
      head: 'feature',
      base: 'main',
      body: 'Proposed by a run.',
      draft: true,
    });
    expect(created.status).toBe(201);
    expect(created.data).toMatchObject({ state: 'open', draft: true, title: 'Self-evolution: tidy' });
    expect(created.data.head.sha).toBe(featureSha);

    const listed = await octokit.rest.pulls.list({ owner, repo, head: `${owner}:feature`, state: 'open' });
    expect(listed.data.map((p) => p.number)).toEqual([created.data.number]);
    const other = await octokit.rest.pulls.list({ owner, repo, head: `${owner}:nope`, state: 'all' });
    expect(other.data).toEqual([]);

    const got = await octokit.rest.pulls.get({ owner, repo, pull_number: created.data.number });
    expect(got.data).toMatchObject({ number: created.data.number, body: 'Proposed by a run.', draft: true });
    expect(got.data.commits).toBe(1);
    expect(got.data.changed_files).toBe(1);
    expect(got.data.base.ref).toBe('main');
    expect(fake.pulls).toHaveLength(1);

    expect(fake.requests.every((r) => r.authorized)).toBe(true);
    expect(JSON.stringify(fake.requests)).not.toContain(TOKEN);
  });

  it('refuses a second open pull request for the same head (422) and one without commits', async () => {
    const duplicate = octokit.rest.pulls.create({
      owner,
      repo,
      title: 'again',
      head: 'feature',
      base: 'main',
    });
    await expect(duplicate).rejects.toMatchObject({ status: 422 });
    await expect(duplicate).rejects.toThrow(`A pull request already exists for ${owner}:feature.`);

    const mainSha = await git(bare, 'rev-parse', 'refs/heads/main');
    await plain.rest.git.createRef({ owner, repo, ref: 'refs/heads/empty', sha: mainSha });
    const empty = plain.rest.pulls.create({ owner, repo, title: 'empty', head: 'empty', base: 'main' });
    await expect(empty).rejects.toThrow('No commits between main and empty');
    const missing = plain.rest.pulls.create({
      owner,
      repo,
      title: 'x',
      head: 'no-such-branch',
      base: 'main',
    });
    await expect(missing).rejects.toMatchObject({ status: 422 });
  });

  it('updates, closes, requests reviewers, lists page by page with Link headers; a seeded closed one stays closed', async () => {
    const seeded = await fake.seedPull({ head: 'old-run', state: 'closed', title: 'An earlier run' });
    const open = fake.pulls.find((p) => p.state === 'open' && p.head === 'feature');
    expect(open).toBeDefined();
    const n = open?.number ?? 0;

    const reviewed = await plain.rest.pulls.requestReviewers({
      owner,
      repo,
      pull_number: n,
      reviewers: ['alice'],
    });
    expect(reviewed.data.requested_reviewers?.map((u) => u.login)).toEqual(['alice']);
    await expect(
      plain.rest.pulls.requestReviewers({ owner, repo, pull_number: n, reviewers: ['mallory'] }),
    ).rejects.toThrow('Reviews may only be requested from collaborators');

    const updated = await plain.rest.pulls.update({
      owner,
      repo,
      pull_number: n,
      title: 'Renamed',
      body: 'New',
    });
    expect(updated.data).toMatchObject({ title: 'Renamed', body: 'New', state: 'open' });

    for (let i = 0; i < 4; i++) await fake.seedPull({ head: `seeded-${i}`, state: 'closed' });
    const first = await octokit.rest.pulls.list({ owner, repo, state: 'all', per_page: 2 });
    expect(first.headers.link).toContain('rel="next"');
    const all = await octokit.paginate(octokit.rest.pulls.list, { owner, repo, state: 'all', per_page: 2 });
    expect(all).toHaveLength(6);
    const closed = await octokit.rest.pulls.list({ owner, repo, state: 'closed', head: `${owner}:old-run` });
    expect(closed.data.map((p) => p.number)).toEqual([seeded.number]);
    // As on GitHub: a head filter without the owner is ignored.
    const unfiltered = await octokit.rest.pulls.list({ owner, repo, state: 'all', head: 'old-run' });
    expect(unfiltered.data).toHaveLength(6);

    const closedNow = await plain.rest.pulls.update({ owner, repo, pull_number: n, state: 'closed' });
    expect(closedNow.data.state).toBe('closed');
    expect(closedNow.data.closed_at).not.toBeNull();
    const reopened = await plain.rest.pulls.update({ owner, repo, pull_number: n, state: 'open' });
    expect(reopened.data.state).toBe('open');
  });

  it('records the merge endpoint and answers 405', async () => {
    expect(fake.merges).toEqual([]);
    const n = fake.pulls[0].number;
    await expect(plain.rest.pulls.merge({ owner, repo, pull_number: n })).rejects.toMatchObject({
      status: 405,
    });
    expect(fake.merges).toEqual([{ owner, repo, number: n, body: undefined }]);
  });
});

describe('validation against the OpenAPI description', () => {
  it('catches a request body property of the wrong type', async () => {
    const route: string = 'POST /repos/{owner}/{repo}/pulls';
    await expect(
      octokit.request(route, {
        owner,
        repo,
        title: 't',
        head: 'feature',
        base: 'main',
        draft: 'yes',
        request: { retries: 0 },
      }),
    ).rejects.toMatchObject({ status: 500 });
    const violations = takeViolations();
    expect(violations.length).toBeGreaterThan(0);
    expect(violations[0]).toMatch(/^pulls\/create: request body: \/draft must be boolean/);
    expect(fake.pulls.filter((p) => p.head === 'feature' && p.title === 't')).toEqual([]);
  });

  it('catches an unknown query parameter and an unknown body property', async () => {
    const list: string = 'GET /repos/{owner}/{repo}/pulls';
    await expect(octokit.request(list, { owner, repo, heads: `${owner}:feature` })).rejects.toMatchObject({
      status: 500,
    });
    expect(takeViolations()[0]).toContain('pulls/list: request query: unknown parameter heads');
    const create: string = 'POST /repos/{owner}/{repo}/labels';
    await expect(plain.request(create, { owner, repo, name: 'x', colour: 'ff0000' })).rejects.toMatchObject({
      status: 500,
    });
    expect(takeViolations()[0]).toContain('issues/create-label: request body: unknown property colour');
  });

  it('catches a broken response', async () => {
    fake.corruptNextResponse((body) => {
      const copy = { ...(body as Record<string, unknown>) };
      delete copy.full_name;
      copy.private = 'no';
      return copy;
    });
    // The 500 is retried by the client; the second answer is whole again.
    const got = await octokit.rest.repos.get({ owner, repo });
    expect(got.data.full_name).toBe(`${owner}/${repo}`);
    const violations = takeViolations();
    expect(violations).toHaveLength(1);
    expect(violations[0]).toContain(
      "repos/get: response 200 body: / must have required property 'full_name'",
    );
    expect(violations[0]).toContain('/private must be boolean');
    expect(() => {
      fake.violations.push(...violations);
      fake.assertNoViolations();
    }).toThrow(/full_name/);
    takeViolations();
  });

  it('records an unknown route and an operation the fake does not implement', async () => {
    const unknown: string = 'GET /repos/{owner}/{repo}/definitely-not-a-route';
    await expect(octokit.request(unknown, { owner, repo })).rejects.toMatchObject({ status: 404 });
    expect(takeViolations()).toEqual([
      `GET /repos/${owner}/${repo}/definitely-not-a-route: no operation of the OpenAPI description matches`,
    ]);
    await expect(octokit.rest.repos.listBranches({ owner, repo })).rejects.toMatchObject({ status: 404 });
    expect(takeViolations()).toEqual([
      'repos/list-branches (GET /repos/{owner}/{repo}/branches): not implemented by the fake',
    ]);
  });

  it('validates injected errors too', async () => {
    fake.failNext({
      method: 'POST',
      path: `/repos/${owner}/${repo}/labels`,
      status: 422,
      body: { message: 'nope' },
    });
    await expect(plain.rest.issues.createLabel({ owner, repo, name: 'a' })).rejects.toMatchObject({
      status: 500,
    });
    expect(takeViolations()[0]).toContain(
      "issues/create-label: response 422 body: / must have required property 'documentation_url'",
    );
    fake.failNext({
      path: /\/labels\/b$/,
      status: 403,
      body: { message: 'Resource not accessible by integration' },
    });
    await expect(octokit.rest.issues.getLabel({ owner, repo, name: 'b' })).rejects.toMatchObject({
      status: 403,
    });
  });
});

describe('refs and branches agree with the bare repository', () => {
  it('sees a real git push, updates fast-forward only unless forced, deletes, and guards the protected branch', async () => {
    await git(work, 'checkout', '-q', '-b', 'pushed');
    const pushed = await commit({ 'src/pushed.txt': 'pushed\n' }, 'pushed');
    await git(work, 'push', '-q', 'origin', 'pushed');

    await git(work, 'push', '-q', 'origin', 'pushed:self-evolution/run-1');
    const slashed = await octokit.rest.repos.getBranch({ owner, repo, branch: 'self-evolution/run-1' });
    expect(slashed.data.commit.sha).toBe(pushed);
    const slashedRef = await octokit.rest.git.getRef({ owner, repo, ref: 'heads/self-evolution/run-1' });
    expect(slashedRef.data.object.sha).toBe(pushed);

    const ref = await octokit.rest.git.getRef({ owner, repo, ref: 'heads/pushed' });
    expect(ref.data).toMatchObject({ ref: 'refs/heads/pushed', object: { sha: pushed, type: 'commit' } });
    const matching = await octokit.rest.git.listMatchingRefs({ owner, repo, ref: 'heads/' });
    const names = matching.data.map((r) => r.ref);
    expect(names).toEqual(
      expect.arrayContaining(['refs/heads/main', 'refs/heads/feature', 'refs/heads/pushed']),
    );
    await expect(octokit.rest.git.getRef({ owner, repo, ref: 'heads/nope' })).rejects.toMatchObject({
      status: 404,
    });

    const branch = await octokit.rest.repos.getBranch({ owner, repo, branch: 'pushed' });
    expect(branch.data).toMatchObject({ name: 'pushed', protected: false, commit: { sha: pushed } });
    expect((await octokit.rest.repos.getBranch({ owner, repo, branch: 'main' })).data.protected).toBe(true);
    expect((await octokit.rest.repos.getBranchProtection({ owner, repo, branch: 'main' })).status).toBe(200);
    await expect(octokit.rest.repos.getBranchProtection({ owner, repo, branch: 'pushed' })).rejects.toThrow(
      'Branch not protected',
    );

    const mainSha = await git(bare, 'rev-parse', 'refs/heads/main');
    await expect(
      plain.rest.git.updateRef({ owner, repo, ref: 'heads/pushed', sha: mainSha }),
    ).rejects.toThrow('Update is not a fast forward');
    expect(await git(bare, 'rev-parse', 'refs/heads/pushed')).toBe(pushed);
    await plain.rest.git.updateRef({ owner, repo, ref: 'heads/pushed', sha: mainSha, force: true });
    expect(await git(bare, 'rev-parse', 'refs/heads/pushed')).toBe(mainSha);
    expect(fake.refWrites.filter((w) => w.ref === 'refs/heads/pushed')).toEqual([
      { owner, repo, action: 'update', ref: 'refs/heads/pushed', sha: mainSha, force: false, status: 422 },
      { owner, repo, action: 'update', ref: 'refs/heads/pushed', sha: mainSha, force: true, status: 200 },
    ]);

    await expect(
      plain.rest.git.updateRef({ owner, repo, ref: 'heads/main', sha: pushed, force: true }),
    ).rejects.toThrow('Protected branch update failed');
    await plain.rest.git.deleteRef({ owner, repo, ref: 'heads/pushed' });
    await expect(git(bare, 'rev-parse', '--verify', '-q', 'refs/heads/pushed')).rejects.toThrow();
    await git(work, 'checkout', '-q', 'main');
  });

  it('builds an API commit with the Git Database API whose objects are real', async () => {
    const mainSha = await git(bare, 'rev-parse', 'refs/heads/main');
    const baseTree = await git(bare, 'rev-parse', 'refs/heads/main^{tree}');
    const workflowsTree = await git(bare, 'rev-parse', 'refs/heads/main:.github/workflows');
    const blob = await plain.rest.git.createBlob({
      owner,
      repo,
      content: Buffer.from('binary\0ok').toString('base64'),
      encoding: 'base64',
    });
    const tree = await plain.rest.git.createTree({
      owner,
      repo,
      base_tree: baseTree,
      tree: [
        { path: 'README.md', mode: '100644', type: 'blob', content: '# agent, evolved\n' },
        { path: 'docs/deep/new.bin', mode: '100644', type: 'blob', sha: blob.data.sha },
        { path: 'src/old.txt', mode: '100644', type: 'blob', sha: null },
        { path: 'copy/workflows', mode: '040000', type: 'tree', sha: workflowsTree },
      ],
    });
    const made = await plain.rest.git.createCommit({
      owner,
      repo,
      message: 'Self-evolution: evolve the README',
      tree: tree.data.sha,
      parents: [mainSha],
    });
    expect(made.data.verification).toMatchObject({ verified: true, reason: 'valid' });
    expect(made.data.tree.sha).toBe(tree.data.sha);

    const raw = await git(bare, 'cat-file', '-p', made.data.sha);
    expect(raw).toContain(`tree ${tree.data.sha}`);
    expect(raw).toContain(`parent ${mainSha}`);
    const listing = await git(bare, 'cat-file', '-p', tree.data.sha);
    expect(listing).toMatch(/\tREADME\.md$/m);
    expect(listing).toMatch(/\tdocs$/m);
    expect(listing).toMatch(/\t\.github$/m);
    expect(listing).not.toMatch(/\tsrc$/m);
    expect(await git(bare, 'cat-file', '-p', `${made.data.sha}:README.md`)).toBe('# agent, evolved');
    expect(await git(bare, 'rev-parse', `${made.data.sha}:docs/deep/new.bin`)).toBe(blob.data.sha);
    expect(await git(bare, 'rev-parse', `${made.data.sha}:copy/workflows`)).toBe(workflowsTree);

    const read = await octokit.rest.git.getCommit({ owner, repo, commit_sha: made.data.sha });
    expect(read.data).toMatchObject({ sha: made.data.sha, message: 'Self-evolution: evolve the README' });
    expect(read.data.verification.verified).toBe(true);
    const pushedByHand = await octokit.rest.git.getCommit({ owner, repo, commit_sha: mainSha });
    expect(pushedByHand.data.verification.verified).toBe(false);

    await plain.rest.git.createRef({ owner, repo, ref: 'refs/heads/api-branch', sha: made.data.sha });
    expect(await git(bare, 'rev-parse', 'refs/heads/api-branch')).toBe(made.data.sha);
    await expect(
      plain.rest.git.createRef({ owner, repo, ref: 'refs/heads/api-branch', sha: made.data.sha }),
    ).rejects.toThrow('Reference already exists');
  });
});

describe('rate limits and errors injected into the real client', () => {
  it('retries a secondary rate limit and then succeeds', async () => {
    warnings.length = 0;
    fake.failNext({ method: 'GET', path: `/repos/${owner}/${repo}`, ...secondaryRateLimit() });
    const before = fake.requests.length;
    const got = await octokit.rest.repos.get({ owner, repo });
    expect(got.data.default_branch).toBe('main');
    expect(fake.requests.slice(before).map((r) => r.status)).toEqual([403, 200]);
    expect(warnings.join('\n')).toContain('secondary rate limit');
  });

  it('retries a primary rate limit (403, x-ratelimit-remaining: 0) and then succeeds', async () => {
    warnings.length = 0;
    fake.failNext({ method: 'GET', path: '/rate_limit', ...primaryRateLimit(403, 0) });
    const before = fake.requests.length;
    const got = await octokit.rest.rateLimit.get();
    expect(got.data.resources.core.remaining).toBeGreaterThan(0);
    expect(fake.requests.slice(before).map((r) => r.status)).toEqual([403, 200]);
    expect(warnings.join('\n')).toContain('primary rate limit');
  });

  it('retries a 429 primary rate limit and then succeeds', async () => {
    fake.failNext({ method: 'GET', path: `/repos/${owner}/${repo}`, ...primaryRateLimit(429, 0) });
    const before = fake.requests.length;
    expect((await octokit.rest.repos.get({ owner, repo })).status).toBe(200);
    expect(fake.requests.slice(before).map((r) => r.status)).toEqual([429, 200]);
  });

  it('passes a 403 through, not retried', async () => {
    fake.failNext({ path: `/repos/${owner}/${repo}/pulls`, status: 403, times: 1 });
    await expect(octokit.rest.pulls.list({ owner, repo })).rejects.toMatchObject({ status: 403 });
  });
});

describe('labels, comments, issues, workflows, collaborators', () => {
  it('labels and comments a pull request, which lists as an issue', async () => {
    const n = fake.pulls.find((p) => p.head === 'feature')?.number ?? 0;
    await expect(octokit.rest.issues.getLabel({ owner, repo, name: 'self-evolution' })).rejects.toMatchObject(
      {
        status: 404,
      },
    );
    await plain.rest.issues.createLabel({ owner, repo, name: 'self-evolution', color: '0e8a16' });
    expect((await octokit.rest.issues.getLabel({ owner, repo, name: 'self-evolution' })).data.color).toBe(
      '0e8a16',
    );
    const added = await plain.rest.issues.addLabels({
      owner,
      repo,
      issue_number: n,
      labels: ['self-evolution', 'auto'],
    });
    expect(added.data.map((l) => l.name)).toEqual(['self-evolution', 'auto']);
    expect(fake.labels.map((l) => l.name)).toEqual(['self-evolution', 'auto']);
    const onIssue = await octokit.rest.issues.listLabelsOnIssue({ owner, repo, issue_number: n });
    expect(onIssue.data.map((l) => l.name)).toEqual(['self-evolution', 'auto']);

    await plain.rest.issues.createComment({ owner, repo, issue_number: n, body: 'Verified.' });
    const asIssue = await octokit.rest.issues.get({ owner, repo, issue_number: n });
    expect(asIssue.data).toMatchObject({ number: n, comments: 1, pull_request: { url: expect.any(String) } });
    const comments = await octokit.rest.issues.listComments({ owner, repo, issue_number: n });
    expect(comments.data.map((c) => c.body)).toEqual(['Verified.']);
    expect(fake.comments).toHaveLength(1);

    fake.seedIssue({ title: 'Please improve the docs', labels: ['self-evolution'] });
    const issues = await octokit.rest.issues.listForRepo({
      owner,
      repo,
      labels: 'self-evolution',
      state: 'open',
    });
    expect(issues.data.map((i) => [i.title, i.pull_request !== undefined])).toEqual([
      ['Please improve the docs', false],
      ['Renamed', true],
    ]);
  });

  it('dispatches a workflow, which then lists as a queued run; an unknown workflow is 404', async () => {
    await plain.rest.actions.createWorkflowDispatch({
      owner,
      repo,
      workflow_id: 'self-evolution.yml',
      ref: 'main',
      inputs: { mode: 'live' },
    });
    expect(fake.dispatches).toMatchObject([
      { workflow: 'self-evolution.yml', ref: 'main', inputs: { mode: 'live' } },
    ]);
    await expect(
      plain.rest.actions.createWorkflowDispatch({ owner, repo, workflow_id: 'nope.yml', ref: 'main' }),
    ).rejects.toMatchObject({ status: 404 });
    const runs = await octokit.rest.actions.listWorkflowRuns({
      owner,
      repo,
      workflow_id: 'self-evolution.yml',
    });
    expect(runs.data.workflow_runs.map((r) => [r.status, r.event, r.head_branch])).toEqual([
      ['queued', 'workflow_dispatch', 'main'],
    ]);
    const queued = await octokit.rest.actions.listWorkflowRunsForRepo({ owner, repo, status: 'queued' });
    expect(queued.data.total_count).toBe(1);
    const failed = await octokit.rest.actions.listWorkflowRunsForRepo({ owner, repo, status: 'failure' });
    expect(failed.data).toEqual({ total_count: 0, workflow_runs: [] });
  });

  it('answers collaborator permissions', async () => {
    const alice = await octokit.rest.repos.getCollaboratorPermissionLevel({ owner, repo, username: 'alice' });
    expect(alice.data.permission).toBe('write');
    const own = await octokit.rest.repos.getCollaboratorPermissionLevel({ owner, repo, username: owner });
    expect(own.data.permission).toBe('admin');
    expect((await octokit.rest.repos.checkCollaborator({ owner, repo, username: 'alice' })).status).toBe(204);
    await expect(
      octokit.rest.repos.checkCollaborator({ owner, repo, username: 'mallory' }),
    ).rejects.toMatchObject({
      status: 404,
    });
    await expect(
      octokit.rest.repos.getCollaboratorPermissionLevel({ owner, repo, username: 'ghost' }),
    ).rejects.toMatchObject({ status: 404 });
  });
});

describe('issue events, issues written through the API, roles (the circuit breaker)', () => {
  it('records who applied a label, lists the events oldest first, and answers maintain and triage roles', async () => {
    fake.collaborators.set('maria', 'maintain');
    fake.collaborators.set('tom', 'triage');
    const stop = fake.seedIssue({ title: 'Stop the loop', user: 'bob', labels: ['bug'] });
    fake.labelIssue(stop.number, 'self-evolution:stop', { by: 'maria' });
    await plain.rest.issues.addLabels({ owner, repo, issue_number: stop.number, labels: ['triaged'] });
    const events = await octokit.rest.issues.listEvents({ owner, repo, issue_number: stop.number });
    expect(
      events.data.map((e) => [e.event, (e as { label?: { name: string } }).label?.name, e.actor?.login]),
    ).toEqual([
      ['labeled', 'bug', 'bob'],
      ['labeled', 'self-evolution:stop', 'maria'],
      ['labeled', 'triaged', 'github-actions[bot]'],
    ]);
    expect(fake.labels.some((l) => l.name === 'self-evolution:stop')).toBe(true);

    const maria = await octokit.rest.repos.getCollaboratorPermissionLevel({ owner, repo, username: 'maria' });
    expect([maria.data.permission, maria.data.role_name]).toEqual(['write', 'maintain']);
    const tom = await octokit.rest.repos.getCollaboratorPermissionLevel({ owner, repo, username: 'tom' });
    expect([tom.data.permission, tom.data.role_name]).toEqual(['read', 'triage']);
    await expect(octokit.rest.issues.listEvents({ owner, repo, issue_number: 9999 })).rejects.toMatchObject({
      status: 404,
    });
  });

  it('creates an issue with a label, updates its title, body and labels (events for each change) and closes it', async () => {
    const created = await plain.rest.issues.create({
      owner,
      repo,
      title: 'Self-Evolution stopped itself',
      body: 'first',
      labels: ['self-evolution:breaker'],
    });
    expect(created.status).toBe(201);
    expect(created.data).toMatchObject({
      state: 'open',
      body: 'first',
      user: { login: 'github-actions[bot]' },
    });
    const n = created.data.number;
    const listed = await octokit.rest.issues.listForRepo({ owner, repo, labels: 'self-evolution:breaker' });
    expect(listed.data.map((i) => i.number)).toEqual([n]);

    const updated = await plain.rest.issues.update({
      owner,
      repo,
      issue_number: n,
      title: 'Renamed',
      body: 'second',
      labels: ['other'],
    });
    expect(updated.data).toMatchObject({ title: 'Renamed', body: 'second', labels: [{ name: 'other' }] });
    const events = await octokit.rest.issues.listEvents({ owner, repo, issue_number: n });
    expect(events.data.map((e) => [e.event, (e as { label?: { name: string } }).label?.name])).toEqual([
      ['labeled', 'self-evolution:breaker'],
      ['unlabeled', 'self-evolution:breaker'],
      ['labeled', 'other'],
    ]);

    const closed = await plain.rest.issues.update({ owner, repo, issue_number: n, state: 'closed' });
    expect(closed.data).toMatchObject({ state: 'closed', closed_by: { login: 'github-actions[bot]' } });
    await expect(
      plain.rest.issues.create({ owner, repo, body: 'no title' } as unknown as {
        owner: string;
        repo: string;
        title: string;
      }),
    ).rejects.toMatchObject({ status: 500 });
    expect(takeViolations()).toEqual([expect.stringMatching(/^issues\/create: request body.*title/)]);
  });

  it('closeIssue closes an issue as a person: issues/get names who', async () => {
    const i = fake.seedIssue({ title: 'Stop again', labels: ['self-evolution:stop'] });
    fake.closeIssue(i.number, { by: 'alice' });
    const got = await octokit.rest.issues.get({ owner, repo, issue_number: i.number });
    expect(got.data).toMatchObject({ state: 'closed', closed_by: { login: 'alice' } });
    expect(() => fake.closeIssue(i.number, { by: 'alice' })).toThrow(/no open issue/);
    expect(() => fake.labelIssue(9999, 'x', { by: 'alice' })).toThrow(/no issue or pull request #9999/);
  });
});

describe('reads of the activity gate and reflection', () => {
  it('filters workflow runs by created (the search syntax for dates) and refuses a created that is no date', async () => {
    const base = {
      owner,
      repo,
      workflow: 'self-evolution.yml',
      event: 'schedule',
      actor: 'github-actions[bot]',
    };
    const headSha = await git(bare, 'rev-parse', 'refs/heads/main');
    const seeded = [
      ['2026-03-01T23:59:59Z', 'failure'],
      ['2026-03-02T00:00:00Z', 'failure'],
      ['2026-03-05T12:00:00Z', 'success'],
    ].map(([at, conclusion], i) => ({
      ...base,
      id: 8_000_000_000 + i,
      runNumber: 100 + i,
      status: 'completed' as const,
      conclusion,
      headBranch: 'main',
      headSha,
      displayTitle: `nightly ${i}`,
      createdAt: at,
      updatedAt: at,
    }));
    fake.runs.push(...seeded);
    const ids = async (created: string, status?: 'failure') =>
      (
        await octokit.rest.actions.listWorkflowRunsForRepo({ owner, repo, created, per_page: 100, status })
      ).data.workflow_runs
        .map((r) => r.id)
        .filter((id) => seeded.some((r) => r.id === id))
        .sort();
    const [late, early, later] = seeded.map((r) => r.id);
    expect(await ids('>=2026-03-02', 'failure')).toEqual([early]);
    expect(await ids('>2026-03-01')).toEqual([early, later]);
    expect(await ids('<2026-03-02')).toEqual([late]);
    expect(await ids('<=2026-03-02')).toEqual([late, early]);
    expect(await ids('2026-03-01')).toEqual([late]);
    expect(await ids('2026-03-02..2026-03-05')).toEqual([early, later]);
    expect(await ids('*..2026-03-01T23:59:59Z')).toEqual([late]);
    expect(await ids('>=2026-03-05T00:00:00Z')).toEqual([later]);
    fake.runs.splice(fake.runs.length - seeded.length);

    await expect(
      plain.rest.actions.listWorkflowRunsForRepo({ owner, repo, created: 'yesterday' }),
    ).rejects.toMatchObject({ status: 500 });
    expect(takeViolations()).toEqual([
      expect.stringMatching(/^actions\/list-workflow-runs-for-repo: request query parameter created: /),
    ]);
  });

  it("lists seeded deployments and their statuses, newest first; the activity gate's source reads them", async () => {
    const mainSha = await git(bare, 'rev-parse', 'refs/heads/main');
    const twoHoursAgo = new Date(Date.now() - 2 * 3_600_000).toISOString().replace(/\.\d{3}Z$/, 'Z');
    const abandoned = await fake.seedDeployment({ ref: 'main', createdAt: twoHoursAgo });
    const deploying = await fake.seedDeployment({
      ref: 'main',
      statuses: [{ state: 'queued' }, { state: 'in_progress', description: 'rolling out' }],
    });
    const staged = await fake.seedDeployment({
      ref: 'feature',
      environment: 'staging',
      statuses: [{ state: 'in_progress' }, { state: 'success' }],
    });
    const fresh = await fake.seedDeployment({ ref: 'main', task: 'deploy:migrations' });
    expect(deploying.sha).toBe(mainSha);

    const all = await octokit.rest.repos.listDeployments({ owner, repo, per_page: 100 });
    expect(all.data.map((d) => d.id)).toEqual([fresh.id, staged.id, deploying.id, abandoned.id]);
    expect(all.data[1]).toMatchObject({ environment: 'staging', ref: 'feature', sha: staged.sha });
    const staging = await octokit.rest.repos.listDeployments({ owner, repo, environment: 'staging' });
    expect(staging.data.map((d) => d.id)).toEqual([staged.id]);
    const byTask = await octokit.rest.repos.listDeployments({ owner, repo, task: 'deploy:migrations' });
    expect(byTask.data.map((d) => d.id)).toEqual([fresh.id]);
    const paged = await octokit.rest.repos.listDeployments({ owner, repo, per_page: 3, page: 2 });
    expect(paged.data.map((d) => d.id)).toEqual([abandoned.id]);

    const latest = await octokit.rest.repos.listDeploymentStatuses({
      owner,
      repo,
      deployment_id: deploying.id,
      per_page: 1,
    });
    expect(latest.data.map((s) => [s.state, s.description])).toEqual([['in_progress', 'rolling out']]);
    const none = await octokit.rest.repos.listDeploymentStatuses({ owner, repo, deployment_id: fresh.id });
    expect(none.data).toEqual([]);
    await expect(
      octokit.rest.repos.listDeploymentStatuses({ owner, repo, deployment_id: 1 }),
    ).rejects.toMatchObject({ status: 404 });

    // The activity gate's REST source: in progress, and a statusless one of the last hour, are active.
    const active = await createActivitySource(octokit).listActiveDeployments(owner, repo);
    expect(active.map((d) => [d.id, d.state]).sort()).toEqual(
      [
        [deploying.id, 'in_progress'],
        [fresh.id, 'pending'],
      ].sort(),
    );

    fake.deployments.splice(0);
    expect(await createActivitySource(octokit).listActiveDeployments(owner, repo)).toEqual([]);
  });
});

describe('test controls: merging and closing as a person would on GitHub', () => {
  /** A branch off main's tip in the bare repository with one commit, and a pull request of it (its number). */
  async function branchWithPull(branch: string, files: Record<string, string>): Promise<number> {
    await git(work, 'fetch', '-q', 'origin', 'main');
    await git(work, 'checkout', '-q', '-B', branch, 'FETCH_HEAD');
    await commit(files, `change on ${branch}`);
    await git(work, 'push', '-q', 'origin', `${branch}:refs/heads/${branch}`);
    await git(work, 'checkout', '-q', '--detach');
    const created = await plain.rest.pulls.create({
      owner,
      repo,
      title: `Title ${branch}`,
      head: branch,
      base: 'main',
    });
    return created.data.number;
  }

  it('mergePull "merge" makes a merge commit with two parents on the base, and the pull request reads merged', async () => {
    const n = await branchWithPull('to-merge', { 'docs/merged.md': 'merged\n' });
    const before = await git(bare, 'rev-parse', 'refs/heads/main');
    const head = await git(bare, 'rev-parse', 'refs/heads/to-merge');
    const mergesBefore = fake.merges.length;

    const sha = await fake.mergePull(n, { by: 'alice', method: 'merge' });
    expect(await git(bare, 'rev-parse', 'refs/heads/main')).toBe(sha);
    expect((await git(bare, 'log', '-1', '--format=%P', sha)).split(' ')).toEqual([before, head]);
    expect(await git(bare, 'log', '-1', '--format=%an|%cn|%s', sha)).toBe(
      `alice|GitHub|Merge pull request #${n} from acme/to-merge`,
    );
    expect(await git(bare, 'show', `${sha}:docs/merged.md`)).toBe('merged');

    const got = await octokit.rest.pulls.get({ owner, repo, pull_number: n });
    expect(got.data).toMatchObject({
      state: 'closed',
      merged: true,
      merge_commit_sha: sha,
      merged_by: { login: 'alice' },
      mergeable: null,
    });
    expect(got.data.merged_at).toMatch(/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z$/);
    const asIssue = await octokit.rest.issues.get({ owner, repo, issue_number: n });
    expect(asIssue.data.closed_by?.login).toBe('alice');
    expect(asIssue.data.pull_request?.merged_at).toBe(got.data.merged_at);
    // a control, not a call of the merge endpoint
    expect(fake.merges).toHaveLength(mergesBefore);
    await expect(fake.mergePull(n, { by: 'alice', method: 'merge' })).rejects.toThrow(/no open pull request/);
  });

  it('mergePull "squash" makes one commit on the base with the change and the title', async () => {
    const n = await branchWithPull('to-squash', { 'docs/squashed.md': 'squashed\n' });
    const before = await git(bare, 'rev-parse', 'refs/heads/main');
    const sha = await fake.mergePull(n, { by: 'bob', method: 'squash' });
    expect(await git(bare, 'log', '-1', '--format=%P', sha)).toBe(before);
    expect(await git(bare, 'log', '-1', '--format=%an|%s', sha)).toBe(`bob|Title to-squash (#${n})`);
    expect(await git(bare, 'show', `${sha}:docs/squashed.md`)).toBe('squashed');
    const got = await octokit.rest.pulls.get({ owner, repo, pull_number: n });
    expect(got.data).toMatchObject({ merged: true, merge_commit_sha: sha, merged_by: { login: 'bob' } });
  });

  it('says an open pull request that conflicts with its base is not mergeable (dirty), and mergePull refuses it', async () => {
    const n = await branchWithPull('conflicting', { 'README.md': '# agent, by the branch\n' });
    const clean = await octokit.rest.pulls.get({ owner, repo, pull_number: n });
    expect(clean.data).toMatchObject({ mergeable: true, mergeable_state: 'clean' });

    // main changes the same line
    await git(work, 'fetch', '-q', 'origin', 'main');
    await git(work, 'checkout', '-q', '-B', 'upstream', 'FETCH_HEAD');
    await commit({ 'README.md': '# agent, by main\n' }, 'upstream');
    await git(work, 'push', '-q', 'origin', 'upstream:refs/heads/main');
    await git(work, 'checkout', '-q', '--detach');

    const dirty = await octokit.rest.pulls.get({ owner, repo, pull_number: n });
    expect(dirty.data).toMatchObject({ mergeable: false, mergeable_state: 'dirty', rebaseable: false });
    await expect(fake.mergePull(n, { by: 'alice', method: 'merge' })).rejects.toThrow(/conflicts with main/);
    expect(fake.pulls.find((p) => p.number === n)!.state).toBe('open');
  });

  it('closePull leaves a review and a comment by a person, who is then closed_by; the reviews are listed', async () => {
    const n = await branchWithPull('to-close', { 'docs/closed.md': 'closed\n' });
    const head = await git(bare, 'rev-parse', 'refs/heads/to-close');
    await fake.closePull(n, {
      by: 'carol',
      review: { body: 'Not like this: the guide must stay terse.' },
      comment: 'Closing, see my review.',
    });
    const reviews = await octokit.rest.pulls.listReviews({ owner, repo, pull_number: n });
    expect(reviews.data.map((r) => [r.user?.login, r.state, r.body, r.commit_id])).toEqual([
      ['carol', 'CHANGES_REQUESTED', 'Not like this: the guide must stay terse.', head],
    ]);
    const comments = await octokit.rest.issues.listComments({ owner, repo, issue_number: n });
    expect(comments.data.map((c) => [c.user?.login, c.body])).toEqual([['carol', 'Closing, see my review.']]);
    const got = await octokit.rest.pulls.get({ owner, repo, pull_number: n });
    expect(got.data).toMatchObject({
      state: 'closed',
      merged: false,
      merged_by: null,
      merge_commit_sha: null,
    });
    const asIssue = await octokit.rest.issues.get({ owner, repo, issue_number: n });
    expect(asIssue.data.closed_by?.login).toBe('carol');
    await expect(fake.closePull(n, { by: 'carol' })).rejects.toThrow(/no open pull request/);
  });

  it('a pull request closed through the API is closed_by the token, and has no reviews', async () => {
    const n = await branchWithPull('closed-by-api', { 'docs/api.md': 'api\n' });
    await plain.rest.pulls.update({ owner, repo, pull_number: n, state: 'closed' });
    const asIssue = await octokit.rest.issues.get({ owner, repo, issue_number: n });
    expect(asIssue.data.closed_by?.login).toBe('github-actions[bot]');
    expect((await octokit.rest.pulls.listReviews({ owner, repo, pull_number: n })).data).toEqual([]);
    const open = await octokit.rest.issues.get({ owner, repo, issue_number: fake.pulls[0]!.number });
    expect(open.data.closed_by ?? null).toBeNull();
  });
});

describe('checks of a commit (the health of merged self-changes, src/github/checks.ts)', () => {
  it('lists every attempt of the check runs (filter=all) or the newest of each name, the statuses newest first, and the attempts of a rerun workflow run', async () => {
    const sha = await git(bare, 'rev-parse', 'refs/heads/main');
    const at = (m: number) =>
      new Date(Date.parse('2026-11-22T03:00:00Z') + m * 60_000).toISOString().replace(/\.\d{3}Z$/, 'Z');
    fake.seedCheckRun({ headSha: sha, name: 'test', conclusion: 'failure', startedAt: at(0) });
    fake.seedCheckRun({ headSha: sha, name: 'lint', conclusion: 'success', startedAt: at(0) });
    fake.seedCheckRun({ headSha: sha, name: 'test', conclusion: 'failure', startedAt: at(20) });
    fake.seedCheckRun({ headSha: sha, name: 'e2e', startedAt: at(21) });
    fake.seedCommitStatus({ sha, context: 'ci/legacy', state: 'pending', createdAt: at(1) });
    fake.seedCommitStatus({ sha, context: 'ci/legacy', state: 'failure', createdAt: at(5) });
    fake.seedCommitStatus({ sha, context: 'ci/other', state: 'success', createdAt: at(6) });
    fake.runs.push({
      owner,
      repo,
      id: 777,
      workflow: 'ci.yml',
      runNumber: 9,
      event: 'push',
      status: 'completed',
      conclusion: 'failure',
      headBranch: 'main',
      headSha: sha,
      actor: 'alice',
      displayTitle: 'ci',
      createdAt: at(0),
      updatedAt: at(30),
      attempts: [{ status: 'completed', conclusion: 'failure', createdAt: at(0), updatedAt: at(10) }],
    });

    const all = await octokit.rest.checks.listForRef({ owner, repo, ref: sha, filter: 'all' });
    expect(all.data.total_count).toBe(4);
    const latest = await octokit.rest.checks.listForRef({ owner, repo, ref: 'main' });
    expect(latest.data.check_runs.map((c) => [c.name, c.status, c.conclusion, c.started_at]).sort()).toEqual([
      ['e2e', 'in_progress', null, at(21)],
      ['lint', 'completed', 'success', at(0)],
      ['test', 'completed', 'failure', at(20)],
    ]);
    const statuses = await octokit.rest.repos.listCommitStatusesForRef({ owner, repo, ref: sha });
    expect(statuses.data.map((s) => [s.context, s.state])).toEqual([
      ['ci/other', 'success'],
      ['ci/legacy', 'failure'],
      ['ci/legacy', 'pending'],
    ]);
    const first = await octokit.rest.actions.getWorkflowRunAttempt({
      owner,
      repo,
      run_id: 777,
      attempt_number: 1,
    });
    expect(first.data).toMatchObject({ id: 777, run_attempt: 1, conclusion: 'failure', updated_at: at(10) });
    await expect(
      octokit.rest.actions.getWorkflowRunAttempt({ owner, repo, run_id: 777, attempt_number: 3 }),
    ).rejects.toMatchObject({ status: 404 });

    const signals = await readCommitSignals(octokit, { owner, repo }, sha);
    expect(signals.readable).toBe(true);
    const seen = signals.readable
      ? signals.checks.map((c) => `${c.source}:${c.name}#${c.attempt}:${c.state}@${c.at ?? '-'}`).sort()
      : [];
    expect(seen).toEqual(
      [
        `check-run:e2e#1:pending@-`,
        `check-run:lint#1:success@${at(0)}`,
        `check-run:test#1:failure@${at(0)}`,
        `check-run:test#2:failure@${at(20)}`,
        `status:ci/legacy#1:failure@${at(5)}`,
        `status:ci/other#1:success@${at(6)}`,
        `workflow-run:ci#1:failure@${at(10)}`,
        `workflow-run:ci#2:failure@${at(30)}`,
      ].sort(),
    );
    // An error of GitHub is "could not read", never an empty list.
    fake.failNext({ method: 'GET', path: `/repos/${owner}/${repo}/commits/${sha}/statuses`, status: 404 });
    const broken = await readCommitSignals(octokit, { owner, repo }, sha);
    expect(broken).toMatchObject({
      sha,
      readable: false,
      error: expect.stringMatching(/GitHub API error: 404/),
    });
    fake.checkRuns.splice(0);
    fake.commitStatuses.splice(0);
    fake.runs.splice(
      fake.runs.findIndex((r) => r.id === 777),
      1,
    );
  });

  it("lists the default branch's commits newest first (since, sha, path), as reflection reads them", async () => {
    const tip = await git(bare, 'rev-parse', 'refs/heads/main');
    const all = await listCommitsSince(octokit, { owner, repo, maxPages: 1, since: '2000-01-01T00:00:00Z' });
    expect(all.more).toBe(false);
    const shas = (all.items as { sha: string }[]).map((c) => c.sha);
    expect(shas[0]).toBe(tip);
    expect(shas).toEqual((await git(bare, 'log', '--format=%H', 'main')).split('\n'));
    const none = await listCommitsSince(octokit, { owner, repo, maxPages: 1, since: '2999-01-01T00:00:00Z' });
    expect(none.items).toEqual([]);
    const feature = await octokit.rest.repos.listCommits({
      owner,
      repo,
      sha: 'feature',
      path: 'src/feature.ts',
    });
    expect(feature.data.map((c) => [c.sha, c.commit.message, c.parents.length])).toEqual([
      [await git(bare, 'rev-parse', 'refs/heads/feature'), 'feature', 1],
    ]);
  });

  it('says which checks are required: branch protection and rulesets, or none (every check counts)', async () => {
    expect(await requiredChecksOf(octokit, { owner, repo }, 'main')).toEqual({
      names: null,
      source: 'none',
      note: 'no required status checks configured on main (branch protection or rulesets): every check counts',
    });
    const other = await createGitHubFake({
      repositories: [
        {
          owner,
          repo,
          bareDir: bare,
          defaultBranch: 'main',
          protectedBranches: ['main'],
          requiredStatusChecks: ['test', 'lint'],
        },
      ],
    });
    try {
      const client = createGitHubClient({ token: TOKEN, baseUrl: other.url, logger, retryAfterBaseMs: 1 });
      expect(await requiredChecksOf(client, { owner, repo }, 'main')).toEqual({
        names: ['lint', 'test'],
        source: 'branch-protection+rulesets',
        note: '2 required check(s) on main (branch-protection+rulesets): lint, test',
      });
      other.failNext({ path: `/repos/${owner}/${repo}/rules/branches/main`, status: 403 });
      expect((await requiredChecksOf(client, { owner, repo }, 'main')).source).toBe('branch-protection');
      other.assertNoViolations();
    } finally {
      await other.close();
    }
  });
});
