/**
 * The dry run's preview of pull requests (gh-aw's "staged mode"): for each allowed proposal, the pull request
 * a live run would open (branch, title, body with its marker, labels, reviewers, draft flag), put on its
 * report as `pullRequest: { state: 'preview', … }`. Nothing is pushed or opened; no I/O but the logger.
 */
import { patchSha256 } from '../store/proposals.js';
import type { Config } from '../config/schema.js';
import type { Logger } from '../deps.js';
import type { RailsPolicy } from '../rails/types.js';
import type { ProposalReport, PullRequestReport, VerifyReport } from '../records.js';
import { renderPullRequest, titleFor, type RenderedPullRequest } from './pull-request.js';

/** One judged proposal: its report (given a `pullRequest`) and its patch text (`git diff --binary`). */
export interface PreviewItem {
  report: ProposalReport;
  /** The patch, or null (a failure): a proposal without one gets no preview. */
  patch: string | null;
  /** The commit the proposal was made on; default the run's (PreviewOptions.baseSha). */
  baseSha?: string;
}

/** What rendering a run's pull requests needs besides each proposal (see pullRequestRenderer). */
export interface PullRequestContext {
  /** The run (self_evolution_runs id), or null when not recorded. */
  runId: number | null;
  /** The run's UTC day, YYYY-MM-DD. */
  runDate: string;
  /** The branch a pull request targets; null or absent: "the default branch". */
  baseBranch?: string | null;
  /** The reflection's insights, or null. */
  insights: string | null;
  /** The effective config (the parts that shape a pull request). */
  config: Pick<Config, 'prTemplateConfig' | 'pullRequest' | 'safetyRails' | 'verify'>;
  /** The rails policy the proposals were judged by (the checklist's numbers). */
  policy: Pick<RailsPolicy, 'maxLinesOfCode' | 'maxFilesChanged' | 'maxRiskLevel'>;
  /** The workflow run's web page, or null. */
  logsUrl: string | null;
  /** Name the run's Actions artifact is uploaded under (e.g. `self-evolution-run-12`), or null. */
  artifactName: string | null;
  /** The repository's pull request template read from the base commit, or null (built-in body). */
  template: string | null;
  /** Login that opens the pull requests; default config pullRequest.commitAuthor.name. */
  author?: string | null;
  /** How CI runs on them, one line of Markdown; default ciTextOf(config.pullRequest). */
  ciText?: string;
  /** How to undo a merged one, one line of Markdown; default REVERT_HINT. */
  revertHint?: string;
  /** The reflection record, when stored. */
  reflectionId?: number | null;
}

/** What the preview needs besides the proposals. */
export interface PreviewOptions extends PullRequestContext {
  /** The commit the proposals are based on (40 or 64 hex), unless an item names its own. */
  baseSha: string;
  logger?: Logger;
}

/** The default rollback hint of a pull request. */
export const REVERT_HINT =
  '`git revert -m 1 <merge commit>`, or `self-evolution rollback --pr <number>` (opens a revert pull request)';

/** How CI runs on a pull request live mode opens, as config pullRequest.ciWorkflow says. */
export function ciTextOf(pullRequest: Pick<Config['pullRequest'], 'ciWorkflow'>): string {
  return pullRequest.ciWorkflow
    ? `CI: workflow \`${pullRequest.ciWorkflow.replace(/`/g, '')}\` is started by workflow_dispatch on the branch (config \`pullRequest.ciWorkflow\`)`
    : "CI: the repository's pull_request workflows run on it (none start for a pull request opened with GITHUB_TOKEN: set `pullRequest.ciWorkflow` or open with an app token)";
}

/** The verification a pull request states when the proposal has none: not configured, or not run. */
function verifyOf(report: ProposalReport, config: PullRequestContext['config']): VerifyReport | null {
  if (report.verify) return report.verify;
  return config.verify.commands.length === 0 ? { status: 'not-configured', commands: [] } : null;
}

