/**
 * One self-evolution run, as data flowing through it (ARCHITECTURE.md):
 *
 *   options ─► config ─► database ─► gates (before jitter) ─► jitter ─► lock ─► dead runs' leftovers
 *     ─► gates (under the lock) ─► run record ─► sandbox ─► reconcile (earlier pull requests)
 *     ─► health (merged self-changes: revert pull requests) ─► reflection ─► proposers ─► rails
 *     ─► act (dry run: nothing) ─► run closed ─► artifacts
 *
 * One function per stage, each taking what the previous one returned. All I/O goes through injected
 * dependencies (RunDeps) so tests swap them without module mocking.
 *
 * Every stage runs under the run's guard (store/run-guard.ts): checked before and after it, and, once the run is
 * recorded, followed by a heartbeat. A signal (RunDeps.signal: SIGINT, SIGTERM) or the loss of the run lock
 * interrupts the run: its commands are killed, its scratch directories removed, its record closed 'cancelled'
 * (signal) or 'failed' ("lost the run lock: ..."), its artifacts written and its lock released, all within
 * CLEANUP_BUDGET_MS (sandbox/interrupts.ts).
 */
import { performance } from 'node:perf_hooks';
import { RunInterrupted, type Clock, type Random, type Sleep } from './deps.js';
import { StageTimer } from './report/stage-timer.js';
import type { Options } from './options.js';
import type { Config } from './config/schema.js';
import { loadEffectiveConfig, policyPathOf } from './config/effective.js';
import type { Db } from './store/db.js';
import { DatabaseBusyError } from './store/errors.js';
import { migrate } from './store/migrate.js';
import { readDatabaseId } from './store/database-id.js';
import { tryAcquireRunLock, type RunLock } from './store/lock.js';
import { finishRun, setRunSandbox, STALE_AFTER_MS, startRun } from './store/runs.js';
import {
  createRunGuard,
  startHeartbeat,
  untilInterrupted,
  type HeartbeatTimer,
  type ManagedRunGuard,
} from './store/run-guard.js';
import type { GateResult } from './gates/types.js';
import { firstBlocking, skipReasonOf } from './gates/types.js';
import { utcRunDate } from './gates/already-ran.js';
import { jitterBeforeRun } from './gates/jitter.js';
import { checkGates, markStale, recordSkippedRun, tripPending, type GatePass } from './gates/stage.js';
import { createActivitySource, type ActivitySource } from './github/activity.js';
import { createBreakerGitHub, type BreakerGitHub } from './github/breaker.js';
import { createGitHubClient, type GitHubClient } from './github/client.js';
import { recordReflection, reflectOn } from './reflect/stage.js';
import { goalsOf, type ReflectionResult } from './reflect/types.js';
import { runProposers, type Draft } from './propose/stage.js';
import { judgeAndRecord, type Judged } from './propose/judge.js';
import type { CommandLogEntry, SandboxPlan } from './sandbox/runner.js';
import type { SandboxChoice, SandboxMode } from './sandbox/mechanism.js';
import { planRunSandbox, sandboxNotice } from './sandbox/plan.js';
import { CLEANUP_BUDGET_MS, STAGE_STOP_MS, within } from './sandbox/interrupts.js';
import { pruneLeftovers } from './sandbox/leftovers.js';
import {
  actOnProposals,
  type BundleTarget,
  type LiveAct,
  type RenderFor,
  type VerifyFor,
} from './act/stage.js';
import { rebuildToolsOf, reconcileActions, type RebuildTools } from './act/reconcile.js';
import type { RepoRef } from './github/pulls.js';
import { revertsSummary, watchMergedChanges } from './act/revert.js';
import { actCallbacks, ciTextFor, defaultBranchFor, liveActOf, repoRefOf, tokenKindOf } from './live.js';
import { TOOL_VERSION, UsageError } from './options.js';
import { policyFromConfig } from './rails/policy.js';
import type { RailsPolicy } from './rails/types.js';
import { checkRepository, liveRefusal, readRunSource } from './git/checkout.js';
import type { RunLogger } from './report/logger.js';
import { maskDeep, oneLine, secretEnvValues, secretsOf } from './secrets.js';
import type { ArtifactUploader } from './report/artifacts.js';
import {
  artifactsDirOf,
  auditOf,
  closedRunSummary,
  emptyReport,
  metricsOf,
  reportSource,
  saveRunArtifacts,
} from './report/run-report.js';
import type { LimitReached, RunMetrics, RunReport } from './report/types.js';

