/**
 * The action's `mode: gate` on a runner: a recorded `pull_request` event payload (a Dependabot PR; its
 * base.sha and head.sha are replaced by commits of a real git repository made for the test), GITHUB_OUTPUT
 * and GITHUB_STEP_SUMMARY files, the workflow commands @actions/core prints (annotations, setFailed) captured
 * from stdout, and the label request answered by nock with GitHub's recorded response.
 */
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it, jest } from '@jest/globals';
import { readFileSync } from 'node:fs';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import nock from 'nock';
import { run } from '../src/action.js';
import { labelPullRequest, pullRequestFromEvent } from '../src/act/pr-gate.js';
import { UsageError } from '../src/options.js';
import { makeTempRepo, type TempRepo } from './helpers/git-repo.js';

const API = 'https://api.github.com';
const TOKEN = 'ghs_16C7e42F292c6912E7710c838347Ae178B4a';
const fixture = (name: string): unknown =>
  JSON.parse(readFileSync(new URL(`../__fixtures__/github/${name}.json`, import.meta.url), 'utf8'));

/** The recorded event with the commits of the test repository. */
function eventFor(baseSha: string, headSha: string): Record<string, unknown> {
  const event = structuredClone(fixture('events/pull_request.opened')) as {
    pull_request: { base: { sha: string }; head: { sha: string } };
  };
  event.pull_request.base.sha = baseSha;
  event.pull_request.head.sha = headSha;
  return event as unknown as Record<string, unknown>;
}

const CONFIG = {
  safetyRails: {
    allowedPaths: ['docs/**', 'tests/**', '.github/self-evolution-config.json'],
    maxRiskLevel: 3,
  },
};

const saved = { ...process.env };
let dir: string;
let repo: TempRepo;
let base: string;
let stdout: string[];

beforeAll(async () => {
  nock.disableNetConnect();
  dir = await mkdtemp(join(tmpdir(), 'se-gate-'));
  repo = await makeTempRepo({
    '.github/self-evolution-config.json': JSON.stringify(CONFIG, null, 2) + '\n',
    'docs/guide.md': '# Guide\n\nUse the agent.\n',
    'tests/agent.test.ts': "test('agent', () => {});\n",
  });
  base = await repo.git('rev-parse', 'HEAD');
});

afterAll(async () => {
  nock.enableNetConnect();
  await repo?.cleanup();
  await rm(dir, { recursive: true, force: true });
});

beforeEach(() => {
  stdout = [];
  jest.spyOn(process.stdout, 'write').mockImplementation((chunk: string | Uint8Array) => {
    stdout.push(String(chunk));
    return true;
  });
});

afterEach(() => {
  jest.restoreAllMocks();
  nock.cleanAll();
  for (const k of Object.keys(process.env)) if (!(k in saved)) delete process.env[k];
  Object.assign(process.env, saved);
  process.exitCode = undefined;
});

/** A head commit on its own branch from base; returns its id (HEAD goes back to main). */
async function headWith(branch: string, files: Record<string, string | null>): Promise<string> {
  await repo.git('checkout', '--quiet', '-b', branch, base);
  const head = await repo.commit(files, { message: branch });
  await repo.git('checkout', '--quiet', 'main');
  return head;
}

/** Sets up the runner environment for one gate run and runs the action; returns outputs and summary. */
async function gate(
  event: Record<string, unknown>,
  opts: { eventName?: string; token?: string } = {},
): Promise<{ outputs: string; summary: string; out: string }> {
  const eventPath = join(dir, `event-${Math.random().toString(36).slice(2)}.json`);
  const output = join(dir, `output-${Math.random().toString(36).slice(2)}`);
  // One summary file for every run: @actions/core keeps the path it resolved first (one run per process).
  const summary = join(dir, 'summary');
  await writeFile(eventPath, JSON.stringify(event));
  await writeFile(output, '');
  await writeFile(summary, '');
  Object.assign(process.env, {
    INPUT_MODE: 'gate',
    'INPUT_GITHUB-TOKEN': opts.token ?? TOKEN,
    'INPUT_CONFIG-PATH': '.github/self-evolution-config.json',
    'INPUT_WORKING-DIRECTORY': '.',
    GITHUB_WORKSPACE: repo.dir,
    GITHUB_REPOSITORY: 'acme/agent',
    GITHUB_EVENT_NAME: opts.eventName ?? 'pull_request',
    GITHUB_EVENT_PATH: eventPath,
    GITHUB_API_URL: API,
    GITHUB_OUTPUT: output,
    GITHUB_STEP_SUMMARY: summary,
  });
  await run({ fetch: (url, init) => globalThis.fetch(url, init), retryAfterBaseMs: 1 });
  return {
    outputs: await readFile(output, 'utf8'),
    summary: await readFile(summary, 'utf8'),
    out: stdout.join(''),
  };
}

