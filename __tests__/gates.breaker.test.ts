/**
 * The circuit breaker's pure rules (src/gates/breaker.ts): decideBreaker over inputs already read, cause by
 * cause (reverted, rejected, failures, stop-label, unreadable), the evidence horizon of a human reset, the
 * reset rules, checkCircuitBreaker through an injected source, and the issue text.
 */
import { describe, expect, it } from '@jest/globals';
import {
  BREAKER_ISSUE_TITLE,
  checkCircuitBreaker,
  decideBreaker,
  evidenceHorizon,
  flagSetter,
  isWriter,
  renderBreakerIssue,
  resetByClosedStopIssue,
  resetByFlag,
  type BreakerFlag,
  type BreakerInputs,
  type BreakerSource,
  type OpenTrip,
} from '../src/gates/breaker.js';
import type { IssueClosure, StopLabelApplication } from '../src/github/breaker.js';
import type { EndedSelfChangeRow, FinishedRunRow, RevertRow } from '../src/store/breaker.js';

const DAY = 86_400_000;
const now = new Date('2026-11-30T02:10:00.000Z');
const daysAgo = (d: number): Date => new Date(now.getTime() - d * DAY);
const limits = { revertWindowDays: 7, maxConsecutiveRejected: 2, maxFailuresBeforeDisable: 3 };

function inputs(over: Partial<BreakerInputs> = {}): BreakerInputs {
  return {
    limits,
    now,
    since: { ok: true, value: null },
    reverts: { ok: true, value: [] },
    endedSelfChanges: { ok: true, value: [] },
    runs: { ok: true, value: [] },
    stopLabels: { ok: true, value: [] },
    ...over,
  };
}

const revert = (actionId: number, at: Date, over: Partial<RevertRow> = {}): RevertRow => ({
  kind: 'rollback',
  id: actionId * 10,
  actionId,
  prNumber: actionId + 100,
  revertPrNumber: actionId + 200,
  at,
  reason: 'checks failed',
  ...over,
});

const ended = (
  actionId: number,
  outcome: 'merged' | 'closed',
  endedAt: Date,
  over: Partial<EndedSelfChangeRow> = {},
): EndedSelfChangeRow => ({
  actionId,
  prNumber: actionId + 100,
  prUrl: `https://github.com/acme/agent/pull/${actionId + 100}`,
  outcome,
  endedAt,
  closedBy: outcome === 'closed' ? 'alice' : null,
  ...over,
});

const run = (id: number, status: string, startedAt: Date, stale = false): FinishedRunRow => ({
  id,
  status,
  stale,
  startedAt,
  error: status === 'failed' ? 'boom' : null,
});

const label = (number: number, by: string | null, permission: string | null, roleName?: string) =>
  ({
    number,
    url: `https://github.com/acme/agent/issues/${number}`,
    title: 'Stop, please',
    pullRequest: false,
    labeledBy: by,
    labeledAt: '2026-11-29T10:00:00Z',
    permission,
    roleName: roleName ?? permission,
  }) satisfies StopLabelApplication;

describe('decideBreaker: nothing wrong', () => {
  it('passes and says what it counted, and that the stop label was checked', () => {
    const d = decideBreaker(
      inputs({
        endedSelfChanges: {
          ok: true,
          value: [ended(1, 'closed', daysAgo(1)), ended(2, 'merged', daysAgo(2))],
        },
        runs: { ok: true, value: [run(5, 'failed', daysAgo(1)), run(4, 'success', daysAgo(2))] },
      }),
    );
    expect(d).toMatchObject({ outcome: 'pass', cause: null, causes: [] });
    expect(d.reason).toBe(
      'not tripped: no self-change reverted in the last 7 days; 1 of 2 pull requests in a row closed unmerged; ' +
        '1 of 3 failed runs in a row; no self-evolution:stop label applied by someone with write access',
    );
  });

  it('without a GitHub token the stop label is not checked, and says so; the database causes still apply', () => {
    const notChecked = { ok: 'not-checked' as const, why: 'no GitHub token' };
    const pass = decideBreaker(inputs({ stopLabels: notChecked }));
    expect(pass.outcome).toBe('pass');
    expect(pass.reason).toMatch(/; stop label not checked: no GitHub token$/);
    expect(pass.details.stopLabel).toEqual({ checked: false, why: 'no GitHub token' });
    const tripped = decideBreaker(
      inputs({
        stopLabels: notChecked,
        runs: { ok: true, value: [1, 2, 3].map((i) => run(i, 'failed', daysAgo(i))) },
      }),
    );
    expect(tripped).toMatchObject({ outcome: 'skip', cause: 'failures' });
  });
});

