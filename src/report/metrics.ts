/**
 * The text of `status --metrics`: per repository, a table of the measures (rows) over the last 7, 30 and 90 days
 * (columns), then the rails rules that blocked most. Plain data in (store/metrics.ts MetricsReport), text out.
 */
import type { MetricsReport, MetricsReportWindow } from '../store/metrics.js';

/** How many blocking rules the text shows per repository. */
export const TOP_BLOCKING_RULES = 5;

/** A rate 0..1 as a percentage with at most one decimal ('75%', '66.7%'); '-' for null. */
export function formatRate(rate: number | null): string {
  if (rate === null) return '-';
  return `${Math.round(rate * 1000) / 10}%`;
}

/** A duration in hours with one decimal ('12.7 h'); '-' for null. */
export function formatHours(hours: number | null): string {
  return hours === null ? '-' : `${hours.toFixed(1)} h`;
}

/** A mean with at most `decimals` decimals, trailing zeros dropped ('1333.3', '3'); '-' for null. */
function formatMean(value: number | null, decimals: number): string {
  if (value === null) return '-';
  const factor = 10 ** decimals;
  return String(Math.round(value * factor) / factor);
}

/** One row of the measures table: its label and how to show a window's value. */
interface Measure {
  label: string;
  cell: (w: MetricsReportWindow) => string;
}

const MEASURES: readonly Measure[] = [
  { label: 'proposals made', cell: (w) => String(w.proposalsMade) },
  { label: '  allowed by the rails', cell: (w) => String(w.proposalsAllowed) },
  { label: '  verified (passed)', cell: (w) => String(w.proposalsVerified) },
  { label: '  verify failed', cell: (w) => String(w.verifyFailed) },
  { label: 'published (pull requests)', cell: (w) => String(w.published) },
  { label: '  merged', cell: (w) => String(w.merged) },
  { label: '  closed unmerged', cell: (w) => String(w.closedUnmerged) },
  { label: '  reverted after merge', cell: (w) => String(w.reverted) },
  { label: '    by auto-revert', cell: (w) => String(w.revertedAuto) },
  { label: '    on request', cell: (w) => String(w.revertedManual) },
  { label: 'acceptance rate (merged / published)', cell: (w) => formatRate(w.acceptanceRate) },
  { label: 'regression rate (reverted / merged)', cell: (w) => formatRate(w.regressionRate) },
  { label: 'mean time to merge', cell: (w) => formatHours(w.meanHoursToMerge) },
  { label: 'mean time to revert', cell: (w) => formatHours(w.meanHoursToRevert) },
  { label: 'verify pass rate', cell: (w) => formatRate(w.verifyPassRate) },
  { label: 'runs past the gates', cell: (w) => String(w.runs) },
  { label: 'tokens per run', cell: (w) => formatMean(w.tokensPerRun, 0) },
  { label: 'minutes per run', cell: (w) => formatMean(w.minutesPerRun, 1) },
  { label: 'breaker trips', cell: (w) => String(w.breakerTrips) },
];

/** Lines of a table: the first column left-aligned, the others right-aligned, two spaces apart. */
function table(rows: readonly string[][]): string[] {
  const widths = rows[0]!.map((_, i) => Math.max(...rows.map((row) => row[i]!.length)));
  return rows.map((row) =>
    row
      .map((cell, i) => (i === 0 ? cell.padEnd(widths[i]!) : cell.padStart(widths[i]!)))
      .join('  ')
      .trimEnd(),
  );
}

/**
 * The rules that blocked most in a repository's widest window (the others are inside it), at most
 * TOP_BLOCKING_RULES, most proposals blocked first; each with its count of proposals blocked in every window.
 * @returns rows [rule id, count per window in `windows` order]
 */
export function topBlockingRules(windows: readonly MetricsReportWindow[]): string[][] {
  const widest = windows.at(-1);
  if (widest === undefined) return [];
  return widest.blockingRules
    .slice(0, TOP_BLOCKING_RULES)
    .map((rule) => [
      rule.ruleId,
      ...windows.map((w) => String(w.blockingRules.find((r) => r.ruleId === rule.ruleId)?.proposals ?? 0)),
    ]);
}

/**
 * Renders the report: per repository one table, a column per window ('7d', '30d', '90d', under the repository's
 * name): the measures, then the rules that blocked most ({@link topBlockingRules}, counts of proposals blocked)
 * or a row saying none did; repositories apart by a blank line. "no runs recorded yet" when the report has no
 * repository.
 */
export function renderMetrics(report: MetricsReport): string {
  if (report.repositories.length === 0) return 'no runs recorded yet';
  const blocks = report.repositories.map(({ repository, windows }) => {
    const ordered = [...windows].sort((a, b) => a.windowDays - b.windowDays);
    const none = ordered.map(() => '');
    const rules = topBlockingRules(ordered);
    const widest = ordered.at(-1)?.windowDays ?? 0;
    return table([
      [repository, ...ordered.map((w) => `${w.windowDays}d`)],
      ...MEASURES.map((m) => [m.label, ...ordered.map(m.cell)]),
      rules.length === 0
        ? [`rules that blocked most: none in ${widest} days`, ...none]
        : ['rules that blocked most (proposals blocked)', ...none],
      ...rules.map(([id, ...counts]) => [`  ${id!}`, ...counts]),
    ]).join('\n');
  });
  return blocks.join('\n\n');
}
