/**
 * One self-evolution run, as data flowing through it (ARCHITECTURE.md):
 *
 *   options ─► config ─► database ─► gates (before jitter) ─► jitter ─► lock ─► gates (under the lock)
 *     ─► run record ─► reflection ─► proposers ─► rails ─► act (dry run: nothing) ─► run closed ─► artifacts
 *
 * One function per stage, each taking what the previous one returned. All I/O goes through injected
 * dependencies (RunDeps) so tests swap them without module mocking.
 */
import { isAbsolute, relative, resolve, sep } from 'node:path';
import type { Clock, Random, Sleep } from './deps.js';
import { UsageError, type Options } from './options.js';
import { sandboxSettings, type Config } from './config/schema.js';
import { loadConfig } from './config/load.js';
import { applyEnvOverrides } from './config/overrides.js';
import type { Db } from './store/db.js';
import { DatabaseBusyError } from './store/errors.js';
import { migrate } from './store/migrate.js';
import { tryAcquireRunLock, type RunLock } from './store/lock.js';
import {
  finishRun,
  setRunSandbox,
  findRunOnDate,
  insertSkippedRun,
  lastFailedRun,
  markStaleRuns,
  startRun,
} from './store/runs.js';
import { insertReflection } from './store/reflections.js';
import { getFlag } from './store/flags.js';
import type { GateResult } from './gates/types.js';
import { firstBlocking, skipReasonOf } from './gates/types.js';
import { runGates } from './gates/index.js';
import { utcRunDate } from './gates/already-ran.js';
import { applyJitter, jitterPolicy } from './gates/jitter.js';
import { createActivitySource, type ActivitySource } from './github/activity.js';
import { createGitHubClient, type GitHubClient } from './github/client.js';
import { reflect, type ReflectOptions } from './reflect/index.js';
import { goalsOf, type ReflectionResult } from './reflect/types.js';
import { runProposers, type Draft } from './propose/stage.js';
import { judgeAndRecord, type Judged } from './propose/judge.js';
import type { CommandLogEntry, SandboxPlan } from './sandbox/runner.js';
import type { SandboxChoice, SandboxMode } from './sandbox/mechanism.js';
import { planSandbox } from './sandbox/plan.js';
import { DEFAULT_POLICY_PATH, policyFromConfig } from './rails/policy.js';
import type { RailsPolicy } from './rails/types.js';
import { ensureExcluded, headSha, isGitRepository } from './git/git.js';
import { hostsSelfEvolution } from './git/links.js';
import type { RunLogger } from './report/logger.js';
import { maskDeep, maskSecrets, oneLine, secretEnvValues, secretsOf } from './secrets.js';

export { oneLine } from './secrets.js';
import type { ArtifactUploader } from './report/artifacts.js';
import {
  artifactsDirOf,
  closedRunSummary,
  emptyReport,
  metricsOf,
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
  /** GitHub activity (workflow runs, deployments); default: read through `github` when there is one. */
  activity?: ActivitySource;
  /** fetch for the openai proposers' SDK (tests); default globalThis.fetch. */
  fetch?: typeof fetch;
  /** Artifact upload on Actions; when absent, artifacts are only written locally. */
  uploadArtifacts?: ArtifactUploader;
  /** Finds the sandbox mechanism for a mode (tests); default: probing bwrap, then unshare (sandbox/mechanism.ts). */
  chooseSandbox?: (mode: SandboxMode) => Promise<SandboxChoice>;
}

/** Measures stage durations (ms) with the injected clock. */
class StageTimer {
  readonly stagesMs: Record<string, number> = {};
  constructor(private readonly clock: Clock) {}
  async time<T>(stage: string, fn: () => Promise<T>): Promise<T> {
    const start = this.clock.now().getTime();
    try {
      return await fn();
    } finally {
      this.stagesMs[stage] = (this.stagesMs[stage] ?? 0) + (this.clock.now().getTime() - start);
    }
  }
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
}

