/**
 * The publish job of the two-job setup (action `mode: publish`; gh-aw's shape): it holds the write token and
 * runs no code of the repository or of any agent. It reads the proposal bundle the propose job uploaded and
 * trusts none of it blindly:
 *
 *   bundle ─► same repository ─► the base commit is here ─► the policy file's blob at the base equals the
 *   bundle's ─► the config read from the base commit ─► run lock ─► each change: its patch hash matches the
 *   bundle AND its recorded proposal (allowed, same run and repository) ─► act stage (live): the rails judge the
 *   real commit again, limits, action rows, push, pull request ─► reconcile the earlier pull requests (close
 *   expired drafts, comment) ─► health of merged self-changes (revert pull requests in autoRevert.mode)
 *
 * Reconciliation and health run on every live day (the propose job writes its bundle even when it is empty, and
 * the reusable workflow starts this job whenever there is one), still under the run lock, through the same stage
 * bodies as a single-job run (live-stages.ts, job 'publish'). The propose job, without a write token, only
 * reports what they would do; this job does it. Neither runs code of the repository: reverting is git through a
 * private index, and a conflicted change of the loop's own is closed with a comment saying why instead of being
 * rebuilt (a rebuild verifies the change again, which would run the repository's commands here).
 *
 * The verification is the propose job's evidence; it holds only for the base commit it ran on: when the default
 * branch moved since, the change is not published (the next run proposes it again on the new base), since
 * verifying again would run the repository's code here, next to the write token.
 */
import type { Clock, Logger } from './deps.js';
import { RunInterrupted } from './deps.js';
import { UsageError, type Options } from './options.js';
import type {
  LimitReached,
  PullRequestReport,
  ReconciledAction,
  RevertReport,
  VerifyReport,
} from './records.js';
import { oneLine, secretEnvValues, secretsOf } from './secrets.js';
import { parseConfigText } from './config/load.js';
import { policyPathOf } from './config/effective.js';
import { policyFromConfig } from './rails/policy.js';
import { checkRepository } from './git/checkout.js';
import { fileAtCommit } from './git/publish.js';
import { runGit } from './git/git.js';
import type { GitHubClient } from './github/client.js';
import { createGitHubClient } from './github/client.js';
import type { Db } from './store/db.js';
import { migrate } from './store/migrate.js';
import { runLockOptionsOf, tryAcquireRunLock, type RunLock } from './store/lock.js';
import type { OpenDatabaseOptions } from './store/open.js';
import { connectRetryFor, waiting } from './store/pg.js';
import { listProposals } from './store/proposals.js';
import { getRun } from './store/runs.js';
import { createRunGuard } from './store/run-guard.js';
import { BundleError, readBundle, type LoadedBundleItem } from './act/bundle.js';
import { actOnProposals, type ActItem } from './act/stage.js';
import type { ProposalReport } from './records.js';
import { revertsSummary } from './act/revert.js';
import { reconcileLine } from './report/summary.js';
import { actCallbacks, ciTextFor, defaultBranchFor, liveActOf, repoRefOf, tokenKindOf } from './live.js';
import { health, reconcile, type LiveRunContext } from './live-stages.js';

/** What the publish job did. */
export interface PublishReport {
  /** 'success': every change was looked at (published or not, each with its reason); 'failed': refused or broken. */
  status: 'success' | 'failed';
  repository: string;
  /** The propose job's run, from the bundle (null when the bundle could not be read). */
  runId: number | null;
  summary: string;
  error: string | null;
  /** One entry per change of the bundle, in its order, with the proposal id. */
  pullRequests: (PullRequestReport & { proposalId: number })[];
  limitsReached: LimitReached[];
  /**
   * What reconciliation made of the earlier pull requests after publishing (act/reconcile.ts, with writes:
   * expired drafts closed, comments; a conflicted change of the loop's own closed, not rebuilt), in action id
   * order; [] when it did not run (a refused or failed publication).
   */
  reconciled: ReconciledAction[];
  /**
   * The health stage (act/revert.ts watchMergedChanges in the config's autoRevert.mode): each merged self-change
   * watched and each revert pull request opened or followed; [] when it did not run or watched nothing.
   */
  reverts: RevertReport[];
}

/** The injected I/O of the publish job. */
export interface PublishDeps {
  clock: Clock;
  logger: Logger & { addSecrets?(values: readonly string[]): void };
  /** Opens the database (see RunDeps.openDb); `connectRetry` from config database.connectRetrySeconds. */
  openDb: (o: OpenDatabaseOptions) => Promise<Db>;
  /** The client that opens the pull requests; default one built from options.prToken, else githubToken. */
  pullRequestClient?: GitHubClient;
  /** Aborted on SIGINT/SIGTERM (the adapters). */
  signal?: AbortSignal;
}

/** A bundle that must not be published; the message says why. */
export class PublishRefused extends Error {
  override readonly name = 'PublishRefused';
}

