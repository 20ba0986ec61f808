/**
 * The stage bodies of live mode, shared by the single-job run (run.ts), the propose job (run.ts with
 * publishMode 'bundle') and the publish job (publish.ts): the live run's preconditions, the act stage's wiring
 * (GitHub, the remote, the rails again, the bundle of the propose job), reconciliation of the earlier pull
 * requests and the health of merged self-changes with their revert pull requests.
 *
 * Each takes a {@link LiveRunContext}: the few facts of the run it reads, and the report fields it writes. run.ts's
 * RunContext satisfies it as it is; the publish job builds one from its bundle. What a job may do on GitHub
 * follows from {@link LiveRunContext.dryRun} and {@link LiveRunContext.job}:
 *
 * - a dry run (any job) reports and previews, and writes nothing to GitHub;
 * - `single`, live: publishes, reconciles with writes (rebuilding a conflicted change of its own), reverts;
 * - `propose`, live: bundles its changes; reconciles and decides reverts as a dry run does (no write token);
 * - `publish`, live (publish.ts runs the act stage on its bundle itself, then reconcile and health here):
 *   reconciles with writes but closes a conflicted change of its own instead of rebuilding it (it runs no code of
 *   the repository), reverts.
 */
import { RunInterrupted, type Clock, type Logger, type RunGuard } from './deps.js';
import { TOOL_VERSION, UsageError, type Options } from './options.js';
import type { Config } from './config/schema.js';
import { policyPathOf } from './config/effective.js';
import type { RailsPolicy } from './rails/types.js';
import { liveRefusal, readRunSource } from './git/checkout.js';
import { createGitHubClient, type GitHubClient } from './github/client.js';
import type { RepoRef } from './github/pulls.js';
import type { Db } from './store/db.js';
import type { CommandLogEntry, SandboxPlan } from './sandbox/runner.js';
import type { ReflectionResult } from './reflect/types.js';
import type { Judged } from './propose/judge.js';
import {
  actOnProposals,
  type BundleTarget,
  type LiveAct,
  type RenderFor,
  type VerifyFor,
} from './act/stage.js';
import { rebuildToolsOf, reconcileActions, type RebuildTools } from './act/reconcile.js';
import { watchMergedChanges } from './act/revert.js';
import type { LimitReached, RunReport } from './report/types.js';
import { oneLine } from './secrets.js';
import { actCallbacks, ciTextFor, defaultBranchFor, liveActOf, repoRefOf, tokenKindOf } from './live.js';
import { recordCommand } from './run-record.js';

/**
 * Which job runs the stages: `single` (one job does everything; also every CLI run), `propose` (the two-job
 * setup's first job: no write token, it bundles its changes for the publish job) or `publish` (the second job,
 * publish.ts: it holds the write token and runs no code of the repository; it runs reconcile and health only).
 */
export type LiveJob = 'single' | 'propose' | 'publish';

/** The job of a run started through run.ts: `propose` for publishMode 'bundle', else `single`. */
export function liveJobOf(options: Pick<Options, 'publishMode'>): Exclude<LiveJob, 'publish'> {
  return options.publishMode === 'bundle' ? 'propose' : 'single';
}

/** The report fields the live stages read (the base commit, the config's blob) and write (their results). */
export type LiveRunReport = Pick<RunReport, 'baseSha' | 'config' | 'reconciled' | 'reverts' | 'bundleDir'>;

