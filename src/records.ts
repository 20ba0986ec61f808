/**
 * Record shapes that rooms of one floor share: one room writes them (a proposer its provenance, a gate its
 * answer), the reports and the database show them. Kept here on the bottom floor so that report/ does not
 * reach sideways into propose/ or gates/ (the import floors of __tests__/architecture.test.ts: a helper two rooms need moves down to the
 * floor below both). Types only: no code; imports nothing but types of the bottom floor (the rails' Violation).
 */
import type { Violation } from './rails/types.js';

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

/**
 * The gates; GATE_ORDER (gates/types.ts) is the order `runGates` runs them in. 'circuit-breaker' is the loop
 * stopping itself (gates/breaker.ts): reverted or rejected self-changes, failed runs in a row, a stop label.
 */
export type GateName =
  'feature-flag' | 'config-enabled' | 'circuit-breaker' | 'already-ran-today' | 'cooldown' | 'activity';

/**
 * What a gate decided.
 * - `pass`: the run may go on.
 * - `skip`: the run stops; `reason` becomes its skip_reason (e.g. the feature flag is off).
 * - `not-checked`: the gate could not or was told not to check (e.g. no GitHub token); the run goes on,
 *   and the reason is reported so nobody mistakes it for a pass.
 * - `error`: the gate failed (a database or GitHub API error). The run stops: it never runs blind.
 */
export type GateOutcome = 'pass' | 'skip' | 'not-checked' | 'error';

/** One gate's answer. `reason` is a short human sentence; `details` is structured data for reports. */
export interface GateResult {
  gate: GateName;
  outcome: GateOutcome;
  reason: string;
  details?: Record<string, unknown>;
}

/** One proposal as reported. `linesChanged` = added + deleted lines, as git counts them. */
export interface ProposalReport {
  /** Database id, or null when the run was not recorded. */
  id: number | null;
  title: string;
  type: string;
  riskLevel: number;
  /**
   * What the proposer says the change does and why (Markdown written by a proposer, often an LLM: untrusted
   * text), secrets masked. Absent for a proposer failure and on reports written before it was recorded.
   */
  description?: string;
  /** Risk 0-5 the rails' rubric computed from what the change touches; absent for a proposer failure. */
  computedRisk?: number;
  /** Effort 0-5 the proposer stated; absent for a proposer failure. */
  effort?: number;
  proposer: string;
  /**
   * 'failed' when the proposer produced no usable change (then verdict is 'blocked'); 'verify-failed' when the
   * rails allowed it but a verify command failed (live mode: no pull request).
   */
  status: 'evaluated' | 'failed' | 'verify-failed';
  filesChanged: number;
  linesAdded: number;
  linesDeleted: number;
  linesChanged: number;
  verdict: 'allowed' | 'blocked';
  blockedReasons: string[];
  violations: Violation[];
  provenance: Provenance;
  /** File name of the proposal's patch inside the artifacts directory, when it has one. */
  patchFile: string | null;
  /**
   * File name of the proposal's full provenance (with the prompt) inside the artifacts directory, e.g.
   * `proposal-12.provenance.json`; `provenance` above is what the database holds (the prompt's sha256 only).
   */
  provenanceFile?: string | null;
  /** The verification of an allowed proposal (live mode, and dry runs with verify commands), when it ran. */
  verify?: VerifyReport;
  /**
   * The pull request of an allowed proposal: a preview in a dry run (what would be opened), or what a live run
   * did (opened, found existing, or not published and why).
   */
  pullRequest?: PullRequestReport;
}

/** What one verify command (config `verify.commands`) did with the change applied. */
export interface VerifyEvidence {
  /** The command's name from the config, e.g. "test". */
  name: string;
  /** The command as configured (secrets masked). */
  command: string;
  /** Exit code, or null when it was killed by a signal or could not start. */
  exitCode: number | null;
  /** The signal that ended it (e.g. 'SIGTERM' after a timeout), else null. */
  signal: string | null;
  timedOut: boolean;
  /** Wall time, ms. */
  durationMs: number;
  /** The last lines of its stdout and stderr, secrets masked (at most 4 KiB each). */
  stdoutTail: string;
  stderrTail: string;
  /** How it was isolated. */
  sandbox: 'bwrap' | 'unshare' | 'none';
}

