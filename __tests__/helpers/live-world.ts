/**
 * A live-mode test world: a checkout with a config committed, its bare `origin`, the OpenAPI-validated GitHub
 * fake serving acme/agent from that origin, and `run()` driving runOnce against it (pull requests opened through
 * a client of the fake with unspaced writes; the database given by URL). Shared by the live-mode test files.
 */
import { mkdtemp, realpath, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runOnce, type RunDeps } from '../../src/run.js';
import { openDatabase } from '../../src/store/open.js';
import { createGitHubClient, type GitHubClient } from '../../src/github/client.js';
import type { Options } from '../../src/options.js';
import type { RunReport } from '../../src/report/types.js';
import { makeTempRepo, type TempRepo } from './git-repo.js';
import { createGitHubFake, type GitHubFake } from './github-fake.js';
import { capturingLogger, fixedRandom, recordingSleep, steppingClock, testOptions } from './run-deps.js';

/** The first day of a world's runs; each further run() is one day later. */
export const DAY = new Date('2026-11-22T02:05:00Z');
/** Where the config is committed. */
export const CONFIG_PATH = '.github/self-evolution-config.json';
/** The token the runs get (it must appear nowhere). */
export const TOKEN = 'ghs_' + 'LiveModeTestToken0'.repeat(2);

/** A live config: a typo fixer over docs/, reviewers, labels; `extra` replaces top-level keys. */
export function config(extra: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    enabled: true,
    dryRunMode: false,
    sandbox: 'none',
    safetyRails: { allowedPaths: ['docs/**/*.md'], maxRiskLevel: 2 },
    prTemplateConfig: { autoLabels: ['ai-ops', 'self-evolution'], autoRequestReviewers: ['alice'] },
    proposers: [
      {
        kind: 'command',
        name: 'typo-fixer',
        command: "sed -i 's/teh/the/g' docs/guide.md",
        title: 'Fix typos in the guide',
        type: 'cleanup',
        riskLevel: 0,
      },
    ],
    ...extra,
  };
}

/** A test world (see the module docs). */
export interface World {
  /** A client of the fake with unspaced writes (for the publish job). */
  client(): GitHubClient;
  repo: TempRepo;
  bare: string;
  fake: GitHubFake;
  logs: string[];
  run(overrides?: Partial<Options>): Promise<RunReport>;
  git(...args: string[]): Promise<string>;
  cleanup(): Promise<void>;
}

/** A checkout with `cfg` committed, its bare origin, and the fake serving acme/agent from that origin. */
export async function world(
  databaseUrl: string,
  cfg = config(),
  fakeOptions: { protectedBranches?: string[] } = {},
  files: Record<string, string> = {},
  /** The first run's time (each further run one day later); default DAY. */
  start: Date = DAY,
): Promise<World> {
  const repo = await makeTempRepo({
    ...files,
    [CONFIG_PATH]: JSON.stringify(cfg, null, 2) + '\n',
    'docs/guide.md': '# Guide\n\nteh weather is nice\n',
    'docs/other.md': 'other\n',
  });
  const bare = await realpath(await mkdtemp(join(tmpdir(), 'se-live-origin-')));
  await repo.git('init', '--quiet', '--bare', bare);
  await repo.git('remote', 'add', 'origin', bare);
  await repo.git('push', '--quiet', 'origin', 'HEAD:refs/heads/main');
  const fake = await createGitHubFake({
    repositories: [{ owner: 'acme', repo: 'agent', bareDir: bare, defaultBranch: 'main', ...fakeOptions }],
    collaborators: { alice: 'write' },
  });
  const logs: string[] = [];
  let day = 0;
  const client = (): GitHubClient =>
    createGitHubClient({
      token: TOKEN,
      baseUrl: fake.url,
      logger: capturingLogger(steppingClock(DAY)),
      retryAfterBaseMs: 1,
      writeSpacingMs: 0,
    });
  return {
    client,
    repo,
    bare,
    fake,
    logs,
    git: (...args) => repo.git('--git-dir', bare, ...args),
    async run(overrides = {}) {
      const clock = steppingClock(new Date(start.getTime() + day++ * 86_400_000));
      const logger = capturingLogger(clock);
      const pullRequestClient = createGitHubClient({
        token: TOKEN,
        baseUrl: fake.url,
        logger,
        retryAfterBaseMs: 1,
        writeSpacingMs: 0,
      });
      const deps: RunDeps = {
        clock,
        random: fixedRandom(0.5),
        sleep: recordingSleep(),
        logger,
        openDb: openDatabase,
        pullRequestClient,
      };
      const report = await runOnce(
        testOptions(repo.dir, {
          databaseUrl,
          dryRun: false,
          prToken: TOKEN,
          pushWithToken: true,
          ...overrides,
        }),
        deps,
      );
      logs.push(...logger.messages);
      return report;
    },
    async cleanup() {
      await fake.close();
      await repo.cleanup();
      await rm(bare, { recursive: true, force: true });
    },
  };
}
