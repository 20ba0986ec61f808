/**
 * The act stage of a run: what happens to the allowed proposals.
 *
 * - Dry run: nothing is pushed or opened; each allowed proposal gets a preview of its pull request (title, body,
 *   branch, labels) in its report, written to the artifacts and the job summary.
 * - Live run: in order, up to the pull-request limits (`pullRequest.maxPerRun`, `maxPerDay` counted in the
 *   database, `maxOpen` counted on GitHub), each allowed proposal of a live change type (`liveChangeTypes`) is
 *   verified (config `verify`) and published (act/publish.ts). A limit reached is recorded on the run.
 */
import type { Config } from '../config/schema.js';
import type { Clock, Logger, RunGuard } from '../deps.js';
import type { LimitReached, ProposalReport, VerifyReport } from '../records.js';
import type { GitHubClient } from '../github/client.js';
import { describeGitHubError } from '../github/errors.js';
import { openPullRequestsWithPrefix, type RepoRef } from '../github/pulls.js';
import type { RemoteAccess } from '../git/publish.js';
import type { Queryable } from '../store/db.js';
import { countActionsOn, findActionByPatch } from '../store/actions.js';
import { patchSha256, recordVerify } from '../store/proposals.js';
import { publishChange, type PublishContext, type RenderedPullRequest } from './publish.js';
import { publishableAfterVerify } from './verify.js';
import { writeBundle, type Bundle, type BundleEntry } from './bundle.js';

/** One judged proposal the stage may act on. `report` is updated in place (verify, pullRequest, status). */
export interface ActItem {
  report: ProposalReport;
  /** The change (git diff --binary text), or null for a failed proposer. */
  patch: string | null;
  /** The commit the proposal was made on. */
  baseSha: string;
}

/** Renders the pull request of an item on a base commit, with its verification (act/pull-request.ts). */
export type RenderFor = (item: ActItem, verify: VerifyReport, baseSha: string) => RenderedPullRequest;

/** Verifies an item's change on a base commit (act/verify.ts verifyProposal with the run's sandbox). */
export type VerifyFor = (item: ActItem, baseSha: string) => Promise<VerifyReport>;

/** What a live run's act stage needs (absent in a dry run). */
export interface LiveAct {
  db: Queryable;
  github: GitHubClient;
  repo: RepoRef;
  remote: RemoteAccess;
  tokenKind: string;
  defaultBranch: string;
  identityDate: Date;
  rejudge: PublishContext['rejudge'];
  /** How CI runs on the pull requests (live.ts ciTextFor), put on each published one's report. */
  ciText?: string;
}

/**
 * The two-job setup's propose side (action `mode: propose`): instead of publishing, the verified changes go into
 * a proposal bundle (act/bundle.ts) for the publish job, at most `pullRequest.maxPerRun` of them.
 */
export interface BundleTarget {
  /** Directory the bundle is written to. */
  dir: string;
  head: Omit<Bundle, 'version' | 'items'>;
}

/** Input of {@link actOnProposals}. */
export interface ActInput {
  dryRun: boolean;
  items: ActItem[];
  config: Config;
  runId: number | null;
  /** 'YYYY-MM-DD' (UTC): the day maxPerDay counts. */
  runDate: string;
  repository: string;
  guard: RunGuard;
  logger: Logger;
  secrets: readonly string[];
  clock: Clock;
  render: RenderFor;
  verify: VerifyFor;
  /** Live runs that publish (single job, or the publish job). */
  live?: LiveAct;
  /** Live runs of the propose job: bundle instead of publishing (exclusive with `live`). */
  bundle?: BundleTarget;
  /** Records verify results on the proposal rows (absent: not recorded, e.g. telemetry.storeProposals off). */
  db?: Queryable;
}

/** What the stage did, for the run record. */
export interface ActResult {
  /** Pull requests opened by this run. */
  opened: number;
  /** Changes put into the proposal bundle (propose job), and the files written. */
  bundled?: { count: number; files: string[] };
  limitsReached: LimitReached[];
}

/** The allowed proposals with a change, in order. */
function allowedItems(items: readonly ActItem[]): ActItem[] {
  return items.filter(
    (i) => i.report.verdict === 'allowed' && i.patch !== null && i.report.status === 'evaluated',
  );
}

/** Whether a change type is published in live mode (config liveChangeTypes; absent: every type). */
function isLiveType(config: Config, type: string): boolean {
  return config.liveChangeTypes === undefined || (config.liveChangeTypes as readonly string[]).includes(type);
}

/**
 * Stage: act on the allowed proposals (see the module docs). Updates each item's report in place.
 * @throws RunInterrupted when the run must stop (signal or lost lock) before a side effect; database errors
 */
