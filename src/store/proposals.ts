/**
 * self_evolution_proposals: candidate changes and the safety rails' verdict on each. A proposal is
 * 'allowed' only when it was evaluated and has no blocked reason (a CHECK constraint enforces it).
 */
import { createHash } from 'node:crypto';

import type { VerifyReport } from '../records.js';
import type { Queryable } from './db.js';
import { toDate } from './rows.js';

/**
 * Hex sha256 of a patch's UTF-8 text: the digest self_evolution_proposals.patch_sha256 and
 * self_evolution_actions.patch_sha256 hold, the bundle checks and the commit trailer `Self-Evolution-Patch`
 * carries. The one definition.
 */
export function patchSha256(patch: string): string {
  return createHash('sha256').update(patch, 'utf8').digest('hex');
}

/**
 * Whether the rails could evaluate the proposal ('failed': the proposer failed before there was a change;
 * 'verify-failed': allowed by the rails, but a verify command failed or the change did not apply, see
 * recordVerify).
 */
export type ProposalStatus = 'evaluated' | 'failed' | 'verify-failed';

/** The rails' decision. */
export type ProposalVerdict = 'allowed' | 'blocked';

/** Input of insertProposal. */
export interface NewProposal {
  /** Name of the proposer that produced it. */
  proposer: string;
  /** Kind of change, e.g. 'capability', 'prompt', 'persona', 'cleanup', 'wildcard'. */
  type: string;
  title: string;
  description: string;
  /** Stated risk, an integer 0..5. */
  riskLevel: number;
  /** Risk computed by the rails, when they computed one. */
  computedRisk?: number | null;
  /** Effort estimate, integer (seed: 0..5). */
  effort: number;
  status: ProposalStatus;
  verdict: ProposalVerdict;
  /** Why it was blocked; must be empty when verdict is 'allowed'. */
  blockedReasons: string[];
  /** Every rule violation (rule id, path, line, message), as JSON. */
  violations: unknown[];
  filesChanged: number;
  linesAdded: number;
  linesDeleted: number;
  /** The unified diff, or null when there is none (failed proposer). */
  patch: string | null;
  /** Where it came from (proposer, model or command, prompt digest, duration), as JSON. */
  provenance: object;
  /** The commit the proposal is based on (the run's base SHA); absent: null. */
  baseSha?: string | null;
}

/** A row of self_evolution_proposals. */
export interface ProposalRecord {
  id: number;
  runId: number;
  proposer: string;
  type: string;
  title: string;
  description: string;
  riskLevel: number;
  computedRisk: number | null;
  effort: number;
  status: ProposalStatus;
  verdict: ProposalVerdict;
  /** verdict === 'allowed'. */
  allowlisted: boolean;
  blockedReasons: string[];
  violations: unknown[];
  filesChanged: number;
  linesAdded: number;
  linesDeleted: number;
  patch: string | null;
  /** sha256 of the patch (UTF-8), lowercase hex; null without a patch. */
  patchSha256: string | null;
  provenance: Record<string, unknown>;
  /** The commit the proposal is based on; null on rows written before migration 000003. */
  baseSha: string | null;
  /** The verification of the change (recordVerify), or null when none was recorded. */
  verify: VerifyReport | null;
  createdAt: Date;
}

interface ProposalRow {
  id: number;
  run_id: number;
  proposer: string;
  type: string;
  title: string;
  description: string;
  risk_level: number;
  computed_risk: number | null;
  effort: number;
  status: ProposalStatus;
  verdict: ProposalVerdict;
  allowlisted: boolean;
  blocked_reasons: string[] | null;
  violations: unknown[] | null;
  files_changed: number;
  lines_added: number;
  lines_deleted: number;
  patch: string | null;
  patch_sha256: string | null;
  provenance: Record<string, unknown> | null;
  base_sha: string | null;
  verify: VerifyReport | null;
  created_at: Date | string;
}

function json(value: unknown): string {
  return JSON.stringify(value, (_k, v: unknown) => (typeof v === 'bigint' ? v.toString() : v));
}

/** @throws Error naming the field unless value is an integer in [min, max] */
function checkInteger(field: string, value: number, min: number, max: number): void {
  if (!Number.isInteger(value) || value < min || value > max) {
    throw new Error(`proposal ${field} must be an integer from ${min} to ${max}, got ${String(value)}`);
  }
}

/**
 * Records a proposal of run `runId` with its verdict. Computes patch_sha256 from `patch` and sets
 * allowlisted = (verdict === 'allowed').
 * @returns the new proposal's id
 * @throws Error naming the field for a riskLevel outside 0..5, a non-integer count, or an 'allowed' verdict
 *   with blocked reasons or status 'failed'; the driver's error otherwise (e.g. 23503 for an unknown run)
 */
