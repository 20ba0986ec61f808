/**
 * The GitHub Action adapter: reads inputs with @actions/core, builds Options, calls runOnce(), sets the
 * outputs and the job summary, and fails the step (setFailed) for anything thrown or a failed run. A run that
 * uploads its artifacts uploads the HTML dashboard of the repository with them (dashboard.html, the last 90
 * days), and its key figures go into the job summary (report/dashboard-artifact.ts).
 * This is the only module that reads action inputs.
 *
 * `mode: gate` instead judges the pull request of a pull_request / pull_request_target event with the rails
 * (runGate): base...head of the PR in the checked-out repository, annotations on each violation, the
 * verdict in the job summary and outputs, the `needs-human-approval` label when required, and a failed step
 * when blocked.
 *
 * `mode: rollback` opens the revert pull request of the merged self-change whose pull request is input
 * `pull-request` (runRollback; src/rollback.ts), when GITHUB_ACTOR may write to the repository.
 */
import * as core from '@actions/core';
import { join, resolve } from 'node:path';
import { realSleep, systemClock, systemRandom } from './deps.js';
import { exitCodeOf, handleInterrupts } from './sandbox/interrupts.js';
import { DEFAULT_CONFIG_PATH, parseRepository, UsageError, type Options, type Trigger } from './options.js';
import { parseEnvOverrides } from './config/overrides.js';
import type { Db } from './store/db.js';
import type { OpenDatabaseOptions } from './store/open.js';
import { openPostgres } from './store/pg.js';
import { runOnce } from './run.js';
import { createRunLogger } from './report/logger.js';
import { maskSecrets, secretsOf } from './secrets.js';
import { renderPublishSummary, renderSummaryMarkdown } from './report/summary.js';
import { actionsArtifactUploader } from './report/artifacts.js';
import { dashboardArtifact } from './report/dashboard-artifact.js';
import type { RunReport } from './report/types.js';
import type { PullRequestReport } from './records.js';
import { checkChange, CHECK_DEFAULTS, type CheckResult } from './check.js';
import { FactsError } from './git/facts.js';
import { createGitHubClient } from './github/client.js';
import {
  labelPullRequest,
  NEEDS_APPROVAL_LABEL,
  pullRequestFromEvent,
  readEventPayload,
  type PullRequestRef,
} from './act/pr-gate.js';
import { renderVerdictMarkdown } from './report/verdict.js';
import { userError } from './errors.js';
import type { Violation } from './rails/types.js';

/** The action's database: always the server of input database-url (the embedded engines stay out of the bundle). */
function openPostgresFor(o: Pick<OpenDatabaseOptions, 'databaseUrl' | 'connectRetry'>): Promise<Db> {
  return openPostgres(o.databaseUrl ?? '', o.connectRetry ? { connectRetry: o.connectRetry } : {});
}

/**
 * Modes of the action: `run` is the daily loop (a live run publishes in the same job); `propose` is the first job
 * of the two-job setup (a live run bundles its verified changes for the publish job); `publish` is the second
 * (opens the pull requests of the bundle); `gate` judges a pull request with the rails; `rollback` opens the
 * revert pull request of a merged self-change (input `pull-request`).
 */
export const MODES = ['run', 'propose', 'publish', 'gate', 'rollback'] as const;

/**
 * Maps the event that started the workflow to a Trigger. An explicit `trigger` input wins (the reusable
 * workflow passes `workflow_call`, because inside a called workflow GITHUB_EVENT_NAME is the caller's event).
 */
export function detectTrigger(input: string, eventName: string | undefined): Trigger {
  const value = input || eventName || '';
  if (value === 'schedule' || value === 'workflow_dispatch' || value === 'workflow_call') return value;
  if (input)
    throw new UsageError(
      `input trigger must be schedule, workflow_dispatch or workflow_call, got "${input}"`,
    );
  return 'other';
}

/**
 * Builds Options from the action inputs and the runner environment.
 * @throws UsageError for a bad input value (names the input and what is allowed)
 */