describe('decideBreaker: reverted', () => {
  it('trips on a merged revert inside the window, and names the pull request', () => {
    const d = decideBreaker(inputs({ reverts: { ok: true, value: [revert(4, daysAgo(2))] } }));
    expect(d).toMatchObject({ outcome: 'skip', cause: 'reverted', causes: ['reverted'] });
    expect(d.reason).toBe(
      `circuit breaker tripped (reverted): 1 self-change reverted within 7 days: #104 at ${daysAgo(2).toISOString()}`,
    );
    expect(d.details.reverted).toEqual([
      { actionId: 4, prNumber: 104, revertPrNumber: 204, kind: 'rollback', at: daysAgo(2).toISOString() },
    ]);
  });

  it('counts a revert exactly at the window start, not one a millisecond older', () => {
    const edge = new Date(now.getTime() - 7 * DAY);
    expect(decideBreaker(inputs({ reverts: { ok: true, value: [revert(1, edge)] } })).outcome).toBe('skip');
    const older = new Date(edge.getTime() - 1);
    expect(decideBreaker(inputs({ reverts: { ok: true, value: [revert(1, older)] } })).outcome).toBe('pass');
  });

  it('follows the configured window', () => {
    const reverts = { ok: true as const, value: [revert(1, daysAgo(10))] };
    expect(decideBreaker(inputs({ reverts })).outcome).toBe('pass');
    const wide = { ...limits, revertWindowDays: 14 };
    expect(decideBreaker(inputs({ reverts, limits: wide })).outcome).toBe('skip');
  });

  it('counts one self-change once (its merged revert and its rolled_back action), and an action without a pull request', () => {
    const d = decideBreaker(
      inputs({
        reverts: {
          ok: true,
          value: [
            revert(4, daysAgo(2)),
            revert(4, daysAgo(1), { kind: 'action', id: 4, revertPrNumber: null }),
            revert(5, daysAgo(3), { prNumber: null }),
          ],
        },
      }),
    );
    expect(d.reason).toBe(
      `circuit breaker tripped (reverted): 2 self-changes reverted within 7 days: #104 at ${daysAgo(1).toISOString()}, ` +
        `action #5 at ${daysAgo(3).toISOString()}`,
    );
  });

  it('ignores a revert at or before the last reset', () => {
    const since = { ok: true as const, value: daysAgo(1) };
    expect(
      decideBreaker(inputs({ since, reverts: { ok: true, value: [revert(1, daysAgo(1))] } })).outcome,
    ).toBe('pass');
    expect(
      decideBreaker(
        inputs({ since, reverts: { ok: true, value: [revert(1, new Date(daysAgo(1).getTime() + 1))] } }),
      ).outcome,
    ).toBe('skip');
  });
});

