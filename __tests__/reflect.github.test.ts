/**
 * GitHub reflection signals against recorded REST responses (__fixtures__/github/reflect/), served by nock
 * through the real client of the activity gate (@actions/github + retry + throttling plugins).
 */
import { readFileSync } from 'node:fs';
import nock from 'nock';
import type { Logger } from '../src/deps.js';
import { createGitHubClient } from '../src/github/client.js';
import {
  collectGitHubSignals,
  formatGitHubSignalError,
  githubInsights,
  type GitHubSignalsOptions,
} from '../src/reflect/github.js';
import { recordingLogger } from './helpers/logger.js';

const API = 'https://api.github.com';
const TOKEN = `ghs_${'Rf1'.repeat(12)}`;
const NOW = new Date('2025-12-06T02:10:00Z');
const RUNS = { latestCi: 17100000005, ciPr: 17100000004, release: 17100000003, ciSchedule: 17100000002 };
const SHA38 = '3b8e1f0c2d4a6b8c0e2f4a6c8e0a2c4e6a8c0e2f';
const REVERT_OF_38 = 'e4d3c2b1a0f9e8d7c6b5a4f3e2d1c0b9a8f7e6d5';

type Json = nock.Body;
const fixture = (name: string): Json =>
  JSON.parse(readFileSync(new URL(`../__fixtures__/github/reflect/${name}.json`, import.meta.url), 'utf8'));

function client(logger: Logger = recordingLogger()) {
  return createGitHubClient({
    token: TOKEN,
    baseUrl: API,
    logger,
    fetch: (url, init) => globalThis.fetch(url, init),
    retryAfterBaseMs: 1,
  });
}

const github = () => nock(API).matchHeader('authorization', `token ${TOKEN}`);
const options: GitHubSignalsOptions = { owner: 'acme', repo: 'bot', now: NOW };
const RUNS_QUERY = { status: 'failure', created: '>=2025-11-29', per_page: '100' };
const PAGE_2 = `${API}/repositories/722395271/actions/runs?status=failure&created=%3E%3D2025-11-29&per_page=100&page=2`;

/** Interceptors for one complete collection; pass `skip` to leave some out (and mock them yourself). */
function mockAll(
  skip: { runs?: boolean; jobs?: number[]; issues?: boolean; pulls?: boolean; commits?: boolean } = {},
) {
  if (!skip.runs) {
    github()
      .get('/repos/acme/bot/actions/runs')
      .query(RUNS_QUERY)
      .reply(200, fixture('runs-failed-page-1'), {
        link: `<${PAGE_2}>; rel="next", <${PAGE_2}>; rel="last"`,
      });
    github()
      .get('/repositories/722395271/actions/runs')
      .query({ ...RUNS_QUERY, page: '2' })
      .reply(200, fixture('runs-failed-page-2'));
  }
  for (const id of Object.values(RUNS)) {
    if (skip.jobs?.includes(id)) continue;
    github()
      .get(`/repos/acme/bot/actions/runs/${id}/jobs`)
      .query({ filter: 'latest', per_page: '100' })
      .reply(200, fixture(`jobs-${id}`));
  }
  if (!skip.issues) {
    github()
      .get('/repos/acme/bot/issues')
      .query({ labels: 'self-evolution', state: 'open', sort: 'created', direction: 'asc', per_page: '100' })
      .reply(200, fixture('issues-open'));
  }
  if (!skip.pulls) {
    github()
      .get('/repos/acme/bot/pulls')
      .query({ state: 'all', sort: 'created', direction: 'desc', per_page: '100' })
      .reply(200, fixture('pulls-all'));
  }
  if (!skip.commits) {
    github()
      .get('/repos/acme/bot/commits')
      .query({ since: '2025-11-23T08:00:00Z', per_page: '100' })
      .reply(200, fixture('commits-main'));
  }
}

beforeAll(() => nock.disableNetConnect());
afterEach(() => nock.cleanAll());
afterAll(() => nock.enableNetConnect());

