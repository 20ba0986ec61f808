/**
 * Publishing one allowed, verified change as a pull request (live mode), crash-safe and idempotent:
 *
 *   commit (base + patch, trailers) ─► rails again on the real commit and target branch ─► action row `planned`
 *   ─► the branch on the remote (never forced: a git push, or with commitSigning "api" the same tree committed
 *   through the Git Database API, act/branch.ts) ─► `pushed` ─► pull request (draft, marker, labels,
 *   reviewers) ─► `submitted`
 *
 * Every side effect is preceded by a row saying it is about to happen and followed by one saying it did. Before
 * creating anything it looks for what an earlier run may have left: the action row of the same patch (one per
 * patch per repository), the branch on the remote (adopted when its commit carries this patch's trailer), and a
 * pull request with that head in any state. So a rerun or a run after a crash between push and pull request
 * finishes the work and never makes a duplicate. A patch whose pull request was closed without merging is never
 * published again. If the default branch moved since the proposal was made, the change is applied to the new tip
 * and judged and verified again there, or given up with the reason recorded.
 *
 * Nothing here merges, enables auto-merge or force-pushes.
 */
import { RunInterrupted, type Logger, type RunGuard } from '../deps.js';
import type { PullRequestReport, VerifyReport } from '../records.js';
import { maskSecrets } from '../secrets.js';
import {
  commitMessage,
  commitPatch,
  fetchBranchMessage,
  PatchDoesNotApply,
  remoteBranchHead,
  type CommitIdentity,
  type RemoteAccess,
} from '../git/publish.js';
import type { GitHubClient } from '../github/client.js';
import { describeGitHubError, httpStatusOf } from '../github/errors.js';
import {
  branchRestriction,
  dispatchWorkflow,
  labelPullRequest,
  openPullRequest,
  pullRequestsByHead,
  requestReviewers,
  type RepoRef,
} from '../github/pulls.js';
import type { Queryable } from '../store/db.js';
import { planAction, updateAction, type ActionRecord } from '../store/actions.js';
import { patchSha256 } from '../store/proposals.js';
import { apiBranchWriter, gitBranchWriter, placeBranch, type BranchWriter } from './branch.js';

/** The rendered pull request of a change (act/pull-request.ts renderPullRequest). */
export interface RenderedPullRequest {
  branch: string;
  title: string;
  body: string;
  labels: string[];
  reviewers: string[];
  draft: boolean;
}

/** The rails' second opinion on the real commit: allowed, or the blocking reasons. */
export type Rejudged = { allowed: true } | { allowed: false; reasons: string[] };

/** One change to publish. */
export interface PublishItem {
  proposalId: number;
  title: string;
  description: string;
  type: string;
  /** Stated risk 0..5. */
  riskLevel: number;
  /** The patch (git diff --binary text) and the commit it was made on. */
  patch: string;
  baseSha: string;
}

/** What publishing needs from the run (injected; see act/stage.ts). */
export interface PublishContext {
  db: Queryable;
  github: GitHubClient;
  repo: RepoRef;
  /** 'owner/name', the key of the action rows. */
  repository: string;
  remote: RemoteAccess;
  runId: number;
  /** Who the local commit is by, and when (an `api` commit is by the token's identity: see act/branch.ts). */
  identity: CommitIdentity;
  /**
   * config pullRequest.commitSigning: 'git' pushes the local commit; 'api' makes the same change through the
   * Git Database API, so GitHub signs it (act/branch.ts).
   */
  commitSigning: 'git' | 'api';
  guard: RunGuard;
  logger: Logger;
  secrets: readonly string[];
  /** Which token pushes and opens the pull request: 'pr-token', 'github-token' or 'git-credentials' (CLI). */
  tokenKind: string;
  /** config pullRequest.ciWorkflow: started by workflow_dispatch on the branch when the token is GITHUB_TOKEN. */
  ciWorkflow?: string;
  /** The default branch (the pull request's base) and its tip on the remote. */
  defaultBranch: string;
  /**
   * The rails on the commit as it will be pushed: base...head, the policy read from the base commit, the
   * target branch and the default branch (run.ts passes check.ts checkChange).
   */
  rejudge: (input: {
    baseSha: string;
    headSha: string;
    branch: string;
    type: string;
    riskLevel: number;
  }) => Promise<Rejudged>;
  /**
   * Verifies the change on `baseSha` and renders its pull request; `{ ok: false }` when it may not be published
   * (verify failed, or unverified risk >= 2), with the report.
   */
  prepare: (
    baseSha: string,
  ) => Promise<
    | { ok: true; verify: VerifyReport; pr: RenderedPullRequest }
    | { ok: false; verify: VerifyReport; reason: string }
  >;
}