/** The verification of one proposal. */
export interface VerifyReport {
  /**
   * 'passed': every command exited 0; 'failed': one did not (the rest were not run) or the change did not
   * apply; 'not-configured': config `verify.commands` is empty.
   */
  status: 'passed' | 'failed' | 'not-configured';
  /** Each command run, in order. */
  commands: VerifyEvidence[];
  /** Why it failed, one line (e.g. 'verify command "test" exited 1'). */
  reason?: string;
}

/** The pull request of one proposal (see ProposalReport.pullRequest). */
export interface PullRequestReport {
  /**
   * 'preview': a dry run, nothing was done; 'bundled': verified and handed to the publish job (the two-job
   * setup); 'opened': this run opened it; 'existing': it was already open (a rerun or a run that finished an
   * interrupted one); 'not-published': a live run did not publish it (`reason`).
   */
  state: 'preview' | 'bundled' | 'opened' | 'existing' | 'not-published';
  /** The branch, e.g. `self-evolution/2026-11-30-tighten-prompt-1a2b3c4d`. */
  branch: string;
  /** The base branch it targets, e.g. `main`. */
  baseBranch?: string;
  title: string;
  /** The body in Markdown, with its hidden marker. */
  body: string;
  labels: string[];
  /** Logins review is requested from. */
  reviewers: string[];
  draft: boolean;
  /** Pull request number, web URL and head commit, once opened. */
  number?: number;
  url?: string;
  headSha?: string;
  /** The self_evolution_actions row. */
  actionId?: number;
  /** Why it was not published (a limit, a failed verify, a GitHub error), one line. */
  reason?: string;
  /**
   * How CI runs on it, one line: its pull_request workflows (opened with a pr-token or a person's token), or a
   * workflow started by workflow_dispatch (pullRequest.ciWorkflow with GITHUB_TOKEN), or none.
   */
  ci?: string;
}

/** A run limit (config `limits`, or a pull-request limit of config `pullRequest`) that was reached. */
export interface LimitReached {
  /** The config key under `limits` (maxProposalsPerRun, ...) or under `pullRequest` (maxPerRun, maxPerDay, maxOpen). */
  limit:
    | 'maxProposalsPerRun'
    | 'proposeBudgetSeconds'
    | 'tokenBudgetPerRun'
    | 'maxPerRun'
    | 'maxPerDay'
    | 'maxOpen';
  /** Its configured value (proposals, seconds or tokens). */
  value: number;
  /** Proposers not run and proposals dropped because of it. */
  skipped: number;
  /** One line: what happened when it was first reached. */
  detail: string;
}

/**
 * What reconciliation (act/reconcile.ts) made of one action at the start of a run:
 * - 'merged' / 'closed': its pull request was merged / closed without merging on GitHub (the status moved);
 * - 'open': still open; `ageDays` says for how long;
 * - 'expired': an open draft older than `pullRequest.expireDays` that was closed with a comment saying why
 *   ('would-expire' in a dry run or the propose job: nothing was done);
 * - 'rebuilt': it conflicted with its base and only the loop had committed to its branch: the same change was
 *   opened again on the base's tip (`rebuiltAs`) and the old pull request closed with a comment (never a
 *   force-push); 'would-rebuild' when nothing was done;
 * - 'not-rebuilt': the same, but the change could not be made again on the new tip (it no longer applies, the
 *   rails or verify refuse it): closed with a comment saying why;
 * - 'conflicted': it conflicts and someone else committed to its branch: left as it is, with one comment per
 *   head commit ('would-comment' when nothing was done);
 * - 'resumed': an earlier run left it planned or pushed; this run finished it (its pull request opened or
 *   found; `to` says the status now);
 * - 'unfinished': planned or pushed and not finished by this run: a dry run, the propose or publish job, or
 *   the attempt failed (`did` and `error` say why; `to` 'failed' when it was given up);
 * - 'not-checked': no GitHub token, or not a GitHub repository;
 * - 'error': GitHub answered with an error: the action was left as it was and the error recorded on it.
 */