/** What the live stages read of a run, and the report fields they write (run.ts's RunContext is one). */
export interface LiveRunContext {
  options: Options;
  config: Config;
  /** The rails policy built from the config. */
  policy: RailsPolicy;
  /** A dry run: nothing is written to GitHub or pushed. */
  dryRun: boolean;
  job: LiveJob;
  /** The environment commands start from. */
  env: Readonly<Record<string, string | undefined>>;
  /** Everything to mask. */
  secrets: readonly string[];
  /** The run's GitHub client (reads), when there is a token. */
  github?: GitHubClient;
  /** The sandbox of the repository's commands, when the run starts any. */
  sandbox?: SandboxPlan;
  /** When the run started (the date of its commits). */
  startedAt: Date;
  /** The run's UTC day, YYYY-MM-DD. */
  runDate: string;
  report: LiveRunReport;
  /** Checked before each side effect; its signal stops the commands. */
  guard: RunGuard;
  /** The limits reached so far; the act stage adds its own. */
  limitsReached: LimitReached[];
  /** Every command the runner executed or refused (commands.jsonl); the act stage's verification adds to it. */
  commands: CommandLogEntry[];
  deps: {
    clock: Clock;
    logger: Logger;
    /** The client that opens and closes the pull requests (tests, the publish job); default: see publishingClient. */
    pullRequestClient?: GitHubClient;
  };
}

/** Whether the job writes to GitHub: a live run, but not the propose job (no write token). */
function writesToGitHub(ctx: Pick<LiveRunContext, 'dryRun' | 'job'>): boolean {
  return !ctx.dryRun && ctx.job !== 'propose';
}

/**
 * What a live run needs before anything happens (exit 2 otherwise): a config and a work tree equal to HEAD's
 * (git/checkout.ts liveRefusal), a GitHub repository (owner/name) and a token for its API.
 * @throws UsageError naming what is missing and how to provide it
 */
export async function checkLive(ctx: LiveRunContext): Promise<void> {
  const { options } = ctx;
  const refusal = liveRefusal(await readRunSource(options.repoDir, options.configPath));
  if (refusal) throw new UsageError(`${refusal} (commit it, or make a dry run)`);
  repoRefOf(options.repository);
  if (options.publishMode === 'bundle' && !ctx.config.telemetry.storeProposals) {
    throw new UsageError(
      'the two-job setup (mode propose) needs "telemetry": { "storeProposals": true }: the publish job checks every change against its recorded proposal',
    );
  }
  if (!ctx.github && !options.prToken && !ctx.deps.pullRequestClient) {
    throw new UsageError(
      'live mode opens pull requests through the GitHub API and needs a token: set GITHUB_TOKEN or GH_TOKEN (CLI), or the action inputs github-token / pr-token',
    );
  }
}

/**
 * Stage: act on the judged proposals (act/stage.ts): a dry run previews each allowed proposal's pull request; a
 * live run verifies and publishes them within the pull-request limits (live.ts wires GitHub, the remote, the
 * rails again and the repository's template), or, in the propose job, bundles them (`report.bundleDir`). The
 * limits reached go to `ctx.limitsReached`.
 * @throws RunInterrupted when the run must stop; GitHub's error when the default branch cannot be read; the
 *   database's errors
 */
export async function act(
  ctx: LiveRunContext,
  db: Db,
  runId: number,
  reflection: ReflectionResult,
  judged: readonly Judged[],
): Promise<void> {
  const { options, config, deps } = ctx;
  const baseSha = ctx.report.baseSha!;
  let live: LiveAct | undefined;
  const bundle = !ctx.dryRun && ctx.job === 'propose' ? bundleTarget(ctx, runId, reflection) : undefined;
  if (!ctx.dryRun && !bundle) {
    const github = publishingClient(ctx)!;
    live = await liveAct(ctx, db, github, repoRefOf(options.repository));
  }
  const callbacks = await callbacksOf(ctx, runId, reflection.insights, live?.defaultBranch ?? null);
  const result = await actOnProposals({
    dryRun: ctx.dryRun,
    items: judged.map((j) => ({ report: j.report, patch: j.patch, baseSha })),
    config,
    runId,
    runDate: ctx.runDate,
    repository: options.repository,
    guard: ctx.guard,
    logger: deps.logger,
    secrets: ctx.secrets,
    clock: deps.clock,
    ...callbacks,
    ...(live ? { live } : {}),
    ...(bundle ? { bundle } : {}),
    ...(config.telemetry.storeProposals ? { db } : {}),
  });
  ctx.limitsReached.push(...result.limitsReached);
  if (bundle) ctx.report.bundleDir = bundle.dir;
}