export async function insertProposal(db: Queryable, runId: number, p: NewProposal): Promise<number> {
  checkInteger('riskLevel', p.riskLevel, 0, 5);
  if (p.computedRisk !== undefined && p.computedRisk !== null) {
    checkInteger('computedRisk', p.computedRisk, -32768, 32767);
  }
  checkInteger('effort', p.effort, -32768, 32767);
  checkInteger('filesChanged', p.filesChanged, 0, 2 ** 31 - 1);
  checkInteger('linesAdded', p.linesAdded, 0, 2 ** 31 - 1);
  checkInteger('linesDeleted', p.linesDeleted, 0, 2 ** 31 - 1);
  if (p.verdict === 'allowed' && (p.status !== 'evaluated' || p.blockedReasons.length > 0)) {
    throw new Error(
      `proposal "${p.title}": verdict 'allowed' needs status 'evaluated' and no blocked reasons ` +
        `(got status '${p.status}' and ${p.blockedReasons.length} blocked reason(s))`,
    );
  }
  const hash = p.patch === null ? null : patchSha256(p.patch);
  const rows = await db.query<{ id: number }>(
    `INSERT INTO self_evolution_proposals
       (run_id, proposer, type, title, description, risk_level, computed_risk, effort, status, verdict,
        allowlisted, blocked_reasons, violations, files_changed, lines_added, lines_deleted, patch,
        patch_sha256, provenance, base_sha)
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11,
        ARRAY(SELECT e FROM jsonb_array_elements_text($12::jsonb) WITH ORDINALITY AS t(e, n) ORDER BY n), $13::jsonb, $14, $15, $16, $17, $18, $19::jsonb, $20)
     RETURNING id`,
    [
      runId,
      p.proposer,
      p.type,
      p.title,
      p.description,
      p.riskLevel,
      p.computedRisk ?? null,
      p.effort,
      p.status,
      p.verdict,
      p.verdict === 'allowed',
      json(p.blockedReasons),
      json(p.violations),
      p.filesChanged,
      p.linesAdded,
      p.linesDeleted,
      p.patch,
      hash,
      json(p.provenance),
      p.baseSha ?? null,
    ],
  );
  return Number(rows[0]!.id);
}

const PROPOSAL_COLUMNS = `id, run_id, proposer, type, title, description, risk_level, computed_risk, effort, status,
  verdict, allowlisted, blocked_reasons, violations, files_changed, lines_added, lines_deleted, patch, patch_sha256,
  provenance, base_sha, verify, created_at`;

/** The proposals of run `runId`, in insertion order. */
export async function listProposals(db: Queryable, runId: number): Promise<ProposalRecord[]> {
  const rows = await db.query<ProposalRow>(
    `SELECT ${PROPOSAL_COLUMNS} FROM self_evolution_proposals WHERE run_id = $1 ORDER BY id`,
    [runId],
  );
  return rows.map(toProposalRecord);
}

/**
 * The proposal with id `id` (e.g. the one an action row points at), or null when there is none.
 * @throws the driver's error
 */
export async function getProposal(db: Queryable, id: number): Promise<ProposalRecord | null> {
  const rows = await db.query<ProposalRow>(
    `SELECT ${PROPOSAL_COLUMNS} FROM self_evolution_proposals WHERE id = $1`,
    [id],
  );
  return rows[0] ? toProposalRecord(rows[0]) : null;
}

function toProposalRecord(r: ProposalRow): ProposalRecord {
  return {
    id: Number(r.id),
    runId: Number(r.run_id),
    proposer: r.proposer,
    type: r.type,
    title: r.title,
    description: r.description,
    riskLevel: Number(r.risk_level),
    computedRisk: r.computed_risk === null ? null : Number(r.computed_risk),
    effort: Number(r.effort),
    status: r.status,
    verdict: r.verdict,
    allowlisted: r.allowlisted,
    blockedReasons: r.blocked_reasons ?? [],
    violations: r.violations ?? [],
    filesChanged: Number(r.files_changed),
    linesAdded: Number(r.lines_added),
    linesDeleted: Number(r.lines_deleted),
    patch: r.patch,
    patchSha256: r.patch_sha256,
    provenance: r.provenance ?? {},
    baseSha: r.base_sha ?? null,
    verify: r.verify ?? null,
    createdAt: toDate(r.created_at),
  };
}

/**
 * Stores the verification `verify` of the allowed proposal `proposalId` in its `verify` column (jsonb) and sets
 * its status from it: 'verify-failed' when `verify.status` is 'failed', else 'evaluated' (so the row says what
 * the latest verification found). Blocked proposals are never touched.
 * @throws Error when no proposal with that id has verdict 'allowed' (unknown id, or a blocked proposal); the
 *   driver's error otherwise
 */
export async function recordVerify(db: Queryable, proposalId: number, verify: VerifyReport): Promise<void> {
  const rows = await db.query<{ id: number }>(
    `UPDATE self_evolution_proposals
     SET verify = $2::jsonb,
       status = CASE WHEN $3::boolean THEN 'verify-failed' ELSE 'evaluated' END
     WHERE id = $1 AND verdict = 'allowed'
     RETURNING id`,
    [proposalId, json(verify), verify.status === 'failed'],
  );
  if (rows.length === 0) {
    throw new Error(
      `proposal ${proposalId}: no allowed proposal with that id, its verification was not recorded`,
    );
  }
}
