/**
 * The pull-request calls of live mode, through the one client (src/github/client.ts): finding a pull request
 * by its head branch (any state), counting the open self-evolution pull requests, opening a draft, labels
 * (created when missing), review requests, starting a CI workflow on the branch, and what the repository and
 * its branches say (default branch, protection); for reconciliation (act/reconcile.ts), one pull request with
 * its merge facts and mergeability, who closed it, its reviews and comments, a comment, and closing it without
 * merging. Errors are thrown as Octokit gives them (RequestError with
 * `status`); act/ decides what they mean. There is deliberately no call that merges, enables auto-merge or
 * force-updates a ref.
 */
import type { GitHubClient } from './client.js';
import { httpStatusOf } from './errors.js';
import { readPages } from './reads.js';

/** owner/name of the repository a call is about. */
export interface RepoRef {
  owner: string;
  repo: string;
}

/** The fields of a pull request live mode uses. */
export interface PullRequestInfo {
  number: number;
  /** Web page, e.g. https://github.com/o/r/pull/12. */
  url: string;
  state: 'open' | 'closed';
  draft: boolean;
  merged: boolean;
  /** Head branch name (without refs/heads/) and commit. */
  headRef: string;
  headSha: string;
  baseRef: string;
  body: string;
  title: string;
}

interface RestPull {
  number: number;
  html_url: string;
  state: string;
  draft?: boolean;
  merged_at?: string | null;
  head: { ref: string; sha: string };
  base: { ref: string };
  body?: string | null;
  title: string;
}

function info(p: RestPull): PullRequestInfo {
  return {
    number: p.number,
    url: p.html_url,
    state: p.state === 'closed' ? 'closed' : 'open',
    draft: p.draft === true,
    merged: typeof p.merged_at === 'string' && p.merged_at !== '',
    headRef: p.head.ref,
    headSha: p.head.sha,
    baseRef: p.base.ref,
    body: p.body ?? '',
    title: p.title,
  };
}

/** The repository's default branch: `GET /repos/{owner}/{repo}`. */
export async function defaultBranchOf(gh: GitHubClient, r: RepoRef): Promise<string> {
  const { data } = await gh.rest.repos.get({ owner: r.owner, repo: r.repo });
  return data.default_branch;
}

/**
 * Whether pushing to `branch` is restricted: `GET /repos/{owner}/{repo}/branches/{branch}` (`protected`, when
 * the branch exists) and `GET /repos/{owner}/{repo}/rules/branches/{branch}` (rulesets that apply to the name,
 * also before the branch exists). A 404 of either means "nothing known there"; 403 of the rules call (a token
 * without the permission) is treated the same, since the push itself would then be refused by GitHub.
 * @returns null when nothing protects it, else a one-line reason
 * @throws RequestError for any other failure
 */
export async function branchRestriction(
  gh: GitHubClient,
  r: RepoRef,
  branch: string,
): Promise<string | null> {
  try {
    const { data } = await gh.rest.repos.getBranch({ owner: r.owner, repo: r.repo, branch });
    if (data.protected) return `branch ${branch} is protected on GitHub`;
  } catch (e) {
    if (httpStatusOf(e) !== 404) throw e;
  }
  try {
    const { data } = await gh.rest.repos.getBranchRules({
      owner: r.owner,
      repo: r.repo,
      branch,
      per_page: 100,
    });
    const restricting = data.filter((rule) =>
      ['update', 'deletion', 'non_fast_forward', 'creation'].includes(rule.type),
    );
    if (restricting.length > 0) {
      return `rulesets restrict branch ${branch} (${restricting.map((x) => x.type).join(', ')})`;
    }
  } catch (e) {
    const status = httpStatusOf(e);
    if (status !== 404 && status !== 403) throw e;
  }
  return null;
}

/**
 * Pull requests whose head is `owner:branch`, in any state, newest first:
 * `GET /repos/{owner}/{repo}/pulls?state=all&head=<owner>:<branch>`.
 */
export async function pullRequestsByHead(
  gh: GitHubClient,
  r: RepoRef,
  branch: string,
): Promise<PullRequestInfo[]> {
  const { data } = await gh.rest.pulls.list({
    owner: r.owner,
    repo: r.repo,
    state: 'all',
    head: `${r.owner}:${branch}`,
    per_page: 100,
  });
  return (data as RestPull[]).map(info);
}

/**
 * The open pull requests whose head branch starts with `branchPrefix` (the loop's own), read from GitHub (at
 * most `maxPages` pages of 100): what `pullRequest.maxOpen` counts. `more` is true when pages were left unread
 * (the count is then a lower bound).
 */
