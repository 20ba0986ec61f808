/**
 * The rails stage of a run: each draft of the propose stage judged by the rails (evaluate) and recorded
 * (self_evolution_proposals) with its verdict, reasons and provenance, secrets masked.
 */
import type { Logger } from '../deps.js';
import { evaluate } from '../rails/evaluate.js';
import type { RailsPolicy } from '../rails/types.js';
import type { ProposalReport, Provenance } from '../records.js';
import { maskDeep, maskSecrets } from '../secrets.js';
import type { Db } from '../store/db.js';
import { insertProposal } from '../store/proposals.js';
import type { Draft } from './stage.js';
import type { FailedProposal, Proposal } from './types.js';

/** A judged proposal with its patch and its full provenance (prompt included), for the artifacts. */
export interface Judged {
  report: ProposalReport;
  /** The proposal's patch (`git diff --binary` text), or null for a failure or a change that leaked a secret. */
  patch: string | null;
  /** The full provenance, masked (the database and the report hold it without `prompt`). */
  provenance: Provenance;
}

/** What judging needs besides the drafts. */
export interface JudgeOptions {
  /** The rails policy built from the config. */
  policy: RailsPolicy;
  /** Every secret of the run: masked everywhere, and a change holding one is not judged. */
  secrets: readonly string[];
  /** config telemetry.storeProposals: insert a self_evolution_proposals row per draft (the report gets its id). */
  storeProposals: boolean;
  /** The run's base commit, recorded on a failed proposer's row (a proposal carries its own). */
  baseSha?: string;
  logger: Logger;
}

/** Secrets at least this long are searched for in a proposal's change (shorter ones match ordinary text). */
const MIN_LEAK_LENGTH = 8;

/**
 * Stage: the rails judge each proposal; each is recorded with its verdict and reasons (when `storeProposals`),
 * logged, and returned in draft order with the artifact file names it will be written under
 * (`proposal-<id or position>.patch`, `.provenance.json`). A draft whose change holds a secret of the run
 * becomes a failure (see withoutLeaks).
 * @throws the database error when a proposal row cannot be inserted
 */
export async function judgeAndRecord(
  db: Db,
  runId: number,
  drafts: readonly Draft[],
  opts: JudgeOptions,
): Promise<Judged[]> {
  const { policy, secrets } = opts;
  const judged: Judged[] = [];
  for (const [index, original] of drafts.entries()) {
    const draft = withoutLeaks(original, secrets);
    const source = draft.kind === 'proposal' ? draft.proposal.provenance : draft.failure.provenance;
    const full = maskDeep({ ...source, signalsAddressed: source.signalsAddressed ?? [] }, secrets);
    const { report, computedRisk } =
      draft.kind === 'proposal'
        ? await judgeProposal(draft.proposal, policy)
        : { report: failedReport(draft.failure), computedRisk: null };
    const patch = draft.kind === 'proposal' ? draft.proposal.patch : null;
    report.title = maskSecrets(report.title, secrets);
    if (report.description !== undefined) report.description = maskSecrets(report.description, secrets);
    report.provenance = storedProvenance(full);
    if (opts.storeProposals) {
      report.id = await insertProposal(db, runId, {
        proposer: report.proposer,
        type: report.type,
        title: report.title,
        description: maskSecrets(
          draft.kind === 'proposal' ? draft.proposal.description : draft.failure.error,
          secrets,
        ),
        riskLevel: report.riskLevel,
        computedRisk,
        effort: draft.kind === 'proposal' ? draft.proposal.effort : 0,
        status: report.status,
        verdict: report.verdict,
        blockedReasons: report.blockedReasons,
        violations: report.violations,
        filesChanged: report.filesChanged,
        linesAdded: report.linesAdded,
        linesDeleted: report.linesDeleted,
        patch,
        provenance: report.provenance,
        baseSha: draft.kind === 'proposal' ? draft.proposal.baseSha : (opts.baseSha ?? null),
      });
    }
    if (patch) report.patchFile = `proposal-${report.id ?? index + 1}.patch`;
    report.provenanceFile = `proposal-${report.id ?? index + 1}.provenance.json`;
    opts.logger.info(
      `proposal "${report.title}": ${report.verdict}${report.blockedReasons.length ? ` (${report.blockedReasons.join('; ')})` : ''}`,
    );
    judged.push({ report, patch, provenance: full });
  }
  return judged;
}

/**
 * A proposal whose patch, title or description holds a secret of the run (the token, the database URL or
 * password, the value of a secret-looking environment variable) becomes a failure: the change is not
 * judged, and neither it nor its patch is written anywhere.
 */
function withoutLeaks(draft: Draft, secrets: readonly string[]): Draft {
  if (draft.kind !== 'proposal') return draft;
  const p = draft.proposal;
  const text = [p.patch, p.title, p.description];
  if (!secrets.some((s) => s.length >= MIN_LEAK_LENGTH && text.some((t) => t.includes(s)))) return draft;
  return {
    kind: 'failed',
    failure: {
      title: p.title,
      error:
        'the change contains the value of a secret (the GitHub token, the database URL or password, or a secret-looking environment variable); it is not judged and its patch is not recorded',
      provenance: p.provenance,
    },
  };
}

/** The provenance as stored and reported: everything but the full prompt (its sha256 stays). */
function storedProvenance(p: Provenance): Provenance {
  const { prompt: _prompt, ...rest } = p;
  return rest;
}

/** The rails' verdict on one proposal as a report row, with the risk the rubric computed (for the database). */
async function judgeProposal(
  p: Proposal,
  policy: RailsPolicy,
): Promise<{ report: ProposalReport; computedRisk: number }> {
  const verdict = await evaluate({ type: p.type, riskLevel: p.riskLevel, facts: p.facts }, policy, {
    wildcardsToday: 0,
    humanOverride: false,
  });
  const report: ProposalReport = {
    id: null,
    title: p.title,
    type: p.type,
    riskLevel: p.riskLevel,
    description: p.description,
    computedRisk: verdict.computedRisk,
    effort: p.effort,
    proposer: p.provenance.name,
    status: 'evaluated',
    filesChanged: verdict.stats.filesChanged,
    linesAdded: verdict.stats.linesAdded,
    linesDeleted: verdict.stats.linesDeleted,
    linesChanged: verdict.stats.linesAdded + verdict.stats.linesDeleted,
    verdict: verdict.allowed ? 'allowed' : 'blocked',
    blockedReasons: verdict.violations
      .filter((v) => v.severity === 'block')
      .map((v) => `${v.ruleId}: ${v.message}`),
    violations: verdict.violations,
    provenance: p.provenance,
    patchFile: null,
  };
  return { report, computedRisk: verdict.computedRisk };
}

/** A proposer failure as a report row: blocked, with the one violation `proposer-failed`. */
function failedReport(f: FailedProposal): ProposalReport {
  return {
    id: null,
    title: f.title,
    type: 'cleanup',
    riskLevel: 0,
    proposer: f.provenance.name,
    status: 'failed',
    filesChanged: 0,
    linesAdded: 0,
    linesDeleted: 0,
    linesChanged: 0,
    verdict: 'blocked',
    blockedReasons: [`proposer-failed: ${f.error}`],
    violations: [{ ruleId: 'proposer-failed', severity: 'block', message: f.error }],
    provenance: f.provenance,
    patchFile: null,
  };
}