export async function actOnProposals(input: ActInput): Promise<ActResult> {
  const allowed = allowedItems(input.items);
  const result: ActResult = { opened: 0, limitsReached: [] };
  if (!input.dryRun && input.bundle) return bundleProposals(input, input.bundle, allowed);
  if (input.dryRun || !input.live) {
    for (const item of allowed) {
      const verify = await verified(input, item, item.baseSha);
      try {
        item.report.pullRequest = { ...input.render(item, verify, item.baseSha), state: 'preview' };
      } catch (e) {
        const reason = `the pull request cannot be rendered: ${e instanceof Error ? e.message : String(e)}`;
        input.logger.warn(`proposal "${item.report.title}": ${reason}`);
        item.report.pullRequest = notPublished(input, item, reason);
      }
    }
    input.logger.info(
      `dry run: ${allowed.length} allowed proposal(s) would be opened as pull requests (previews in the artifacts); nothing was pushed or opened`,
    );
    return result;
  }

  const live = input.live;
  const pr = input.config.pullRequest;
  let openOnGitHub: number;
  try {
    const open = await openPullRequestsWithPrefix(live.github, {
      ...live.repo,
      branchPrefix: input.config.prTemplateConfig.branchPrefix,
      maxPages: 3,
    });
    openOnGitHub = open.items.length;
  } catch (e) {
    // Without the count, maxOpen cannot be honoured: nothing is published.
    const reason = `could not count the open self-evolution pull requests: ${describeGitHubError(e)}`;
    input.logger.warn(reason);
    for (const item of allowed) item.report.pullRequest = notPublished(input, item, reason);
    return result;
  }
  let today = await countActionsOn(live.db, input.repository, input.runDate);

  for (const item of allowed) {
    if (!isLiveType(input.config, item.report.type)) {
      await previewNotLive(input, item);
      continue;
    }
    // A patch an earlier run already started is finished or reported, whatever the limits say: it counted then.
    const earlier = await findActionByPatch(live.db, input.repository, 'pr', patchSha256(item.patch!));
    const limit = earlier ? null : firstLimit(pr, { run: result.opened, today, open: openOnGitHub });
    if (limit) {
      const reached = result.limitsReached.find((l) => l.limit === limit.limit);
      if (reached) reached.skipped++;
      else result.limitsReached.push({ ...limit, skipped: 1 });
      item.report.pullRequest = notPublished(input, item, `limit reached: pullRequest.${limit.limit}`);
      continue;
    }
    const published = await publishChange(
      {
        db: live.db,
        github: live.github,
        repo: live.repo,
        repository: input.repository,
        remote: live.remote,
        runId: input.runId ?? 0,
        identity: { ...input.config.pullRequest.commitAuthor, date: live.identityDate },
        commitSigning: pr.commitSigning,
        guard: input.guard,
        logger: input.logger,
        secrets: input.secrets,
        tokenKind: live.tokenKind,
        ...(pr.ciWorkflow ? { ciWorkflow: pr.ciWorkflow } : {}),
        defaultBranch: live.defaultBranch,
        rejudge: live.rejudge,
        prepare: async (baseSha) => {
          const verify = await verified(input, item, baseSha);
          const ok = publishableAfterVerify({
            verify,
            computedRisk: effectiveRisk(item.report),
            optional: input.config.verify.optional,
          });
          if (!ok.ok) return { ok: false, verify, reason: ok.reason };
          return { ok: true, verify, pr: input.render(item, verify, baseSha) };
        },
      },
      {
        proposalId: item.report.id ?? 0,
        title: item.report.title,
        description: item.report.description ?? '',
        type: item.report.type,
        riskLevel: item.report.riskLevel,
        patch: item.patch!,
        baseSha: item.baseSha,
      },
    );
    if (published.verify) item.report.verify = published.verify;
    item.report.pullRequest = published.pullRequest;
    if (
      live.ciText &&
      (published.pullRequest.state === 'opened' || published.pullRequest.state === 'existing')
    )
      item.report.pullRequest.ci = live.ciText;
    if (published.pullRequest.state === 'opened') {
      result.opened++;
      today++;
      openOnGitHub++;
    }
  }
  return result;
}

/**
 * The propose job's act stage: each allowed change of a live type is verified (at most pullRequest.maxPerRun
 * that pass) and put into the bundle with its rendered pull request as `bundled`; the others are previewed or
 * not published, with the reason. The bundle is written even when empty (the publish job then opens nothing).
 */
