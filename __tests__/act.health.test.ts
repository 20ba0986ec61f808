/**
 * act/health.ts decideHealth: the pure decision whether a merged self-change is reverted, one guard at a time.
 * Every case starts from a change that IS reverted (a required check green on the parent, failed on the merge
 * commit and failed again on its rerun 20 minutes later) and changes one thing.
 */
import { describe, expect, it } from '@jest/globals';
import {
  decideHealth,
  HEALTH_GUARDS,
  latestAttempts,
  type CheckObservation,
  type CheckState,
  type HealthInput,
} from '../src/act/health.js';

const MERGE = 'a'.repeat(40);
const PARENT = 'b'.repeat(40);
const NEXT = 'c'.repeat(40);
const T0 = Date.parse('2026-11-22T03:00:00Z');
/** ISO time `minutes` after T0. */
const at = (minutes: number): string => new Date(T0 + minutes * 60_000).toISOString();

function check(
  name: string,
  state: CheckState,
  attempt = 1,
  minutes: number | null = 0,
  source: CheckObservation['source'] = 'check-run',
): CheckObservation {
  return {
    source,
    name,
    state,
    attempt,
    at: minutes === null ? null : at(minutes),
    url: `https://github.com/acme/agent/runs/${name}-${attempt}`,
  };
}

/** A change that is reverted: "test" green on the parent, failed on the merge, failed again on its rerun. */
function base(overrides: Partial<HealthInput> = {}): HealthInput {
  return {
    mergeSha: MERGE,
    mergedAt: new Date(T0 - 10 * 60_000),
    isRevert: false,
    merge: {
      sha: MERGE,
      readable: true,
      checks: [check('lint', 'success'), check('test', 'failure', 1, 0), check('test', 'failure', 2, 20)],
    },
    parent: { sha: PARENT, readable: true, checks: [check('lint', 'success'), check('test', 'success')] },
    next: null,
    required: {
      names: null,
      source: 'none',
      note: 'no required status checks configured: every check counts',
    },
    now: new Date(T0 + 60 * 60_000),
    windowHours: 72,
    confirmMinutes: 15,
    ...overrides,
  };
}

const ids = (d: ReturnType<typeof decideHealth>) => d.guards.map((g) => `${g.id}:${g.held}`);

