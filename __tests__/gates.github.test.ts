/**
 * The activity gate against recorded GitHub REST responses (__fixtures__/github/), served by nock through
 * the real client: @actions/github's Octokit with the retry and throttling plugins.
 */
import { readFileSync } from 'node:fs';
import nock from 'nock';
import type { Logger } from '../src/deps.js';
import { checkActivity } from '../src/gates/activity.js';
import {
  ACTIVE_WORKFLOW_RUN_STATUSES,
  createActivitySource,
  DEPLOYMENT_STATUS_CONCURRENCY,
  type ActivitySourceOptions,
} from '../src/github/activity.js';
import { createGitHubClient } from '../src/github/client.js';
import { recordingLogger } from './helpers/logger.js';

const API = 'https://api.github.com';
const TOKEN = `ghs_${'Tt0'.repeat(12)}`;
const CURRENT_RUN = 13370000001;
const CI_RUN = 13369998877;
const PROD = 2145678901;
const STAGING = 2145600042;

/** A decoded JSON response body. */
type Json = nock.Body;
const fixture = (name: string): Json =>
  JSON.parse(readFileSync(new URL(`../__fixtures__/github/${name}.json`, import.meta.url), 'utf8'));

/** The real client, with nock-visible fetch and 1 ms retry waits. */
function source(logger: Logger = recordingLogger(), options: ActivitySourceOptions = {}) {
  const octokit = createGitHubClient({
    token: TOKEN,
    baseUrl: API,
    logger,
    fetch: (url, init) => globalThis.fetch(url, init),
    retryAfterBaseMs: 1,
  });
  return createActivitySource(octokit, {
    clock: { now: () => new Date('2025-12-06T02:10:00Z') },
    ...options,
  });
}

const github = () => nock(API).matchHeader('authorization', `token ${TOKEN}`);

/** One interceptor per active status; `byStatus` overrides the empty default. */
function mockRuns(byStatus: Partial<Record<(typeof ACTIVE_WORKFLOW_RUN_STATUSES)[number], Json>> = {}): void {
  for (const status of ACTIVE_WORKFLOW_RUN_STATUSES) {
    if (status in byStatus && byStatus[status] === undefined) continue;
    github()
      .get('/repos/acme/bot/actions/runs')
      .query({ status, per_page: '100' })
      .reply(200, byStatus[status] ?? fixture('runs-empty'));
  }
}

function mockDeployments(list: Json, statuses: Record<number, Json> = {}): void {
  github().get('/repos/acme/bot/deployments').query({ per_page: '30' }).reply(200, list);
  for (const [id, body] of Object.entries(statuses)) {
    github().get(`/repos/acme/bot/deployments/${id}/statuses`).query({ per_page: '1' }).reply(200, body);
  }
}

/** Replies `times` times with `reply`, counting the requests. */
function counted(
  path: string,
  query: Record<string, string>,
  times: number,
  reply: () => [number, Json, Record<string, string>?],
) {
  const counter = { requests: 0 };
  github()
    .get(path)
    .query(query)
    .times(times)
    .reply(() => {
      counter.requests += 1;
      const [status, body, headers] = reply();
      return [status, body, headers ?? {}];
    });
  return counter;
}

const on = { skipDuringDeployments: true, currentRunId: CURRENT_RUN };

beforeAll(() => nock.disableNetConnect());
afterEach(() => nock.cleanAll());
afterAll(() => nock.enableNetConnect());