/**
 * The client that opens and closes the run's pull requests: deps.pullRequestClient, else one built from the
 * `pr-token`, else the run's client (none without a token).
 */
function publishingClient(ctx: LiveRunContext): GitHubClient | undefined {
  const { deps, options } = ctx;
  return deps.pullRequestClient ?? (options.prToken ? prClient(ctx, options.prToken) : ctx.github);
}

/** The act stage's live wiring (live.ts liveActOf): GitHub, the default branch read from it, the remote. */
async function liveAct(ctx: LiveRunContext, db: Db, github: GitHubClient, repo: RepoRef): Promise<LiveAct> {
  const { options, config } = ctx;
  return liveActOf({
    options,
    db,
    github,
    repo,
    defaultBranch: await defaultBranchFor(github, repo),
    identityDate: ctx.startedAt,
    ciText: ciTextFor(config, tokenKindOf(options)),
  });
}

/** The act stage's render and verify callbacks (live.ts actCallbacks) with the run's facts. */
function callbacksOf(
  ctx: LiveRunContext,
  runId: number,
  insights: string | null,
  baseBranch: string | null,
): Promise<{ render: RenderFor; verify: VerifyFor }> {
  const { options, config, deps } = ctx;
  return actCallbacks({
    repoDir: options.repoDir,
    config,
    policy: ctx.policy,
    runId,
    runDate: ctx.runDate,
    insights,
    logsUrl: options.logsUrl ?? null,
    artifactName: options.uploadArtifacts ? `self-evolution-run-${runId}` : null,
    baseSha: ctx.report.baseSha!,
    baseBranch,
    ciText: ciTextFor(config, tokenKindOf(options)),
    ...(ctx.sandbox ? { sandbox: ctx.sandbox } : {}),
    env: ctx.env,
    secrets: ctx.secrets,
    guard: ctx.guard,
    onCommand: (entry) => recordCommand(ctx, entry),
    logger: deps.logger,
  });
}

/**
 * Why the publish job closes a conflicted change of the loop's own instead of rebuilding it (act/reconcile.ts
 * ReconcileInput.noRebuild; said in the comment that closes it).
 */
export const PUBLISH_JOB_NO_REBUILD =
  "the publish job of the two-job setup runs no code of the repository next to its write token, and making the change again means verifying it (running the repository's commands)";

/**
 * Stage, under the lock: what became of the earlier pull requests (act/reconcile.ts): merged, closed, still
 * open, expired, conflicted. Only a live job that writes to GitHub (not the propose job) comments and closes;
 * the single job rebuilds a conflicted change of its own, the publish job closes it with a comment saying why
 * (PUBLISH_JOB_NO_REBUILD); the others report what they would do. Without a token or a GitHub repository
 * nothing is looked up (each open one is reported 'not-checked'). The result goes to `report.reconciled` (and
 * run.json, the summary, the metrics). Never fails the run: an error of its own is logged.
 * @throws RunInterrupted when the run must stop
 */
export async function reconcile(ctx: LiveRunContext, db: Db, runId: number): Promise<void> {
  const { options, config, deps } = ctx;
  const github = publishingClient(ctx);
  let repo: RepoRef | null = null;
  try {
    repo = repoRefOf(options.repository);
  } catch {
    repo = null;
  }
  const write = writesToGitHub(ctx);
  const rebuild = async (): Promise<RebuildTools> => {
    const live = await liveAct(ctx, db, github!, repo!);
    const callbacks = await callbacksOf(ctx, runId, null, live.defaultBranch);
    return rebuildToolsOf({
      live,
      config,
      repository: options.repository,
      runId,
      ...callbacks,
      guard: ctx.guard,
      logger: deps.logger,
      secrets: ctx.secrets,
    });
  };
  try {
    ctx.report.reconciled = await reconcileActions({
      db,
      repository: options.repository,
      ...(github ? { github } : {}),
      repo,
      now: deps.clock.now(),
      expireDays: config.pullRequest.expireDays,
      write,
      ...(write && ctx.job === 'single' && github && repo ? { rebuild } : {}),
      ...(write && ctx.job === 'publish' ? { noRebuild: PUBLISH_JOB_NO_REBUILD } : {}),
      guard: ctx.guard,
      logger: deps.logger,
      secrets: ctx.secrets,
    });
  } catch (e) {
    if (e instanceof RunInterrupted) throw e;
    deps.logger.warn(`reconcile failed: ${oneLine(e, ctx.secrets)} (the run goes on)`);
  }
}

