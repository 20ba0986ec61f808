/** Stage durations of a run, for its metrics (RunMetrics.stagesMs). */
import type { Clock } from '../deps.js';

/** Measures stage durations (ms) with the injected clock; a stage timed twice adds up. */
export class StageTimer {
  /** Duration of each stage so far, ms, by stage name, in the order the stages first ran. */
  readonly stagesMs: Record<string, number> = {};
  constructor(private readonly clock: Clock) {}

  /**
   * Runs `fn` as stage `stage` and adds its duration (ms, by the clock) to `stagesMs`, whether it resolves or
   * rejects. Returns what `fn` resolves to.
   * @throws whatever `fn` rejects with
   */
  async time<T>(stage: string, fn: () => Promise<T>): Promise<T> {
    const start = this.clock.now().getTime();
    try {
      return await fn();
    } finally {
      this.stagesMs[stage] = (this.stagesMs[stage] ?? 0) + (this.clock.now().getTime() - start);
    }
  }
}
