import type { Random } from '../src/deps.js';
import { applyJitter, computeJitterMs, formatDuration, jitterPolicy } from '../src/gates/jitter.js';
import { recordingLogger } from './helpers/logger.js';

const fixed = (value: number): Random => ({ next: () => value });
const LARGEST_BELOW_ONE = 1 - Number.EPSILON / 2; // 0.9999999999999999

function fakeSleep(): { sleep: (ms: number) => Promise<void>; calls: number[] } {
  const calls: number[] = [];
  return { calls, sleep: async (ms) => void calls.push(ms) };
}

describe('computeJitterMs', () => {
  it('spans exactly [0, maxMinutes * 60000] (seed 004: 0-20 minutes)', () => {
    expect(computeJitterMs(20, fixed(0))).toBe(0);
    expect(computeJitterMs(20, fixed(LARGEST_BELOW_ONE))).toBe(20 * 60_000);
    expect(computeJitterMs(20, fixed(0.5))).toBe(600_000);
  });

  it('returns whole milliseconds', () => {
    for (const r of [0.1234567, 0.33333333, 0.987654321]) {
      const ms = computeJitterMs(7, fixed(r));
      expect(Number.isInteger(ms)).toBe(true);
      expect(ms).toBeGreaterThanOrEqual(0);
      expect(ms).toBeLessThanOrEqual(7 * 60_000);
    }
  });

  it('is 0 for maxMinutes 0 whatever the random', () => {
    expect(computeJitterMs(0, fixed(LARGEST_BELOW_ONE))).toBe(0);
  });

  it('rejects bad bounds and a bad Random', () => {
    expect(() => computeJitterMs(-1, fixed(0))).toThrow(RangeError);
    expect(() => computeJitterMs(Number.NaN, fixed(0))).toThrow(RangeError);
    expect(() => computeJitterMs(20, fixed(1))).toThrow('[0, 1)');
    expect(() => computeJitterMs(20, fixed(-0.1))).toThrow(RangeError);
  });
});

describe('formatDuration', () => {
  it('formats minutes and seconds', () => {
    expect(formatDuration(432_000)).toBe('7m 12s');
    expect(formatDuration(45_999)).toBe('45s');
    expect(formatDuration(0)).toBe('0s');
    expect(formatDuration(3_780_000)).toBe('1h 3m 0s');
  });
});

describe('jitterPolicy', () => {
  it('is on for a schedule, and for an unforced dispatch', () => {
    expect(jitterPolicy({ noJitterFlag: false, trigger: 'schedule', force: false }).enabled).toBe(true);
    expect(jitterPolicy({ noJitterFlag: false, trigger: 'workflow_dispatch', force: false }).enabled).toBe(
      true,
    );
    expect(jitterPolicy({ noJitterFlag: false, trigger: 'schedule', force: true }).enabled).toBe(true);
  });

  it('is off with --no-jitter', () => {
    expect(jitterPolicy({ noJitterFlag: true, trigger: 'schedule', force: false })).toEqual({
      enabled: false,
      reason: 'disabled by --no-jitter',
    });
  });

  it('is off on a forced workflow_dispatch', () => {
    expect(jitterPolicy({ noJitterFlag: false, trigger: 'workflow_dispatch', force: true })).toEqual({
      enabled: false,
      reason: 'disabled on a forced workflow_dispatch',
    });
  });
});

describe('applyJitter', () => {
  it('sleeps exactly the computed delay and logs it', async () => {
    const logger = recordingLogger({ levels: false });
    const { lines } = logger;
    const s = fakeSleep();
    const random = fixed(0.36);
    const expected = computeJitterMs(20, random);
    const r = await applyJitter({ maxMinutes: 20, enabled: true, random, sleep: s.sleep, logger });
    expect(expected).toBe(432_000);
    expect(s.calls).toEqual([expected]);
    expect(r).toEqual({ delayMs: expected, skipped: false, reason: 'uniform 0..20 min' });
    expect(lines).toEqual(['jitter: sleeping 7m 12s (uniform 0..20 min)']);
  });

  it('does not sleep when disabled, and reports why', async () => {
    const logger = recordingLogger({ levels: false });
    const { lines } = logger;
    const s = fakeSleep();
    const r = await applyJitter({
      maxMinutes: 20,
      enabled: false,
      reasonDisabled: 'disabled by --no-jitter',
      random: fixed(0.9),
      sleep: s.sleep,
      logger,
    });
    expect(s.calls).toEqual([]);
    expect(r).toEqual({ delayMs: 0, skipped: true, reason: 'disabled by --no-jitter' });
    expect(lines).toEqual(['jitter: none (disabled by --no-jitter)']);
  });

  it('does not sleep when maxMinutes is 0', async () => {
    const s = fakeSleep();
    const r = await applyJitter({
      maxMinutes: 0,
      enabled: true,
      random: fixed(0.9),
      sleep: s.sleep,
      logger: recordingLogger(),
    });
    expect(s.calls).toEqual([]);
    expect(r.skipped).toBe(true);
  });

  it('propagates a failing sleep', async () => {
    await expect(
      applyJitter({
        maxMinutes: 1,
        enabled: true,
        random: fixed(0.5),
        sleep: () => Promise.reject(new Error('aborted')),
        logger: recordingLogger(),
      }),
    ).rejects.toThrow('aborted');
  });
});