describe('decideBreaker: rejected', () => {
  it('trips when the last two ended pull requests were both closed unmerged', () => {
    const d = decideBreaker(
      inputs({
        endedSelfChanges: {
          ok: true,
          value: [
            ended(1, 'merged', daysAgo(5)),
            ended(2, 'closed', daysAgo(3)),
            ended(3, 'closed', daysAgo(1)),
          ],
        },
      }),
    );
    expect(d).toMatchObject({ outcome: 'skip', cause: 'rejected' });
    expect(d.reason).toBe(
      'circuit breaker tripped (rejected): 2 self-change pull requests in a row closed without merging: #103, #102',
    );
    expect(d.details.rejected).toMatchObject({ inARow: 2 });
  });

  it('a merge in between breaks the streak, in the order they ended (not the order given)', () => {
    const d = decideBreaker(
      inputs({
        endedSelfChanges: {
          ok: true,
          value: [
            ended(3, 'closed', daysAgo(3)),
            ended(2, 'merged', daysAgo(2)),
            ended(1, 'closed', daysAgo(1)),
          ],
        },
      }),
    );
    expect(d.outcome).toBe('pass');
    expect(d.details.rejected).toMatchObject({ inARow: 1 });
  });

  it('needs maxConsecutiveRejected of them: one closed pull request is not enough, and 3 of 3 with a higher limit', () => {
    const one = { ok: true as const, value: [ended(1, 'closed', daysAgo(1))] };
    expect(decideBreaker(inputs({ endedSelfChanges: one })).outcome).toBe('pass');
    const three = {
      ok: true as const,
      value: [1, 2, 3].map((i) => ended(i, 'closed', daysAgo(i))),
    };
    const strict = { ...limits, maxConsecutiveRejected: 3 };
    expect(decideBreaker(inputs({ endedSelfChanges: three, limits: strict })).cause).toBe('rejected');
    expect(
      decideBreaker(
        inputs({ endedSelfChanges: { ok: true, value: three.value.slice(0, 2) }, limits: strict }),
      ).outcome,
    ).toBe('pass');
  });

  it('counts only pull requests that ended after the last reset', () => {
    const value = [ended(1, 'closed', daysAgo(3)), ended(2, 'closed', daysAgo(1))];
    expect(decideBreaker(inputs({ endedSelfChanges: { ok: true, value } })).outcome).toBe('skip');
    expect(
      decideBreaker(inputs({ endedSelfChanges: { ok: true, value }, since: { ok: true, value: daysAgo(2) } }))
        .outcome,
    ).toBe('pass');
  });

  it('names an action without a pull request number by its id', () => {
    const d = decideBreaker(
      inputs({
        endedSelfChanges: {
          ok: true,
          value: [ended(1, 'closed', daysAgo(2), { prNumber: null }), ended(2, 'closed', daysAgo(1))],
        },
      }),
    );
    expect(d.reason).toMatch(/: #102, action #1$/);
  });
});

describe('decideBreaker: failures', () => {
  it('trips on three failed runs in a row, newest first', () => {
    const d = decideBreaker(
      inputs({
        runs: {
          ok: true,
          value: [run(7, 'failed', daysAgo(3)), run(8, 'failed', daysAgo(2)), run(9, 'failed', daysAgo(1))],
        },
      }),
    );
    expect(d).toMatchObject({ outcome: 'skip', cause: 'failures' });
    expect(d.reason).toBe('circuit breaker tripped (failures): 3 failed runs in a row: #9, #8, #7');
  });

  it('a success breaks the streak; so does a run recorded reverted', () => {
    for (const status of ['success', 'reverted']) {
      const d = decideBreaker(
        inputs({
          runs: {
            ok: true,
            value: [
              run(9, 'failed', daysAgo(1)),
              run(8, status, daysAgo(2)),
              run(7, 'failed', daysAgo(3)),
              run(6, 'failed', daysAgo(4)),
            ],
          },
        }),
      );
      expect(d.outcome).toBe('pass');
      expect(d.details.failures).toMatchObject({ inARow: 1 });
    }
  });

  it('skipped, cancelled and running runs neither break nor extend a streak', () => {
    const value = [
      run(10, 'running', daysAgo(0.5)),
      run(9, 'failed', daysAgo(1)),
      run(8, 'skipped', daysAgo(1.5)),
      run(7, 'cancelled', daysAgo(2)),
      run(6, 'failed', daysAgo(2.5)),
      run(5, 'skipped', daysAgo(3)),
      run(4, 'failed', daysAgo(4)),
    ];
    const d = decideBreaker(inputs({ runs: { ok: true, value } }));
    expect(d).toMatchObject({ outcome: 'skip', cause: 'failures' });
    expect(d.reason).toBe('circuit breaker tripped (failures): 3 failed runs in a row: #9, #6, #4');
    const onlySkipped = [
      run(3, 'skipped', daysAgo(1)),
      run(2, 'cancelled', daysAgo(2)),
      run(1, 'skipped', daysAgo(3)),
    ];
    expect(decideBreaker(inputs({ runs: { ok: true, value: onlySkipped } })).details.failures).toMatchObject({
      inARow: 0,
    });
  });

  it('stale failures (the process died) count as failures, and the reason says how many', () => {
    const value = [
      run(9, 'failed', daysAgo(1), true),
      run(8, 'failed', daysAgo(2)),
      run(7, 'failed', daysAgo(3), true),
    ];
    const d = decideBreaker(inputs({ runs: { ok: true, value } }));
    expect(d.reason).toBe(
      'circuit breaker tripped (failures): 3 failed runs in a row: #9, #8, #7 (2 of them stale: the process died)',
    );
  });

  it('counts only runs started after the last reset', () => {
    const value = [run(9, 'failed', daysAgo(1)), run(8, 'failed', daysAgo(2)), run(7, 'failed', daysAgo(3))];
    const since = { ok: true as const, value: daysAgo(2.5) };
    const d = decideBreaker(inputs({ runs: { ok: true, value }, since }));
    expect(d.outcome).toBe('pass');
    expect(d.details.failures).toMatchObject({ inARow: 2 });
  });

  it('follows maxFailuresBeforeDisable', () => {
    const value = [run(2, 'failed', daysAgo(1))];
    expect(decideBreaker(inputs({ runs: { ok: true, value } })).outcome).toBe('pass');
    const one = { ...limits, maxFailuresBeforeDisable: 1 };
    expect(decideBreaker(inputs({ runs: { ok: true, value }, limits: one })).reason).toBe(
      'circuit breaker tripped (failures): 1 failed run in a row: #2',
    );
  });
});

describe('decideBreaker: stop-label', () => {
  it('trips on a label applied by someone with write, maintain or admin access', () => {
    for (const [permission, role] of [
      ['write', 'write'],
      ['write', 'maintain'],
      ['admin', 'admin'],
    ] as const) {
      const d = decideBreaker(
        inputs({ stopLabels: { ok: true, value: [label(12, 'carol', permission, role)] } }),
      );
      expect(d).toMatchObject({ outcome: 'skip', cause: 'stop-label' });
      expect(d.reason).toBe(
        `circuit breaker tripped (stop-label): self-evolution:stop on open issue #12 by carol (${role})`,
      );
    }
  });

  it('ignores a label applied by a read-only or triage user, an outsider, or nobody known', () => {
    const value = [
      label(12, 'bob', 'read'),
      label(13, 'tina', 'read', 'triage'),
      label(14, 'mallory', 'none', undefined),
      label(15, null, null),
    ];
    const d = decideBreaker(inputs({ stopLabels: { ok: true, value } }));
    expect(d.outcome).toBe('pass');
    expect(d.reason).toMatch(
      /self-evolution:stop ignored on #12 by bob \(read\), #13 by tina \(triage\), #14 by mallory \(none\), #15 by an unknown user \(no permission\): not applied by someone with write access$/,
    );
    expect((d.details.stopLabel as { ignored: unknown[] }).ignored).toHaveLength(4);
  });

  it('one writer among ignored labels trips it, and the stop label wins over the other causes', () => {
    const d = decideBreaker(
      inputs({
        stopLabels: { ok: true, value: [label(12, 'bob', 'read'), label(20, 'alice', 'write')] },
        runs: { ok: true, value: [1, 2, 3].map((i) => run(i, 'failed', daysAgo(i))) },
      }),
    );
    expect(d.causes).toEqual(['stop-label', 'failures']);
    expect(d.reason).toBe(
      'circuit breaker tripped (stop-label): self-evolution:stop on open issue #20 by alice (write); ' +
        'also failures: 3 failed runs in a row: #1, #2, #3',
    );
  });

  it('is a standing order: the last reset does not hide a label that is still there', () => {
    const d = decideBreaker(
      inputs({
        since: { ok: true, value: now },
        stopLabels: { ok: true, value: [label(12, 'alice', 'write')] },
      }),
    );
    expect(d.cause).toBe('stop-label');
  });
});

describe('decideBreaker: unreadable (fail closed)', () => {
  it('trips when GitHub could not be read', () => {
    const d = decideBreaker(
      inputs({ stopLabels: { ok: false, error: 'GitHub API error: 500 Server Error' } }),
    );
    expect(d).toMatchObject({ outcome: 'skip', cause: 'unreadable' });
    expect(d.reason).toBe(
      'circuit breaker tripped (unreadable): could not read stopLabel (GitHub API error: 500 Server Error); failing closed',
    );
  });

  it('trips when the database could not be read, naming every input it missed', () => {
    const down = { ok: false as const, error: 'connect ECONNREFUSED' };
    const d = decideBreaker(inputs({ since: down, runs: down, reverts: down, endedSelfChanges: down }));
    expect(d.cause).toBe('unreadable');
    expect(Object.keys(d.details.unreadable as object)).toEqual([
      'since',
      'reverts',
      'endedSelfChanges',
      'runs',
    ]);
  });

  it('a definite cause comes first; unreadable is listed after it', () => {
    const d = decideBreaker(
      inputs({
        since: { ok: false, error: 'timeout' },
        reverts: { ok: true, value: [revert(1, daysAgo(1))] },
      }),
    );
    expect(d.causes).toEqual(['reverted', 'unreadable']);
  });

  it('an unreadable horizon counts all evidence (the conservative way)', () => {
    const d = decideBreaker(
      inputs({
        since: { ok: false, error: 'timeout' },
        runs: { ok: true, value: [1, 2, 3].map((i) => run(i, 'failed', daysAgo(i))) },
      }),
    );
    expect(d.causes).toEqual(['failures', 'unreadable']);
  });
});

describe('decideBreaker: invalid thresholds', () => {
  it.each([
    [{ ...limits, revertWindowDays: 0 }, 'revertWindowDays must be an integer >= 1, got 0'],
    [{ ...limits, maxConsecutiveRejected: 1.5 }, 'maxConsecutiveRejected must be an integer >= 1, got 1.5'],
    [
      { ...limits, maxFailuresBeforeDisable: Number.NaN },
      'maxFailuresBeforeDisable must be an integer >= 1, got NaN',
    ],
  ])('is an error, not a trip: %j', (bad, message) => {
    expect(decideBreaker(inputs({ limits: bad }))).toEqual({
      outcome: 'error',
      cause: null,
      causes: [],
      reason: `circuit breaker: ${message}`,
      details: {},
    });
  });

  it('an invalid clock is an error too', () => {
    expect(decideBreaker(inputs({ now: new Date('nope') })).outcome).toBe('error');
  });
});

describe('checkCircuitBreaker through a source', () => {
  const calm: BreakerSource = {
    evidenceSince: async () => null,
    reverts: async () => [],
    endedSelfChanges: async () => [],
    finishedRuns: async () => [],
  };

  it('asks for the window, the limits and the stop labels of owner/repo', async () => {
    const asked: unknown[] = [];
    const source: BreakerSource = {
      evidenceSince: async (repo) => (asked.push(['since', repo]), null),
      reverts: async (repo, after) => (asked.push(['reverts', repo, after.toISOString()]), []),
      endedSelfChanges: async (repo, n) => (asked.push(['ended', repo, n]), []),
      finishedRuns: async (repo, n) => (asked.push(['runs', repo, n]), []),
      stopLabels: async (owner, repo) => (asked.push(['stop', owner, repo]), []),
    };
    const r = await checkCircuitBreaker(source, 'acme/agent', limits, now);
    expect(r).toMatchObject({ gate: 'circuit-breaker', outcome: 'pass' });
    expect(asked).toEqual([
      ['stop', 'acme', 'agent'],
      ['since', 'acme/agent'],
      ['reverts', 'acme/agent', daysAgo(7).toISOString()],
      ['ended', 'acme/agent', 2],
      ['runs', 'acme/agent', 3],
    ]);
  });

  it('does not check the stop label without a token, for a local checkout, or a name not owner/name', async () => {
    expect((await checkCircuitBreaker(calm, 'acme/agent', limits, now)).reason).toMatch(
      /stop label not checked: no GitHub token$/,
    );
    const withGitHub = { ...calm, stopLabels: async () => [label(1, 'alice', 'admin')] };
    expect((await checkCircuitBreaker(withGitHub, 'local/agent', limits, now)).reason).toMatch(
      /stop label not checked: local\/agent is a local checkout without a GitHub remote$/,
    );
    expect((await checkCircuitBreaker(withGitHub, 'not a repo', limits, now)).reason).toMatch(
      /stop label not checked: repository "not a repo" is not in owner\/name form$/,
    );
    expect((await checkCircuitBreaker(withGitHub, 'acme/agent', limits, now)).outcome).toBe('skip');
  });

  it('a read that throws trips it as unreadable, with the message (never thrown)', async () => {
    const r = await checkCircuitBreaker(
      {
        ...calm,
        stopLabels: () => Promise.reject(Object.assign(new Error('Server Error'), { status: 500 })),
      },
      'acme/agent',
      limits,
      now,
    );
    expect(r).toMatchObject({
      outcome: 'skip',
      details: { cause: 'unreadable', unreadable: { stopLabel: 'Server Error' } },
    });
  });
});

describe('the horizon and the resets', () => {
  const flag = (value: boolean, updatedAt: Date, metadata: Record<string, unknown> = {}): BreakerFlag => ({
    key: 'self_evolution_enabled',
    value,
    updatedAt,
    metadata,
  });
  const trip = (
    cause: OpenTrip['cause'],
    trippedAt: Date,
    details: Record<string, unknown> = {},
  ): OpenTrip => ({
    id: 4,
    cause,
    trippedAt,
    details,
  });

  it('evidence counts from the later of the flag turned on and the last reset; an off flag sets no horizon', () => {
    expect(evidenceHorizon(null, null)).toBeNull();
    expect(evidenceHorizon(flag(true, daysAgo(3)), null)).toEqual(daysAgo(3));
    expect(evidenceHorizon(flag(true, daysAgo(3)), daysAgo(1))).toEqual(daysAgo(1));
    expect(evidenceHorizon(flag(true, daysAgo(1)), daysAgo(3))).toEqual(daysAgo(1));
    expect(evidenceHorizon(flag(false, daysAgo(1)), null)).toBeNull();
    expect(evidenceHorizon(flag(false, daysAgo(1)), daysAgo(5))).toEqual(daysAgo(5));
  });

  it('a flag turned on after the trip resets it, by whoever the metadata names', () => {
    const t = trip('failures', daysAgo(2));
    expect(resetByFlag(t, flag(true, daysAgo(1), { setBy: 'cli', user: 'alice' }))).toEqual({
      resetAt: daysAgo(1),
      resetBy: 'cli (alice)',
    });
    expect(resetByFlag(t, flag(true, daysAgo(3)))).toBeNull();
    expect(resetByFlag(t, flag(false, daysAgo(1)))).toBeNull();
    expect(resetByFlag(null, flag(true, daysAgo(1)))).toBeNull();
    expect(resetByFlag(t, null)).toBeNull();
  });

  it('names who set the flag from common metadata shapes', () => {
    expect(flagSetter({ setBy: 'cli', user: 'alice', at: 'x' })).toBe('cli (alice)');
    expect(flagSetter({ enabledBy: 'admin' })).toBe('admin');
    expect(flagSetter({ by: 'test' })).toBe('test');
    expect(flagSetter({ setBy: 'cli' })).toBe('cli');
    expect(flagSetter({})).toBe("unknown (the flag's metadata does not say who set it)");
  });

  describe('closing the stop issue', () => {
    const stopTrip = trip('stop-label', daysAgo(2), {
      stopLabel: { applied: [{ number: 12 }] },
    });
    const offByTrip = flag(false, daysAgo(2), { trippedBy: 'circuit-breaker', tripId: 4 });
    const closure = (over: Partial<IssueClosure> = {}): IssueClosure => ({
      number: 12,
      url: 'https://github.com/acme/agent/issues/12',
      state: 'closed',
      labels: ['self-evolution:stop'],
      closedBy: 'alice',
      permission: 'write',
      roleName: 'write',
      ...over,
    });

    it('resets a stop-label trip when a writer closed the stop issue and no other stop label holds', () => {
      expect(resetByClosedStopIssue(stopTrip, offByTrip, [closure()], [])).toEqual({
        resetBy: 'closed stop issue #12 (alice)',
      });
    });

    it('not while it is open, when a read-only user closed it, or another writer stop label is open', () => {
      expect(
        resetByClosedStopIssue(stopTrip, offByTrip, [closure({ state: 'open', closedBy: null })], []),
      ).toBeNull();
      expect(
        resetByClosedStopIssue(
          stopTrip,
          offByTrip,
          [closure({ closedBy: 'bob', permission: 'read', roleName: 'read' })],
          [],
        ),
      ).toBeNull();
      expect(
        resetByClosedStopIssue(stopTrip, offByTrip, [closure()], [label(30, 'carol', 'admin')]),
      ).toBeNull();
      expect(resetByClosedStopIssue(stopTrip, offByTrip, [], [])).toBeNull();
    });

    it('not for another cause, nor when someone wrote the flag since the trip', () => {
      expect(
        resetByClosedStopIssue({ ...stopTrip, cause: 'failures' }, offByTrip, [closure()], []),
      ).toBeNull();
      const human = flag(false, daysAgo(1), { setBy: 'cli', user: 'alice' });
      expect(resetByClosedStopIssue(stopTrip, human, [closure()], [])).toBeNull();
      const otherTrip = flag(false, daysAgo(2), { trippedBy: 'circuit-breaker', tripId: 3 });
      expect(resetByClosedStopIssue(stopTrip, otherTrip, [closure()], [])).toBeNull();
    });
  });

  it('isWriter: admin, maintain, write (by permission or role); not triage, read, none', () => {
    expect(isWriter('admin')).toBe(true);
    expect(isWriter('write', 'maintain')).toBe(true);
    expect(isWriter('read', 'maintain')).toBe(true);
    expect(isWriter('read', 'triage')).toBe(false);
    expect(isWriter('none', null)).toBe(false);
    expect(isWriter(null, null)).toBe(false);
  });
});

describe('renderBreakerIssue', () => {
  it('says the cause, the evidence and how to reset, without mentions or HTML from the evidence', () => {
    const d = decideBreaker(
      inputs({
        stopLabels: { ok: true, value: [label(12, 'alice', 'write')] },
        runs: { ok: true, value: [1, 2, 3].map((i) => run(i, 'failed', daysAgo(i), i === 2)) },
      }),
    );
    const text = renderBreakerIssue({
      repository: 'acme/agent',
      cause: d.cause!,
      reason: `${d.reason} <script>@everyone`,
      details: d.details,
      tripId: 4,
      at: now.toISOString(),
      flagKey: 'self_evolution_enabled:acme/agent',
    });
    expect(text.title).toBe(BREAKER_ISSUE_TITLE);
    expect(text.body).toContain('- **Cause:** `stop-label`');
    expect(text.body).toContain(`- **When:** ${now.toISOString()} (trip #4)`);
    expect(text.body).toContain(
      '- `self-evolution:stop` on #12, applied by `alice` (write) at 2026-11-29T10:00:00Z',
    );
    expect(text.body).toContain(`- failed run #2, started ${daysAgo(2).toISOString()} (stale)`);
    expect(text.body).toContain('npx self-evolution flag set self_evolution_enabled:acme/agent true');
    expect(text.body).toContain('Or close the stop issue #12 (someone with write access)');
    expect(text.body).not.toContain('<script>');
    expect(text.body).not.toMatch(/@everyone/);
    expect(text.comment).toMatch(/^Tripped again at 2026-11-30T02:10:00.000Z \(trip #4\): `stop-label`: /);
  });

  it('offers no stop issue to close for another cause', () => {
    const d = decideBreaker(inputs({ reverts: { ok: true, value: [revert(4, daysAgo(1))] } }));
    const text = renderBreakerIssue({
      repository: 'acme/agent',
      cause: 'reverted',
      reason: d.reason,
      details: d.details,
      tripId: null,
      at: now.toISOString(),
      flagKey: 'self_evolution_enabled',
    });
    expect(text.body).toContain(
      `- reverted: pull request #104 by revert pull request #204, at ${daysAgo(1).toISOString()}`,
    );
    expect(text.body).not.toContain('close the stop issue');
    expect(text.body).toContain(`- **When:** ${now.toISOString()}\n`);
  });
});