export type ReconcileOutcome =
  | 'merged'
  | 'closed'
  | 'open'
  | 'expired'
  | 'would-expire'
  | 'rebuilt'
  | 'would-rebuild'
  | 'not-rebuilt'
  | 'conflicted'
  | 'would-comment'
  | 'resumed'
  | 'unfinished'
  | 'not-checked'
  | 'error';

/** One action as reconciliation reports it (RunReport.reconciled, run.json). */
export interface ReconciledAction {
  /** The self_evolution_actions row. */
  actionId: number;
  prNumber: number | null;
  prUrl: string | null;
  branch: string | null;
  /** The action's status before and after (the same when nothing moved). */
  from: string;
  to: string;
  outcome: ReconcileOutcome;
  /** What was done, or would have been in a live run, one line. */
  did: string;
  /** Whole days the pull request has been open (creation on GitHub to the run's clock), when read. */
  ageDays?: number;
  /** Merged: the commit the merge made on the base, when (ISO 8601) and by whom (login). */
  mergeCommitSha?: string;
  mergedAt?: string;
  mergedBy?: string;
  /** Closed: when (ISO 8601) and by whom (a login, or 'self-evolution'). */
  closedAt?: string;
  closedBy?: string;
  /**
   * Closed by a person: their last review or comment (UNTRUSTED text, secrets masked, at most 2000
   * characters; quote it as data and escape it before rendering it); closed by the loop: its reason.
   */
  closeReason?: string;
  /** The pull request that replaced it ('rebuilt'). */
  rebuiltAs?: { actionId: number; number: number; url: string };
  /** The GitHub error, one line, secrets masked; null when none. */
  error: string | null;
}

/**
 * What became of one merged self-change in a run's health stage, or of one rollback a person asked for
 * (act/revert.ts):
 * - 'kept': a guard did not hold (`reason` names it: not failing, flaky, not confirmed yet, red on the parent,
 *   unreadable checks, ...): nothing was done;
 * - 'shadow': a revert was decided in shadow mode (or a dry run): recorded, nothing done on GitHub;
 * - 'opened': this run opened the revert pull request; 'existing': it was already open (or finished now);
 * - 'merged' / 'closed': its revert pull request was merged (the action is rolled_back, its run reverted) /
 *   closed without merging;
 * - 'already-reverted': the default branch's history already reverts it ("This reverts commit <sha>");
 * - 'refused': it may not be reverted (a revert itself, not on the default branch, a revert branch someone else
 *   owns, the requester may not write);
 * - 'limit': a revert was decided but this run already opened one (at most one automatic revert per run);
 * - 'not-opened': the branch is pushed, the pull request could not be opened (the next run finishes it);
 * - 'failed': the revert could not be made (it does not apply, GitHub or git failed).
 */
export type RevertState =
  | 'kept'
  | 'shadow'
  | 'opened'
  | 'existing'
  | 'merged'
  | 'closed'
  | 'already-reverted'
  | 'refused'
  | 'limit'
  | 'not-opened'
  | 'failed';

/** One merged self-change as the health stage or a rollback request saw it (RunReport.reverts, run.json). */
export interface RevertReport {
  /** The self_evolution_actions row of the self-change. */
  actionId: number;
  /** The self-change's pull request number, when it had one. */
  pullRequest: number | null;
  /** The commit reverted (or watched): its merge or squash commit on the default branch. */
  revertedSha: string;
  /** 'auto': decided by the health stage; 'manual': asked for (CLI rollback, action mode rollback). */
  trigger: 'auto' | 'manual';
  /** 'pr': a revert pull request; 'shadow': recorded only. */
  mode: 'pr' | 'shadow';
  state: RevertState;
  /** One line: the decision's reason, or what happened. */
  reason: string;
  /** The self_evolution_rollbacks row, when one was written or found. */
  rollbackId?: number;
  /** The revert branch, e.g. `self-evolution/revert-1a2b3c4`. */
  branch?: string;
  /** The revert pull request's number and page, once opened. */
  number?: number;
  url?: string;
  /** The guards of the health decision, in order (automatic reverts). */
  guards?: { id: string; held: boolean; detail: string }[];
}
