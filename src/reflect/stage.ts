/**
 * The reflection stage of a run: the signals gathered (reflect), masked with every secret of the run, stored
 * and logged.
 */
import type { Logger, RunGuard } from '../deps.js';
import type { Config } from '../config/schema.js';
import type { GitHubClient } from '../github/client.js';
import type { RailsPolicy } from '../rails/types.js';
import type { CommandLogEntry, SandboxPlan } from '../sandbox/runner.js';
import { maskDeep } from '../secrets.js';
import type { Db } from '../store/db.js';
import { insertReflection } from '../store/reflections.js';
import { reflect, type ReflectOptions } from './index.js';
import type { ReflectionResult } from './types.js';

/** What the reflection stage is given. */
export interface ReflectStageInput {
  /** The validated config: `reflection`, `prTemplateConfig.branchPrefix`. */
  config: Pick<Config, 'reflection' | 'prTemplateConfig'>;
  /** Absolute path of the target git checkout. */
  repoDir: string;
  /** 'owner/name' ('local/...' for a repository without a GitHub origin). */
  repository: string;
  /** The commit the run is based on. */
  baseSha: string;
  /** Now, from the run's clock. */
  now: Date;
  /** The human request of the run, if any. */
  request?: string;
  /** The rails policy: allowed and blocked paths (TODO notes), forbidden commands (checks). */
  policy: RailsPolicy;
  /** The environment the repository checks start from. */
  env: Readonly<Record<string, string | undefined>>;
  /** Every secret of the run: masked in everything the reflection returns. */
  secrets: readonly string[];
  /** The run's GitHub client; absent: GitHub is not read ('no GitHub token'). */
  github?: GitHubClient;
  /** Receives one entry per check command run or refused. */
  onCommand: (entry: CommandLogEntry) => void;
  /** The sandbox the checks run in; absent: none. */
  sandbox?: SandboxPlan;
  /**
   * The run's guard: its signal kills a running repository check and starts no other when it aborts (the
   * pipeline then stops at the stage boundary). Absent: never interrupted.
   */
  guard?: RunGuard;
  logger: Logger;
}

/**
 * Stage: reflection. Git history, TODO/FIXME notes under the allowed paths, GitHub (with the run's client,
 * when there is a token and the repository is on GitHub), the repository checks (config reflection.checks,
 * in a scratch worktree, each checked against the command policy and reported to `onCommand`) and the
 * request, ranked into goals. Returned masked with every secret of the run (store it with recordReflection).
 * @throws what reflect throws
 */
export async function reflectOn(input: ReflectStageInput): Promise<ReflectionResult> {
  const { config } = input;
  const raw = await reflect({
    repoDir: input.repoDir,
    now: input.now,
    baseSha: input.baseSha,
    windowDays: config.reflection.windowDays,
    maxGoals: config.reflection.maxGoals,
    request: input.request,
    paths: { allowed: input.policy.allowedPaths, blocked: input.policy.blockedPaths },
    github: githubForReflection(input),
    checks: {
      list: config.reflection.checks,
      env: input.env,
      secrets: input.secrets,
      forbiddenCommands: input.policy.forbiddenCommands,
      onCommand: input.onCommand,
      ...(input.sandbox ? { sandbox: input.sandbox } : {}),
      ...(input.guard ? { signal: input.guard.signal } : {}),
    },
    logger: input.logger,
  });
  return maskDeep(raw, input.secrets);
}

/**
 * Stores the (masked) reflection of run `runId` (insights text + signals JSONB, goals included) when `store`
 * (config telemetry.storeReflections), then logs its insights on one line.
 * @throws the database error when it cannot be stored
 */
export async function recordReflection(
  db: Db,
  runId: number,
  reflection: ReflectionResult,
  store: boolean,
  logger: Logger,
): Promise<void> {
  if (store) await insertReflection(db, runId, reflection);
  logger.info(`reflection: ${reflection.insights.split('\n').join(' | ')}`);
}

/** What the reflection reads from GitHub: the run's client and the repository, or why not. */
function githubForReflection(input: ReflectStageInput): ReflectOptions['github'] {
  const match = /^([^/\s]+)\/([^/\s]+)$/.exec(input.repository);
  if (!input.github) return { skipped: 'no GitHub token' };
  if (!match || input.repository.startsWith('local/')) {
    return { skipped: `${input.repository} is not a GitHub repository (no GitHub origin remote)` };
  }
  return {
    client: input.github,
    owner: match[1]!,
    repo: match[2]!,
    windowDays: input.config.reflection.githubWindowDays,
    branchPrefix: input.config.prTemplateConfig.branchPrefix,
  };
}
