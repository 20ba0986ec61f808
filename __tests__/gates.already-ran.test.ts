import { checkAlreadyRanToday, utcRunDate, type RunOnDateLookup } from '../src/gates/already-ran.js';

function history(run: { id: number; status: string } | null): RunOnDateLookup & { calls: string[][] } {
  const calls: string[][] = [];
  return {
    calls,
    async findRunOnDate(repository, runDate) {
      calls.push([repository, runDate]);
      return run;
    },
  };
}

describe('utcRunDate', () => {
  it('is the UTC date, not the local one', () => {
    expect(utcRunDate(new Date('2025-12-06T23:59:59.999Z'))).toBe('2025-12-06');
    expect(utcRunDate(new Date('2025-12-06T00:30:00+02:00'))).toBe('2025-12-05');
  });

  it('rejects an invalid date', () => {
    expect(() => utcRunDate(new Date('nope'))).toThrow(RangeError);
  });
});

describe('checkAlreadyRanToday', () => {
  it('skips when a run exists on that date, naming it', async () => {
    const h = history({ id: 42, status: 'completed' });
    const r = await checkAlreadyRanToday(h, 'acme/bot', '2025-12-06', false);
    expect(r).toMatchObject({
      gate: 'already-ran-today',
      outcome: 'skip',
      reason: 'already ran today (run #42, completed)',
    });
    expect(h.calls).toEqual([['acme/bot', '2025-12-06']]);
  });

  it('passes when there is none', async () => {
    const r = await checkAlreadyRanToday(history(null), 'acme/bot', '2025-12-06', false);
    expect(r.outcome).toBe('pass');
  });

  it('passes with "forced" when forced, without asking the store', async () => {
    const h = history({ id: 42, status: 'running' });
    const r = await checkAlreadyRanToday(h, 'acme/bot', '2025-12-06', true);
    expect(r).toMatchObject({ outcome: 'pass', reason: 'forced' });
    expect(h.calls).toHaveLength(0);
  });

  it('rejects a malformed run date', async () => {
    await expect(checkAlreadyRanToday(history(null), 'acme/bot', '2025-12-6', false)).rejects.toThrow(
      'YYYY-MM-DD',
    );
  });
});