/** The injected I/O of a run. */
export interface RunDeps {
  clock: Clock;
  random: Random;
  sleep: Sleep;
  logger: RunLogger;
  /**
   * Opens the database. The CLI passes store/open.ts openDatabase (pg or embedded PGlite); the action passes a
   * pg-only opener so PGlite never enters the ncc bundle.
   */
  openDb: (o: { databaseUrl?: string; embeddedDir: string }) => Promise<Db>;
  /**
   * The run's GitHub client, shared by the activity gate and the reflection; default: built once from
   * options.githubToken (createGitHubClient: retry and throttling plugins) when there is one.
   */
  github?: GitHubClient;
  /**
   * Live mode: the client that opens the pull requests; default one built from options.prToken, else `github`.
   * Tests pass a client of the local fake (writes unspaced).
   */
  pullRequestClient?: GitHubClient;
  /** GitHub activity (workflow runs, deployments); default: read through `github` when there is one. */
  activity?: ActivitySource;
  /**
   * The circuit breaker's GitHub calls (stop label, its issue); default: through `github` when there is one.
   */
  breaker?: BreakerGitHub;
  /** fetch for the openai proposers' SDK (tests); default globalThis.fetch. */
  fetch?: typeof fetch;
  /** Artifact upload on Actions; when absent, artifacts are only written locally. */
  uploadArtifacts?: ArtifactUploader;
  /** Finds the sandbox mechanism for a mode (tests); default: probing bwrap, then unshare (sandbox/mechanism.ts). */
  chooseSandbox?: (mode: SandboxMode) => Promise<SandboxChoice>;
  /**
   * Aborted when the run must stop: the adapters abort it on SIGINT/SIGTERM with `{kind: 'signal', signal}`
   * (deps.ts InterruptReason) as its reason (sandbox/interrupts.ts handleInterrupts). The run then kills its
   * commands' process groups, removes its scratch directories, closes its record 'cancelled', writes the
   * artifacts it has and releases its lock, within CLEANUP_BUDGET_MS of the abort, and returns a report with
   * status 'cancelled' (runOnce does not throw for it). Absent: only a lost lock interrupts the run.
   */
  signal?: AbortSignal;
}

/** State shared by the stages of one run. */
interface RunContext {
  options: Options;
  deps: RunDeps;
  config: Config;
  /** A dry run: the options ask for one or the config's dryRunMode says so (never live until both allow it). */
  dryRun: boolean;
  /** The rails policy built from the config (stated in prompts, applied by the rails). */
  policy: RailsPolicy;
  /** The environment commands start from (options.env, else process.env). */
  env: Readonly<Record<string, string | undefined>>;
  /** Everything to mask: the token, the database URL and its password, secret-looking environment values. */
  secrets: string[];
  /** The run's GitHub client (token present), shared by the activity gate and the reflection. */
  github?: GitHubClient;
  activity?: ActivitySource;
  breaker?: BreakerGitHub;
  timer: StageTimer;
  startedAt: Date;
  runDate: string;
  report: RunReport;
  /** Every shell command the runner executed or refused (commands.jsonl), masked. */
  commands: CommandLogEntry[];
  /** Limits of config.limits that were reached. */
  limitsReached: LimitReached[];
  /** Tokens the openai proposers used. */
  tokensUsed: number;
  /** Goals the reflection ranked. */
  goals: number;
  /** The sandbox of the repository's commands (set by prepareSandbox when the run starts any). */
  sandbox?: SandboxPlan;
  /**
   * The run's guard (a RunGuard): RunDeps.signal, and the run lock once taken. Checked at every stage boundary;
   * the stages that start long work or side effects receive it (the proposers, the repository checks, act).
   */
  guard: ManagedRunGuard;
  /** The stage running now, for the message of an interrupted run. */
  stage: string;
}

