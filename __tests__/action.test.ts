/**
 * The action adapter: inputs -> Options, trigger detection, and run() end to end against a real Postgres
 * and a real git checkout, with GITHUB_OUTPUT and GITHUB_STEP_SUMMARY files as on a runner.
 */
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it, jest } from '@jest/globals';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { detectTrigger, optionsFromInputs, run } from '../src/action.js';
import { UsageError } from '../src/options.js';
import { openDatabase } from '../src/store/open.js';
import { migrate } from '../src/store/migrate.js';
import { setFlag } from '../src/store/flags.js';
import { createTestDatabase } from './helpers/db.js';
import { makeTempRepo } from './helpers/git-repo.js';

const saved = { ...process.env };

function setInputs(inputs: Record<string, string>): void {
  for (const [k, v] of Object.entries(inputs)) process.env[`INPUT_${k.toUpperCase()}`] = v;
}

function actionDefaults(): Record<string, string> {
  return {
    mode: 'run',
    'dry-run': 'true',
    force: 'false',
    'config-path': '.github/self-evolution-config.json',
  };
}

/** What the action wrote to stdout: @actions/core's workflow commands (::error::, ::add-mask::), kept for assertions. */
let stdout: string[] = [];
beforeEach(() => {
  stdout = [];
  jest.spyOn(process.stdout, 'write').mockImplementation((chunk: string | Uint8Array) => {
    stdout.push(String(chunk));
    return true;
  });
});

afterEach(() => {
  jest.restoreAllMocks();
  for (const k of Object.keys(process.env)) if (!(k in saved)) delete process.env[k];
  Object.assign(process.env, saved);
  process.exitCode = undefined;
});

describe('detectTrigger', () => {
  it('maps the event name, lets the input win, and rejects a bad input', () => {
    expect(detectTrigger('', 'schedule')).toBe('schedule');
    expect(detectTrigger('', 'workflow_dispatch')).toBe('workflow_dispatch');
    expect(detectTrigger('workflow_call', 'schedule')).toBe('workflow_call');
    expect(detectTrigger('', 'push')).toBe('other');
    expect(() => detectTrigger('cron', 'schedule')).toThrow(UsageError);
  });
});

describe('optionsFromInputs', () => {
  it('builds Options from inputs and the runner environment', () => {
    setInputs({
      ...actionDefaults(),
      'database-url': 'postgres://u:p@h/d',
      'github-token': 'ghs_abc',
      'jitter-minutes': '5',
      force: 'true',
    });
    const o = optionsFromInputs({
      GITHUB_WORKSPACE: '/w',
      GITHUB_REPOSITORY: 'acme/agent',
      GITHUB_RUN_ID: '42',
      GITHUB_SERVER_URL: 'https://github.com',
      GITHUB_EVENT_NAME: 'workflow_dispatch',
      RUNNER_TEMP: '/t',
      SELF_EVOLUTION_MAX_LOC: '100',
    });
    // the secrets are masked in the log before anything else happens
    expect(stdout).toEqual(
      expect.arrayContaining([
        expect.stringMatching(/^::add-mask::postgres:\/\/u:p@h\/d/),
        expect.stringMatching(/^::add-mask::ghs_abc/),
        expect.stringMatching(/^::add-mask::p\b/),
      ]),
    );
    expect(o).toMatchObject({
      repoDir: '/w',
      repository: 'acme/agent',
      databaseUrl: 'postgres://u:p@h/d',
      githubToken: 'ghs_abc',
      dryRun: true,
      force: true,
      jitter: { enabled: true, maxMinutes: 5 },
      trigger: 'workflow_dispatch',
      currentWorkflowRunId: 42,
      logsUrl: 'https://github.com/acme/agent/actions/runs/42',
      artifactsRoot: '/t/self-evolution-artifacts',
      envOverrides: { maxLinesOfCode: 100 },
    });
  });

  it('rejects an empty database-url, a bad mode, a bad boolean and bad jitter minutes, naming each', () => {
    const env = { GITHUB_REPOSITORY: 'acme/agent' };
    setInputs({ ...actionDefaults(), 'database-url': '' });
    expect(() => optionsFromInputs(env)).toThrow(/database-url/);
    setInputs({ ...actionDefaults(), 'database-url': 'postgres://h/d', mode: 'merge' });
    expect(() => optionsFromInputs(env)).toThrow(/mode .*"merge"/);
    setInputs({ ...actionDefaults(), 'database-url': 'postgres://h/d', 'jitter-minutes': 'ten' });
    expect(() => optionsFromInputs(env)).toThrow(/jitter-minutes .*"ten"/);
    setInputs({
      ...actionDefaults(),
      'database-url': 'postgres://h/d',
      'jitter-minutes': '',
      'dry-run': 'maybe',
    });
    expect(() => optionsFromInputs(env)).toThrow(/dry-run/);
  });
});

