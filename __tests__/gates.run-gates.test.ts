import { ConfigSchema, type ConfigInput } from '../src/config/schema.js';
import type { ActivitySource } from '../src/github/activity.js';
import {
  GATE_ORDER,
  firstBlocking,
  runGates,
  skipReasonOf,
  type BreakerSource,
  type GateDeps,
  type RunHistory,
} from '../src/gates/index.js';

const now = new Date('2025-12-06T02:10:00Z');

/** A breaker source with no evidence (and no GitHub: the stop label is not checked). */
const calm: BreakerSource = {
  evidenceSince: async () => null,
  reverts: async () => [],
  endedSelfChanges: async () => [],
  finishedRuns: async () => [],
};

function deps(over: Partial<GateDeps> = {}, config: ConfigInput = { enabled: true }): GateDeps {
  const history: RunHistory = { findRunOnDate: async () => null, lastFailedRun: async () => null };
  return {
    flags: { getFlag: async (key) => (key === 'self_evolution_enabled' ? true : null) },
    history,
    breaker: calm,
    config: ConfigSchema.parse(config),
    repository: 'acme/bot',
    runDate: '2025-12-06',
    now,
    force: false,
    ...over,
  };
}

const quiet: ActivitySource = {
  listActiveWorkflowRuns: async () => [],
  listActiveDeployments: async () => [],
};

