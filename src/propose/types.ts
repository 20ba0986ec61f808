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

/** Where a proposal came from (stored as provenance JSONB and in artifacts). */
export interface Provenance {
  /** Proposer kind: 'command' | 'file' | 'openai'. */
  proposer: string;
  /** Proposer name from config (or derived). */
  name: string;
  /** The command run (command proposer), or the .patch file read (file proposer). */
  command?: string;
  source?: string;
  exitCode?: number | null;
  /** Duration of the proposer's work for this proposal, ms. */
  durationMs: number;
  /** Last lines of the command's stdout/stderr (secrets masked), at most 4 KiB each. */
  stdoutTail?: string;
  stderrTail?: string;
  timedOut?: boolean;
  /** Ids of the reflection goals the proposer was given (e.g. 'request', 'check:lint'); [] when none. */
  signalsAddressed?: string[];
  /** sha256 (hex) of the full prompt the proposer was given (stored in the database instead of the prompt). */
  promptSha256?: string;
  /**
   * The full prompt (command: the prompt file's text; openai: the messages). Written to the artifacts
   * (`proposal-<id>.provenance.json`) only: run.ts removes it before the database and the reports.
   */
  prompt?: unknown;
  /** Why the proposer was not run or its proposal dropped, when a run limit was reached. */
  limit?: string;
}

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
  /** Environment overrides (seed 001's timeout override, seconds), already applied to config. */
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
}

/** A source of proposals. */
export interface Proposer {
  readonly kind: string;
  readonly name: string;
  /** Never throws for a failing command or bad patch: those come back in `failures`. */
  propose(ctx: ProposerContext): Promise<ProposerResult>;
}