describe('activity gate over the REST API', () => {
  it('passes when nothing is active', async () => {
    mockRuns();
    mockDeployments(fixture('deployments-empty'));
    const r = await checkActivity(source(), 'acme/bot', on);
    expect(r).toMatchObject({ gate: 'activity', outcome: 'pass' });
    expect(nock.isDone()).toBe(true);
  });

  it('does not count the current run', async () => {
    mockRuns({ in_progress: fixture('runs-in-progress-current-only') });
    mockDeployments(fixture('deployments-empty'));
    expect((await checkActivity(source(), 'acme/bot', on)).outcome).toBe('pass');
    mockRuns({ in_progress: fixture('runs-in-progress-current-only') });
    mockDeployments(fixture('deployments-empty'));
    const withoutId = await checkActivity(source(), 'acme/bot', { skipDuringDeployments: true });
    expect(withoutId.outcome).toBe('skip');
    expect(withoutId.reason).toContain(`run ${CURRENT_RUN}`);
  });

  it('skips while another workflow run is in progress, naming it', async () => {
    mockRuns({ in_progress: fixture('runs-in-progress-current-and-ci') });
    mockDeployments(fixture('deployments-empty'));
    const r = await checkActivity(source(), 'acme/bot', on);
    expect(r.outcome).toBe('skip');
    expect(r.reason).toBe(`active in acme/bot: workflow "CI" run ${CI_RUN} (in_progress)`);
    expect(r.details!.workflowRuns).toEqual([
      {
        id: CI_RUN,
        name: 'CI',
        status: 'in_progress',
        runNumber: 1412,
        event: 'push',
        headBranch: 'main',
        htmlUrl: `https://github.com/acme/bot/actions/runs/${CI_RUN}`,
        createdAt: '2025-12-06T01:58:03Z',
      },
    ]);
  });

  it('skips while the latest status of a deployment is in_progress', async () => {
    mockRuns();
    mockDeployments(fixture('deployments'), {
      [PROD]: fixture('deployment-statuses-prod-in-progress'),
      [STAGING]: fixture('deployment-statuses-staging-inactive'),
    });
    const r = await checkActivity(source(), 'acme/bot', on);
    expect(r.outcome).toBe('skip');
    expect(r.reason).toBe(`active in acme/bot: deployment ${PROD} to "production" (in_progress)`);
    expect(r.details!.deployments).toEqual([
      {
        id: PROD,
        environment: 'production',
        ref: 'main',
        sha: '8e2f1b0c9d8a7f6e5d4c3b2a1f0e9d8c7b6a5f4e',
        state: 'in_progress',
        createdAt: '2025-12-06T01:55:12Z',
        statusCreatedAt: '2025-12-06T01:55:20Z',
      },
    ]);
    expect(nock.isDone()).toBe(true);
  });

  it('passes when the latest deployment statuses are success and inactive', async () => {
    mockRuns();
    mockDeployments(fixture('deployments'), {
      [PROD]: fixture('deployment-statuses-prod-success'),
      [STAGING]: fixture('deployment-statuses-staging-inactive'),
    });
    expect((await checkActivity(source(), 'acme/bot', on)).outcome).toBe('pass');
    expect(nock.isDone()).toBe(true);
  });

  it('counts a recent deployment with no status yet as pending, an old one not', async () => {
    mockRuns();
    mockDeployments(fixture('deployments'), {
      [PROD]: fixture('deployment-statuses-empty'),
      [STAGING]: fixture('deployment-statuses-empty'),
    });
    const r = await checkActivity(source(), 'acme/bot', on);
    expect(r.outcome).toBe('skip');
    expect(r.reason).toBe(`active in acme/bot: deployment ${PROD} to "production" (pending)`);
  });

  it('follows Link pagination (two pages of queued runs)', async () => {
    const next = `${API}/repositories/722395271/actions/runs?status=queued&per_page=100&page=2`;
    mockRuns({ queued: undefined });
    github()
      .get('/repos/acme/bot/actions/runs')
      .query({ status: 'queued', per_page: '100' })
      .reply(200, fixture('runs-queued-page-1'), { link: `<${next}>; rel="next", <${next}>; rel="last"` });
    github()
      .get('/repositories/722395271/actions/runs')
      .query({ status: 'queued', per_page: '100', page: '2' })
      .reply(200, fixture('runs-queued-page-2'), {
        link: `<${API}/repositories/722395271/actions/runs?status=queued&per_page=100&page=1>; rel="prev", <${API}/repositories/722395271/actions/runs?status=queued&per_page=100&page=1>; rel="first"`,
      });
    mockDeployments(fixture('deployments-empty'));
    const r = await checkActivity(source(), 'acme/bot', on);
    expect(r.outcome).toBe('skip');
    const runs = r.details!.workflowRuns as Array<{ id: number }>;
    expect(runs).toHaveLength(103);
    expect(runs.at(-1)!.id).toBe(13370200002);
    expect(r.reason).toContain('and 98 more');
    expect(nock.isDone()).toBe(true);
  });

  it('retries a 500 and passes on the following success', async () => {
    mockRuns({ queued: undefined });
    const replies: Array<[number, Json]> = [
      [500, fixture('error-500')],
      [200, fixture('runs-empty')],
    ];
    const c = counted('/repos/acme/bot/actions/runs', { status: 'queued', per_page: '100' }, 2, () =>
      replies.shift()!,
    );
    mockDeployments(fixture('deployments-empty'));
    const r = await checkActivity(source(), 'acme/bot', on);
    expect(r.outcome).toBe('pass');
    expect(c.requests).toBe(2);
  });

  it('gives up on a persistent 500 after the configured retries: error', async () => {
    const c = counted('/repos/acme/bot/actions/runs', { status: 'queued', per_page: '100' }, 10, () => [
      500,
      fixture('error-500'),
    ]);
    const r = await checkActivity(source(), 'acme/bot', on);
    expect(r.outcome).toBe('error');
    expect(r.reason).toBe('GitHub API error: 500 Server Error');
    expect(c.requests).toBe(4); // 1 + 3 retries
  });

  it.each([
    [403, 'error-403', 'Resource not accessible by integration'],
    [404, 'error-404', 'Not Found'],
  ])(
    'a persistent %i is an error at once, without retries, and without the token',
    async (status, body, message) => {
      const c = counted('/repos/acme/bot/actions/runs', { status: 'queued', per_page: '100' }, 5, () => [
        status,
        fixture(body),
      ]);
      const logger = recordingLogger({ levels: false });
      const { lines } = logger;
      const r = await checkActivity(source(logger), 'acme/bot', on);
      expect(r.outcome).toBe('error');
      expect(r.reason.startsWith(`GitHub API error: ${status} ${message}`)).toBe(true);
      expect(r.details).toEqual({ status });
      expect(c.requests).toBe(1);
      expect(JSON.stringify(r)).not.toContain(TOKEN);
      expect(lines.join('\n')).not.toContain(TOKEN);
    },
  );

  it('retries a primary rate limit at most twice', async () => {
    const limited = (): [number, Json, Record<string, string>] => [
      403,
      fixture('error-403-rate-limit'),
      {
        'x-ratelimit-limit': '5000',
        'x-ratelimit-remaining': '0',
        'x-ratelimit-reset': '0',
        'x-ratelimit-resource': 'core',
      },
    ];
    const logger = recordingLogger({ levels: false });
    const { lines } = logger;
    const c = counted('/repos/acme/bot/actions/runs', { status: 'queued', per_page: '100' }, 10, limited);
    const r = await checkActivity(source(logger), 'acme/bot', on);
    expect(r.outcome).toBe('error');
    expect(r.reason).toContain('GitHub API error: 403 API rate limit exceeded');
    expect(c.requests).toBe(3);
    expect(lines.filter((l) => l.includes('primary rate limit'))).toHaveLength(3);
    expect(lines.some((l) => l.includes('giving up after 2 retries'))).toBe(true);
    expect(lines.join('\n')).not.toContain(TOKEN);
  });

  it('passes when a primary rate limit clears on the second retry', async () => {
    const replies: Array<[number, Json, Record<string, string>?]> = [
      [403, fixture('error-403-rate-limit'), { 'x-ratelimit-remaining': '0', 'x-ratelimit-reset': '0' }],
      [403, fixture('error-403-rate-limit'), { 'x-ratelimit-remaining': '0', 'x-ratelimit-reset': '0' }],
      [200, fixture('runs-empty')],
    ];
    mockRuns({ queued: undefined });
    const c = counted('/repos/acme/bot/actions/runs', { status: 'queued', per_page: '100' }, 3, () =>
      replies.shift()!,
    );
    mockDeployments(fixture('deployments-empty'));
    expect((await checkActivity(source(), 'acme/bot', on)).outcome).toBe('pass');
    expect(c.requests).toBe(3);
  });

  it('does not wait for a rate limit that resets too far ahead', async () => {
    const c = counted('/repos/acme/bot/actions/runs', { status: 'queued', per_page: '100' }, 5, () => [
      403,
      fixture('error-403-rate-limit'),
      // an hour from now (the plugin reads the header against the real clock)
      { 'x-ratelimit-remaining': '0', 'x-ratelimit-reset': String(Math.floor(Date.now() / 1000) + 3600) },
    ]);
    const logger = recordingLogger({ levels: false });
    const { lines } = logger;
    const r = await checkActivity(source(logger), 'acme/bot', on);
    expect(r.outcome).toBe('error');
    expect(c.requests).toBe(1);
    expect(lines.some((l) => /primary rate limit on GET .*exceeds 300s; not waiting/.test(l))).toBe(true);
  });

  it('does not retry a 429 the throttling plugin declined to wait for (429 is in doNotRetry)', async () => {
    const c = counted('/repos/acme/bot/actions/runs', { status: 'queued', per_page: '100' }, 5, () => [
      429,
      fixture('error-403-rate-limit'),
      { 'x-ratelimit-remaining': '0', 'x-ratelimit-reset': String(Math.floor(Date.now() / 1000) + 3600) },
    ]);
    const r = await checkActivity(source(), 'acme/bot', on);
    expect(r.outcome).toBe('error');
    expect(r.reason).toContain('GitHub API error: 429');
    expect(c.requests).toBe(1);
  });

  it('reads at most DEPLOYMENT_STATUS_CONCURRENCY deployment statuses at a time', async () => {
    const deployments = Array.from({ length: 12 }, (_, i) => ({
      id: 500 + i,
      environment: 'production',
      ref: 'main',
      sha: 'a'.repeat(40),
      created_at: '2025-12-01T00:00:00Z',
    }));
    github().get('/repos/acme/bot/deployments').query({ per_page: '30' }).reply(200, deployments);
    let inFlight = 0;
    let most = 0;
    github()
      .get(/\/repos\/acme\/bot\/deployments\/\d+\/statuses/)
      .query({ per_page: '1' })
      .times(12)
      .reply(async () => {
        inFlight++;
        most = Math.max(most, inFlight);
        await new Promise((r) => setTimeout(r, 15));
        inFlight--;
        return [200, [{ state: 'success', created_at: '2025-12-01T00:01:00Z' }]];
      });
    const active = await source().listActiveDeployments('acme', 'bot');
    expect(active).toEqual([]);
    expect(nock.isDone()).toBe(true);
    expect(most).toBeGreaterThan(1);
    expect(most).toBeLessThanOrEqual(DEPLOYMENT_STATUS_CONCURRENCY);
  });

  it('retries a secondary rate limit at most once', async () => {
    const secondary = (): [number, Json, Record<string, string>] => [
      403,
      fixture('error-403-secondary-rate-limit'),
      { 'retry-after': '1' },
    ];
    const c = counted('/repos/acme/bot/actions/runs', { status: 'queued', per_page: '100' }, 5, secondary);
    const r = await checkActivity(source(), 'acme/bot', on);
    expect(r.outcome).toBe('error');
    expect(r.reason).toContain('GitHub API error: 403 You have exceeded a secondary rate limit');
    expect(c.requests).toBe(2);
  });
});

describe('createGitHubClient', () => {
  it('refuses an empty token without echoing anything secret', () => {
    expect(() => createGitHubClient({ token: ' ', baseUrl: API, logger: recordingLogger() })).toThrow(
      'createGitHubClient: the GitHub token is empty',
    );
  });

  it('sends the token only in the Authorization header, to the given base URL', async () => {
    const ghes = 'https://ghes.example.com/api/v3';
    nock('https://ghes.example.com')
      .matchHeader('authorization', `token ${TOKEN}`)
      .get('/api/v3/repos/acme/bot/deployments')
      .query({ per_page: '30' })
      .reply(200, []);
    const octokit = createGitHubClient({
      token: TOKEN,
      baseUrl: `${ghes}/`,
      logger: recordingLogger(),
      fetch: (url, init) => globalThis.fetch(url, init),
    });
    expect(await createActivitySource(octokit).listActiveDeployments('acme', 'bot')).toEqual([]);
    expect(nock.isDone()).toBe(true);
  });
});
