/**
 * The GitHub Action adapter: reads inputs with @actions/core, builds Options, calls runOnce(), sets the
 * outputs and the job summary, and fails the step (setFailed) for anything thrown or a failed run.
 * This is the only module that reads action inputs.
 */
import * as core from '@actions/core';
import { join, resolve } from 'node:path';
import { realSleep, systemClock, systemRandom } from './deps.js';
import { DEFAULT_CONFIG_PATH, UsageError, type Options, type Trigger } from './options.js';
import { parseEnvOverrides } from './config/overrides.js';
import { openPostgres } from './store/pg.js';
import { runOnce, oneLine } from './run.js';
import { createRunLogger, maskSecrets, secretsOf } from './report/logger.js';
import { renderSummaryMarkdown } from './report/summary.js';
import { actionsArtifactUploader } from './report/artifacts.js';
import type { RunReport } from './report/types.js';

/** Modes of the action; `run` is the daily loop (issue: "mode (run)"). */
export const MODES = ['run'] as const;

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
  if (databaseUrl) core.setSecret(databaseUrl);
  if (githubToken) core.setSecret(githubToken);
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
  if (!/^[^/\s]+\/[^/\s]+$/.test(repository)) {
    throw new UsageError(
      `GITHUB_REPOSITORY must be owner/name, got "${repository}" (is this running on GitHub Actions?)`,
    );
  }
  const serverUrl = env.GITHUB_SERVER_URL ?? 'https://github.com';
  return {
    repoDir,
    repository,
    configPath: core.getInput('config-path') || DEFAULT_CONFIG_PATH,
    databaseUrl,
    embeddedDbDir: '',
    githubToken: githubToken || undefined,
    githubApiUrl: env.GITHUB_API_URL ?? 'https://api.github.com',
    dryRun: core.getBooleanInput('dry-run'),
    force: core.getBooleanInput('force'),
    jitter: { enabled: true, maxMinutes: jitterInput ? Number(jitterInput) : undefined },
    trigger: detectTrigger(core.getInput('trigger'), env.GITHUB_EVENT_NAME),
    currentWorkflowRunId: runId,
    logsUrl: runId ? `${serverUrl}/${repository}/actions/runs/${runId}` : undefined,
    artifactsRoot: join(env.RUNNER_TEMP ?? join(repoDir, '.self-evolution'), 'self-evolution-artifacts'),
    uploadArtifacts: true,
    envOverrides: parseEnvOverrides(env),
    request: core.getInput('request') || undefined,
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
}

/** The action's main: never throws; everything thrown ends in setFailed with a one-line message. */
export async function run(): Promise<void> {
  const env = process.env;
  let secrets: string[] = [];
  try {
    const options = optionsFromInputs(env);
    secrets = secretsOf(options);
    const logger = createRunLogger({
      secrets,
      clock: systemClock,
      sink: (level, message) => {
        if (level === 'error') core.error(message);
        else if (level === 'warn') core.warning(message);
        else if (level === 'debug') core.debug(message);
        else core.info(message);
      },
    });
    const report = await runOnce(options, {
      clock: systemClock,
      random: systemRandom,
      sleep: realSleep,
      logger,
      openDb: ({ databaseUrl }) => openPostgres(databaseUrl ?? ''),
      uploadArtifacts: actionsArtifactUploader,
    });
    setOutputs(report);
    await core.summary.addRaw(renderSummaryMarkdown(report)).write();
    if (report.status === 'failed') core.setFailed(report.error ?? report.summary);
  } catch (err) {
    const message =
      err instanceof Error && err.name === 'ConfigError'
        ? maskSecrets(err.message, secrets)
        : oneLine(err, secrets);
    core.setFailed(message);
  }
}
