/** The `status` command's table: the seed-004 monitoring query ("Check recent runs") as text. */

/**
 * One row of the table: the fields of a run it shows, with its proposal counts. A run as store/runs.ts
 * listRecentRuns returns it (RunWithCounts) fits, so the CLI passes those rows as they are.
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
}

/**
 * Renders runs newest first as a fixed-width text table; "no runs recorded yet" when empty. The `sandbox`
 * column shows how the run isolated the repository's commands (bwrap, unshare, none; `-` when it ran none).
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
    (r.skipReason ?? r.error ?? r.summary ?? '').replace(/\s+/g, ' ').slice(0, 100),
  ]);
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((row) => row[i]!.length)));
  const line = (cols: string[]): string =>
    cols.map((c, i) => (i === cols.length - 1 ? c : c.padEnd(widths[i]!))).join('  ');
  return [line(header), ...rows.map(line)].join('\n');
}
