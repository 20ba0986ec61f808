/**
 * Building a run's report from plain data: the empty report a run starts with, its metrics, the summary line
 * of a closed run, and its artifacts (written, then uploaded on Actions). Imports nothing of store/, gates/ or
 * propose/: the pipeline hands over what they produced.
 */
import { join } from 'node:path';
import type { Logger } from '../deps.js';
import { TOOL_VERSION, type Options } from '../options.js';
import { liveRefusal, type RunSource } from '../git/checkout.js';
import type {
  LimitReached,
  ProposalReport,
  Provenance,
  ReconcileOutcome,
  ReconciledAction,
} from '../records.js';
import { maskSecrets, oneLine } from '../secrets.js';
import { writeArtifacts, type ArtifactUploader } from './artifacts.js';
import type { RunDatabase, RunMetrics, RunReport } from './types.js';

/**
 * The report a run starts with: status 'failed' until a stage says otherwise, no gates, no proposals, zero
 * metrics; `finishedAt` = `startedAt` (ISO). `runDate` is the run's UTC day (YYYY-MM-DD).
 */
export function emptyReport(input: {
  options: Pick<Options, 'repository' | 'trigger' | 'force' | 'logsUrl' | 'envOverrides' | 'actor'>;
  startedAt: Date;
  runDate: string;
  dryRun: boolean;
}): RunReport {
  const { options, startedAt } = input;
  return {
    runId: null,
    status: 'failed',
    skipReason: null,
    repository: options.repository,
    runDate: input.runDate,
    trigger: options.trigger,
    dryRun: input.dryRun,
    forced: options.force,
    gates: { beforeJitter: [], underLock: [] },
    jitterMs: 0,
    startedAt: startedAt.toISOString(),
    finishedAt: startedAt.toISOString(),
    summary: '',
    error: null,
    proposals: [],
    reconciled: [],
    insights: null,
    sandbox: null,
    baseSha: null,
    toolVersion: TOOL_VERSION,
    actor: options.actor ?? null,
    config: null,
    worktreeDirty: null,
    liveRefusal: null,
    artifactsDir: null,
    artifactName: null,
    logsUrl: options.logsUrl ?? null,
    metrics: {
      stagesMs: {},
      proposals: 0,
      allowed: 0,
      blocked: 0,
      failedProposals: 0,
      tokensUsed: 0,
      limitsReached: [],
      goals: 0,
      commands: 0,
      request: null,
    },
    overrides: { ...options.envOverrides } as Record<string, number>,
  };
}

/**
 * Puts what the run starts from (git/checkout.ts readRunSource) into the report, with why a live run would
 * refuse it (liveRefusal). Returns that reason, or null.
 */
export function reportSource(report: RunReport, source: RunSource): string | null {
  report.baseSha = source.baseSha;
  report.config = { ...source.config };
  report.worktreeDirty = source.worktreeDirty;
  report.liveRefusal = liveRefusal(source);
  return report.liveRefusal;
}

/** The audit columns of the run record (store/runs.ts RunAudit) from the report. */
export function auditOf(report: RunReport): {
  baseSha: string | null;
  toolVersion: string;
  actor: string | null;
  configPath: string | null;
  configBlobSha: string | null;
  configDirty: boolean | null;
  worktreeDirty: boolean | null;
} {
  return {
    baseSha: report.baseSha,
    toolVersion: report.toolVersion,
    actor: report.actor,
    configPath: report.config?.path ?? null,
    configBlobSha: report.config?.blobSha ?? null,
    configDirty: report.config?.dirty ?? null,
    worktreeDirty: report.worktreeDirty,
  };
}

/** What a run's metrics are made of, as the stages left it. */
export interface MetricsInput {
  /** Duration of each stage so far, ms (copied). */
  stagesMs: Record<string, number>;
  proposals: readonly ProposalReport[];
  /** Tokens the openai proposers used. */
  tokensUsed: number;
  /** Limits reached (copied). */
  limitsReached: readonly LimitReached[];
  /** Goals the reflection ranked. */
  goals: number;
  /** Lines of commands.jsonl. */
  commands: number;
  /** The run's human request, if any (masked with `secrets`; blank: null). */
  request?: string;
  /** What reconciliation made of the earlier pull requests (counted by outcome). */
  reconciled?: readonly ReconciledAction[];
  secrets: readonly string[];
}

/** How many of `entries` had each outcome (only outcomes that occurred). */
export function reconcileCounts(
  entries: readonly Pick<ReconciledAction, 'outcome'>[],
): Partial<Record<ReconcileOutcome, number>> {
  const counts: Partial<Record<ReconcileOutcome, number>> = {};
  for (const e of entries) counts[e.outcome] = (counts[e.outcome] ?? 0) + 1;
  return counts;
}

/** The run's metrics (self_evolution_runs.metrics, run.json): counts of proposals by verdict, stage times. */
export function metricsOf(m: MetricsInput): RunMetrics {
  const ps = m.proposals;
  return {
    stagesMs: { ...m.stagesMs },
    proposals: ps.length,
    allowed: ps.filter((p) => p.verdict === 'allowed').length,
    blocked: ps.filter((p) => p.verdict === 'blocked').length,
    failedProposals: ps.filter((p) => p.status === 'failed').length,
    tokensUsed: m.tokensUsed,
    limitsReached: m.limitsReached.map((l) => ({ ...l })),
    goals: m.goals,
    commands: m.commands,
    request: m.request?.trim() ? maskSecrets(m.request, m.secrets) : null,
    pullRequestsOpened: ps.filter((p) => p.pullRequest?.state === 'opened').length,
    verifyFailed: ps.filter((p) => p.status === 'verify-failed').length,
    ...(m.reconciled?.length ? { reconciled: reconcileCounts(m.reconciled) } : {}),
  };
}

