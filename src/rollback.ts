/**
 * Rollback on request: the CLI's `self-evolution rollback --action ID | --pr N | --run ID
 * [--reason TEXT]` and the action's `mode: rollback` (inputs `pull-request`, `reason`) open the same revert pull
 * request the health stage opens (act/revert.ts openRevert), for one merged self-change or for every merged
 * self-change of a run (one pull request each; the one-per-run limit of automatic reverts does not apply).
 *
 *   config (branch prefix, commit author and signing) ─► database ─► run lock ─► the named self-changes (merged
 *   pull-request actions of this repository) ─► the requester's permission (action: `GET .../collaborators/
 *   {actor}/permission`; admin, maintain and write may; anyone else is refused and the refusal recorded as a
 *   'failed' rollback row "refused: <actor> has <permission> permission") ─► each: openRevert (manual, mode pr)
 *
 * Like the daily run, it takes the repository's run lock, so it never races a run's health stage.
 */
import type { Clock, Logger } from './deps.js';
import { RunInterrupted } from './deps.js';
import { UsageError, type Options } from './options.js';
import type { RevertReport } from './records.js';
import { oneLine, secretEnvValues, secretsOf } from './secrets.js';
import { loadEffectiveConfig } from './config/effective.js';
import { canWrite, permissionOf } from './github/access.js';
import { createGitHubClient, type GitHubClient } from './github/client.js';
import { describeGitHubError } from './github/errors.js';
import type { Db } from './store/db.js';
import { migrate } from './store/migrate.js';
import { runLockOptionsOf, tryAcquireRunLock, type RunLock } from './store/lock.js';
import type { OpenDatabaseOptions } from './store/open.js';
import { connectRetryFor, waiting } from './store/pg.js';
import {
  actionsNamedBy,
  mergedSelfChangesOf,
  recordRollback,
  type RollbackTarget,
} from './store/rollbacks.js';
import { createRunGuard } from './store/run-guard.js';
import { openRevert } from './act/revert.js';
import { defaultBranchFor, repoRefOf } from './live.js';

/** What a rollback request names and says. */
export interface RollbackRequest {
  target: RollbackTarget;
  /** Why, in the requester's words (recorded, and in the pull request's body); optional. */
  reason?: string;
  /** Who asks: the action's GITHUB_ACTOR, the CLI's GITHUB_ACTOR or local user. */
  requestedBy: string;
  /**
   * Check that `requestedBy` may write to the repository (the action: anyone who can start the workflow could
   * otherwise revert); the CLI runs with the person's own token, whose pushes GitHub checks itself.
   */
  checkPermission: boolean;
}

/** The injected I/O of a rollback request. */
export interface RollbackDeps {
  clock: Clock;
  logger: Logger & { addSecrets?(values: readonly string[]): void };
  /** Opens the database (see RunDeps.openDb); `connectRetry` from config database.connectRetrySeconds. */
  openDb: (o: OpenDatabaseOptions) => Promise<Db>;
  /** The client that reads and opens the pull requests; default one built from options.prToken, else githubToken. */
  github?: GitHubClient;
  /** Aborted on SIGINT/SIGTERM (the adapters): the request stops before its next side effect. */
  signal?: AbortSignal;
}

/** What a rollback request did. */
export interface RollbackReport {
  /**
   * 'success': every named change has its revert pull request (opened now, already open or merged, or the
   * branch already reverts it); 'refused': the requester may not write (recorded); 'failed': nothing to revert,
   * or a revert could not be made (the reasons per change).
   */
  status: 'success' | 'refused' | 'failed';
  repository: string;
  summary: string;
  /** One line when status is not 'success'. */
  error: string | null;
  /** One per named change, in action order. */
  reverts: RevertReport[];
}

/** Words for a target, e.g. "pull request #12". */
export function targetText(target: RollbackTarget): string {
  if ('actionId' in target) return `action #${target.actionId}`;
  if ('prNumber' in target) return `pull request #${target.prNumber}`;
  return `run #${target.runId}`;
}

/** The states of a revert that leave nothing to do. */
const DONE: ReadonlySet<RevertReport['state']> = new Set([
  'opened',
  'existing',
  'merged',
  'already-reverted',
]);

/**
 * Opens the revert pull request of each merged self-change the request names (see the module docs). Never
 * throws for a refused or failed request (status and error say why).
 * @throws UsageError when the repository is not owner/name or there is no token (exit 2); ConfigError for a bad
 *   config file
 */
