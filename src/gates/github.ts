/**
 * The GitHub REST client of the activity gate, and the narrow `ActivitySource` the gate reads through
 * (seed 004, "Deployment Detection": skip while a CI workflow runs or a deployment is in progress).
 *
 * The client is @actions/github's `getOctokit` (REST endpoint methods, pagination, proxy-aware fetch) with
 * @octokit/plugin-retry (server errors retried) and @octokit/plugin-throttling (rate limits retried a
 * bounded number of times). Nothing here logs or throws a message containing the token.
 */
import { getOctokit } from '@actions/github';
import { retry } from '@octokit/plugin-retry';
import { throttling } from '@octokit/plugin-throttling';
import { systemClock, type Clock, type Logger } from '../deps.js';
import { redactTokens } from './types.js';

/** An authenticated Octokit: `request`, `paginate` and the `rest.*` endpoint methods. */
export type GitHubClient = ReturnType<typeof getOctokit>;

/** Retries on a primary rate limit (403/429 with x-ratelimit-remaining: 0). */
export const MAX_PRIMARY_RATE_LIMIT_RETRIES = 2;
/** Retries on a secondary rate limit ("You have exceeded a secondary rate limit"). */
export const MAX_SECONDARY_RATE_LIMIT_RETRIES = 1;

/** Options of `createGitHubClient`. */
export interface GitHubClientOptions {
  /** GitHub token (secret). Sent as the Authorization header; never logged. */
  token: string;
  /** REST API base URL, e.g. https://api.github.com or https://ghes.example.com/api/v3. */
  baseUrl: string;
  /** Where rate-limit waits and Octokit's own warnings go (message text only, tokens redacted). */
  logger: Logger;
  /**
   * Replaces @actions/github's proxy-aware fetch (undici). Tests pass `(u, i) => globalThis.fetch(u, i)` so
   * nock sees the requests; production leaves it unset.
   */
  fetch?: typeof globalThis.fetch;
  /**
   * Base of the wait between retries in ms (both plugins multiply it: retry waits (n+1)^2 x base, the
   * throttling plugin waits retry-after seconds x base). Default 1000; tests pass 1.
   */
  retryAfterBaseMs?: number;
  /** Retries of a failed request (5xx, network) by plugin-retry. Default 3. 4xx other than 429 are not retried. */
  retries?: number;
  /**
   * A rate-limit wait longer than this (in seconds, as GitHub announces it) is not waited for: the request
   * fails, the gate reports 'error' and the run is skipped rather than billing an idle hour. Default 300.
   */
  maxRateLimitWaitSeconds?: number;
}

/**
 * Creates the Octokit used by the activity gate, with the retry and throttling plugins: a primary rate
 * limit is retried at most 2 times, a secondary one at most once, and neither when GitHub asks for a wait
 * longer than `maxRateLimitWaitSeconds`.
 * @throws Error when `token` or `baseUrl` is empty (the message never contains the token).
 */
export function createGitHubClient(options: GitHubClientOptions): GitHubClient {
  const { token, baseUrl, logger } = options;
  if (!token || !token.trim()) throw new Error('createGitHubClient: the GitHub token is empty');
  if (!baseUrl || !baseUrl.trim()) throw new Error('createGitHubClient: the GitHub API base URL is empty');
  const base = options.retryAfterBaseMs ?? 1000;
  const maxWait = options.maxRateLimitWaitSeconds ?? 300;
  const say = (text: string): string => redactTokens(text).replaceAll(token, '***');

  const onLimit =
    (kind: 'primary' | 'secondary', maxRetries: number) =>
    (
      retryAfter: number,
      request: { method?: string; url?: string },
      _octokit: unknown,
      retryCount: number,
    ) => {
      const route = `${request.method ?? 'GET'} ${request.url ?? ''}`.trim();
      if (retryCount >= maxRetries) {
        logger.warn(say(`GitHub ${kind} rate limit on ${route}: giving up after ${retryCount} retries`));
        return false;
      }
      if (retryAfter > maxWait) {
        logger.warn(
          say(
            `GitHub ${kind} rate limit on ${route}: reset in ${retryAfter}s exceeds ${maxWait}s; not waiting`,
          ),
        );
        return false;
      }
      logger.warn(
        say(
          `GitHub ${kind} rate limit on ${route}: retrying in ${retryAfter}s (retry ${retryCount + 1} of ${maxRetries})`,
        ),
      );
      return true;
    };

  const forward =
    (write: (message: string) => void) =>
    (message: string): void =>
      write(say(String(message)));

  return getOctokit(
    token,
    {
      baseUrl: baseUrl.replace(/\/+$/, ''),
      userAgent: 'self-evolution',
      log: {
        debug: forward((m) => logger.debug(m)),
        info: forward((m) => logger.info(m)),
        warn: forward((m) => logger.warn(m)),
        error: forward((m) => logger.error(m)),
      },
      retry: { retryAfterBaseValue: base, retries: options.retries ?? 3 },
      throttle: {
        retryAfterBaseValue: base,
        onRateLimit: onLimit('primary', MAX_PRIMARY_RATE_LIMIT_RETRIES),
        onSecondaryRateLimit: onLimit('secondary', MAX_SECONDARY_RATE_LIMIT_RETRIES),
      },
      ...(options.fetch ? { request: { fetch: options.fetch } } : {}),
    },
    retry,
    throttling,
  );
}

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
      const latest = await Promise.all(
        deployments.map(async (d) => {
          const { data: statuses } = await octokit.rest.repos.listDeploymentStatuses({
            owner,
            repo,
            deployment_id: d.id,
            per_page: 1,
          });
          return { deployment: d, status: statuses[0] };
        }),
      );
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
