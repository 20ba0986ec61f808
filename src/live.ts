/**
 * Live mode's wiring, shared by the single-job run (run.ts) and the publish job (publish.ts): where pull
 * requests go (the repository and its default branch on GitHub), which token pushes and opens them and what
 * that means for CI, the rails judging the real commit again (check.ts checkChange on base...head, the policy
 * read from the base commit, the target and default branches), the repository's pull request template read
 * from the base commit, and the act stage's render and verify callbacks.
 */
import type { Config } from './config/schema.js';
import type { Logger, RunGuard } from './deps.js';
import { githubRepository, UsageError, type Options } from './options.js';
import type { RailsPolicy } from './rails/types.js';
import type { VerifyReport } from './records.js';
import { checkChange } from './check.js';
import { fileAtCommit } from './git/publish.js';
import type { GitHubClient } from './github/client.js';
import { describeGitHubError } from './github/errors.js';
import { defaultBranchOf, type RepoRef } from './github/pulls.js';
import type { SandboxPlan, CommandLogEntry } from './sandbox/runner.js';
import type { Queryable } from './store/db.js';
import type { ActItem, LiveAct, RenderFor, VerifyFor } from './act/stage.js';
import type { PublishContext } from './act/publish.js';
import { ciTextOf, pullRequestRenderer } from './act/preview.js';
import { PR_TEMPLATE_PATHS } from './act/pull-request.js';
import { verifyProposal } from './act/verify.js';

/** Which token pushes the branch and opens the pull request. */
export type TokenKind = 'pr-token' | 'github-token' | 'cli-token';

/**
 * The token kind of a run: the action's `pr-token` (an app installation token or a fine-grained PAT: the pull
 * request starts its pull_request workflows), else its `github-token` (GITHUB_TOKEN: it starts none), or on the
 * CLI the user's own GITHUB_TOKEN/GH_TOKEN for the API and the user's git credentials for the push.
 */
export function tokenKindOf(options: Pick<Options, 'prToken' | 'pushWithToken'>): TokenKind {
  if (options.prToken) return 'pr-token';
  return options.pushWithToken ? 'github-token' : 'cli-token';
}

/** How CI runs on the pull requests of a run, one line of Markdown for the body and the job summary. */
export function ciTextFor(config: Pick<Config, 'pullRequest'>, kind: TokenKind): string {
  if (kind === 'pr-token')
    return "CI: the repository's pull_request workflows run on it (opened with the `pr-token`, not GITHUB_TOKEN)";
  if (kind === 'cli-token')
    return "CI: the repository's pull_request workflows run on it (opened with the token of the person who ran the CLI)";
  return ciTextOf(config.pullRequest);
}

/** owner/name as a RepoRef. @throws UsageError when `repository` is not owner/name (e.g. `local/x`). */
export function repoRefOf(repository: string): RepoRef {
  const ref = githubRepository(repository);
  if (!ref) {
    throw new UsageError(
      `live mode opens pull requests on GitHub: the repository must be owner/name of a GitHub repository, got "${repository}" (pass --repository owner/name, or give the checkout a GitHub origin remote)`,
    );
  }
  return ref;
}

/**
 * The repository's default branch on GitHub, the pull requests' base.
 * @throws Error with GitHub's answer when it cannot be read
 */
export async function defaultBranchFor(github: GitHubClient, repo: RepoRef): Promise<string> {
  try {
    return await defaultBranchOf(github, repo);
  } catch (e) {
    throw new Error(`cannot read ${repo.owner}/${repo.repo} on GitHub: ${describeGitHubError(e)}`, {
      cause: e,
    });
  }
}

/**
 * The rails on the commit as it will be pushed: check.ts checkChange on `baseSha...headSha` with the config at
 * `configPath` read from the base commit, the change's type and stated risk, the target branch and the
 * repository's default branch.
 */