/**
 * Runs the pipeline once and returns its report. Never throws for a run that failed at run time (the
 * report says 'failed') or was interrupted (a signal: 'cancelled'; a lost run lock: 'failed'); throws only for
 * bad input the user must fix before anything happens.
 * @throws ConfigError for a missing or invalid config file (exit 2)
 * @throws UsageError when repoDir is not a git repository or live mode is requested (exit 2)
 */
export async function runOnce(options: Options, deps: RunDeps): Promise<RunReport> {
  const env = options.env ?? process.env;
  const secrets = [...new Set([...secretsOf(options), ...secretEnvValues(env)])];
  deps.logger.addSecrets(secrets);
  const timer = new StageTimer(deps.clock);
  const startedAt = deps.clock.now();
  const config = await timer.time('config', () => loadEffectiveConfig(options));
  const hosts = await timer.time('repository', () => checkRepository(options.repoDir));
  const github = deps.github ?? defaultGitHubClient(options, deps);
  const ctx: RunContext = {
    options,
    deps,
    config,
    policy: policyFromConfig(config, {
      policyPath: policyPathOf(options),
      hostsSelfEvolution: hosts,
    }),
    env,
    secrets,
    github,
    activity: deps.activity ?? (github ? createActivitySource(github) : undefined),
    breaker: deps.breaker ?? (github ? createBreakerGitHub(github) : undefined),
    timer,
    startedAt,
    runDate: utcRunDate(startedAt),
    dryRun: options.dryRun || config.dryRunMode,
    report: emptyReport({
      options,
      startedAt,
      runDate: utcRunDate(startedAt),
      dryRun: options.dryRun || config.dryRunMode,
    }),
    commands: [],
    limitsReached: [],
    tokensUsed: 0,
    goals: 0,
    guard: createRunGuard(deps.signal ? { signal: deps.signal } : {}),
    stage: 'database',
  };
  deps.logger.info(
    `self-evolution: ${options.repository} (${options.repoDir}), day ${ctx.runDate} UTC, ${ctx.dryRun ? 'dry run' : 'live'}`,
  );

  if (!options.dryRun && config.dryRunMode) {
    deps.logger.info(
      'live mode was asked for, but the config says "dryRunMode": true: this is a dry run (set it to false to go live)',
    );
  }
  if (!ctx.dryRun) await timer.time('live', () => checkLive(ctx));
  const db = await timer.time('database', () => openDb(ctx));
  if (!db) {
    ctx.guard.dispose();
    return finish(ctx);
  }
  let lock: RunLock | null = null;
  try {
    await step(ctx, 'migrate', async () => {
      await migrate(db);
      ctx.report.database = { id: await readDatabaseId(db), description: db.description };
    });
    const before = await step(ctx, 'gates', () => gates(ctx, db, 'before-jitter'), { long: true });
    ctx.report.gates.beforeJitter = before;
    // A circuit breaker about to trip goes to the lock at once (no jitter): the trip is carried out under it.
    const tripping = tripPending(before);
    if (firstBlocking(before) && !tripping)
      return await recordSkip(ctx, db, skipReasonOf(firstBlocking(before)!));

    if (!tripping) ctx.report.jitterMs = await step(ctx, 'jitter', () => jitter(ctx), { long: true });

    lock = await step(ctx, 'lock', () => tryAcquireRunLock(db, options.repository), { acquires: true });
    if (!lock)
      return await recordSkip(
        ctx,
        db,
        'lock held: another self-evolution run for this repository is in progress',
      );
    ctx.guard.watch(lock);
    await step(ctx, 'leftovers', () => cleanUpAfterDeadRuns(ctx, db));
    const underLock = await step(ctx, 'gatesUnderLock', () => gates(ctx, db, 'under-lock'), { long: true });
    ctx.report.gates.underLock = underLock;
    if (firstBlocking(underLock)) return await recordSkip(ctx, db, skipReasonOf(firstBlocking(underLock)!));

    const runId = await step(ctx, 'record', () => recordStart(ctx, db), { acquires: true });
    if (runId === null) return await recordSkip(ctx, db, 'already ran today (another run started first)');
    await runRecorded(ctx, db, runId);
    return finish(ctx);
  } catch (err) {
    if (err instanceof RunInterrupted) return interruptedBeforeRecord(ctx, err);
    // Failures before a run record exists (migrations, gates' database reads, the lock).
    ctx.report.status = 'failed';
    ctx.report.error = oneLine(err, secrets);
    ctx.report.summary = `failed before the run started: ${ctx.report.error}`;
    deps.logger.error(ctx.report.summary);
    return finish(ctx);
  } finally {
    ctx.guard.dispose();
    // An interrupted run has a deadline: a hung database must not keep it past CANCEL_GRACE_MS.
    if (lock) await within(lock.release(), cleanupLeftMs(ctx));
    await within(
      db.close().catch(() => undefined),
      cleanupLeftMs(ctx),
    );
  }
}