/** Where and with what head the propose job writes its proposal bundle (act/bundle.ts). */
function bundleTarget(ctx: LiveRunContext, runId: number, reflection: ReflectionResult): BundleTarget {
  const { options, report } = ctx;
  if (!options.bundleDir) throw new Error('publishMode "bundle" needs options.bundleDir');
  return {
    dir: options.bundleDir,
    head: {
      repository: options.repository,
      runId,
      runDate: ctx.runDate,
      baseSha: report.baseSha!,
      policy: { path: policyPathOf(options), blobSha: report.config?.blobSha ?? null },
      toolVersion: TOOL_VERSION,
      insights: reflection.insights,
      ...(options.logsUrl ? { logsUrl: options.logsUrl } : {}),
    },
  };
}

/** The GitHub client of the pull requests when the action has a `pr-token` (same plugins as the run's). */
function prClient(ctx: LiveRunContext, token: string): GitHubClient {
  return createGitHubClient({ token, baseUrl: ctx.options.githubApiUrl, logger: ctx.deps.logger });
}

/**
 * Stage (after reconciliation): the health of the self-changes merged less than autoRevert.windowHours ago, and
 * the revert pull requests of those whose required checks broke the default branch (act/revert.ts
 * watchMergedChanges; the guards are act/health.ts's). A live job that writes to GitHub (single or publish)
 * reverts in the config's mode (autoRevert.mode: "pr", "shadow" or "off"); a dry run, and the propose job of the
 * two-job setup (no write token), decide and record in shadow mode only. Reverting runs no code of the
 * repository (git through a private index). Needs GitHub (a token) and an owner/name repository: without them it
 * is skipped and said so. The results go to `report.reverts` (run.json) and the summary.
 * @throws RunInterrupted; the database's errors (GitHub's and git's are reported per change)
 */
export async function health(ctx: LiveRunContext, db: Db, runId: number): Promise<void> {
  const { options, config, deps } = ctx;
  // The propose job (publishMode 'bundle') holds no write token: it decides as a dry run does.
  const writes = writesToGitHub(ctx);
  const github = writes ? publishingClient(ctx) : ctx.github;
  let repo: ReturnType<typeof repoRefOf>;
  try {
    repo = repoRefOf(options.repository);
  } catch {
    deps.logger.info(
      `health: ${options.repository} is not a GitHub repository: merged self-changes are not watched`,
    );
    return;
  }
  if (!github) {
    deps.logger.info('health: no GitHub token: the checks of merged self-changes were not read');
    return;
  }
  const token = options.pushWithToken ? (options.prToken ?? options.githubToken) : undefined;
  ctx.report.reverts = await watchMergedChanges({
    db,
    github,
    repo,
    repository: options.repository,
    remote: { repoDir: options.repoDir, ...(token ? { token } : {}) },
    defaultBranch: () => defaultBranchFor(github, repo),
    branchPrefix: config.prTemplateConfig.branchPrefix,
    commitSigning: config.pullRequest.commitSigning,
    runId,
    identity: { ...config.pullRequest.commitAuthor, date: ctx.startedAt },
    logsUrl: options.logsUrl ?? null,
    guard: ctx.guard,
    logger: deps.logger,
    secrets: ctx.secrets,
    config,
    dryRun: !writes,
    now: deps.clock.now(),
  });
}
