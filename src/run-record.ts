/**
 * The run record's stage bodies (run.ts lists the stages): the record started (status running, its first
 * heartbeat), a skipped run recorded, the record closed as the run ended (success, failed, or as an interruption
 * says), the artifacts written and uploaded, the metrics, and the commands.jsonl entries kept on the way.
 *
 * Each takes a {@link RunRecordContext}: what the run knows so far. run.ts's RunContext is one.
 */
import { performance } from 'node:perf_hooks';
import type { Clock, RunInterrupted } from './deps.js';
import type { Options } from './options.js';
import type { Config } from './config/schema.js';
import type { Db } from './store/db.js';
import { finishRun, startRun } from './store/runs.js';
import type { ManagedRunGuard } from './store/run-guard.js';
import { recordSkippedRun } from './gates/stage.js';
import type { ReflectionResult } from './reflect/types.js';
import type { Judged } from './propose/judge.js';
import type { CommandLogEntry } from './sandbox/runner.js';
import { CLEANUP_BUDGET_MS, within } from './sandbox/interrupts.js';
import { readRunSource } from './git/checkout.js';
import { revertsSummary } from './act/revert.js';
import type { ArtifactUploader } from './report/artifacts.js';
import type { RunLogger } from './report/logger.js';
import type { StageTimer } from './report/stage-timer.js';
import {
  artifactsDirOf,
  auditOf,
  closedRunSummary,
  metricsOf,
  reportSource,
  saveRunArtifacts,
} from './report/run-report.js';
import type { LimitReached, RunMetrics, RunReport } from './report/types.js';
import { maskDeep, oneLine } from './secrets.js';

/** What the run record's stages read of a run, and the report they fill in (run.ts's RunContext is one). */
export interface RunRecordContext {
  options: Options;
  deps: {
    clock: Clock;
    /** Its lines() go to the artifacts (run.log). */
    logger: RunLogger;
    /** Artifact upload on Actions; when absent, artifacts are only written locally. */
    uploadArtifacts?: ArtifactUploader;
  };
  config: Config;
  dryRun: boolean;
  startedAt: Date;
  /** The run's UTC day, YYYY-MM-DD. */
  runDate: string;
  /** Everything to mask. */
  secrets: readonly string[];
  report: RunReport;
  /** The stages' durations so far. */
  timer: Pick<StageTimer, 'stagesMs'>;
  /** Every shell command the runner executed or refused (commands.jsonl), masked. */
  commands: CommandLogEntry[];
  /** Limits of config.limits that were reached. */
  limitsReached: LimitReached[];
  /** Tokens the openai proposers used. */
  tokensUsed: number;
  /** Goals the reflection ranked. */
  goals: number;
  /** When the run was interrupted (the cleanup budget counts from there). */
  guard: Pick<ManagedRunGuard, 'abortedAt'>;
  /** The stage running now, for the message of an interrupted run. */
  stage: string;
}

/** Keeps one commands.jsonl entry (masked again with every secret of the run). */
export function recordCommand(
  ctx: { commands: CommandLogEntry[]; secrets: readonly string[] },
  entry: CommandLogEntry,
): void {
  ctx.commands.push(maskDeep(entry, ctx.secrets));
}

/**
 * Time left of an interrupted run's cleanup budget (CLEANUP_BUDGET_MS from the interruption), ms; Infinity when
 * not interrupted.
 */
export function cleanupLeftMs(ctx: Pick<RunRecordContext, 'guard'>): number {
  const at = ctx.guard.abortedAt;
  return at === undefined ? Infinity : Math.max(0, at + CLEANUP_BUDGET_MS - performance.now());
}

/**
 * Creates the run record (status running, its first heartbeat now). Returns its id, or null when another run of
 * the day got there first.
 * @throws git's error reading the checkout; the database's
 */
export async function recordStart(ctx: RunRecordContext, db: Db): Promise<number | null> {
  await source(ctx);
  const started = await startRun(db, {
    heartbeatAt: ctx.deps.clock.now(),
    repository: ctx.options.repository,
    runDate: ctx.runDate,
    trigger: ctx.options.trigger,
    dryRun: ctx.dryRun,
    forced: ctx.options.force,
    gates: ctx.report.gates,
    logsUrl: ctx.options.logsUrl,
    startedAt: ctx.startedAt,
    config: ctx.config,
    overrides: ctx.report.overrides,
    audit: auditOf(ctx.report),
  });
  if (!started.ok) return null;
  ctx.report.runId = started.run.id;
  ctx.deps.logger.info(`run #${started.run.id} started`);
  return started.run.id;
}

