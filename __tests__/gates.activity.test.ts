import { checkActivity } from '../src/gates/activity.js';
import { githubRepository, parseRepository, repositoryParts, UsageError } from '../src/options.js';
import type { ActiveDeployment, ActiveWorkflowRun, ActivitySource } from '../src/github/activity.js';

function run(id: number, name = 'CI', status = 'in_progress'): ActiveWorkflowRun {
  return {
    id,
    name,
    status,
    runNumber: 1,
    event: 'push',
    headBranch: 'main',
    htmlUrl: `https://github.com/acme/bot/actions/runs/${id}`,
    createdAt: '2025-12-06T02:00:00Z',
  };
}

function deployment(id: number, environment = 'production', state = 'in_progress'): ActiveDeployment {
  return {
    id,
    environment,
    ref: 'main',
    sha: 'abc',
    state,
    createdAt: '2025-12-06T01:55:00Z',
    statusCreatedAt: null,
  };
}

function source(
  runs: ActiveWorkflowRun[],
  deployments: ActiveDeployment[] = [],
): ActivitySource & { calls: string[] } {
  const calls: string[] = [];
  return {
    calls,
    async listActiveWorkflowRuns(owner, repo) {
      calls.push(`runs ${owner}/${repo}`);
      return runs;
    },
    async listActiveDeployments(owner, repo) {
      calls.push(`deployments ${owner}/${repo}`);
      return deployments;
    },
  };
}

const on = { skipDuringDeployments: true };

describe('owner/name, read one way (options.ts)', () => {
  it('repositoryParts accepts owner/name and rejects anything else', () => {
    expect(repositoryParts('acme/bot.js')).toEqual({ owner: 'acme', repo: 'bot.js' });
    expect(repositoryParts('my_org/bot')).toEqual({ owner: 'my_org', repo: 'bot' });
    expect(repositoryParts('local/bot')).toEqual({ owner: 'local', repo: 'bot' });
    expect(repositoryParts('acme')).toBeUndefined();
    expect(repositoryParts('acme/bot/extra')).toBeUndefined();
    expect(repositoryParts('-acme/bot')).toBeUndefined();
    expect(repositoryParts('acme/..')).toBeUndefined();
    expect(repositoryParts('acme/bot x')).toBeUndefined();
    expect(repositoryParts('https://github.com/acme/bot')).toBeUndefined();
  });

  it('githubRepository leaves out local/<dir>', () => {
    expect(githubRepository('acme/bot')).toEqual({ owner: 'acme', repo: 'bot' });
    expect(githubRepository('local/bot')).toBeUndefined();
  });

  it('parseRepository throws a UsageError naming the value', () => {
    expect(parseRepository('acme/bot')).toEqual({ owner: 'acme', repo: 'bot' });
    expect(() => parseRepository('acme', '--repository')).toThrow(UsageError);
    expect(() => parseRepository('acme', '--repository')).toThrow(
      '--repository must be owner/name, got "acme"',
    );
    expect(() => parseRepository('a b/c', 'GITHUB_REPOSITORY', 'is this running on GitHub Actions?')).toThrow(
      'GITHUB_REPOSITORY must be owner/name, got "a b/c" (is this running on GitHub Actions?)',
    );
  });
});

describe('checkActivity', () => {
  it('is not-checked without a source (no token)', async () => {
    expect(await checkActivity(undefined, 'acme/bot', on)).toEqual({
      gate: 'activity',
      outcome: 'not-checked',
      reason: 'not checked: no GitHub token',
    });
  });

  it('is not-checked when the config turns it off, without calling GitHub', async () => {
    const s = source([run(1)]);
    const r = await checkActivity(s, 'acme/bot', { skipDuringDeployments: false });
    expect(r).toMatchObject({
      outcome: 'not-checked',
      reason: 'not checked: scheduleConfig.skipDuringDeployments is false',
    });
    expect(s.calls).toEqual([]);
  });

  it('is not-checked for a repository that is not owner/name, or a local checkout', async () => {
    const s = source([run(1)]);
    const bad = await checkActivity(s, 'not-a-repo', on);
    expect(bad).toMatchObject({ outcome: 'not-checked' });
    expect(bad.reason).toContain('"not-a-repo" is not in owner/name form');
    const local = await checkActivity(s, 'local/my-checkout', on);
    expect(local.outcome).toBe('not-checked');
    expect(local.reason).toContain('local checkout');
    expect(s.calls).toEqual([]);
  });

  it('passes when nothing else is active, asking about the right repository', async () => {
    const s = source([run(100, 'Self-Evolution')]);
    const r = await checkActivity(s, 'acme/bot', { ...on, currentRunId: 100 });
    expect(r.outcome).toBe('pass');
    expect(s.calls).toEqual(['runs acme/bot', 'deployments acme/bot']);
  });

  it('skips naming other runs and deployments', async () => {
    const r = await checkActivity(
      source([run(100, 'Self-Evolution'), run(7, 'CI', 'queued')], [deployment(42)]),
      'acme/bot',
      {
        ...on,
        currentRunId: 100,
      },
    );
    expect(r.outcome).toBe('skip');
    expect(r.reason).toBe(
      'active in acme/bot: workflow "CI" run 7 (queued), deployment 42 to "production" (in_progress)',
    );
    expect((r.details!.workflowRuns as ActiveWorkflowRun[]).map((x) => x.id)).toEqual([7]);
  });

  it('names at most five items in the reason', async () => {
    const runs = [1, 2, 3, 4, 5, 6, 7].map((id) => run(id));
    const r = await checkActivity(source(runs), 'acme/bot', on);
    expect(r.reason).toContain('run 5 (in_progress) and 2 more');
    expect(r.reason).not.toContain('run 6');
    expect(r.details!.workflowRuns).toHaveLength(7);
  });

  it('turns an API failure into an error with status and message, never a token', async () => {
    const failing: ActivitySource = {
      listActiveWorkflowRuns: async () => [],
      listActiveDeployments: () =>
        Promise.reject(
          Object.assign(new Error('Bad credentials for ghp_abcdefghijklmnopqrstuvwxyz'), { status: 401 }),
        ),
    };
    const r = await checkActivity(failing, 'acme/bot', on);
    expect(r.outcome).toBe('error');
    expect(r.reason).toBe('GitHub API error: 401 Bad credentials for ***');
  });

  it('reports a network error without a status', async () => {
    const failing: ActivitySource = {
      listActiveWorkflowRuns: () => Promise.reject(new TypeError('fetch failed')),
      listActiveDeployments: async () => [],
    };
    expect(await checkActivity(failing, 'acme/bot', on)).toMatchObject({
      outcome: 'error',
      reason: 'GitHub API error: fetch failed',
    });
  });
});
