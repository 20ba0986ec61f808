/**
 * One self-evolution run, as data flowing through it (README, "What one run does"):
 *
 *   options ─► config ─► live preconditions ─► database ─► gates (before jitter) ─► jitter ─► lock
 *     ─► dead runs' leftovers ─► gates (under the lock) ─► run record ─► sandbox ─► reconcile (earlier pull
 *     requests) ─► health (merged self-changes: revert pull requests) ─► reflection ─► proposers ─► rails
 *     ─► act (dry run: previews) ─► run closed ─► artifacts
 *
 * This file is the list of stages: one line per stage, each taking what the previous one returned. The stage
 * bodies live in their rooms; those of live mode (checkLive, reconcile, health, act) in live-stages.ts, shared
 * with the publish job, and those of the run record (recordStart, recordSkip, closeRun, closeInterrupted,
 * saveArtifacts) in run-record.ts; the small adapters here only hand each stage what it reads of the run. All
 * I/O goes through injected dependencies (RunDeps) so tests swap them without module mocking.
 *
 * Every stage runs under the run's guard (store/run-guard.ts): checked before and after it, and, once the run is
 * recorded, followed by a heartbeat. A signal (RunDeps.signal: SIGINT, SIGTERM) or the loss of the run lock
 * interrupts the run: its commands are killed, its scratch directories removed, its record closed 'cancelled'
 * (signal) or 'failed' ("lost the run lock: ..."), its artifacts written and its lock released, all within
 * CLEANUP_BUDGET_MS (sandbox/interrupts.ts).
 */
import { RunInterrupted, type Clock, type Random, type Sleep } from './deps.js';
import { StageTimer } from './report/stage-timer.js';
import type { Options } from './options.js';
import { loadEffectiveConfig, policyPathOf } from './config/effective.js';
import type { Db } from './store/db.js';
import { DatabaseBusyError, DatabaseUnavailableError } from './store/errors.js';
import { migrate } from './store/migrate.js';
import { readDatabaseId } from './store/database-id.js';
import { runLockOptionsOf, tryAcquireRunLock, type RunLock } from './store/lock.js';
import type { OpenDatabaseOptions } from './store/open.js';
import { connectRetryFor, describeDatabaseUrl } from './store/pg.js';
import { setRunSandbox, STALE_AFTER_MS } from './store/runs.js';
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
import { checkGates, markStale, tripPending, type GatePass } from './gates/stage.js';
import { createActivitySource, type ActivitySource } from './github/activity.js';
import { createBreakerGitHub, type BreakerGitHub } from './github/breaker.js';
import { createGitHubClient, type GitHubClient } from './github/client.js';
import { recordReflection, reflectOn } from './reflect/stage.js';
import { goalsOf, type ReflectionResult } from './reflect/types.js';
import { runProposers, type Draft } from './propose/stage.js';
import { judgeAndRecord, type Judged } from './propose/judge.js';
import type { SandboxPlan } from './sandbox/runner.js';
import type { SandboxChoice, SandboxMode } from './sandbox/mechanism.js';
import { planRunSandbox, sandboxNotice } from './sandbox/plan.js';
import { STAGE_STOP_MS, within } from './sandbox/interrupts.js';
import { pruneLeftovers } from './sandbox/leftovers.js';
import { policyFromConfig } from './rails/policy.js';
import { checkRepository } from './git/checkout.js';
import type { RunLogger } from './report/logger.js';
import { oneLine, secretEnvValues, secretsOf } from './secrets.js';
import type { ArtifactUploader } from './report/artifacts.js';
import { emptyReport } from './report/run-report.js';
import type { RunReport } from './report/types.js';
import { act, checkLive, health, liveJobOf, reconcile, type LiveRunContext } from './live-stages.js';
import {
  cleanupLeftMs,
  closeInterrupted,
  closeRun,
  finish,
  interruptedBeforeRecord,
  recordCommand,
  recordSkip,
  recordStart,
  saveArtifacts,
  type RunRecordContext,
} from './run-record.js';