/**
 * What the run starts from (git/checkout.ts readRunSource: HEAD, the config's source, a dirty work tree) into
 * the report, read when the run is recorded. A dirty config or work tree, which a live run refuses, is logged.
 */
async function source(ctx: RunRecordContext): Promise<void> {
  const refusal = reportSource(ctx.report, await readRunSource(ctx.options.repoDir, ctx.options.configPath));
  if (refusal) ctx.deps.logger.info(`${refusal} (this dry run records it)`);
}

/**
 * Records a skipped run (its reason, its gates) and finishes the report; its artifacts are written, not
 * uploaded.
 * @throws the database's error recording the run
 */
export async function recordSkip(ctx: RunRecordContext, db: Db, reason: string): Promise<RunReport> {
  const { report } = ctx;
  report.status = 'skipped';
  report.skipReason = reason;
  report.summary = `skipped: ${reason}`;
  ctx.deps.logger.info(report.summary);
  await source(ctx).catch((e) =>
    ctx.deps.logger.warn(`could not read the checkout's state: ${oneLine(e, ctx.secrets)}`),
  );
  const finishedAt = ctx.deps.clock.now();
  report.runId = await recordSkippedRun(
    db,
    {
      repository: ctx.options.repository,
      runDate: ctx.runDate,
      trigger: ctx.options.trigger,
      dryRun: ctx.dryRun,
      forced: ctx.options.force,
      skipReason: reason,
      gates: report.gates,
      summary: report.summary,
      logsUrl: ctx.options.logsUrl,
      startedAt: ctx.startedAt,
      finishedAt,
      overrides: report.overrides,
      metrics: runMetrics(ctx),
      audit: auditOf(report),
    },
    ctx.deps.logger,
  );
  await saveArtifacts(ctx, report.runId, null, [], false).catch((e) =>
    ctx.deps.logger.warn(`could not write artifacts: ${oneLine(e, ctx.secrets)}`),
  );
  return finish(ctx);
}

/**
 * Closes the run record with its status, summary (with the health stage's part) and metrics.
 * @throws the database's error
 */
export async function closeRun(
  ctx: RunRecordContext,
  db: Db,
  runId: number,
  status: 'success' | 'failed',
): Promise<void> {
  const { report } = ctx;
  report.status = status;
  const m = runMetrics(ctx);
  report.summary =
    closedRunSummary(status, m, report.error, ctx.dryRun) + revertsSummary(report.reverts ?? []);
  await finishRun(db, runId, {
    status,
    summary: report.summary,
    metrics: m,
    finishedAt: ctx.deps.clock.now(),
    error: report.error ?? undefined,
  });
}

/**
 * Closes a recorded run a RunInterrupted stopped, within its cleanup budget: 'cancelled' for a signal (no
 * error: it is neither the day's run nor a failure), 'failed' with the error "lost the run lock: ..." for a lost
 * lock. The record is written through the pooled database, never the lock's session (which may be the one that
 * died), and only while the row is still 'running' (finishRun: a later run may have closed it); then the
 * artifacts it has (reflection, judged proposals, commands, log). The stage that was running has stopped by now
 * (run.ts step: STAGE_STOP_MS), its commands killed and its scratch directories removed. Never throws.
 */
