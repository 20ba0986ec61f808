/**
 * The gates as stages of a run: every gate with the store behind its lookups (each answer logged), the circuit
 * breaker prepared and settled (gates/breaker-stage.ts: a human reset noticed, a trip carried out under the run
 * lock only), the runs a dead process left 'running' marked failed (stale), and the record of a run the gates
 * (or the lock) stopped.
 */
import type { Logger } from '../deps.js';
import type { Config } from '../config/schema.js';
import type { ActivitySource } from '../github/activity.js';
import type { BreakerGitHub } from '../github/breaker.js';
import type { GateResult } from '../records.js';
import { maskSecrets } from '../secrets.js';
import type { Db } from '../store/db.js';
import {
  findRunOnDate,
  insertSkippedRun,
  lastFailedRun,
  markStaleRuns,
  type SkippedRunInput,
} from '../store/runs.js';
import { linkTrip, prepareBreaker, settleBreaker, type GatePass } from './breaker-stage.js';
import { runGates } from './index.js';

export { tripPending, type GatePass } from './breaker-stage.js';

/** What checkGates needs besides the database. */
export interface CheckGatesInput {
  /** The validated config (enabled, rollbackConfig.cooldownHours, scheduleConfig.skipDuringDeployments). */
  config: Config;
  /** 'owner/name'. */
  repository: string;
  /** The run's UTC day, 'YYYY-MM-DD'. */
  runDate: string;
  /** Now, from the run's clock. */
  now: Date;
  /** Bypasses already-ran-today and cooldown only (never the circuit breaker). */
  force: boolean;
  /** This workflow run's id, excluded from the activity gate. */
  currentRunId?: number;
  /** GitHub activity; absent (no token): the activity gate is 'not-checked'. */
  activity?: ActivitySource;
  /**
   * Which pass: 'before-jitter' only reads; 'under-lock' (holding the run lock) also writes what the circuit
   * breaker decides (a reset noticed, a trip carried out), so it happens once per run.
   */
  pass: GatePass;
  /** The circuit breaker's GitHub calls; absent (no token): the stop label is not checked, no issue written. */
  breaker?: BreakerGitHub;
  logger: Logger;
  /** Masked in the logged reasons. */
  secrets: readonly string[];
}

/**
 * Every gate (runGates), with the feature flags, the run history and the circuit breaker's evidence read from
 * `db` (and GitHub through `input.breaker`); each result is logged as gateLine says, naming the pass.
 * The breaker is prepared first (prepareBreaker: a human reset noticed, written only under the lock) and its
 * result settled after (settleBreaker: details.trip 'pending' before jitter, the trip carried out under the
 * lock while the loop is on). Returns the results in gate order. Never throws: a gate whose read fails is an
 * 'error' result (the breaker's: a trip, cause unreadable).
 */
export async function checkGates(db: Db, input: CheckGatesInput): Promise<GateResult[]> {
  const stage = {
    db,
    repository: input.repository,
    now: input.now,
    pass: input.pass,
    configEnabled: input.config.enabled,
    logger: input.logger,
    secrets: input.secrets,
    ...(input.breaker ? { github: input.breaker } : {}),
  };
  const breaker = await prepareBreaker(stage);
  const gates = await runGates({
    flags: breaker.flags,
    history: {
      findRunOnDate: (repository, runDate) => findRunOnDate(db, repository, runDate),
      lastFailedRun: (repository) => lastFailedRun(db, repository),
    },
    breaker: breaker.source,
    activity: input.activity,
    config: input.config,
    repository: input.repository,
    runDate: input.runDate,
    now: input.now,
    force: input.force,
    currentRunId: input.currentRunId,
  });
  const results: GateResult[] = [];
  for (const g of gates) results.push(await settleBreaker(stage, breaker, breaker.annotate(g)));
  for (const g of results) input.logger.info(gateLine(g, input.pass, input.secrets));
  return results;
}

/** The words of each pass in the log: the gates run twice, and the lines say which time. */
export const PASS_WORDS: Readonly<Record<GatePass, string>> = Object.freeze({
  'before-jitter': 'before jitter',
  'under-lock': 'under the lock',
});

/**
 * The log line of one gate's result: `gate <name> (<pass words>): <outcome> (<reason, masked>)`, e.g.
 * `gate cooldown (under the lock): pass (no failed run in the last 24h)`.
 */
export function gateLine(g: GateResult, pass: GatePass, secrets: readonly string[]): string {
  return `gate ${g.gate} (${PASS_WORDS[pass]}): ${g.outcome} (${maskSecrets(g.reason, secrets)})`;
}

/**
 * Under the run lock: runs of `repository` left 'running' by a dead process (no heartbeat for STALE_AFTER_MS
 * before `now`) are closed failed and stale, finished at their last heartbeat (store/runs.ts markStaleRuns),
 * and a warning names them. A run with a fresh heartbeat is alive and left alone. Returns their ids, ascending.
 * @throws the database error
 */
export async function markStale(db: Db, repository: string, now: Date, logger: Logger): Promise<number[]> {
  const stale = await markStaleRuns(db, repository, now);
  if (stale.length > 0)
    logger.warn(`marked stale run(s) ${stale.map((id) => `#${id}`).join(', ')} as failed`);
  return stale;
}

/**
 * Records a run the gates or the lock stopped (status 'skipped', with its gate results and skip reason; see
 * store/runs.ts insertSkippedRun). With a `logger`, a breaker trip the under-lock gates carried out
 * (input.gates.underLock) is linked to the new run (a failure to link is a warning). Returns the new run's id.
 * @throws the database error
 */
export async function recordSkippedRun(db: Db, input: SkippedRunInput, logger?: Logger): Promise<number> {
  const run = await insertSkippedRun(db, input);
  const underLock = (input.gates as { underLock?: GateResult[] } | undefined)?.underLock;
  if (logger && Array.isArray(underLock)) await linkTrip(db, underLock, run.id, logger);
  return run.id;
}