export function optionsFromInputs(env: Record<string, string | undefined>): Options {
  const mode = core.getInput('mode') || 'run';
  if (!(MODES as readonly string[]).includes(mode)) {
    throw new UsageError(`input mode must be one of ${MODES.join(', ')}, got "${mode}"`);
  }
  const databaseUrl = core.getInput('database-url');
  const githubToken = core.getInput('github-token');
  const prToken = core.getInput('pr-token');
  if (databaseUrl) core.setSecret(databaseUrl);
  if (githubToken) core.setSecret(githubToken);
  if (prToken) core.setSecret(prToken);
  if (prToken && mode === 'propose') {
    throw new UsageError(
      'input pr-token is for mode publish (or run): the propose job runs the agent and must not hold a write token',
    );
  }
  for (const s of secretsOf({ databaseUrl })) core.setSecret(s);
  if (!databaseUrl) {
    throw new UsageError(
      'input database-url is empty: the action records every run in Postgres; pass a secret, e.g. database-url: ${{ secrets.SELF_EVOLUTION_DATABASE_URL }}',
    );
  }
  const jitterInput = core.getInput('jitter-minutes');
  if (jitterInput && !/^\d+$/.test(jitterInput)) {
    throw new UsageError(`input jitter-minutes must be a whole number of minutes >= 0, got "${jitterInput}"`);
  }
  const workspace = env.GITHUB_WORKSPACE ?? process.cwd();
  const repoDir = resolve(workspace, core.getInput('working-directory') || '.');
  const runId = env.GITHUB_RUN_ID && /^\d+$/.test(env.GITHUB_RUN_ID) ? Number(env.GITHUB_RUN_ID) : undefined;
  const repository = env.GITHUB_REPOSITORY ?? '';
  parseRepository(repository, 'GITHUB_REPOSITORY', 'is this running on GitHub Actions?');
  const serverUrl = env.GITHUB_SERVER_URL ?? 'https://github.com';
  return {
    repoDir,
    repository,
    configPath: core.getInput('config-path') || DEFAULT_CONFIG_PATH,
    databaseUrl,
    embeddedDbDir: '',
    githubToken: githubToken || undefined,
    ...(prToken ? { prToken } : {}),
    pushWithToken: true,
    publishMode: mode === 'propose' ? 'bundle' : 'direct',
    ...(mode === 'propose'
      ? { bundleDir: join(env.RUNNER_TEMP ?? join(repoDir, '.self-evolution'), 'self-evolution-bundle') }
      : mode === 'publish'
        ? { bundleDir: resolve(workspace, core.getInput('bundle-path') || 'self-evolution-bundle') }
        : {}),
    githubApiUrl: env.GITHUB_API_URL ?? 'https://api.github.com',
    dryRun: mode === 'publish' ? false : core.getBooleanInput('dry-run'),
    force: core.getBooleanInput('force'),
    jitter: { enabled: true, maxMinutes: jitterInput ? Number(jitterInput) : undefined },
    trigger: detectTrigger(core.getInput('trigger'), env.GITHUB_EVENT_NAME),
    currentWorkflowRunId: runId,
    logsUrl: runId ? `${serverUrl}/${repository}/actions/runs/${runId}` : undefined,
    artifactsRoot: join(env.RUNNER_TEMP ?? join(repoDir, '.self-evolution'), 'self-evolution-artifacts'),
    uploadArtifacts: true,
    envOverrides: parseEnvOverrides(env),
    request: core.getInput('request') || undefined,
    env,
    actor: env.GITHUB_ACTOR || undefined,
  };
}