export async function closeInterrupted(
  ctx: RunRecordContext,
  db: Db,
  runId: number,
  interrupted: RunInterrupted,
  reflection: ReflectionResult | null,
  judged: Judged[],
): Promise<void> {
  const { report, deps } = ctx;
  const status = interrupted.reason.kind === 'signal' ? 'cancelled' : 'failed';
  report.status = status;
  report.error = status === 'failed' ? oneLine(interrupted, ctx.secrets) : null;
  const m = runMetrics(ctx);
  report.summary =
    status === 'failed'
      ? closedRunSummary('failed', m, report.error)
      : `${interrupted.message} during the ${ctx.stage} stage: its commands were stopped and its scratch directories removed`;
  if (status === 'failed') deps.logger.error(`run #${runId} stops: ${report.error}`);
  else deps.logger.warn(`run #${runId} ${report.summary}`);
  // Leave time for the artifacts, the lock and the database after the record.
  const recorded = within(
    finishRun(db, runId, {
      status,
      summary: report.summary,
      metrics: m,
      finishedAt: deps.clock.now(),
      error: report.error ?? undefined,
    }).catch((e) => deps.logger.error(`could not record the run as ${status}: ${oneLine(e, ctx.secrets)}`)),
    cleanupLeftMs(ctx) - 1500,
  );
  if (!(await recorded)) deps.logger.error(`could not record the run as ${status} in time`);
  const saved = within(
    saveArtifacts(ctx, runId, reflection, judged, true).catch((e) =>
      deps.logger.warn(`could not write artifacts: ${oneLine(e, ctx.secrets)}`),
    ),
    cleanupLeftMs(ctx) - 500,
  );
  if (!(await saved)) deps.logger.warn('the artifacts were not written in time');
}

/**
 * A run interrupted before its record existed (during the gates, the jitter, or between the lock and the
 * record): nothing to close. 'cancelled' for a signal, 'failed' for a lost lock. Returns the finished report.
 */
export function interruptedBeforeRecord(ctx: RunRecordContext, interrupted: RunInterrupted): RunReport {
  const { report } = ctx;
  if (interrupted.reason.kind === 'signal') {
    report.status = 'cancelled';
    report.error = null;
    report.summary = `${interrupted.message} during the ${ctx.stage} stage, before the run was recorded`;
    ctx.deps.logger.warn(report.summary);
  } else {
    report.status = 'failed';
    report.error = oneLine(interrupted, ctx.secrets);
    report.summary = `failed before the run started: ${report.error}`;
    ctx.deps.logger.error(report.summary);
  }
  return finish(ctx);
}

/**
 * Writes the artifacts of run `runId` under options.artifactsRoot and, with `upload` (the run got past the
 * gates) on Actions when telemetry.attachArtifacts, uploads them.
 * @throws the file system's errors (an upload's are logged)
 */
export async function saveArtifacts(
  ctx: RunRecordContext,
  runId: number,
  reflection: ReflectionResult | null,
  judged: Judged[],
  upload: boolean,
): Promise<void> {
  const dir = artifactsDirOf(ctx.options.artifactsRoot, runId, ctx.report.database);
  ctx.report.artifactsDir = dir;
  ctx.report.finishedAt = ctx.deps.clock.now().toISOString();
  ctx.report.metrics = runMetrics(ctx);
  const { telemetry } = ctx.config;
  await saveRunArtifacts({
    dir,
    report: ctx.report,
    reflection,
    judged,
    commands: ctx.commands,
    log: ctx.deps.logger.lines(),
    ...(upload && ctx.deps.uploadArtifacts && telemetry.attachArtifacts
      ? {
          upload: {
            uploader: ctx.deps.uploadArtifacts,
            name: `self-evolution-run-${runId}`,
            retentionDays: telemetry.logRetentionDays,
          },
        }
      : {}),
    logger: ctx.deps.logger,
    secrets: ctx.secrets,
  });
}

/** The run's metrics so far (report/run-report.ts metricsOf). */
function runMetrics(ctx: RunRecordContext): RunMetrics {
  return metricsOf({
    stagesMs: ctx.timer.stagesMs,
    proposals: ctx.report.proposals,
    tokensUsed: ctx.tokensUsed,
    limitsReached: ctx.limitsReached,
    goals: ctx.goals,
    commands: ctx.commands.length,
    request: ctx.options.request,
    ...(ctx.report.reconciled ? { reconciled: ctx.report.reconciled } : {}),
    secrets: ctx.secrets,
  });
}

/** The report, finished now (its finishedAt and metrics), as runOnce returns it. */
export function finish(ctx: RunRecordContext): RunReport {
  ctx.report.finishedAt = ctx.deps.clock.now().toISOString();
  ctx.report.metrics = runMetrics(ctx);
  return ctx.report;
}