export async function openPullRequestsWithPrefix(
  gh: GitHubClient,
  r: RepoRef & { branchPrefix: string; maxPages: number },
): Promise<{ items: PullRequestInfo[]; more: boolean }> {
  const read = await readPages(
    gh.paginate.iterator(gh.rest.pulls.list, { owner: r.owner, repo: r.repo, state: 'open', per_page: 100 }),
    r.maxPages,
  );
  return {
    items: (read.items as RestPull[]).map(info).filter((p) => p.headRef.startsWith(r.branchPrefix)),
    more: read.more,
  };
}

/** What {@link openPullRequest} sends. */
export interface NewPullRequest {
  head: string;
  base: string;
  title: string;
  body: string;
  draft: boolean;
}

/**
 * Opens a pull request: `POST /repos/{owner}/{repo}/pulls` (never with auto-merge; merging is a human's act).
 * @throws RequestError (422 when one already exists for the head, 403 without permission)
 */
export async function openPullRequest(
  gh: GitHubClient,
  r: RepoRef,
  pr: NewPullRequest,
): Promise<PullRequestInfo> {
  const { data } = await gh.rest.pulls.create({
    owner: r.owner,
    repo: r.repo,
    head: pr.head,
    base: pr.base,
    title: pr.title,
    body: pr.body,
    draft: pr.draft,
    maintainer_can_modify: false,
  });
  return info(data as RestPull);
}

/**
 * Makes sure each label exists (`GET /repos/{owner}/{repo}/labels/{name}`, created with `POST .../labels` on
 * 404), then adds them to the pull request (`POST /repos/{owner}/{repo}/issues/{number}/labels`).
 * @throws RequestError
 */
export async function labelPullRequest(
  gh: GitHubClient,
  r: RepoRef,
  number: number,
  labels: readonly string[],
): Promise<void> {
  if (labels.length === 0) return;
  for (const name of labels) {
    try {
      await gh.rest.issues.getLabel({ owner: r.owner, repo: r.repo, name });
    } catch (e) {
      if (httpStatusOf(e) !== 404) throw e;
      try {
        await gh.rest.issues.createLabel({
          owner: r.owner,
          repo: r.repo,
          name,
          color: name === 'self-evolution' ? '1d76db' : 'ededed',
          description: 'Added by Self-Evolution',
        });
      } catch (created) {
        // 422: another run created it in between
        if (httpStatusOf(created) !== 422) throw created;
      }
    }
  }
  await gh.rest.issues.addLabels({ owner: r.owner, repo: r.repo, issue_number: number, labels: [...labels] });
}

/**
 * Requests reviews: `POST /repos/{owner}/{repo}/pulls/{number}/requested_reviewers` (`team:` prefixed entries
 * go to team_reviewers without the prefix).
 * @throws RequestError (422 when a login is not a collaborator)
 */
export async function requestReviewers(
  gh: GitHubClient,
  r: RepoRef,
  number: number,
  reviewers: readonly string[],
): Promise<void> {
  const users = reviewers.filter((x) => !x.startsWith('team:'));
  const teams = reviewers.filter((x) => x.startsWith('team:')).map((x) => x.slice('team:'.length));
  if (users.length === 0 && teams.length === 0) return;
  await gh.rest.pulls.requestReviewers({
    owner: r.owner,
    repo: r.repo,
    pull_number: number,
    reviewers: users,
    ...(teams.length ? { team_reviewers: teams } : {}),
  });
}

/**
 * Starts a workflow on a branch: `POST /repos/{owner}/{repo}/actions/workflows/{workflow}/dispatches` with
 * `ref` (allowed for GITHUB_TOKEN with `actions: write`; the workflow must have a workflow_dispatch trigger).
 * @throws RequestError (404 unknown workflow, 422 no workflow_dispatch trigger, 403 permission)
 */
export async function dispatchWorkflow(
  gh: GitHubClient,
  r: RepoRef,
  workflow: string,
  ref: string,
): Promise<void> {
  await gh.rest.actions.createWorkflowDispatch({ owner: r.owner, repo: r.repo, workflow_id: workflow, ref });
}

/**
 * Adds a comment to a pull request or issue: `POST /repos/{owner}/{repo}/issues/{number}/comments`.
 * @throws RequestError
 */
export async function commentOn(gh: GitHubClient, r: RepoRef, number: number, body: string): Promise<void> {
  await gh.rest.issues.createComment({ owner: r.owner, repo: r.repo, issue_number: number, body });
}

/** A pull request as reconciliation reads it (`GET /repos/{owner}/{repo}/pulls/{number}`). */
export interface PullRequestDetails extends PullRequestInfo {
  /** Login of the author (the token that opened it), or null for a deleted account. */
  author: string | null;
  /** ISO 8601 times; closedAt null while open, mergedAt null unless merged. */
  createdAt: string;
  closedAt: string | null;
  mergedAt: string | null;
  /** Login of whoever merged it; null unless merged (or a deleted account). */
  mergedBy: string | null;
  /**
   * The commit the merge made on the base branch (the merge commit, the squashed commit, or the last rebased
   * one); null unless merged.
   */
  mergeCommitSha: string | null;
  /** GitHub's test merge into the base: false when it conflicts; null while GitHub has not computed it yet. */
  mergeable: boolean | null;
  /** e.g. 'clean', 'dirty' (conflicts), 'draft', 'blocked', 'behind', 'unstable', 'unknown'. */
  mergeableState: string;
}