export async function rollbackOnRequest(
  options: Options,
  request: RollbackRequest,
  deps: RollbackDeps,
): Promise<RollbackReport> {
  const env = options.env ?? process.env;
  const secrets = [...new Set([...secretsOf(options), ...secretEnvValues(env)])];
  deps.logger.addSecrets?.(secrets);
  const what = targetText(request.target);
  const report: RollbackReport = {
    status: 'failed',
    repository: options.repository,
    summary: '',
    error: null,
    reverts: [],
  };
  const repo = repoRefOf(options.repository);
  const token = options.prToken ?? options.githubToken;
  if (!token && !deps.github) {
    throw new UsageError(
      'a rollback opens a pull request through the GitHub API and needs a token: set GITHUB_TOKEN or GH_TOKEN (CLI), or the action input github-token / pr-token',
    );
  }
  const config = await loadEffectiveConfig(options);
  const github =
    deps.github ?? createGitHubClient({ token: token!, baseUrl: options.githubApiUrl, logger: deps.logger });
  const guard = createRunGuard(deps.signal ? { signal: deps.signal } : {});
  let db: Db | null = null;
  let lock: RunLock | null = null;
  const fail = (status: 'failed' | 'refused', error: string) => {
    report.status = status;
    report.error = error;
    report.summary =
      status === 'refused' ? `rollback of ${what}: ${error}` : `rollback of ${what} failed: ${error}`;
    deps.logger.error(report.summary);
    return report;
  };
  try {
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
      return fail(
        'failed',
        'another self-evolution run of this repository holds the run lock; try again later',
      );
    guard.watch(lock);

    const changes = await mergedSelfChangesOf(db, options.repository, request.target);
    const reason = request.reason?.trim() ?? '';
    if (request.checkPermission) {
      let permission;
      try {
        permission = await permissionOf(github, repo, request.requestedBy);
      } catch (e) {
        return fail(
          'failed',
          `could not read the permission of ${request.requestedBy}: ${describeGitHubError(e)}`,
        );
      }
      if (!canWrite(permission)) {
        const error = `refused: ${request.requestedBy} has ${permission.role} permission`;
        for (const change of changes) {
          const row = await recordRollback(db, {
            actionId: change.actionId,
            repository: options.repository,
            runId: null,
            trigger: 'manual',
            mode: 'pr',
            status: 'failed',
            reason: reason || `requested by ${request.requestedBy}`,
            evidence: { request: { target: request.target, by: request.requestedBy, reason } },
            revertedSha: change.mergeCommitSha,
            revertBranch: null,
            requestedBy: request.requestedBy,
            error,
          });
          report.reverts.push({
            actionId: change.actionId,
            pullRequest: change.prNumber,
            revertedSha: change.mergeCommitSha,
            trigger: 'manual',
            mode: 'pr',
            state: 'refused',
            reason: error,
            rollbackId: row.rollback.id,
          });
        }
        return fail('refused', `${error} (admin, maintain or write may ask for a rollback)`);
      }
    }
    if (changes.length === 0) {
      const named = await actionsNamedBy(db, options.repository, request.target);
      return fail(
        'failed',
        named.length === 0
          ? `${what} is not a self-change of ${options.repository}`
          : `${what} has no merged self-change (${named.map((a) => `action #${a.id} is ${a.status}`).join(', ')}): nothing to revert`,
      );
    }

    const defaultBranch = await defaultBranchFor(github, repo);
    const token = options.pushWithToken ? (options.prToken ?? options.githubToken) : undefined;
    for (const change of changes) {
      report.reverts.push(
        await openRevert(
          {
            db,
            github,
            repo,
            repository: options.repository,
            remote: { repoDir: options.repoDir, ...(token ? { token } : {}) },
            defaultBranch,
            branchPrefix: config.prTemplateConfig.branchPrefix,
            commitSigning: config.pullRequest.commitSigning,
            runId: null,
            identity: { ...config.pullRequest.commitAuthor, date: deps.clock.now() },
            logsUrl: options.logsUrl ?? null,
            guard,
            logger: deps.logger,
            secrets,
          },
          {
            change,
            trigger: 'manual',
            mode: 'pr',
            reason: reason || `requested by ${request.requestedBy}`,
            evidence: { request: { target: request.target, by: request.requestedBy, reason } },
            requestedBy: request.requestedBy,
          },
        ),
      );
    }
    const left = report.reverts.filter((r) => !DONE.has(r.state));
    const line = report.reverts
      .map((r) => `action #${r.actionId}: ${r.state}${r.number !== undefined ? ` #${r.number}` : ''}`)
      .join(', ');
    if (left.length > 0) return fail('failed', `${line}; ${left.map((r) => r.reason).join('; ')}`);
    report.status = 'success';
    report.summary = `rollback of ${what}: ${line}`;
    deps.logger.info(report.summary);
    return report;
  } catch (err) {
    if (err instanceof UsageError) throw err;
    return fail('failed', err instanceof RunInterrupted ? err.message : oneLine(err, secrets));
  } finally {
    guard.dispose();
    if (lock) await lock.release().catch(() => undefined);
    if (db) await db.close().catch(() => undefined);
  }
}