/**
 * Runs the pipeline once and returns its report. Never throws for a run that failed at run time (the
 * report says 'failed'); throws only for bad input the user must fix before anything happens.
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
  const hosts = await timer.time('repository', () => checkRepository(options));
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
  };
  deps.logger.info(
    `self-evolution: ${options.repository} (${options.repoDir}), day ${ctx.runDate} UTC, ${ctx.dryRun ? 'dry run' : 'live'}`,
  );

  const db = await timer.time('database', () => openDb(ctx));
  if (!db) return finish(ctx);
  let lock: RunLock | null = null;
  try {
    await timer.time('migrate', () => migrate(db));
    const before = await timer.time('gates', () => checkGates(ctx, db));
    ctx.report.gates.beforeJitter = before;
    if (firstBlocking(before)) return await recordSkip(ctx, db, skipReasonOf(firstBlocking(before)!));

    ctx.report.jitterMs = await timer.time('jitter', () => jitter(ctx));

    lock = await timer.time('lock', () => tryAcquireRunLock(db, options.repository));
    if (!lock)
      return await recordSkip(
        ctx,
        db,
        'lock held: another self-evolution run for this repository is in progress',
      );
    await markStale(ctx, db);
    const underLock = await timer.time('gatesUnderLock', () => checkGates(ctx, db));
    ctx.report.gates.underLock = underLock;
    if (firstBlocking(underLock)) return await recordSkip(ctx, db, skipReasonOf(firstBlocking(underLock)!));

    const runId = await timer.time('record', () => recordStart(ctx, db));
    if (runId === null) return await recordSkip(ctx, db, 'already ran today (another run started first)');
    try {
      const baseSha = await headSha(options.repoDir);
      await timer.time('sandbox', () => prepareSandbox(ctx, db, runId));
      const reflection = await timer.time('reflect', () => reflectOn(ctx, db, runId, baseSha));
      const drafts = await timer.time('propose', () => propose(ctx, reflection, baseSha));
      const proposals = await timer.time('rails', () =>
        judgeAndRecord(db, runId, drafts, {
          policy: ctx.policy,
          secrets: ctx.secrets,
          storeProposals: ctx.config.telemetry.storeProposals,
          logger: deps.logger,
        }),
      );
      ctx.report.proposals = proposals.map((p) => p.report);
      await timer.time('act', () => act(ctx));
      await closeRun(ctx, db, runId, 'success');
      await timer.time('artifacts', () => saveArtifacts(ctx, runId, reflection, proposals, true));
    } catch (err) {
      ctx.report.error = oneLine(err, secrets);
      deps.logger.error(`run failed: ${ctx.report.error}`);
      await closeRun(ctx, db, runId, 'failed').catch((e) =>
        deps.logger.error(`could not record the failure: ${oneLine(e, secrets)}`),
      );
      await saveArtifacts(ctx, runId, null, [], true).catch(() => undefined);
    }
    return finish(ctx);
  } catch (err) {
    // Failures before a run record exists (migrations, gates' database reads, the lock).
    ctx.report.status = 'failed';
    ctx.report.error = oneLine(err, secrets);
    ctx.report.summary = `failed before the run started: ${ctx.report.error}`;
    deps.logger.error(ctx.report.summary);
    return finish(ctx);
  } finally {
    if (lock) await lock.release().catch(() => undefined);
    await db.close().catch(() => undefined);
  }
}

/** Stage: config file, validated, with the environment overrides applied (recorded on the run). */
async function loadEffectiveConfig(options: Options): Promise<Config> {
  const path = isAbsolute(options.configPath)
    ? options.configPath
    : resolve(options.repoDir, options.configPath);
  const loaded = await loadConfig(path);
  const config = applyEnvOverrides(loaded.config, options.envOverrides);
  if (!options.dryRun && !config.dryRunMode) {
    throw new UsageError(
      'live mode (opening pull requests) is not available yet: run with dry-run (the default), or set dryRunMode: true',
    );
  }
  return config;
}

/**
 * The config file the run reads as the rails protect it: relative to the repository root, `/`-separated; the
 * default path when the file lies outside the repository (then no change can touch it anyway).
 */
function policyPathOf(options: Options): string {
  const abs = isAbsolute(options.configPath)
    ? options.configPath
    : resolve(options.repoDir, options.configPath);
  const rel = relative(options.repoDir, abs);
  return rel === '' || rel.startsWith('..') || isAbsolute(rel)
    ? DEFAULT_POLICY_PATH
    : rel.split(sep).join('/');
}

/**
 * Stage: the target must be a git checkout with at least one commit. Returns whether it is Self-Evolution's
 * own repository (its root package.json at HEAD, the base of every proposal, is named `self-evolution`): the
 * files the action is built from are then self-protected too (docs/rails.md "Self-protection").
 * @throws UsageError naming the directory otherwise
 */
