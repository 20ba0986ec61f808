/** The `status` command's table: the seed-004 monitoring query ("Check recent runs") as text. */

/**
 * A pull request of a run, as the table and `status --json` show it (store/actions.ts RunPullRequest fits):
 * the number and page once opened (else null), the action's status as `state`, the head branch.
 */
export interface StatusPullRequest {
  number: number | null;
  url: string | null;
  /** The action's status (planned, pushed, submitted, merged, closed, rejected, rolled_back, failed). */
  state: string;
  branch: string | null;
}

/**
 * One row of the table: the fields of a run it shows, with its proposal counts and pull requests. A run as
 * store/runs.ts listRecentRuns returns it (RunWithCounts) with `pullRequests` from store/actions.ts
 * pullRequestsOfRuns fits, so the CLI passes those rows as they are.
 */
export interface StatusRun {
  id: number;
  /** The run's UTC day, 'YYYY-MM-DD'. */
  runDate: string;
  /** 'owner/name'. */
  repository: string;
  trigger: string;
  forced: boolean;
  status: string;
  proposals: number;
  allowed: number;
  blocked: number;
  /** How the run isolated the commands it started (bwrap, unshare, none), or null when it started none. */
  sandbox: string | null;
  skipReason: string | null;
  error: string | null;
  summary: string | null;
  /** The pull requests the run started (action rows of type 'pr'), oldest first. */
  pullRequests: readonly StatusPullRequest[];
}

/**
 * The `PRs` cell of a run: each pull request as `#<number> <state>`, or `<state> (no PR)` when none was opened
 * (e.g. a branch pushed, the pull request not yet), joined with `, `; `-` when the run started none.
 */
export function pullRequestsCell(prs: readonly StatusPullRequest[]): string {
  if (prs.length === 0) return '-';
  return prs.map((p) => (p.number === null ? `${p.state} (no PR)` : `#${p.number} ${p.state}`)).join(', ');
}

/**
 * Renders runs newest first as a fixed-width text table; "no runs recorded yet" when empty. The `sandbox`
 * column shows how the run isolated the repository's commands (bwrap, unshare, none; `-` when it ran none);
 * `PRs` its pull requests ({@link pullRequestsCell}).
 */
export function renderStatusTable(runs: readonly StatusRun[]): string {
  if (runs.length === 0) return 'no runs recorded yet';
  const header = [
    'id',
    'day',
    'repository',
    'trigger',
    'status',
    'proposals',
    'allowed',
    'blocked',
    'sandbox',
    'PRs',
    'reason / summary',
  ];
  const rows = runs.map((r) => [
    String(r.id),
    r.runDate,
    r.repository,
    r.trigger + (r.forced ? ' (forced)' : ''),
    r.status,
    String(r.proposals),
    String(r.allowed),
    String(r.blocked),
    r.sandbox ?? '-',
    pullRequestsCell(r.pullRequests),
    (r.skipReason ?? r.error ?? r.summary ?? '').replace(/\s+/g, ' ').slice(0, 100),
  ]);
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((row) => row[i]!.length)));
  const line = (cols: string[]): string =>
    cols.map((c, i) => (i === cols.length - 1 ? c : c.padEnd(widths[i]!))).join('  ');
  return [line(header), ...rows.map(line)].join('\n');
}