/**
 * Publishes the changes of the proposal bundle in `options.bundleDir` (see the module docs). Never throws for
 * a refused or failed publication (status 'failed' with the reason).
 * @throws UsageError for missing options (no bundle directory, no token, not owner/name): exit 2
 */
export async function publishBundle(options: Options, deps: PublishDeps): Promise<PublishReport> {
  const env = options.env ?? process.env;
  const secrets = [...new Set([...secretsOf(options), ...secretEnvValues(env)])];
  deps.logger.addSecrets?.(secrets);
  const startedAt = deps.clock.now();
  const report: PublishReport = {
    status: 'failed',
    repository: options.repository,
    runId: null,
    summary: '',
    error: null,
    pullRequests: [],
    limitsReached: [],
    reconciled: [],
    reverts: [],
  };
  if (!options.bundleDir) throw new UsageError('mode publish needs the proposal bundle: input bundle-path');
  const repo = repoRefOf(options.repository);
  const token = options.prToken ?? options.githubToken;
  if (!token && !deps.pullRequestClient) {
    throw new UsageError(
      'mode publish opens pull requests and needs a token: input pr-token or github-token',
    );
  }
  let db: Db | null = null;
  let lock: RunLock | null = null;
  const guard = createRunGuard(deps.signal ? { signal: deps.signal } : {});
  try {
    const { bundle, items } = await readBundle(options.bundleDir).catch((e: unknown) => {
      throw e instanceof BundleError ? new PublishRefused(e.message) : e;
    });
    report.runId = bundle.runId;
    if (bundle.repository !== options.repository) {
      throw new PublishRefused(
        `the bundle is for ${bundle.repository}, this job publishes to ${options.repository}`,
      );
    }
    await checkRepository(options.repoDir);
    await runGit(['cat-file', '-e', `${bundle.baseSha}^{commit}`], { cwd: options.repoDir }).catch(() => {
      throw new PublishRefused(
        `the bundle's base commit ${bundle.baseSha.slice(0, 8)} is not in this checkout (actions/checkout with fetch-depth: 0, or enough history)`,
      );
    });
    // The policy, from the base commit itself: the bundle must name the same blob.
    const policyPath = policyPathOf(options);
    if (bundle.policy.path !== policyPath) {
      throw new PublishRefused(`the bundle's policy is ${bundle.policy.path}, this job's is ${policyPath}`);
    }
    const blob = await runGit(['rev-parse', '--verify', '--quiet', `${bundle.baseSha}:${policyPath}`], {
      cwd: options.repoDir,
    }).then(
      (o) => o.stdout.trim(),
      () => null,
    );
    if (blob !== bundle.policy.blobSha) {
      throw new PublishRefused(
        `the policy ${policyPath} at the base commit is ${blob ?? 'absent'}, the bundle says ${bundle.policy.blobSha ?? 'absent'}: the bundle was altered or made from another policy`,
      );
    }
    const text = await fileAtCommit(options.repoDir, bundle.baseSha, policyPath);
    const config = parseConfigText(text ?? '{}', `${policyPath} at ${bundle.baseSha.slice(0, 8)}`).config;
    if (config.dryRunMode) {
      throw new PublishRefused(`the config at the base commit says "dryRunMode": true: nothing is published`);
    }

    db = await deps.openDb({
      databaseUrl: options.databaseUrl,
      embeddedDir: options.embeddedDbDir,
      connectRetry: connectRetryFor(
        config.database.connectRetrySeconds,
        'the database',
        waiting(deps),
        guard.signal,
      ),
    });
    await migrate(db);
    lock = await tryAcquireRunLock(
      db,
      options.repository,
      runLockOptionsOf(config.database, options.currentWorkflowRunId),
    );
    if (!lock)
      throw new PublishRefused(
        'another self-evolution run of this repository holds the run lock; run the publish job again later',
      );
    guard.watch(lock);
    const run = await getRun(db, bundle.runId);
    if (!run || run.repository !== options.repository) {
      throw new PublishRefused(
        `run #${bundle.runId} of the bundle is not a recorded run of ${options.repository}`,
      );
    }
    const recorded = new Map((await listProposals(db, bundle.runId)).map((p) => [p.id, p]));

    const github =
      deps.pullRequestClient ??
      createGitHubClient({ token: token!, baseUrl: options.githubApiUrl, logger: deps.logger });
    const defaultBranch = await defaultBranchFor(github, repo);
    const pushing = { ...options, pushWithToken: options.pushWithToken ?? true };
    const live = liveActOf({
      options: pushing,
      db,
      github,
      repo,
      defaultBranch,
      identityDate: new Date(`${bundle.runDate}T00:00:00Z`),
      ciText: ciTextFor(config, tokenKindOf(pushing)),
    });
    const policy = policyFromConfig(config, { policyPath });
    const evidence = new Map<number, VerifyReport>();
    const actItems: ActItem[] = [];
    for (const item of items) {
      const row = recorded.get(item.proposalId);
      const mismatch = !row
        ? 'it has no recorded proposal in that run'
        : row.verdict !== 'allowed'
          ? `its recorded proposal was ${row.verdict}`
          : row.patchSha256 !== item.patchSha256
            ? `its patch differs from the recorded proposal's (sha256 ${row.patchSha256 ?? 'none'})`
            : null;
      if (mismatch) {
        report.pullRequests.push({
          proposalId: item.proposalId,
          state: 'not-published',
          branch: '',
          title: item.title,
          body: '',
          labels: [],
          reviewers: [],
          draft: config.pullRequest.draft,
          reason: `refused: ${mismatch}`,
        });
        deps.logger.warn(`proposal #${item.proposalId}: refused: ${mismatch}`);
        continue;
      }
      evidence.set(item.proposalId, item.verify);
      actItems.push({ report: reportOf(item), patch: item.patch, baseSha: bundle.baseSha });
    }
    const callbacks = await actCallbacks({
      repoDir: options.repoDir,
      config,
      policy,
      runId: bundle.runId,
      runDate: bundle.runDate,
      insights: bundle.insights,
      logsUrl: bundle.logsUrl ?? null,
      artifactName: null,
      baseSha: bundle.baseSha,
      baseBranch: defaultBranch,
      ciText: ciTextFor(config, tokenKindOf(pushing)),
      env,
      secrets,
      guard,
      onCommand: () => undefined,
      logger: deps.logger,
    });
    const result = await actOnProposals({
      dryRun: false,
      items: actItems,
      config,
      runId: bundle.runId,
      runDate: bundle.runDate,
      repository: options.repository,
      guard,
      logger: deps.logger,
      secrets,
      clock: deps.clock,
      render: callbacks.render,
      // The propose job's evidence, valid on its base only: no code of the repository runs here.
      verify: async (item, baseSha) =>
        baseSha === bundle.baseSha
          ? evidence.get(item.report.id!)!
          : {
              status: 'failed',
              commands: evidence.get(item.report.id!)!.commands,
              reason: `the default branch moved to ${baseSha.slice(0, 8)} since the change was verified on ${bundle.baseSha.slice(0, 8)}; the next run proposes it again`,
            },
      live,
      db,
    });
    for (const item of actItems) {
      report.pullRequests.push({ proposalId: item.report.id!, ...item.report.pullRequest! });
    }
    report.pullRequests.sort(
      (a, b) =>
        items.findIndex((i) => i.proposalId === a.proposalId) -
        items.findIndex((i) => i.proposalId === b.proposalId),
    );
    report.limitsReached = result.limitsReached;

    // Still under the run lock: the earlier pull requests, then the merged self-changes (live-stages.ts).
    const job: LiveRunContext = {
      options: pushing,
      config,
      policy,
      dryRun: false,
      job: 'publish',
      env,
      secrets,
      github,
      startedAt,
      runDate: bundle.runDate,
      report: { baseSha: bundle.baseSha, config: null },
      guard,
      limitsReached: [],
      commands: [],
      deps: { clock: deps.clock, logger: deps.logger, pullRequestClient: github },
    };
    await reconcile(job, db, bundle.runId);
    report.reconciled = job.report.reconciled ?? [];
    await health(job, db, bundle.runId);
    report.reverts = job.report.reverts ?? [];

    report.status = 'success';
    const reconciled = reconcileLine(report);
    report.summary =
      `publish: ${items.length} change(s) in the bundle of run #${bundle.runId}, ${result.opened} pull request(s) opened` +
      (reconciled ? `; ${reconciled}` : '') +
      revertsSummary(report.reverts);
    deps.logger.info(report.summary);
  } catch (err) {
    if (err instanceof UsageError) throw err;
    report.status = 'failed';
    report.error = err instanceof RunInterrupted ? err.message : oneLine(err, secrets);
    report.summary = `publish ${err instanceof PublishRefused ? 'refused' : 'failed'}: ${report.error}`;
    deps.logger.error(report.summary);
  } finally {
    guard.dispose();
    if (lock) await lock.release().catch(() => undefined);
    if (db) await db.close().catch(() => undefined);
  }
  return report;
}

/** A bundle item as the act stage's report (the first job's report, with the checked fields from the bundle). */
function reportOf(item: LoadedBundleItem): ProposalReport {
  const first = item.report as Partial<ProposalReport>;
  return {
    ...(first as ProposalReport),
    id: item.proposalId,
    title: item.title,
    description: item.description,
    type: item.type,
    riskLevel: item.riskLevel,
    computedRisk: item.computedRisk,
    status: 'evaluated',
    verdict: 'allowed',
    blockedReasons: [],
    violations: Array.isArray(first.violations) ? first.violations : [],
    pullRequest: undefined,
    verify: item.verify,
  };
}