/** The outcome of publishing one change. */
export interface Published {
  pullRequest: PullRequestReport;
  verify?: VerifyReport;
  action?: ActionRecord;
}

/** A report for a change that was not published. */
function notPublished(
  pr: Partial<RenderedPullRequest>,
  reason: string,
  extra: Partial<PullRequestReport> = {},
): PullRequestReport {
  return {
    state: 'not-published',
    branch: pr.branch ?? '',
    title: pr.title ?? '',
    body: pr.body ?? '',
    labels: pr.labels ?? [],
    reviewers: pr.reviewers ?? [],
    draft: pr.draft ?? true,
    reason,
    ...extra,
  };
}

/**
 * Publishes one change (see the module docs).
 * @returns what happened, also when it was not published (`pullRequest.state` 'not-published' with the reason)
 * @throws RunInterrupted when the guard says the run must stop (before the next side effect); the database's
 *   errors (the action row is the record of truth: without it nothing is pushed)
 */
export async function publishChange(ctx: PublishContext, item: PublishItem): Promise<Published> {
  const hash = patchSha256(item.patch);
  const log = (m: string) => ctx.logger.info(`publish "${maskSecrets(item.title, ctx.secrets)}": ${m}`);

  // Where the change goes: the tip of the default branch now.
  await ctx.guard.check();
  const tip = await remoteBranchHead(ctx.remote, ctx.defaultBranch);
  if (tip === null) return { pullRequest: notPublished({}, `the remote has no branch ${ctx.defaultBranch}`) };
  if (tip !== item.baseSha) {
    log(
      `the default branch moved from ${item.baseSha.slice(0, 8)} to ${tip.slice(0, 8)}: applying the change there`,
    );
    await fetchBranchMessage(ctx.remote, ctx.defaultBranch);
  }
  const base = tip;

  // The commit, judged again as it will be pushed.
  const prepared = await ctx.prepare(base);
  if (!prepared.ok) return { pullRequest: notPublished({}, prepared.reason), verify: prepared.verify };
  const pr = prepared.pr;
  let headSha: string;
  try {
    headSha = await commitPatch({
      repoDir: ctx.remote.repoDir,
      baseSha: base,
      patch: item.patch,
      message: commitMessage(pr.title, item.description, {
        runId: ctx.runId,
        proposalId: item.proposalId,
        patchSha256: hash,
      }),
      identity: ctx.identity,
    });
  } catch (e) {
    if (e instanceof PatchDoesNotApply)
      return { pullRequest: notPublished(pr, e.message), verify: prepared.verify };
    throw e;
  }
  const verdict = await ctx.rejudge({
    baseSha: base,
    headSha,
    branch: pr.branch,
    type: item.type,
    riskLevel: item.riskLevel,
  });
  if (!verdict.allowed) {
    return {
      pullRequest: notPublished(
        pr,
        `the rails block the commit as it would be pushed: ${verdict.reasons.join('; ')}`,
      ),
      verify: prepared.verify,
    };
  }
  const restricted = await branchRestriction(ctx.github, ctx.repo, pr.branch);
  if (restricted)
    return {
      pullRequest: notPublished(pr, `${restricted}; the loop never writes to it`),
      verify: prepared.verify,
    };

  // The record before the first side effect.
  await ctx.guard.check();
  const planned = await planAction(ctx.db, {
    repository: ctx.repository,
    runId: ctx.runId,
    proposalId: item.proposalId,
    actionType: 'pr',
    branch: pr.branch,
    baseSha: base,
    patchSha256: hash,
    payload: {
      branch: pr.branch,
      patch: `sha256:${hash}`,
      base: base,
      tokenKind: ctx.tokenKind,
      labels: pr.labels,
    },
  });
  let action = planned.action;
  if (!planned.created) {
    if (action.status === 'submitted' || action.status === 'merged') {
      return {
        pullRequest: {
          ...pr,
          state: 'existing',
          branch: action.branch ?? pr.branch,
          number: action.prNumber ?? undefined,
          url: action.prUrl ?? undefined,
          headSha: action.headSha ?? undefined,
          actionId: action.id,
          reason: `this patch was already published (action #${action.id})`,
        },
        verify: prepared.verify,
        action,
      };
    }
    if (action.status === 'closed' || action.status === 'rejected' || action.status === 'rolled_back') {
      return {
        pullRequest: notPublished(
          pr,
          `this patch's pull request was closed without merging before (action #${action.id}); it is never published again`,
          { actionId: action.id },
        ),
        verify: prepared.verify,
        action,
      };
    }
    log(`finishing action #${action.id} (${action.status}) that an earlier run started`);
  }

  // The branch: adopt it when it already carries this patch, never overwrite it.
  const branch = action.branch ?? pr.branch;
  try {
    await ctx.guard.check();
    const writer = branchWriterOf(ctx);
    const placed = await placeBranch(writer, {
      repoDir: ctx.remote.repoDir,
      branch,
      baseSha: base,
      headSha,
      patchSha256: hash,
    });
    if (placed.status === 'taken') {
      const reason = `branch ${branch} already exists on the remote with another change; it is left as it is`;
      action = (await updateAction(ctx.db, action.id, { status: 'failed', error: reason })) ?? action;
      return {
        pullRequest: notPublished(pr, reason, { actionId: action.id }),
        verify: prepared.verify,
        action,
      };
    }
    headSha = placed.sha;
    const how = writer.kind === 'api' ? 'committed through the GitHub API' : 'pushed';
    log(
      placed.status === 'adopted'
        ? `branch ${branch} already carries this change (${headSha.slice(0, 8)})`
        : `${how}: ${branch} (${headSha.slice(0, 8)})`,
    );
    action =
      (await updateAction(ctx.db, action.id, {
        status: 'pushed',
        headSha,
        baseSha: base,
        from: ['planned', 'pushed'],
      })) ?? action;
  } catch (e) {
    if (e instanceof RunInterrupted) throw e;
    const reason = maskSecrets(
      httpStatusOf(e) !== undefined ? describeGitHubError(e) : e instanceof Error ? e.message : String(e),
      ctx.secrets,
    );
    // Still 'planned': no branch was made, the next run may try again.
    await updateAction(ctx.db, action.id, { status: 'planned', error: reason });
    return {
      pullRequest: notPublished(pr, `push failed: ${reason}`, { actionId: action.id }),
      verify: prepared.verify,
      action,
    };
  }

  // The pull request: one per head, in any state.
  try {
    await ctx.guard.check();
    const found = await pullRequestsByHead(ctx.github, ctx.repo, branch);
    const open = found.find((p) => p.state === 'open');
    const closed = found.find((p) => p.state === 'closed');
    if (!open && closed) {
      const status = closed.merged ? 'merged' : 'closed';
      action =
        (await updateAction(ctx.db, action.id, {
          status,
          prNumber: closed.number,
          prUrl: closed.url,
          from: ['pushed'],
        })) ?? action;
      return {
        pullRequest: notPublished(pr, `pull request #${closed.number} of this branch was already ${status}`, {
          number: closed.number,
          url: closed.url,
          actionId: action.id,
        }),
        verify: prepared.verify,
        action,
      };
    }
    const opened =
      open ??
      (await openPullRequest(ctx.github, ctx.repo, {
        head: branch,
        base: ctx.defaultBranch,
        title: pr.title,
        body: pr.body,
        draft: pr.draft,
      }));
    // What is still to do on the pull request is part of its record: a run that stops before it is done leaves
    // `finishing.done` false, and the next live run's reconciliation does it (act/reconcile.ts).
    const finish: Finishing = {
      branch,
      labels: pr.labels,
      reviewers: pr.reviewers,
      dispatch: ctx.ciWorkflow && ctx.tokenKind === 'github-token' ? ctx.ciWorkflow : null,
      done: false,
    };
    action =
      (await updateAction(ctx.db, action.id, {
        status: 'submitted',
        prNumber: opened.number,
        prUrl: opened.url,
        headSha: opened.headSha,
        from: ['pushed'],
        payload: { number: opened.number, url: opened.url, head: opened.headSha, finishing: finish },
        error: null,
      })) ?? action;
    log(`${open ? 'found' : 'opened'} pull request #${opened.number} ${opened.url}`);
    await ctx.guard.check();
    const notes = await finishPullRequest(ctx.github, ctx.repo, opened.number, finish, ctx.logger);
    action =
      (await updateAction(ctx.db, action.id, {
        status: 'submitted',
        from: ['submitted'],
        payload: { finishing: { ...finish, done: true }, ...(notes.length ? { notes } : {}) },
      })) ?? action;
    return {
      pullRequest: {
        ...pr,
        branch,
        baseBranch: ctx.defaultBranch,
        state: open ? 'existing' : 'opened',
        number: opened.number,
        url: opened.url,
        headSha: opened.headSha,
        actionId: action.id,
        ...(notes.length ? { reason: notes.join('; ') } : {}),
      },
      verify: prepared.verify,
      action,
    };
  } catch (e) {
    if (e instanceof RunInterrupted) throw e;
    // The branch stays with status 'pushed': the next run opens the pull request.
    const reason = describeGitHubError(e);
    await updateAction(ctx.db, action.id, { status: 'pushed', error: reason });
    ctx.logger.warn(`pull request for ${branch} not opened: ${reason} (the next run finishes it)`);
    return {
      pullRequest: notPublished(pr, `pull request not opened: ${reason}`, { actionId: action.id, headSha }),
      verify: prepared.verify,
      action,
    };
  }
}

