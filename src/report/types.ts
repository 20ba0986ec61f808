/** The shape of a finished run as it is reported: CLI --json, action outputs, run.json, the job summary. */
import type {
  GateResult,
  LimitReached,
  ProposalReport,
  ReconcileOutcome,
  ReconciledAction,
} from '../records.js';
import type { Trigger } from '../options.js';
import type { RevertReport } from '../records.js';

export type { LimitReached, ProposalReport, ReconcileOutcome, ReconciledAction } from '../records.js';

/**
 * Final state of a run. 'cancelled': a signal (SIGINT, SIGTERM) stopped it and it cleaned up; it is not the
 * day's run and starts no cooldown (a run that lost its lock is 'failed').
 */
export type RunOutcome = 'success' | 'failed' | 'skipped' | 'cancelled';

/** Everything one run reports. */
export interface RunReport {
  /** Database id of the run record; null only when the run could not be recorded (database busy/down). */
  runId: number | null;
  status: RunOutcome;
  skipReason: string | null;
  repository: string;
  /** UTC day of the run, YYYY-MM-DD. */
  runDate: string;
  trigger: Trigger;
  dryRun: boolean;
  forced: boolean;
  /** Gate results: before jitter, and again under the lock (empty when the run stopped earlier). */
  gates: { beforeJitter: GateResult[]; underLock: GateResult[] };
  /** Jitter applied, ms (0 when disabled). */
  jitterMs: number;
  startedAt: string;
  finishedAt: string;
  summary: string;
  /** One-line error when status is 'failed' (secrets masked). */
  error: string | null;
  proposals: ProposalReport[];
  /**
   * What reconciliation made of the earlier pull requests at the start of the run (act/reconcile.ts), in
   * action id order; [] when there was none or the run stopped before it (absent from reports made before
   * reconciliation existed).
   */
  reconciled?: ReconciledAction[];
  /** Insights of the reflection, when one was made. */
  insights: string | null;
  /**
   * How the commands the run started on the repository's behalf were isolated: 'bwrap' or 'unshare' (the
   * sandbox mechanism), 'none' (config `sandbox: "none"`: no isolation), null when it started none.
   */
  sandbox: 'bwrap' | 'unshare' | 'none' | null;
  /** HEAD of the checkout when the run was recorded (the proposals' base); null when not read. */
  baseSha: string | null;
  /** Self-Evolution's version. */
  toolVersion: string;
  /** Who started the run (GITHUB_ACTOR, else the local user), or null. */
  actor: string | null;
  /**
   * Where the config came from: its path relative to the repository, its blob at HEAD (null when not
   * committed) and whether the work tree's file differs from it (or is not committed). Null when not read.
   */
  config: { path: string; blobSha: string | null; dirty: boolean } | null;
  /** The work tree had changes (`.self-evolution/` excluded); null when not read. */
  worktreeDirty: boolean | null;
  /** Why a live run would be refused (a dirty config or work tree), or null. A dry run records it. */
  liveRefusal: string | null;
  /** Local directory holding the artifacts, or null when none were written. */
  artifactsDir: string | null;
  /**
   * The database that recorded the run, set once it is migrated (absent before, and in reports made before
   * this field existed).
   */
  database?: RunDatabase;
  /** The proposal bundle written for the publish job (action `mode: propose`), else absent. */
  bundleDir?: string;
  /**
   * The health stage (act/revert.ts): each merged self-change watched (kept, or reverted with the guards that
   * held) and each revert pull request found merged or closed; absent when the stage did not run.
   */
  reverts?: RevertReport[];
  /** Name of the uploaded Actions artifact, when uploaded. */
  artifactName: string | null;
  logsUrl: string | null;
  /** Stage durations (ms) and counts. */
  metrics: RunMetrics;
  /** Environment overrides applied to the config. */
  overrides: Record<string, number>;
}

/** Which database recorded a run (run.json `database`). */
export interface RunDatabase {
  /** Its short id (store/database-id.ts): the artifacts directory is `<run id>-<id>`. */
  id: string;
  /**
   * Where it is, as Db.description says it: "postgres host:port/database" (never the user or password) or
   * "pglite <directory>" for the embedded one.
   */
  description: string;
  /**
   * How the run held its run lock (store/lock.ts): 'advisory' or 'lease', and why (config database.lock and what
   * the route check saw). Absent before the lock was taken.
   */
  lock?: { kind: 'advisory' | 'lease'; why: string };
}

/** Metrics stored in self_evolution_runs.metrics. */
export interface RunMetrics {
  /** Duration of each stage, ms, in pipeline order. */
  stagesMs: Record<string, number>;
  proposals: number;
  allowed: number;
  blocked: number;
  failedProposals: number;
  /** Tokens the openai proposers used (sum of the usage the endpoints reported). */
  tokensUsed?: number;
  /** Limits of the config's `limits` that were reached (none: []). */
  limitsReached?: LimitReached[];
  /** Goals the reflection ranked for the proposers. */
  goals?: number;
  /** Shell commands the runner executed or refused (lines of commands.jsonl). */
  commands?: number;
  /** The human request of the run (workflow_dispatch input `request`, CLI --request), or null. */
  request?: string | null;
  /** Live mode: pull requests this run opened (state 'opened'). */
  pullRequestsOpened?: number;
  /** Proposals whose verify commands failed (status 'verify-failed'). */
  verifyFailed?: number;
  /** Reconciliation: how many earlier pull requests had each outcome (only outcomes that occurred). */
  reconciled?: Partial<Record<ReconcileOutcome, number>>;
}