/**
 * The stages of a recorded run (record 'running', heartbeat written every HEARTBEAT_INTERVAL_MS and at every
 * stage boundary), then the record closed: 'success', 'failed' with the error, or as the interruption says
 * (closeInterrupted). Never throws.
 */
async function runRecorded(ctx: RunContext, db: Db, runId: number): Promise<void> {
  const pulse = startHeartbeat({
    db,
    runId,
    clock: ctx.deps.clock,
    logger: ctx.deps.logger,
    // Between stage boundaries too, a lock lost without an event (a silent network) is noticed.
    onTick: () => ctx.guard.check(),
  });
  let reflection: ReflectionResult | null = null;
  let judged: Judged[] = [];
  try {
    const baseSha = ctx.report.baseSha!;
    await step(ctx, 'sandbox', () => prepareSandbox(ctx, db, runId), { long: true, pulse });
    await step(ctx, 'reconcile', () => reconcile(ctx, db, runId), { long: true, pulse });
    await step(ctx, 'health', () => health(ctx, db, runId), { long: true, pulse });
    reflection = await step(ctx, 'reflect', () => reflectAndRecord(ctx, db, runId, baseSha), {
      long: true,
      pulse,
    });
    const done = reflection;
    const drafts = await step(ctx, 'propose', () => propose(ctx, done, baseSha), { long: true, pulse });
    judged = await step(ctx, 'rails', () => judge(ctx, db, runId, drafts), { pulse });
    ctx.report.proposals = judged.map((p) => p.report);
    await step(ctx, 'act', () => act(ctx, db, runId, done, judged), { long: true, pulse });
    pulse.stop();
    await closeRun(ctx, db, runId, 'success');
    await ctx.timer.time('artifacts', () => saveArtifacts(ctx, runId, done, judged, true));
  } catch (err) {
    pulse.stop();
    if (err instanceof RunInterrupted) {
      await closeInterrupted(ctx, db, runId, err, reflection, judged);
      return;
    }
    ctx.report.error = oneLine(err, ctx.secrets);
    ctx.deps.logger.error(`run failed: ${ctx.report.error}`);
    await closeRun(ctx, db, runId, 'failed').catch((e) =>
      ctx.deps.logger.error(`could not record the failure: ${oneLine(e, ctx.secrets)}`),
    );
    await saveArtifacts(ctx, runId, null, [], true).catch(() => undefined);
  }
}

