/**
 * What GitHub says about the checks of a commit, through the one client (src/github/client.ts), for the health
 * of merged self-changes (act/health.ts decides from it):
 *
 * - check runs: `GET /repos/{owner}/{repo}/commits/{ref}/check-runs?filter=all` (every attempt: a rerun is a new
 *   check run with the same name);
 * - commit statuses: `GET /repos/{owner}/{repo}/commits/{ref}/statuses` (every status, newest first: each
 *   context's newest one is what the combined status reports; earlier finished ones are earlier attempts);
 * - push workflow runs: `GET /repos/{owner}/{repo}/actions/runs?head_sha=<sha>&event=push` (the latest attempt
 *   of each run) and, for a failed rerun, its earlier attempts:
 *   `GET /repos/{owner}/{repo}/actions/runs/{run_id}/attempts/{n}`;
 * - which checks are required: branch protection's required status checks as `GET .../branches/{branch}` shows
 *   them (readable with contents: read, unlike the protection endpoint) and the rulesets' `required_status_checks`
 *   rules (`GET .../rules/branches/{branch}`); none configured means every check counts, and is said so.
 *
 * Every listing is bounded (at most `maxPages` pages of 100); a commit whose checks do not fit is reported
 * unreadable rather than judged on part of them. Errors of the reads of one commit are caught and reported as
 * `readable: false` with the reason; {@link requiredChecksOf} throws (the caller records why).
 */
import type { GitHubClient } from './client.js';
import { describeGitHubError, httpStatusOf } from './errors.js';
import type { RepoRef } from './pulls.js';
import { readPages } from './reads.js';

/** A check's state on one attempt, normalised from check runs, commit statuses and workflow runs. */
export type CheckState = 'success' | 'failure' | 'pending' | 'cancelled' | 'skipped' | 'neutral';

/** Where a check's state comes from on GitHub. */
export type CheckSource = 'check-run' | 'status' | 'workflow-run';

/** One attempt of one check on one commit. */
export interface CheckObservation {
  source: CheckSource;
  /** The check run's name, the status's context, or the workflow's name. */
  name: string;
  state: CheckState;
  /** 1 for the first attempt of this check on this commit, 2 for its first rerun, ... */
  attempt: number;
  /** When it reached `state` (ISO 8601); null while it has not finished. */
  at: string | null;
  /** Its page (the check run's or workflow run's, the status's target), or null. */
  url: string | null;
}

/** The checks of one commit, or why they could not be read. */
export type CommitSignals =
  | { sha: string; readable: true; checks: CheckObservation[] }
  | { sha: string; readable: false; error: string };

/** The checks that are required on a branch. */
export interface RequiredChecks {
  /** Their names (contexts), sorted; null when none are configured: then every check counts. */
  names: string[] | null;
  /** Where the list was read: branch protection, rulesets, both, or none configured. */
  source: 'branch-protection' | 'rulesets' | 'branch-protection+rulesets' | 'none';
  /** One line for the evidence, e.g. "no required status checks configured on main: every check counts". */
  note: string;
}

/** Pages of 100 read at most per listing of one commit (check runs, statuses, workflow runs). */
export const CHECK_PAGES = 3;

/** Earlier attempts of one failed workflow run read at most (its rerun history). */
export const MAX_EARLIER_ATTEMPTS = 3;

/** A commit's checks could not all be read within the bounds. */
class TooManyChecks extends Error {}

/** A check run's state: unfinished is pending; failure, timed_out and startup_failure fail. */
export function checkRunState(status: string, conclusion: string | null | undefined): CheckState {
  if (status !== 'completed') return 'pending';
  switch (conclusion) {
    case 'success':
      return 'success';
    case 'failure':
    case 'timed_out':
    case 'startup_failure':
      return 'failure';
    case 'cancelled':
    case 'stale':
      return 'cancelled';
    case 'skipped':
      return 'skipped';
    case 'action_required':
      return 'pending';
    default:
      return 'neutral';
  }
}

/** A commit status's state: failure and error fail, pending is pending. */
export function statusState(state: string): CheckState {
  if (state === 'success') return 'success';
  if (state === 'failure' || state === 'error') return 'failure';
  return 'pending';
}

/** Attempts numbered 1..n per name, in time order (`order` ascending). */
function numbered<T extends { name: string; order: number }>(items: T[]): (T & { attempt: number })[] {
  const byName = new Map<string, T[]>();
  for (const item of items) byName.set(item.name, [...(byName.get(item.name) ?? []), item]);
  const out: (T & { attempt: number })[] = [];
  for (const list of byName.values()) {
    list.sort((a, b) => a.order - b.order);
    list.forEach((item, i) => out.push({ ...item, attempt: i + 1 }));
  }
  return out;
}

