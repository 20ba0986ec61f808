/**
 * Record shapes that rooms of one floor share: one room writes them (a proposer its provenance, a gate its
 * answer), the reports and the database show them. Kept here on the bottom floor so that report/ does not
 * reach sideways into propose/ or gates/ (ARCHITECTURE.md: a helper two rooms need moves down to the floor
 * below both). Types only: no code; imports nothing but types of the bottom floor (the rails' Violation).
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

/** The gates; GATE_ORDER (gates/types.ts) is the order `runGates` runs them in. */
export type GateName = 'feature-flag' | 'config-enabled' | 'already-ran-today' | 'cooldown' | 'activity';

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
  proposer: string;
  /** 'failed' when the proposer produced no usable change (then verdict is 'blocked'). */
  status: 'evaluated' | 'failed';
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
}

/** A run limit (config `limits`) that was reached. */
export interface LimitReached {
  /** The config key under `limits`. */
  limit: 'maxProposalsPerRun' | 'proposeBudgetSeconds' | 'tokenBudgetPerRun';
  /** Its configured value (proposals, seconds or tokens). */
  value: number;
  /** Proposers not run and proposals dropped because of it. */
  skipped: number;
  /** One line: what happened when it was first reached. */
  detail: string;
}