/**
 * A renderer of the run's pull requests: `(item, verify, baseSha)` -> renderPullRequest of the item's report
 * with the context's run facts and config, the patch's sha256 and `verify` (null: the report's own, else
 * 'not-configured' when config verify.commands is empty, else "did not run"). The act stage's live and
 * dry-run paths both use it, so a preview says what a live run opens.
 * @throws Error when the item has no patch; RangeError from renderPullRequest (a branch prefix git refuses, a
 *   base commit that is not a hash)
 */
export function pullRequestRenderer(
  ctx: PullRequestContext,
): (item: PreviewItem, verify: VerifyReport | null, baseSha: string) => RenderedPullRequest {
  const { config } = ctx;
  return (item, verify, baseSha) => {
    if (item.patch === null) throw new Error(`proposal "${item.report.title}" has no patch to open`);
    return renderPullRequest({
      proposal: item.report,
      runId: ctx.runId,
      runDate: ctx.runDate,
      patchSha256: patchSha256(item.patch),
      baseSha,
      baseBranch: ctx.baseBranch ?? null,
      insights: ctx.insights,
      verify: verify ?? verifyOf(item.report, config),
      policy: ctx.policy,
      config: {
        prTemplateConfig: config.prTemplateConfig,
        pullRequest: config.pullRequest,
        requireReviewers: config.safetyRails.requireReviewers,
      },
      author: ctx.author === undefined ? config.pullRequest.commitAuthor.name : ctx.author,
      logsUrl: ctx.logsUrl,
      artifactName: ctx.artifactName,
      ciText: ctx.ciText ?? ciTextOf(config.pullRequest),
      revertHint: ctx.revertHint ?? REVERT_HINT,
      template: ctx.template,
      ...(ctx.reflectionId !== undefined ? { reflectionId: ctx.reflectionId } : {}),
    });
  };
}

/**
 * Previews the pull request of each allowed proposal (verdict 'allowed', status 'evaluated', with a patch):
 * sets `report.pullRequest` to `{ state: 'preview', baseBranch?, title, body, branch, labels, reviewers,
 * draft }` (pullRequestRenderer; the verification is the report's `verify`, else 'not-configured' when config
 * verify.commands is empty, else "did not run"). Other proposals are left alone. A proposal whose pull request
 * cannot be rendered (a branch prefix git refuses, a base commit that is not a hash) gets
 * `{ state: 'not-published', reason }` and a warning instead: never throws for one proposal.
 * @returns the pull requests set, in the order of `items`
 */
export function previewPullRequests(
  items: readonly PreviewItem[],
  opts: PreviewOptions,
): PullRequestReport[] {
  const out: PullRequestReport[] = [];
  const render = pullRequestRenderer(opts);
  const baseBranch = opts.baseBranch ?? null;
  for (const item of items) {
    const { report, patch } = item;
    if (report.verdict !== 'allowed' || report.status !== 'evaluated' || patch === null) continue;
    let pr: PullRequestReport;
    try {
      const rendered = render(item, null, item.baseSha ?? opts.baseSha);
      pr = { state: 'preview', ...(baseBranch ? { baseBranch } : {}), ...rendered };
      opts.logger?.info(
        `preview: pull request "${pr.title}" from ${pr.branch} (labels ${pr.labels.join(', ')}); nothing was pushed or opened`,
      );
    } catch (err) {
      const reason = `cannot preview the pull request: ${(err instanceof Error ? err.message : String(err)).split('\n')[0]}`;
      pr = {
        state: 'not-published',
        branch: '',
        title: titleFor(report.title),
        body: '',
        labels: [],
        reviewers: [],
        draft: opts.config.pullRequest.draft,
        reason,
      };
      opts.logger?.warn(`proposal "${report.title}": ${reason}`);
    }
    report.pullRequest = pr;
    out.push(pr);
  }
  return out;
}