interface RestCheckRun {
  id: number;
  name: string;
  status: string;
  conclusion: string | null;
  started_at?: string | null;
  completed_at?: string | null;
  html_url?: string | null;
  details_url?: string | null;
}

interface RestStatus {
  id: number;
  context: string;
  state: string;
  created_at: string;
  target_url?: string | null;
}

interface RestWorkflowRun {
  id: number;
  name?: string | null;
  path?: string;
  status: string | null;
  conclusion: string | null;
  run_attempt?: number;
  created_at: string;
  updated_at: string;
  run_started_at?: string;
  html_url: string;
}

/** Throws TooManyChecks when a listing left pages unread. */
function complete<T>(read: { items: T[]; more: boolean }, what: string, sha: string): T[] {
  if (read.more)
    throw new TooManyChecks(`more ${what} on ${sha.slice(0, 7)} than ${CHECK_PAGES} pages of 100`);
  return read.items;
}

/** Check runs of `sha`, every attempt. @throws RequestError, TooManyChecks */
async function checkRunsOf(gh: GitHubClient, r: RepoRef, sha: string): Promise<CheckObservation[]> {
  const read = await readPages(
    gh.paginate.iterator(gh.rest.checks.listForRef, {
      owner: r.owner,
      repo: r.repo,
      ref: sha,
      filter: 'all',
      per_page: 100,
    }),
    CHECK_PAGES,
  );
  const runs = complete(read, 'check runs', sha) as unknown as RestCheckRun[];
  return numbered(
    runs.map((c) => ({
      name: c.name,
      order: Date.parse(c.started_at ?? c.completed_at ?? '') || c.id,
      run: c,
    })),
  ).map(({ run, attempt }) => ({
    source: 'check-run' as const,
    name: run.name,
    state: checkRunState(run.status, run.conclusion),
    attempt,
    at: run.status === 'completed' ? (run.completed_at ?? null) : null,
    url: run.html_url ?? run.details_url ?? null,
  }));
}

/**
 * Commit statuses of `sha`: each finished status (success, failure, error) of a context is an attempt; a pending
 * status newer than a context's last finished one is a further, unfinished attempt. @throws RequestError,
 * TooManyChecks
 */
async function statusesOf(gh: GitHubClient, r: RepoRef, sha: string): Promise<CheckObservation[]> {
  const read = await readPages(
    gh.paginate.iterator(gh.rest.repos.listCommitStatusesForRef, {
      owner: r.owner,
      repo: r.repo,
      ref: sha,
      per_page: 100,
    }),
    CHECK_PAGES,
  );
  const statuses = (complete(read, 'commit statuses', sha) as unknown as RestStatus[])
    .map((s) => ({ name: s.context, order: Date.parse(s.created_at) || s.id, status: s }))
    .sort((a, b) => a.order - b.order);
  // Per context, oldest first: finished states are attempts; pending ones only after the last finished one.
  const kept: typeof statuses = [];
  const byContext = new Map<string, typeof statuses>();
  for (const s of statuses) byContext.set(s.name, [...(byContext.get(s.name) ?? []), s]);
  for (const list of byContext.values()) {
    const finished = list.filter((s) => statusState(s.status.state) !== 'pending');
    kept.push(...finished);
    const last = list[list.length - 1]!;
    if (statusState(last.status.state) === 'pending') kept.push(last);
  }
  return numbered(kept).map(({ status, attempt }) => {
    const state = statusState(status.state);
    return {
      source: 'status' as const,
      name: status.context,
      state,
      attempt,
      at: state === 'pending' ? null : status.created_at,
      url: status.target_url ?? null,
    };
  });
}

