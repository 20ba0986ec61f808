/**
 * The typed GitHub calls of the activity gate (skip while a CI workflow
 * runs or a deployment is in progress): the narrow `ActivitySource` the gate reads through, and its REST
 * implementation over the one client of src/github/client.ts. Errors are thrown as they come (Octokit
 * RequestError, with `status`); the gate turns them into its 'error' outcome.
 */
import { systemClock, type Clock } from '../deps.js';
import type { GitHubClient } from './client.js';

/** A workflow run of the repository that has not completed. */
export interface ActiveWorkflowRun {
  /** Run id (the number in .../actions/runs/<id>). */
  id: number;
  /** Workflow name, e.g. "CI". */
  name: string;
  /** queued | in_progress | waiting | requested | pending. */
  status: string;
  runNumber: number;
  /** Triggering event, e.g. push, schedule. */
  event: string;
  headBranch: string | null;
  htmlUrl: string;
  /** ISO time. */
  createdAt: string;
}

/** A deployment of the repository whose latest status is still going. */
export interface ActiveDeployment {
  /** Deployment id. */
  id: number;
  /** Target environment, e.g. "production". */
  environment: string;
  ref: string;
  sha: string;
  /** Latest status: queued | in_progress | pending ('pending' also for a recent deployment with no status yet). */
  state: string;
  /** ISO time the deployment was created. */
  createdAt: string;
  /** ISO time of its latest status; null when it has none. */
  statusCreatedAt: string | null;
}

/** What the activity gate needs from GitHub. Errors are thrown as they come (Octokit RequestError, with `status`). */
export interface ActivitySource {
  /** Workflow runs of owner/repo that are queued, in progress, waiting, requested or pending. */
  listActiveWorkflowRuns(owner: string, repo: string): Promise<ActiveWorkflowRun[]>;
  /** Recent deployments of owner/repo whose latest status is queued, in_progress or pending. */
  listActiveDeployments(owner: string, repo: string): Promise<ActiveDeployment[]>;
}

/** Workflow run statuses that mean "not finished" (values of the REST `status` filter). */
export const ACTIVE_WORKFLOW_RUN_STATUSES = Object.freeze([
  'queued',
  'in_progress',
  'waiting',
  'requested',
  'pending',
] as const);

/** Deployment status reads in flight at once in the activity gate (GitHub asks integrators not to flood it). */
export const DEPLOYMENT_STATUS_CONCURRENCY = 5;

/** Deployment status states that mean "still deploying". */
export const ACTIVE_DEPLOYMENT_STATES: readonly string[] = Object.freeze([
  'queued',
  'in_progress',
  'pending',
]);

/** Options of `createActivitySource`. */
export interface ActivitySourceOptions {
  /** How many of the most recent deployments to inspect (one status request each). Default 30. */
  deploymentsToCheck?: number;
  /** Pages of 100 runs read per status at most. Default 10. */
  maxRunPages?: number;
  /**
   * A deployment with no status at all counts as active ('pending') when created less than this many
   * minutes ago (a deployer creates the deployment, then posts statuses); older ones are abandoned and
   * ignored. Default 60.
   */
  statuslessActiveMinutes?: number;
  /** Clock for the rule above. Default the system clock. */
  clock?: Clock;
}

/**
 * An ActivitySource over the REST API:
 * - runs: `GET /repos/{owner}/{repo}/actions/runs?status=<s>&per_page=100` for each status in
 *   ACTIVE_WORKFLOW_RUN_STATUSES, following Link pages (at most `maxRunPages`), de-duplicated by id;
 * - deployments: `GET /repos/{owner}/{repo}/deployments?per_page=<n>` (first page, newest first) and, for
 *   each, `GET /repos/{owner}/{repo}/deployments/{id}/statuses?per_page=1` (the latest status).
 */
export function createActivitySource(
  octokit: GitHubClient,
  options: ActivitySourceOptions = {},
): ActivitySource {
  const deploymentsToCheck = options.deploymentsToCheck ?? 30;
  const maxRunPages = options.maxRunPages ?? 10;
  const statuslessMs = (options.statuslessActiveMinutes ?? 60) * 60_000;
  const clock = options.clock ?? systemClock;

  return {
    async listActiveWorkflowRuns(owner, repo) {
      const found = new Map<number, ActiveWorkflowRun>();
      for (const status of ACTIVE_WORKFLOW_RUN_STATUSES) {
        let pages = 0;
        const iterator = octokit.paginate.iterator(octokit.rest.actions.listWorkflowRunsForRepo, {
          owner,
          repo,
          status,
          per_page: 100,
        });
        for await (const page of iterator) {
          for (const run of page.data) {
            if (found.has(run.id)) continue;
            found.set(run.id, {
              id: run.id,
              name: run.name ?? run.path ?? `workflow ${run.workflow_id}`,
              status: run.status ?? status,
              runNumber: run.run_number,
              event: run.event,
              headBranch: run.head_branch ?? null,
              htmlUrl: run.html_url,
              createdAt: run.created_at,
            });
          }
          if (++pages >= maxRunPages) break;
        }
      }
      return [...found.values()];
    },

    async listActiveDeployments(owner, repo) {
      const { data: deployments } = await octokit.rest.repos.listDeployments({
        owner,
        repo,
        per_page: deploymentsToCheck,
      });
      const now = clock.now().getTime();
      // At most DEPLOYMENT_STATUS_CONCURRENCY status reads at a time (GitHub's REST API best practices ask for
      // requests made serially rather than concurrently; a batch of 5 keeps the gate fast and polite).
      const latest: {
        deployment: (typeof deployments)[number];
        status: { state: string; created_at: string } | undefined;
      }[] = [];
      for (let i = 0; i < deployments.length; i += DEPLOYMENT_STATUS_CONCURRENCY) {
        const batch = deployments.slice(i, i + DEPLOYMENT_STATUS_CONCURRENCY);
        latest.push(
          ...(await Promise.all(
            batch.map(async (d) => {
              const { data: statuses } = await octokit.rest.repos.listDeploymentStatuses({
                owner,
                repo,
                deployment_id: d.id,
                per_page: 1,
              });
              return { deployment: d, status: statuses[0] };
            }),
          )),
        );
      }
      const active: ActiveDeployment[] = [];
      for (const { deployment: d, status } of latest) {
        let state: string;
        if (status) state = status.state;
        else if (now - Date.parse(d.created_at) < statuslessMs) state = 'pending';
        else continue;
        if (!ACTIVE_DEPLOYMENT_STATES.includes(state)) continue;
        active.push({
          id: d.id,
          environment: d.environment,
          ref: d.ref,
          sha: d.sha,
          state,
          createdAt: d.created_at,
          statusCreatedAt: status?.created_at ?? null,
        });
      }
      return active;
    },
  };
}