/** The way the branch reaches the remote (config pullRequest.commitSigning; act/branch.ts). */
function branchWriterOf(ctx: PublishContext): BranchWriter {
  return ctx.commitSigning === 'api'
    ? apiBranchWriter({ github: ctx.github, repo: ctx.repo, repoDir: ctx.remote.repoDir, logger: ctx.logger })
    : gitBranchWriter(ctx.remote);
}

/**
 * What is done on a pull request once it is open, kept on its action as `payload.finishing` from the record that
 * says it is open: its labels, its review requests and, when the token is GITHUB_TOKEN (whose pull requests
 * start no workflow), config pullRequest.ciWorkflow started by workflow_dispatch on the branch. `done` turns
 * true once each step was tried (a failed step is a note on the action, not tried again).
 */
export interface Finishing {
  /** The pull request's head branch (the dispatch's ref). */
  branch: string;
  labels: string[];
  /** Logins, and teams as `team:<slug>`. */
  reviewers: string[];
  /** The workflow file or id to dispatch on the branch, or null. */
  dispatch: string | null;
  done: boolean;
}

/**
 * The finishing an action's record says is still to do (`payload.finishing` with `done` false), or null (done,
 * or a row written before finishing was recorded).
 */
export function pendingFinishing(a: ActionRecord): Finishing | null {
  const f = a.payload.finishing;
  if (f === null || typeof f !== 'object' || Array.isArray(f)) return null;
  const r = f as Partial<Finishing>;
  if (r.done !== false || typeof r.branch !== 'string') return null;
  const strings = (x: unknown): string[] =>
    Array.isArray(x) ? x.filter((v): v is string => typeof v === 'string') : [];
  return {
    branch: r.branch,
    labels: strings(r.labels),
    reviewers: strings(r.reviewers),
    dispatch: typeof r.dispatch === 'string' ? r.dispatch : null,
    done: false,
  };
}

/**
 * Finishes pull request `number` (see {@link Finishing}): labels (created when missing), review requests, the
 * CI dispatch. Each step that GitHub refuses is a note ("labels failed: ..."), never a failure of the pull
 * request; adding a label or requesting a review again changes nothing, so a step may be repeated safely.
 * @returns the notes, [] when every step went through
 * @throws nothing from GitHub
 */
export async function finishPullRequest(
  github: GitHubClient,
  repo: RepoRef,
  number: number,
  f: Finishing,
  logger: Logger,
): Promise<string[]> {
  const notes: string[] = [];
  const attempt = async (what: string, step: () => Promise<void>) => {
    try {
      await step();
    } catch (e) {
      notes.push(`${what} failed: ${describeGitHubError(e)}`);
      logger.warn(`${what} for #${number} failed: ${describeGitHubError(e)}`);
    }
  };
  await attempt('labels', () => labelPullRequest(github, repo, number, f.labels));
  await attempt('review request', () => requestReviewers(github, repo, number, f.reviewers));
  if (f.dispatch) {
    const workflow = f.dispatch;
    await attempt(`workflow_dispatch of ${workflow}`, () =>
      dispatchWorkflow(github, repo, workflow, f.branch),
    );
  }
  return notes;
}