interface RestPullFull extends RestPull {
  user: { login: string } | null;
  created_at: string;
  closed_at: string | null;
  merged_at: string | null;
  merged_by?: { login: string } | null;
  merge_commit_sha: string | null;
  mergeable?: boolean | null;
  mergeable_state?: string;
}

/**
 * One pull request with its merge facts and mergeability: `GET /repos/{owner}/{repo}/pulls/{number}`.
 * @throws RequestError (404 unknown number, 5xx)
 */
export async function getPullRequest(
  gh: GitHubClient,
  r: RepoRef,
  number: number,
): Promise<PullRequestDetails> {
  const { data } = await gh.rest.pulls.get({ owner: r.owner, repo: r.repo, pull_number: number });
  const p = data as RestPullFull;
  return {
    ...info(p),
    author: p.user?.login ?? null,
    createdAt: p.created_at,
    closedAt: p.closed_at,
    mergedAt: p.merged_at,
    mergedBy: p.merged_by?.login ?? null,
    mergeCommitSha: p.merge_commit_sha,
    mergeable: typeof p.mergeable === 'boolean' ? p.mergeable : null,
    mergeableState: p.mergeable_state ?? 'unknown',
  };
}

/**
 * Who closed an issue or pull request: `closed_by` of `GET /repos/{owner}/{repo}/issues/{number}`; null while
 * open, or when GitHub does not say (a deleted account).
 * @throws RequestError
 */
export async function closedByOf(gh: GitHubClient, r: RepoRef, number: number): Promise<string | null> {
  const { data } = await gh.rest.issues.get({ owner: r.owner, repo: r.repo, issue_number: number });
  return data.closed_by?.login ?? null;
}

/** A review or a comment on a pull request: who wrote it, when, and its text (written by anyone: untrusted). */
export interface PullRequestRemark {
  kind: 'review' | 'comment';
  /** Login of the author, or null for a deleted account. */
  author: string | null;
  /** ISO 8601 time it was submitted or created ('' when GitHub gives none, e.g. a pending review). */
  at: string;
  /** The text ('' for a review without a body). UNTRUSTED. */
  body: string;
  /** Review state (APPROVED, CHANGES_REQUESTED, COMMENTED, ...); absent for a comment. */
  state?: string;
}

/**
 * The reviews (`GET /repos/{owner}/{repo}/pulls/{number}/reviews`) and the conversation comments
 * (`GET /repos/{owner}/{repo}/issues/{number}/comments`) of a pull request, each listing read up to
 * `maxPages` pages of 100 (oldest first, as GitHub lists them), merged into one list ordered by time (a
 * review before a comment of the same second). `more` is true when pages were left unread.
 * @throws RequestError
 */
export async function remarksOn(
  gh: GitHubClient,
  r: RepoRef,
  number: number,
  maxPages: number,
): Promise<{ items: PullRequestRemark[]; more: boolean }> {
  const reviews = await readPages(
    gh.paginate.iterator(gh.rest.pulls.listReviews, {
      owner: r.owner,
      repo: r.repo,
      pull_number: number,
      per_page: 100,
    }),
    maxPages,
  );
  const comments = await readPages(
    gh.paginate.iterator(gh.rest.issues.listComments, {
      owner: r.owner,
      repo: r.repo,
      issue_number: number,
      per_page: 100,
    }),
    maxPages,
  );
  const items: PullRequestRemark[] = [
    ...reviews.items.map((v): PullRequestRemark => ({
      kind: 'review',
      author: v.user?.login ?? null,
      at: v.submitted_at ?? '',
      body: v.body ?? '',
      state: v.state,
    })),
    ...comments.items.map((c): PullRequestRemark => ({
      kind: 'comment',
      author: c.user?.login ?? null,
      at: c.created_at,
      body: c.body ?? '',
    })),
  ];
  // stable: reviews keep their order, then comments, within the same time
  items.sort(
    (a, b) => Date.parse(a.at || '1970-01-01T00:00:00Z') - Date.parse(b.at || '1970-01-01T00:00:00Z'),
  );
  return { items, more: reviews.more || comments.more };
}

/**
 * Closes a pull request without merging it: `PATCH /repos/{owner}/{repo}/pulls/{number}` with `state: closed`
 * (the branch stays).
 * @throws RequestError
 */
export async function closePullRequest(gh: GitHubClient, r: RepoRef, number: number): Promise<void> {
  await gh.rest.pulls.update({ owner: r.owner, repo: r.repo, pull_number: number, state: 'closed' });
}