/** The injected I/O of a run. */
export interface RunDeps {
  clock: Clock;
  random: Random;
  sleep: Sleep;
  logger: RunLogger;
  /**
   * Opens the database. The CLI passes store/open.ts openDatabase (a URL, else the embedded database); the action
   * passes a pg-only opener so the embedded engines never enter the ncc bundle. `connectRetry` (from config
   * database.connectRetrySeconds) says how long to wait while the server is full.
   */
  openDb: (o: OpenDatabaseOptions) => Promise<Db>;
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

/**
 * State shared by the stages of one run: what the live stages (live-stages.ts) and the run record's stages
 * (run-record.ts) read, and what only this file's adapters do.
 */
interface RunContext extends LiveRunContext, RunRecordContext {
  deps: RunDeps;
  /** Everything to mask: the token, the database URL and its password, secret-looking environment values. */
  secrets: string[];
  report: RunReport;
  /** The run's GitHub client (token present), shared by the activity gate and the reflection. */
  github?: GitHubClient;
  activity?: ActivitySource;
  breaker?: BreakerGitHub;
  timer: StageTimer;
  /** The sandbox of the repository's commands (set by prepareSandbox when the run starts any). */
  sandbox?: SandboxPlan;
  /**
   * The run's guard (a RunGuard): RunDeps.signal, and the run lock once taken. Checked at every stage boundary;
   * the stages that start long work or side effects receive it (the proposers, the repository checks, act).
   */
  guard: ManagedRunGuard;
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
    job: liveJobOf(options),
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
    // A signal while waiting for a full database: cancelled, like any run stopped before its record.
    return ctx.guard.reason
      ? interruptedBeforeRecord(ctx, new RunInterrupted(ctx.guard.reason))
      : finish(ctx);
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

    const lockOptions = runLockOptionsOf(config.database, options.currentWorkflowRunId);
    lock = await step(ctx, 'lock', () => tryAcquireRunLock(db, options.repository, lockOptions), {
      acquires: true,
    });
    if (!lock)
      return await recordSkip(
        ctx,
        db,
        'lock held: another self-evolution run for this repository is in progress',
      );
    ctx.guard.watch(lock);
    deps.logger.info(
      `run lock: ${lock.kind === 'lease' ? `lease, token ${lock.token}` : 'advisory lock'} (${lock.why})`,
    );
    if (ctx.report.database) ctx.report.database.lock = { kind: lock.kind, why: lock.why };
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

/** Stage: open the database. Returns null (report filled in) when it is down or busy. */
async function openDb(ctx: RunContext): Promise<Db | null> {
  const open = ctx.deps.openDb;
  const url = ctx.options.databaseUrl?.trim();
  try {
    const connectRetry = connectRetryFor(
      ctx.config.database.connectRetrySeconds,
      url ? describeDatabaseUrl(url) : 'the embedded database',
      ctx.deps,
      ctx.guard.signal,
    );
    const db = await open({
      databaseUrl: ctx.options.databaseUrl,
      embeddedDir: ctx.options.embeddedDbDir,
      connectRetry,
    });
    ctx.deps.logger.info(`database: ${db.description}`);
    return db;
  } catch (err) {
    if (ctx.guard.reason) return null;
    const message = oneLine(err, ctx.secrets);
    if (err instanceof DatabaseBusyError) {
      ctx.report.status = 'skipped';
      ctx.report.skipReason = `lock held: ${message}`;
      ctx.report.summary = `skipped: ${ctx.report.skipReason}`;
      ctx.deps.logger.warn(ctx.report.summary);
    } else {
      ctx.report.status = 'failed';
      ctx.report.error = message;
      // Waited (the server was full or too busy to answer) and still no connection.
      const full = err instanceof DatabaseUnavailableError && err.attempts > 1;
      ctx.report.summary =
        `database unavailable, nothing was run: ${message}` +
        (full
          ? ' (the database stayed full or too busy: raise its max_connections, put a pooler in front of it, or raise database.connectRetrySeconds; this run was not recorded and counts nowhere)'
          : '');
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

/** Stage: random delay before the run (0-20 minutes). Returns the delay, ms. */
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
 * Stage: the sandbox of the repository's commands, when the run will start any (a command
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