export function rejudgeWith(opts: {
  repoDir: string;
  configPath: string;
  defaultBranch: string;
}): PublishContext['rejudge'] {
  return async ({ baseSha, headSha, branch, type, riskLevel }) => {
    const result = await checkChange({
      repoDir: opts.repoDir,
      configPath: opts.configPath,
      base: baseSha,
      head: headSha,
      type,
      risk: riskLevel,
      targetBranch: branch,
      defaultBranch: opts.defaultBranch,
    });
    if (result.verdict.allowed) return { allowed: true };
    return {
      allowed: false,
      reasons: result.verdict.violations
        .filter((v) => v.severity === 'block')
        .map((v) => `${v.ruleId}: ${v.message}`),
    };
  };
}

/**
 * The repository's pull request template at `baseSha`: the first of PR_TEMPLATE_PATHS the commit has, or null.
 * @throws GitError when git cannot run
 */
export async function templateAt(repoDir: string, baseSha: string): Promise<string | null> {
  for (const path of PR_TEMPLATE_PATHS) {
    const text = await fileAtCommit(repoDir, baseSha, path);
    if (text !== null) return text;
  }
  return null;
}

/** What the act stage's callbacks need from the run. */
export interface ActCallbacksInput {
  repoDir: string;
  config: Config;
  policy: RailsPolicy;
  runId: number | null;
  runDate: string;
  insights: string | null;
  logsUrl: string | null;
  artifactName: string | null;
  /** The run's base commit: the template is read there. */
  baseSha: string;
  baseBranch: string | null;
  ciText: string;
  sandbox?: SandboxPlan;
  env: Readonly<Record<string, string | undefined>>;
  secrets: readonly string[];
  guard: RunGuard;
  onCommand: (entry: CommandLogEntry) => void;
  logger: Logger;
}

/** The act stage's render and verify callbacks for a run (act/preview.ts pullRequestRenderer, act/verify.ts). */
export async function actCallbacks(
  input: ActCallbacksInput,
): Promise<{ render: RenderFor; verify: VerifyFor }> {
  const template = await templateAt(input.repoDir, input.baseSha);
  const renderer = pullRequestRenderer({
    runId: input.runId,
    runDate: input.runDate,
    baseBranch: input.baseBranch,
    insights: input.insights,
    config: input.config,
    policy: input.policy,
    logsUrl: input.logsUrl,
    artifactName: input.artifactName,
    template,
    ciText: input.ciText,
  });
  const render: RenderFor = (item: ActItem, verify: VerifyReport, baseSha: string) =>
    renderer(item, verify, baseSha);
  const verify: VerifyFor = (item, baseSha) =>
    verifyProposal({
      repoDir: input.repoDir,
      baseSha,
      patch: item.patch ?? '',
      commands: input.config.verify.commands,
      ...(input.sandbox ? { sandbox: input.sandbox } : {}),
      env: input.env,
      secrets: input.secrets,
      signal: input.guard.signal,
      onCommand: input.onCommand,
      logger: input.logger,
    });
  return { render, verify };
}

/** What a live act stage needs besides the callbacks. */
export interface LiveActInput {
  options: Pick<
    Options,
    'repoDir' | 'configPath' | 'repository' | 'prToken' | 'githubToken' | 'pushWithToken'
  >;
  db: Queryable;
  github: GitHubClient;
  repo: RepoRef;
  defaultBranch: string;
  identityDate: Date;
  /** How CI runs on the pull requests (ciTextFor), for the reports. */
  ciText?: string;
}

/** The LiveAct of the act stage (act/stage.ts): GitHub, the remote with its token, the rails again. */
export function liveActOf(input: LiveActInput): LiveAct {
  const { options } = input;
  const token = options.pushWithToken ? (options.prToken ?? options.githubToken) : undefined;
  return {
    db: input.db,
    github: input.github,
    repo: input.repo,
    remote: { repoDir: options.repoDir, ...(token ? { token } : {}) },
    tokenKind: tokenKindOf(options),
    ...(input.ciText ? { ciText: input.ciText } : {}),
    defaultBranch: input.defaultBranch,
    identityDate: input.identityDate,
    rejudge: rejudgeWith({
      repoDir: options.repoDir,
      configPath: options.configPath,
      defaultBranch: input.defaultBranch,
    }),
  };
}
