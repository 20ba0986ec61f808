/**
 * Human-readable renderings of a run: the Actions job summary (markdown) and the CLI's text output.
 */
import type { GateResult, ProposalReport, ReconcileOutcome } from '../records.js';
import {
  pullRequestSummaryLines,
  pullRequestTextLines,
  previewTextLines,
  renderPublishMarkdown,
  type PublishSummaryInput,
} from './pull-requests.js';
import { everyProposerFailed } from './run-report.js';
import type { RunReport } from './types.js';

/** Escapes a value for a markdown table cell (pipes, newlines). */
export function cell(value: unknown): string {
  return String(value ?? '')
    .replace(/\|/g, '\\|')
    .replace(/\r?\n/g, '<br>');
}

/** How each reconcile outcome is counted in the one line (in this order). */
const RECONCILE_WORDS: readonly [ReconcileOutcome, string][] = [
  ['merged', 'merged'],
  ['closed', 'closed unmerged'],
  ['expired', 'expired draft(s) closed'],
  ['would-expire', 'expired draft(s) a live run closes'],
  ['rebuilt', 'rebuilt on the new base'],
  ['would-rebuild', 'conflicted, a live run rebuilds'],
  ['not-rebuilt', 'conflicted and closed (could not be rebuilt)'],
  ['conflicted', "conflicted, someone else's commits (left open)"],
  ['would-comment', "conflicted, someone else's commits (a live run comments)"],
  ['open', 'open'],
  ['resumed', "finished (an earlier run's)"],
  ['unfinished', 'unfinished (a later live run finishes them)'],
  ['not-checked', 'not checked'],
  ['error', 'GitHub error(s) (left as they were)'],
];

/**
 * One line on what reconciliation made of the earlier pull requests, counts only (no text a person wrote),
 * e.g. `reconciled 3 earlier pull request(s): 1 merged, 1 closed unmerged, 1 open`; null when there were none.
 * A check that could not run says why (e.g. `1 not checked (not checked: no GitHub token)`).
 */
export function reconcileLine(r: Pick<RunReport, 'reconciled'>): string | null {
  const entries = r.reconciled ?? [];
  if (entries.length === 0) return null;
  const parts = RECONCILE_WORDS.flatMap(([outcome, words]) => {
    const n = entries.filter((e) => e.outcome === outcome).length;
    if (n === 0) return [];
    const why = outcome === 'not-checked' ? ` (${entries.find((e) => e.outcome === outcome)!.did})` : '';
    return [`${n} ${words}${why}`];
  });
  return `reconciled ${entries.length} earlier pull request(s): ${parts.join(', ')}`;
}

function gateRows(title: string, gates: GateResult[]): string[] {
  if (gates.length === 0) return [];
  return [
    `### ${title}`,
    '',
    '| gate | outcome | reason |',
    '| --- | --- | --- |',
    ...gates.map((g) => `| ${cell(g.gate)} | ${cell(g.outcome)} | ${cell(g.reason)} |`),
    '',
  ];
}

/** A successful run in which every proposer failed (report/run-report.ts everyProposerFailed). */
function unusable(r: RunReport): boolean {
  return r.status === 'success' && everyProposerFailed(r.metrics);
}

/**
 * A proposal's risk as the rails judged it: the effective risk (the higher of the stated one and the one the
 * rails computed), with the stated one when they differ: `risk 3 (stated 1)`, or `risk 2`.
 */
export function riskWords(p: Pick<ProposalReport, 'riskLevel' | 'computedRisk'>): string {
  const effective = Math.max(p.riskLevel, p.computedRisk ?? p.riskLevel);
  return effective === p.riskLevel ? `risk ${effective}` : `risk ${effective} (stated ${p.riskLevel})`;
}

/**
 * The job summary of a run, as markdown: status, gate results, a proposals table and the pull requests
 * (report/pull-requests.ts: title, branch, labels, link or state; in a dry run "preview: nothing was pushed or
 * opened").
 */
export function renderSummaryMarkdown(r: RunReport): string {
  const lines: string[] = [
    `## Self-Evolution run ${r.runId ?? '(not recorded)'}: ${r.status}${unusable(r) ? ', no usable proposal' : ''}${r.dryRun ? ' (dry run)' : ''}`,
    '',
    `- repository: \`${r.repository}\`, day ${r.runDate} (UTC), trigger ${r.trigger}${r.forced ? ', forced' : ''}`,
    `- ${r.summary}`,
    `- base \`${r.baseSha ?? '(not read)'}\`, self-evolution ${r.toolVersion}, actor ${cell(r.actor ?? '(unknown)')}`,
  ];
  if (r.liveRefusal) lines.push(`- ${cell(r.liveRefusal)}`);
  if (r.skipReason) lines.push(`- skipped: ${r.skipReason}`);
  if (r.error) lines.push(`- error: ${r.error}`);
  if (r.sandbox === 'none') {
    lines.push(
      '- **sandbox: none** (config `"sandbox": "none"`): the repository\'s commands ran without isolation; they could read the run\'s environment and files and leave processes behind',
    );
  } else if (r.sandbox) {
    lines.push(`- sandbox: ${r.sandbox} (the repository's commands ran isolated)`);
  }
  if (r.jitterMs > 0) lines.push(`- jitter: ${Math.round(r.jitterMs / 1000)} s`);
  if (Object.keys(r.overrides).length > 0)
    lines.push(`- environment overrides: ${cell(JSON.stringify(r.overrides))}`);
  if (r.metrics.request) lines.push(`- request: ${cell(r.metrics.request)}`);
  if (r.metrics.tokensUsed) lines.push(`- tokens used by openai proposers: ${r.metrics.tokensUsed}`);
  const reconciled = reconcileLine(r);
  if (reconciled) lines.push(`- ${cell(reconciled)}`);
  for (const l of r.metrics.limitsReached ?? []) {
    lines.push(
      `- limit reached: \`${l.limit}\` (${l.value}): ${cell(l.detail)}; ${l.skipped} skipped or dropped`,
    );
  }
  lines.push('');
  lines.push(...gateRows('Gates before jitter', r.gates.beforeJitter));
  lines.push(...gateRows('Gates under the lock', r.gates.underLock));
  if (r.proposals.length > 0) {
    lines.push(
      '### Proposals',
      '',
      '| title | type | risk | files | lines | verdict | reasons |',
      '| --- | --- | --- | --- | --- | --- | --- |',
    );
    for (const p of r.proposals) {
      lines.push(
        `| ${cell(p.title)} | ${cell(p.type)} | ${riskWords(p).replace(/^risk /, '')} | ${p.filesChanged} | ${p.linesChanged} | ${p.verdict} | ${cell(p.blockedReasons.join('; '))} |`,
      );
    }
    lines.push('');
    lines.push(...pullRequestSummaryLines(r));
  } else if (r.status !== 'skipped') {
    lines.push('No proposals.', '');
  }
  lines.push(...revertSummaryLines(r));
  return lines.join('\n');
}

