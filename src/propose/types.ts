/**
 * The Proposer interface and the proposals it returns. A proposer turns the run's context into zero or more
 * candidate changes, each a git patch plus metadata and provenance; it never applies anything to the
 * target's working tree.
 */
import type { ChangeType } from '../config/schema.js';
import type { ChangeFacts, RailsPolicy } from '../rails/types.js';
import type { Logger } from '../deps.js';
import type { ReflectionResult } from '../reflect/types.js';
import type { CommandLogEntry } from '../sandbox/runner.js';
import type { Provenance } from '../records.js';

/** A candidate change. `patch` is `git diff --binary` output against `baseSha`; `facts` come from git. */
export interface Proposal {
  title: string;
  description: string;
  type: ChangeType;
  /** Stated risk 0-5. */
  riskLevel: number;
  /** Effort 0-5. */
  effort: number;
  patch: string;
  facts: ChangeFacts;
  baseSha: string;
  provenance: Provenance;
}

/** A proposer's attempt that produced no usable change (command failed, timed out, patch did not apply...). */
export interface FailedProposal {
  title: string;
  /** Why it failed, one line, secrets masked. */
  error: string;
  provenance: Provenance;
}

/** What one proposer returns. */
export interface ProposerResult {
  proposals: Proposal[];
  failures: FailedProposal[];
}

/** What a proposer is given. */
export interface ProposerContext {
  /** Absolute path of the target git checkout. */
  repoDir: string;
  /** Commit the proposals are based on (HEAD of repoDir). */
  baseSha: string;
  reflection: ReflectionResult;
  /** Environment overrides (SELF_EVOLUTION_TIMEOUT, seconds), already applied to config. */
  logger: Logger;
  /** The human request for this run, if any. */
  request?: string;
  /**
   * The most time this proposer may take, ms: what is left of the run's proposal budget
   * (limits.proposeBudgetSeconds). A proposer cuts its own timeout to it. Absent: no limit beyond its own.
   */
  timeLimitMs?: number;
  /** Receives one entry per shell command the proposer ran or refused (the run's commands.jsonl). */
  onCommand?: (entry: CommandLogEntry) => void;
  /**
   * The rails policy the proposals will be judged by: the facts of a proposal hold the whole files it makes
   * the rails need (contentNeeds). Absent: none are read, and rules that need one block.
   */
  policy?: RailsPolicy;
  /**
   * The run's interruption (RunGuard.signal: SIGINT/SIGTERM, a lost run lock): when it aborts, a proposer stops
   * what it runs (a command's process group is killed, a model request aborted), removes its scratch worktree
   * and returns a failure at once. Absent: never interrupted.
   */
  signal?: AbortSignal;
}

/** A source of proposals. */
export interface Proposer {
  readonly kind: string;
  readonly name: string;
  /** Never throws for a failing command or bad patch: those come back in `failures`. */
  propose(ctx: ProposerContext): Promise<ProposerResult>;
}