/** A workflow run's name: its `name`, else its file. */
const workflowName = (run: RestWorkflowRun): string =>
  run.name ?? run.path?.replace(/^.*\//, '') ?? `workflow run ${run.id}`;

/** One attempt of a workflow run as an observation (attempt numbered later). */
function runAttempt(run: RestWorkflowRun): {
  name: string;
  order: number;
  obs: Omit<CheckObservation, 'attempt'>;
} {
  const state = checkRunState(run.status ?? 'completed', run.conclusion);
  return {
    name: workflowName(run),
    order: Date.parse(run.run_started_at ?? run.created_at) * 100 + (run.run_attempt ?? 1),
    obs: {
      source: 'workflow-run',
      name: workflowName(run),
      state,
      at: state === 'pending' ? null : run.updated_at,
      url: run.html_url,
    },
  };
}

/**
 * Push workflow runs of `sha`: the latest attempt of each, and for one that failed after a rerun its earlier
 * attempts (at most MAX_EARLIER_ATTEMPTS). @throws RequestError, TooManyChecks
 */
async function workflowRunsOf(gh: GitHubClient, r: RepoRef, sha: string): Promise<CheckObservation[]> {
  const read = await readPages(
    gh.paginate.iterator(gh.rest.actions.listWorkflowRunsForRepo, {
      owner: r.owner,
      repo: r.repo,
      head_sha: sha,
      event: 'push',
      per_page: 100,
    }),
    CHECK_PAGES,
  );
  const runs = complete(read, 'workflow runs', sha) as unknown as RestWorkflowRun[];
  const attempts: ReturnType<typeof runAttempt>[] = [];
  for (const run of runs) {
    attempts.push(runAttempt(run));
    const latest = run.run_attempt ?? 1;
    if (latest < 2 || checkRunState(run.status ?? 'completed', run.conclusion) !== 'failure') continue;
    for (let n = latest - 1; n >= Math.max(1, latest - MAX_EARLIER_ATTEMPTS); n--) {
      const { data } = await gh.rest.actions.getWorkflowRunAttempt({
        owner: r.owner,
        repo: r.repo,
        run_id: run.id,
        attempt_number: n,
      });
      attempts.push(runAttempt(data as unknown as RestWorkflowRun));
    }
  }
  return numbered(attempts).map(({ obs, attempt }) => ({ ...obs, attempt }));
}

/**
 * The checks of commit `sha`: its check runs, commit statuses and push workflow runs, every attempt (see the
 * module docs). Never throws: a failed or incomplete read is `readable: false` with the reason.
 */
export async function readCommitSignals(gh: GitHubClient, r: RepoRef, sha: string): Promise<CommitSignals> {
  try {
    const checks = [
      ...(await checkRunsOf(gh, r, sha)),
      ...(await statusesOf(gh, r, sha)),
      ...(await workflowRunsOf(gh, r, sha)),
    ];
    return { sha, readable: true, checks };
  } catch (e) {
    return {
      sha,
      readable: false,
      error: e instanceof TooManyChecks ? e.message : describeGitHubError(e),
    };
  }
}

interface RestBranchProtection {
  protected?: boolean;
  protection?: {
    required_status_checks?: { contexts?: string[]; checks?: { context: string }[] } | null;
  };
}

interface RestRule {
  type: string;
  parameters?: { required_status_checks?: { context: string }[] };
}

/**
 * The required status checks of `branch`: branch protection's (`GET .../branches/{branch}`: `protection.
 * required_status_checks` contexts and checks, when the branch is protected) and the rulesets'
 * (`GET .../rules/branches/{branch}`: `required_status_checks` rules). A 404 of either (no such branch, no
 * rules) and a 403 of the rules (a token without the permission) count as none configured there.
 * @returns the union of both, or `names: null` with a note saying every check counts when there is none
 * @throws RequestError for any other failure (the caller reports the checks unreadable)
 */
export async function requiredChecksOf(
  gh: GitHubClient,
  r: RepoRef,
  branch: string,
): Promise<RequiredChecks> {
  const fromProtection = new Set<string>();
  const fromRules = new Set<string>();
  try {
    const { data } = await gh.rest.repos.getBranch({ owner: r.owner, repo: r.repo, branch });
    const b = data as unknown as RestBranchProtection;
    if (b.protected) {
      for (const c of b.protection?.required_status_checks?.contexts ?? []) fromProtection.add(c);
      for (const c of b.protection?.required_status_checks?.checks ?? []) fromProtection.add(c.context);
    }
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
    for (const rule of data as unknown as RestRule[]) {
      if (rule.type !== 'required_status_checks') continue;
      for (const c of rule.parameters?.required_status_checks ?? []) fromRules.add(c.context);
    }
  } catch (e) {
    const status = httpStatusOf(e);
    if (status !== 404 && status !== 403) throw e;
  }
  const names = [...new Set([...fromProtection, ...fromRules])].sort();
  if (names.length === 0) {
    return {
      names: null,
      source: 'none',
      note: `no required status checks configured on ${branch} (branch protection or rulesets): every check counts`,
    };
  }
  const source =
    fromProtection.size && fromRules.size
      ? 'branch-protection+rulesets'
      : fromProtection.size
        ? 'branch-protection'
        : 'rulesets';
  return {
    names,
    source,
    note: `${names.length} required check(s) on ${branch} (${source}): ${names.join(', ')}`,
  };
}