/**
 * One stage under the run's guard: the guard is checked before it (it may start a side effect) and after it,
 * and `pulse` (the recorded run's heartbeat) beats after it. A stage that starts long work (`long`) is raced
 * against the guard: once the run must stop, it gets STAGE_STOP_MS from the interruption to stop on its own
 * (its commands are killed through the guard's signal, its scratch directories removed) before the run moves
 * on. A stage that `acquires` something the caller must own (the lock, the run record) is neither raced nor
 * checked after: the caller's next step is.
 * @throws RunInterrupted when the run must stop (also when the stage failed because of the interruption);
 *   whatever the stage throws otherwise
 */
async function step<T>(
  ctx: RunContext,
  name: string,
  fn: () => Promise<T>,
  opts: { long?: boolean; acquires?: boolean; pulse?: HeartbeatTimer } = {},
): Promise<T> {
  ctx.stage = name;
  await ctx.guard.check();
  let result: T;
  try {
    const work = ctx.timer.time(name, fn);
    result = opts.long ? await untilInterrupted(work, ctx.guard, STAGE_STOP_MS) : await work;
  } catch (err) {
    if (!(err instanceof RunInterrupted) && ctx.guard.reason) throw new RunInterrupted(ctx.guard.reason);
    throw err;
  }
  if (opts.acquires) return result;
  await ctx.guard.check();
  await opts.pulse?.beat();
  return result;
}

/** Time left of an interrupted run's cleanup budget (CLEANUP_BUDGET_MS from the interruption), ms; Infinity when not interrupted. */
function cleanupLeftMs(ctx: RunContext): number {
  const at = ctx.guard.abortedAt;
  return at === undefined ? Infinity : Math.max(0, at + CLEANUP_BUDGET_MS - performance.now());
}

/**
 * Closes a recorded run a RunInterrupted stopped, within its cleanup budget: 'cancelled' for a signal (no
 * error: it is neither the day's run nor a failure), 'failed' with the error "lost the run lock: ..." for a lost
 * lock. The record is written through the pooled database, never the lock's session (which may be the one that
 * died), and only while the row is still 'running' (finishRun: a later run may have closed it); then the
 * artifacts it has (reflection, judged proposals, commands, log). The stage that was running has stopped by now
 * (step: STAGE_STOP_MS), its commands killed and its scratch directories removed. Never throws.
 */
async function closeInterrupted(
  ctx: RunContext,
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
 * record): nothing to close. 'cancelled' for a signal, 'failed' for a lost lock.
 */
