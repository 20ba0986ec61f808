/**
 * The propose stage of a run: every configured proposer, in order, within the run's limits (config `limits`),
 * with the bookkeeping of those limits (which were reached, tokens used).
 */
import type { Clock, Logger, RunGuard } from '../deps.js';
import type { Config } from '../config/schema.js';
import type { RailsPolicy } from '../rails/types.js';
import type { LimitReached, Provenance } from '../records.js';
import type { ReflectionResult } from '../reflect/types.js';
import type { CommandLogEntry, SandboxPlan } from '../sandbox/runner.js';
import { oneLine } from '../secrets.js';
import { createProposers } from './index.js';
import type { FailedProposal, Proposal } from './types.js';

/** A proposal or a proposer failure, before the rails. */
export type Draft = { kind: 'proposal'; proposal: Proposal } | { kind: 'failed'; failure: FailedProposal };

/** What the propose stage is given: the run's config, policy, environment and the reflection. */
export interface ProposeStageInput {
  /** The validated config: `proposers` (in order) and `limits`. */
  config: Pick<Config, 'proposers' | 'limits'>;
  /** The rails policy (stated in prompts, its forbiddenCommands checked before a command runs). */
  policy: RailsPolicy;
  /** The environment commands start from. */
  env: Readonly<Record<string, string | undefined>>;
  /** Every secret of the run (masked in proposer errors). */
  secrets: readonly string[];
  /** fetch for the openai proposers' SDK (tests); default globalThis.fetch. */
  fetch?: typeof fetch;
  /** The sandbox command proposers run in; absent: none. */
  sandbox?: SandboxPlan;
  /** The run's clock: proposeBudgetSeconds is measured with it. */
  clock: Clock;
  logger: Logger;
  /** Absolute path of the target git checkout. */
  repoDir: string;
  /** The commit the proposals are based on. */
  baseSha: string;
  reflection: ReflectionResult;
  /** The human request of the run, if any. */
  request?: string;
  /** Receives one entry per shell command a proposer ran or refused. */
  onCommand: (entry: CommandLogEntry) => void;
  /**
   * The run's guard: checked before each proposer starts, and its signal handed to the proposers (a running
   * command's process group is killed, a model request aborted when it aborts). Absent: never interrupted.
   */
  guard?: RunGuard;
}

/** What the propose stage returns. */
export interface ProposeStageResult {
  /** One draft per proposal or failure, in proposer order (limits' refusals included as failures). */
  drafts: Draft[];
  /** The limits reached, each once, with the number of proposers not run and proposals dropped. */
  limitsReached: LimitReached[];
  /** Tokens the openai proposers reported using (sum of `usage.totalTokens`). */
  tokensUsed: number;
}

/**
 * Stage: every configured proposer, in order, with the goals, within the run's limits (config `limits`):
 * - maxProposalsPerRun: once that many proposals (changes) were made, later proposers are not run and extra
 *   proposals of a proposer are dropped; each is recorded as a failed proposal "limit reached:
 *   maxProposalsPerRun";
 * - proposeBudgetSeconds (measured with `input.clock`): each proposer gets what is left as its time limit (ms);
 *   when nothing is left, later proposers are recorded as failed "limit reached: proposeBudgetSeconds";
 * - tokenBudgetPerRun: the usage openai proposers report is summed; once it reaches the budget, later openai
 *   proposers are recorded as failed "limit reached: tokenBudgetPerRun".
 * Every limit reached is returned (limitsReached) and logged as a warning. A proposer that throws becomes a
 * failure; the stage goes on.
 * @throws Error only when a proposer of the config cannot be built (createProposers: an unknown kind)
 * @throws RunInterrupted (deps.ts) from `input.guard.check()` before a proposer starts, once the run must stop;
 *   the proposer that was running has stopped and removed its scratch worktree by then
 */