async function bundleProposals(
  input: ActInput,
  target: BundleTarget,
  allowed: ActItem[],
): Promise<ActResult> {
  const max = input.config.pullRequest.maxPerRun;
  const entries: BundleEntry[] = [];
  const result: ActResult = { opened: 0, limitsReached: [] };
  for (const item of allowed) {
    if (!isLiveType(input.config, item.report.type)) {
      await previewNotLive(input, item);
      continue;
    }
    if (entries.length >= max) {
      const reached = result.limitsReached.find((l) => l.limit === 'maxPerRun');
      if (reached) reached.skipped++;
      else
        result.limitsReached.push({
          limit: 'maxPerRun',
          value: max,
          skipped: 1,
          detail: `${entries.length} change(s) bundled for the publish job`,
        });
      item.report.pullRequest = notPublished(input, item, 'limit reached: pullRequest.maxPerRun');
      continue;
    }
    const verify = await verified(input, item, item.baseSha);
    const ok = publishableAfterVerify({
      verify,
      computedRisk: effectiveRisk(item.report),
      optional: input.config.verify.optional,
    });
    const rendered = input.render(item, verify, item.baseSha);
    if (!ok.ok) {
      item.report.pullRequest = { ...rendered, state: 'not-published', reason: ok.reason };
      continue;
    }
    item.report.pullRequest = { ...rendered, state: 'bundled', reason: 'handed to the publish job' };
    if (item.report.id === null)
      throw new Error('a bundled proposal must be recorded (telemetry.storeProposals)');
    entries.push({ report: { ...item.report, id: item.report.id }, patch: item.patch!, verify });
  }
  const files = await writeBundle(target.dir, target.head, entries);
  input.logger.info(`proposal bundle: ${entries.length} change(s) for the publish job in ${target.dir}`);
  result.bundled = { count: entries.length, files };
  return result;
}

/** An allowed change of a type liveChangeTypes does not list: verified and previewed, never published. */
async function previewNotLive(input: ActInput, item: ActItem): Promise<void> {
  const verify = await verified(input, item, item.baseSha);
  item.report.pullRequest = {
    ...input.render(item, verify, item.baseSha),
    state: 'preview',
    reason: `type ${item.report.type} is not in liveChangeTypes: previewed, not published`,
  };
}

/** The item's verification on `baseSha` (recorded on its proposal row; a failure marks it verify-failed). */
async function verified(input: ActInput, item: ActItem, baseSha: string): Promise<VerifyReport> {
  const verify = await input.verify(item, baseSha);
  item.report.verify = verify;
  if (verify.status === 'failed') item.report.status = 'verify-failed';
  if (input.db && item.report.id !== null) await recordVerify(input.db, item.report.id, verify);
  return verify;
}

/**
 * The risk a change is treated as: the higher of the stated risk and the one the rails computed (what the rails
 * judge by), so a change its proposer calls risky needs verification too.
 */
function effectiveRisk(report: ProposalReport): number {
  return Math.max(report.riskLevel, report.computedRisk ?? 0);
}

/** The first pull-request limit that stops one more pull request, or null. */
function firstLimit(
  pr: Config['pullRequest'],
  n: { run: number; today: number; open: number },
): Omit<LimitReached, 'skipped'> | null {
  if (n.run >= pr.maxPerRun)
    return { limit: 'maxPerRun', value: pr.maxPerRun, detail: `${n.run} pull request(s) opened by this run` };
  if (n.today >= pr.maxPerDay)
    return {
      limit: 'maxPerDay',
      value: pr.maxPerDay,
      detail: `${n.today} pull request(s) started today (UTC)`,
    };
  if (n.open >= pr.maxOpen)
    return {
      limit: 'maxOpen',
      value: pr.maxOpen,
      detail: `${n.open} self-evolution pull request(s) open on GitHub`,
    };
  return null;
}

/** A not-published report for an item (its rendered fields unknown: branch etc. left empty). */
function notPublished(
  input: ActInput,
  item: ActItem,
  reason: string,
): NonNullable<ProposalReport['pullRequest']> {
  return {
    state: 'not-published',
    branch: '',
    title: item.report.title,
    body: '',
    labels: [],
    reviewers: [],
    draft: input.config.pullRequest.draft,
    reason,
  };
}

/**
 * The dry-run act stage as run.ts calls it today: logs how many allowed proposals would be opened as pull
 * requests; nothing is applied, pushed or opened.
 */
export async function actOn(
  proposals: readonly Pick<ProposalReport, 'verdict'>[],
  logger: Logger,
): Promise<void> {
  const allowed = proposals.filter((p) => p.verdict === 'allowed').length;
  logger.info(
    `dry run: ${allowed} allowed proposal(s) would be opened as pull requests; nothing was changed`,
  );
}
