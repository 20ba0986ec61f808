/** The shape of a finished run as it is reported: CLI --json, action outputs, run.json, the job summary. */
import type { GateResult } from '../gates/types.js';
import type { Violation } from '../rails/types.js';
import type { Provenance } from '../propose/types.js';
import type { Trigger } from '../options.js';

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
}

/** Final state of a run. */
export type RunOutcome = 'success' | 'failed' | 'skipped';

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
  /** Insights of the reflection, when one was made. */
  insights: string | null;
  /** Local directory holding the artifacts, or null when none were written. */
  artifactsDir: string | null;
  /** Name of the uploaded Actions artifact, when uploaded. */
  artifactName: string | null;
  logsUrl: string | null;
  /** Stage durations (ms) and counts. */
  metrics: RunMetrics;
  /** Environment overrides applied to the config (seed 000/001). */
  overrides: Record<string, number>;
}

/** Metrics stored in self_evolution_runs.metrics. */
export interface RunMetrics {
  /** Duration of each stage, ms, in pipeline order. */
  stagesMs: Record<string, number>;
  proposals: number;
  allowed: number;
  blocked: number;
  failedProposals: number;
}