describe('optionsFromInputs: live mode', () => {
  const env = { GITHUB_WORKSPACE: '/w', GITHUB_REPOSITORY: 'acme/agent', RUNNER_TEMP: '/t' };

  it('mode run: pushes with a token, publishes directly; pr-token is masked and kept apart from github-token', () => {
    setInputs({
      ...actionDefaults(),
      'database-url': 'postgres://h/d',
      'dry-run': 'false',
      'pr-token': 'ghs_pr',
    });
    expect(optionsFromInputs(env)).toMatchObject({
      dryRun: false,
      prToken: 'ghs_pr',
      pushWithToken: true,
      publishMode: 'direct',
    });
    expect(stdout).toContain('::add-mask::ghs_pr\n');
  });

  it('mode propose bundles into RUNNER_TEMP and refuses a pr-token (the agent runs there)', () => {
    setInputs({ ...actionDefaults(), mode: 'propose', 'database-url': 'postgres://h/d', 'dry-run': 'false' });
    expect(optionsFromInputs(env)).toMatchObject({
      publishMode: 'bundle',
      bundleDir: '/t/self-evolution-bundle',
    });
    setInputs({
      ...actionDefaults(),
      mode: 'propose',
      'database-url': 'postgres://h/d',
      'pr-token': 'ghs_pr',
    });
    expect(() => optionsFromInputs(env)).toThrow(
      /pr-token is for mode publish .* must not hold a write token/,
    );
  });

  it('mode publish reads the bundle at bundle-path (relative to the workspace) and is always live', () => {
    setInputs({
      ...actionDefaults(),
      mode: 'publish',
      'database-url': 'postgres://h/d',
      'bundle-path': 'bundle',
      'dry-run': 'true',
    });
    expect(optionsFromInputs(env)).toMatchObject({ dryRun: false, bundleDir: '/w/bundle' });
  });
});

describe('run() on a runner', () => {
  let database: { url: string; drop(): Promise<void> };
  let dir: string;

  beforeAll(async () => {
    database = await createTestDatabase('action');
    const db = await openDatabase({ databaseUrl: database.url, embeddedDir: '' });
    await migrate(db);
    await setFlag(db, 'self_evolution_enabled', true);
    await db.close();
    dir = await mkdtemp(join(tmpdir(), 'se-action-'));
  });

  afterAll(async () => {
    await database?.drop();
    await rm(dir, { recursive: true, force: true });
  });

  it('sets the outputs and writes a job summary with the proposals table', async () => {
    const repo = await makeTempRepo({
      '.github/self-evolution-config.json': JSON.stringify({
        enabled: true,
        safetyRails: { allowedPaths: ['docs/**'] },
        proposers: [
          { kind: 'command', name: 'fix', command: "sed -i 's/teh/the/' docs/a.md", title: 'Fix a typo' },
        ],
      }),
      'docs/a.md': 'teh end\n',
    });
    try {
      const output = join(dir, 'output');
      const summary = join(dir, 'summary');
      await writeFile(output, '');
      await writeFile(summary, '');
      setInputs({
        ...actionDefaults(),
        'database-url': database.url,
        'github-token': '',
        'jitter-minutes': '0',
      });
      Object.assign(process.env, {
        GITHUB_WORKSPACE: repo.dir,
        GITHUB_REPOSITORY: 'acme/action',
        GITHUB_RUN_ID: '77',
        GITHUB_EVENT_NAME: 'schedule',
        GITHUB_OUTPUT: output,
        GITHUB_STEP_SUMMARY: summary,
        RUNNER_TEMP: dir,
      });
      await run();
      expect(process.exitCode).toBeUndefined();
      const outputs = await readFile(output, 'utf8');
      expect(outputs).toMatch(/status<<[^\n]+\nsuccess\n/);
      expect(outputs).toMatch(/allowed<<[^\n]+\n1\n/);
      expect(outputs).toMatch(/run-id<<[^\n]+\n\d+\n/);
      // a dry run: one previewed pull request, nothing opened
      const prs = JSON.parse(/pull-requests<<[^\n]+\n(.*)\n/.exec(outputs)![1]!) as Record<string, unknown>[];
      expect(prs).toEqual([
        expect.objectContaining({
          state: 'preview',
          number: null,
          url: null,
          title: 'self-evolution: Fix a typo',
        }),
      ]);
      const md = await readFile(summary, 'utf8');
      expect(md).toContain('preview: nothing was pushed or opened');
      expect(md).toContain('| Fix a typo | cleanup | 1 | 1 | 2 | allowed |');
      expect(md).toContain('| activity | not-checked | not checked: no GitHub token |');
      // The dashboard is written into the run's artifacts before the upload (which fails here: no Actions
      // runtime), and its key figures are in the job summary.
      const runId = /run-id<<[^\n]+\n(\d+)\n/.exec(outputs)![1]!;
      const artifactsDir = /artifacts-dir<<[^\n]+\n(.+)\n/.exec(outputs)![1]!;
      expect(artifactsDir).toMatch(new RegExp(`self-evolution-artifacts/${runId}-[0-9a-f]{12}$`));
      const html = await readFile(join(artifactsDir, 'dashboard.html'), 'utf8');
      expect(html).toContain('<title>Self-Evolution · acme/action</title>');
      expect(html).toContain(`data-run="${runId}"`);
      expect(md).toContain('### Self-Evolution figures: acme/action');
      expect(md).toMatch(/\| merged \| 0 \| 0 \| 0 \|/);
      expect(md).toContain('- circuit breaker: ok (loop on)');
      expect(md).toContain('- dashboard: `dashboard.html`');
      expect(outputs + md).not.toContain(database.url);
      // The database URL and its password are registered as secrets so the runner masks them.
      expect(stdout.join('')).toContain(`::add-mask::${database.url}`);
    } finally {
      await repo.cleanup();
    }
  });

  it('fails the step with a one-line message for a bad input', async () => {
    setInputs({ ...actionDefaults(), 'database-url': '' });
    process.env.GITHUB_REPOSITORY = 'acme/action';
    const output = join(dir, 'out2');
    await writeFile(output, '');
    process.env.GITHUB_OUTPUT = output;
    await run();
    expect(process.exitCode).toBe(1);
    expect(stdout.join('')).toContain('::error::input database-url is empty');
  });
});