describe('decideHealth', () => {
  it('reverts a required check that failed twice, 20 minutes apart, and was green on the parent', () => {
    const d = decideHealth(base());
    expect(d.revert).toBe(true);
    expect(ids(d)).toEqual(HEALTH_GUARDS.map((g) => `${g}:true`));
    expect(d.reason).toBe(
      'confirmed: "test" failed on aaaaaaa, green on bbbbbbb, confirmed by its rerun (attempt 2) 20 minute(s) later',
    );
    expect(d.evidence.failing).toEqual([
      {
        source: 'check-run',
        name: 'test',
        attempt: 2,
        at: at(20),
        url: 'https://github.com/acme/agent/runs/test-2',
        firstFailedAt: at(0),
        parent: { state: 'success', url: 'https://github.com/acme/agent/runs/test-1' },
        confirmation: {
          by: 'rerun',
          sha: MERGE,
          attempt: 2,
          at: at(20),
          url: 'https://github.com/acme/agent/runs/test-2',
          minutesLater: 20,
        },
        rejected: null,
      },
    ]);
    expect(d.evidence).toMatchObject({ mergeSha: MERGE, parentSha: PARENT, nextSha: null });
  });

  it('never reverts a revert (the trailer, not the title)', () => {
    const d = decideHealth(base({ isRevert: true }));
    expect(d.revert).toBe(false);
    expect(ids(d)).toEqual(['not-a-revert:false']);
    expect(d.reason).toMatch(/^not-a-revert: aaaaaaa is a revert/);
  });

  it('leaves a change merged windowHours or more ago alone', () => {
    const d = decideHealth(base({ mergedAt: new Date(T0 - 72 * 3_600_000 + 30 * 60_000) }));
    expect(d.revert).toBe(false);
    expect(d.reason).toBe('window: merged 72 hour(s) ago, not less than windowHours 72');
    expect(decideHealth(base({ mergedAt: new Date(T0 - 70 * 3_600_000) })).revert).toBe(true);
  });

  it('does nothing and says so when the merge commit, the parent or the required checks could not be read', () => {
    const merge = decideHealth(
      base({ merge: { sha: MERGE, readable: false, error: 'GitHub API error: 502' } }),
    );
    expect(merge.revert).toBe(false);
    expect(merge.reason).toBe(
      'readable: could not read the checks of the merge commit aaaaaaa: GitHub API error: 502: nothing is done',
    );
    const parent = decideHealth(base({ parent: { sha: PARENT, readable: false, error: 'timeout' } }));
    expect(parent.reason).toMatch(/^readable: could not read the checks of the parent bbbbbbb: timeout/);
    const required = decideHealth(base({ required: { unreadable: 'GitHub API error: 500' } }));
    expect(required.reason).toMatch(/^readable: could not read the required checks: GitHub API error: 500/);
    expect(required.evidence.required.source).toBe('unreadable');
  });

  it('never counts a cancelled or skipped latest attempt as a failure', () => {
    const cancelled = decideHealth(
      base({
        merge: {
          sha: MERGE,
          readable: true,
          checks: [
            check('test', 'failure', 1, 0),
            check('test', 'cancelled', 2, 20),
            check('e2e', 'skipped'),
          ],
        },
      }),
    );
    expect(cancelled.revert).toBe(false);
    expect(cancelled.reason).toBe(
      "required-failed: no required check's latest attempt failed on aaaaaaa (2 cancelled/skipped/neutral (never failures))",
    );
    expect(cancelled.evidence.ignored).toEqual([
      { source: 'check-run', name: 'test', state: 'cancelled' },
      { source: 'check-run', name: 'e2e', state: 'skipped' },
    ]);
  });

  it('counts only the latest attempt: a failure that passed on its rerun is not a failure', () => {
    const d = decideHealth(
      base({
        merge: {
          sha: MERGE,
          readable: true,
          checks: [check('test', 'failure', 1, 0), check('test', 'success', 2, 20)],
        },
      }),
    );
    expect(d.revert).toBe(false);
    expect(d.reason).toMatch(/^required-failed: no required check's latest attempt failed/);
  });

  it('a flaky single failure (no rerun, no later commit) is not confirmed', () => {
    const d = decideHealth(
      base({ merge: { sha: MERGE, readable: true, checks: [check('test', 'failure', 1, 0)] } }),
    );
    expect(d.revert).toBe(false);
    expect(ids(d).at(-1)).toBe('confirmed:false');
    expect(d.reason).toBe(
      'confirmed: "test": not confirmed: it failed once (no rerun failed again); no later commit on the default branch yet',
    );
  });

  it('fail, pass, fail again is flaky: the streak of failures restarts after the success', () => {
    const d = decideHealth(
      base({
        merge: {
          sha: MERGE,
          readable: true,
          checks: [
            check('test', 'failure', 1, 0),
            check('test', 'success', 2, 20),
            check('test', 'failure', 3, 40),
          ],
        },
      }),
    );
    expect(d.revert).toBe(false);
    expect(d.reason).toMatch(/it passed on an earlier attempt \(flaky\)/);
  });

  it('a rerun that failed again less than confirmMinutes later does not confirm yet', () => {
    const d = decideHealth(
      base({
        merge: {
          sha: MERGE,
          readable: true,
          checks: [check('test', 'failure', 1, 0), check('test', 'failure', 2, 14)],
        },
      }),
    );
    expect(d.revert).toBe(false);
    expect(d.reason).toMatch(
      /^confirmed: "test": not confirmed: its rerun \(attempt 2\) failed 14 minute\(s\) after the first failure, less than confirmMinutes 15/,
    );
    // exactly confirmMinutes later is enough
    const exactly = decideHealth(
      base({
        merge: {
          sha: MERGE,
          readable: true,
          checks: [check('test', 'failure', 1, 0), check('test', 'failure', 2, 15)],
        },
      }),
    );
    expect(exactly.revert).toBe(true);
  });

  it('the next commit failing the same check confirms, once confirmMinutes have passed', () => {
    const single = { sha: MERGE, readable: true as const, checks: [check('test', 'failure', 1, 0)] };
    const later = decideHealth(
      base({ merge: single, next: { sha: NEXT, readable: true, checks: [check('test', 'failure', 1, 30)] } }),
    );
    expect(later.revert).toBe(true);
    expect(later.evidence.failing[0]!.confirmation).toMatchObject({
      by: 'next-commit',
      sha: NEXT,
      minutesLater: 30,
    });
    expect(later.reason).toMatch(/confirmed by the next commit ccccccc 30 minute\(s\) later/);

    const soon = decideHealth(
      base({ merge: single, next: { sha: NEXT, readable: true, checks: [check('test', 'failure', 1, 5)] } }),
    );
    expect(soon.revert).toBe(false);
    expect(soon.reason).toMatch(/the next commit ccccccc failed it 5 minute\(s\) after the first failure/);

    const green = decideHealth(
      base({ merge: single, next: { sha: NEXT, readable: true, checks: [check('test', 'success', 1, 30)] } }),
    );
    expect(green.revert).toBe(false);
    expect(green.reason).toMatch(/it is success on the next commit ccccccc/);

    const unreadable = decideHealth(
      base({ merge: single, next: { sha: NEXT, readable: false, error: '502' } }),
    );
    expect(unreadable.revert).toBe(false);
    expect(unreadable.reason).toMatch(/could not read the checks of the next commit ccccccc/);
  });

  it('a check already red on the parent, or that did not run there, does not blame the change', () => {
    const red = decideHealth(
      base({ parent: { sha: PARENT, readable: true, checks: [check('test', 'failure')] } }),
    );
    expect(red.revert).toBe(false);
    expect(red.reason).toBe(
      'parent-green: "test": it was already failing on the parent bbbbbbb: not this change',
    );
    const absent = decideHealth(base({ parent: { sha: PARENT, readable: true, checks: [] } }));
    expect(absent.revert).toBe(false);
    expect(absent.reason).toMatch(/did not run on the parent bbbbbbb \(no green baseline\)/);
    // the parent's latest attempt decides: failed, then green on its rerun, is green
    const rerunGreen = decideHealth(
      base({
        parent: {
          sha: PARENT,
          readable: true,
          checks: [check('test', 'failure', 1), check('test', 'success', 2)],
        },
      }),
    );
    expect(rerunGreen.revert).toBe(true);
  });

  it('only required checks count when some are configured', () => {
    const notRequired = decideHealth(
      base({ required: { names: ['lint'], source: 'rulesets', note: '1 required check (rulesets): lint' } }),
    );
    expect(notRequired.revert).toBe(false);
    expect(notRequired.reason).toMatch(/^required-failed:/);
    const requiredTest = decideHealth(
      base({ required: { names: ['test'], source: 'branch-protection', note: 'x' } }),
    );
    expect(requiredTest.revert).toBe(true);
  });

  it('a check still running is neither a failure nor a success', () => {
    const d = decideHealth(
      base({
        merge: {
          sha: MERGE,
          readable: true,
          checks: [check('test', 'failure', 1, 0), check('test', 'pending', 2, null)],
        },
      }),
    );
    expect(d.revert).toBe(false);
    expect(d.evidence.pending).toEqual(['test']);
    expect(d.reason).toMatch(/1 still running/);
  });

  it('checks of different sources with the same name are different checks', () => {
    const d = decideHealth(
      base({
        merge: {
          sha: MERGE,
          readable: true,
          checks: [
            check('test', 'failure', 1, 0, 'status'),
            check('test', 'failure', 2, 20, 'status'),
            check('test', 'success', 1, 0, 'check-run'),
          ],
        },
        parent: { sha: PARENT, readable: true, checks: [check('test', 'success', 1, 0, 'check-run')] },
      }),
    );
    // the failing one is the status, and the parent's green check run is not its baseline
    expect(d.revert).toBe(false);
    expect(d.reason).toMatch(/^parent-green: "test": it did not run on the parent/);
  });

  it('latestAttempts keeps the highest attempt of each check', () => {
    expect(
      latestAttempts([
        check('a', 'failure', 2, 5),
        check('a', 'success', 1, 0),
        check('b', 'success', 1, 0),
      ]).map((c) => `${c.name}#${c.attempt}:${c.state}`),
    ).toEqual(['a#2:failure', 'b#1:success']);
  });
});