/** The value of output `name` in a GITHUB_OUTPUT file. */
function output(file: string, name: string): string | undefined {
  const m = new RegExp(`^${name}<<(\\S+)\\n([\\s\\S]*?)\\n\\1$`, 'm').exec(file);
  return m?.[2];
}

describe('mode gate on a pull_request event', () => {
  it('blocks a PR: annotations on file and line, failed step, outputs, summary table, no label', async () => {
    const head = await headWith('bot/blocked', {
      'src/tool.ts': 'export const tool = 1;\n',
      'docs/guide.md': '# Guide\n\nUse the agent.\napi_secret = "Zx81LqW7vNc3Tg0Rk5Pm2Ys9Hd4Jb6Fa"\n',
    });
    const { outputs, summary, out } = await gate(eventFor(base, head));
    expect(process.exitCode).toBe(1);
    // Annotations: `::error title=<rule>,file=<path>[,line=<n>]::<message>`.
    expect(out).toMatch(
      /^::error title=path-not-allowed,file=src\/tool\.ts::src\/tool\.ts: no safetyRails\.allowedPaths glob/m,
    );
    expect(out).toMatch(/^::error title=secret-high-entropy,file=docs\/guide\.md,line=4::/m);
    expect(out).not.toContain('Zx81LqW7vNc3Tg0Rk5Pm2Ys9Hd4Jb6Fa');
    // setFailed names the PR and the number of blocking violations.
    expect(out).toMatch(
      /^::error::the rails blocked acme\/agent#7: \d+ blocking violations \(.*path-not-allowed.*\)/m,
    );
    expect(output(outputs, 'allowed')).toBe('false');
    expect(output(outputs, 'requires-human-approval')).toBe('false');
    expect(Number(output(outputs, 'violations'))).toBeGreaterThanOrEqual(2);
    expect(output(outputs, 'computed-risk')).toMatch(/^[0-5]$/);
    expect(summary).toContain('### Self-Evolution gate: acme/agent#7 by dependabot[bot]');
    expect(summary).toContain('| severity | rule | file | line | message |');
    expect(summary).toMatch(/\| block \| `path-not-allowed` \| src\/tool\.ts \| {2}\| /);
    expect(summary).toMatch(/\| block \| `secret-high-entropy` \| docs\/guide\.md \| 4 \| /);
    expect(nock.pendingMocks()).toEqual([]);
  });

  it('a PR that changes a test: allowed, labelled needs-human-approval (POST .../issues/7/labels)', async () => {
    const head = await headWith('bot/test-change', {
      'tests/agent.test.ts': "test('agent', () => {});\ntest('more', () => {});\n",
    });
    let body: unknown;
    const scope = nock(API)
      .matchHeader('authorization', `token ${TOKEN}`)
      .post('/repos/acme/agent/issues/7/labels', (b: unknown) => {
        body = b;
        return true;
      })
      .reply(200, fixture('issues-add-labels') as nock.Body);
    const { outputs, out } = await gate(eventFor(base, head));
    expect(process.exitCode).toBeUndefined();
    expect(scope.isDone()).toBe(true);
    expect(body).toEqual({ labels: ['needs-human-approval'] });
    expect(out).toMatch(/^::warning title=test-change-approval,file=tests\/agent\.test\.ts::/m);
    expect(out).toContain('labelled acme/agent#7 "needs-human-approval"');
    expect(output(outputs, 'allowed')).toBe('true');
    expect(output(outputs, 'requires-human-approval')).toBe('true');
    // The token is registered as a secret (the runner masks it) and printed nowhere else.
    expect(out).toContain(`::add-mask::${TOKEN}`);
    expect(out.split(TOKEN).length).toBe(2);
  });

  it('a failing label call is a warning naming the permission, not a failed step', async () => {
    const head = await headWith('bot/test-change-403', {
      'tests/agent.test.ts': "test('agent', () => {});\ntest('again', () => {});\n",
    });
    const scope = nock(API)
      .post('/repos/acme/agent/issues/7/labels')
      .reply(403, fixture('error-403-add-labels') as nock.Body);
    const { outputs, out } = await gate(eventFor(base, head));
    expect(scope.isDone()).toBe(true);
    expect(process.exitCode).toBeUndefined();
    expect(out).toMatch(
      /^::warning::could not add the label "needs-human-approval" to acme\/agent#7: HTTP 403: Resource not accessible by integration.*pull-requests: write/m,
    );
    expect(output(outputs, 'allowed')).toBe('true');
  });

  it('an allowed PR passes without annotations or label', async () => {
    const head = await headWith('bot/doc', { 'docs/guide.md': '# Guide\n\nUse the agent well.\n' });
    const { outputs, summary, out } = await gate(eventFor(base, head));
    expect(process.exitCode).toBeUndefined();
    expect(out).not.toMatch(/^::(error|warning)/m);
    expect(output(outputs, 'allowed')).toBe('true');
    expect(output(outputs, 'violations')).toBe('0');
    expect(summary).toContain(
      '**allowed: no violations; risk stated 0, computed 0, effective 0; 1 file, +1 -1 lines, 0 binary**',
    );
  });

  it('without a config file at the base commit the default policy applies, and the summary says so', async () => {
    const bare = await makeTempRepo({ 'docs/a.md': 'a\n' });
    const mainRepo = repo;
    try {
      repo = bare;
      const bareBase = await bare.git('rev-parse', 'HEAD');
      await bare.git('checkout', '--quiet', '-b', 'bot/x');
      const head = await bare.commit({ 'docs/a.md': 'b\n' });
      await bare.git('checkout', '--quiet', 'main');
      const { outputs, summary } = await gate(eventFor(bareBase, head));
      expect(process.exitCode).toBeUndefined();
      expect(output(outputs, 'allowed')).toBe('true');
      expect(summary).toContain(
        '- no config file .github/self-evolution-config.json at the base commit: using the default policy',
      );
    } finally {
      repo = mainRepo;
      await bare.cleanup();
    }
  });

  it('fails clearly on another event, and when the base commit is not in the checkout', async () => {
    const head = await headWith('bot/any', { 'docs/guide.md': '# Guide\n' });
    let r = await gate(eventFor(base, head), { eventName: 'push' });
    expect(process.exitCode).toBe(1);
    expect(r.out).toMatch(/^::error::mode gate needs a pull_request event, got push/m);

    process.exitCode = undefined;
    stdout.length = 0;
    r = await gate(eventFor('1111111111111111111111111111111111111111', head));
    expect(process.exitCode).toBe(1);
    expect(r.out).toMatch(
      /^::error::acme\/agent#7: --base "1111111111111111111111111111111111111111" is not a commit of the repository at .*fetch-depth: 0/m,
    );
  });
});