export async function runProposers(input: ProposeStageInput): Promise<ProposeStageResult> {
  const { limits } = input.config;
  const { clock, logger } = input;
  const stageStart = clock.now().getTime();
  const budgetMs = limits.proposeBudgetSeconds * 1000;
  const limitsReached: LimitReached[] = [];
  let tokensUsed = 0;
  let proposals = 0;
  const drafts: Draft[] = [];

  /** Records that a limit was reached (the first time with its detail, later only the count) and logs it. */
  const limitReached = (limit: LimitReached['limit'], value: number, detail: string, skipped = 1): void => {
    const known = limitsReached.find((l) => l.limit === limit);
    if (known) known.skipped += skipped;
    else limitsReached.push({ limit, value, skipped, detail });
    logger.warn(`limit reached: ${limit} (${value}): ${detail}`);
  };

  const proposers = createProposers(input.config.proposers, {
    policy: input.policy,
    env: input.env,
    secrets: input.secrets,
    ...(input.fetch ? { fetch: input.fetch } : {}),
    ...(input.sandbox ? { sandbox: input.sandbox } : {}),
  });
  for (const proposer of proposers) {
    await input.guard?.check();
    if (proposals >= limits.maxProposalsPerRun) {
      const error = `limit reached: maxProposalsPerRun (${limits.maxProposalsPerRun} proposals); proposer not run`;
      limitReached('maxProposalsPerRun', limits.maxProposalsPerRun, `proposer "${proposer.name}" not run`);
      drafts.push(notRun(proposer, 'maxProposalsPerRun', error));
      continue;
    }
    const leftMs = budgetMs - (clock.now().getTime() - stageStart);
    if (leftMs <= 0) {
      const error = `limit reached: proposeBudgetSeconds (${limits.proposeBudgetSeconds} s used up); proposer not run`;
      limitReached(
        'proposeBudgetSeconds',
        limits.proposeBudgetSeconds,
        `proposer "${proposer.name}" not run`,
      );
      drafts.push(notRun(proposer, 'proposeBudgetSeconds', error));
      continue;
    }
    if (proposer.kind === 'openai' && tokensUsed >= limits.tokenBudgetPerRun) {
      const error = `limit reached: tokenBudgetPerRun (${tokensUsed} of ${limits.tokenBudgetPerRun} tokens used); proposer not run`;
      limitReached('tokenBudgetPerRun', limits.tokenBudgetPerRun, `proposer "${proposer.name}" not run`);
      drafts.push(notRun(proposer, 'tokenBudgetPerRun', error));
      continue;
    }
    logger.info(`proposer ${proposer.kind} "${proposer.name}"`);
    try {
      const result = await proposer.propose({
        repoDir: input.repoDir,
        baseSha: input.baseSha,
        reflection: input.reflection,
        logger,
        request: input.request,
        timeLimitMs: leftMs,
        onCommand: input.onCommand,
        policy: input.policy,
        ...(input.guard ? { signal: input.guard.signal } : {}),
      });
      for (const p of [
        ...result.proposals.map((x) => x.provenance),
        ...result.failures.map((f) => f.provenance),
      ])
        tokensUsed += tokensOf(p);
      for (const proposal of result.proposals) {
        if (proposals < limits.maxProposalsPerRun) {
          proposals++;
          drafts.push({ kind: 'proposal', proposal });
          continue;
        }
        limitReached(
          'maxProposalsPerRun',
          limits.maxProposalsPerRun,
          `proposal "${proposal.title}" of "${proposer.name}" dropped`,
        );
        drafts.push({
          kind: 'failed',
          failure: {
            title: proposal.title,
            error: `limit reached: maxProposalsPerRun (${limits.maxProposalsPerRun} proposals); proposal dropped, not judged`,
            provenance: { ...proposal.provenance, limit: 'maxProposalsPerRun' },
          },
        });
      }
      for (const failure of result.failures) drafts.push({ kind: 'failed', failure });
    } catch (err) {
      drafts.push({
        kind: 'failed',
        failure: {
          title: `${proposer.name}: proposer error`,
          error: oneLine(err, input.secrets),
          provenance: { proposer: proposer.kind, name: proposer.name, durationMs: 0 },
        },
      });
    }
  }
  if (tokensUsed >= limits.tokenBudgetPerRun && !limitsReached.some((l) => l.limit === 'tokenBudgetPerRun')) {
    limitReached(
      'tokenBudgetPerRun',
      limits.tokenBudgetPerRun,
      `${tokensUsed} tokens used (no openai proposer was left to skip)`,
      0,
    );
  }
  if (input.config.proposers.length === 0) logger.warn('no proposers configured (config key "proposers")');
  return { drafts, limitsReached, tokensUsed };
}

/** Tokens an openai proposer's provenance says it used (0 for other proposers). */
function tokensOf(p: Provenance): number {
  const usage = (p as { usage?: { totalTokens?: unknown } }).usage;
  return p.proposer === 'openai' && typeof usage?.totalTokens === 'number' ? usage.totalTokens : 0;
}

/** A failed draft for a proposer that was not run because of a limit. */
function notRun(proposer: { kind: string; name: string }, limit: string, error: string): Draft {
  return {
    kind: 'failed',
    failure: {
      title: `${proposer.name}: not run`,
      error,
      provenance: {
        proposer: proposer.kind,
        name: proposer.name,
        durationMs: 0,
        limit,
        signalsAddressed: [],
      },
    },
  };
}