describe('runGates', () => {
  it('runs every gate in order and passes when all pass', async () => {
    const results = await runGates(deps({ activity: quiet }));
    expect(results.map((r) => r.gate)).toEqual([...GATE_ORDER]);
    expect(results.map((r) => r.gate)).toEqual([
      'config-enabled',
      'feature-flag',
      'circuit-breaker',
      'already-ran-today',
      'cooldown',
      'activity',
    ]);
    expect(results.map((r) => r.outcome)).toEqual(['pass', 'pass', 'pass', 'pass', 'pass', 'pass']);
    expect(firstBlocking(results)).toBeUndefined();
  });

  it('without a GitHub client the activity gate is not-checked and the run may go on', async () => {
    const results = await runGates(deps());
    expect(results[5]).toEqual({
      gate: 'activity',
      outcome: 'not-checked',
      reason: 'not checked: no GitHub token',
    });
    expect(firstBlocking(results)).toBeUndefined();
  });

  it('runs all gates even when the first skips', async () => {
    let asked = 0;
    const results = await runGates(
      deps(
        {
          activity: quiet,
          history: {
            findRunOnDate: async () => {
              asked += 1;
              return { id: 3, status: 'completed' };
            },
            lastFailedRun: async () => null,
          },
        },
        { enabled: false },
      ),
    );
    expect(results.map((r) => r.outcome)).toEqual(['skip', 'pass', 'pass', 'skip', 'pass', 'pass']);
    expect(asked).toBe(1);
    expect(skipReasonOf(firstBlocking(results)!)).toBe('config: enabled is false');
  });

  it('a throwing lookup becomes outcome error, and the other gates still run', async () => {
    const results = await runGates(
      deps({
        activity: quiet,
        flags: {
          getFlag: () => {
            throw new Error('connect ECONNREFUSED 127.0.0.1:5432');
          },
        },
        history: {
          findRunOnDate: () => Promise.reject(new Error('relation "self_evolution_runs" does not exist')),
          lastFailedRun: async () => null,
        },
      }),
    );
    expect(results[1]).toEqual({
      gate: 'feature-flag',
      outcome: 'error',
      reason: 'connect ECONNREFUSED 127.0.0.1:5432',
    });
    expect(results[3]).toMatchObject({ gate: 'already-ran-today', outcome: 'error' });
    expect(results[3]!.reason).toContain('self_evolution_runs');
    expect(results[4]!.outcome).toBe('pass');
    expect(results[5]!.outcome).toBe('pass');
    expect(skipReasonOf(firstBlocking(results)!)).toBe(
      'feature-flag gate error: connect ECONNREFUSED 127.0.0.1:5432',
    );
  });

  it('force bypasses already-ran-today and cooldown only', async () => {
    const results = await runGates(
      deps(
        {
          force: true,
          flags: { getFlag: async () => false },
          history: {
            findRunOnDate: async () => ({ id: 3, status: 'completed' }),
            lastFailedRun: async () => ({ id: 2, startedAt: now, finishedAt: now }),
          },
          activity: {
            listActiveWorkflowRuns: async () => [
              {
                id: 5,
                name: 'CI',
                status: 'in_progress',
                runNumber: 9,
                event: 'push',
                headBranch: 'main',
                htmlUrl: 'https://github.com/acme/bot/actions/runs/5',
                createdAt: '2025-12-06T02:00:00Z',
              },
            ],
            listActiveDeployments: async () => [],
          },
        },
        { enabled: false },
      ),
    );
    expect(results.map((r) => r.outcome)).toEqual(['skip', 'skip', 'pass', 'pass', 'pass', 'skip']);
  });

  it('force does not bypass the circuit breaker', async () => {
    const failed = (id: number) => ({
      id,
      status: 'failed',
      stale: false,
      startedAt: new Date(now.getTime() - id * 86_400_000),
      error: 'boom',
    });
    const breaker: BreakerSource = { ...calm, finishedRuns: async () => [failed(1), failed(2), failed(3)] };
    for (const force of [false, true]) {
      const results = await runGates(deps({ force, breaker, activity: quiet }));
      expect(results[2]).toMatchObject({ gate: 'circuit-breaker', outcome: 'skip' });
      expect(skipReasonOf(firstBlocking(results)!)).toBe(
        'circuit breaker tripped (failures): 3 failed runs in a row: #1, #2, #3',
      );
    }
  });

  it('a throwing breaker source trips the breaker (unreadable): it fails closed', async () => {
    const breaker: BreakerSource = {
      ...calm,
      finishedRuns: () => Promise.reject(new Error('relation "self_evolution_runs" does not exist')),
    };
    const results = await runGates(deps({ breaker, activity: quiet }));
    expect(results[2]).toMatchObject({ gate: 'circuit-breaker', outcome: 'skip' });
    expect(results[2]!.reason).toMatch(/^circuit breaker tripped \(unreadable\): could not read runs/);
    expect(results[2]!.details).toMatchObject({ cause: 'unreadable' });
  });

  it('uses the config: cooldownHours and skipDuringDeployments', async () => {
    const failedTwoHoursAgo = {
      id: 2,
      startedAt: new Date('2025-12-06T00:00:00Z'),
      finishedAt: new Date('2025-12-06T00:10:00Z'),
    };
    const history: RunHistory = {
      findRunOnDate: async () => null,
      lastFailedRun: async () => failedTwoHoursAgo,
    };
    const short = await runGates(
      deps(
        { history },
        {
          enabled: true,
          rollbackConfig: { cooldownHours: 1 },
          scheduleConfig: { skipDuringDeployments: false },
        },
      ),
    );
    expect(short[4]!.outcome).toBe('pass');
    expect(short[5]).toMatchObject({
      outcome: 'not-checked',
      reason: 'not checked: scheduleConfig.skipDuringDeployments is false',
    });
    const long = await runGates(deps({ history }, { enabled: true, rollbackConfig: { cooldownHours: 24 } }));
    expect(long[4]!.outcome).toBe('skip');
  });

  it('passes currentRunId to the activity gate', async () => {
    const source: ActivitySource = {
      listActiveWorkflowRuns: async () => [
        {
          id: 77,
          name: 'Self-Evolution',
          status: 'in_progress',
          runNumber: 1,
          event: 'schedule',
          headBranch: 'main',
          htmlUrl: 'https://github.com/acme/bot/actions/runs/77',
          createdAt: '2025-12-06T02:00:00Z',
        },
      ],
      listActiveDeployments: async () => [],
    };
    expect((await runGates(deps({ activity: source, currentRunId: 77 })))[5]!.outcome).toBe('pass');
    expect((await runGates(deps({ activity: source })))[5]!.outcome).toBe('skip');
  });
});
