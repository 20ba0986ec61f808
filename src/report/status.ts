/** The `status` command's table: the seed-004 monitoring query ("Check recent runs") as text. */
import type { RunRecord } from '../store/runs.js';

/** A run with its proposal counts, as store/runs.ts listRecentRuns returns it. */
export type RunWithCounts = RunRecord & { proposals: number; allowed: number; blocked: number };

/**
 * Renders runs newest first as a fixed-width text table; "no runs recorded yet" when empty. The `sandbox`
 * column shows how the run isolated the repository's commands (bwrap, unshare, none; `-` when it ran none).
 */
export function renderStatusTable(runs: RunWithCounts[]): string {
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