function interruptedBeforeRecord(ctx: RunContext, interrupted: RunInterrupted): RunReport {
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

/** Stage: open the database. Returns null (report filled in) when it is down or busy. */
async function openDb(ctx: RunContext): Promise<Db | null> {
  const open = ctx.deps.openDb;
  try {
    const db = await open({ databaseUrl: ctx.options.databaseUrl, embeddedDir: ctx.options.embeddedDbDir });
    ctx.deps.logger.info(`database: ${db.description}`);
    return db;
  } catch (err) {
    const message = oneLine(err, ctx.secrets);
    if (err instanceof DatabaseBusyError) {
      ctx.report.status = 'skipped';
      ctx.report.skipReason = `lock held: ${message}`;
      ctx.report.summary = `skipped: ${ctx.report.skipReason}`;
      ctx.deps.logger.warn(ctx.report.summary);
    } else {
      ctx.report.status = 'failed';
      ctx.report.error = message;
      ctx.report.summary = `database unavailable, nothing was run: ${message}`;
      ctx.deps.logger.error(ctx.report.summary);
    }
    return null;
  }
}

/**
 * Stage: every gate, with the database and GitHub behind small lookups (gates/stage.ts); `pass` 'under-lock'
 * also writes what the circuit breaker decided (a reset, a trip).
 */
function gates(ctx: RunContext, db: Db, pass: GatePass): Promise<GateResult[]> {
  return checkGates(db, {
    pass,
    config: ctx.config,
    repository: ctx.options.repository,
    runDate: ctx.runDate,
    now: ctx.deps.clock.now(),
    force: ctx.options.force,
    currentRunId: ctx.options.currentWorkflowRunId,
    activity: ctx.activity,
    ...(ctx.breaker ? { breaker: ctx.breaker } : {}),
    logger: ctx.deps.logger,
    secrets: ctx.secrets,
  });
}

/** The run's GitHub client, built once from the token (none without one). */
function defaultGitHubClient(options: Options, deps: RunDeps): GitHubClient | undefined {
  if (!options.githubToken) return undefined;
  return createGitHubClient({
    token: options.githubToken,
    baseUrl: options.githubApiUrl,
    logger: deps.logger,
  });
}

/** Stage: random delay before the run (seed 004: 0-20 minutes). Returns the delay, ms. */
function jitter(ctx: RunContext): Promise<number> {
  return jitterBeforeRun({
    noJitterFlag: !ctx.options.jitter.enabled,
    trigger: ctx.options.trigger,
    force: ctx.options.force,
    maxMinutes: ctx.options.jitter.maxMinutes ?? ctx.config.scheduleConfig.jitterMinutes,
    random: ctx.deps.random,
    sleep: ctx.deps.sleep,
    logger: ctx.deps.logger,
  });
}

/** Records a skipped run and finishes the report. */
async function recordSkip(ctx: RunContext, db: Db, reason: string): Promise<RunReport> {
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
 * Creates the run record (status running, its first heartbeat now). Returns null when another run of the day got
 * there first.
 */
async function recordStart(ctx: RunContext, db: Db): Promise<number | null> {
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
async function source(ctx: RunContext): Promise<void> {
  const refusal = reportSource(ctx.report, await readRunSource(ctx.options.repoDir, ctx.options.configPath));
  if (refusal) ctx.deps.logger.info(`${refusal} (this dry run records it)`);
}

/** Stage: reflection (reflect/stage.ts), its insights and goals reported, then stored. */
async function reflectAndRecord(
  ctx: RunContext,
  db: Db,
  runId: number,
  baseSha: string,
): Promise<ReflectionResult> {
  const result = await reflectOn({
    config: ctx.config,
    repoDir: ctx.options.repoDir,
    repository: ctx.options.repository,
    baseSha,
    now: ctx.deps.clock.now(),
    request: ctx.options.request,
    policy: ctx.policy,
    env: ctx.env,
    secrets: ctx.secrets,
    ...(ctx.github ? { github: ctx.github } : {}),
    onCommand: (entry) => recordCommand(ctx, entry),
    ...(ctx.sandbox ? { sandbox: ctx.sandbox } : {}),
    guard: ctx.guard,
    logger: ctx.deps.logger,
  });
  ctx.report.insights = result.insights;
  ctx.goals = goalsOf(result).length;
  await recordReflection(db, runId, result, ctx.config.telemetry.storeReflections, ctx.deps.logger);
  return result;
}

/**
 * Stage, under the lock: what dead runs left. Their records (no heartbeat for STALE_AFTER_MS) are closed failed
 * and stale (gates/stage.ts markStale), their scratch directories of more than STALE_AFTER_MS ago whose process
 * is gone removed and their worktrees pruned (sandbox/leftovers.ts). A live run, of this repository or another,
 * is never touched.
 * @throws the database error of markStale
 */
async function cleanUpAfterDeadRuns(ctx: RunContext, db: Db): Promise<void> {
  const { logger } = ctx.deps;
  await markStale(db, ctx.options.repository, ctx.deps.clock.now(), logger);
  const pruned = await pruneLeftovers({ repoDir: ctx.options.repoDir, olderThanMs: STALE_AFTER_MS });
  if (pruned.removed.length > 0)
    logger.info(`removed ${pruned.removed.length} scratch director(ies) left by dead runs`);
  for (const problem of pruned.problems) logger.warn(`leftovers: ${problem}`);
}

/**
 * Stage: the sandbox of the repository's commands (issue #8), when the run will start any (a command
 * proposer or a repository check). Chosen from config `sandbox` (sandbox/plan.ts planRunSandbox: bwrap, else
 * unshare, or "none" as configured) and recorded on the run before the first command runs.
 * @throws Error with the reason and how to fix it when no mechanism works and the config does not say "none":
 *   the run fails before any command runs.
 */
async function prepareSandbox(ctx: RunContext, db: Db, runId: number): Promise<void> {
  const { options } = ctx;
  const decision = await planRunSandbox(
    ctx.config,
    {
      repoDir: options.repoDir,
      artifactsRoot: options.artifactsRoot,
      ...(options.databaseUrl ? {} : { embeddedDbDir: options.embeddedDbDir }),
      ...(options.databaseUrlFile ? { databaseUrlFile: options.databaseUrlFile } : {}),
      env: ctx.env,
    },
    ctx.deps.chooseSandbox,
  );
  if (!decision) return;
  if (!decision.ok) throw new Error(decision.message);
  await setRunSandbox(db, runId, decision.used);
  ctx.report.sandbox = decision.used;
  ctx.sandbox = decision.plan;
  const notice = sandboxNotice(decision.used, decision.plan);
  ctx.deps.logger[notice.level](notice.message);
}

/** Stage: the proposers within the run's limits (propose/stage.ts); the limits reached and tokens used go to the run. */
async function propose(ctx: RunContext, reflection: ReflectionResult, baseSha: string): Promise<Draft[]> {
  const result = await runProposers({
    config: ctx.config,
    policy: ctx.policy,
    env: ctx.env,
    secrets: ctx.secrets,
    ...(ctx.deps.fetch ? { fetch: ctx.deps.fetch } : {}),
    ...(ctx.sandbox ? { sandbox: ctx.sandbox } : {}),
    clock: ctx.deps.clock,
    logger: ctx.deps.logger,
    repoDir: ctx.options.repoDir,
    baseSha,
    reflection,
    request: ctx.options.request,
    onCommand: (entry) => recordCommand(ctx, entry),
    guard: ctx.guard,
  });
  ctx.limitsReached = result.limitsReached;
  ctx.tokensUsed = result.tokensUsed;
  return result.drafts;
}

/** Stage: the rails judge each draft, each recorded with its verdict (propose/judge.ts). */
function judge(ctx: RunContext, db: Db, runId: number, drafts: Draft[]): Promise<Judged[]> {
  return judgeAndRecord(db, runId, drafts, {
    policy: ctx.policy,
    secrets: ctx.secrets,
    storeProposals: ctx.config.telemetry.storeProposals,
    ...(ctx.report.baseSha ? { baseSha: ctx.report.baseSha } : {}),
    logger: ctx.deps.logger,
  });
}

/**
 * What a live run needs before anything happens (exit 2 otherwise): a config and a work tree equal to HEAD's
 * (git/checkout.ts liveRefusal), a GitHub repository (owner/name) and a token for its API.
 * @throws UsageError naming what is missing and how to provide it
 */
async function checkLive(ctx: RunContext): Promise<void> {
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
 * rails again and the repository's template). The limits reached go to the run.
 */
async function act(
  ctx: RunContext,
  db: Db,
  runId: number,
  reflection: ReflectionResult,
  judged: readonly Judged[],
): Promise<void> {
  const { options, config, deps } = ctx;
  const baseSha = ctx.report.baseSha!;
  let live: LiveAct | undefined;
  const bundle =
    !ctx.dryRun && options.publishMode === 'bundle' ? bundleTarget(ctx, runId, reflection) : undefined;
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
 * The client that opens and closes the run's pull requests: RunDeps.pullRequestClient, else one built from the
 * `pr-token`, else the run's client (none without a token).
 */
function publishingClient(ctx: RunContext): GitHubClient | undefined {
  const { deps, options } = ctx;
  return deps.pullRequestClient ?? (options.prToken ? prClient(ctx, options.prToken) : ctx.github);
}

/** The act stage's live wiring (live.ts liveActOf): GitHub, the default branch read from it, the remote. */
async function liveAct(ctx: RunContext, db: Db, github: GitHubClient, repo: RepoRef): Promise<LiveAct> {
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
  ctx: RunContext,
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
 * Stage, under the lock and before reflection, in dry and live runs: what became of the earlier pull requests
 * (act/reconcile.ts): merged, closed, still open, expired, conflicted. Only a live run that publishes (not
 * the propose job) comments, closes and rebuilds; others report what they would do. Without a token or a
 * GitHub repository nothing is looked up (each open one is reported 'not-checked'). The result goes to the
 * report (and run.json, the summary, the metrics). Never fails the run: an error of its own is logged.
 * @throws RunInterrupted when the run must stop
 */
async function reconcile(ctx: RunContext, db: Db, runId: number): Promise<void> {
  const { options, config, deps } = ctx;
  const github = publishingClient(ctx);
  let repo: RepoRef | null = null;
  try {
    repo = repoRefOf(options.repository);
  } catch {
    repo = null;
  }
  const write = !ctx.dryRun && options.publishMode !== 'bundle';
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
      ...(write && github && repo ? { rebuild } : {}),
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
function bundleTarget(ctx: RunContext, runId: number, reflection: ReflectionResult): BundleTarget {
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
function prClient(ctx: RunContext, token: string): GitHubClient {
  return createGitHubClient({ token, baseUrl: ctx.options.githubApiUrl, logger: ctx.deps.logger });
}

/**
 * Stage (after reconciliation, before reflection): the health of the self-changes merged less than
 * autoRevert.windowHours ago, and the revert pull requests of those whose required checks broke the default branch
 * (act/revert.ts watchMergedChanges; the guards are act/health.ts's). A live run reverts in the config's mode
 * (autoRevert.mode: "pr", "shadow" or "off"); a dry run, and the propose job of the two-job setup (no write
 * token), decide and record in shadow mode only. Needs GitHub (a token) and an owner/name repository: without
 * them it is skipped and said so. The results go to `report.reverts` (run.json) and the summary.
 * @throws RunInterrupted; the database's errors (GitHub's and git's are reported per change)
 */
async function health(ctx: RunContext, db: Db, runId: number): Promise<void> {
  const { options, config, deps } = ctx;
  // The propose job (publishMode 'bundle') holds no write token: it decides as a dry run does.
  const writes = !ctx.dryRun && options.publishMode !== 'bundle';
  const github = writes
    ? (deps.pullRequestClient ?? (options.prToken ? prClient(ctx, options.prToken) : ctx.github))
    : ctx.github;
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

/** Keeps one commands.jsonl entry (masked again with every secret of the run). */
function recordCommand(ctx: RunContext, entry: CommandLogEntry): void {
  ctx.commands.push(maskDeep(entry, ctx.secrets));
}

/** Closes the run record with its status, summary and metrics. */
async function closeRun(ctx: RunContext, db: Db, runId: number, status: 'success' | 'failed'): Promise<void> {
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

/** Writes the artifacts and, when the run got past the gates, uploads them on Actions. */
async function saveArtifacts(
  ctx: RunContext,
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
function runMetrics(ctx: RunContext): RunMetrics {
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

function finish(ctx: RunContext): RunReport {
  ctx.report.finishedAt = ctx.deps.clock.now().toISOString();
  ctx.report.metrics = runMetrics(ctx);
  return ctx.report;
}