async function checkRepository(options: Options): Promise<boolean> {
  if (!(await isGitRepository(options.repoDir))) {
    throw new UsageError(
      `not a git repository: ${options.repoDir} (pass --repo with the path of a git checkout)`,
    );
  }
  try {
    await headSha(options.repoDir);
  } catch (err) {
    throw new UsageError(`${options.repoDir} has no commit to propose changes against: ${oneLine(err, [])}`);
  }
  await ensureExcluded(options.repoDir, '.self-evolution/');
  return hostsSelfEvolution(options.repoDir, 'HEAD');
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

/** Stage: every gate, with the database and GitHub behind small lookups. */
async function checkGates(ctx: RunContext, db: Db): Promise<GateResult[]> {
  const { options, config } = ctx;
  const activity = ctx.activity;
  const results = await runGates({
    flags: { getFlag: (key) => getFlag(db, key) },
    history: {
      findRunOnDate: (repository, runDate) => findRunOnDate(db, repository, runDate),
      lastFailedRun: (repository) => lastFailedRun(db, repository),
    },
    activity,
    config,
    repository: options.repository,
    runDate: ctx.runDate,
    now: ctx.deps.clock.now(),
    force: options.force,
    currentRunId: options.currentWorkflowRunId,
  });
  for (const g of results)
    ctx.deps.logger.info(`gate ${g.gate}: ${g.outcome} (${maskSecrets(g.reason, ctx.secrets)})`);
  return results;
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
async function jitter(ctx: RunContext): Promise<number> {
  const policy = jitterPolicy({
    noJitterFlag: !ctx.options.jitter.enabled,
    trigger: ctx.options.trigger,
    force: ctx.options.force,
  });
  const result = await applyJitter({
    maxMinutes: ctx.options.jitter.maxMinutes ?? ctx.config.scheduleConfig.jitterMinutes,
    enabled: policy.enabled,
    reasonDisabled: policy.reason,
    random: ctx.deps.random,
    sleep: ctx.deps.sleep,
    logger: ctx.deps.logger,
  });
  return result.delayMs;
}

/** Under the lock: runs left 'running' by a crashed process are marked failed. */
async function markStale(ctx: RunContext, db: Db): Promise<void> {
  const stale = await markStaleRuns(db, ctx.options.repository, ctx.deps.clock.now());
  if (stale.length > 0)
    ctx.deps.logger.warn(`marked stale run(s) ${stale.map((id) => `#${id}`).join(', ')} as failed`);
}

/** Records a skipped run and finishes the report. */
async function recordSkip(ctx: RunContext, db: Db, reason: string): Promise<RunReport> {
  const { report } = ctx;
  report.status = 'skipped';
  report.skipReason = reason;
  report.summary = `skipped: ${reason}`;
  ctx.deps.logger.info(report.summary);
  const finishedAt = ctx.deps.clock.now();
  const run = await insertSkippedRun(db, {
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
  });
  report.runId = run.id;
  await saveArtifacts(ctx, run.id, null, [], false).catch((e) =>
    ctx.deps.logger.warn(`could not write artifacts: ${oneLine(e, ctx.secrets)}`),
  );
  return finish(ctx);
}

/** Creates the run record (status running). Returns null when another run of the day got there first. */
async function recordStart(ctx: RunContext, db: Db): Promise<number | null> {
  const started = await startRun(db, {
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
  });
  if (!started.ok) return null;
  ctx.report.runId = started.run.id;
  ctx.deps.logger.info(`run #${started.run.id} started`);
  return started.run.id;
}

/**
 * Stage: reflection. Git history, TODO/FIXME notes under the allowed paths, GitHub (with the run's client,
 * when there is a token and the repository is on GitHub), the repository checks (config reflection.checks,
 * in a scratch worktree, each checked against the command policy and logged to commands.jsonl) and the
 * request, ranked into goals. Masked with every secret of the run, then stored (insights text + signals
 * JSONB, goals included) and returned.
 */
async function reflectOn(ctx: RunContext, db: Db, runId: number, baseSha: string): Promise<ReflectionResult> {
  const { options, config } = ctx;
  const raw = await reflect({
    repoDir: options.repoDir,
    now: ctx.deps.clock.now(),
    baseSha,
    windowDays: config.reflection.windowDays,
    maxGoals: config.reflection.maxGoals,
    request: options.request,
    paths: { allowed: ctx.policy.allowedPaths, blocked: ctx.policy.blockedPaths },
    github: githubForReflection(ctx),
    checks: {
      list: config.reflection.checks,
      env: ctx.env,
      secrets: ctx.secrets,
      forbiddenCommands: ctx.policy.forbiddenCommands,
      onCommand: (entry) => recordCommand(ctx, entry),
      ...(ctx.sandbox ? { sandbox: ctx.sandbox } : {}),
    },
    logger: ctx.deps.logger,
  });
  const reflection = maskDeep(raw, ctx.secrets);
  ctx.report.insights = reflection.insights;
  ctx.goals = goalsOf(reflection).length;
  if (config.telemetry.storeReflections) await insertReflection(db, runId, reflection);
  ctx.deps.logger.info(`reflection: ${reflection.insights.split('\n').join(' | ')}`);
  return reflection;
}

/**
 * Stage: the sandbox of the repository's commands (issue #8), when the run will start any (a command
 * proposer or a repository check). Chosen from config `sandbox` (planSandbox: bwrap, else unshare, or "none" as
 * configured) and recorded on the run before the first command runs.
 * @throws Error with the reason and how to fix it when no mechanism works and the config does not say "none":
 *   the run fails before any command runs.
 */
async function prepareSandbox(ctx: RunContext, db: Db, runId: number): Promise<void> {
  const { config, options } = ctx;
  const commands = config.proposers.some((p) => p.kind === 'command') || config.reflection.checks.length > 0;
  if (!commands) return;
  const decision = await planSandbox(
    sandboxSettings(config.sandbox),
    {
      repoDir: options.repoDir,
      artifactsRoot: options.artifactsRoot,
      ...(options.databaseUrl ? {} : { embeddedDbDir: options.embeddedDbDir }),
      ...(options.databaseUrlFile ? { databaseUrlFile: options.databaseUrlFile } : {}),
      env: ctx.env,
    },
    ctx.deps.chooseSandbox,
  );
  if (!decision.ok) throw new Error(decision.message);
  await setRunSandbox(db, runId, decision.used);
  ctx.report.sandbox = decision.used;
  ctx.sandbox = decision.plan;
  if (decision.used === 'none') {
    ctx.deps.logger.warn(
      'sandbox: none (config "sandbox": "none"): the repository\'s commands run without isolation',
    );
  } else {
    ctx.deps.logger.info(
      `sandbox: ${decision.used}, network ${decision.plan.network ? 'on' : 'none'} by default, ${decision.plan.hidden.length} path(s) hidden`,
    );
  }
}

/** What the reflection reads from GitHub: the run's client and the repository, or why not. */
function githubForReflection(ctx: RunContext): ReflectOptions['github'] {
  const match = /^([^/\s]+)\/([^/\s]+)$/.exec(ctx.options.repository);
  if (!ctx.github) return { skipped: 'no GitHub token' };
  if (!match || ctx.options.repository.startsWith('local/')) {
    return { skipped: `${ctx.options.repository} is not a GitHub repository (no GitHub origin remote)` };
  }
  return {
    client: ctx.github,
    owner: match[1]!,
    repo: match[2]!,
    windowDays: ctx.config.reflection.githubWindowDays,
    branchPrefix: ctx.config.prTemplateConfig.branchPrefix,
  };
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
  });
  ctx.limitsReached = result.limitsReached;
  ctx.tokensUsed = result.tokensUsed;
  return result.drafts;
}

/** Keeps one commands.jsonl entry (masked again with every secret of the run). */
function recordCommand(ctx: RunContext, entry: CommandLogEntry): void {
  ctx.commands.push(maskDeep(entry, ctx.secrets));
}

/** Stage: act on allowed proposals. Dry run only for now: nothing is applied, pushed or opened. */
async function act(ctx: RunContext): Promise<void> {
  const allowed = ctx.report.proposals.filter((p) => p.verdict === 'allowed').length;
  ctx.deps.logger.info(
    `dry run: ${allowed} allowed proposal(s) would be opened as pull requests; nothing was changed`,
  );
}

/** Closes the run record with its status, summary and metrics. */
async function closeRun(ctx: RunContext, db: Db, runId: number, status: 'success' | 'failed'): Promise<void> {
  const { report } = ctx;
  report.status = status;
  const m = runMetrics(ctx);
  report.summary = closedRunSummary(status, m, report.error);
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
  const dir = artifactsDirOf(ctx.options.artifactsRoot, runId);
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
    secrets: ctx.secrets,
  });
}

function finish(ctx: RunContext): RunReport {
  ctx.report.finishedAt = ctx.deps.clock.now().toISOString();
  ctx.report.metrics = runMetrics(ctx);
  return ctx.report;
}