/**
 * The CLI's human-readable result (stderr): one line per proposal with its verdict and reasons, and its pull
 * request (title, branch, labels, URL or state); a dry run's previews end with "preview: nothing was pushed or
 * opened".
 */
export function renderRunText(r: RunReport): string {
  const detail = r.status === 'skipped' ? r.skipReason : r.status === 'failed' ? r.error : r.summary;
  const out: string[] = [`run ${r.runId ?? '(not recorded)'} ${r.status}: ${detail ?? r.summary}`];
  for (const p of r.proposals) {
    out.push(
      `  [${p.verdict.toUpperCase()}] ${p.title} (${p.type}, ${riskWords(p)}, ${p.filesChanged} files, ${p.linesChanged} lines)`,
    );
    for (const reason of p.blockedReasons) out.push(`      - ${reason}`);
    out.push(...pullRequestTextLines(p));
  }
  out.push(...previewTextLines(r));
  const reconciled = reconcileLine(r);
  if (reconciled) out.push(reconciled);
  for (const l of r.metrics.limitsReached ?? []) {
    out.push(`limit reached: ${l.limit} (${l.value}): ${l.detail}; ${l.skipped} skipped or dropped`);
  }
  out.push(...revertTextLines(r));
  if (r.sandbox === 'none') out.push("sandbox: none: the repository's commands ran without isolation");
  if (r.artifactsDir) out.push(`artifacts: ${r.artifactsDir}`);
  return out.join('\n');
}

/** The link or the words of a revert's pull request: `[#12](url)`, `#12`, or `-`. */
function revertLink(v: NonNullable<RunReport['reverts']>[number]): string {
  if (v.number === undefined) return '-';
  return v.url ? `[#${v.number}](${v.url})` : `#${v.number}`;
}

/**
 * The job summary's "Merged self-changes" section (act/revert.ts): one row per change the health stage looked
 * at or revert it followed (state, the revert pull request, the reason); nothing when there is none.
 */
export function revertSummaryLines(r: Pick<RunReport, 'reverts'>): string[] {
  const reverts = r.reverts ?? [];
  if (reverts.length === 0) return [];
  const lines = [
    '### Merged self-changes (auto-revert)',
    '',
    '| change | commit | state | revert | reason |',
    '| --- | --- | --- | --- | --- |',
  ];
  for (const v of reverts) {
    lines.push(
      `| ${v.pullRequest !== null ? `#${v.pullRequest}` : `action #${v.actionId}`} | \`${v.revertedSha.slice(0, 7)}\` | ${v.state}${v.mode === 'shadow' ? ' (shadow)' : ''} | ${revertLink(v)} | ${cell(v.reason)} |`,
    );
  }
  lines.push('');
  return lines;
}

/** The CLI's lines of the health stage: `revert: action #3 (1a2b3c4) opened #7 https://...: <reason>`. */
export function revertTextLines(r: RunReport): string[] {
  return (r.reverts ?? []).map(
    (v) =>
      `revert: action #${v.actionId} (${v.revertedSha.slice(0, 7)}) ${v.state}${v.mode === 'shadow' ? ' (shadow)' : ''}${v.number !== undefined ? ` #${v.number}${v.url ? ` ${v.url}` : ''}` : ''}: ${v.reason}`,
  );
}

/**
 * The publish job's job summary (Markdown): report/pull-requests.ts renderPublishMarkdown (heading, summary line,
 * the pull requests table), then what reconciliation made of the earlier pull requests (one line, counts only:
 * reconcileLine) and the health stage's "Merged self-changes (auto-revert)" table (revertSummaryLines); each
 * left out when empty.
 */
export function renderPublishSummary(
  r: PublishSummaryInput & Pick<RunReport, 'reconciled' | 'reverts'>,
): string {
  const lines = [renderPublishMarkdown(r)];
  const reconciled = reconcileLine(r);
  if (reconciled) lines.push(`- ${cell(reconciled)}`, '');
  lines.push(...revertSummaryLines(r));
  return lines.join('\n');
}
