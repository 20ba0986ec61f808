/**
 * The loop over several days, every part together (issue #10's scenario): a self-change is opened, a person
 * merges it, the default branch's CI fails on it twice (confirmed) → exactly one revert pull request; the circuit
 * breaker trips, so the next day is skipped with the cause and the loop is switched off; a person switches it
 * back on; the day after proceeds. Real Postgres, a bare origin, the OpenAPI-validated GitHub fake, a clock that
 * starts now (the fake stamps merges with the real time) and moves one day per run.
 */
import { afterAll, afterEach, beforeAll, describe, expect, it } from '@jest/globals';
import type { Db } from '../src/store/db.js';
import { getFlagRecord, setFlag } from '../src/store/flags.js';
import { openRunDatabase, resetRuns } from './helpers/run-db.js';
import type { TestDatabase } from './helpers/db.js';
import { config, world, type World } from './helpers/live-world.js';

let database: TestDatabase;
let admin: Db;
let w: World | undefined;

beforeAll(async () => {
  ({ database, admin } = await openRunDatabase('loop_days'));
  await resetRuns(admin);
});
afterAll(async () => {
  await w?.cleanup();
  await admin?.close();
  await database?.drop();
});
afterEach(() => w?.fake.assertNoViolations());

const iso = (d: Date): string => d.toISOString().replace(/\.\d{3}Z$/, 'Z');

describe('days of the loop', () => {
  it('opened, merged, broke main twice: one revert, the breaker trips, the next day skipped, a human resets, the loop goes on', async () => {
    const start = new Date();
    w = await world(database.url, config(), {}, {}, start);

    // day 1: the self-change's pull request
    const day1 = await w.run();
    expect(day1.proposals[0]!.pullRequest).toMatchObject({ state: 'opened', number: 1 });

    // a person merges it; CI on main: green on the parent, red on the merge commit, red again on the rerun
    const merge = await w.fake.mergePull(1, { by: 'alice', method: 'merge' });
    const parent = await w.git('rev-parse', `${merge}^1`);
    const t0 = new Date(start.getTime() + 60 * 60_000);
    w.fake.seedCheckRun({ headSha: parent, name: 'test', conclusion: 'success', startedAt: iso(start) });
    w.fake.seedCheckRun({ headSha: merge, name: 'test', conclusion: 'failure', startedAt: iso(t0) });
    w.fake.seedCheckRun({
      headSha: merge,
      name: 'test',
      conclusion: 'failure',
      startedAt: iso(new Date(t0.getTime() + 20 * 60_000)),
    });

    // day 2: reconciliation learns it was merged; its health says revert: one revert pull request
    const day2 = await w.run();
    expect(day2.status).toBe('success');
    expect(day2.reconciled).toEqual([expect.objectContaining({ to: 'merged' })]);
    expect(day2.reverts).toEqual([expect.objectContaining({ trigger: 'auto', mode: 'pr', state: 'opened' })]);
    const reverts = w.fake.pulls.filter((p) => p.head.includes('revert-'));
    expect(reverts).toHaveLength(1);
    expect(reverts[0]!.draft).toBe(false);
    expect(reverts[0]!.labels).toContain('self-evolution:revert');

    // day 3: the breaker trips: skipped with the cause, the loop switched off
    const day3 = await w.run();
    expect(day3.status).toBe('skipped');
    expect(day3.skipReason).toMatch(/^circuit breaker tripped \(reverted\)/);
    expect(await getFlagRecord(admin, 'self_evolution_enabled')).toMatchObject({
      value: false,
      metadata: { trippedBy: 'circuit-breaker', cause: 'reverted' },
    });
    // and stays off: the next day is skipped too (by the flag now)
    const day4 = await w.run();
    expect(day4.status).toBe('skipped');

    // a person resets it; the day after proceeds (the old revert is no new evidence), and nothing is reverted twice
    await setFlag(admin, 'self_evolution_enabled', true, { by: 'alice' });
    const day5 = await w.run();
    expect(day5.status).toBe('success');
    expect(w.fake.pulls.filter((p) => p.head.includes('revert-'))).toHaveLength(1);
    expect(w.fake.merges).toEqual([]);
    expect(w.fake.refWrites.filter((r) => r.force)).toEqual([]);
  });
});
