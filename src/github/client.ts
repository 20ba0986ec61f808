/**
 * The one GitHub REST client of the project (only src/github/ builds an octokit): @actions/github's
 * `getOctokit` (REST endpoint methods, pagination, proxy-aware fetch) with @octokit/plugin-retry (server
 * errors retried) and @octokit/plugin-throttling (rate limits retried a bounded number of times). Used by
 * the activity gate (src/github/activity.ts), reflection (src/github/reads.ts) and the adapters. Nothing
 * here logs or throws a message containing the token.
 */
import { getOctokit } from '@actions/github';
import { retry } from '@octokit/plugin-retry';
import { throttling } from '@octokit/plugin-throttling';
import type { Logger } from '../deps.js';
import { redactTokens } from '../secrets.js';

/** An authenticated Octokit: `request`, `paginate` and the `rest.*` endpoint methods. */
export type GitHubClient = ReturnType<typeof getOctokit>;

/** Retries on a primary rate limit (403/429 with x-ratelimit-remaining: 0). */
export const MAX_PRIMARY_RATE_LIMIT_RETRIES = 2;
/** Retries on a secondary rate limit ("You have exceeded a secondary rate limit"). */
export const MAX_SECONDARY_RATE_LIMIT_RETRIES = 1;

/**
 * A stand-in for the throttling plugin's write and notification limiters (Bottleneck groups) that runs each job
 * at once: used only with `writeSpacingMs: 0`. The plugin calls `write.key(id).schedule(options, job)` (and the
 * same on `notifications`).
 */
const UNSPACED_WRITES = {
  key: () => ({
    schedule: <A extends unknown[], R>(
      _options: unknown,
      job: (...args: A) => R,
      ...args: A
    ): Promise<Awaited<R>> => Promise.resolve(job(...args)),
  }),
};

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
  /** Retries of a failed request (5xx, network) by plugin-retry. Default 3. 4xx are not retried (429 included). */
  retries?: number;
  /**
   * Space between two writes (POST, PATCH, PUT, DELETE), ms. Default: the throttling plugin's 1000, as GitHub's
   * REST API best practices ask ("wait at least one second between each request" that writes). Tests against
   * a local fake pass 0 (no spacing: also none of the plugin's 3 s between writes that notify people, such as
   * opening an issue or a comment); any other value keeps the defaults.
   */
  writeSpacingMs?: number;
  /**
   * A rate-limit wait longer than this (in seconds, as GitHub announces it) is not waited for: the request
   * fails, the gate reports 'error' and the run is skipped rather than billing an idle hour. Default 300.
   */
  maxRateLimitWaitSeconds?: number;
}

/**
 * Creates the Octokit used by the gates, reflection and the adapters, with the retry and throttling
 * plugins: a primary rate limit is retried at most 2 times, a secondary one at most once, and neither when
 * GitHub asks for a wait longer than `maxRateLimitWaitSeconds`.
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
      // plugin-retry's default doNotRetry list lacks 429: a 429 the throttling plugin declined to wait for
      // would be retried anyway, around maxRateLimitWaitSeconds (peter-evans/create-pull-request adds it too).
      retry: {
        retryAfterBaseValue: base,
        retries: options.retries ?? 3,
        doNotRetry: [400, 401, 403, 404, 410, 422, 429, 451],
      },
      throttle: {
        retryAfterBaseValue: base,
        // ThrottlingOptions types `write` as a Bottleneck.Group; the plugin only calls key().schedule() on it
        ...(options.writeSpacingMs === 0
          ? ({ write: UNSPACED_WRITES, notifications: UNSPACED_WRITES } as object)
          : {}),
        onRateLimit: onLimit('primary', MAX_PRIMARY_RATE_LIMIT_RETRIES),
        onSecondaryRateLimit: onLimit('secondary', MAX_SECONDARY_RATE_LIMIT_RETRIES),
      },
      ...(options.fetch ? { request: { fetch: options.fetch } } : {}),
    },
    retry,
    throttling,
  );
}