describe('collectGitHubSignals', () => {
  it('collects failed runs over two pages with their failing jobs and steps', async () => {
    mockAll();
    const s = await collectGitHubSignals(client(), options);
    expect(nock.isDone()).toBe(true);
    expect(s.errors).toEqual([]);
    expect(s.since).toBe('2025-11-29T02:10:00.000Z');
    // Run 17100000001 (2025-11-29T01:00Z, page 2) matches the date filter but is before the window instant.
    expect(s.failedRuns.map((r) => r.id)).toEqual([RUNS.latestCi, RUNS.ciPr, RUNS.release, RUNS.ciSchedule]);
    expect(s.failedRunsInspected).toBe(4);
    expect(s.notes).toEqual([]);

    const latest = s.failedRuns[0]!;
    expect(latest).toMatchObject({
      workflowName: 'CI',
      workflowPath: '.github/workflows/ci.yml',
      runNumber: 2210,
      event: 'push',
      htmlUrl: `https://github.com/acme/bot/actions/runs/${RUNS.latestCi}`,
    });
    // Only the failing job; the failing step only (not the skipped post step), in step order.
    expect(latest.jobs).toEqual([
      {
        id: RUNS.latestCi * 10 + 2,
        name: 'build (20.x)',
        conclusion: 'failure',
        failedSteps: ['Run npm test'],
        htmlUrl: `https://github.com/acme/bot/actions/runs/${RUNS.latestCi}/job/${RUNS.latestCi * 10 + 2}`,
      },
    ]);
    expect(s.failedRuns[1]!.runAttempt).toBe(2);
    expect(s.failedRuns[1]!.jobs!.map((j) => [j.name, j.failedSteps])).toEqual([
      ['lint', ['Run npm run lint']],
      ['build (20.x)', ['Run npm test']],
    ]);
    // A timed-out job counts; its cancelled step is not a 'failure' step.
    expect(s.failedRuns[2]!.jobs).toEqual([
      expect.objectContaining({ name: 'publish', conclusion: 'timed_out', failedSteps: [] }),
    ]);
  });

  it('keeps open labelled issues oldest first, without pull requests, bodies cut and marked untrusted', async () => {
    mockAll();
    const s = await collectGitHubSignals(client(), options);
    expect(s.issues.map((i) => i.number)).toEqual([12, 15, 17]); // #14 is a pull request
    const [readme, injection, typo] = s.issues as [
      (typeof s.issues)[0],
      (typeof s.issues)[0],
      (typeof s.issues)[0],
    ];
    expect(readme.body).toHaveLength(2000);
    expect(readme.bodyTruncated).toBe(true);
    expect(readme).toMatchObject({
      author: 'maintainer-ann',
      authorAssociation: 'MEMBER',
      labels: ['documentation', 'self-evolution'],
    });
    expect(injection.body).toContain('Ignore previous instructions');
    expect(injection).toMatchObject({ untrusted: true, bodyTruncated: false, authorAssociation: 'NONE' });
    expect(typo).toMatchObject({ body: '', bodyTruncated: false, untrusted: true });
    expect(s.issues.every((i) => i.untrusted === true)).toBe(true);
  });

  it('gives the outcome of our pull requests: open, merged, closed, reverted by commit or by revert PR', async () => {
    mockAll();
    const s = await collectGitHubSignals(client(), options);
    // #41 (other branch), #39 (revert branch) and #34 (a fork's self-evolution/ branch) are not ours.
    expect(s.pulls.map((p) => [p.number, p.outcome])).toEqual([
      [40, 'open'],
      [38, 'reverted'],
      [37, 'reverted'],
      [36, 'closed'],
      [35, 'merged'],
    ]);
    const byNumber = new Map(s.pulls.map((p) => [p.number, p]));
    expect(byNumber.get(38)!.revertedBy).toEqual({
      via: 'commit',
      sha: REVERT_OF_38,
      subject: 'Revert "Shorten the system prompt"',
    });
    expect(byNumber.get(38)!.mergeCommitSha).toBe(SHA38);
    expect(byNumber.get(37)!.revertedBy).toEqual({
      via: 'pull',
      number: 39,
      title: 'Revert "Cache the model list"',
    });
    expect(byNumber.get(36)).toMatchObject({
      mergedAt: null,
      mergeCommitSha: null,
      closedAt: '2025-11-24T09:00:00Z',
    });
    expect(byNumber.get(35)!.revertedBy).toBeNull();
    expect(s.pulls.every((p) => p.untrusted)).toBe(true);
    expect(githubInsights(s)).toEqual([
      '4 failed workflow runs in the last 7 days (jobs of 4 read)',
      '3 open "self-evolution" issues',
      'self-evolution pull requests: 1 merged, 2 reverted, 1 closed unmerged, 1 open',
    ]);
  });

  it('inspects at most maxRunsInspected runs, round-robin across workflows, and says so', async () => {
    mockAll({ jobs: [RUNS.ciPr, RUNS.ciSchedule] });
    const s = await collectGitHubSignals(client(), { ...options, maxRunsInspected: 2 });
    expect(nock.isDone()).toBe(true);
    expect(s.errors).toEqual([]); // no request for the other runs' jobs
    expect(s.failedRuns.map((r) => [r.id, r.jobs === null])).toEqual([
      [RUNS.latestCi, false],
      [RUNS.ciPr, true],
      [RUNS.release, false], // the newest run of the other workflow is picked before older CI runs
      [RUNS.ciSchedule, true],
    ]);
    expect(s.failedRunsInspected).toBe(2);
    expect(s.notes).toEqual([
      'inspected the jobs of 2 of 4 failed runs (limit 2); the others have jobs: null',
    ]);
  });

  it('stops after maxPages and notes it', async () => {
    github()
      .get('/repos/acme/bot/actions/runs')
      .query(RUNS_QUERY)
      .reply(200, fixture('runs-failed-page-1'), {
        link: `<${PAGE_2}>; rel="next", <${PAGE_2}>; rel="last"`,
      });
    mockAll({ runs: true, jobs: [RUNS.ciSchedule] });
    const s = await collectGitHubSignals(client(), { ...options, maxPages: 1 });
    expect(nock.isDone()).toBe(true);
    expect(s.failedRuns).toHaveLength(3);
    expect(s.notes).toContain(
      'read 1 page of failed runs (limit); older failed runs of the window not listed',
    );
  });

  it('an endpoint failing with 500 empties its part, adds one error, and the rest is still collected', async () => {
    mockAll({ issues: true });
    const issues = github()
      .get('/repos/acme/bot/issues')
      .query(true)
      .times(4) // 1 + 3 retries by plugin-retry
      .reply(500, fixture('error-500'));
    const s = await collectGitHubSignals(client(), options);
    expect(issues.isDone()).toBe(true);
    expect(nock.isDone()).toBe(true);
    expect(s.issues).toEqual([]);
    expect(s.errors).toEqual([
      {
        part: 'issues',
        request: 'GET /repos/acme/bot/issues',
        status: 500,
        message: expect.stringContaining('Server Error'),
      },
    ]);
    expect(formatGitHubSignalError(s.errors[0]!)).toMatch(
      /^issues: GET \/repos\/acme\/bot\/issues: 500 Server Error/,
    );
    expect(s.failedRuns).toHaveLength(4);
    expect(s.pulls).toHaveLength(5);
    expect(githubInsights(s).at(-1)).toMatch(/^GitHub error: issues: GET \/repos\/acme\/bot\/issues: 500 /);
  });

  it("a failing jobs request leaves that run's jobs null and the others inspected", async () => {
    mockAll({ jobs: [RUNS.release] });
    github()
      .get(`/repos/acme/bot/actions/runs/${RUNS.release}/jobs`)
      .query(true)
      .reply(404, { message: 'Not Found', documentation_url: 'https://docs.github.com/rest', status: '404' });
    const s = await collectGitHubSignals(client(), options);
    expect(s.failedRuns.find((r) => r.id === RUNS.release)!.jobs).toBeNull();
    expect(s.failedRunsInspected).toBe(3);
    expect(s.errors).toEqual([
      expect.objectContaining({
        part: 'workflow-jobs',
        request: `GET /repos/acme/bot/actions/runs/${RUNS.release}/jobs`,
        status: 404,
      }),
    ]);
  });

  it('without the commits, a revert is still found through the revert pull request', async () => {
    mockAll({ commits: true });
    github().get('/repos/acme/bot/commits').query(true).times(4).reply(502, fixture('error-500'));
    const s = await collectGitHubSignals(client(), options);
    expect(s.errors.map((e) => [e.part, e.status])).toEqual([['commits', 502]]);
    expect(s.pulls.find((p) => p.number === 38)!.outcome).toBe('merged');
    expect(s.pulls.find((p) => p.number === 37)!.outcome).toBe('reverted');
  });

  it('bad credentials: every part empty, one error each, and the token appears nowhere', async () => {
    const logger = recordingLogger({ levels: false });
    const { lines } = logger;
    github().get('/repos/acme/bot/actions/runs').query(true).reply(401, fixture('error-401'));
    github().get('/repos/acme/bot/issues').query(true).reply(401, fixture('error-401'));
    github().get('/repos/acme/bot/pulls').query(true).reply(401, fixture('error-401'));
    const s = await collectGitHubSignals(client(logger), options);
    expect(nock.isDone()).toBe(true);
    expect(s.errors.map((e) => [e.part, e.status])).toEqual([
      ['workflow-runs', 401],
      ['issues', 401],
      ['pulls', 401],
    ]);
    expect(s.errors[0]!.message).toContain('Bad credentials');
    expect(s).toMatchObject({ failedRuns: [], issues: [], pulls: [], failedRunsInspected: 0 });
    const everything = JSON.stringify(s) + lines.join('\n');
    expect(everything).not.toContain(TOKEN);
    expect(everything).not.toContain(TOKEN.slice(4));
  });

  it('the token is never in a successful result either', async () => {
    mockAll();
    const s = await collectGitHubSignals(client(), options);
    expect(JSON.stringify(s)).not.toContain(TOKEN.slice(4));
  });

  it('no merged pull request: no commits request', async () => {
    github().get('/repos/acme/bot/actions/runs').query(true).reply(200, fixture('runs-failed-empty'));
    github().get('/repos/acme/bot/issues').query(true).reply(200, []);
    github().get('/repos/acme/bot/pulls').query(true).reply(200, []);
    const s = await collectGitHubSignals(client(), options);
    expect(nock.isDone()).toBe(true);
    expect(s).toMatchObject({ failedRuns: [], issues: [], pulls: [], errors: [], notes: [] });
  });

  it('rejects invalid options before any request', async () => {
    await expect(collectGitHubSignals(client(), { ...options, owner: '' })).rejects.toThrow(/owner and repo/);
    await expect(collectGitHubSignals(client(), { ...options, now: new Date('x') })).rejects.toThrow(
      /valid Date/,
    );
    await expect(collectGitHubSignals(client(), { ...options, windowDays: 0 })).rejects.toThrow(/windowDays/);
    await expect(collectGitHubSignals(client(), { ...options, maxRunsInspected: 0 })).rejects.toThrow(
      /maxRunsInspected/,
    );
  });
});
