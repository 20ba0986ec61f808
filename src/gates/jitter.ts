/**
 * Jitter: a random delay before a run so that many repositories on the same cron (02:00 UTC) do not hit
 * GitHub and the model at once ("Random jitter (0-20 minutes)";
 * config `scheduleConfig.jitterMinutes`). Randomness and sleeping are injected.
 */
import type { Logger, Random, Sleep } from '../deps.js';

const MINUTE_MS = 60_000;

/**
 * A delay in whole milliseconds, uniform over [0, maxMinutes x 60000] inclusive:
 * floor(random.next() x (max + 1)), so random 0 gives 0 and the largest double below 1 gives the maximum.
 * @throws RangeError when `maxMinutes` is negative or not finite, or `random.next()` is outside [0, 1).
 */
export function computeJitterMs(maxMinutes: number, random: Random): number {
  if (!Number.isFinite(maxMinutes) || maxMinutes < 0) {
    throw new RangeError(`jitter maxMinutes must be a finite number >= 0, got ${maxMinutes}`);
  }
  const maxMs = Math.floor(maxMinutes * MINUTE_MS);
  const r = random.next();
  if (!(r >= 0 && r < 1)) throw new RangeError(`Random.next() must return a number in [0, 1), got ${r}`);
  return Math.min(maxMs, Math.floor(r * (maxMs + 1)));
}

/** A duration as "7m 12s", "45s" or "1h 3m 0s" (whole seconds, rounded down). */
export function formatDuration(ms: number): string {
  const total = Math.max(0, Math.floor(ms / 1000));
  const h = Math.floor(total / 3600);
  const m = Math.floor((total % 3600) / 60);
  const s = total % 60;
  if (h > 0) return `${h}h ${m}m ${s}s`;
  if (m > 0) return `${m}m ${s}s`;
  return `${s}s`;
}

/** Inputs of `jitterPolicy`. */
export interface JitterPolicyInput {
  /** CLI --no-jitter / action input `jitter: false`. */
  noJitterFlag: boolean;
  /** What started the run (Options.trigger): schedule, workflow_dispatch, workflow_call, cli, ... */
  trigger: string;
  /** Options.force. */
  force: boolean;
}

/**
 * Whether to apply jitter: not with --no-jitter, and not on a forced workflow_dispatch (a human asked for
 * a run now); otherwise yes. Pure.
 */
export function jitterPolicy(input: JitterPolicyInput): { enabled: boolean; reason: string } {
  if (input.noJitterFlag) return { enabled: false, reason: 'disabled by --no-jitter' };
  if (input.trigger === 'workflow_dispatch' && input.force) {
    return { enabled: false, reason: 'disabled on a forced workflow_dispatch' };
  }
  return { enabled: true, reason: `enabled (trigger ${input.trigger})` };
}

/** Inputs of `applyJitter`. */
export interface ApplyJitterInput {
  /** Upper bound in minutes (config.scheduleConfig.jitterMinutes, or Options.jitter.maxMinutes). */
  maxMinutes: number;
  /** From jitterPolicy. */
  enabled: boolean;
  /** Why it is disabled (jitterPolicy's reason), reported when `enabled` is false. */
  reasonDisabled?: string;
  random: Random;
  sleep: Sleep;
  logger: Logger;
}

/**
 * Applies the jitter: when enabled and maxMinutes > 0, computes the delay, logs
 * "jitter: sleeping 7m 12s (uniform 0..20 min)" and awaits `sleep(delayMs)` with exactly that delay.
 * When disabled or maxMinutes is 0 it logs why and does not sleep.
 * Returns `{delayMs, skipped, reason}` (delayMs 0 when skipped).
 * @throws RangeError from computeJitterMs; whatever `sleep` rejects with.
 */
export async function applyJitter(
  input: ApplyJitterInput,
): Promise<{ delayMs: number; skipped: boolean; reason: string }> {
  const { maxMinutes, enabled, random, sleep, logger } = input;
  if (!enabled) {
    const reason = input.reasonDisabled ?? 'disabled';
    logger.info(`jitter: none (${reason})`);
    return { delayMs: 0, skipped: true, reason };
  }
  if (maxMinutes === 0) {
    const reason = 'jitterMinutes is 0';
    logger.info(`jitter: none (${reason})`);
    return { delayMs: 0, skipped: true, reason };
  }
  const delayMs = computeJitterMs(maxMinutes, random);
  const reason = `uniform 0..${maxMinutes} min`;
  logger.info(`jitter: sleeping ${formatDuration(delayMs)} (${reason})`);
  await sleep(delayMs);
  return { delayMs, skipped: false, reason };
}

/** Inputs of `jitterBeforeRun`: the policy's and applyJitter's, without the decision. */
export type JitterBeforeRunInput = JitterPolicyInput & Omit<ApplyJitterInput, 'enabled' | 'reasonDisabled'>;

/**
 * Stage: the random delay before a run (0-20 minutes): jitterPolicy decides whether, applyJitter
 * logs and sleeps. Returns the delay, ms (0 when disabled or maxMinutes is 0).
 * @throws RangeError from computeJitterMs; whatever `sleep` rejects with.
 */
export async function jitterBeforeRun(input: JitterBeforeRunInput): Promise<number> {
  const policy = jitterPolicy(input);
  const result = await applyJitter({
    maxMinutes: input.maxMinutes,
    enabled: policy.enabled,
    reasonDisabled: policy.reason,
    random: input.random,
    sleep: input.sleep,
    logger: input.logger,
  });
  return result.delayMs;
}
