import { checkCooldown, type FailedRun, type FailedRunLookup } from '../src/gates/cooldown.js';

function history(run: FailedRun | null): FailedRunLookup & { calls: number } {
  const h = {
    calls: 0,
    async lastFailedRun() {
      h.calls += 1;
      return run;
    },
  };
  return h;
}

const now = new Date('2025-12-06T02:10:00.000Z');

describe('checkCooldown', () => {
  it('passes when no run failed', async () => {
    expect(await checkCooldown(history(null), 'acme/bot', now, 24, false)).toMatchObject({
      gate: 'cooldown',
      outcome: 'pass',
      reason: 'no failed run',
    });
  });

  it('skips within the cooldown and says until when', async () => {
    const failed = {
      id: 7,
      startedAt: new Date('2025-12-05T02:05:00Z'),
      finishedAt: new Date('2025-12-05T02:15:00Z'),
    };
    const r = await checkCooldown(history(failed), 'acme/bot', now, 24, false);
    expect(r.outcome).toBe('skip');
    expect(r.reason).toBe(
      'previous run #7 failed at 2025-12-05T02:15:00.000Z; cooldown of 24h until 2025-12-06T02:15:00.000Z',
    );
    expect(r.details).toMatchObject({ runId: 7, until: '2025-12-06T02:15:00.000Z' });
  });

  it('passes once the cooldown is over (boundary: exactly cooldownHours later)', async () => {
    const failed = {
      id: 7,
      startedAt: new Date('2025-12-05T02:00:00Z'),
      finishedAt: new Date('2025-12-05T02:10:00Z'),
    };
    const r = await checkCooldown(history(failed), 'acme/bot', now, 24, false);
    expect(r.outcome).toBe('pass');
    const justBefore = new Date(now.getTime() - 1);
    expect((await checkCooldown(history(failed), 'acme/bot', justBefore, 24, false)).outcome).toBe('skip');
  });

  it('counts from startedAt when the failed run has no finish time', async () => {
    const failed = { id: 8, startedAt: new Date('2025-12-05T20:00:00Z'), finishedAt: null };
    const r = await checkCooldown(history(failed), 'acme/bot', now, 6, false);
    expect(r.outcome).toBe('pass');
    const r2 = await checkCooldown(history(failed), 'acme/bot', now, 12, false);
    expect(r2.outcome).toBe('skip');
    expect(r2.reason).toContain('until 2025-12-06T08:00:00.000Z');
  });

  it('passes when forced or when cooldownHours is 0, without asking the store', async () => {
    const failed = { id: 9, startedAt: now, finishedAt: now };
    const h = history(failed);
    expect(await checkCooldown(h, 'acme/bot', now, 24, true)).toMatchObject({
      outcome: 'pass',
      reason: 'forced',
    });
    expect((await checkCooldown(h, 'acme/bot', now, 0, false)).outcome).toBe('pass');
    expect(h.calls).toBe(0);
  });

  it('rejects a negative cooldown', async () => {
    await expect(checkCooldown(history(null), 'acme/bot', now, -1, false)).rejects.toThrow(RangeError);
  });
});