/**
 * The summary line of a closed run: for a success, the counts and the limits reached
 * (`dry run: 2 proposal(s), 1 allowed, 1 blocked (1 failed); limit reached: maxProposalsPerRun`; a live run says
 * `live: …, 1 pull request(s) opened`); for a failure, `failed: <error>`.
 */
export function closedRunSummary(
  status: 'success' | 'failed',
  m: RunMetrics,
  error: string | null | undefined,
  dryRun = true,
): string {
  const limits = m.limitsReached ?? [];
  return status === 'success'
    ? (everyProposerFailed(m) ? `${NO_USABLE_PROPOSAL} (${m.failedProposals} of ${m.proposals}); ` : '') +
        `${dryRun ? 'dry run' : 'live'}: ${m.proposals} proposal(s), ${m.allowed} allowed, ${m.blocked} blocked` +
        (m.failedProposals ? ` (${m.failedProposals} failed)` : '') +
        (m.verifyFailed ? `, ${m.verifyFailed} failed verification` : '') +
        (dryRun ? '' : `, ${m.pullRequestsOpened ?? 0} pull request(s) opened`) +
        (limits.length ? `; limit reached: ${limits.map((l) => l.limit).join(', ')}` : '')
    : `failed: ${error}`;
}

/** How the summary of a successful run in which every proposer failed starts. */
export const NO_USABLE_PROPOSAL = 'no usable proposal: every proposer failed';

/**
 * Whether the run had proposers and every one of them failed (no patch to judge): the run is still 'success'
 * (it ran; the cooldown follows failed runs only), but its summary starts with NO_USABLE_PROPOSAL.
 */
export function everyProposerFailed(m: Pick<RunMetrics, 'proposals' | 'failedProposals'>): boolean {
  return m.proposals > 0 && m.failedProposals === m.proposals;
}

/** A judged proposal as the artifacts need it (propose/judge.ts Judged). */
export interface JudgedArtifacts {
  report: Pick<ProposalReport, 'patchFile' | 'provenanceFile'>;
  patch: string | null;
  provenance: Provenance;
}

/** Where and what to save, and whether to upload. */
export interface SaveArtifactsInput {
  /** Directory the run's artifacts go to (created if missing). */
  dir: string;
  /** The run's report, final (run.json, proposals.json); `artifactName` is set on it after an upload. */
  report: RunReport;
  /** The reflection (reflection.json), or null. */
  reflection: object | null;
  /** Patches and full provenance, each under the file name its report row names. */
  judged: readonly JudgedArtifacts[];
  /** commands.jsonl entries, masked. */
  commands: unknown[];
  /** run.log lines, masked. */
  log: string[];
  /**
   * Uploads as the Actions artifact `name` with `retentionDays` when given; absent: written locally only.
   * An upload that fails is logged as a warning (secrets masked), never thrown.
   */
  upload?: { uploader: ArtifactUploader; name: string; retentionDays: number };
  logger: Logger;
  secrets: readonly string[];
}

/**
 * Writes the run's artifacts into `input.dir` and, when asked, uploads them (then `report.artifactName` is
 * the artifact's name).
 * @throws the fs error when the directory cannot be written (an upload failure is only logged)
 */
export async function saveRunArtifacts(input: SaveArtifactsInput): Promise<void> {
  const files = await writeArtifacts(input.dir, {
    report: input.report,
    reflection: input.reflection,
    patches: input.judged.flatMap((j) =>
      j.patch && j.report.patchFile ? [{ file: j.report.patchFile, content: j.patch }] : [],
    ),
    provenance: input.judged.flatMap((j) =>
      j.report.provenanceFile ? [{ file: j.report.provenanceFile, content: j.provenance }] : [],
    ),
    commands: input.commands,
    log: input.log,
  });
  const upload = input.upload;
  if (!upload) return;
  try {
    await upload.uploader({
      name: upload.name,
      rootDirectory: input.dir,
      files,
      retentionDays: upload.retentionDays,
    });
    input.report.artifactName = upload.name;
    input.logger.info(`uploaded artifact ${upload.name} (retention ${upload.retentionDays} days)`);
  } catch (err) {
    input.logger.warn(`artifact upload failed: ${oneLine(err, input.secrets)}`);
  }
}

/**
 * The directory of run `runId`'s artifacts under `artifactsRoot`: `<run id>-<database id>`, so runs that two
 * databases recorded under the same id (the embedded one, then a server) never share a directory.
 * @throws Error when `database` is undefined (the run's database is not known yet) or its id is not 12 hex
 *   characters (it becomes part of a path)
 */
export function artifactsDirOf(
  artifactsRoot: string,
  runId: number,
  database: Pick<RunDatabase, 'id'> | undefined,
): string {
  if (database === undefined)
    throw new Error(`run ${runId}: its database is not known, so neither is its artifacts directory`);
  if (!/^[0-9a-f]{12}$/.test(database.id))
    throw new Error(`not a database id: ${JSON.stringify(database.id)}`);
  return join(artifactsRoot, `${runId}-${database.id}`);
}