/** Sets the action outputs from a report. */
export function setOutputs(report: RunReport): void {
  core.setOutput('run-id', report.runId === null ? '' : String(report.runId));
  core.setOutput('status', report.status);
  core.setOutput('skip-reason', report.skipReason ?? '');
  core.setOutput('proposals', String(report.metrics.proposals));
  core.setOutput('allowed', String(report.metrics.allowed));
  core.setOutput('blocked', String(report.metrics.blocked));
  core.setOutput('summary', report.summary);
  core.setOutput('artifacts-dir', report.artifactsDir ?? '');
  core.setOutput('bundle-dir', report.bundleDir ?? '');
  core.setOutput(
    'pull-requests',
    JSON.stringify(
      report.proposals.flatMap((p) => (p.pullRequest ? [pullRequestOutput(p.id, p.pullRequest)] : [])),
    ),
  );
}

/** One entry of the `pull-requests` output: what became of one proposal's pull request. */
export function pullRequestOutput(proposalId: number | null, pr: PullRequestReport): Record<string, unknown> {
  return {
    proposal: proposalId,
    state: pr.state,
    number: pr.number ?? null,
    url: pr.url ?? null,
    branch: pr.branch,
    title: pr.title,
    draft: pr.draft,
    reason: pr.reason ?? null,
  };
}

/** What tests may replace in the action: how the GitHub client fetches, and its retry waits. */
export interface ActionDeps {
  /** Replaces the GitHub client's fetch (tests pass one nock sees). */
  fetch?: typeof globalThis.fetch;
  /** Base of the GitHub client's retry waits in ms (default 1000; tests pass 1). */
  retryAfterBaseMs?: number;
}

/**
 * The action's main: never throws; everything thrown ends in setFailed with a one-line message. Dispatches
 * on the `mode` input: `gate` runs runGate, anything else the daily run (which rejects unknown modes).
 *
 * While the run runs, SIGINT and SIGTERM (GitHub's cancel: SIGINT, SIGTERM 7.5 s later) cancel it instead of
 * killing the process (sandbox/interrupts.ts handleInterrupts): the run cleans up, records itself 'cancelled',
 * the outputs say `status=cancelled`, the step fails and the process exit code is 130 (SIGINT) or 143 (SIGTERM).
 */
export async function run(deps: ActionDeps = {}): Promise<void> {
  const env = process.env;
  if ((core.getInput('mode') || 'run') === 'gate') {
    await runGate(env, deps);
    return;
  }
  if (core.getInput('mode') === 'publish') {
    await runPublish(env);
    return;
  }
  if (core.getInput('mode') === 'rollback') {
    await runRollback(env, deps);
    return;
  }
  let secrets: string[] = [];
  const interrupts = handleInterrupts({
    onSignal: (signal, first) =>
      first
        ? core.warning(`${signal}: cancelling the run`)
        : core.info(`${signal}: already cancelling; the cleanup is bounded`),
  });
  try {
    const options = optionsFromInputs(env);
    secrets = secretsOf(options);
    const logger = actionLogger(secrets);
    // The dashboard goes into the run's artifacts, written just before they are uploaded (after the run record
    // is closed); its key figures go into the job summary.
    // The dashboard is read over the run's own connection (still open when the artifacts are uploaded): a run
    // holds one connection, never two.
    let runDb: Db | undefined;
    const dashboard = dashboardArtifact({
      repository: options.repository,
      openDb: async () =>
        runDb
          ? { ...runDb, close: async () => undefined }
          : openPostgresFor({ databaseUrl: options.databaseUrl }),
      logger,
      secrets,
    });
    const report = await runOnce(options, {
      clock: systemClock,
      random: systemRandom,
      sleep: realSleep,
      logger,
      openDb: async (o) => (runDb = await openPostgresFor(o)),
      uploadArtifacts: dashboard.wrap(actionsArtifactUploader),
      signal: interrupts.signal,
    });
    interrupts.dispose();
    setOutputs(report);
    await core.summary.addRaw(renderSummaryMarkdown(report) + dashboard.summaryMarkdown()).write();
    if (report.status === 'failed') core.setFailed(report.error ?? report.summary);
    if (report.status === 'cancelled') {
      core.setFailed(report.summary);
      process.exitCode = exitCodeOf(interrupts.received ?? 'SIGINT');
    }
  } catch (err) {
    core.setFailed(userError(err, secrets, 'run').message);
  } finally {
    interrupts.dispose();
  }
}

