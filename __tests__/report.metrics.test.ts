/** The text of `status --metrics` (report/metrics.ts): plain data in, text out. */
import { describe, expect, it } from '@jest/globals';

import {
  TOP_BLOCKING_RULES,
  formatHours,
  formatRate,
  renderMetrics,
  topBlockingRules,
} from '../src/report/metrics.js';
import type { MetricsReport, MetricsReportWindow, MetricsWindow } from '../src/store/metrics.js';

function window(
  windowDays: MetricsWindow,
  overrides: Partial<MetricsReportWindow> = {},
): MetricsReportWindow {
  return {
    windowDays,
    proposalsMade: 0,
    proposalsAllowed: 0,
    proposalsVerified: 0,
    verifyFailed: 0,
    published: 0,
    merged: 0,
    closedUnmerged: 0,
    reverted: 0,
    revertedAuto: 0,
    revertedManual: 0,
    acceptanceRate: null,
    regressionRate: null,
    meanHoursToMerge: null,
    meanHoursToRevert: null,
    verifyPassRate: null,
    runs: 0,
    tokensPerRun: null,
    minutesPerRun: null,
    breakerTrips: 0,
    blockingRules: [],
    ...overrides,
  };
}

const rule = (ruleId: string, proposals: number) => ({ ruleId, proposals, violations: proposals });

describe('formatRate and formatHours', () => {
  it('show a percentage with at most one decimal, hours with one, "-" for null', () => {
    expect(formatRate(0.75)).toBe('75%');
    expect(formatRate(2 / 3)).toBe('66.7%');
    expect(formatRate(1)).toBe('100%');
    expect(formatRate(0)).toBe('0%');
    expect(formatRate(null)).toBe('-');
    expect(formatHours(38 / 3)).toBe('12.7 h');
    expect(formatHours(6)).toBe('6.0 h');
    expect(formatHours(null)).toBe('-');
  });
});

describe('topBlockingRules', () => {
  it('ranks by the widest window, keeps the first five, and counts 0 where a rule did not block', () => {
    const rules90 = ['a', 'b', 'c', 'd', 'e', 'f'].map((id, i) => rule(id, 10 - i));
    const rows = topBlockingRules([
      window(7, { blockingRules: [rule('f', 1)] }),
      window(30, { blockingRules: [rule('c', 4), rule('a', 2)] }),
      window(90, { blockingRules: rules90 }),
    ]);
    expect(TOP_BLOCKING_RULES).toBe(5);
    expect(rows).toEqual([
      ['a', '0', '2', '10'],
      ['b', '0', '0', '9'],
      ['c', '0', '4', '8'],
      ['d', '0', '0', '7'],
      ['e', '0', '0', '6'],
    ]);
    expect(topBlockingRules([])).toEqual([]);
  });
});

describe('renderMetrics', () => {
  it('prints a table per repository with a column per window and the rules that blocked most', () => {
    const report: MetricsReport = {
      windows: [7, 30, 90],
      repositories: [
        {
          repository: 'acme/a',
          windows: [
            window(90, {
              proposalsMade: 12,
              published: 4,
              merged: 3,
              acceptanceRate: 0.75,
              meanHoursToMerge: 38 / 3,
              tokensPerRun: 4000 / 3,
              minutesPerRun: 3.25,
              blockingRules: [rule('diff-size', 2)],
            }),
            window(7, { proposalsMade: 2 }),
            window(30, { proposalsMade: 4, blockingRules: [rule('diff-size', 1)] }),
          ],
        },
        { repository: 'acme/b', windows: [window(7), window(30), window(90)] },
      ],
    };
    const text = renderMetrics(report);
    const [a, b, extra] = text.split('\n\n');
    expect(extra).toBeUndefined();
    const lines = a!.split('\n');
    expect(lines[0]).toMatch(/^acme\/a\s+7d\s+30d\s+90d$/);
    expect(lines[1]).toMatch(/^proposals made\s+2\s+4\s+12$/);
    expect(a).toMatch(/^acceptance rate \(merged \/ published\)\s+-\s+-\s+75%$/m);
    expect(a).toMatch(/^mean time to merge\s+-\s+-\s+12\.7 h$/m);
    expect(a).toMatch(/^tokens per run\s+-\s+-\s+1333$/m);
    expect(a).toMatch(/^minutes per run\s+-\s+-\s+3\.3$/m);
    expect(lines.slice(-2)).toEqual([
      'rules that blocked most (proposals blocked)',
      expect.stringMatching(/^ {2}diff-size\s+0\s+1\s+2$/),
    ]);
    // the numbers are right-aligned: every row with numbers ends at the same column
    expect(new Set(lines.filter((l) => /\d$|-$|%$|h$/.test(l)).map((l) => l.length)).size).toBe(1);
    expect(lines).toHaveLength(1 + 19 + 1 + 1);
    expect(b).toMatch(/^acme\/b\s+7d\s+30d\s+90d\n/);
    expect(b).toMatch(/^breaker trips\s+0\s+0\s+0$/m);
    expect(b!.split('\n').at(-1)).toBe('rules that blocked most: none in 90 days');
  });

  it('says so when there is no repository', () => {
    expect(renderMetrics({ windows: [7, 30, 90], repositories: [] })).toBe('no runs recorded yet');
  });
});