describe('pr-gate helpers', () => {
  it('reads the pull request from the recorded payload', () => {
    const pr = pullRequestFromEvent('pull_request', fixture('events/pull_request.opened'));
    expect(pr).toEqual({
      owner: 'acme',
      repo: 'agent',
      number: 7,
      baseSha: '9049f1265b7d61be4a8904a9a27120d2064dab3b',
      headSha: '6dcb09b5b57875f334f61aebed695e2e4193db5e',
      baseRef: 'main',
      headRef: 'dependabot/npm_and_yarn/docs-toolchain-2a1b3c4d5e',
      author: 'dependabot[bot]',
      authorType: 'Bot',
      defaultBranch: 'main',
      htmlUrl: 'https://github.com/acme/agent/pull/7',
    });
  });

  it('names the missing field of a malformed payload', () => {
    const event = eventFor('x', 'y');
    expect(() => pullRequestFromEvent('pull_request', event)).toThrow(
      /no usable pull_request\.base\.sha \(found "x"\)/,
    );
    expect(() => pullRequestFromEvent('pull_request', {})).toThrow(UsageError);
    expect(() => pullRequestFromEvent('issue_comment', event)).toThrow(/got issue_comment/);
  });

  it('labelPullRequest never throws, and never shows the token', async () => {
    const failing = {
      rest: {
        issues: {
          addLabels: () =>
            Promise.reject(Object.assign(new Error(`Bad credentials ${TOKEN}`), { status: 401 })),
        },
      },
    };
    const r = await labelPullRequest(failing, { owner: 'acme', repo: 'agent', number: 7 });
    expect(r).toEqual({
      ok: false,
      status: 401,
      message: expect.stringContaining('HTTP 401: Bad credentials ***'),
    });
    expect(JSON.stringify(r)).not.toContain(TOKEN);
  });
});
