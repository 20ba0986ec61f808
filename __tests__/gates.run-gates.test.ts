import { ConfigSchema, type ConfigInput } from '../src/config/schema.js';
import type { ActivitySource } from '../src/github/activity.js';
import {
  GATE_ORDER,
  firstBlocking,
  runGates,
  skipReasonOf,
  type GateDeps,
  type RunHistory,
} from '../src/gates/index.js';

const now = new Date('2025-12-06T02:10:00Z');

function deps(over: Partial<GateDeps> = {}, config: ConfigInput = { enabled: true }): GateDeps {
  const history: RunHistory = { findRunOnDate: async () => null, lastFailedRun: async () => null };
  return {
    flags: { getFlag: async (key) => (key === 'self_evolution_enabled' ? true : null) },
    history,
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
      'already-ran-today',
      'cooldown',
      'activity',
    ]);
    expect(results.map((r) => r.outcome)).toEqual(['pass', 'pass', 'pass', 'pass', 'pass']);
    expect(firstBlocking(results)).toBeUndefined();
  });

  it('without a GitHub client the activity gate is not-checked and the run may go on', async () => {
    const results = await runGates(deps());
    expect(results[4]).toEqual({
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
    expect(results.map((r) => r.outcome)).toEqual(['skip', 'pass', 'skip', 'pass', 'pass']);
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
    expect(results[2]).toMatchObject({ gate: 'already-ran-today', outcome: 'error' });
    expect(results[2]!.reason).toContain('self_evolution_runs');
    expect(results[3]!.outcome).toBe('pass');
    expect(results[4]!.outcome).toBe('pass');
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
    expect(results.map((r) => r.outcome)).toEqual(['skip', 'skip', 'pass', 'pass', 'skip']);
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
    expect(short[3]!.outcome).toBe('pass');
    expect(short[4]).toMatchObject({
      outcome: 'not-checked',
      reason: 'not checked: scheduleConfig.skipDuringDeployments is false',
    });
    const long = await runGates(deps({ history }, { enabled: true, rollbackConfig: { cooldownHours: 24 } }));
    expect(long[3]!.outcome).toBe('skip');
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
    expect((await runGates(deps({ activity: source, currentRunId: 77 })))[4]!.outcome).toBe('pass');
    expect((await runGates(deps({ activity: source })))[4]!.outcome).toBe('skip');
  });
});
