/**
 * The pieces of a cancellation below the pipeline: the adapters' SIGINT/SIGTERM handlers (on an EventEmitter
 * standing in for the process), the exit codes, the bounded wait, and runCommand's `signal` (a running command's
 * process group killed, a command not started once the run is interrupted).
 */
import { describe, expect, it } from '@jest/globals';
import { EventEmitter } from 'node:events';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  CANCEL_GRACE_MS,
  CLEANUP_BUDGET_MS,
  STAGE_STOP_MS,
  exitCodeOf,
  handleInterrupts,
  within,
  type InterruptSignal,
} from '../src/sandbox/interrupts.js';
import { CANCEL_KILL_GRACE_MS, runCommand } from '../src/sandbox/runner.js';
import { alive, sleeperPids, waitFor } from './helpers/cancel.js';

describe('handleInterrupts', () => {
  it('the first signal aborts with its reason; later ones only report; dispose removes the handlers', () => {
    const source = new EventEmitter();
    const seen: Array<[InterruptSignal, boolean]> = [];
    const h = handleInterrupts({ source, onSignal: (signal, first) => seen.push([signal, first]) });
    expect(source.listenerCount('SIGINT')).toBe(1);
    expect(source.listenerCount('SIGTERM')).toBe(1);
    expect(h.signal.aborted).toBe(false);
    expect(h.received).toBeUndefined();

    source.emit('SIGTERM');
    expect(h.signal.aborted).toBe(true);
    expect(h.signal.reason).toEqual({ kind: 'signal', signal: 'SIGTERM' });
    expect(h.received).toBe('SIGTERM');
    source.emit('SIGINT');
    source.emit('SIGTERM');
    expect(h.received).toBe('SIGTERM');
    expect(h.signal.reason).toEqual({ kind: 'signal', signal: 'SIGTERM' });
    expect(seen).toEqual([
      ['SIGTERM', true],
      ['SIGINT', false],
      ['SIGTERM', false],
    ]);

    h.dispose();
    h.dispose();
    expect(source.listenerCount('SIGINT')).toBe(0);
    expect(source.listenerCount('SIGTERM')).toBe(0);
  });

  it("maps SIGINT to 130 and SIGTERM to 143; the budgets nest inside GitHub's 7.5 s", () => {
    expect(exitCodeOf('SIGINT')).toBe(130);
    expect(exitCodeOf('SIGTERM')).toBe(143);
    expect(CANCEL_GRACE_MS).toBe(7500);
    expect(STAGE_STOP_MS).toBeLessThan(CLEANUP_BUDGET_MS);
    expect(CLEANUP_BUDGET_MS).toBeLessThan(CANCEL_GRACE_MS);
    expect(CANCEL_KILL_GRACE_MS).toBeLessThan(STAGE_STOP_MS);
  });
});

describe('within', () => {
  it('says whether the work settled in time, swallowing its rejection', async () => {
    expect(await within(Promise.resolve(1), 1000)).toBe(true);
    expect(await within(Promise.reject(new Error('boom')), 1000)).toBe(true);
    expect(await within(new Promise(() => undefined), 20)).toBe(false);
    expect(await within(new Promise(() => undefined), 0)).toBe(false);
    expect(await within(new Promise((r) => setTimeout(r, 10)), Infinity)).toBe(true);
  });
});

describe('runCommand with a signal', () => {
  const COMMAND = [
    'sleep 300 &',
    'echo $! > "$DIR/bg.pid"',
    'echo $$ > "$DIR/main.tmp" && mv "$DIR/main.tmp" "$DIR/main.pid"',
    'wait',
  ].join('\n');

  it('kills the process group when the signal aborts and says cancelled', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'se-runner-abort-'));
    try {
      const controller = new AbortController();
      const running = runCommand(COMMAND, {
        cwd: dir,
        timeoutMs: 600_000,
        env: { PATH: process.env.PATH ?? '/usr/bin:/bin', DIR: dir },
        signal: controller.signal,
      });
      expect(await waitFor(() => sleeperPids(dir) !== undefined, 10_000)).toBe(true);
      const pids = sleeperPids(dir)!;
      expect([alive(pids.main), alive(pids.bg)]).toEqual([true, true]);
      controller.abort({ kind: 'signal', signal: 'SIGINT' });
      const result = await running;
      expect(result).toMatchObject({ cancelled: true, timedOut: false, exitCode: null, signal: 'SIGTERM' });
      expect([alive(pids.main), alive(pids.bg)]).toEqual([false, false]);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  }, 30_000);

  it('does not start a command once the signal has aborted; without a signal nothing is cancelled', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'se-runner-abort-'));
    try {
      const controller = new AbortController();
      controller.abort();
      const refused = await runCommand('touch started', {
        cwd: dir,
        timeoutMs: 10_000,
        env: { PATH: process.env.PATH ?? '/usr/bin:/bin' },
        signal: controller.signal,
      });
      expect(refused).toMatchObject({ cancelled: true, exitCode: null, durationMs: 0 });
      expect(refused.stderrTail).toBe('not started: the run was interrupted\n');
      const ran = await runCommand('touch started', {
        cwd: dir,
        timeoutMs: 10_000,
        env: { PATH: process.env.PATH ?? '/usr/bin:/bin' },
        signal: new AbortController().signal,
      });
      expect(ran.exitCode).toBe(0);
      expect(ran.cancelled).toBeUndefined();
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
