/**
 * The pull requests of a run as the reports show them: one Markdown file per proposal with a pull request
 * (`proposal-<id>.pull-request.md` in the artifacts: what was, or in a dry run would be, opened), and the lines
 * of the job summary and the CLI's text output. Plain data in, text out.
 */
import type { ProposalReport, PullRequestReport } from '../records.js';
import type { RunReport } from './types.js';

/** The line a dry run's reports carry: its pull requests are previews. */
export const PREVIEW_NOTE = 'preview: nothing was pushed or opened';

/**
 * The artifact file of a proposal's pull request: `proposal-<id>.pull-request.md`, the position in the run
 * (1-based) standing in for the id when the proposal was not recorded (as for its `.patch`).
 */
export function pullRequestFileName(proposal: Pick<ProposalReport, 'id'>, index: number): string {
  return `proposal-${proposal.id ?? index + 1}.pull-request.md`;
}

/** One line: line breaks and other control characters become spaces. */
function flat(text: string): string {
  // eslint-disable-next-line no-control-regex
  return text.replace(/[\x00-\x1f\x7f\u2028\u2029]+/g, ' ').trim();
}

/** `text` as an inline code span whose delimiters no backtick run inside can close. */
function code(text: string): string {
  const t = flat(text);
  const longest = Math.max(0, ...(t.match(/`+/g) ?? []).map((r) => r.length));
  const fence = '`'.repeat(longest + 1);
  const pad = t.startsWith('`') || t.endsWith('`') ? ' ' : '';
  return `${fence}${pad}${t}${pad}${fence}`;
}

/** Markdown-safe plain text for a summary line: one line, no HTML. */
function plain(text: string): string {
  return flat(text).replace(/</g, '&lt;');
}

function list(values: readonly string[]): string {
  return values.length ? values.map(code).join(', ') : '(none)';
}

/** Where a pull request stands: `preview`, `opened #12`, `existing #12`, `not-published: <reason>`. */
function stateOf(pr: PullRequestReport): string {
  const n = pr.number !== undefined ? ` #${pr.number}` : '';
  return `${pr.state}${n}${pr.reason ? `: ${flat(pr.reason)}` : ''}`;
}

/**
 * The artifact file of one pull request: its title as an H1 line, a front block (state, branch, base, labels,
 * reviewers, draft, and the URL or the reason when it has one), a rule, then the body as it is (or would be)
 * on GitHub, marker included. Ends with a newline.
 */
export function renderPullRequestFile(pr: PullRequestReport): string {
  const front = [
    `- state: ${pr.state === 'preview' ? `preview (${PREVIEW_NOTE})` : pr.state}`,
    `- branch: ${pr.branch ? code(pr.branch) : '(none)'}`,
    `- base: ${pr.baseBranch ? code(pr.baseBranch) : 'the default branch'}`,
    `- labels: ${list(pr.labels)}`,
    `- reviewers: ${list(pr.reviewers)}`,
    `- draft: ${pr.draft ? 'yes' : 'no'}`,
  ];
  if (pr.number !== undefined) front.push(`- number: #${pr.number}`);
  if (pr.url) front.push(`- url: ${pr.url}`);
  if (pr.reason) front.push(`- reason: ${plain(pr.reason)}`);
  return `# ${flat(pr.title)}\n\n${front.join('\n')}\n\n---\n\n${pr.body.replace(/\n*$/, '\n')}`;
}

/** The proposals of a run that have a pull request, with their position. */
function withPullRequests(r: RunReport): { p: ProposalReport; pr: PullRequestReport; index: number }[] {
  return r.proposals.flatMap((p, index) => (p.pullRequest ? [{ p, pr: p.pullRequest, index }] : []));
}

/** True when the run's pull requests include a preview (a dry run, or a type not published live). */
function hasPreview(r: RunReport): boolean {
  return r.proposals.some((p) => p.pullRequest?.state === 'preview');
}

/**
 * The job summary's pull request section (Markdown lines, empty when no proposal has one): a `### Pull
 * requests` heading, in a dry run the PREVIEW_NOTE line, then per proposal its title, branch and labels, and
 * the link when opened (else its state), and the artifact file it is written to.
 */
export function pullRequestSummaryLines(r: RunReport): string[] {
  const rows = withPullRequests(r);
  if (rows.length === 0) return [];
  const lines = ['### Pull requests', ''];
  if (r.dryRun || hasPreview(r)) lines.push(`_${PREVIEW_NOTE}_`, '');
  for (const { p, pr, index } of rows) {
    const where = pr.url ? `[#${pr.number ?? ''}](${pr.url}) (${pr.state})` : stateOf(pr);
    lines.push(
      `- **${plain(pr.title)}**: ${where}; branch ${pr.branch ? code(pr.branch) : '(none)'}, labels ${list(pr.labels)}; ${code(pullRequestFileName(p, index))}` +
        (pr.ci ? `\n  - ${plain(pr.ci).replace(/`/g, '')}` : ''),
    );
  }
  lines.push('');
  return lines;
}

/**
 * The CLI's lines for one proposal's pull request (indented under its proposal line), or [] without one:
 * `pull request (preview): <title>` (or `pull request #12 (opened): <title>`), its branch and labels, its URL.
 */
export function pullRequestTextLines(p: Pick<ProposalReport, 'pullRequest'>): string[] {
  const pr = p.pullRequest;
  if (!pr) return [];
  const head = pr.url ? `pull request #${pr.number ?? '?'} (${pr.state})` : `pull request (${stateOf(pr)})`;
  const lines = [
    `      ${head}: ${flat(pr.title)}`,
    `        branch ${pr.branch || '(none)'}, labels ${pr.labels.join(', ') || '(none)'}`,
  ];
  if (pr.url) lines.push(`        ${pr.url}`);
  return lines;
}

/** The CLI's closing line about previews (PREVIEW_NOTE) when the run has one, else []. */
export function previewTextLines(r: RunReport): string[] {
  return (r.dryRun || hasPreview(r)) && withPullRequests(r).length > 0 ? [PREVIEW_NOTE] : [];
}

/** What the publish job's summary shows (publish.ts PublishReport, structurally). */
export interface PublishSummaryInput {
  status: 'success' | 'failed';
  runId: number | null;
  summary: string;
  pullRequests: readonly (PullRequestReport & { proposalId: number })[];
}

/**
 * The publish job's job summary (Markdown): a heading with the propose job's run, the summary line, and a table of
 * its pull requests (proposal, title, state with the link when opened or the reason, branch).
 */
export function renderPublishMarkdown(r: PublishSummaryInput): string {
  const lines = [
    `## Self-Evolution publish${r.runId !== null ? ` (run #${r.runId})` : ''}: ${r.status}`,
    '',
    plain(r.summary),
    '',
  ];
  if (r.pullRequests.length > 0) {
    lines.push('| proposal | title | pull request | branch |', '| --- | --- | --- | --- |');
    for (const pr of r.pullRequests) {
      const where = pr.url ? `[#${pr.number ?? ''}](${pr.url}) (${pr.state})` : stateOf(pr);
      lines.push(
        `| ${pr.proposalId} | ${plain(pr.title).replace(/\|/g, '\\|')} | ${where.replace(/\|/g, '\\|')} | ${pr.branch ? code(pr.branch) : '(none)'} |`,
      );
    }
    lines.push('');
  }
  return lines.join('\n');
}