/**
 * `mode: publish`, the second job of the two-job setup: opens the pull requests of the proposal bundle at input
 * `bundle-path` (publish.ts publishBundle), then reconciles the earlier pull requests and reverts merged
 * self-changes that broke the default branch (autoRevert.mode), sets the outputs `pull-requests`, `status`,
 * `run-id`, `summary`, writes a job summary (the pull requests with links, the reconcile line, the reverts), and
 * fails the step when the bundle was refused or publishing failed.
 * SIGINT/SIGTERM stop it before its next side effect (exit 130/143). Never throws.
 */
export async function runPublish(env: Record<string, string | undefined>): Promise<void> {
  let secrets: string[] = [];
  const interrupts = handleInterrupts({
    onSignal: (signal, first) =>
      first ? core.warning(`${signal}: stopping`) : core.info(`${signal}: stopping`),
  });
  try {
    const options = optionsFromInputs(env);
    secrets = secretsOf(options);
    const logger = actionLogger(secrets);
    const { publishBundle } = await import('./publish.js');
    const report = await publishBundle(options, {
      clock: systemClock,
      logger,
      openDb: openPostgresFor,
      signal: interrupts.signal,
    });
    core.setOutput('run-id', report.runId === null ? '' : String(report.runId));
    core.setOutput('status', report.status);
    core.setOutput('summary', report.summary);
    core.setOutput(
      'pull-requests',
      JSON.stringify(report.pullRequests.map((p) => pullRequestOutput(p.proposalId, p))),
    );
    await core.summary.addRaw(renderPublishSummary(report)).write();
    if (report.status === 'failed') core.setFailed(report.error ?? report.summary);
    if (interrupts.received) process.exitCode = exitCodeOf(interrupts.received);
  } catch (err) {
    core.setFailed(userError(err, secrets, 'run').message);
  } finally {
    interrupts.dispose();
  }
}

/**
 * `mode: rollback`: opens the revert pull request of the merged self-change whose pull request is input
 * `pull-request` (src/rollback.ts rollbackOnRequest), with input `reason`, when GITHUB_ACTOR may write to the
 * repository (`GET .../collaborators/{actor}/permission`: admin, maintain or write; anyone else is refused and the
 * refusal recorded). Outputs `status` (success, refused, failed), `summary` and `pull-requests` (the revert pull
 * requests: action, state, number, url, branch, reason); fails the step unless every revert is there.
 * SIGINT/SIGTERM stop it before its next side effect. Never throws.
 */
