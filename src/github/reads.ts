/**
 * Bounded, paginated reads of a repository through the one client (src/github/client.ts): failed workflow
 * runs, the jobs of a run, open labelled issues, pull requests and default-branch commits. Each lists at
 * most `maxPages` pages of 100 and says whether a further page exists (`more`), so the caller can note a
 * limit it reached. Errors are thrown as they come (Octokit RequestError, with `status`). Used by
 * reflection (src/reflect/github.ts), which decides what the items mean.
 */
import type { GitHubClient } from './client.js';

/** One page as octokit.paginate.iterator yields it. */
interface Page<T> {
  data: T[];
  headers: { link?: string };
}

/** What a bounded listing read: the items of the pages read, and whether a further page was left unread. */
export interface PagedItems<T> {
  items: T[];
  more: boolean;
}

/** Reads at most `maxPages` pages; `more` is true when a further page exists that was not read. */
export async function readPages<T>(
  iterator: AsyncIterable<Page<T>>,
  maxPages: number,
): Promise<PagedItems<T>> {
  const items: T[] = [];
  let pages = 0;
  let more = false;
  for await (const page of iterator) {
    items.push(...page.data);
    if (++pages >= maxPages) {
      more = /rel="next"/.test(page.headers.link ?? '');
      break;
    }
  }
  return { items, more };
}

/** The repository a read is about, and how many pages of 100 it reads at most. */
export interface BoundedRead {
  owner: string;
  repo: string;
  /** Pages of 100 read at most (positive integer). */
  maxPages: number;
}

/**
 * Workflow runs concluded 'failure' created on or after the UTC date `createdOnOrAfter` ('YYYY-MM-DD'):
 * `GET /repos/{owner}/{repo}/actions/runs?status=failure&created=>=<date>&per_page=100`.
 */
export function listFailedWorkflowRuns(
  octokit: GitHubClient,
  read: BoundedRead & { createdOnOrAfter: string },
) {
  return readPages(
    octokit.paginate.iterator(octokit.rest.actions.listWorkflowRunsForRepo, {
      owner: read.owner,
      repo: read.repo,
      status: 'failure',
      created: `>=${read.createdOnOrAfter}`,
      per_page: 100,
    }),
    read.maxPages,
  );
}

/**
 * The jobs of the latest attempt of a run:
 * `GET /repos/{owner}/{repo}/actions/runs/{runId}/jobs?filter=latest&per_page=100`.
 */
export function listLatestJobsOfRun(octokit: GitHubClient, read: BoundedRead & { runId: number }) {
  return readPages(
    octokit.paginate.iterator(octokit.rest.actions.listJobsForWorkflowRun, {
      owner: read.owner,
      repo: read.repo,
      run_id: read.runId,
      filter: 'latest',
      per_page: 100,
    }),
    read.maxPages,
  );
}

/**
 * Open issues (and pull requests, which the issues endpoint also lists: they carry a `pull_request` key)
 * with `label`, oldest first:
 * `GET /repos/{owner}/{repo}/issues?labels=<label>&state=open&sort=created&direction=asc&per_page=100`.
 */
export function listOpenIssuesWithLabel(octokit: GitHubClient, read: BoundedRead & { label: string }) {
  return readPages(
    octokit.paginate.iterator(octokit.rest.issues.listForRepo, {
      owner: read.owner,
      repo: read.repo,
      labels: read.label,
      state: 'open',
      sort: 'created',
      direction: 'asc',
      per_page: 100,
    }),
    read.maxPages,
  );
}

/**
 * Pull requests in any state, newest first (not the search API: no separate 30/min limit, no indexing
 * delay): `GET /repos/{owner}/{repo}/pulls?state=all&sort=created&direction=desc&per_page=100`.
 */
export function listPullRequests(octokit: GitHubClient, read: BoundedRead) {
  return readPages(
    octokit.paginate.iterator(octokit.rest.pulls.list, {
      owner: read.owner,
      repo: read.repo,
      state: 'all',
      sort: 'created',
      direction: 'desc',
      per_page: 100,
    }),
    read.maxPages,
  );
}

/**
 * Commits of the default branch since an ISO time, newest first:
 * `GET /repos/{owner}/{repo}/commits?since=<since>&per_page=100`.
 */
export function listCommitsSince(octokit: GitHubClient, read: BoundedRead & { since: string }) {
  return readPages(
    octokit.paginate.iterator(octokit.rest.repos.listCommits, {
      owner: read.owner,
      repo: read.repo,
      since: read.since,
      per_page: 100,
    }),
    read.maxPages,
  );
}
