/**
 * A small local GitHub REST API on 127.0.0.1 and a random port, for tests that run the whole pipeline with a
 * token: the activity gate's listings (workflow runs by status, deployments) and the reflection's (failed
 * runs, their jobs, labelled issues, pull requests, commits) and the circuit breaker's (issues labelled
 * self-evolution:stop). Everything answers an empty list unless a test sets `issues` (listed filtered by the
 * `labels` asked for, as GitHub does) or `failedRuns`. Every request is recorded. Nothing leaves the loopback
 * interface.
 */
import { createServer, type IncomingHttpHeaders } from 'node:http';
import type { AddressInfo } from 'node:net';

/** A request the server received. */
export interface GitHubRequest {
  method: string;
  /** Path with query. */
  path: string;
  headers: IncomingHttpHeaders;
}

/** A running fake GitHub API. */
export interface GitHubServer {
  /** e.g. `http://127.0.0.1:40123` (the client's baseUrl). */
  url: string;
  requests: GitHubRequest[];
  /** Issues listed by `GET /repos/{o}/{r}/issues` (REST shape; a few fields suffice). */
  issues: unknown[];
  /** Failed workflow runs listed by `GET /repos/{o}/{r}/actions/runs?status=failure`. */
  failedRuns: unknown[];
  close(): Promise<void>;
}

/** An open issue in the REST shape collectGitHubSignals reads. */
export function issue(
  number: number,
  title: string,
  body: string,
  createdAt = '2026-11-20T10:00:00Z',
): unknown {
  return {
    id: 1000 + number,
    number,
    title,
    body,
    state: 'open',
    user: { login: 'someone' },
    author_association: 'NONE',
    created_at: createdAt,
    updated_at: createdAt,
    html_url: `https://github.com/acme/agent/issues/${number}`,
    labels: [{ name: 'self-evolution' }],
  };
}

/** Starts the fake API. */
export async function startGitHubServer(): Promise<GitHubServer> {
  const requests: GitHubRequest[] = [];
  const state = { issues: [] as unknown[], failedRuns: [] as unknown[] };
  const server = createServer((req, res) => {
    const path = req.url ?? '/';
    requests.push({ method: req.method ?? '', path, headers: req.headers });
    req.resume();
    const url = new URL(path, 'http://localhost');
    const route = url.pathname;
    let body: unknown;
    if (/^\/repos\/[^/]+\/[^/]+\/actions\/runs$/.test(route)) {
      const runs = url.searchParams.get('status') === 'failure' ? state.failedRuns : [];
      body = { total_count: runs.length, workflow_runs: runs };
    } else if (/^\/repos\/[^/]+\/[^/]+\/actions\/runs\/\d+\/jobs$/.test(route)) {
      body = { total_count: 0, jobs: [] };
    } else if (/^\/repos\/[^/]+\/[^/]+\/issues$/.test(route)) {
      // As GitHub does: only the issues carrying every label asked for (e.g. none is self-evolution:stop).
      const wanted = (url.searchParams.get('labels') ?? '').split(',').filter(Boolean);
      body = state.issues.filter((i) => {
        const names = ((i as { labels?: Array<{ name?: string }> }).labels ?? []).map((l) => l.name);
        return wanted.every((w) => names.includes(w));
      });
    } else if (/^\/repos\/[^/]+\/[^/]+\/(pulls|commits|deployments)$/.test(route)) {
      body = [];
    } else {
      res.writeHead(404, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ message: 'Not Found' }));
      return;
    }
    res.writeHead(200, { 'content-type': 'application/json' });
    res.end(JSON.stringify(body));
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    requests,
    get issues() {
      return state.issues;
    },
    set issues(v: unknown[]) {
      state.issues = v;
    },
    get failedRuns() {
      return state.failedRuns;
    },
    set failedRuns(v: unknown[]) {
      state.failedRuns = v;
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