export async function runRollback(
  env: Record<string, string | undefined>,
  deps: ActionDeps = {},
): Promise<void> {
  let secrets: string[] = [];
  const interrupts = handleInterrupts({
    onSignal: (signal, first) =>
      first ? core.warning(`${signal}: stopping`) : core.info(`${signal}: stopping`),
  });
  try {
    const options = optionsFromInputs(env);
    secrets = secretsOf(options);
    const input = core.getInput('pull-request').trim().replace(/^#/, '');
    if (!/^[1-9]\d*$/.test(input)) {
      throw new UsageError(
        `input pull-request must be the number of a self-change's merged pull request, got "${input}"`,
      );
    }
    const actor = env.GITHUB_ACTOR ?? '';
    if (!actor) throw new UsageError('GITHUB_ACTOR is empty: mode rollback checks who asks for the rollback');
    const logger = actionLogger(secrets);
    const token = options.prToken ?? options.githubToken;
    const { rollbackOnRequest } = await import('./rollback.js');
    const report = await rollbackOnRequest(
      options,
      {
        target: { prNumber: Number(input) },
        ...(core.getInput('reason') ? { reason: core.getInput('reason') } : {}),
        requestedBy: actor,
        checkPermission: true,
      },
      {
        clock: systemClock,
        logger,
        openDb: openPostgresFor,
        ...(token
          ? {
              github: createGitHubClient({
                token,
                baseUrl: options.githubApiUrl,
                logger,
                ...(deps.fetch ? { fetch: deps.fetch } : {}),
                ...(deps.retryAfterBaseMs !== undefined ? { retryAfterBaseMs: deps.retryAfterBaseMs } : {}),
              }),
            }
          : {}),
        signal: interrupts.signal,
      },
    );
    core.setOutput('status', report.status);
    core.setOutput('summary', report.summary);
    core.setOutput(
      'pull-requests',
      JSON.stringify(
        report.reverts.map((r) => ({
          action: r.actionId,
          state: r.state,
          number: r.number ?? null,
          url: r.url ?? null,
          branch: r.branch ?? null,
          reason: r.reason,
        })),
      ),
    );
    await core.summary
      .addRaw(
        [
          `## Self-Evolution rollback of #${input}: ${report.status}`,
          '',
          `- ${report.summary}`,
          `- asked by ${actor}`,
          ...report.reverts.map(
            (r) =>
              `- action #${r.actionId} (\`${r.revertedSha.slice(0, 7)}\`): ${r.state}${r.url ? ` [#${r.number}](${r.url})` : ''}: ${r.reason.replace(/\r?\n/g, ' ')}`,
          ),
          '',
        ].join('\n'),
      )
      .write();
    if (report.status !== 'success') core.setFailed(report.error ?? report.summary);
    if (interrupts.received) process.exitCode = exitCodeOf(interrupts.received);
  } catch (err) {
    core.setFailed(userError(err, secrets, 'run').message);
  } finally {
    interrupts.dispose();
  }
}

/**
 * The run logger of the action's modes: masks `secrets` and writes each line as the workflow command of its level
 * (::error::, ::warning::, ::debug::, plain info).
 */
function actionLogger(secrets: readonly string[]): ReturnType<typeof createRunLogger> {
  return createRunLogger({
    secrets: [...secrets],
    clock: systemClock,
    sink: (level, message) => {
      if (level === 'error') core.error(message);
      else if (level === 'warn') core.warning(message);
      else if (level === 'debug') core.debug(message);
      else core.info(message);
    },
  });
}

/** A boolean input: `fallback` when empty (absent), else YAML 1.2 true/false (getBooleanInput). */
function booleanInput(name: string, fallback: boolean): boolean {
  return core.getInput(name) === '' ? fallback : core.getBooleanInput(name);
}

/** The annotation of one violation: error (block), warning (approval) or notice (warn), on its file and line. */
export function annotate(v: Violation): void {
  const properties: core.AnnotationProperties = { title: v.ruleId };
  if (v.path !== undefined && v.path !== '') properties.file = v.path;
  if (properties.file !== undefined && v.line !== undefined) properties.startLine = v.line;
  const message = v.message.replace(/\r?\n/g, ' ');
  if (v.severity === 'block') core.error(message, properties);
  else if (v.severity === 'approval') core.warning(message, properties);
  else core.notice(message, properties);
}

/** Sets the gate's outputs: allowed, requires-human-approval, violations (count), computed-risk. */
export function setGateOutputs(result: CheckResult): void {
  core.setOutput('allowed', String(result.verdict.allowed));
  core.setOutput('requires-human-approval', String(result.verdict.requiresHumanApproval));
  core.setOutput('violations', String(result.verdict.violations.length));
  core.setOutput('computed-risk', String(result.verdict.computedRisk));
}

/**
 * `mode: gate`: judges the pull request of a pull_request or pull_request_target event (payload at
 * GITHUB_EVENT_PATH) with the rails: base.sha...head.sha in the checked-out repository (it needs both
 * commits: actions/checkout with fetch-depth: 0), config read from the base commit. Then annotates each
 * violation on its file and line, writes the verdict to the job summary, sets the outputs, labels the PR
 * `needs-human-approval` when required (a failed label call is a warning), and fails the step when blocked.
 * Never throws: anything thrown (another event, a missing commit, a bad config) fails the step with one line.
 */
export async function runGate(env: Record<string, string | undefined>, deps: ActionDeps = {}): Promise<void> {
  const token = core.getInput('github-token');
  if (token) core.setSecret(token);
  const secrets = secretsOf({ githubToken: token || undefined });
  let pr: PullRequestRef | undefined;
  try {
    pr = pullRequestFromEvent(env.GITHUB_EVENT_NAME, await readEventPayload(env.GITHUB_EVENT_PATH));
    const workspace = env.GITHUB_WORKSPACE ?? process.cwd();
    const repoDir = resolve(workspace, core.getInput('working-directory') || '.');
    // The default path (action.yml always passes it) may be absent: the defaults then apply. Another path
    // was asked for explicitly and must exist at the base commit.
    const configInput = core.getInput('config-path');
    const result = await checkChange({
      repoDir,
      configPath: configInput && configInput !== DEFAULT_CONFIG_PATH ? configInput : undefined,
      base: pr.baseSha,
      head: pr.headSha,
      type: core.getInput('change-type') || CHECK_DEFAULTS.type,
      humanOverride: booleanInput('allow-policy-edits', false),
      targetBranch: booleanInput('check-branch', false) ? pr.headRef : undefined,
      defaultBranch: pr.defaultBranch,
    });
    const { verdict } = result;
    for (const v of verdict.violations) annotate(v);
    for (const note of result.notes) core.info(`note: ${maskSecrets(note, secrets)}`);
    setGateOutputs(result);
    const title = `Self-Evolution gate: ${pr.owner}/${pr.repo}#${pr.number} by ${pr.author} (${pr.baseSha.slice(0, 7)}...${pr.headSha.slice(0, 7)})`;
    await core.summary.addRaw(renderVerdictMarkdown(verdict, { title, notes: result.notes })).write();

    if (verdict.requiresHumanApproval) {
      if (!token) {
        core.warning(
          `the verdict requires a human's approval, but there is no github-token to label the pull request "${NEEDS_APPROVAL_LABEL}"`,
        );
      } else {
        const client = createGitHubClient({
          token,
          baseUrl: env.GITHUB_API_URL ?? 'https://api.github.com',
          logger: {
            debug: (m) => core.debug(m),
            info: (m) => core.info(m),
            warn: (m) => core.warning(m),
            error: (m) => core.warning(m),
          },
          ...(deps.fetch ? { fetch: deps.fetch } : {}),
          ...(deps.retryAfterBaseMs !== undefined ? { retryAfterBaseMs: deps.retryAfterBaseMs } : {}),
        });
        const labelled = await labelPullRequest(client, pr);
        if (labelled.ok) core.info(`labelled ${pr.owner}/${pr.repo}#${pr.number} "${NEEDS_APPROVAL_LABEL}"`);
        else core.warning(maskSecrets(labelled.message, secrets));
      }
    }
    if (!verdict.allowed) {
      const blocking = verdict.violations.filter((v) => v.severity === 'block').length;
      core.setFailed(
        `the rails blocked ${pr.owner}/${pr.repo}#${pr.number}: ${blocking} blocking violation${blocking === 1 ? '' : 's'} (${[...new Set(verdict.violations.filter((v) => v.severity === 'block').map((v) => v.ruleId))].join(', ')}); see the annotations and the job summary`,
      );
    }
  } catch (err) {
    const prefix = pr ? `${pr.owner}/${pr.repo}#${pr.number}: ` : '';
    const { message } = userError(err, secrets, 'check');
    core.setFailed(
      `${prefix}${message}${err instanceof FactsError && err.kind === 'bad-revision' ? ' (mode gate needs the base and head commits: actions/checkout with fetch-depth: 0)' : ''}`,
    );
  }
}
