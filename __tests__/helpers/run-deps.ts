/** Test doubles for runOnce(): a stepping clock, a fixed Random, a recording Sleep and a capturing logger. */
import type { Clock, Random, Sleep } from '../../src/deps.js';
import { createRunLogger, type RunLogger } from '../../src/report/logger.js';
import type { Options } from '../../src/options.js';
import { join } from 'node:path';

/** A clock that starts at `start` and advances `stepMs` on every call. */
export function steppingClock(start: Date, stepMs = 1): Clock & { set(d: Date): void } {
  let t = start.getTime();
  return {
    now: () => {
      const d = new Date(t);
      t += stepMs;
      return d;
    },
    set: (d) => {
      t = d.getTime();
    },
  };
}

/** A Random that always returns `value`. */
export function fixedRandom(value: number): Random {
  return { next: () => value };
}

/** A Sleep that records each requested duration (ms) and returns at once. */
export function recordingSleep(): Sleep & { calls: number[] } {
  const calls: number[] = [];
  const fn = (async (ms: number) => {
    calls.push(ms);
  }) as Sleep & { calls: number[] };
  fn.calls = calls;
  return fn;
}

/** A RunLogger whose sink keeps the messages in `messages`. */
export function capturingLogger(clock: Clock): RunLogger & { messages: string[] } {
  const messages: string[] = [];
  const logger = createRunLogger({ secrets: [], clock, sink: (level, m) => messages.push(`${level}: ${m}`) });
  return Object.assign(logger, { messages });
}

/** Options for a CLI-like dry run of `repoDir`, overridable. */
export function testOptions(repoDir: string, overrides: Partial<Options> = {}): Options {
  return {
    repoDir,
    repository: 'acme/agent',
    configPath: '.github/self-evolution-config.json',
    embeddedDbDir: join(repoDir, '.self-evolution', 'db'),
    githubApiUrl: 'https://api.github.com',
    dryRun: true,
    force: false,
    jitter: { enabled: false },
    trigger: 'cli',
    artifactsRoot: join(repoDir, '.self-evolution', 'artifacts'),
    uploadArtifacts: false,
    envOverrides: {},
    ...overrides,
  };
}
